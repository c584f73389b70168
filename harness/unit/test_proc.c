/* SPDX-License-Identifier: MIT */
/* test_proc.c — what /proc says about processes (src/proc.c): the stat
 * parser on real and hostile lines, identity (start time), children, scan,
 * environ lookup, fd count, /proc/locks and meminfo.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proc.h"
#include "proctest.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------- */

/* A stat line as the kernel writes it: fields[1..52] (fields[2] is the comm
 * without parentheses). */
static void build_stat(char *buf, size_t cap, const char *const fields[53])
{
	size_t off = 0;
	for (int i = 1; i <= 52; i++) {
		int n = snprintf(buf + off, cap - off, i == 2 ? "%s(%s)" : "%s%s", i > 1 ? " " : "", fields[i]);
		ck_assert(n > 0 && (size_t)n < cap - off);
		off += (size_t)n;
	}
	ck_assert(off + 1 < cap);
	buf[off++] = '\n';
	buf[off] = '\0';
}

/* Default fields of a plausible line (field 25, rsslim, is ULLONG_MAX as on a
 * real system: the parser must not choke on what it does not need). */
static void default_fields(const char *fields[53])
{
	static const char *const def[53] = {
		NULL, "4242", "worker", "S", "1", "4242", "4242", "0", "-1", "4194560", "120", "0", "0",
		"0", "3", "1", "0", "0", "20", "0", "1", "0", "987654", "12345678", "321",
		"18446744073709551615", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "17",
		"1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0", "0",
	};
	memcpy(fields, def, sizeof def);
}

/* Parses exactly len bytes from a heap copy (an over-read would leave it). */
static int parse_exact(const char *s, size_t len, struct tether_procstat *st)
{
	char *copy = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, s, len);
	int r = tether_proc_parse_stat(copy, len, st);
	free(copy);
	return r;
}

static int parse_str(const char *s, struct tether_procstat *st)
{
	return parse_exact(s, strlen(s), st);
}

/* Field 22 of /proc/PID/stat, read independently of the parser under test. */
static uint64_t kernel_start_time(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	char *buf = tu_read_file(path, NULL);
	ck_assert_ptr_nonnull(buf);
	char *p = strrchr(buf, ')');
	ck_assert_ptr_nonnull(p);
	p += 2; /* field 3 */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		ck_assert_ptr_nonnull(p);
		p++;
	}
	uint64_t v = strtoull(p, NULL, 10);
	free(buf);
	return v;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

struct pipe_arg {
	int fd[2];
	const char *name;
	int nkids;
};

static int named_idler(void *arg)
{
	struct pipe_arg *a = arg;
	close(a->fd[0]);
	if (a->name)
		prctl(PR_SET_NAME, a->name);
	pid_t me = getpid();
	if (write(a->fd[1], &me, sizeof me) != sizeof me)
		return 1;
	for (;;)
		pause();
}

/* A process that forks nkids idle children (they die with it) and writes
 * their pids to the pipe. */
static int parent_of_n(void *arg)
{
	struct pipe_arg *a = arg;
	close(a->fd[0]);
	pid_t me = getpid();
	for (int i = 0; i < a->nkids; i++) {
		pid_t kid = fork();
		if (kid < 0)
			return 2;
		if (kid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != me)
				_exit(0);
			for (;;)
				pause();
		}
		if (write(a->fd[1], &kid, sizeof kid) != sizeof kid)
			return 3;
	}
	close(a->fd[1]);
	for (;;)
		pause();
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

static void assert_same_pids(pid_t *got, size_t ngot, pid_t *want, size_t nwant)
{
	ck_assert_uint_eq(ngot, nwant);
	qsort(got, ngot, sizeof *got, cmp_pid);
	qsort(want, nwant, sizeof *want, cmp_pid);
	for (size_t i = 0; i < nwant; i++)
		ck_assert_int_eq(got[i], want[i]);
}

/* Reads nkids pids from fd (the writer closes it after the last). */
static size_t read_pids(int fd, pid_t *out, size_t max)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, out + n, (max - n) * sizeof *out);
		if (r <= 0)
			break;
		ck_assert_int_eq(r % (ssize_t)sizeof *out, 0);
		n += (size_t)r / sizeof *out;
		if (n == max)
			break;
	}
	return n;
}

/* ---- the stat parser --------------------------------------------------------- */

START_TEST(stat_parses_own_real_line)
{
	char *buf = tu_read_file("/proc/self/stat", NULL);
	ck_assert_ptr_nonnull(buf);
	struct tether_procstat st;
	ck_assert_int_eq(parse_str(buf, &st), 0);
	ck_assert_int_eq(st.pid, getpid());
	ck_assert_int_eq(st.ppid, getppid());
	ck_assert_int_eq(st.pgid, getpgrp());
	ck_assert_int_eq(st.sid, getsid(0));
	ck_assert_int_eq(st.state, 'R');
	ck_assert_str_eq(st.comm, "test_proc");
	ck_assert_uint_gt(st.rss_pages, 0);
	ck_assert_uint_eq(st.start_time, kernel_start_time(getpid()));
	free(buf);

	struct tether_procstat st2;
	ck_assert_int_eq(tether_proc_read_stat(getpid(), &st2), 0);
	ck_assert_uint_eq(st2.start_time, st.start_time);
	ck_assert_int_eq(tether_proc_alive(getpid()), 1);
}
END_TEST

