/* SPDX-License-Identifier: MIT */
/* stress.c — `harness stress`: options and the run (see stress.h for the
 * parts, harness/README.md for the user's side).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fault.h"
#include "common/common.h"
#include "stress/stress.h"

static const char stress_usage[] =
	"Usage: harness stress [OPTIONS]\n"
	"\n"
	"Start/ready/stop cycles of a fresh `tether run --pidfile P --min-mem 0 -- worker`,\n"
	"then races; checks after every cycle; prints latencies (start->ready, stop->gone,\n"
	"cycle), cycles/s and the fork+exec floor of the same run; writes REPORT/stress.json.\n"
	"Exits 0 iff every check passed (1 otherwise, 64 usage, 70 report not written).\n"
	"\n"
	"  --cycles N        start/stop cycles (default 1000)\n"
	"  --instances K     --instances of each tether (default 1)\n"
	"  --concurrency M   racers per race round (default 10)\n"
	"  --races R         rounds of the start race and of the stop race, and 10*R\n"
	"                    rounds of start racing stop (default 3; 0: no races)\n"
	"  --faults SPEC     seeded faults in the cycles: KIND[:SHARE],... or all[:SHARE]\n"
	"                    or none (default). SHARE = fraction of cycles (default 0.1;\n"
	"                    the shares add up to at most 1, one fault per cycle):\n"
	"                      enospc   ENOSPC on the pidfile write: exit 73, nothing left\n"
	"                      eintr    EINTR at random (p=0.05 per call) on every\n"
	"                               tether/sys/* point, also in `tether stop`: must pass\n"
	"                      eagain   EAGAIN on one fork, once: ready after a backoff\n"
	"                      sigkill  SIGKILL of tether during startup or after ready:\n"
	"                               tree gone in 2s, then a fresh start succeeds\n"
	"                      sigterm  SIGTERM 0-5ms after the spawn: exit 0, nothing left\n"
	"  --seed S          the schedule's seed (default: random, printed); the same\n"
	"                    seed gives the same schedule of faults and stop methods\n"
	"  --schedule        print the schedule the seed gives, run nothing\n"
	"  --tether PATH     the supervisor under test (default: $TETHER, else the one\n"
	"                    built next to this harness)\n"
	"  --worker PATH     the fixture worker (default: the one built next to this harness)\n"
	"  --report DIR      where stress.json goes (default: the build tree's reports/\n"
	"                    when run from a build, else ./reports)\n"
	"  --floor N         fork+exec+wait samples for the floor, at least (default\n"
	"                    500): one right before each cycle, the rest up front\n"
	"  --max-ratio X     fail when cycle p50 / floor p50 exceeds X (default: only\n"
	"                    reported, against the target 3)\n"
	"  --keep            keep the work directory (kept anyway after a failure)\n"
	"\n"
	"Checks per cycle: READY=1 on our NOTIFY_SOCKET; one lock holder whose complete\n"
	"record names it; K instances running (control socket); after the stop: exit 0\n"
	"(and `tether stop` exit 0), no pidfile/.tmp/.lock, no lock held, no process\n"
	"carrying the run marker (2s grace). Across cycles: fd count and VmRSS of each\n"
	"tether before its stop, first vs last decile after warm-up. Races: M x run on\n"
	"one pidfile (one ready, the rest exit 75), M x stop of one supervisor (all 0),\n"
	"run racing stop (stop exits 0; the supervisor was stopped, or stop came first\n"
	"and it owns the pidfile). Details: harness/README.md.\n";

static struct stress *the_stress; /* for the signal handler */

static void on_interrupt(int sig)
{
	(void)sig;
	if (the_stress)
		the_stress->interrupted = true;
}

static bool parse_uint(const char *s, unsigned long long min, unsigned long long max, unsigned long long *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < min || v > max)
		return false;
	*ret = v;
	return true;
}

static int print_schedule(struct stress *st)
{
	unsigned count[STRESS_FAULT_KINDS] = {0}, cmd = 0;
	printf("# seed %llu, faults %s, %u cycles\n", (unsigned long long)st->seed, st->mix.text, st->cycles);
	for (unsigned i = 0; i < st->cycles; i++) {
		struct stress_plan pl;
		char desc[128];
		stress_plan_draw(st->seed, i, st->instances, &st->mix, &pl);
		stress_plan_describe(&pl, desc, sizeof desc);
		printf("cycle %u: %s\n", i, desc);
		count[pl.fault]++;
		cmd += pl.stop_cmd;
	}
	printf("# none %u, enospc %u, eintr %u, eagain %u, sigkill %u, sigterm %u; stopped by command %u\n",
	       count[STRESS_FAULT_NONE], count[STRESS_FAULT_ENOSPC], count[STRESS_FAULT_EINTR],
	       count[STRESS_FAULT_EAGAIN], count[STRESS_FAULT_SIGKILL], count[STRESS_FAULT_SIGTERM], cmd);
	return 0;
}

