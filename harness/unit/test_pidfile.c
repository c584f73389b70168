/* SPDX-License-Identifier: MIT */
/* test_pidfile.c — one supervisor per pidfile (G1), and a record that is
 * absent or complete under ENOSPC, EIO, EINTR and SIGKILL at any point (G3). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

#include "clock.h"
#include "ctlname.h"
#include "pidfile.h"
#include "testutil.h"

static struct tether_clock real;

static void setup(void)
{
	tu_setup();
	tether_clock_init_real(&real);
}

static int64_t now_ms(void)
{
	return tether_clock_now(&real) / TETHER_NSEC_PER_MSEC;
}

/* Acquires and writes a record for the calling process. */
static struct tether_pidfile *hold(const char *path)
{
	struct tether_pidfile *pf = NULL;
	struct tether_pidrecord rec;
	char *argv[] = {"tether", "run", "--", "worker", "a b", NULL};
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), 1);
	ck_assert_int_eq(tether_pidrecord_init_self(&rec, argv, &real), 0);
	ck_assert_int_eq(tether_pidfile_write(pf, &rec), 0);
	tether_pidrecord_done(&rec);
	return pf;
}

START_TEST(record_round_trip_and_release)
{
	const char *path = tu_path("run/t.pid");
	struct tether_pidfile *pf = hold(path);
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidfile_read(path, &rec), 0);
	ck_assert_int_eq(rec.pid, getpid());
	ck_assert(!rec.legacy);
	ck_assert_str_eq(rec.argv[3], "worker");
	ck_assert_str_eq(rec.argv[4], "a b");
	ck_assert_ptr_null(rec.argv[5]);
	ck_assert_str_eq(rec.version, PACKAGE_VERSION);
	ck_assert_uint_eq(strlen(rec.boot_id), 36);
	tether_pidrecord_done(&rec);
	/* one line of JSON, newline-terminated */
	size_t len;
	char *text = tu_read_file(path, &len);
	ck_assert_ptr_nonnull(text);
	ck_assert_int_eq(text[len - 1], '\n');
	ck_assert_ptr_eq(strchr(text, '\n'), text + len - 1);
	free(text);
	/* the directory was created 0755 */
	struct stat st;
	ck_assert_int_eq(stat(tu_path("run"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0755);
	/* no child may inherit the lock */
	ck_assert(fcntl(pf->lock_fd, F_GETFD) & FD_CLOEXEC);
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_int_eq(p.state, TETHER_PIDFILE_RUNNING);
	ck_assert_int_eq(p.lock_pid, getpid());
	tether_pidfile_probe_done(&p);
	ck_assert_int_eq(tether_pidfile_remove(pf), 0);
	tether_pidfile_free(pf);
	ck_assert(!tu_exists(path));
	ck_assert(!tu_exists(tu_path("run/t.pid.lock")));
	ck_assert(!tu_exists(tu_path("run/t.pid.tmp")));
}
END_TEST

START_TEST(parent_directory_is_not_created)
{
	struct tether_pidfile *pf = NULL;
	ck_assert_int_eq(tether_pidfile_acquire(tu_path("a/b/t.pid"), NULL, 0, &pf, NULL), -ENOENT);
	ck_assert(!tu_exists(tu_path("a")));
}
END_TEST

START_TEST(second_acquirer_sees_holder)
{
	const char *path = tu_path("t.pid");
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	struct tether_pidfile *pf = NULL;
	pid_t who = 0;
	int64_t t0 = now_ms();
	ck_assert_int_eq(tether_pidfile_acquire(path, tether_clock_real(), 5 * TETHER_NSEC_PER_SEC, &pf, &who), 0);
	ck_assert_int_eq(who, holder);
	/* the holder had published its record: no waiting for the deadline */
	ck_assert_int_lt(now_ms() - t0, 4000);
	ck_assert_ptr_null(pf);
}
END_TEST

START_TEST(stale_after_sigkill_is_acquired_at_once)
{
	const char *path = tu_path("t.pid");
	pid_t holder = tu_start_holder(path, false, NULL, NULL);
	kill(holder, SIGKILL);
	ck_assert(tu_wait(holder, 5000) != -1);
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_int_eq(p.state, TETHER_PIDFILE_STALE);
	tether_pidfile_probe_done(&p);
	struct tether_pidfile *pf = NULL;
	int64_t t0 = now_ms();
	ck_assert_int_eq(tether_pidfile_acquire(path, tether_clock_real(), 10 * TETHER_NSEC_PER_SEC, &pf, NULL), 1);
	ck_assert_int_lt(now_ms() - t0, 5000); /* not the 10 s contended wait */
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
}
END_TEST

static int late_publisher(void *arg)
{
	const char *path = arg;
	struct tether_pidfile *pf = NULL;
	struct tether_pidrecord rec;
	char *argv[] = {"late", NULL};
	if (tether_pidfile_acquire(path, NULL, 0, &pf, NULL) != 1)
		return 2;
	/* Publish only when told: the test holds the lock record-less. */
	char go;
	if (read(0, &go, 1) < 0)
		return 3;
	if (tether_pidrecord_init_self(&rec, argv, &real) < 0 || tether_pidfile_write(pf, &rec) < 0)
		return 4;
	pause();
	return 0;
}

/* A clock that jumps a second at every reading, and has poll wait a
 * millisecond: a wait measured on it ends after a few dozen readings. */
static int64_t jumpy_now_ns;

static int64_t jumpy_now(const struct tether_clock *c)
{
	(void)c;
	return jumpy_now_ns += TETHER_NSEC_PER_SEC;
}

static int jumpy_poll_timeout(const struct tether_clock *c, int64_t deadline)
{
	return deadline <= jumpy_now(c) ? 0 : 1;
}

static const struct tether_clock jumpy = {
	.now = jumpy_now, .wall = jumpy_now, .poll_timeout = jumpy_poll_timeout, .name = "jumpy"};

START_TEST(contended_acquire_waits_for_the_record)
{
	const char *path = tu_path("t.pid");
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	int saved = dup(0);
	dup2(p[0], 0);
	pid_t pub = tu_fork(late_publisher, (void *)path);
	dup2(saved, 0);
	close(p[0]);
	/* wait until it holds the lock */
	pid_t who = 0;
	for (int i = 0; i < 2000 && tether_pidfile_lock_holder(path, &who) != 1; i++) {
		int w = tether_pidfile_watch_open(path);
		if (w >= 0) {
			tether_pidfile_watch_wait(w, &real, tether_clock_now(&real) + 10 * TETHER_NSEC_PER_MSEC);
			close(w);
		}
	}
	ck_assert_int_eq(who, pub);
	struct tether_pidfile_probe pr;
	ck_assert_int_eq(tether_pidfile_probe(path, &pr), 0);
	ck_assert_int_eq(pr.state, TETHER_PIDFILE_STARTING);
	tether_pidfile_probe_done(&pr);
	/* an acquirer with no patience answers "held" at once */
	struct tether_pidfile *pf = NULL;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, &who), 0);
	ck_assert_int_eq(who, pub);
	/* its patience is measured on the clock it is given: a minute of a
	 * clock that runs a second per reading is over in milliseconds */
	int64_t j0 = now_ms();
	ck_assert_int_eq(tether_pidfile_acquire(path, &jumpy, 60 * TETHER_NSEC_PER_SEC, &pf, &who), 0);
	ck_assert_int_eq(who, pub);
	ck_assert_int_lt(now_ms() - j0, 15000);
	/* a patient one is woken by the record appearing */
	ck_assert_int_eq(write(p[1], "g", 1), 1);
	int64_t t0 = now_ms();
	ck_assert_int_eq(tether_pidfile_acquire(path, tether_clock_real(), 20 * TETHER_NSEC_PER_SEC, &pf, &who), 0);
	ck_assert_int_eq(who, pub);
	ck_assert_int_lt(now_ms() - t0, 15000);
	close(p[1]);
}
END_TEST