START_TEST(stat_parses_synthetic_line)
{
	const char *f[53];
	char line[2048];
	struct tether_procstat st;
	default_fields(f);
	build_stat(line, sizeof line, f);
	ck_assert_int_eq(parse_str(line, &st), 0);
	ck_assert_int_eq(st.pid, 4242);
	ck_assert_str_eq(st.comm, "worker");
	ck_assert_int_eq(st.state, 'S');
	ck_assert_int_eq(st.ppid, 1);
	ck_assert_int_eq(st.pgid, 4242);
	ck_assert_int_eq(st.sid, 4242);
	ck_assert_uint_eq(st.start_time, 987654);
	ck_assert_uint_eq(st.rss_pages, 321);

	/* the largest start time that fits */
	f[22] = "9223372036854775807";
	build_stat(line, sizeof line, f);
	ck_assert_int_eq(parse_str(line, &st), 0);
	ck_assert_uint_eq(st.start_time, UINT64_C(9223372036854775807));
	/* kernel threads: ppid, pgid, sid 0 */
	default_fields(f);
	f[4] = f[5] = f[6] = "0";
	f[3] = "I";
	build_stat(line, sizeof line, f);
	ck_assert_int_eq(parse_str(line, &st), 0);
	ck_assert_int_eq(st.state, 'I');
	ck_assert_int_eq(st.ppid, 0);
}
END_TEST

START_TEST(stat_comm_with_spaces_and_parens)
{
	static const struct {
		const char *comm, *want;
	} cases[] = {
		{"a b", "a b"},
		{"x) R 1 2 3 (y", "x) R 1 2 3 (y"},
		{")", ")"},
		{"((", "(("},
		{"))", "))"},
		{"a)", "a)"},
		{"", ""},
		{"tab\there", "tab\there"},
		{"nl\nhere", "nl\nhere"},
		/* longer than any kernel comm: truncated, never overflowing */
		{"0123456789012345678901234567890123456789012345678901234567890123456789",
		 "012345678901234567890123456789012345678901234567890123456789012"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *f[53];
		char line[2048];
		struct tether_procstat st;
		default_fields(f);
		f[2] = cases[i].comm;
		build_stat(line, sizeof line, f);
		ck_assert_msg(parse_str(line, &st) == 0, "comm '%s' refused", cases[i].comm);
		ck_assert_str_eq(st.comm, cases[i].want);
		ck_assert_int_eq(st.state, 'S');
		ck_assert_int_eq(st.ppid, 1);
		ck_assert_uint_eq(st.start_time, 987654);
	}

	/* and a real process whose comm looks like the fields after it */
	struct pipe_arg a = {.name = "a) R 9 9 (b)"};
	ck_assert_int_eq(pipe2(a.fd, O_CLOEXEC), 0);
	pid_t pid = tu_fork(named_idler, &a);
	pt_track(pid);
	close(a.fd[1]);
	pid_t got;
	ck_assert_int_eq(read(a.fd[0], &got, sizeof got), sizeof got);
	close(a.fd[0]);
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(pid, &st), 0);
	ck_assert_str_eq(st.comm, "a) R 9 9 (b)");
	/* it may not have reached its pause() yet: R or S, never the 'R' in its name */
	ck_assert_msg(st.state == 'S' || st.state == 'R', "state %c", st.state);
	ck_assert_int_eq(st.ppid, getpid());
	ck_assert_int_eq(st.pgid, getpgrp());
	ck_assert_uint_eq(st.start_time, kernel_start_time(pid));
}
END_TEST

START_TEST(stat_truncated_lines_are_einval)
{
	const char *f[53];
	char line[2048];
	struct tether_procstat st;
	default_fields(f);
	build_stat(line, sizeof line, f);
	/* every prefix that ends before field 24 (rss) starts is incomplete */
	const char *p = line;
	for (int spaces = 0; spaces < 23; p++)
		spaces += *p == ' ';
	size_t field24 = (size_t)(p - line);
	for (size_t len = 0; len <= field24; len++) {
		memset(&st, 0x5a, sizeof st);
		ck_assert_msg(parse_exact(line, len, &st) == -EINVAL, "prefix of %zu bytes accepted: '%.*s'",
			      len, (int)len, line);
	}
	/* the same for the real line of a process */
	char *real = tu_read_file("/proc/self/stat", NULL);
	ck_assert_ptr_nonnull(real);
	p = strrchr(real, ')');
	for (int spaces = 0; spaces < 22; p++)
		spaces += *p == ' ';
	for (size_t len = 0; len <= (size_t)(p - real); len++)
		ck_assert_msg(parse_exact(real, len, &st) == -EINVAL, "real prefix of %zu bytes accepted", len);
	free(real);
}
END_TEST

START_TEST(stat_non_numeric_fields_are_einval)
{
	static const char *const bad_numbers[] = {"x", "1x", "", "--1", "+1", "1.5", "0x10", " 1", "1 "};
	for (int field = 4; field <= 24; field++) {
		for (size_t i = 0; i < sizeof bad_numbers / sizeof bad_numbers[0]; i++) {
			const char *f[53];
			char line[2048];
			struct tether_procstat st;
			/* after field 24 nothing is read: "1 " there is a valid 24
			 * followed by an empty field 25 the parser never looks at */
			if (field == 24 && strcmp(bad_numbers[i], "1 ") == 0)
				continue;
			default_fields(f);
			f[field] = bad_numbers[i];
			build_stat(line, sizeof line, f);
			ck_assert_msg(parse_str(line, &st) == -EINVAL, "field %d = '%s' accepted", field,
				      bad_numbers[i]);
		}
	}
	static const char *const bad_lines[] = {
		"",
		"x (a) S 1 1 1",
		"-5 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5  (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) 1 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) SS 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a)  S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) S  1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -5 1 1",
		"5 (a) S -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) S 1 -1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) S 1 1 -1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5 (a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1",
		"(a) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1",
		"5",
		"5 (",
		"5 (a",
		"5 (a)",
		"5 (a) ",
		"5 (a) S",
		"5 (a) S ",
	};
	for (size_t i = 0; i < sizeof bad_lines / sizeof bad_lines[0]; i++) {
		struct tether_procstat st;
		ck_assert_msg(parse_str(bad_lines[i], &st) == -EINVAL, "'%s' accepted", bad_lines[i]);
	}
	/* an embedded NUL is not a digit either */
	const char *f[53];
	char line[2048];
	struct tether_procstat st;
	default_fields(f);
	build_stat(line, sizeof line, f);
	char *nul = strstr(line, " 987654 ");
	ck_assert_ptr_nonnull(nul);
	nul[3] = '\0';
	ck_assert_int_eq(tether_proc_parse_stat(line, strlen(line) + 1 + strlen(nul + 4), &st), -EINVAL);
}
END_TEST

