/* SPDX-License-Identifier: MIT */
/* soak.c — `harness soak [--duration 24h] [--clock simulated|real] [--seed S]
 * [--instances K] [--tether PATH] [--report DIR] ...`: the command and its
 * options (see soak.h for the whole).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "parse.h"
#include "soak/soak.h"

static const char usage_text[] =
	"Usage: harness soak [OPTIONS]\n\n"
	"A seeded, deterministic simulation: a schedule of crashes, hangs, notify floods,\n"
	"ENOSPC on the heartbeat log, fork failures, SIGKILLs of tether and second\n"
	"supervisors, played against real tether and worker processes while tether's\n"
	"timers run on its simulated clock (tether run --sim-clock), checked against an\n"
	"independent model of the policy after every step. Exit 0 iff every invariant held.\n\n"
	"  --duration DUR     virtual time to run (default 24h)\n"
	"  --clock MODE       simulated (default) or real: the same schedule in real time\n"
	"                     (without the ENOSPC and fork-failure events: tether takes\n"
	"                     fault requests only with --sim-clock)\n"
	"  --seed S           the schedule's seed (default: random, printed)\n"
	"  --instances K      tether's pool (default 4, at most 32)\n"
	"  --isolation MODE   mixed (default: incarnations alternate subreaper and pidns\n"
	"                     where PID namespaces are allowed), pidns or subreaper\n"
	"  --scale N          divide every duration (tether's and the schedule's) by N,\n"
	"                     for a compressed real-clock soak (default 1)\n"
	"  --tether PATH      the supervisor (default: $TETHER, else the build's)\n"
	"  --worker PATH      the fixture worker (default: the build's fixtures/worker)\n"
	"  --report DIR       where soak.json goes (default: the build's reports/)\n"
	"  --schedule-only    print the schedule's digest and events, run nothing\n"
	"  --keep             keep the run's directory (kept anyway on failure)\n"
	"  --verbose          print every event as it is injected\n";

/* "harness soak: <what>" and where to read more: exit 64. Every refusal
 * names the option and the value it refused (harness/soak/soak-check). */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("harness soak: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'harness soak --help'.\n", stderr);
	return 64;
}

static int bad_value(const char *opt, const char *value, const char *expected)
{
	return usage_error("invalid value for --%s: '%s' (%s)", opt, value, expected);
}

/* May tether make PID namespaces here (root or CAP_SYS_ADMIN)? */
static bool pidns_allowed(void)
{
	if (geteuid() == 0)
		return true;
	size_t len;
	int e;
	char *text = lab_read_file("/proc/self/status", 1 << 16, &len, &e);
	const char *cap = text ? strstr(text, "CapEff:") : NULL;
	bool ok = cap && (strtoull(cap + 7, NULL, 16) >> 21) & 1;
	free(text);
	return ok;
}

/* tether's options for the soak: SPEC's defaults where they make a lively
 * day (1s/60s backoff, 5m window, 5m heartbeats), a crash limit of 8 so that
 * only bursts give up (a storm of 9, a long fork failure), a 60s watchdog,
 * and a small log that rotates a dozen times a day. */
static void set_params(struct soak_params *p, unsigned instances, unsigned scale, bool real)
{
	int64_t f = scale;
#define SCALED(ms) ((ms) / f > 0 ? (ms) / f : 1)
	*p = (struct soak_params){
		.instances = instances,
		.watchdog = SCALED(60 * MS_PER_SEC),
		.backoff_initial = SCALED(1 * MS_PER_SEC),
		.backoff_max = SCALED(60 * MS_PER_SEC),
		.crash_window = SCALED(5 * MS_PER_MIN),
		.crash_limit = 8,
		.stop_timeout = SCALED(5 * MS_PER_SEC),
		.heartbeat = SCALED(5 * MS_PER_MIN),
		.log_max_bytes = 16384,
		.log_keep = 3,
		.tolerance = real ? 250 : 0,
	};
#undef SCALED
	p->pet_every = p->watchdog / 2 > 0 ? p->watchdog / 2 : 1;
}

static void print_schedule(const struct soak *s)
{
	for (size_t i = 0; i < s->sched.n; i++) {
		const struct soak_event *e = &s->sched.ev[i];
		char t[32];
		printf("%s %-11s target %u", soak_fmt_vms(e->at, t, sizeof t), soak_kind_name(e->kind), e->target);
		if (e->kind == SOAK_EV_EXIT || e->kind == SOAK_EV_STORM || e->kind == SOAK_EV_FLOOD)
			printf(" n %u", e->n);
		if (e->kind == SOAK_EV_FLOOD)
			printf(" fds %u", e->fds);
		if (e->len)
			printf(" for %s", soak_fmt_vms(e->len, t, sizeof t));
		putchar('\n');
	}
}