START_TEST(symlinks_are_refused)
{
	const char *path = tu_path("t.pid");
	const char *target = tu_path("target");
	tu_write_file(target, "precious\n", 9, 0644);
	ck_assert_int_eq(symlink(target, path), 0);
	struct tether_pidfile *pf = NULL;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -ELOOP);
	char *t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
	ck_assert(!tu_exists(tu_path("t.pid.lock"))); /* a failed start leaves nothing */
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidfile_read(path, &rec), -ELOOP);
	/* a symlinked lock file too */
	unlink(path);
	ck_assert_int_eq(symlink(target, tu_path("t.pid.lock")), 0);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -ELOOP);
	/* and a symlinked temp file is never written through */
	unlink(tu_path("t.pid.lock"));
	ck_assert_int_eq(symlink(target, tu_path("t.pid.tmp")), 0);
	pf = hold(path);
	t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
}
END_TEST

START_TEST(foreign_or_writable_files_are_refused)
{
	const char *path = tu_path("t.pid");
	struct tether_pidfile *pf = NULL;
	tu_write_file(path, "{}", 2, 0664);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -EPERM);
	ck_assert(!tu_exists(tu_path("t.pid.lock")));
	chmod(path, 0646);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -EPERM);
	chmod(path, 0644);
	if (geteuid() == 0) {
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -EPERM);
	}
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -EINVAL);
	rmdir(path);
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), -EINVAL);
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidfile_read(path, &rec), -EINVAL); /* and no hang */
}
END_TEST

START_TEST(parser_is_strict)
{
	struct tether_pidrecord rec;
	static const char *bad[] = {
		"", "\n", "garbage", "-1", "0", "1", "1\n", "99999999999999999999", "4194305", "12 13",
		"12x", "{}", "[]", "{\"pid\":0,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":\"12\",\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":12,\"start_time\":-5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":12,\"start_time\":5,\"boot_id\":\"short\",\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":12,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[1],\"version\":\"1\"}",
		"{\"pid\":12,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[[\"deep\"]],\"version\":\"1\"}",
		"{\"pid\":12.5,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\"}",
		"{\"pid\":12,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
		"\"started_at\":\"x\",\"argv\":[],\"version\":\"1\",\"scope\":7}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int r = tether_pidrecord_parse(bad[i], strlen(bad[i]), &rec);
		ck_assert_msg(r < 0, "accepted #%zu: %s", i, bad[i]);
	}
	ck_assert_int_eq(tether_pidrecord_parse("1234\n", 5, &rec), 0);
	ck_assert(rec.legacy);
	ck_assert_int_eq(rec.pid, 1234);
	tether_pidrecord_done(&rec);
	const char *good = "{\"pid\":12,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
			   "\"started_at\":\"2026-11-25T17:00:00Z\",\"argv\":[\"a\"],\"version\":\"1\",\"extra\":{}}\n";
	ck_assert_int_eq(tether_pidrecord_parse(good, strlen(good), &rec), 0);
	ck_assert_int_eq(rec.pid, 12);
	ck_assert_str_eq(rec.argv[0], "a");
	ck_assert_str_eq(rec.scope, ""); /* an older version's record: no scope */
	tether_pidrecord_done(&rec);
	/* PID 1: tether as a container's entrypoint (SPEC §3), a record to read
	 * like any other (stop and kill refuse to signal it, stop.c); as a
	 * legacy record ("1" above) nothing could verify it */
	const char *init = "{\"pid\":1,\"start_time\":5,\"boot_id\":\"00000000-0000-0000-0000-000000000000\","
			   "\"started_at\":\"2026-11-25T17:00:00Z\",\"argv\":[],\"version\":\"1\"}\n";
	ck_assert_int_eq(tether_pidrecord_parse(init, strlen(init), &rec), 0);
	ck_assert_int_eq(rec.pid, 1);
	ck_assert(!rec.legacy);
	tether_pidrecord_done(&rec);
	/* the scope, written and read back */
	struct tether_pidrecord mine;
	char *argv[] = {"x", NULL};
	ck_assert_int_eq(tether_pidrecord_init_self(&mine, argv, &real), 0);
	snprintf(mine.scope, sizeof mine.scope, "boot/803:1234");
	struct tether_buf b;
	tether_buf_init(&b);
	tether_pidrecord_format(&mine, &b);
	ck_assert_int_eq(tether_pidrecord_parse(b.data, b.len, &rec), 0);
	ck_assert_str_eq(rec.scope, "boot/803:1234");
	tether_pidrecord_done(&rec);
	tether_pidrecord_done(&mine);
	tether_buf_done(&b);
}
END_TEST