START_TEST(stat_huge_numbers_are_einval)
{
	static const struct {
		int field;
		const char *value;
	} cases[] = {
		{1, "0"},
		{1, "2147483648"},
		{1, "4294967297"},
		{1, "99999999999999999999"},
		{1, "18446744073709551616"},
		{4, "4294967297"}, /* would wrap to pid 1 */
		{4, "2147483648"},
		{5, "4294967296"}, /* would wrap to pgid 0 */
		{5, "9223372036854775807"},
		{6, "4294967298"},
		{22, "9223372036854775808"},
		{22, "18446744073709551616"},
		{22, "1000000000000000000000000000000"},
		{24, "99999999999999999999999"},
		{10, "99999999999999999999999"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *f[53];
		char line[2048];
		struct tether_procstat st;
		default_fields(f);
		f[cases[i].field] = cases[i].value;
		build_stat(line, sizeof line, f);
		ck_assert_msg(parse_str(line, &st) == -EINVAL, "field %d = %s accepted (ppid %d pgid %d sid %d)",
			      cases[i].field, cases[i].value, (int)st.ppid, (int)st.pgid, (int)st.sid);
	}
	/* a megabyte of digits, and of parentheses */
	size_t big = 1 << 20;
	char *s = malloc(big);
	ck_assert_ptr_nonnull(s);
	memset(s, '9', big);
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_parse_stat(s, big, &st), -EINVAL);
	memcpy(s, "5 (", 3);
	memset(s + 3, ')', big - 3);
	ck_assert_int_eq(tether_proc_parse_stat(s, big, &st), -EINVAL);
	memset(s + 3, '(', big - 3);
	ck_assert_int_eq(tether_proc_parse_stat(s, big, &st), -EINVAL);
	free(s);
}
END_TEST

START_TEST(read_stat_refuses_bad_pids)
{
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(0, &st), -EINVAL);
	ck_assert_int_eq(tether_proc_read_stat(-1, &st), -EINVAL);
	/* a process that is gone */
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	int status = tu_wait(pid, 5000);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(tether_proc_read_stat(pid, &st), -ESRCH);
	ck_assert_int_eq(tether_proc_alive(pid), 0);
}
END_TEST

/* ---- identity ------------------------------------------------------------------ */

START_TEST(start_time_matches_kernel)
{
	long hz = sysconf(_SC_CLK_TCK);
	ck_assert_int_gt(hz, 0);
	int64_t tick = 1000000000 / hz;
	struct timespec b0, b1;
	clock_gettime(CLOCK_BOOTTIME, &b0);
	pid_t a = tu_start_sleeper();
	clock_gettime(CLOCK_BOOTTIME, &b1);
	pt_track(a);
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(a, &st), 0);
	/* the kernel stamps a process at fork with the boot-time clock, in ticks */
	ck_assert_uint_eq(st.start_time, kernel_start_time(a));
	ck_assert_uint_ge(st.start_time, (uint64_t)(ns_of(&b0) / tick));
	ck_assert_uint_le(st.start_time, (uint64_t)(ns_of(&b1) / tick));
	ck_assert_int_eq(st.ppid, getpid());
	ck_assert_int_eq(st.state == 'S' || st.state == 'R', 1);

	/* end it; a process started in a later tick has a later start time */
	uint64_t a_start = st.start_time;
	kill(a, SIGKILL);
	ck_assert_int_ne(tu_wait(a, 5000), -1);
	ck_assert_int_eq(tether_proc_read_stat(a, &st), -ESRCH);
	/* wait on the clock (not on a process) for the tick after b1's to begin */
	int64_t next_ns = (ns_of(&b1) / tick + 1) * tick;
	struct timespec next = {.tv_sec = (time_t)(next_ns / 1000000000), .tv_nsec = (long)(next_ns % 1000000000)};
	while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &next, NULL) == EINTR)
		;
	pid_t b = tu_start_sleeper();
	pt_track(b);
	struct tether_procstat sb;
	ck_assert_int_eq(tether_proc_read_stat(b, &sb), 0);
	ck_assert_uint_gt(sb.start_time, a_start);
	ck_assert_uint_eq(sb.start_time, kernel_start_time(b));
	kill(b, SIGKILL);
	tu_wait(b, 5000);
}
END_TEST

START_TEST(alive_sees_zombies_as_dead)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(7);
	/* a zombie until we reap it: the pidfd says when it exited */
	ck_assert(tu_wait_gone(pid, 5000));
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(pid, &st), 0);
	ck_assert_int_eq(st.state, 'Z');
	ck_assert_int_eq(tether_proc_alive(pid), 0);
	int status = tu_wait(pid, 5000);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 7);
	ck_assert_int_eq(tether_proc_alive(pid), 0);
	ck_assert_int_eq(tether_proc_alive(0), -EINVAL);
}
END_TEST