/* Parses the options into st: 0, 1 (done: --help), or 64. */
static int parse_options(struct stress *st, int argc, char **argv, const char **tether_arg, const char **worker_arg,
			 const char **report_arg, unsigned *floor_n, bool *schedule, bool *have_seed)
{
	static const struct option longopts[] = {
		{"cycles", required_argument, NULL, 'n'},  {"concurrency", required_argument, NULL, 'm'},
		{"faults", required_argument, NULL, 'f'},  {"seed", required_argument, NULL, 's'},
		{"tether", required_argument, NULL, 't'},  {"report", required_argument, NULL, 'r'},
		{"instances", required_argument, NULL, 'k'}, {"races", required_argument, NULL, 'R'},
		{"worker", required_argument, NULL, 'w'},  {"floor", required_argument, NULL, 'F'},
		{"max-ratio", required_argument, NULL, 'x'}, {"schedule", no_argument, NULL, 'S'},
		{"keep", no_argument, NULL, 'K'},          {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *faults = "none", *err = NULL;
	unsigned long long v;
	int c;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!parse_uint(optarg, 0, 10000000, &v))
				err = "--cycles takes a number (0 to 10000000)";
			st->cycles = (unsigned)v;
			break;
		case 'm':
			if (!parse_uint(optarg, 2, 1000, &v))
				err = "--concurrency takes 2 to 1000";
			st->concurrency = (unsigned)v;
			break;
		case 'k':
			if (!parse_uint(optarg, 1, 1024, &v))
				err = "--instances takes 1 to 1024";
			st->instances = (unsigned)v;
			break;
		case 'R':
			if (!parse_uint(optarg, 0, 100000, &v))
				err = "--races takes a number (0 to 100000)";
			st->races = (unsigned)v;
			break;
		case 'F':
			if (!parse_uint(optarg, 1, 1000000, &v))
				err = "--floor takes 1 to 1000000";
			*floor_n = (unsigned)v;
			break;
		case 's':
			if (lab_seed_parse(optarg, &st->seed) < 0)
				err = "--seed takes a number";
			*have_seed = true;
			break;
		case 'x': {
			char *end;
			st->max_ratio = strtod(optarg, &end);
			if (*end || !(st->max_ratio > 0))
				err = "--max-ratio takes a positive number";
			break;
		}
		case 'f': faults = optarg; break;
		case 't': *tether_arg = optarg; break;
		case 'w': *worker_arg = optarg; break;
		case 'r': *report_arg = optarg; break;
		case 'S': *schedule = true; break;
		case 'K': st->keep = true; break;
		case 'h': fputs(stress_usage, stdout); return 1;
		default: fputs(stress_usage, stderr); return 64;
		}
		if (err)
			break;
	}
	if (!err && optind < argc)
		err = "takes no arguments";
	if (!err && stress_mix_parse(faults, &st->mix, &err) < 0 && !err)
		err = "bad --faults";
	if (err) {
		fprintf(stderr, "harness stress: %s\n", err);
		return 64;
	}
	return 0;
}

static void set_phase(struct stress *st, const char *phase)
{
	st->phase = phase;
	st->phase_at = lab_now();
}

static void run_all(struct stress *st, unsigned floor_n)
{
	set_phase(st, "floor");
	stress_progress(st, 0, floor_n, true);
	stress_floor_begin(st, floor_n, 50);
	set_phase(st, "cycle");
	for (unsigned i = 0; i < st->cycles && !st->interrupted; i++) {
		struct stress_plan pl;
		stress_plan_draw(st->seed, i, st->instances, &st->mix, &pl);
		stress_floor_sample(st);
		stress_cycle(st, i, &pl);
		st->cycles_run++;
		stress_progress(st, i + 1, st->cycles, false);
	}
	if (st->races && !st->interrupted) {
		set_phase(st, "start race");
		stress_race_start(st);
	}
	if (st->races && !st->interrupted) {
		set_phase(st, "stop race");
		stress_race_stop(st);
	}
	if (st->races && !st->interrupted) {
		set_phase(st, "start/stop race");
		stress_race_start_stop(st);
	}
	if (st->tty)
		fputs("\r\033[K", stderr);
	/* nothing of the run may outlive it */
	if (orphans_kill_all(st->run_id, lab_now() + 5 * NS_PER_SEC) > 0)
		stress_fail(st, "processes of the run survived SIGKILL at the end");
}