/* ---- G3: a path that names no file, a failed start ----------------------------------- */

START_TEST(a_path_that_names_no_file_is_refused_untouched)
{
	struct tether_pidfile *pf = NULL;
	static const char *const names[] = {"t.pid/", "fresh/t.pid/", "fresh/.", "fresh/..", "fresh//"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		ck_assert_int_eq(tether_pidfile_acquire(tu_path(names[i]), NULL, 0, &pf, NULL), -EISDIR);
		ck_assert_ptr_null(pf);
	}
	ck_assert(!tu_exists(tu_path("t.pid")));
	ck_assert(!tu_exists(tu_path("fresh")));
}
END_TEST

START_TEST(the_lock_file_is_ours_alone)
{
	/* 0600 whatever the umask: a descriptor open for reading is all a
	 * flock() needs */
	mode_t old = umask(0);
	struct tether_pidfile *pf = hold(tu_path("t.pid"));
	umask(old);
	struct stat st;
	ck_assert_int_eq(stat(tu_path("t.pid.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
	/* one an older version left readable is made ours when locked */
	tu_write_file(tu_path("u.pid.lock"), "", 0, 0644);
	pf = hold(tu_path("u.pid"));
	ck_assert_int_eq(stat(tu_path("u.pid.lock"), &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
}
END_TEST

static int flock_as_nobody(void *arg)
{
	const char *lock = arg;
	if (setgid(65534) < 0 || setuid(65534) < 0)
		return 2;
	int fd = open(lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 3;
	for (;;)
		pause();
}

START_TEST(a_lock_held_by_another_user_is_replaced)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP a_lock_held_by_another_user_is_replaced: needs root to act as another user\n");
		return;
	}
	/* a lock file an older tether left readable, and another user holds
	 * it: never a supervisor of ours, so it is replaced, not waited for */
	chmod(tu_path(""), 0755);
	const char *lock = tu_path("t.pid.lock");
	tu_write_file(lock, "", 0, 0644);
	struct stat before, after;
	ck_assert_int_eq(stat(lock, &before), 0);
	pid_t squatter = tu_fork(flock_as_nobody, (void *)lock);
	/* its lock taken: our own try fails */
	int probe = open(lock, O_RDONLY | O_CLOEXEC);
	for (int i = 0; i < 5000 && flock(probe, LOCK_EX | LOCK_NB) == 0; i++) {
		flock(probe, LOCK_UN);
		ck_assert_msg(tu_alive(squatter), "the squatter could not take the lock");
		poll(NULL, 0, 1);
	}
	close(probe);
	struct tether_pidfile *pf = NULL;
	pid_t holder = -1;
	int64_t t0 = now_ms();
	ck_assert_int_eq(tether_pidfile_acquire(tu_path("t.pid"), tether_clock_real(), 5 * TETHER_NSEC_PER_SEC, &pf, &holder),
			 1);
	ck_assert_int_lt(now_ms() - t0, 2000); /* not after the contended wait */
	ck_assert_int_eq(stat(lock, &after), 0);
	ck_assert(after.st_ino != before.st_ino);
	ck_assert_int_eq(after.st_mode & 0777, 0600);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
	kill(squatter, SIGKILL);
	tu_wait(squatter, 5000);
}
END_TEST

/* A process of ours listening under the pidfile's key as itself: what a
 * supervisor whose files are gone looks like (ctlname.h). */
static int listen_under_key(void *arg)
{
	const char *key = arg;
	char name[TETHER_CTLNAME_MAX + 1];
	struct tether_procstat st;
	struct sockaddr_un sa;
	if (tether_proc_read_stat(getpid(), &st) < 0 || tether_ctlname_make(key, getpid(), st.start_time, name, sizeof name) < 0)
		return 2;
	socklen_t len = tether_ctlname_addr(name, &sa);
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, len) < 0 || listen(s, 8) < 0)
		return 3;
	for (;;) {
		int c = accept(s, NULL, NULL);
		if (c >= 0)
			close(c);
	}
}

static pid_t start_listener(const char *pidfile, char key[TETHER_CTLNAME_KEY_LEN + 1])
{
	ck_assert_int_eq(tether_ctlname_key(pidfile, key), 0);
	pid_t pid = tu_fork(listen_under_key, key);
	char k2[TETHER_CTLNAME_KEY_LEN + 1];
	struct tether_ctlname_found f;
	snprintf(k2, sizeof k2, "%s", key);
	for (int i = 0; i < 5000 && tether_ctlname_find(k2, pid, 0, &f) != 1; i++)
		poll(NULL, 0, 1);
	return pid;
}

START_TEST(an_incumbent_without_files_is_found_and_nothing_is_left)
{
	/* the directory is gone, so is the lock file: an acquirer creates
	 * both, locks uncontended — and finds the incumbent by its socket.
	 * It yields (0, the incumbent's pid) and takes back what it made. */
	static char key[TETHER_CTLNAME_KEY_LEN + 1];
	const char *path = tu_path("fresh/t.pid");
	pid_t incumbent = start_listener(path, key);
	struct tether_pidfile *pf = NULL;
	pid_t holder = 0;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, &holder), 0);
	ck_assert_int_eq(holder, incumbent);
	ck_assert_ptr_null(pf);
	ck_assert(!tu_exists(tu_path("fresh")));
	/* the probe says running, restoring, with the incumbent's identity */
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_int_eq(p.state, TETHER_PIDFILE_RUNNING);
	ck_assert(p.restoring);
	ck_assert_int_eq(p.rec.pid, incumbent);
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(incumbent, &st), 0);
	ck_assert_uint_eq(p.rec.start_time, st.start_time);
	tether_pidfile_probe_done(&p);
	/* gone: the pidfile is free again, and a directory that existed
	 * stays when the acquirer did not create it */
	kill(incumbent, SIGKILL);
	tu_wait(incumbent, 5000);
	ck_assert_int_eq(mkdir(tu_path("fresh"), 0755), 0);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, &holder), 1);
	ck_assert(!pf->created_dir);
	tether_pidfile_remove(pf);
	ck_assert_int_eq(tether_pidfile_remove_dir(pf), 0);
	tether_pidfile_free(pf);
	ck_assert(tu_exists(tu_path("fresh")));
	/* created by the acquirer: a failed start removes it */
	ck_assert_int_eq(rmdir(tu_path("fresh")), 0);
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, &holder), 1);
	ck_assert(pf->created_dir);
	tether_pidfile_remove(pf);
	ck_assert_int_eq(tether_pidfile_remove_dir(pf), 0);
	tether_pidfile_free(pf);
	ck_assert(!tu_exists(tu_path("fresh")));
}
END_TEST