START_TEST(boot_id_is_the_kernels)
{
	char id[TETHER_BOOT_ID_LEN + 1];
	ck_assert_int_eq(tether_proc_boot_id(id), 0);
	ck_assert_uint_eq(strlen(id), TETHER_BOOT_ID_LEN);
	char *k = tu_read_file("/proc/sys/kernel/random/boot_id", NULL);
	ck_assert_ptr_nonnull(k);
	ck_assert_int_eq(strncmp(k, id, TETHER_BOOT_ID_LEN), 0);
	free(k);
	ck_assert(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
}
END_TEST

/* ---- children and scan --------------------------------------------------------- */

static void children_of_forked_parent(int nkids)
{
	struct pipe_arg a = {.nkids = nkids};
	ck_assert_int_eq(pipe2(a.fd, O_CLOEXEC), 0);
	pid_t parent = tu_fork(parent_of_n, &a);
	pt_track(parent);
	close(a.fd[1]);
	pid_t *want = calloc((size_t)nkids, sizeof *want);
	ck_assert_ptr_nonnull(want);
	size_t nwant = read_pids(a.fd[0], want, (size_t)nkids);
	close(a.fd[0]);
	ck_assert_uint_eq(nwant, (size_t)nkids);

	pid_t *got = NULL;
	size_t ngot = 99;
	ck_assert_int_eq(tether_proc_children(parent, &got, &ngot), 0);
	assert_same_pids(got, ngot, want, nwant);
	free(got);

	/* each of them is a leaf */
	for (size_t i = 0; i < nwant && i < 8; i++) {
		got = NULL;
		ngot = 99;
		ck_assert_int_eq(tether_proc_children(want[i], &got, &ngot), 0);
		ck_assert_uint_eq(ngot, 0);
		free(got);
	}
	/* the children die with their parent (PDEATHSIG) */
	kill(parent, SIGKILL);
	tu_wait(parent, 5000);
	for (size_t i = 0; i < nwant; i++)
		ck_assert_msg(tu_wait_gone(want[i], 5000), "child %d survived", (int)want[i]);
	ck_assert_int_eq(tether_proc_children(parent, &got, &ngot), -ESRCH);
	free(want);
}

START_TEST(children_are_exactly_those_forked)
{
	children_of_forked_parent(5);
	pid_t *got = NULL;
	size_t n = 0;
	ck_assert_int_eq(tether_proc_children(0, &got, &n), -EINVAL);
	ck_assert_int_eq(tether_proc_children(-1, &got, &n), -EINVAL);
}
END_TEST

START_TEST(children_beyond_one_page)
{
	/* 1000 pids do not fit the 4 KiB first read of the children file */
	children_of_forked_parent(1000);
}
END_TEST

struct thread_fork {
	int lifeline_r, lifeline_w;
	int go[2];
	pid_t kid;
};

static void *thread_forker(void *arg)
{
	struct thread_fork *t = arg;
	t->kid = fork();
	if (t->kid == 0) {
		/* no PDEATHSIG: it would fire when this thread ends. The lifeline
		 * ends it when the test process is gone. */
		char c;
		close(t->lifeline_w);
		while (read(t->lifeline_r, &c, 1) > 0)
			;
		_exit(0);
	}
	char c;
	if (write(t->go[1], "x", 1) != 1 || read(t->go[0], &c, 1) != 1) {
		/* the test below fails on its own */
	}
	return NULL;
}

START_TEST(children_of_every_thread)
{
	struct thread_fork t;
	int life[2];
	ck_assert_int_eq(pipe2(life, O_CLOEXEC), 0);
	t.lifeline_r = life[0];
	t.lifeline_w = life[1];
	int to_main[2], to_thread[2];
	ck_assert_int_eq(pipe2(to_main, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(to_thread, O_CLOEXEC), 0);
	t.go[1] = to_main[1];
	t.go[0] = to_thread[0];
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, thread_forker, &t), 0);
	char c;
	ck_assert_int_eq(read(to_main[0], &c, 1), 1);
	ck_assert_int_gt(t.kid, 0);
	pt_track(t.kid);
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(t.kid, &st), 0);
	ck_assert_int_eq(st.ppid, getpid());

	/* the thread is alive, so the child is listed under the thread's task */
	pid_t *got = NULL;
	size_t n = 0;
	ck_assert_int_eq(tether_proc_children(getpid(), &got, &n), 0);
	pid_t want = t.kid;
	assert_same_pids(got, n, &want, 1);
	free(got);

	ck_assert_int_eq(write(to_thread[1], "x", 1), 1);
	pthread_join(th, NULL);
	kill(t.kid, SIGKILL);
	tu_wait(t.kid, 5000);
	close(life[0]);
	close(life[1]);
}
END_TEST

struct scan_ctx {
	pid_t want;
	int seen, total, after_stop;
};

static int scan_cb(pid_t pid, void *ud)
{
	struct scan_ctx *c = ud;
	c->total++;
	ck_assert_int_gt(pid, 0);
	if (pid == c->want)
		c->seen++;
	return 0;
}

static int scan_stop_at(pid_t pid, void *ud)
{
	struct scan_ctx *c = ud;
	c->total++;
	if (c->seen)
		c->after_stop++; /* called again after it asked the scan to stop */
	if (pid != c->want)
		return 0;
	c->seen++;
	return 42;
}

