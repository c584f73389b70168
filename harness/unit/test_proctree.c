/* SPDX-License-Identifier: MIT */
/* test_proctree.c — verified signalling (src/proctree.c): pidrefs refuse
 * what must never be signalled and reach exactly their process; group
 * signalling only with a live leader; trees collected through /proc (setsid'd
 * and double-forked descendants included) and killed completely, even while
 * they fork.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "proc.h"
#include "proctest.h"
#include "proctree.h"
#include "testutil.h"

#define MS TETHER_NSEC_PER_MSEC

static struct tether_clock clk;

static int64_t now_ns(void)
{
	return tether_clock_now(&clk);
}

static void setup(void)
{
	pt_setup();
	tether_clock_init_real(&clk);
}

/* ---- a tree of processes ------------------------------------------------------------ */

/* Every member of a test tree idles on the lifeline: a pipe whose only write
 * end the test holds. When the test process ends (even by a failed assert)
 * the read end reaches end-of-file and they exit: no PDEATHSIG, which would
 * kill an orphan for us and hide an escape from tree_kill. */
enum role {
	ROLE_ROOT,
	ROLE_C1,   /* child of root */
	ROLE_G1,   /* child of C1 */
	ROLE_C2,   /* child of root; forks X, which forks D and exits */
	ROLE_D,    /* setsid'd, double-forked: re-parented to root (a subreaper) */
	ROLE_C3,   /* child of root, stays alive */
	ROLE_Y,    /* child of C3, setsid'd */
	ROLE_READY,
	ROLE_N,
};

struct report {
	int role;
	pid_t pid;
};

struct tree_arg {
	int life[2];
	int rep[2];
};

static struct tree_arg *cur;

static void report(int role)
{
	struct report r = {role, getpid()};
	if (write(cur->rep[1], &r, sizeof r) != sizeof r)
		_exit(3);
}

static __attribute__((noreturn)) void idle(void)
{
	char c;
	while (read(cur->life[0], &c, 1) > 0)
		;
	_exit(0);
}

static pid_t fork_or_die(void)
{
	pid_t p = fork();
	if (p < 0)
		_exit(4);
	return p;
}

static int tree_root(void *arg)
{
	cur = arg;
	close(cur->life[1]);
	close(cur->rep[0]);
	/* a subreaper, as a supervisor is: orphans below it come back to it */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		_exit(5);
	report(ROLE_ROOT);
	if (fork_or_die() == 0) {
		report(ROLE_C1);
		if (fork_or_die() == 0) {
			report(ROLE_G1);
			idle();
		}
		idle();
	}
	if (fork_or_die() == 0) {
		pid_t x = fork_or_die();
		if (x == 0) {
			if (fork_or_die() == 0) {
				setsid();
				report(ROLE_D);
				idle();
			}
			_exit(0);
		}
		/* X is gone once we reaped it, and D was re-parented before that */
		if (waitpid(x, NULL, 0) != x)
			_exit(6);
		report(ROLE_C2);
		idle();
	}
	if (fork_or_die() == 0) {
		report(ROLE_C3);
		if (fork_or_die() == 0) {
			setsid();
			report(ROLE_Y);
			idle();
		}
		idle();
	}
	idle();
}

struct test_tree {
	struct tree_arg arg;
	pid_t pid[ROLE_N];
	int pidfd[ROLE_N];
};

