/* SPDX-License-Identifier: MIT */
/* test_oom.c — libtether when memory runs out: every allocation an
 * operation makes is failed in turn (the k-th malloc, then the k-th calloc,
 * then the k-th realloc, k = 1, 2, ... until a run makes no k-th call), and
 * each time the operation must say so (-ENOMEM, or the degraded result its
 * header promises), crash nowhere, and leave the heap as it found it (glibc's
 * count of bytes in use, taken before and after).
 *
 * The allocator has no fault point of libtether's own: libfiu's POSIX preload
 * wraps malloc, calloc and realloc (libc/mm/...), and strdup, strndup and
 * asprintf reach them through the PLT. main() runs the suite again under
 * that preload; the points are armed with tu_fault_arm (the test process
 * only), so each test's own allocations outside the armed call run as usual.
 * Where the preload is missing, or in a sanitizer build (its allocator and
 * the preload's recurse at start-up, test_fault.c), every test says SKIP.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "identity.h"
#include "json.h"
#include "output.h"
#include "pidfile.h"
#include "pidrecord.h"
#include "proc.h"
#include "proctree.h"
#include "spawn.h"
#include "supervisor.h"
#include "sys.h"
#include "testutil.h"

#define PRELOADED "TETHER_OOM_PRELOADED"

/* tu_fault_arm is the lab's (a build with fault injection): without it, no test. */
#ifdef TETHER_FAULT_INJECTION