START_TEST(scan_finds_ourselves)
{
	struct scan_ctx c = {.want = getpid()};
	ck_assert_int_eq(tether_proc_scan(scan_cb, &c), 0);
	ck_assert_int_eq(c.seen, 1);
	ck_assert_int_gt(c.total, 1);
	/* a nonzero return stops the scan and is returned */
	pid_t kid = tu_start_sleeper();
	pt_track(kid);
	struct scan_ctx s = {.want = kid};
	ck_assert_int_eq(tether_proc_scan(scan_stop_at, &s), 42);
	/* not "total no larger than the first scan's": a parallel make check starts
	 * processes between the two scans (CI saw 122 against 121) */
	ck_assert_int_eq(s.seen, 1);
	ck_assert_int_eq(s.after_stop, 0);
	struct scan_ctx g = {.want = kid};
	ck_assert_int_eq(tether_proc_scan(scan_cb, &g), 0);
	ck_assert_int_eq(g.seen, 1);
}
END_TEST

/* ---- environ -------------------------------------------------------------------- */

/* Starts our own binary as an idler with exactly envp; returns once it has
 * exec'd (the close-on-exec pipe reaches end-of-file). */
static pid_t exec_idler(char *const envp[])
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	ck_assert_int_gt(n, 0);
	self[n] = '\0';
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		char *argv[] = {self, "pt-idle", NULL};
		execve(self, argv, envp);
		int e = errno;
		if (write(p[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	ck_assert_int_eq(read(p[0], &e, sizeof e), 0);
	close(p[0]);
	pt_track(pid);
	return pid;
}

START_TEST(environ_lookup)
{
	size_t long_len = 10000, huge_len = 20000;
	char *long_var = malloc(long_len + 32), *huge_var = malloc(huge_len + 32);
	ck_assert(long_var && huge_var);
	strcpy(long_var, "TETHER_LONG=");
	memset(long_var + strlen(long_var), 'x', long_len);
	long_var[12 + long_len] = '\0';
	strcpy(huge_var, "TETHER_HUGE=");
	memset(huge_var + strlen(huge_var), 'y', huge_len);
	huge_var[12 + huge_len] = '\0';
	char marker[128];
	snprintf(marker, sizeof marker, "TETHER_TEST_RUN=%s", tu_marker);
	char *envp[] = {
		"TETHER_FIRST=1", "TETHER_TEST_RUNX=prefix-trap", long_var, marker, huge_var,
		"TETHER_AFTER=after", "TETHER_EMPTY=", "TETHER_EQ==a=b", NULL,
	};
	pid_t pid = exec_idler(envp);

	char buf[32768];
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_TEST_RUN", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, tu_marker);
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_FIRST", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "1");
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_AFTER", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "after");
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_EMPTY", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "");
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_EQ", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, "=a=b");
	/* absent keys, and keys that are only a prefix of one present */
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_NOPE", buf, sizeof buf), 0);
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_TEST", buf, sizeof buf), 0);
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_AFTE", buf, sizeof buf), 0);
	ck_assert_int_eq(tether_proc_environ_get(pid, "PATH", buf, sizeof buf), 0);

	/* entries longer than the 8 KiB window: whole when the buffer allows,
	 * truncated to the buffer otherwise */
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_LONG", buf, sizeof buf), 1);
	ck_assert_uint_eq(strlen(buf), long_len);
	ck_assert_uint_eq(strspn(buf, "x"), long_len);
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_HUGE", buf, sizeof buf), 1);
	ck_assert_uint_eq(strlen(buf), huge_len);
	ck_assert_uint_eq(strspn(buf, "y"), huge_len);
	char small[16];
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_LONG", small, sizeof small), 1);
	ck_assert_str_eq(small, "xxxxxxxxxxxxxxx");
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_FIRST", small, 1), 1);
	ck_assert_str_eq(small, "");
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_FIRST", small, 0), -EINVAL);

	/* a process that is gone */
	kill(pid, SIGKILL);
	ck_assert_int_ne(tu_wait(pid, 5000), -1);
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_TEST_RUN", buf, sizeof buf), -ESRCH);
	free(long_var);
	free(huge_var);
}
END_TEST

START_TEST(environ_last_entry_without_nul_and_empty_environ)
{
	char *none[] = {NULL};
	pid_t pid = exec_idler(none);
	char buf[64];
	ck_assert_int_eq(tether_proc_environ_get(pid, "TETHER_TEST_RUN", buf, sizeof buf), 0);
	/* an entry that exactly fills the 8 KiB window, then the marker */
	size_t fill = 8192 - 1; /* + its NUL = 8192 */
	char *v = malloc(fill + 1);
	ck_assert_ptr_nonnull(v);
	memcpy(v, "TETHER_FILL=", 12);
	memset(v + 12, 'f', fill - 12);
	v[fill] = '\0';
	char marker[128];
	snprintf(marker, sizeof marker, "TETHER_TEST_RUN=%s", tu_marker);
	char *envp[] = {v, marker, NULL};
	pid_t p2 = exec_idler(envp);
	ck_assert_int_eq(tether_proc_environ_get(p2, "TETHER_TEST_RUN", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, tu_marker);
	/* and one byte longer than the window */
	char *v2 = malloc(fill + 2);
	ck_assert_ptr_nonnull(v2);
	memcpy(v2, v, fill);
	v2[fill] = 'f';
	v2[fill + 1] = '\0';
	char *envp2[] = {v2, marker, NULL};
	pid_t p3 = exec_idler(envp2);
	ck_assert_int_eq(tether_proc_environ_get(p3, "TETHER_TEST_RUN", buf, sizeof buf), 1);
	ck_assert_str_eq(buf, tu_marker);
	free(v);
	free(v2);
}
END_TEST

/* ---- fds ------------------------------------------------------------------------- */

START_TEST(fd_count_follows_open_and_close)
{
	int n0 = tether_proc_count_fds(getpid());
	ck_assert_int_gt(n0, 2);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), n0 + 1);
	int fd2 = dup(fd);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), n0 + 2);
	close(fd2);
	close(fd);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), n0);
	/* another process, and one that is gone */
	pid_t kid = tu_start_sleeper();
	pt_track(kid);
	ck_assert_int_eq(tether_proc_count_fds(kid), n0 - 1); /* minus the dir fd of our own scan */
	kill(kid, SIGKILL);
	tu_wait(kid, 5000);
	ck_assert_int_eq(tether_proc_count_fds(kid), -ESRCH);
}
END_TEST