static void start_tree(struct test_tree *t)
{
	memset(t, 0, sizeof *t);
	ck_assert_int_eq(pipe2(t->arg.life, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(t->arg.rep, O_CLOEXEC), 0);
	tu_fork(tree_root, &t->arg);
	close(t->arg.rep[1]);
	int have = 0;
	while (have < ROLE_READY) {
		struct report r;
		ck_assert_int_eq(read(t->arg.rep[0], &r, sizeof r), sizeof r);
		ck_assert(r.role >= 0 && r.role < ROLE_READY && t->pid[r.role] == 0);
		t->pid[r.role] = r.pid;
		have++;
	}
	close(t->arg.rep[0]);
	for (int i = 0; i < ROLE_READY; i++) {
		t->pidfd[i] = pidfd_open(t->pid[i], 0);
		ck_assert_int_ge(t->pidfd[i], 0);
		pt_track(t->pid[i]);
	}
	/* the tree's shape, as the kernel sees it */
	struct tether_procstat st;
	ck_assert_int_eq(tether_proc_read_stat(t->pid[ROLE_D], &st), 0);
	ck_assert_int_eq(st.ppid, t->pid[ROLE_ROOT]);
	ck_assert_int_eq(st.sid, t->pid[ROLE_D]);
	ck_assert_int_eq(tether_proc_read_stat(t->pid[ROLE_Y], &st), 0);
	ck_assert_int_eq(st.ppid, t->pid[ROLE_C3]);
	ck_assert_int_eq(st.sid, t->pid[ROLE_Y]);
}

static void end_tree(struct test_tree *t)
{
	for (int i = 0; i < ROLE_READY; i++) {
		pidfd_send_signal(t->pidfd[i], SIGKILL, NULL, 0);
		close(t->pidfd[i]);
	}
	close(t->arg.life[0]);
	close(t->arg.life[1]);
	waitpid(t->pid[ROLE_ROOT], NULL, 0);
}

static void assert_tree_is(const struct tether_tree *tree, const pid_t *want, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(tether_tree_has(tree, want[i]), "pid %d missing from the tree", (int)want[i]);
	ck_assert_uint_eq(tree->n, n);
	for (size_t i = 0; i < tree->n; i++) {
		ck_assert_int_ge(tree->procs[i].pidfd, 0);
		ck_assert_uint_eq(tree->procs[i].start_time, pt_start_time(tree->procs[i].pid));
	}
}

/* ---- pidrefs -------------------------------------------------------------------------- */

START_TEST(pidref_refuses_forbidden_pids)
{
	static const pid_t bad[] = {0, 1, -1, -2, INT_MIN};
	struct tether_pidref ref = TETHER_PIDREF_NULL;
	int fds = tether_proc_count_fds(getpid());
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_int_eq(tether_pidref_open(bad[i], 0, &ref), -EINVAL);
		ck_assert_int_eq(tether_pidref_open_current(bad[i], &ref), -EINVAL);
	}
	/* ourselves, with our true start time */
	uint64_t st = pt_start_time(getpid());
	ck_assert_int_eq(tether_pidref_open(getpid(), st, &ref), -EINVAL);
	ck_assert_int_eq(tether_pidref_open_current(getpid(), &ref), -EINVAL);
	/* nothing was opened */
	ck_assert_int_eq(ref.pidfd, -1);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), fds);
	/* a ref that names us cannot be used to signal us */
	struct tether_pidref self = {.pid = getpid(), .pidfd = pidfd_open(getpid(), 0), .start_time = st};
	ck_assert_int_ge(self.pidfd, 0);
	ck_assert_int_eq(tether_pidref_signal(&self, SIGKILL), -EINVAL);
	tether_pidref_done(&self);
	ck_assert_int_eq(self.pidfd, -1);
	tether_pidref_done(&self);
	tether_pidref_done(NULL);
	ck_assert_int_eq(tether_pidref_signal(&self, SIGTERM), -EINVAL);
	ck_assert_int_eq(tether_pidref_signal(NULL, SIGTERM), -EINVAL);
}
END_TEST

START_TEST(pidref_wrong_start_time_is_estale)
{
	struct pt_victim v;
	pt_victim_start(&v, tu_path("rec"), NULL, 0, 0);
	struct tether_pidref ref = TETHER_PIDREF_NULL;
	int fds = tether_proc_count_fds(getpid());
	ck_assert_int_eq(tether_pidref_open(v.pid, v.start_time + 1, &ref), -ESTALE);
	ck_assert_int_eq(tether_pidref_open(v.pid, v.start_time - 1, &ref), -ESTALE);
	ck_assert_int_eq(tether_pidref_open(v.pid, 0, &ref), -ESTALE);
	ck_assert_int_eq(ref.pidfd, -1);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), fds); /* no pidfd leaked */
	pt_assert_untouched(&v);
	/* the right one opens */
	ck_assert_int_eq(tether_pidref_open(v.pid, v.start_time, &ref), 0);
	ck_assert_int_eq(ref.pid, v.pid);
	ck_assert_uint_eq(ref.start_time, v.start_time);
	ck_assert_int_ge(ref.pidfd, 0);
	tether_pidref_done(&ref);
	pt_assert_untouched(&v);
}
END_TEST

START_TEST(pidref_gone_is_esrch)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(0);
	uint64_t st = pt_start_time(pid); /* readable while it is our zombie */
	/* a zombie is gone too */
	ck_assert(tu_wait_gone(pid, 5000));
	struct tether_pidref ref = TETHER_PIDREF_NULL;
	ck_assert_int_eq(tether_pidref_open(pid, st, &ref), -ESRCH);
	int status = tu_wait(pid, 5000);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(tether_pidref_open(pid, st, &ref), -ESRCH);
	ck_assert_int_eq(tether_pidref_open_current(pid, &ref), -ESRCH);
	ck_assert_int_eq(ref.pidfd, -1);
}
END_TEST

