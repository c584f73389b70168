/* SPDX-License-Identifier: MIT */
/* test_ctlname.c — the control socket's name and how it is found
 * (src/ctlname.c): names round-trip and are drawn afresh; the parsers (name,
 * /proc/net/unix line) are strict; a pidfile's canonical path is the same
 * whether its directory exists or was removed, through symlinks and
 * relative paths; both listers see the same listening sockets (sock_diag
 * with their owner); a candidate is found only when its listener's
 * credentials and start time prove its name, and stands on its name when
 * its queue is full.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctlname.h"
#include "proc.h"
#include "proctest.h"
#include "testutil.h"

static uint64_t start_time_of(pid_t pid)
{
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(pid, &st), 0);
	return st.start_time;
}

static const char KEY[] = "0123456789abcdef";

START_TEST(names_round_trip_and_differ)
{
	char a[TETHER_CTLNAME_MAX + 1], b[TETHER_CTLNAME_MAX + 1], key[TETHER_CTLNAME_KEY_LEN + 1];
	ck_assert_int_eq(tether_ctlname_make(KEY, 4242, 987654321, a, sizeof a), 0);
	ck_assert_int_eq(tether_ctlname_make(KEY, 4242, 987654321, b, sizeof b), 0);
	ck_assert_str_ne(a, b);
	ck_assert_int_eq(strncmp(a, "tether-ctl/0123456789abcdef/4242/987654321/", 43), 0);
	ck_assert_uint_eq(strlen(a), 43 + 32);
	pid_t pid;
	uint64_t start;
	ck_assert_int_eq(tether_ctlname_parse(a, key, &pid, &start), 0);
	ck_assert_str_eq(key, KEY);
	ck_assert_int_eq(pid, 4242);
	ck_assert_uint_eq(start, 987654321);
	/* the address is the name in the abstract namespace */
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(a, &sa);
	ck_assert_int_eq(sa.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sa.sun_path + 1, a, strlen(a)), 0);
	ck_assert_uint_eq(len, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a));
}
END_TEST

START_TEST(name_parser_is_strict)
{
	static const char *const bad[] = {
		"",
		"tether-ctl/",
		"tether-ctl/0123456789abcdef",
		"tether-ctl/0123456789abcdef/",
		"tether-ctl/0123456789ABCDEF/42/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcde/42/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef0/42/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/0/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/042/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/-42/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/4294967296/7/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/42/07/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/42/x/0123456789abcdef0123456789abcdef",
		"tether-ctl/0123456789abcdef/42/7/0123456789abcdef0123456789abcde",
		"tether-ctl/0123456789abcdef/42/7/0123456789abcdef0123456789abcdef0",
		"tether-ctl/0123456789abcdef/42/7/0123456789abcdef0123456789abcdeg",
		"tether-ctl/0123456789abcdef/42/7/0123456789abcdef/123456789abcdef",
		"tether-ctl/0123456789abcdef/42/7",
		"tether-ctx/0123456789abcdef/42/7/0123456789abcdef0123456789abcdef",
	};
	pid_t pid;
	uint64_t start;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(tether_ctlname_parse(bad[i], NULL, &pid, &start) == -EINVAL, "accepted \"%s\"", bad[i]);
	ck_assert_int_eq(
		tether_ctlname_parse("tether-ctl/0123456789abcdef/42/0/0123456789abcdef0123456789abcdef", NULL, &pid, &start),
		0);
	ck_assert_uint_eq(start, 0);
	/* PID 1: a container's entrypoint (pid1_refusals) */
	ck_assert_int_eq(
		tether_ctlname_parse("tether-ctl/0123456789abcdef/1/7/0123456789abcdef0123456789abcdef", NULL, &pid, &start),
		0);
	ck_assert_int_eq(pid, 1);
}
END_TEST