/* ---- /proc/locks ------------------------------------------------------------------ */

START_TEST(lock_line_parser)
{
	dev_t dev = makedev(0xfd, 0x01);
	ino_t ino = 5678;
	pid_t pid = 0;
	ck_assert_int_eq(tether_proc_parse_lock_line("1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF", dev, ino, &pid), 1);
	ck_assert_int_eq(pid, 1234);
	ck_assert_int_eq(tether_proc_parse_lock_line("17: FLOCK  ADVISORY  READ  99 fd:01:5678 0 EOF", dev, ino, &pid), 1);
	ck_assert_int_eq(pid, 99);
	/* another inode, another device */
	pid = 0;
	ck_assert_int_eq(tether_proc_parse_lock_line("1: FLOCK  ADVISORY  WRITE 1234 fd:01:5679 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("1: FLOCK  ADVISORY  WRITE 1234 fd:02:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("1: FLOCK  ADVISORY  WRITE 1234 fe:01:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("1: FLOCK  ADVISORY  WRITE 1234 fd:01:56780 0 EOF", dev, ino, &pid), 0);
	/* waiters are not holders, at any depth */
	ck_assert_int_eq(tether_proc_parse_lock_line("1: -> FLOCK  ADVISORY  WRITE 1235 fd:01:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("1:  -> FLOCK  ADVISORY  WRITE 1236 fd:01:5678 0 EOF", dev, ino, &pid), 0);
	/* POSIX, OFD locks and leases on the same inode are not our lock */
	ck_assert_int_eq(tether_proc_parse_lock_line("2: POSIX  ADVISORY  WRITE 1234 fd:01:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("3: OFDLCK ADVISORY  WRITE -1 fd:01:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(tether_proc_parse_lock_line("4: LEASE  ACTIVE    READ  1234 fd:01:5678 0 EOF", dev, ino, &pid), 0);
	ck_assert_int_eq(pid, 0);
	/* big device numbers are printed in hex, more than two digits */
	dev_t big = makedev(0x103, 0x12345);
	ck_assert_int_eq(tether_proc_parse_lock_line("5: FLOCK  ADVISORY  WRITE 77 103:12345:5678 0 EOF", big, ino, &pid), 1);
	ck_assert_int_eq(pid, 77);
	ck_assert_int_eq(tether_proc_parse_lock_line("5: FLOCK  ADVISORY  WRITE 77 103:12345:5678 0 EOF", dev, ino, &pid), 0);
	/* a holder in a PID namespace we cannot see shows as pid 0: held, by
	 * someone unknown — never "free" */
	pid = 99;
	ck_assert_int_eq(tether_proc_parse_lock_line("6: FLOCK  ADVISORY  WRITE 0 fd:01:5678 0 EOF", dev, ino, &pid), 1);
	ck_assert_int_eq(pid, 0);

	static const char *const malformed[] = {
		"",
		"x",
		":",
		"1",
		"1:",
		"1: ",
		"1 FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF",
		"a: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF",
		"1: FLOCK",
		"1: FLOCK  ADVISORY",
		"1: FLOCK  ADVISORY  WRITE",
		"1: FLOCK  ADVISORY  WRITE abc fd:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234",
		"1: FLOCK  ADVISORY  WRITE 1234 ",
		"1: FLOCK  ADVISORY  WRITE 1234 fd01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 zz:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 fd:zz:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 fd:01: 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 fd:01:x 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 <none>:0 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 fffffffff:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 1234 fd:01:99999999999999999999999 0 EOF",
		"1: FLOCK  ADVISORY  WRITE -5 fd:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 99999999999 fd:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 99999999999999999999999 fd:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE --5 fd:01:5678 0 EOF",
		"1: FLOCK  ADVISORY  WRITE 12  fd:01:5678 0 EOF",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		pid = 4321;
		ck_assert_msg(tether_proc_parse_lock_line(malformed[i], dev, ino, &pid) == -EINVAL,
			      "'%s' not refused", malformed[i]);
		ck_assert_int_eq(pid, 4321);
	}
}
END_TEST

struct flocker_arg {
	int fd[2];
	const char *dir;
	int nfiles;
};

/* Takes flock(LOCK_EX) on dir/lock.0 .. lock.N-1, reports, then idles. */
static int flocker(void *arg)
{
	struct flocker_arg *a = arg;
	close(a->fd[0]);
	for (int i = 0; i < a->nfiles; i++) {
		char path[512];
		snprintf(path, sizeof path, "%s/lock.%d", a->dir, i);
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			return 2;
	}
	char ok = 1;
	if (write(a->fd[1], &ok, 1) != 1)
		return 3;
	for (;;)
		pause();
}

static pid_t start_flocker(int nfiles)
{
	struct flocker_arg a = {.dir = tu_dir, .nfiles = nfiles};
	ck_assert_int_eq(pipe2(a.fd, O_CLOEXEC), 0);
	pid_t pid = tu_fork(flocker, &a);
	pt_track(pid);
	close(a.fd[1]);
	char ok = 0;
	ck_assert_int_eq(read(a.fd[0], &ok, 1), 1);
	close(a.fd[0]);
	return pid;
}

static int holder_of(const char *path, pid_t *ret)
{
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	return tether_proc_lock_holder(st.st_dev, st.st_ino, ret);
}

START_TEST(lock_holder_of_real_flock)
{
	pid_t kid = start_flocker(1);
	pid_t holder = 0;
	ck_assert_int_eq(holder_of(tu_path("lock.0"), &holder), 1);
	ck_assert_int_eq(holder, kid);

	/* a file nobody locks; a POSIX and an OFD lock, which are not flocks */
	tu_write_file(tu_path("free"), "", 0, 0644);
	ck_assert_int_eq(holder_of(tu_path("free"), &holder), 0);
	int pfd = open(tu_path("posix"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(pfd, 0);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	ck_assert_int_eq(fcntl(pfd, F_SETLK, &fl), 0);
	ck_assert_int_eq(holder_of(tu_path("posix"), &holder), 0);
	int ofd = open(tu_path("ofd"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(ofd, 0);
	struct flock ofl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	ck_assert_int_eq(fcntl(ofd, F_OFD_SETLK, &ofl), 0);
	ck_assert_int_eq(holder_of(tu_path("ofd"), &holder), 0);
	close(pfd);
	close(ofd);

	/* the holder dies: the lock is free */
	kill(kid, SIGKILL);
	ck_assert_int_ne(tu_wait(kid, 5000), -1);
	ck_assert_int_eq(holder_of(tu_path("lock.0"), &holder), 0);
}
END_TEST

START_TEST(lock_holder_beyond_one_read)
{
	/* 400 locks make /proc/locks longer than the reader's 8 KiB buffer */
	enum { N = 400 };
	pid_t kid = start_flocker(N);
	char *locks = tu_read_file("/proc/locks", NULL);
	ck_assert_ptr_nonnull(locks);
	ck_assert_uint_gt(strlen(locks), 8192);
	free(locks);
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "lock.%d", i);
		pid_t holder = 0;
		ck_assert_msg(holder_of(tu_path(name), &holder) == 1, "%s: holder not found", name);
		ck_assert_int_eq(holder, kid);
	}
}
END_TEST

struct churn_arg {
	const char *dir;
	int cpu;
};

/* Takes and drops 50 flocks in a loop, forever, on one CPU: the kernel lists
 * locks per CPU, newest first, so every CPU's list gets shifted. */
static int lock_churner(void *arg)
{
	const struct churn_arg *a = arg;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(a->cpu, &set);
	sched_setaffinity(0, sizeof set, &set); /* best effort */
	int fds[50];
	for (;;) {
		for (int i = 0; i < 50; i++) {
			char path[512];
			snprintf(path, sizeof path, "%s/churn.%d.%d", a->dir, a->cpu, i);
			fds[i] = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (fds[i] < 0 || flock(fds[i], LOCK_EX | LOCK_NB) < 0)
				return 2;
		}
		for (int i = 0; i < 50; i++)
			close(fds[i]);
	}
}

START_TEST(lock_holder_under_churn)
{
	/* 200 held locks make /proc/locks several pages long, and /proc/locks
	 * is read a page at a time: locks that come and go meanwhile shift the
	 * list between pages. A lock that is held all along must be found
	 * every time. */
	enum { N = 200 };
	pid_t kid = start_flocker(N);
	pid_t churner[2];
	for (int c = 0; c < 2; c++) {
		struct churn_arg a = {.dir = tu_dir, .cpu = c % (int)sysconf(_SC_NPROCESSORS_ONLN)};
		churner[c] = tu_fork(lock_churner, &a);
		pt_track(churner[c]);
	}
	for (int k = 0; k < 1500; k++) {
		char name[32];
		snprintf(name, sizeof name, "lock.%d", (k * 7) % N);
		pid_t holder = 0;
		ck_assert_msg(holder_of(tu_path(name), &holder) == 1, "try %d: %s: holder not found", k, name);
		ck_assert_int_eq(holder, kid);
	}
	/* they were churning all along */
	ck_assert(tu_alive(churner[0]) && tu_alive(churner[1]));
}
END_TEST

/* ---- memory --------------------------------------------------------------------- */

START_TEST(mem_available_is_plausible)
{
	uint64_t avail = 0;
	ck_assert_int_eq(tether_proc_mem_available(&avail), 0);
	ck_assert_uint_gt(avail, 0);
	struct sysinfo si;
	ck_assert_int_eq(sysinfo(&si), 0);
	ck_assert_uint_le(avail, (uint64_t)si.totalram * si.mem_unit);
	ck_assert_uint_eq(avail % 1024, 0);
	uint64_t rss = 0;
	ck_assert_int_eq(tether_proc_rss_kb(getpid(), &rss), 0);
	ck_assert_uint_gt(rss, 0);
}
END_TEST

START_TEST(read_file_bounds)
{
	char buf[16];
	size_t len = 99;
	ck_assert_int_eq(tether_proc_read_file("/proc/self/status", buf, sizeof buf, &len), -EFBIG);
	ck_assert_int_eq(tether_proc_read_file("/proc/self/comm", buf, sizeof buf, &len), 0);
	ck_assert_str_eq(buf, "test_proc\n");
	ck_assert_uint_eq(len, 10);
	/* exactly cap-1 bytes fit, cap do not */
	tu_write_file(tu_path("f15"), "123456789012345", 15, 0644);
	ck_assert_int_eq(tether_proc_read_file(tu_path("f15"), buf, sizeof buf, &len), 0);
	ck_assert_uint_eq(len, 15);
	tu_write_file(tu_path("f16"), "1234567890123456", 16, 0644);
	ck_assert_int_eq(tether_proc_read_file(tu_path("f16"), buf, sizeof buf, &len), -EFBIG);
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
START_TEST(g9_scan_of_an_open_directory_needs_no_open)
{
	/* A process that can open nothing any more (a guardian under EMFILE)
	 * lists /proc through a descriptor it was given, from the start each
	 * time (it is rewound). */
	int dfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	tu_fault_arm("tether/sys/open", EMFILE, 1, 0, TU_FAULT_ALL);
	struct scan_ctx a = {.want = getpid()}, b = {.want = getpid()};
	int ra = tether_proc_scan_dirfd(dfd, false, scan_cb, &a);
	int rb = tether_proc_scan_dirfd(dfd, false, scan_cb, &b);
	int rc = tether_proc_scan(scan_cb, &(struct scan_ctx){0});
	tu_fault_disarm();
	ck_assert_int_eq(ra, 0);
	ck_assert_int_eq(rb, 0);
	ck_assert_int_eq(a.seen, 1);
	ck_assert_int_eq(b.seen, 1);
	ck_assert_int_gt(b.total, 1);
	ck_assert_int_eq(rc, -EMFILE); /* by path it cannot */
	close(dfd);
}
END_TEST

static int exit_now(void *arg)
{
	(void)arg;
	return 0;
}

START_TEST(status_fields_of_a_process_that_cannot_be_read)
{
	/* a pid nobody has: each reader of /proc/PID/status says why, and
	 * reading /proc/meminfo failing is the reader's error */
	pid_t gone = tu_fork(exit_now, NULL);
	ck_assert_int_ne(tu_wait(gone, 5000), -1); /* reaped: its pid is free */
	pid_t inner = 0, host = 0;
	uint64_t kb = 0;
	ck_assert_int_eq(tether_proc_inner_pid(gone, &inner), -ESRCH);
	ck_assert_int_eq(tether_proc_rss_kb(gone, &kb), -ESRCH);
	ck_assert_int_eq(tether_proc_find_nspid_child(gone, 1, &host), -ESRCH);
	ck_assert_int_eq(inner, 0);
	ck_assert_int_eq(host, 0);
	tu_fault_arm("tether/sys/read", EIO, 1, 0, TU_FAULT_SELF);
	int r = tether_proc_mem_available(&kb);
	tu_fault_disarm();
	ck_assert_int_eq(r, -EIO);
	ck_assert_int_eq(kb, 0);
}
END_TEST

START_TEST(g9_children_without_listing_the_threads)
{
	/* getdents failing for good: the threads of a process cannot be
	 * listed, and its main thread's children are read instead — all of
	 * them for a single-threaded process. */
	struct pipe_arg a = {.nkids = 3};
	ck_assert_int_eq(pipe2(a.fd, O_CLOEXEC), 0);
	pid_t parent = tu_fork(parent_of_n, &a);
	pt_track(parent);
	close(a.fd[1]);
	pid_t want[3];
	ck_assert_uint_eq(read_pids(a.fd[0], want, 3), 3);
	close(a.fd[0]);
	pid_t *got = NULL;
	size_t ngot = 0;
	tu_fault_arm("tether/sys/getdents", EIO, 1, 0, TU_FAULT_ALL);
	int r = tether_proc_children(parent, &got, &ngot);
	unsigned failed = tu_fault_failed();
	tu_fault_disarm();
	ck_assert_uint_ge(failed, 1);
	ck_assert_int_eq(r, 0);
	assert_same_pids(got, ngot, want, 3);
	free(got);
	kill(parent, SIGKILL);
	tu_wait(parent, 5000);
}
END_TEST
#endif

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "pt-idle") == 0) {
		for (;;)
			pause();
	}
	pt_init();
	Suite *s = suite_create("proc");

	TCase *tc = tcase_create("parsers");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, stat_parses_own_real_line);
	tcase_add_test(tc, stat_parses_synthetic_line);
	tcase_add_test(tc, stat_comm_with_spaces_and_parens);
	tcase_add_test(tc, stat_truncated_lines_are_einval);
	tcase_add_test(tc, stat_non_numeric_fields_are_einval);
	tcase_add_test(tc, stat_huge_numbers_are_einval);
	tcase_add_test(tc, read_stat_refuses_bad_pids);
	tcase_add_test(tc, lock_line_parser);
	tcase_add_test(tc, read_file_bounds);
	suite_add_tcase(s, tc);

	tc = tcase_create("processes");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, start_time_matches_kernel);
	tcase_add_test(tc, alive_sees_zombies_as_dead);
	tcase_add_test(tc, boot_id_is_the_kernels);
	tcase_add_test(tc, children_are_exactly_those_forked);
	tcase_add_test(tc, children_of_every_thread);
	tcase_add_test(tc, scan_finds_ourselves);
	tcase_add_test(tc, environ_lookup);
	tcase_add_test(tc, environ_last_entry_without_nul_and_empty_environ);
	tcase_add_test(tc, fd_count_follows_open_and_close);
	tcase_add_test(tc, lock_holder_of_real_flock);
	tcase_add_test(tc, mem_available_is_plausible);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, g9_scan_of_an_open_directory_needs_no_open);
	tcase_add_test(tc, g9_children_without_listing_the_threads);
	tcase_add_test(tc, status_fields_of_a_process_that_cannot_be_read);
#endif
	suite_add_tcase(s, tc);

	/* many processes, many locks: slower on a loaded 2-core machine */
	tc = tcase_create("many");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, children_beyond_one_page);
	tcase_add_test(tc, lock_holder_beyond_one_read);
	tcase_add_test(tc, lock_holder_under_churn);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