int harness_cmd_stress(int argc, char **argv)
{
	struct stress stv = {.cycles = 1000, .concurrency = 10, .instances = 1, .races = 3}, *st = &stv;
	const char *tether_arg = NULL, *worker_arg = NULL, *report_arg = NULL;
	unsigned floor_n = 500;
	bool schedule = false, have_seed = false;
	int r = parse_options(st, argc, argv, &tether_arg, &worker_arg, &report_arg, &floor_n, &schedule, &have_seed);
	if (r) {
		stress_mix_free(&st->mix);
		return r == 1 ? 0 : r;
	}
	if (!have_seed)
		st->seed = lab_seed_random();
	if (schedule) {
		r = print_schedule(st);
		stress_mix_free(&st->mix);
		return r;
	}

	struct lab_paths where;
	lab_paths_find(&where, tether_arg, worker_arg, report_arg);
	if (!where.tether || !where.worker) {
		fprintf(stderr, "harness stress: no executable %s at %s (--%s PATH)\n", where.tether ? "worker" : "tether",
			where.tether ? where.worker_asked : where.tether_asked, where.tether ? "worker" : "tether");
		r = 64;
		goto early;
	}
	st->tether = where.tether;
	st->worker = where.worker;
	bool faulty = false;
	for (int k = STRESS_FAULT_ENOSPC; k < STRESS_FAULT_KINDS; k++)
		faulty = faulty || (k != STRESS_FAULT_SIGKILL && k != STRESS_FAULT_SIGTERM && st->mix.share[k] > 0);
	if (faulty && (!tether_fault_available() || !*FIU_RUN_PRELOAD)) {
		fprintf(stderr, "harness stress: --faults %s needs libfiu (this build has no fault injection)\n",
			st->mix.text);
		r = 64;
		goto early;
	}
	if (lab_mkdir_p(where.report) < 0) {
		fprintf(stderr, "harness stress: cannot create %s: %s\n", where.report, strerror(errno));
		r = 64;
		goto early;
	}
	st->report_dir = where.report;
	int e = lab_mkdtemp("stress", &st->workdir);
	if (e < 0)
		lab_die("mkdtemp %s: %s", st->workdir, strerror(-e));
	char *sub = xasprintf("%s/race", st->workdir);
	mkdir(sub, 0755);
	free(sub);
	snprintf(st->run_id, sizeof st->run_id, "stress.%d.%llu", (int)getpid(), (unsigned long long)st->seed);
	/* one run: what its cycles start stays below us (common/orphans.c) */
	if (orphans_subreaper() < 0)
		lab_die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	stress_env_init(st);
	st->tty = isatty(STDERR_FILENO);
	size_t cap = st->cycles ? st->cycles : 1;
	st->up = xcalloc(cap, sizeof(int64_t));
	st->down = xcalloc(cap, sizeof(int64_t));
	st->cyc = xcalloc(cap, sizeof(int64_t));
	st->by_cmd = xcalloc(cap, sizeof(bool));
	st->fds = xcalloc(cap, sizeof(int64_t));
	st->rss = xcalloc(cap, sizeof(int64_t));
	st->kill_clean = xcalloc(cap, sizeof(int64_t));
	st->eagain_up = xcalloc(cap, sizeof(int64_t));

	/* Our own pipes and sockets must never kill us; a Ctrl-C ends the run
	 * with a report (no SA_RESTART: the wait returns and sees the flag). */
	signal(SIGPIPE, SIG_IGN);
	the_stress = st;
	struct sigaction sa = {.sa_handler = on_interrupt};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("# harness stress --cycles %u --instances %u --concurrency %u --races %u --faults %s --seed %llu\n",
	       st->cycles, st->instances, st->concurrency, st->races, st->mix.text, (unsigned long long)st->seed);
	fflush(stdout);
	stress_build_probe(st);
	st->started_mono = lab_now();
	stress_cpu_sample(&st->cpu_start);
	struct tether_clock real;
	tether_clock_init_real(&real);
	st->started_wall = tether_clock_wall(&real);
	run_all(st, floor_n);
	bool passed = false;
	r = stress_report(st, true, &passed);
	if (st->interrupted)
		printf("interrupted: the report covers what ran\n");
	if (st->keep || !passed)
		printf("work directory kept: %s\n", st->workdir);
	else
		lab_rm_rf(st->workdir);
	if (!passed)
		printf("replay: harness stress --cycles %u --instances %u --concurrency %u --races %u --faults %s --seed %llu\n",
		       st->cycles, st->instances, st->concurrency, st->races, st->mix.text, (unsigned long long)st->seed);

	stress_env_free(st);
	stress_mix_free(&st->mix);
	for (size_t i = 0; i < st->nfails_kept; i++)
		free(st->fails[i]);
	free(st->fails);
	free(st->up), free(st->down), free(st->cyc), free(st->by_cmd), free(st->fds), free(st->rss);
	free(st->kill_clean), free(st->eagain_up), free(st->floor);
	free(st->race_start.lat), free(st->race_stop.lat);
	free(st->workdir);
	free(st->tether_version);
	lab_paths_done(&where);
	the_stress = NULL;
	return r < 0 ? 70 : passed ? 0 : 1;

early: /* refused before anything ran */
	stress_mix_free(&st->mix);
	lab_paths_done(&where);
	return r;
}