START_TEST(proc_net_unix_lines)
{
	const char *prefix = "tether-ctl/0123456789abcdef/";
	char name[TETHER_CTLNAME_MAX + 1];
	/* a listening SOCK_SEQPACKET abstract socket under the prefix */
	ck_assert_int_eq(tether_ctlname_parse_unix_line("0000000000000000: 00000002 00000000 00010000 0005 01 31337 "
							"@tether-ctl/0123456789abcdef/42/7/ab",
							prefix, name, sizeof name),
			 1);
	ck_assert_str_eq(name, "tether-ctl/0123456789abcdef/42/7/ab");
	static const char *const other[] = {
		"Num       RefCount Protocol Flags    Type St Inode Path",
		/* not listening */
		"0000000000000000: 00000002 00000000 00000000 0005 01 31337 @tether-ctl/0123456789abcdef/42/7/ab",
		/* a stream or datagram socket of that name */
		"0000000000000000: 00000002 00000000 00010000 0001 01 31337 @tether-ctl/0123456789abcdef/42/7/ab",
		"0000000000000000: 00000002 00000000 00000000 0002 01 31337 @tether-ctl/0123456789abcdef/42/7/ab",
		/* a path in the file system, unbound, another key */
		"0000000000000000: 00000002 00000000 00010000 0005 01 31337 /run/tether-ctl/0123456789abcdef/42",
		"0000000000000000: 00000002 00000000 00010000 0005 01 31337",
		"0000000000000000: 00000002 00000000 00010000 0005 01 31337 @tether-ctl/1123456789abcdef/42/7/ab",
	};
	for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
		ck_assert_msg(tether_ctlname_parse_unix_line(other[i], prefix, name, sizeof name) == 0, "matched \"%s\"",
			      other[i]);
	static const char *const malformed[] = {
		"",
		"garbage",
		"0000000000000000 00000002 00000000 00010000 0005 01 31337 @x",
		"00000000000000zz: 00000002 00000000 00010000 0005 01 31337 @x",
		"0000000000000000: 00000002 00000000 0001000g 0005 01 31337 @x",
		"0000000000000000: 00000002 00000000 00010000 0005 01 3133x @x",
		"0000000000000000: 00000002 00000000 00010000 0005",
	};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		ck_assert_msg(tether_ctlname_parse_unix_line(malformed[i], prefix, name, sizeof name) == -EINVAL,
			      "took \"%s\"", malformed[i]);
	/* a name that does not fit is refused, not cut */
	char tiny[8];
	ck_assert_int_eq(tether_ctlname_parse_unix_line("0000000000000000: 00000002 00000000 00010000 0005 01 31337 "
							"@tether-ctl/0123456789abcdef/42/7/ab",
							prefix, tiny, sizeof tiny),
			 -EINVAL);
}
END_TEST

START_TEST(canonical_paths)
{
	char a[PATH_MAX], b[PATH_MAX + 64], real[PATH_MAX];
	ck_assert_int_eq(mkdir(tu_path("state"), 0755), 0);
	ck_assert_ptr_nonnull(realpath(tu_path("state"), real));
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("state/t.pid"), a, sizeof a), 0);
	snprintf(b, sizeof b, "%s/t.pid", real);
	ck_assert_str_eq(a, b);
	/* through a symlink and with dots: the same path */
	ck_assert_int_eq(symlink(tu_path("state"), tu_path("link")), 0);
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("link/./t.pid"), a, sizeof a), 0);
	ck_assert_str_eq(a, b);
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("state/../state/t.pid"), a, sizeof a), 0);
	ck_assert_str_eq(a, b);
	/* a directory held open says the same */
	int dfd = open(tu_path("state"), O_PATH | O_DIRECTORY | O_CLOEXEC);
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(tether_ctlname_canonical_at(dfd, "t.pid", a, sizeof a), 0);
	ck_assert_str_eq(a, b);
	/* removed (and its parent too): the same path, so the same key */
	char key_before[TETHER_CTLNAME_KEY_LEN + 1], key_after[TETHER_CTLNAME_KEY_LEN + 1];
	ck_assert_int_eq(mkdir(tu_path("state/deep"), 0755), 0);
	ck_assert_int_eq(tether_ctlname_key(tu_path("state/deep/t.pid"), key_before), 0);
	ck_assert_int_eq(rmdir(tu_path("state/deep")), 0);
	ck_assert_int_eq(tether_ctlname_key(tu_path("state/deep/t.pid"), key_after), 0);
	ck_assert_str_eq(key_before, key_after);
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("state/deep/more/t.pid"), a, sizeof a), 0);
	snprintf(b, sizeof b, "%s/deep/more/t.pid", real);
	ck_assert_str_eq(a, b);
	/* the held directory, removed: not its old name */
	ck_assert_int_eq(unlink(tu_path("link")), 0);
	ck_assert_int_eq(rmdir(tu_path("state")), 0);
	ck_assert_int_eq(tether_ctlname_canonical_at(dfd, "t.pid", a, sizeof a), -ENOENT);
	close(dfd);
	/* relative: against the working directory */
	char cwd[PATH_MAX];
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tu_path("")), 0);
	ck_assert_int_eq(tether_ctlname_canonical("t.pid", a, sizeof a), 0);
	ck_assert_int_eq(tether_ctlname_canonical("gone/t.pid", b, sizeof b), 0);
	ck_assert_int_eq(chdir(cwd), 0);
	ck_assert_ptr_nonnull(realpath(tu_path(""), real));
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want, "%s/t.pid", real);
	ck_assert_str_eq(a, want);
	snprintf(want, sizeof want, "%s/gone/t.pid", real);
	ck_assert_str_eq(b, want);
	/* names that are no file */
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("t.pid/"), a, sizeof a), -EISDIR);
	ck_assert_int_eq(tether_ctlname_canonical(tu_path("."), a, sizeof a), -EISDIR);
	ck_assert_int_eq(tether_ctlname_canonical(tu_path(".."), a, sizeof a), -EISDIR);
	ck_assert_int_eq(tether_ctlname_canonical("", a, sizeof a), -EINVAL);
	/* "/t.pid" is in the root */
	ck_assert_int_eq(tether_ctlname_canonical("/t.pid", a, sizeof a), 0);
	ck_assert_str_eq(a, "/t.pid");
}
END_TEST

