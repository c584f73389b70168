/* SPDX-License-Identifier: MIT */
/* options.c — parsing `tether run|start` options (SPEC §1, §2). */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "parse.h"

static const char run_help[] =
	"Usage: tether %s [OPTIONS] -- COMMAND [ARG...]\n"
	"\n"
	"%s"
	"\n"
	"  --pidfile PATH            lock and identity record (default " DEFAULT_PIDFILE ")\n"
	"  --instances N             a pool of N copies (TETHER_INSTANCE=0..N-1), default 1\n"
	"  --restart MODE            on-failure (default), always or never\n"
	"  --backoff-initial DUR     first restart delay (default 1s); doubles per crash\n"
	"  --backoff-max DUR         cap of the restart delay (default 60s)\n"
	"  --crash-limit N           give up beyond N crashes in the window (default 10)\n"
	"  --crash-window DUR        the sliding crash window (default 5m)\n"
	"  --watchdog DUR            kill an instance that shows no progress for DUR\n"
	"  --progress-file PATH      a modification of PATH counts as progress (%%i = instance)\n"
	"  --notify-ready            an instance is ready only after it sends READY=1\n"
	"  --stop-timeout DUR        grace between SIGTERM and SIGKILL (default 5s)\n"
	"  --heartbeat-log PATH      JSON-lines heartbeat and event log\n"
	"  --heartbeat-interval DUR  heartbeat period (default 5m)\n"
	"  --log-max-bytes SIZE      rotate the log beyond SIZE (default 10M)\n"
	"  --log-keep N              rotated logs kept (default 3)\n"
	"  --min-disk SIZE           refuse to start below SIZE free (default 1G)\n"
	"  --min-mem SIZE            warn below SIZE of MemAvailable (default 4G)\n"
	"  --memory-limit SIZE       per-instance memory limit (cgroup v2, else RLIMIT_AS)\n"
	"  --isolation MODE          auto (default), pidns or subreaper: how an instance's\n"
	"                            tree is held (see the README's \"zero orphans\")\n"
	"%s"
	"  --quiet                   only errors on stderr\n"
	"\n"
	"DUR: 250ms, 5s, 10m, 24h (plain number = seconds). SIZE: 512, 64K, 10M, 1G.\n"
	"Exit status: 0 stopped or all done, 1 gave up (or an instance failed),\n"
	"64 usage, 69 not enough disk, 71 a system call tether needs failed,\n"
	"73 pidfile, 75 already running, 127 cannot execute.\n";

enum {
	OPT_PIDFILE = 256, OPT_INSTANCES, OPT_RESTART, OPT_BACKOFF_INITIAL, OPT_BACKOFF_MAX,
	OPT_CRASH_LIMIT, OPT_CRASH_WINDOW, OPT_WATCHDOG, OPT_PROGRESS_FILE, OPT_NOTIFY_READY,
	OPT_STOP_TIMEOUT, OPT_HEARTBEAT_LOG, OPT_HEARTBEAT_INTERVAL, OPT_LOG_MAX_BYTES, OPT_LOG_KEEP,
	OPT_MIN_DISK, OPT_MIN_MEM, OPT_MEMORY_LIMIT, OPT_QUIET, OPT_LOG_FILE, OPT_ISOLATION,
	OPT_SIM_CLOCK, OPT_START_TIMEOUT, OPT_HELP,
};

static int uint_option(const char *name, const char *value, uint64_t min, uint64_t max, uint64_t *ret)
{
	int r = tether_parse_uint(value, min, max, ret);
	if (r < 0)
		return cli_usage_error("invalid value for --%s: '%s' (expected a whole number from %llu to %llu)",
				       name, value, (unsigned long long)min, (unsigned long long)max);
	return 0;
}