int harness_cmd_soak(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"duration", required_argument, NULL, 'd'}, {"clock", required_argument, NULL, 'c'},
		{"seed", required_argument, NULL, 's'},     {"instances", required_argument, NULL, 'i'},
		{"isolation", required_argument, NULL, 'I'}, {"scale", required_argument, NULL, 'S'},
		{"tether", required_argument, NULL, 't'},   {"worker", required_argument, NULL, 'w'},
		{"report", required_argument, NULL, 'r'},   {"schedule-only", no_argument, NULL, 'o'},
		{"keep", no_argument, NULL, 'k'},           {"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
	};
	struct soak s = {.argc = argc, .argv = argv, .scale = 1, .isolation = "mixed"};
	const char *duration_arg = "24h", *tether_arg = NULL, *worker_arg = NULL, *report_arg = NULL;
	bool have_seed = false, schedule_only = false;
	uint64_t v;
	int64_t ns = 0;
	int c;
	opterr = 0; /* said below, naming the option */
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': duration_arg = optarg; break;
		case 'c':
			if (strcmp(optarg, "simulated") && strcmp(optarg, "real"))
				return bad_value("clock", optarg, "simulated or real");
			s.real = !strcmp(optarg, "real");
			break;
		case 's':
			if (lab_seed_parse(optarg, &s.seed) < 0)
				return bad_value("seed", optarg, "expected a whole number");
			have_seed = true;
			break;
		case 'i':
			if (tether_parse_uint(optarg, 1, SOAK_MAX_INSTANCES, &v) < 0)
				return bad_value("instances", optarg, "expected a whole number from 1 to 32");
			s.p.instances = (unsigned)v;
			break;
		case 'I':
			if (strcmp(optarg, "mixed") && strcmp(optarg, "pidns") && strcmp(optarg, "subreaper"))
				return bad_value("isolation", optarg, "mixed, pidns or subreaper");
			s.isolation = optarg;
			break;
		case 'S':
			if (tether_parse_uint(optarg, 1, 3600, &v) < 0)
				return bad_value("scale", optarg, "expected a whole number from 1 to 3600");
			s.scale = (unsigned)v;
			break;
		case 't': tether_arg = optarg; break;
		case 'w': worker_arg = optarg; break;
		case 'r': report_arg = optarg; break;
		case 'o': schedule_only = true; break;
		case 'k': s.keep = true; break;
		case 'v': s.verbose = true; break;
		case 'h': fputs(usage_text, stdout); return 0;
		case ':': return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			if (optopt)
				return usage_error("unknown option '-%c'", optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s' (harness soak takes options only)", argv[optind]);
	/* 1s at least: a soak shorter than one step of the schedule judges nothing */
	int pr = tether_parse_duration(duration_arg, &ns);
	if (pr < 0 || ns < NS_PER_SEC)
		return bad_value("duration", duration_arg,
				 pr == -ERANGE ? "out of range" : "expected e.g. 6h, 24h, 7d; at least 1s");
	unsigned instances = s.p.instances ? s.p.instances : 4;
	if (s.real && s.scale > 60) {
		/* A 60s watchdog over 60 is 1s: below that, the real scheduling
		 * latency of a loaded machine is no longer small beside it. */
		fprintf(stderr, "harness soak: --scale above 60 makes real-clock timers too short to judge\n");
		return 64;
	}
	if (!have_seed)
		s.seed = lab_seed_random();
	s.duration = ns / NS_PER_MS;
	s.duration_arg = duration_arg;
	soak_schedule_make(s.seed, s.duration, instances, &s.sched);
	printf("schedule %016llx (seed %llu, %s, %u instances, %zu events)\n", (unsigned long long)s.sched.digest,
	       (unsigned long long)s.seed, duration_arg, instances, s.sched.n);
	if (schedule_only) {
		print_schedule(&s);
		soak_schedule_free(&s.sched);
		return 0;
	}
	fflush(stdout);

	/* The run's time axis is the schedule's divided by --scale. */
	set_params(&s.p, instances, s.scale, s.real);
	s.duration /= s.scale;
	for (size_t i = 0; i < s.sched.n; i++) {
		s.sched.ev[i].at /= s.scale;
		s.sched.ev[i].len = s.sched.ev[i].len / s.scale > 0 || !s.sched.ev[i].len ? s.sched.ev[i].len / s.scale : 1;
	}
	struct lab_paths where;
	lab_paths_find(&where, tether_arg, worker_arg, report_arg);
	if (!where.tether || !where.worker) {
		fprintf(stderr, "harness soak: no executable tether at %s or worker at %s (--tether, --worker)\n",
			where.tether_asked, where.worker_asked);
		return 64;
	}
	s.tether = where.tether;
	s.worker = where.worker;
	s.report_dir = where.report;
	int e = lab_mkdtemp("soak", &s.dir);
	if (e < 0)
		lab_die("soak: mkdtemp %s: %s", s.dir, strerror(-e));
	char *state = xasprintf("%s/state", s.dir);
	mkdir(state, 0755);
	free(state);
	s.journal_path = xasprintf("%s/heartbeat.log", s.dir);
	char *supp = xasprintf("%s/lsan.supp", s.dir);
	static const char lsan_supp[] = "# libfiu keeps copies of the names of enabled points\nleak:libfiu.so\n";
	lab_write_file(supp, lsan_supp, sizeof lsan_supp - 1);
	free(supp);
	s.pidns_ok = pidns_allowed();
	/* A worker that vanishes while we write its FIFO is an EPIPE, not our end. */
	signal(SIGPIPE, SIG_IGN);
	s.model = soak_model_new(&s.p);
	s.wall_start = lab_now();
	soak_drive(&s);
	soak_finish_report(&s);

	int rc = s.failed ? 1 : 0;
	if (rc || s.keep)
		printf("soak: the run's files are in %s\n", s.dir);
	else
		lab_rm_rf(s.dir);
	soak_journal_free(s.journal);
	soak_model_free(s.model);
	soak_schedule_free(&s.sched);
	free(s.samples);
	free(s.marks);
	free(s.fail_msg);
	free(s.journal_path);
	free(s.dir);
	lab_paths_done(&where);
	return rc;
}