/* ---- listing and finding -------------------------------------------------------------- */

static int bound(int type, const char *name, bool listening)
{
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(name, &sa);
	int s = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(s, 0);
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sa, len), 0);
	if (listening)
		ck_assert_int_eq(listen(s, 0), 0);
	return s;
}

struct seen {
	int n;
	char name[4][TETHER_CTLNAME_MAX + 1];
	long uid[4];
};

static int collect(const char *name, long uid, void *ud)
{
	struct seen *s = ud;
	if (s->n < 4) {
		snprintf(s->name[s->n], sizeof s->name[0], "%s", name);
		s->uid[s->n] = uid;
	}
	s->n++;
	return 0;
}

static bool have_diag(void)
{
	struct seen s = {0};
	return tether_ctlname_list("tether-ctl/none/", TETHER_CTLNAME_DIAG, collect, &s) == 0;
}

START_TEST(both_listers_see_listening_seqpacket_sockets)
{
	char prefix[64], key[TETHER_CTLNAME_KEY_LEN + 1];
	tether_ctlname_key_of(tu_path("list"), key);
	snprintf(prefix, sizeof prefix, "tether-ctl/%s/", key);
	char name[TETHER_CTLNAME_MAX + 1], other[TETHER_CTLNAME_MAX + 1];
	ck_assert_int_eq(tether_ctlname_make(key, getpid(), 1, name, sizeof name), 0);
	ck_assert_int_eq(tether_ctlname_make(key, getpid(), 2, other, sizeof other), 0);
	int l = bound(SOCK_SEQPACKET, name, true);
	/* the same prefix, but not what a supervisor binds: unseen */
	int d = bound(SOCK_DGRAM, other, false);
	int q = bound(SOCK_SEQPACKET, other, false);
	int st = bound(SOCK_STREAM, other, true);
	struct seen p = {0};
	ck_assert_int_eq(tether_ctlname_list(prefix, TETHER_CTLNAME_PROC, collect, &p), 0);
	ck_assert_int_eq(p.n, 1);
	ck_assert_str_eq(p.name[0], name);
	ck_assert_int_eq(p.uid[0], -1);
	if (have_diag()) {
		struct seen s = {0};
		ck_assert_int_eq(tether_ctlname_list(prefix, TETHER_CTLNAME_DIAG, collect, &s), 0);
		ck_assert_int_eq(s.n, 1);
		ck_assert_str_eq(s.name[0], name);
		ck_assert_int_eq(s.uid[0], (long)geteuid());
	} else {
		fprintf(stderr, "SKIP both_listers_see_listening_seqpacket_sockets (sock_diag): unix_diag unavailable\n");
	}
	struct seen a = {0};
	ck_assert_int_eq(tether_ctlname_list(prefix, TETHER_CTLNAME_ANY, collect, &a), 0);
	ck_assert_int_eq(a.n, 1);
	close(l);
	close(d);
	close(q);
	close(st);
}
END_TEST

struct listener {
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	pid_t claim_pid;      /* 0: its own */
	int64_t start_offset; /* added to the true start time */
	int backlog;
	bool accept;
	int ready_fd;
};