/* ---- G1 under a removed or renamed directory: the holder restores ------------------ */

static void assert_ours(const char *path, struct tether_pidfile *pf)
{
	struct tether_pidfile_probe p;
	ck_assert_int_eq(tether_pidfile_probe(path, &p), 0);
	ck_assert_msg(p.state == TETHER_PIDFILE_RUNNING && !p.restoring, "state %s (%s)",
		      tether_pidfile_state_name(p.state), p.why);
	ck_assert_int_eq(p.lock_pid, getpid());
	tether_pidfile_probe_done(&p);
	ck_assert_int_eq(tether_pidfile_check(pf), 0);
}

static struct tether_pidrecord my_record(void)
{
	struct tether_pidrecord rec;
	char *argv[] = {"tether", "run", "--", "worker", NULL};
	ck_assert_int_eq(tether_pidrecord_init_self(&rec, argv, &real), 0);
	return rec;
}

START_TEST(the_holder_restores_a_removed_directory)
{
	const char *path = tu_path("state/t.pid");
	struct tether_pidfile *pf = hold(path);
	struct tether_pidrecord rec = my_record();
	int fd = pf->lock_fd;
	pid_t holder = 0;
	ck_assert_int_eq(tether_pidfile_check(pf), 0);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1); /* nothing to do */
	/* rm -rf state */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(unlink(tu_path("state/t.pid.lock")), 0);
	ck_assert_int_eq(rmdir(tu_path("state")), 0);
	ck_assert_int_eq(tether_pidfile_check(pf),
			 TETHER_PIDFILE_LOST_LOCK | TETHER_PIDFILE_LOST_RECORD | TETHER_PIDFILE_LOST_DIR);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1);
	assert_ours(path, pf);
	/* the lock keeps its descriptor number (proclock.c looks at fd 3 first) */
	ck_assert_int_eq(pf->lock_fd, fd);
	struct stat a, b;
	ck_assert_int_eq(fstat(pf->lock_fd, &a), 0);
	ck_assert_int_eq(stat(tu_path("state/t.pid.lock"), &b), 0);
	ck_assert(a.st_ino == b.st_ino);
	ck_assert_int_eq(b.st_mode & 0777, 0600);
	/* and nobody else can take it */
	pid_t who = 0;
	struct tether_pidfile *other = NULL;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &other, &who), 0);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
	tether_pidrecord_done(&rec);
}
END_TEST

START_TEST(the_holder_restores_a_renamed_directory_and_clears_the_old_names)
{
	const char *path = tu_path("state/t.pid");
	struct tether_pidfile *pf = hold(path);
	struct tether_pidrecord rec = my_record();
	pid_t holder = 0;
	ck_assert_int_eq(rename(tu_path("state"), tu_path("state.old")), 0);
	ck_assert(tether_pidfile_check(pf) & TETHER_PIDFILE_LOST_DIR);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1);
	assert_ours(path, pf);
	/* state.old no longer names a live supervisor */
	ck_assert(!tu_exists(tu_path("state.old/t.pid")));
	ck_assert(!tu_exists(tu_path("state.old/t.pid.lock")));
	/* what the operator put there is left alone */
	tu_write_file(tu_path("state.old/t.pid"), "1234\n", 5, 0644);
	ck_assert_int_eq(tether_pidfile_remove(pf), 0);
	ck_assert(tu_exists(tu_path("state.old/t.pid")));
	ck_assert(!tu_exists(path));
	tether_pidfile_free(pf);
	tether_pidrecord_done(&rec);
}
END_TEST

START_TEST(the_holder_restores_removed_files)
{
	const char *path = tu_path("state/t.pid");
	struct tether_pidfile *pf = hold(path);
	struct tether_pidrecord rec = my_record();
	pid_t holder = 0;
	/* the record alone */
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(tether_pidfile_check(pf), TETHER_PIDFILE_LOST_RECORD);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1);
	assert_ours(path, pf);
	/* the lock file alone */
	ck_assert_int_eq(unlink(tu_path("state/t.pid.lock")), 0);
	ck_assert_int_eq(tether_pidfile_check(pf), TETHER_PIDFILE_LOST_LOCK);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1);
	assert_ours(path, pf);
	/* a record replaced by someone else's (another file in its place) is
	 * replaced back */
	ck_assert_int_eq(unlink(path), 0);
	tu_write_file(path, "1234\n", 5, 0644);
	ck_assert_int_eq(tether_pidfile_check(pf), TETHER_PIDFILE_LOST_RECORD);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 1);
	assert_ours(path, pf);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
	tether_pidrecord_done(&rec);
}
END_TEST