int parse_run_options(int argc, char **argv, bool is_start, struct run_options *opts)
{
	static const struct option longopts[] = {
		{"pidfile", required_argument, NULL, OPT_PIDFILE},
		{"instances", required_argument, NULL, OPT_INSTANCES},
		{"restart", required_argument, NULL, OPT_RESTART},
		{"backoff-initial", required_argument, NULL, OPT_BACKOFF_INITIAL},
		{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
		{"crash-limit", required_argument, NULL, OPT_CRASH_LIMIT},
		{"crash-window", required_argument, NULL, OPT_CRASH_WINDOW},
		{"watchdog", required_argument, NULL, OPT_WATCHDOG},
		{"progress-file", required_argument, NULL, OPT_PROGRESS_FILE},
		{"notify-ready", no_argument, NULL, OPT_NOTIFY_READY},
		{"stop-timeout", required_argument, NULL, OPT_STOP_TIMEOUT},
		{"heartbeat-log", required_argument, NULL, OPT_HEARTBEAT_LOG},
		{"heartbeat-interval", required_argument, NULL, OPT_HEARTBEAT_INTERVAL},
		{"log-max-bytes", required_argument, NULL, OPT_LOG_MAX_BYTES},
		{"log-keep", required_argument, NULL, OPT_LOG_KEEP},
		{"min-disk", required_argument, NULL, OPT_MIN_DISK},
		{"min-mem", required_argument, NULL, OPT_MIN_MEM},
		{"memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT},
		{"isolation", required_argument, NULL, OPT_ISOLATION},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"log-file", required_argument, NULL, OPT_LOG_FILE},
#ifdef TETHER_FAULT_INJECTION
		{"sim-clock", no_argument, NULL, OPT_SIM_CLOCK},
#endif
		{"start-timeout", required_argument, NULL, OPT_START_TIMEOUT},
		{"help", no_argument, NULL, OPT_HELP},
		{0},
	};
	struct tether_config *cfg = &opts->cfg;
	uint64_t v;
	int c;
	*opts = (struct run_options){.start_timeout = 90 * TETHER_NSEC_PER_SEC};
	tether_config_defaults(cfg);
	opterr = 0;
	optind = 1;
	/* "+": stop at the first non-option, which begins COMMAND. */
	while ((c = getopt_long(argc, argv, "+:", longopts, NULL)) != -1) {
		const char *name = NULL;
		for (const struct option *o = longopts; o->name; o++)
			if (o->val == c)
				name = o->name;
		switch (c) {
		case OPT_PIDFILE: cfg->pidfile = optarg; break;
		case OPT_INSTANCES:
			if (uint_option(name, optarg, 1, 1024, &v))
				return EXIT_USAGE;
			cfg->instances = (unsigned)v;
			break;
		case OPT_RESTART:
			if (strcmp(optarg, "on-failure") == 0)
				cfg->policy.restart = TETHER_RESTART_ON_FAILURE;
			else if (strcmp(optarg, "always") == 0)
				cfg->policy.restart = TETHER_RESTART_ALWAYS;
			else if (strcmp(optarg, "never") == 0)
				cfg->policy.restart = TETHER_RESTART_NEVER;
			else
				return cli_usage_error("invalid value for --restart: '%s' (on-failure, always or never)",
						       optarg);
			break;
		case OPT_BACKOFF_INITIAL:
			if (cli_duration(name, optarg, &cfg->policy.backoff_initial))
				return EXIT_USAGE;
			break;
		case OPT_BACKOFF_MAX:
			if (cli_duration(name, optarg, &cfg->policy.backoff_max))
				return EXIT_USAGE;
			break;
		case OPT_CRASH_LIMIT:
			if (uint_option(name, optarg, 0, 100000, &v))
				return EXIT_USAGE;
			cfg->policy.crash_limit = (unsigned)v;
			break;
		case OPT_CRASH_WINDOW:
			if (cli_duration(name, optarg, &cfg->policy.crash_window))
				return EXIT_USAGE;
			break;
		case OPT_WATCHDOG:
			if (cli_duration(name, optarg, &cfg->watchdog))
				return EXIT_USAGE;
			if (cfg->watchdog == 0)
				return cli_usage_error("invalid value for --watchdog: '%s' (must be more than 0)", optarg);
			break;
		case OPT_PROGRESS_FILE: cfg->progress_file = optarg; break;
		case OPT_NOTIFY_READY: cfg->notify_ready = true; break;
		case OPT_STOP_TIMEOUT:
			if (cli_duration(name, optarg, &cfg->stop_timeout))
				return EXIT_USAGE;
			break;
		case OPT_HEARTBEAT_LOG: cfg->heartbeat_log = optarg; break;
		case OPT_HEARTBEAT_INTERVAL:
			if (cli_duration(name, optarg, &cfg->heartbeat_interval))
				return EXIT_USAGE;
			if (cfg->heartbeat_interval == 0)
				return cli_usage_error("invalid value for --heartbeat-interval: '%s' (must be more than 0)",
						       optarg);
			break;
		case OPT_LOG_MAX_BYTES:
			if (cli_size(name, optarg, &cfg->log_max_bytes))
				return EXIT_USAGE;
			if (cfg->log_max_bytes < 1024)
				return cli_usage_error("invalid value for --log-max-bytes: '%s' (at least 1K)", optarg);
			break;
		case OPT_LOG_KEEP:
			if (uint_option(name, optarg, 0, 1000, &v))
				return EXIT_USAGE;
			cfg->log_keep = (unsigned)v;
			break;
		case OPT_MIN_DISK:
			if (cli_size(name, optarg, &cfg->min_disk))
				return EXIT_USAGE;
			break;
		case OPT_MIN_MEM:
			if (cli_size(name, optarg, &cfg->min_mem))
				return EXIT_USAGE;
			break;
		case OPT_MEMORY_LIMIT:
			if (cli_size(name, optarg, &cfg->memory_limit))
				return EXIT_USAGE;
			if (cfg->memory_limit < (1u << 20))
				return cli_usage_error("invalid value for --memory-limit: '%s' (at least 1M)", optarg);
			break;
		case OPT_ISOLATION:
			if (strcmp(optarg, "auto") == 0)
				cfg->isolation = TETHER_ISOLATION_AUTO;
			else if (strcmp(optarg, "pidns") == 0)
				cfg->isolation = TETHER_ISOLATION_PIDNS;
			else if (strcmp(optarg, "subreaper") == 0)
				cfg->isolation = TETHER_ISOLATION_SUBREAPER;
			else
				return cli_usage_error("invalid value for --isolation: '%s' (auto, pidns or subreaper)",
						       optarg);
			break;
		case OPT_QUIET: opts->quiet = true; break;
		case OPT_LOG_FILE:
			if (!is_start)
				return cli_usage_error("--log-file is an option of 'tether start'");
			opts->log_file = optarg;
			break;
		case OPT_SIM_CLOCK: opts->sim_clock = true; break;
		case OPT_START_TIMEOUT:
			if (!is_start)
				return cli_usage_error("--start-timeout is an option of 'tether start'");
			if (cli_duration(name, optarg, &opts->start_timeout))
				return EXIT_USAGE;
			break;
		case OPT_HELP:
			printf(run_help, is_start ? "start" : "run",
			       is_start ? "Starts a supervisor of COMMAND in the background (new session, stdio to\n"
					  "/dev/null or --log-file) and returns once every instance is ready, or\n"
					  "with the supervisor's failure code.\n"
					: "Supervises COMMAND in the foreground until stopped (SIGTERM, SIGINT, SIGHUP\n"
					  "or 'tether stop'): restarts it with backoff, kills it when hung, and leaves\n"
					  "no process of its tree behind.\n",
			       is_start ? "  --log-file PATH           the supervisor's and workers' output (default /dev/null)\n"
					  "  --start-timeout DUR       give up waiting for readiness after DUR: stop the\n"
					  "                            supervisor, exit 1 (default 90s; 0 = no limit)\n"
					: "");
			return -1;
		case ':':
			return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return cli_usage_error("unknown option '%s' for %s", argv[optind - 1], argv[0]);
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0 && argv[optind][0] == '-')
		return cli_usage_error("unknown option '%s'", argv[optind]);
	if (optind >= argc)
		return cli_usage_error("no COMMAND given (tether %s [OPTIONS] -- COMMAND [ARG...])", argv[0]);
	if (!*cfg->pidfile)
		return cli_usage_error("--pidfile must not be empty");
	if (cfg->progress_file && !cfg->watchdog)
		return cli_usage_error("--progress-file needs --watchdog DUR (progress is what the watchdog waits for)");
	if (cfg->policy.backoff_max < cfg->policy.backoff_initial) {
		char a[32], b[32];
		return cli_usage_error("--backoff-max (%s) is less than --backoff-initial (%s)",
				       tether_format_duration(cfg->policy.backoff_max, a, sizeof a),
				       tether_format_duration(cfg->policy.backoff_initial, b, sizeof b));
	}
	if (cfg->policy.crash_window == 0)
		return cli_usage_error("invalid value for --crash-window: must be more than 0");
	cfg->argv = argv + optind;
	return 0;
}

void cli_message_hook(void *userdata, enum tether_message_level level, const char *text)
{
	const struct run_options *opts = userdata;
	if (level != TETHER_MSG_ERROR && opts && opts->quiet)
		return;
	if (level == TETHER_MSG_WARNING)
		cli_warn("%s", text);
	else
		cli_error("%s", text);
}

void cli_report_result(const struct tether_result *res)
{
	switch (res->outcome) {
	case TETHER_OUTCOME_USAGE:
		cli_usage_error("%s", res->message);
		break;
	case TETHER_OUTCOME_LOW_DISK:
	case TETHER_OUTCOME_PIDFILE:
	case TETHER_OUTCOME_RUNNING:
	case TETHER_OUTCOME_INTERNAL:
		cli_error("%s", res->message);
		break;
	default:
		/* said by the supervisor as it happened */
		break;
	}
}