static int listener_main(void *arg)
{
	struct listener *l = arg;
	char name[TETHER_CTLNAME_MAX + 1];
	struct tether_procstat st;
	pid_t claim = l->claim_pid ? l->claim_pid : getpid();
	if (tether_proc_read_stat(claim, &st) < 0)
		return 2;
	if (tether_ctlname_make(l->key, claim, st.start_time + (uint64_t)l->start_offset, name, sizeof name) < 0)
		return 3;
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(name, &sa);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, l->backlog) < 0)
		return 4;
	if (write(l->ready_fd, "r", 1) != 1)
		return 5;
	for (;;) {
		if (!l->accept) {
			pause();
			continue;
		}
		int c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static struct listener lst;

static pid_t start_listener(const char *key, pid_t claim_pid, int64_t start_offset, int backlog, bool accept_them)
{
	int p[2];
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	lst = (struct listener){.claim_pid = claim_pid, .start_offset = start_offset, .backlog = backlog,
				.accept = accept_them, .ready_fd = p[1]};
	snprintf(lst.key, sizeof lst.key, "%s", key);
	pid_t pid = tu_fork(listener_main, &lst);
	pt_track(pid);
	close(p[1]);
	char c;
	ck_assert_msg(read(p[0], &c, 1) == 1, "listener failed to start");
	close(p[0]);
	return pid;
}

static void stop_listener(pid_t pid)
{
	kill(pid, SIGKILL);
	tu_wait(pid, 5000);
}

START_TEST(a_candidate_is_found_only_when_proven)
{
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	struct tether_ctlname_found f;
	tether_ctlname_key_of(tu_path("find"), key);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 0);
	/* a true claim */
	pid_t pid = start_listener(key, 0, 0, 8, true);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 1);
	ck_assert_int_eq(f.pid, pid);
	ck_assert_uint_eq(f.start_time, start_time_of(pid));
	ck_assert_int_eq(f.fd, -1);
	ck_assert_int_eq(tether_ctlname_find(key, pid, TETHER_CTLNAME_KEEP, &f), 1);
	ck_assert_int_ge(f.fd, 0);
	struct ucred cred;
	socklen_t cl = sizeof cred;
	ck_assert_int_eq(getsockopt(f.fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl), 0);
	ck_assert_int_eq(cred.pid, pid);
	close(f.fd);
	/* only the pid asked for */
	ck_assert_int_eq(tether_ctlname_find(key, pid + 1, 0, &f), 0);
	/* another key */
	char other[TETHER_CTLNAME_KEY_LEN + 1];
	tether_ctlname_key_of(tu_path("elsewhere"), other);
	ck_assert_int_eq(tether_ctlname_find(other, 0, 0, &f), 0);
	stop_listener(pid);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 0);
	/* a claim of another process's pid, or of a start time that is not
	 * the process's (a reused pid): SO_PEERCRED and /proc say no */
	pid_t sleeper = tu_start_sleeper();
	pt_track(sleeper);
	pid_t liar = start_listener(key, sleeper, 0, 8, true);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 0);
	ck_assert_int_eq(tether_ctlname_find(key, sleeper, 0, &f), 0);
	stop_listener(liar);
	liar = start_listener(key, 0, 5, 8, true);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 0);
	stop_listener(liar);
}
END_TEST

START_TEST(a_full_queue_stands_on_its_name)
{
	if (!have_diag()) {
		fprintf(stderr, "SKIP a_full_queue_stands_on_its_name: unix_diag unavailable (no owner to trust)\n");
		return;
	}
	/* a supervisor that does not accept (stopped): once its queue is
	 * full, connects fail with EAGAIN; the kernel still says the socket
	 * is ours, so its name's claims stand — except for a caller that
	 * wants to ask it something */
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	struct tether_ctlname_found f;
	tether_ctlname_key_of(tu_path("full"), key);
	pid_t pid = start_listener(key, 0, 0, 0, false);
	int fds[16], n = 0;
	ck_assert_int_eq(tether_ctlname_find(key, 0, TETHER_CTLNAME_KEEP, &f), 1);
	fds[n++] = f.fd;
	for (; n < 16; n++) {
		ck_assert_int_eq(tether_ctlname_find(key, 0, TETHER_CTLNAME_KEEP, &f) >= 0, 1);
		if (f.fd < 0)
			break;
		fds[n] = f.fd;
	}
	ck_assert_msg(n < 16, "the listen queue never filled");
	ck_assert_int_eq(tether_ctlname_find(key, 0, TETHER_CTLNAME_KEEP, &f), 0);
	ck_assert_int_eq(tether_ctlname_find(key, 0, 0, &f), 1);
	ck_assert_int_eq(f.pid, pid);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	stop_listener(pid);
}
END_TEST

static void setup(void)
{
	pt_setup();
	signal(SIGPIPE, SIG_IGN);
}

int main(void)
{
	pt_init();
	Suite *s = suite_create("ctlname");
	TCase *tc = tcase_create("ctlname");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, names_round_trip_and_differ);
	tcase_add_test(tc, name_parser_is_strict);
	tcase_add_test(tc, proc_net_unix_lines);
	tcase_add_test(tc, canonical_paths);
	tcase_add_test(tc, both_listers_see_listening_seqpacket_sockets);
	tcase_add_test(tc, a_candidate_is_found_only_when_proven);
	tcase_add_test(tc, a_full_queue_stands_on_its_name);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