struct newcomer {
	const char *path;
	int go_fd;     /* a byte: publish a record */
	int ready_fd;
};

/* Takes the new lock file at the path (its directory restored by hand) the
 * way an acquirer that did not see the incumbent would, then publishes on
 * command. */
static int newcomer_main(void *arg)
{
	struct newcomer *n = arg;
	struct tether_pidfile *pf = NULL;
	if (tether_pidfile_acquire(n->path, NULL, 0, &pf, NULL) != 1)
		return 2;
	if (write(n->ready_fd, "r", 1) != 1)
		return 3;
	char c;
	if (read(n->go_fd, &c, 1) != 1)
		return 4;
	struct tether_pidrecord rec;
	struct tether_clock clock;
	char *argv[] = {"newcomer", NULL};
	tether_clock_init_real(&clock);
	if (tether_pidrecord_init_self(&rec, argv, &clock) < 0 || tether_pidfile_write(pf, &rec) < 0)
		return 5;
	if (write(n->ready_fd, "p", 1) != 1)
		return 6;
	for (;;)
		pause();
}

START_TEST(a_busy_lock_waits_and_a_published_one_wins)
{
	const char *path = tu_path("state/t.pid");
	struct tether_pidfile *pf = hold(path);
	struct tether_pidrecord rec = my_record();
	pid_t holder = 0;
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(unlink(tu_path("state/t.pid.lock")), 0);
	/* a newcomer that cannot see us (we do not listen here) */
	int go[2], ready[2];
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	static struct newcomer n;
	n = (struct newcomer){path, go[0], ready[1]};
	pid_t nc = tu_fork(newcomer_main, &n);
	char c;
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	/* locked, not published: not now */
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 0);
	ck_assert_int_eq(tether_pidfile_check(pf) & TETHER_PIDFILE_LOST_LOCK, TETHER_PIDFILE_LOST_LOCK);
	/* published: it won */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	ck_assert_int_eq(tether_pidfile_restore(pf, &rec, &holder), 2);
	ck_assert_int_eq(holder, nc);
	/* ours to remove is nothing at the path: the newcomer's files stay */
	ck_assert_int_eq(tether_pidfile_remove(pf), 0);
	ck_assert(tu_exists(path));
	ck_assert(tu_exists(tu_path("state/t.pid.lock")));
	tether_pidfile_free(pf);
	tether_pidrecord_done(&rec);
	kill(nc, SIGKILL);
	tu_wait(nc, 5000);
	close(go[0]);
	close(go[1]);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(huge_and_deep_files_are_bounded)
{
	const char *path = tu_path("t.pid");
	size_t n = 20u << 20;
	char *big = malloc(n);
	memset(big, '[', n);
	tu_write_file(path, big, n, 0644);
	free(big);
	struct tether_pidrecord rec;
	ck_assert_int_eq(tether_pidfile_read(path, &rec), -EFBIG);
	tu_write_file(path, "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]", 42, 0644);
	ck_assert_int_lt(tether_pidfile_read(path, &rec), 0);
	unlink(path);
	ck_assert_int_eq(symlink("/dev/zero", path), 0);
	ck_assert_int_eq(tether_pidfile_read(path, &rec), -ELOOP);
}
END_TEST

/* ---- G1: exactly one winner ----------------------------------------------- */

static const char *race_path;
static int race_go_fd, race_report_fd, race_release_fd;
/* the parent's ends, which each racer must close or the pipes never see EOF */
static int race_close_fds[3];

static int racer(void *arg)
{
	(void)arg;
	char c;
	for (int i = 0; i < 3; i++)
		close(race_close_fds[i]);
	/* the barrier: everyone blocks until the parent closes the pipe */
	if (read(race_go_fd, &c, 1) != 0)
		return 10;
	struct tether_pidfile *pf = NULL;
	pid_t who = 0;
	int r = tether_pidfile_acquire(race_path, NULL, 0, &pf, &who);
	char msg[32];
	int len = snprintf(msg, sizeof msg, "%c%d\n", r == 1 ? 'W' : r == 0 ? 'L' : 'E', r == 1 ? getpid() : who);
	if (r == 1) {
		struct tether_pidrecord rec;
		char *argv[] = {"racer", NULL};
		if (tether_pidrecord_init_self(&rec, argv, &real) < 0 || tether_pidfile_write(pf, &rec) < 0)
			return 11;
		tether_pidrecord_done(&rec);
	}
	if (write(race_report_fd, msg, (size_t)len) != len)
		return 12;
	if (r == 1) {
		/* hold until every racer has reported */
		if (read(race_release_fd, &c, 1) < 0)
			return 13;
		tether_pidfile_remove(pf);
		tether_pidfile_free(pf);
	}
	return 0;
}