START_TEST(pidref_signals_reach_the_right_process)
{
	struct pt_victim a, b;
	pt_victim_start(&a, tu_path("a"), NULL, 0, 0);
	pt_victim_start(&b, tu_path("b"), NULL, 0, 0);
	struct tether_pidref ref;
	ck_assert_int_eq(tether_pidref_open(a.pid, a.start_time, &ref), 0);
	ck_assert_int_eq(tether_pidref_signal(&ref, SIGUSR1), 0);
	pt_wait_signal(&a, SIGUSR1, 5000);
	pt_assert_untouched(&b);
	ck_assert_int_eq(tether_pidref_exited(&ref), 0);

	/* waiting on a live process lasts until the deadline */
	int64_t t0 = now_ns();
	ck_assert_int_eq(tether_pidref_wait(&ref, &clk, t0 + 200 * MS), 0);
	ck_assert_int_ge(now_ns() - t0, 200 * MS);

	/* its death is seen at once, and nothing more can be sent to it */
	ck_assert_int_eq(tether_pidref_signal(&ref, SIGKILL), 0);
	t0 = now_ns();
	ck_assert_int_eq(tether_pidref_wait(&ref, &clk, t0 + 10000 * MS), 1);
	ck_assert_int_lt(now_ns() - t0, 5000 * MS);
	ck_assert_int_eq(tether_pidref_exited(&ref), 1);
	ck_assert_int_eq(waitpid(a.pid, NULL, 0), a.pid);
	ck_assert_int_eq(tether_pidref_signal(&ref, SIGTERM), -ESRCH);
	ck_assert_int_eq(tether_pidref_wait(&ref, &clk, now_ns()), 1);
	tether_pidref_done(&ref);
	pt_assert_untouched(&b);
}
END_TEST

/* ---- process groups ------------------------------------------------------------------ */

START_TEST(pgroup_refuses_our_group_and_nonsense)
{
	struct pt_victim v;
	pt_victim_start(&v, tu_path("v"), NULL, 0, 0); /* in our group */
	ck_assert_int_eq(tether_pgroup_signal(getpgrp(), SIGUSR1), -EINVAL);
	ck_assert_int_eq(tether_pgroup_signal(0, SIGUSR1), -EINVAL);
	ck_assert_int_eq(tether_pgroup_signal(1, SIGUSR1), -EINVAL);
	ck_assert_int_eq(tether_pgroup_signal(-1, SIGUSR1), -EINVAL);
	ck_assert_int_eq(tether_pgroup_signal(-getpgrp(), SIGUSR1), -EINVAL);
	ck_assert_int_eq(tether_pgroup_signal(INT_MIN, SIGUSR1), -EINVAL);
	/* a live process that leads no group */
	ck_assert_int_eq(tether_pgroup_signal(v.pid, SIGUSR1), -ESRCH);
	pt_assert_untouched(&v);
}
END_TEST

START_TEST(pgroup_with_live_leader_is_signalled)
{
	struct pt_victim leader, member, bystander;
	pt_victim_start(&leader, tu_path("leader"), NULL, PT_VICTIM_GROUP_LEADER, 0);
	pt_victim_start(&member, tu_path("member"), NULL, 0, leader.pid);
	pt_victim_start(&bystander, tu_path("bystander"), NULL, 0, 0);
	ck_assert_int_eq(getpgid(member.pid), leader.pid);
	ck_assert_int_eq(tether_pgroup_signal(leader.pid, SIGUSR2), 0);
	pt_wait_signal(&leader, SIGUSR2, 5000);
	pt_wait_signal(&member, SIGUSR2, 5000);
	pt_assert_untouched(&bystander);
	/* the member does not lead the group */
	ck_assert_int_eq(tether_pgroup_signal(member.pid, SIGUSR1), -ESRCH);
}
END_TEST