static bool available(const char *test)
{
	if (!getenv(PRELOADED)) {
		fprintf(stderr, "SKIP %s: libfiu's posix preload is not loaded (missing, or a sanitizer build)\n",
			test);
		return false;
	}
	return true;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	ck_assert_ptr_nonnull(d);
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

/* An operation under test: 0 when it succeeded (and has freed everything it
 * returned), a -errno it returned, or a positive number (a line of this file)
 * when it succeeded with a wrong result. It asserts nothing itself: Check
 * allocates for each assertion, which would count as one of its calls. */
typedef int (*oom_op)(void *arg);

/* Called before each run, outside the armed window: puts back what a failed
 * run may have left on disk (NULL: nothing to put back). */
static void (*sweep_reset)(void);

struct sweep {
	unsigned runs_failed;   /* runs where an allocation failed */
	unsigned enomem;        /* of those, the ones that answered -ENOMEM */
};

/* Fails each allocation op makes in turn, point by point. A run in which an
 * allocation failed must answer -ENOMEM (or 0 when degrade_ok: it did without
 * what it could not copy), leak no byte and no descriptor. glibc's strdup and
 * strndup allocate inside libc, out of the preload's reach: libfiu wraps them
 * as points of their own. */
static struct sweep sweep(const char *what, oom_op op, void *arg, bool degrade_ok)
{
	static const char *const points[] = {"libc/mm/malloc", "libc/mm/calloc", "libc/mm/realloc",
					     "libc/str/strdup", "libc/str/strndup"};
	struct sweep s = {0};
	/* once unfaulted: what it allocates for good on a first call (stdio's
	 * buffers, a cached boot id) is not a leak of the run after */
	for (int i = 0; i < 2; i++) {
		if (sweep_reset)
			sweep_reset();
		int r = op(arg);
		ck_assert_msg(r == 0, "%s: %d (%s) without a fault", what, r, strerror(r < 0 ? -r : 0));
	}
	for (size_t p = 0; p < sizeof points / sizeof points[0]; p++) {
		for (unsigned k = 1;; k++) {
			ck_assert_msg(k < 100000, "%s: no end to the calls of %s", what, points[p]);
			int fds, r;
			size_t before, after;
			/* A leak repeats: a heap that grew once is run again and
			 * judged on the second run. */
			for (int attempt = 0; attempt < 2; attempt++) {
				if (sweep_reset)
					sweep_reset();
				fds = open_fds();
				tu_fault_arm(points[p], ENOMEM, k, k, TU_FAULT_SELF);
				before = heap_in_use();
				r = op(arg);
				after = heap_in_use();
				tu_fault_disarm();
				if (after <= before || tu_fault_failed() == 0)
					break;
			}
			ck_assert_msg(r <= 0, "%s: a wrong result (line %d) when %s call %u failed", what, r, points[p], k);
			if (tu_fault_failed() == 0) {
				ck_assert_msg(r == 0, "%s: %d with no fault (%s call %u)", what, r, points[p], k);
				break;
			}
			s.runs_failed++;
			bool ok = r == -ENOMEM || (degrade_ok && r == 0);
			ck_assert_msg(ok, "%s: %d (%s) when %s call %u failed", what, r, strerror(r < 0 ? -r : r),
				      points[p], k);
			s.enomem += r == -ENOMEM;
			/* a leak is growth: the heap may read a few bytes lower
			 * (-16 under a loaded make check, in two runs in a row, never
			 * alone: the arena's bookkeeping, not a free of ours) */
			ck_assert_msg(after <= before, "%s: %zd bytes leaked when %s call %u failed", what,
				      (ssize_t)(after - before), points[p], k);
			ck_assert_int_eq(open_fds(), fds);
		}
	}
	ck_assert_msg(s.runs_failed > 0, "%s: no allocation to fail", what);
	ck_assert_msg(s.enomem > 0 || degrade_ok, "%s: no allocation whose failure is -ENOMEM", what);
	return s;
}

/* ---- json ----------------------------------------------------------------------------- */

static int json_op(void *arg)
{
	const char *text = arg;
	struct tether_json *j = NULL;
	int r = tether_json_parse(text, strlen(text), 16, &j);
	if (r < 0)
		return r;
	r = tether_json_path(j, "b.0.c") ? 0 : __LINE__;
	tether_json_free(j);
	return r;
}

START_TEST(json_parse_out_of_memory)
{
	if (!available("json_parse_out_of_memory"))
		return;
	/* objects and arrays that grow past their first capacity, strings
	 * with escapes */
	static const char text[] = "{\"a\":\"x\\ny\",\"b\":[{\"c\":1},2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18],"
				   "\"d\":{\"e\":null,\"f\":true,\"g\":\"h\",\"i\":1,\"j\":2,\"k\":3,\"l\":4,\"m\":5,"
				   "\"n\":6,\"o\":7}}";
	struct sweep s = sweep("tether_json_parse", json_op, (void *)text, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
}
END_TEST

/* ---- pidrecord ------------------------------------------------------------------------ */

static int record_parse_op(void *arg)
{
	const char *text = arg;
	struct tether_pidrecord rec;
	int r = tether_pidrecord_parse(text, strlen(text), &rec);
	if (r < 0)
		return r;
	r = strcmp(rec.argv[2], "--pidfile") == 0 ? 0 : __LINE__;
	tether_pidrecord_done(&rec);
	return r;
}

static int record_self_op(void *arg)
{
	(void)arg;
	static char *const argv[] = {"tether", "run", "--", "worker", NULL};
	struct tether_pidrecord rec;
	int r = tether_pidrecord_init_self(&rec, argv, tether_clock_real());
	if (r < 0)
		return r;
	r = strcmp(rec.argv[3], "worker") == 0 && rec.pid == getpid() ? 0 : __LINE__;
	tether_pidrecord_done(&rec);
	return r;
}

START_TEST(pidrecord_out_of_memory)
{
	if (!available("pidrecord_out_of_memory"))
		return;
	static const char text[] = "{\"pid\":42,\"start_time\":7,\"boot_id\":\"0123abcd-0000-4000-8000-00000000cafe\","
				   "\"started_at\":\"2026-11-25T17:00:00Z\",\"argv\":[\"tether\",\"run\",\"--pidfile\","
				   "\"t.pid\",\"--\",\"w\"],\"version\":\"1.0\",\"scope\":\"s\"}";
	struct sweep s = sweep("tether_pidrecord_parse", record_parse_op, (void *)text, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	s = sweep("tether_pidrecord_init_self", record_self_op, NULL, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
}
END_TEST

/* ---- pidfile -------------------------------------------------------------------------- */

static struct tether_pidrecord self_rec;

static void pidfile_reset(void)
{
	ck_assert_int_eq(system("rm -rf -- \"$TETHER_OOM_DIR\""), 0);
}

/* A supervisor's whole life with its pidfile, and what readers do meanwhile:
 * acquire (its directory made), write, probe, read, ask who holds the lock,
 * watch, remove. */
static int pidfile_op(void *arg)
{
	const char *path = arg;
	struct tether_pidfile *pf = NULL;
	pid_t holder = 0;
	int r = tether_pidfile_acquire(path, NULL, 0, &pf, &holder);
	if (r < 0)
		return r;
	if (r != 1)
		return __LINE__;
	r = tether_pidfile_write(pf, &self_rec);
	struct tether_pidfile_probe probe = {0};
	if (r == 0) {
		r = tether_pidfile_probe(path, &probe);
		if (r == 0 && probe.record_err == -ENOMEM)
			r = -ENOMEM; /* said in the probe: UNKNOWN, why */
		else if (r == 0 && probe.state != TETHER_PIDFILE_RUNNING)
			r = __LINE__;
		tether_pidfile_probe_done(&probe);
	}
	struct tether_pidrecord rec;
	if (r == 0 && (r = tether_pidfile_read(path, &rec)) == 0) {
		r = rec.pid == getpid() ? 0 : __LINE__;
		tether_pidrecord_done(&rec);
	}
	pid_t pid = 0;
	if (r == 0 && (r = tether_pidfile_lock_holder(path, &pid)) == 1)
		r = pid == getpid() ? 0 : __LINE__;
	if (r == 0) {
		int w = tether_pidfile_watch_open(path);
		r = w < 0 ? w : sys_close(w);
	}
	int rr = tether_pidfile_remove(pf);
	int rd = tether_pidfile_remove_dir(pf);
	tether_pidfile_free(pf);
	return r ? r : rr ? rr : rd;
}

/* A record nobody holds: probed (stale) and removed. */
static int stale_op(void *arg)
{
	const char *path = arg;
	struct tether_pidfile_probe probe = {0};
	int r = tether_pidfile_probe(path, &probe);
	if (r == 0 && probe.record_err == -ENOMEM)
		r = -ENOMEM;
	else if (r == 0 && probe.state != TETHER_PIDFILE_STALE)
		r = __LINE__;
	tether_pidfile_probe_done(&probe);
	if (r == 0 && (r = tether_pidfile_remove_stale(path)) == 1)
		r = tu_exists(path) ? __LINE__ : 0;
	return r;
}

static const char *stale_path;
static void stale_reset(void)
{
	pidfile_reset();
	ck_assert_int_eq(mkdir(getenv("TETHER_OOM_DIR"), 0700), 0);
	/* a record of a process that is gone: ours, with another start time */
	struct tether_pidrecord rec = self_rec;
	rec.start_time += 1;
	struct tether_buf b;
	tether_buf_init(&b);
	tether_pidrecord_format(&rec, &b);
	tu_write_file(stale_path, b.data, b.len, 0644);
	tether_buf_done(&b);
}

START_TEST(pidfile_out_of_memory)
{
	if (!available("pidfile_out_of_memory"))
		return;
	static char *const argv[] = {"tether", "run", "--", "w", NULL};
	ck_assert_int_eq(tether_pidrecord_init_self(&self_rec, argv, tether_clock_real()), 0);
	setenv("TETHER_OOM_DIR", tu_path("state"), 1);
	sweep_reset = pidfile_reset;
	/* runs that answer 0 with the right result: who holds the lock is
	 * found without the record's hint when the record cannot be read */
	struct sweep s = sweep("the pidfile's life", pidfile_op, (void *)tu_path("state/t.pid"), true);
	ck_assert_uint_ge(s.enomem, 10);
	stale_path = tu_path("state/s.pid");
	sweep_reset = stale_reset;
	s = sweep("a stale pidfile", stale_op, (void *)stale_path, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	sweep_reset = NULL;
	tether_pidrecord_done(&self_rec);
}
END_TEST

/* ---- supervisor ----------------------------------------------------------------------- */

struct new_arg {
	const char *progress;
};

/* A supervisor made (its configuration resolved: the environment's edits,
 * an --env-file; a progress file per instance; NOTIFY_SOCKET) and freed. */
static int supervisor_new_op(void *arg)
{
	struct new_arg *a = arg;
	static char *argv[] = {TETHER_WORKER, NULL};
	static const char *env[] = {"A=1", "B", "C=3"};
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = tu_path("t.pid");
	cfg.argv = argv;
	cfg.instances = 3;
	cfg.watchdog = 10 * TETHER_NSEC_PER_SEC;
	cfg.progress_file = a->progress;
	cfg.env.items = env;
	cfg.env.count = 3;
	cfg.env_file = tu_path("env");
	struct tether_supervisor *sv = NULL;
	struct tether_result res;
	int r = tether_supervisor_new(&cfg, tether_clock_real(), NULL, &sv, &res);
	if (r == -ENOMEM)
		return res.outcome == TETHER_OUTCOME_INTERNAL && strstr(res.message, "out of memory") ? r : __LINE__;
	if (r < 0)
		return r;
	tether_supervisor_free(sv);
	return 0;
}

START_TEST(supervisor_new_out_of_memory)
{
	if (!available("supervisor_new_out_of_memory"))
		return;
	static const char env[] = "D=4\n# a comment\nE=five\n";
	tu_write_file(tu_path("env"), env, strlen(env), 0600);
	ck_assert_int_eq(mkdir(tu_path("progress"), 0700), 0);
	setenv("NOTIFY_SOCKET", "/run/nowhere.sock", 1);
	setenv("WATCHDOG_USEC", "1000000", 1);
	struct new_arg here = {"p%i"}, there = {tu_path("progress/p%i")};
	struct sweep s = sweep("tether_supervisor_new (progress here)", supervisor_new_op, &here, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	s = sweep("tether_supervisor_new (progress there)", supervisor_new_op, &there, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
}
END_TEST

/* ---- spawn ---------------------------------------------------------------------------- */

static int spawn_spec_op(void *arg)
{
	(void)arg;
	static char *const argv[] = {"/bin/true", "a", "b", NULL};
	static char *const edits[] = {"A=1", "B=2", "PATH=/nowhere", NULL};
	struct tether_spawn_env env = {
		.instance = 3, .notify_socket = "/run/n.sock", .watchdog_ns = 5000000, .scope = "sc", .edits = edits};
	struct tether_spawn_spec spec;
	int r = tether_spawn_spec_init(&spec, argv, &env);
	if (r < 0)
		return r;
	bool inst = false, scope = false, notify = false, wd = false, a = false, b = false, preload = false;
	for (char **e = spec.envp; *e; e++) {
		inst |= strcmp(*e, "TETHER_INSTANCE=3") == 0;
		scope |= strcmp(*e, "TETHER_SCOPE=sc") == 0;
		notify |= strcmp(*e, "NOTIFY_SOCKET=/run/n.sock") == 0;
		wd |= strcmp(*e, "WATCHDOG_USEC=5000") == 0;
		a |= strcmp(*e, "A=1") == 0;
		b |= strcmp(*e, "B=2") == 0;
		preload |= strncmp(*e, "LD_PRELOAD=", 11) == 0;
	}
	r = inst && scope && notify && wd && a && b && strcmp(spec.path, "/nowhere") == 0 &&
		    strcmp(spec.argv[2], "b") == 0
		? 0
		: __LINE__;
	tether_spawn_spec_done(&spec);
	/* a worker never inherits libfiu's preloads: LD_PRELOAD keeps only
	 * what is not the lab's, here nothing, and a copy that could not be
	 * made is nothing all the same */
	return r ? r : preload ? __LINE__ : 0;
}

START_TEST(spawn_spec_out_of_memory)
{
	if (!available("spawn_spec_out_of_memory"))
		return;
	setenv("OOM_TEST_VAR", "kept", 1);
	/* Runs that answer 0 with the right result: LD_PRELOAD (libfiu's,
	 * filtered out) is a copy it may do without, and glibc's asprintf
	 * keeps its first buffer when the one of the exact size cannot be had */
	struct sweep s = sweep("tether_spawn_spec_init", spawn_spec_op, NULL, true);
	ck_assert_uint_ge(s.enomem, 10);
}
END_TEST

/* ---- identity ------------------------------------------------------------------------- */

struct identity_arg {
	const char *spec;
	const char *passwd, *group;
	unsigned ngroups;
};

static int identity_op(void *arg)
{
	struct identity_arg *a = arg;
	struct tether_identity id = {0};
	char why[256] = "";
	int r = tether_identity_resolve(a->spec, a->passwd, a->group, &id, why, sizeof why);
	/* said: "out of memory", or the file that could not be read for it */
	if (r == -ENOMEM && !strstr(why, "out of memory") && !strstr(why, strerror(ENOMEM)))
		return __LINE__;
	if (r < 0)
		return r;
	r = id.ngroups == a->ngroups ? 0 : __LINE__;
	tether_identity_done(&id);
	return r;
}

START_TEST(identity_out_of_memory)
{
	if (!available("identity_out_of_memory"))
		return;
	/* a passwd of more than 4 KiB (the first buffer grows), a member of
	 * more than 16 groups (the list grows) */
	FILE *f = fopen(tu_path("passwd"), "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 200; i++)
		fprintf(f, "user%d:x:%d:%d:User %d:/home/user%d:/bin/sh\n", i, 2000 + i, 2000 + i, i, i);
	fprintf(f, "svc:x:990:990:Service:/srv/svc:/usr/sbin/nologin\n");
	ck_assert_int_eq(fclose(f), 0);
	f = fopen(tu_path("group"), "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "svc:x:990:\n");
	for (int i = 0; i < 20; i++)
		fprintf(f, "g%d:x:%d:user1,svc\n", i, 3000 + i);
	ck_assert_int_eq(fclose(f), 0);
	struct identity_arg a = {"svc:g3", tu_path("passwd"), tu_path("group"), 21};
	struct sweep s = sweep("tether_identity_resolve svc:g3", identity_op, &a, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	/* a numeric uid with no entry: its only group is added on its own */
	struct identity_arg n = {"4242:4343", tu_path("passwd"), tu_path("group"), 1};
	s = sweep("tether_identity_resolve 4242:4343", identity_op, &n, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
}
END_TEST

/* ---- output --------------------------------------------------------------------------- */

static int output_new_op(void *arg)
{
	const char *pattern = arg;
	struct tether_output_config cfg = {.path = pattern, .max_bytes = 1 << 20, .keep = 2, .instances = 3};
	struct tether_output *o = NULL;
	char why[256];
	bool file_failed = false;
	int r = tether_output_new(&cfg, &o, why, sizeof why, &file_failed);
	/* said: "out of memory", or the file that could not be opened for it */
	if (r == -ENOMEM && !strstr(why, "out of memory") && !(file_failed && strstr(why, strerror(ENOMEM))))
		return __LINE__;
	if (r < 0)
		return r;
	tether_output_free(o, tether_clock_now(tether_clock_real()), tether_clock_wall(tether_clock_real()));
	return 0;
}

START_TEST(output_new_out_of_memory)
{
	if (!available("output_new_out_of_memory"))
		return;
	struct sweep s = sweep("tether_output_new (one file)", output_new_op, (void *)tu_path("all.log"), false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	s = sweep("tether_output_new (a file each)", output_new_op, (void *)tu_path("w%i.log"), false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
}
END_TEST

struct lines {
	unsigned n;
	size_t bytes;
};

static void count_line(void *ctx, const char *a, size_t alen, const char *b, size_t blen)
{
	struct lines *l = ctx;
	(void)a;
	(void)b;
	l->n++;
	l->bytes += alen + blen;
}

/* A partial line that cannot be kept goes out as it is: cut, not lost. */
START_TEST(output_split_out_of_memory_emits_what_it_cannot_keep)
{
	if (!available("output_split_out_of_memory_emits_what_it_cannot_keep"))
		return;
	struct tether_output_carry carry = {0};
	struct lines l = {0};
	tu_fault_arm("libc/mm/realloc", ENOMEM, 1, 1, TU_FAULT_SELF);
	int r = tether_output_split(&carry, "one\ntwo\npart", 12, count_line, &l);
	tu_fault_disarm();
	ck_assert_uint_eq(tu_fault_failed(), 1);
	ck_assert_int_eq(r, -ENOMEM);
	ck_assert_uint_eq(l.n, 3);
	ck_assert_uint_eq(l.bytes, 10); /* "one", "two", "part": every byte went out */
	ck_assert_uint_eq(carry.len, 0);
	/* and the next bytes begin a line of their own */
	ck_assert_int_eq(tether_output_split(&carry, "rest\n", 5, count_line, &l), 0);
	ck_assert_uint_eq(l.n, 4);
	ck_assert_uint_eq(l.bytes, 14);
	tether_output_carry_done(&carry);
}
END_TEST

/* ---- proc ----------------------------------------------------------------------------- */

static int children_op(void *arg)
{
	size_t want = *(size_t *)arg;
	pid_t *list = NULL;
	size_t n = 0;
	int r = tether_proc_children(getpid(), &list, &n);
	if (r < 0)
		return r;
	free(list);
	return n == want ? 0 : __LINE__;
}

static int tree_op(void *arg)
{
	size_t want = *(size_t *)arg;
	struct tether_tree tree = {0};
	int r = tether_tree_collect(getpid(), &tree);
	size_t n = tree.n;
	tether_tree_done(&tree);
	if (r < 0)
		return r;
	return n == want ? 0 : __LINE__;
}

START_TEST(proc_children_out_of_memory)
{
	if (!available("proc_children_out_of_memory"))
		return;
	/* more children than the list's first capacity (16) */
	size_t want = 20;
	for (size_t i = 0; i < want; i++)
		tu_start_sleeper();
	struct sweep s = sweep("tether_proc_children", children_op, &want, false);
	ck_assert_uint_eq(s.enomem, s.runs_failed);
	/* A snapshot of the same tree, each member held by a pidfd: a pass
	 * that could not read everything is made again, so a failure once is
	 * a whole tree all the same (the op checks it is whole) ... */
	s = sweep("tether_tree_collect", tree_op, &want, true);
	ck_assert_uint_eq(s.enomem, 0);
	/* ... and one that persists is -ENOMEM, with nothing kept */
	size_t before = heap_in_use();
	tu_fault_arm("libc/mm/realloc", ENOMEM, 1, 0, TU_FAULT_SELF);
	int r = tree_op(&want);
	tu_fault_disarm();
	ck_assert_int_eq(r, -ENOMEM);
	ck_assert_uint_eq(heap_in_use(), before);
}
END_TEST

/* ---- buf ------------------------------------------------------------------------------ */

START_TEST(buf_out_of_memory_is_sticky)
{
	if (!available("buf_out_of_memory_is_sticky"))
		return;
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_puts(&b, "kept");
	tu_fault_arm("libc/mm/realloc", ENOMEM, 1, 0, TU_FAULT_SELF);
	for (int i = 0; i < 100; i++)
		tether_buf_printf(&b, "%d-%s", i, "more text than the first capacity holds, many times over");
	tu_fault_disarm();
	ck_assert(b.oom);
	/* what follows is refused too: one answer, whole or none */
	tether_buf_puts(&b, "x");
	ck_assert(b.oom);
	tether_buf_done(&b);
	/* and a reset buffer is whole again */
	tether_buf_init(&b);
	tether_buf_puts(&b, "again");
	ck_assert(!b.oom);
	ck_assert_str_eq(b.data, "again");
	tether_buf_done(&b);
}
END_TEST
#endif /* TETHER_FAULT_INJECTION */

int main(int argc, char **argv)
{
	(void)argc;
#if !defined(__SANITIZE_ADDRESS__)
	/* again under libfiu's POSIX preload, so that its libc/mm points exist */
	if (!getenv(PRELOADED) && *FIU_POSIX_PRELOAD && access(FIU_POSIX_PRELOAD, R_OK) == 0) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		if (n > 0) {
			self[n] = '\0';
			setenv(PRELOADED, "1", 1);
			setenv("LD_PRELOAD", FIU_POSIX_PRELOAD, 1);
			/* no per-thread cache: a chunk freed into it still
			 * counts as in use, and would read as a leak */
			setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
			execv(self, argv);
			unsetenv(PRELOADED); /* run without: every test says SKIP */
			unsetenv("LD_PRELOAD");
		}
	}
#endif
	Suite *s = suite_create("oom");
	TCase *tc = tcase_create("oom");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, json_parse_out_of_memory);
	tcase_add_test(tc, pidrecord_out_of_memory);
	tcase_add_test(tc, pidfile_out_of_memory);
	tcase_add_test(tc, supervisor_new_out_of_memory);
	tcase_add_test(tc, spawn_spec_out_of_memory);
	tcase_add_test(tc, identity_out_of_memory);
	tcase_add_test(tc, output_new_out_of_memory);
	tcase_add_test(tc, output_split_out_of_memory_emits_what_it_cannot_keep);
	tcase_add_test(tc, proc_children_out_of_memory);
	tcase_add_test(tc, buf_out_of_memory_is_sticky);
#endif
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