START_TEST(hundred_racers_one_winner)
{
	enum { RACERS = 100, ROUNDS = 200 };
	race_path = tu_path("race.pid");
	for (int round = 0; round < ROUNDS; round++) {
		int go[2], rep[2], rel[2];
		ck_assert_int_eq(pipe(go), 0);
		ck_assert_int_eq(pipe(rep), 0);
		ck_assert_int_eq(pipe(rel), 0);
		race_go_fd = go[0];
		race_report_fd = rep[1];
		race_release_fd = rel[0];
		race_close_fds[0] = go[1];
		race_close_fds[1] = rep[0];
		race_close_fds[2] = rel[1];
		pid_t pids[RACERS];
		for (int i = 0; i < RACERS; i++)
			pids[i] = tu_fork(racer, NULL);
		close(go[0]);
		close(rep[1]);
		close(rel[0]);
		close(go[1]); /* go */
		FILE *f = fdopen(rep[0], "r");
		char line[64];
		int winners = 0, losers = 0;
		pid_t winner = 0;
		pid_t seen[RACERS];
		int nseen = 0;
		while (fgets(line, sizeof line, f)) {
			if (line[0] == 'W') {
				winners++;
				winner = atoi(line + 1);
			} else if (line[0] == 'L') {
				losers++;
				seen[nseen++] = atoi(line + 1);
			} else {
				ck_abort_msg("round %d: acquire failed: %s", round, line);
			}
			if (winners + losers == RACERS)
				break;
		}
		ck_assert_msg(winners == 1, "round %d: %d winners", round, winners);
		ck_assert_int_eq(losers, RACERS - 1);
		for (int i = 0; i < nseen; i++)
			ck_assert_msg(seen[i] == winner || seen[i] == 0, "round %d: loser saw holder %d, winner %d",
				      round, seen[i], winner);
		close(rel[1]); /* release the winner */
		fclose(f);
		for (int i = 0; i < RACERS; i++) {
			int st = tu_wait(pids[i], 10000);
			ck_assert_msg(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "round %d: racer status %d",
				      round, st);
		}
		ck_assert(!tu_exists(race_path));
	}
}
END_TEST

/* Mutual exclusion under churn: acquire/release as fast as possible from
 * several processes; whoever holds the lock creates an O_EXCL marker, which
 * fails if anyone else holds it at the same time (the release-unlinks-the-lock-
 * file race that the inode check after flock closes). */
static int churner(void *arg)
{
	(void)arg;
	const char *marker = tu_path("held");
	for (int i = 0; i < 400; i++) {
		struct tether_pidfile *pf = NULL;
		int r = tether_pidfile_acquire(race_path, NULL, 0, &pf, NULL);
		if (r < 0)
			return 20;
		if (r == 0)
			continue;
		int fd = open(marker, O_CREAT | O_EXCL | O_WRONLY, 0644);
		if (fd < 0)
			return 21; /* two holders at once */
		close(fd);
		unlink(marker);
		tether_pidfile_remove(pf);
		tether_pidfile_free(pf);
	}
	return 0;
}

START_TEST(churn_keeps_mutual_exclusion)
{
	race_path = tu_path("churn.pid");
	pid_t pids[6];
	for (int i = 0; i < 6; i++)
		pids[i] = tu_fork(churner, NULL);
	for (int i = 0; i < 6; i++) {
		int st = tu_wait(pids[i], 60000);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "churner exit %d", WEXITSTATUS(st));
	}
}
END_TEST

/* ---- G3: absent or complete under faults at every call ---------------------- */
#ifdef TETHER_FAULT_INJECTION

static uint64_t fault_k, fault_calls;
static int fault_errno_value;
static bool fault_sigkill;

static int kth_call(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	if (++fault_calls != fault_k)
		return 0;
	if (fault_sigkill)
		raise(SIGKILL);
	*failinfo = (void *)(intptr_t)fault_errno_value;
	return 1;
}

/* Child: (optionally an old record first), then acquire + write a new one
 * with the fault armed; release on failure like a supervisor would. Exit 0 =
 * wrote it, 1 = failed cleanly, 2 = the fault never fired. */
static const char *fault_point;
static bool fault_with_old_record;

static int faulted_writer(void *arg)
{
	const char *path = arg;
	struct tether_pidfile *pf = NULL;
	struct tether_pidrecord rec;
	char *argv[] = {"faulted", "--", "x", NULL};
	if (fault_with_old_record) {
		/* a previous run's record, as a SIGKILLed supervisor leaves it */
		pf = hold(path);
		tether_pidfile_free(pf);
		pf = NULL;
	}
	fiu_init(0);
	fault_calls = 0;
	fiu_enable_external(fault_point, 1, NULL, 0, kth_call);
	int r = tether_pidfile_acquire(path, NULL, 0, &pf, NULL);
	if (r == 1) {
		/* the faults hit every open/read of the process, /proc included */
		r = tether_pidrecord_init_self(&rec, argv, &real);
		if (r == 0)
			r = tether_pidfile_write(pf, &rec);
		tether_pidrecord_done(&rec);
		if (r < 0) {
			fiu_disable(fault_point);
			tether_pidfile_remove(pf);
			tether_pidfile_free(pf);
		}
	}
	fiu_disable(fault_point);
	if (fault_calls < fault_k)
		return 2;
	return r == 0 ? 0 : 1;
}

static void check_absent_or_complete(const char *path, pid_t writer, bool clean_failure, const char *what)
{
	struct stat st;
	if (lstat(path, &st) == 0) {
		struct tether_pidrecord rec;
		int r = tether_pidfile_read(path, &rec);
		ck_assert_msg(r == 0, "%s: pidfile present but unreadable (%d)", what, r);
		ck_assert_msg(rec.argv && rec.argv[0], "%s: record without argv", what);
		/* the new record, or (only when there was one) the old one */
		ck_assert_msg(rec.pid == writer || (fault_with_old_record && strcmp(rec.argv[0], "tether") == 0),
			      "%s: record names pid %d, writer was %d", what, rec.pid, writer);
		tether_pidrecord_done(&rec);
	}
	if (clean_failure && !fault_with_old_record) {
		/* A failed start leaves nothing behind. Only the lock's holder may
		 * remove the lock file (unlinking one that another process has
		 * locked would let a third lock a new one), so an acquirer that
		 * failed on its way to the lock leaves the empty file. */
		bool before_lock = strcmp(fault_point, "tether/sys/open") == 0 ||
				   strcmp(fault_point, "tether/sys/fstat") == 0 ||
				   strcmp(fault_point, "tether/sys/flock") == 0 ||
				   strcmp(fault_point, "tether/sys/stat") == 0 ||
				   strcmp(fault_point, "tether/sys/mkdir") == 0;
		ck_assert_msg(!tu_exists(tu_path("f.pid.tmp")), "%s: temp file left", what);
		ck_assert_msg(!tu_exists(path), "%s: record left", what);
		if (!before_lock)
			ck_assert_msg(!tu_exists(tu_path("f.pid.lock")), "%s: lock file left", what);
	}
	/* the lock is free: a new acquirer gets it at once */
	struct tether_pidfile *pf = NULL;
	ck_assert_msg(tether_pidfile_acquire(path, NULL, 0, &pf, NULL) == 1, "%s: lock not free", what);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
}