START_TEST(pgroup_without_leader_is_refused)
{
	struct pt_victim leader, member;
	pt_victim_start(&leader, tu_path("leader"), NULL, PT_VICTIM_GROUP_LEADER, 0);
	pt_victim_start(&member, tu_path("member"), NULL, 0, leader.pid);
	/* the leader dies: a zombie first, then reaped; the member remains */
	ck_assert_int_eq(pidfd_send_signal(leader.pidfd, SIGKILL, NULL, 0), 0);
	ck_assert(tu_wait_gone(leader.pid, 5000));
	ck_assert_int_eq(tether_pgroup_signal(leader.pid, SIGUSR1), -ESRCH);
	ck_assert_int_eq(waitpid(leader.pid, NULL, 0), leader.pid);
	ck_assert_int_eq(tether_pgroup_signal(leader.pid, SIGUSR1), -ESRCH);
	ck_assert_int_eq(getpgid(member.pid), leader.pid);
	pt_assert_untouched(&member);
}
END_TEST

/* ---- trees ---------------------------------------------------------------------------- */

START_TEST(tree_collect_finds_every_descendant)
{
	struct test_tree t;
	start_tree(&t);
	struct tether_tree tree = {0};
	ck_assert_int_eq(tether_tree_collect(t.pid[ROLE_ROOT], &tree), 0);
	pid_t want[] = {t.pid[ROLE_C1], t.pid[ROLE_G1], t.pid[ROLE_C2], t.pid[ROLE_D],
			t.pid[ROLE_C3], t.pid[ROLE_Y]};
	assert_tree_is(&tree, want, 6);
	ck_assert(!tether_tree_has(&tree, t.pid[ROLE_ROOT]));
	/* collecting again adds nothing */
	ck_assert_int_eq(tether_tree_collect(t.pid[ROLE_ROOT], &tree), 0);
	assert_tree_is(&tree, want, 6);
	tether_tree_done(&tree);
	ck_assert_uint_eq(tree.n, 0);
	ck_assert_ptr_null(tree.procs);

	/* a subtree, and a leaf */
	ck_assert_int_eq(tether_tree_collect(t.pid[ROLE_C3], &tree), 0);
	pid_t want_c3[] = {t.pid[ROLE_Y]};
	assert_tree_is(&tree, want_c3, 1);
	tether_tree_done(&tree);
	ck_assert_int_eq(tether_tree_collect(t.pid[ROLE_G1], &tree), 0);
	ck_assert_uint_eq(tree.n, 0);
	tether_tree_done(&tree);

	/* nothing below a process that is gone */
	pid_t gone = fork();
	ck_assert_int_ge(gone, 0);
	if (gone == 0)
		_exit(0);
	tu_wait(gone, 5000);
	ck_assert_int_eq(tether_tree_collect(gone, &tree), 0);
	ck_assert_uint_eq(tree.n, 0);
	tether_tree_done(&tree);
	end_tree(&t);
}
END_TEST

START_TEST(tree_collect_never_includes_us)
{
	/* our parent's tree holds us: we are skipped */
	struct tether_tree tree = {0};
	ck_assert_int_eq(tether_tree_collect(getppid(), &tree), 0);
	ck_assert(!tether_tree_has(&tree, getpid()));
	for (size_t i = 0; i < tree.n; i++)
		ck_assert_int_gt(tree.procs[i].pid, 1);
	tether_tree_done(&tree);
}
END_TEST

START_TEST(tree_kill_leaves_nothing)
{
	struct test_tree t;
	start_tree(&t);
	struct tether_pidref root;
	ck_assert_int_eq(tether_pidref_open_current(t.pid[ROLE_ROOT], &root), 0);
	pid_t left[16];
	int64_t t0 = now_ns();
	ck_assert_int_eq(tether_tree_kill(&root, &clk, t0 + 10000 * MS, left, 16), 0);
	for (int i = 0; i < ROLE_READY; i++)
		ck_assert_msg(!pt_pidfd_alive(t.pidfd[i]), "role %d (pid %d) survived", i, (int)t.pid[i]);
	ck_assert_int_lt(now_ns() - t0, 5000 * MS);
	tether_pidref_done(&root);
	end_tree(&t);
}
END_TEST

/* A fork bomb, bounded: every member takes a token before it forks, and the
 * tokens are fed by a thread for as long as the kill runs, so the tree keeps
 * growing while tree_kill walks it. Every member holds the write end of the
 * "alive" pipe: it reaches end-of-file exactly when the last member is dead —
 * wherever it was re-parented to. */
#define BOMB_TOKENS 300

struct bomb {
	int tokens[2];
	int born[2];
	int alive[2];
	int life[2];
	atomic_bool stop;
	int fed;
};

static struct bomb *bomb_cur;