static void clean_slate(const char *path)
{
	struct tether_pidfile *pf = NULL;
	ck_assert_int_eq(tether_pidfile_acquire(path, NULL, 0, &pf, NULL), 1);
	tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
}

static void enumerate(const char *point, int err, bool sigkill, bool old_record)
{
	const char *path = tu_path("f.pid");
	clean_slate(path);
	fault_point = point;
	fault_errno_value = err;
	fault_sigkill = sigkill;
	fault_with_old_record = old_record;
	int fired = 0;
	for (fault_k = 1; fault_k < 200; fault_k++) {
		pid_t pid = tu_fork(faulted_writer, (void *)path);
		int st = tu_wait(pid, 10000);
		char what[160];
		snprintf(what, sizeof what, "%s errno %d k=%llu%s%s", point, err, (unsigned long long)fault_k,
			 sigkill ? " SIGKILL" : "", old_record ? " (old record)" : "");
		ck_assert_msg(st != -1, "%s: hung", what);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 2)
			break; /* the k-th call never happened: every call was covered */
		ck_assert_msg((WIFSIGNALED(st) && sigkill) || (WIFEXITED(st) && WEXITSTATUS(st) <= 1),
			      "%s: writer status %d", what, st);
		fired++;
		check_absent_or_complete(path, pid, WIFEXITED(st) && WEXITSTATUS(st) == 1, what);
		clean_slate(path);
	}
	ck_assert_msg(fault_k < 200, "%s: the fault kept firing", point);
	/* every point below is reached at least once by acquire+write */
	ck_assert_msg(fired > 0, "%s was never reached", point);
}

static const char *const io_points[] = {
	"tether/sys/open", "tether/sys/write", "tether/sys/close", "tether/sys/rename",
	"tether/sys/unlink", "tether/sys/flock", "tether/sys/fstat", "tether/sys/stat", "tether/sys/mkdir",
};

START_TEST(faults_enospc_eio_eintr)
{
	static const int errs[] = {ENOSPC, EIO, EINTR};
	for (size_t p = 0; p < sizeof io_points / sizeof io_points[0]; p++)
		for (size_t e = 0; e < 3; e++)
			enumerate(io_points[p], errs[e], false, _i == 1);
}
END_TEST

START_TEST(sigkill_at_every_call)
{
	for (size_t p = 0; p < sizeof io_points / sizeof io_points[0]; p++)
		enumerate(io_points[p], 0, true, _i == 1);
}
END_TEST

START_TEST(eintr_is_transparent)
{
	/* an interrupted call is retried: the write succeeds */
	const char *path = tu_path("f.pid");
	fault_point = "tether/sys/write";
	fault_errno_value = EINTR;
	fault_sigkill = false;
	fault_with_old_record = false;
	fault_k = 1;
	pid_t pid = tu_fork(faulted_writer, (void *)path);
	int st = tu_wait(pid, 10000);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "EINTR once made the write fail (%d)", st);
}
END_TEST
#endif

/* ---- G9: a contended acquire under calls that keep failing --------------------------- */
#ifdef TETHER_FAULT_INJECTION

/* A holder that locks and never publishes its record (a supervisor stuck
 * in its start, or one whose record cannot be read): until its life pipe
 * (stdin) closes. */
static int silent_holder(void *arg)
{
	struct tether_pidfile *pf = NULL;
	if (tether_pidfile_acquire(arg, NULL, 0, &pf, NULL) != 1)
		return 1;
	if (write(1, "l", 1) != 1)
		return 2;
	char c;
	while (read(0, &c, 1) > 0)
		;
	tether_pidfile_free(pf);
	return 0;
}

struct holder {
	pid_t pid;
	int life, locked;
};