static int bomb_member(void *arg)
{
	struct bomb *b = arg;
	bomb_cur = b;
	close(b->life[1]);
	close(b->tokens[1]);
	close(b->born[0]);
	close(b->alive[0]);
	for (;;) {
		struct pollfd p[2] = {{.fd = b->tokens[0], .events = POLLIN}, {.fd = b->life[0], .events = POLLIN}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			_exit(0); /* the test is gone */
		char t;
		if (read(b->tokens[0], &t, 1) != 1)
			continue; /* another member took it */
		pid_t kid = fork();
		if (kid == 0) {
			pid_t me = getpid();
			if (write(b->born[1], &me, sizeof me) != sizeof me)
				_exit(1);
		}
	}
}

static void *bomb_feeder(void *arg)
{
	struct bomb *b = arg;
	struct timespec gap = {.tv_nsec = 200 * 1000};
	while (!atomic_load(&b->stop) && b->fed < BOMB_TOKENS) {
		if (write(b->tokens[1], "t", 1) != 1)
			break;
		b->fed++;
		/* the adversary's pace, not a synchronisation */
		nanosleep(&gap, NULL);
	}
	return NULL;
}

START_TEST(tree_kill_stops_a_fork_bomb)
{
	struct bomb b = {0};
	/* the feeder may outlive every reader of the token pipe */
	signal(SIGPIPE, SIG_IGN);
	ck_assert_int_eq(pipe2(b.tokens, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(b.born, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(b.alive, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(b.life, O_CLOEXEC), 0);
	ck_assert_int_eq(fcntl(b.tokens[0], F_SETFL, O_NONBLOCK), 0);
	pid_t root = tu_fork(bomb_member, &b);
	pt_track(root);
	close(b.alive[1]);
	close(b.born[1]);
	close(b.tokens[0]);
	pthread_t feeder;
	ck_assert_int_eq(pthread_create(&feeder, NULL, bomb_feeder, &b), 0);

	/* let it grow to 30 before the kill starts */
	pid_t born[BOMB_TOKENS];
	size_t nborn = 0;
	while (nborn < 30) {
		ssize_t n = read(b.born[0], born + nborn, sizeof born[0]);
		ck_assert_int_eq(n, sizeof born[0]);
		nborn++;
	}
	struct tether_pidref ref;
	ck_assert_int_eq(tether_pidref_open_current(root, &ref), 0);
	pid_t left[64];
	int n = tether_tree_kill(&ref, &clk, now_ns() + 20000 * MS, left, 64);
	atomic_store(&b.stop, true);
	pthread_join(feeder, NULL);
	ck_assert_msg(n == 0, "%d survivors reported", n);

	/* every member is dead, including any that escaped the walk */
	struct pollfd p = {.fd = b.alive[0], .events = POLLIN};
	ck_assert_msg(poll(&p, 1, 2000) == 1, "a member of the bomb is still alive (%d tokens fed)", b.fed);
	ck_assert_msg(p.revents & POLLHUP, "a member of the bomb is still alive (%d tokens fed)", b.fed);
	tether_pidref_done(&ref);
	waitpid(root, NULL, 0);
	close(b.life[0]);
	close(b.life[1]);
}
END_TEST

struct kids_arg {
	int life[2];
	int rep[2];
	int n;
};

static int parent_of_idlers(void *arg)
{
	struct kids_arg *k = arg;
	close(k->life[1]);
	close(k->rep[0]);
	for (int i = 0; i < k->n; i++) {
		pid_t kid = fork_or_die();
		if (kid == 0) {
			char c;
			while (read(k->life[0], &c, 1) > 0)
				;
			_exit(0);
		}
		if (write(k->rep[1], &kid, sizeof kid) != sizeof kid)
			_exit(2);
	}
	char c;
	while (read(k->life[0], &c, 1) > 0)
		;
	_exit(0);
}

START_TEST(tree_wait_counts_survivors)
{
	struct kids_arg k = {.n = 3};
	ck_assert_int_eq(pipe2(k.life, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(k.rep, O_CLOEXEC), 0);
	pid_t parent = tu_fork(parent_of_idlers, &k);
	pt_track(parent);
	close(k.rep[1]);
	pid_t kids[3];
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(read(k.rep[0], &kids[i], sizeof kids[i]), sizeof kids[i]);
		pt_track(kids[i]);
	}
	struct tether_tree tree = {0};
	ck_assert_int_eq(tether_tree_collect(parent, &tree), 0);
	assert_tree_is(&tree, kids, 3);

	/* all alive: the deadline is reached and all are counted */
	int64_t t0 = now_ns();
	ck_assert_int_eq(tether_tree_wait(&tree, &clk, t0 + 100 * MS), 3);
	ck_assert_int_ge(now_ns() - t0, 100 * MS);

	/* one killed: two survive to the deadline */
	ck_assert_int_eq(tether_pidref_signal(&tree.procs[1], SIGKILL), 0);
	t0 = now_ns();
	ck_assert_int_eq(tether_tree_wait(&tree, &clk, t0 + 300 * MS), 2);
	ck_assert_int_ge(now_ns() - t0, 300 * MS);

	/* the rest: tree_signal counts the living only, tree_wait returns at once */
	ck_assert_int_eq(tether_tree_signal(&tree, SIGKILL), 2);
	t0 = now_ns();
	ck_assert_int_eq(tether_tree_wait(&tree, &clk, t0 + 10000 * MS), 0);
	ck_assert_int_lt(now_ns() - t0, 5000 * MS);
	ck_assert_int_eq(tether_tree_signal(&tree, SIGKILL), 0);
	/* an empty tree has nothing to wait for */
	struct tether_tree empty = {0};
	ck_assert_int_eq(tether_tree_wait(&empty, &clk, now_ns() + 10000 * MS), 0);
	tether_tree_done(&tree);
	close(k.life[1]);
	close(k.life[0]);
}
END_TEST

/* ---- G9: calls that keep failing ------------------------------------------------------- */
#ifdef TETHER_FAULT_INJECTION

/* Starts parent_of_idlers with n kids; their pids in kids. */
static pid_t start_idlers(struct kids_arg *k, int n, pid_t *kids)
{
	*k = (struct kids_arg){.n = n};
	ck_assert_int_eq(pipe2(k->life, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(k->rep, O_CLOEXEC), 0);
	pid_t parent = tu_fork(parent_of_idlers, k);
	pt_track(parent);
	close(k->rep[1]);
	for (int i = 0; i < n; i++) {
		ck_assert_int_eq(read(k->rep[0], &kids[i], sizeof kids[i]), sizeof kids[i]);
		pt_track(kids[i]);
	}
	close(k->rep[0]);
	return parent;
}

static void end_idlers(struct kids_arg *k)
{
	close(k->life[1]);
	close(k->life[0]);
}

START_TEST(g9_pidref_wait_gives_up_when_poll_keeps_failing)
{
	/* F1: poll failing EINTR (no event, early) or ENOMEM from its first
	 * call: the wait returns an error at once, after a few polls, instead
	 * of polling at full speed until its deadline. */
	int err = _i ? ENOMEM : EINTR;
	struct kids_arg k;
	pid_t kid;
	start_idlers(&k, 1, &kid);
	struct tether_pidref ref;
	ck_assert_int_eq(tether_pidref_open_current(kid, &ref), 0);
	tu_fault_arm("tether/sys/poll", err, 1, 0, TU_FAULT_ALL);
	int64_t t0 = now_ns();
	int r = tether_pidref_wait(&ref, &clk, t0 + 2000 * MS);
	int64_t took = now_ns() - t0;
	unsigned calls = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_int_eq(r, -err);
	ck_assert_msg(took < 500 * MS, "gave up after %lld ms", (long long)(took / MS));
	ck_assert_uint_le(calls, 10);
	tether_pidref_done(&ref);
	end_idlers(&k);
}
END_TEST

START_TEST(g9_exited_asks_proc_when_poll_fails)
{
	/* F: a dead process whose pidfd cannot be polled is dead (not a
	 * survivor of SIGKILL); a live one stays alive. */
	struct kids_arg k;
	pid_t kids[2];
	start_idlers(&k, 2, kids);
	struct tether_pidref a, b;
	ck_assert_int_eq(tether_pidref_open_current(kids[0], &a), 0);
	ck_assert_int_eq(tether_pidref_open_current(kids[1], &b), 0);
	ck_assert_int_eq(tether_pidref_signal(&a, SIGKILL), 0);
	ck_assert(tu_wait_gone(kids[0], 5000));
	tu_fault_arm("tether/sys/poll", ENOMEM, 1, 0, TU_FAULT_ALL);
	int dead = tether_pidref_exited(&a), alive = tether_pidref_exited(&b);
	tu_fault_disarm();
	ck_assert_int_eq(dead, 1);
	ck_assert_int_eq(alive, 0);
	tether_pidref_done(&a);
	tether_pidref_done(&b);
	end_idlers(&k);
}
END_TEST

START_TEST(g9_tree_kill_ends_when_it_cannot_wait)
{
	/* F2: with poll failing from its first call, the kill of a whole tree
	 * (setsid'd, double-forked members included) sends its SIGKILLs and
	 * returns, instead of spinning until its deadline. It cannot wait for
	 * the deaths, so it may count members that are still dying: only the
	 * time, the calls and the deaths themselves are checked. */
	int err = _i ? ENOMEM : EINTR;
	struct test_tree t;
	start_tree(&t);
	struct tether_pidref root;
	ck_assert_int_eq(tether_pidref_open_current(t.pid[ROLE_ROOT], &root), 0);
	pid_t left[16];
	tu_fault_arm("tether/sys/poll", err, 1, 0, TU_FAULT_ALL);
	int64_t t0 = now_ns();
	int n = tether_tree_kill(&root, &clk, t0 + 5000 * MS, left, 16);
	int64_t took = now_ns() - t0;
	unsigned calls = tu_fault_calls();
	tu_fault_disarm();
	ck_assert_msg(took < 2000 * MS, "tree_kill took %lld ms", (long long)(took / MS));
	ck_assert_msg(calls <= 200, "%u polls", calls);
	ck_assert_int_le(n, ROLE_READY);
	for (int i = 0; i < ROLE_READY; i++) {
		struct pollfd p = {.fd = t.pidfd[i], .events = POLLIN};
		ck_assert_msg(poll(&p, 1, 5000) == 1, "role %d (pid %d) survived", i, (int)t.pid[i]);
	}
	tether_pidref_done(&root);
	end_tree(&t);
}
END_TEST

START_TEST(g9_tree_collect_goes_on_past_a_failure)
{
	/* D: one /proc call failing (open, getdents, read of a children list)
	 * abandoned the whole walk, and a guardian then signalled nobody.
	 * Failing once, the walk still finds every member. */
	static const char *const points[] = {"tether/sys/open", "tether/sys/getdents", "tether/sys/read"};
	const char *point = points[_i];
	struct kids_arg k;
	pid_t kids[3];
	pid_t parent = start_idlers(&k, 3, kids);
	struct tether_tree tree = {0};
	tu_fault_arm(point, EIO, 1, 1, TU_FAULT_ALL);
	int r = tether_tree_collect(parent, &tree);
	tu_fault_disarm();
	ck_assert_msg(tu_fault_failed() == 1, "%s never failed", point);
	ck_assert_msg(r == 0, "%s failing once: %s", point, strerror(-r));
	assert_tree_is(&tree, kids, 3);
	tether_tree_done(&tree);
	end_idlers(&k);
}
END_TEST

START_TEST(g9_members_without_a_pidfd_are_still_signalled)
{
	/* D: pidfd_open failing (EMFILE, ENOMEM) for every member: they are
	 * kept as members without a pidfd (start time checked before each
	 * signal), not dropped from the tree; pidfd_send_signal failing
	 * (EPERM): the signal goes by number after the same check. */
	struct kids_arg k;
	pid_t kids[3];
	pid_t parent = start_idlers(&k, 3, kids);
	struct tether_tree tree = {0};
	tu_fault_arm("tether/sys/pidfd_open", EMFILE, 1, 0, TU_FAULT_ALL);
	int r = tether_tree_collect(parent, &tree);
	tu_fault_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(tree.n, 3);
	for (size_t i = 0; i < tree.n; i++)
		ck_assert_int_eq(tree.procs[i].pidfd, -1);
	/* one by a pidfd whose signal call fails */
	struct tether_pidref ref;
	ck_assert_int_eq(tether_pidref_open_current(kids[0], &ref), 0);
	ck_assert_int_ge(ref.pidfd, 0);
	tu_fault_arm("tether/sys/pidfd_send_signal", EPERM, 1, 0, TU_FAULT_ALL);
	ck_assert_int_eq(tether_pidref_signal(&ref, SIGKILL), 0);
	tu_fault_disarm();
	ck_assert_msg(tu_wait_gone(kids[0], 5000), "kid %d survived", (int)kids[0]);
	ck_assert_int_eq(tether_tree_signal(&tree, SIGKILL), 2);
	for (int i = 0; i < 3; i++)
		ck_assert_msg(tu_wait_gone(kids[i], 5000), "kid %d survived", (int)kids[i]);
	tether_pidref_done(&ref);
	tether_tree_done(&tree);
	end_idlers(&k);
}
END_TEST

START_TEST(a_ref_without_a_pidfd_is_waited_for_by_proc)
{
	/* pidfd_open failing (EMFILE): the ref has no pidfd, and a wait looks
	 * at /proc on the clock until its deadline (0: still alive) or the
	 * death (1) */
	struct kids_arg k;
	pid_t kid;
	start_idlers(&k, 1, &kid);
	struct tether_pidref ref;
	tu_fault_arm("tether/sys/pidfd_open", EMFILE, 1, 0, TU_FAULT_ALL);
	int r = tether_pidref_open_current(kid, &ref);
	tu_fault_disarm();
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(ref.pidfd, -1);
	int64_t t0 = now_ns();
	ck_assert_int_eq(tether_pidref_wait(&ref, &clk, t0 + 50 * MS), 0);
	ck_assert_int_ge(now_ns() - t0, 50 * MS);
	ck_assert_int_eq(tether_pidref_exited(&ref), 0);
	ck_assert_int_eq(tether_pidref_signal(&ref, SIGKILL), 0);
	ck_assert_int_eq(tether_pidref_wait(&ref, &clk, now_ns() + 5000 * MS), 1);
	ck_assert_int_eq(tether_pidref_exited(&ref), 1);
	tether_pidref_done(&ref);
	end_idlers(&k);
}
END_TEST

START_TEST(g9_an_esrch_proc_contradicts_is_not_believed)
{
	/* pidfd_open or pidfd_send_signal saying ESRCH for a process that
	 * /proc still shows with its start time: it is kept (without a pidfd)
	 * and signalled by number, not taken for gone (a tree member left
	 * alive for it). */
	struct kids_arg k;
	pid_t kids[2];
	start_idlers(&k, 2, kids);
	struct tether_pidref a, b;
	tu_fault_arm("tether/sys/pidfd_open", ESRCH, 1, 0, TU_FAULT_ALL);
	int ra = tether_pidref_open_current(kids[0], &a);
	tu_fault_disarm();
	ck_assert_int_eq(ra, 0);
	ck_assert_int_eq(a.pidfd, -1);
	ck_assert_int_eq(tether_pidref_open_current(kids[1], &b), 0);
	ck_assert_int_ge(b.pidfd, 0);
	tu_fault_arm("tether/sys/pidfd_send_signal", ESRCH, 1, 0, TU_FAULT_ALL);
	int rb = tether_pidref_signal(&b, SIGKILL);
	tu_fault_disarm();
	ck_assert_int_eq(rb, 0);
	ck_assert_int_eq(tether_pidref_signal(&a, SIGKILL), 0);
	for (int i = 0; i < 2; i++)
		ck_assert_msg(tu_wait_gone(kids[i], 5000), "kid %d survived", (int)kids[i]);
	tether_pidref_done(&a);
	tether_pidref_done(&b);
	end_idlers(&k);
}
END_TEST
#endif

int main(void)
{
	pt_init();
	Suite *s = suite_create("proctree");

	TCase *tc = tcase_create("pidref");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, pidref_refuses_forbidden_pids);
	tcase_add_test(tc, pidref_wrong_start_time_is_estale);
	tcase_add_test(tc, pidref_gone_is_esrch);
	tcase_add_test(tc, pidref_signals_reach_the_right_process);
	tcase_add_test(tc, pgroup_refuses_our_group_and_nonsense);
	tcase_add_test(tc, pgroup_with_live_leader_is_signalled);
	tcase_add_test(tc, pgroup_without_leader_is_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("tree");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_test(tc, tree_collect_finds_every_descendant);
	tcase_add_test(tc, tree_collect_never_includes_us);
	tcase_add_test(tc, tree_kill_leaves_nothing);
	tcase_add_test(tc, tree_kill_stops_a_fork_bomb);
	tcase_add_test(tc, tree_wait_counts_survivors);
	suite_add_tcase(s, tc);

#ifdef TETHER_FAULT_INJECTION
	tc = tcase_create("g9");
	tcase_add_checked_fixture(tc, setup, pt_teardown);
	tcase_set_timeout(tc, 40);
	tcase_add_loop_test(tc, g9_pidref_wait_gives_up_when_poll_keeps_failing, 0, 2);
	tcase_add_test(tc, g9_exited_asks_proc_when_poll_fails);
	tcase_add_loop_test(tc, g9_tree_kill_ends_when_it_cannot_wait, 0, 2);
	tcase_add_loop_test(tc, g9_tree_collect_goes_on_past_a_failure, 0, 3);
	tcase_add_test(tc, g9_members_without_a_pidfd_are_still_signalled);
	tcase_add_test(tc, g9_an_esrch_proc_contradicts_is_not_believed);
	tcase_add_test(tc, a_ref_without_a_pidfd_is_waited_for_by_proc);
	suite_add_tcase(s, tc);
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