static void start_silent_holder(const char *path, struct holder *h)
{
	int life[2], locked[2];
	ck_assert_int_eq(pipe2(life, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(locked, O_CLOEXEC), 0);
	int saved_in = dup(0), saved_out = dup(1);
	dup2(life[0], 0);
	dup2(locked[1], 1);
	h->pid = tu_fork(silent_holder, (void *)path);
	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	close(saved_out);
	close(life[0]);
	close(locked[1]);
	char c;
	ck_assert_int_eq(read(locked[0], &c, 1), 1);
	close(locked[0]);
	h->life = life[1];
}

static void end_holder(struct holder *h)
{
	close(h->life);
	tu_wait(h->pid, 5000);
}

/* tether_pidfile_acquire with 500 ms of patience on the real clock: returns
 * its answer; *ret_ms how long it took. */
static int acquire_500ms(const char *path, pid_t *ret_holder, int64_t *ret_ms)
{
	struct tether_pidfile *pf = NULL;
	int64_t t0 = now_ms();
	int r = tether_pidfile_acquire(path, &real, 500 * TETHER_NSEC_PER_MSEC, &pf, ret_holder);
	*ret_ms = now_ms() - t0;
	if (r == 1) {
		tether_pidfile_remove(pf);
		tether_pidfile_free(pf);
	}
	return r;
}

START_TEST(g9_contended_acquire_is_paced)
{
	/* B: each pass opens and closes the lock file and reads the record,
	 * which wakes the directory's watch at once: a holder that never
	 * publishes had the acquirer make thousands of passes (its flock a
	 * call each). Paced, 500 ms take a few dozen. */
	const char *path = tu_path("t.pid");
	struct holder h;
	start_silent_holder(path, &h);
	tu_fault_arm("tether/sys/flock", EIO, UINT_MAX, 0, TU_FAULT_SELF); /* counts only */
	pid_t who = 0;
	int64_t took;
	ck_assert_int_eq(acquire_500ms(path, &who, &took), 0);
	unsigned passes = tu_fault_calls();
	ck_assert_int_eq(who, h.pid);
	ck_assert_msg(took >= 500 && took < 2500, "took %lld ms", (long long)took);
	ck_assert_msg(passes <= 30, "%u passes (flock calls) in 500 ms", passes);
	end_holder(&h);
}
END_TEST

START_TEST(g9_contended_acquire_with_reads_failing)
{
	/* B: the record, /proc/locks and the watch's events cannot be read
	 * (EIO, EINTR, EAGAIN): nothing can ever say "published", and the
	 * events stay queued. The passes are paced all the same: 35,000 reads
	 * at EIO, 8 M at EINTR, before. */
	static const int errs[] = {EIO, EINTR, EAGAIN};
	int err = errs[_i];
	const char *path = tu_path("t.pid");
	struct holder h;
	start_silent_holder(path, &h);
	tu_fault_arm("tether/sys/read", err, 1, 0, TU_FAULT_SELF);
	pid_t who = 0;
	int64_t took;
	int r = acquire_500ms(path, &who, &took);
	unsigned reads = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_msg(took >= 500 && took < 2500, "took %lld ms", (long long)took);
	/* a few dozen passes, each a handful of reads (x16 at EINTR) */
	ck_assert_msg(reads <= (err == EINTR ? 16u : 1u) * 400, "%u reads in 500 ms (%s)", reads, strerror(err));
	end_holder(&h);
}
END_TEST

START_TEST(g9_flock_busy_with_nobody_holding)
{
	/* B: flock failing EAGAIN (= busy) for a lock nobody holds: no record
	 * will ever come; the passes are paced until the patience ends, and
	 * the answer is "busy", with no holder. */
	const char *path = tu_path("t.pid");
	tu_fault_arm("tether/sys/flock", EAGAIN, 1, 0, TU_FAULT_SELF);
	pid_t who = -1;
	int64_t took;
	int r = acquire_500ms(path, &who, &took);
	unsigned passes = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(who, 0);
	ck_assert_msg(took >= 500 && took < 2500, "took %lld ms", (long long)took);
	ck_assert_msg(passes <= 30, "%u passes (flock calls) in 500 ms", passes);
}
END_TEST

START_TEST(g9_contended_acquire_with_poll_failing)
{
	/* B/F5: poll failing (EINTR: no event, at once; ENOMEM): a wait that
	 * cannot be made gives up as at the deadline ("busy"), instead of
	 * polling at full speed until it. */
	int err = _i ? ENOMEM : EINTR;
	const char *path = tu_path("t.pid");
	struct holder h;
	start_silent_holder(path, &h);
	tu_fault_arm("tether/sys/poll", err, 1, 0, TU_FAULT_SELF);
	pid_t who = 0;
	int64_t took;
	int r = acquire_500ms(path, &who, &took);
	unsigned polls = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(who, h.pid);
	ck_assert_msg(took < 2500, "took %lld ms", (long long)took);
	ck_assert_msg(polls <= 50, "%u polls", polls);
	end_holder(&h);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("pidfile");
	TCase *tc = tcase_create("lock-and-record");
	tcase_add_checked_fixture(tc, setup, tu_teardown);
	tcase_add_test(tc, record_round_trip_and_release);
	tcase_add_test(tc, parent_directory_is_not_created);
	tcase_add_test(tc, second_acquirer_sees_holder);
	tcase_add_test(tc, stale_after_sigkill_is_acquired_at_once);
	tcase_add_test(tc, contended_acquire_waits_for_the_record);
	tcase_add_test(tc, symlinks_are_refused);
	tcase_add_test(tc, foreign_or_writable_files_are_refused);
	tcase_add_test(tc, parser_is_strict);
	tcase_add_test(tc, huge_and_deep_files_are_bounded);
	tcase_add_test(tc, a_path_that_names_no_file_is_refused_untouched);
	tcase_add_test(tc, the_lock_file_is_ours_alone);
	tcase_add_test(tc, a_lock_held_by_another_user_is_replaced);
	tcase_add_test(tc, an_incumbent_without_files_is_found_and_nothing_is_left);
	tcase_add_test(tc, the_holder_restores_a_removed_directory);
	tcase_add_test(tc, the_holder_restores_a_renamed_directory_and_clears_the_old_names);
	tcase_add_test(tc, the_holder_restores_removed_files);
	tcase_add_test(tc, a_busy_lock_waits_and_a_published_one_wins);
	suite_add_tcase(s, tc);

	TCase *race = tcase_create("race");
	tcase_add_checked_fixture(race, setup, tu_teardown);
	tcase_set_timeout(race, 240);
	tcase_add_test(race, hundred_racers_one_winner);
	tcase_add_test(race, churn_keeps_mutual_exclusion);
	suite_add_tcase(s, race);

#ifdef TETHER_FAULT_INJECTION
	TCase *faults = tcase_create("faults");
	tcase_add_checked_fixture(faults, setup, tu_teardown);
	tcase_set_timeout(faults, 240);
	tcase_add_loop_test(faults, faults_enospc_eio_eintr, 0, 2);
	tcase_add_loop_test(faults, sigkill_at_every_call, 0, 2);
	tcase_add_test(faults, eintr_is_transparent);
	tcase_add_test(faults, g9_contended_acquire_is_paced);
	tcase_add_loop_test(faults, g9_contended_acquire_with_reads_failing, 0, 3);
	tcase_add_test(faults, g9_flock_busy_with_nobody_holding);
	tcase_add_loop_test(faults, g9_contended_acquire_with_poll_failing, 0, 2);
	suite_add_tcase(s, faults);
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
