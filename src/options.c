/* SPDX-License-Identifier: MIT */
/* options.c — see options.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal.h"
#include "logfile.h"
#include "options.h"
#include "parse.h"
#include "workerenv.h"

#define RUNS (TETHER_CMD_RUN | TETHER_CMD_START)
#define CFG(field, ctype) TETHER_OPT_FIELD(struct tether_config, field, ctype)
#define SEC TETHER_NSEC_PER_SEC
/* The shortest heartbeat period: the loop writes a heartbeat when its time
 * has come and sets the next one an interval later, so an interval shorter
 * than a turn of the loop is a heartbeat at every turn, a busy loop writing
 * tens of MB of log a second (scenarios/heartbeat_interval_floor.scn). The
 * lab's own scenarios go down to 10ms. */
#define TETHER_HEARTBEAT_MIN (10 * TETHER_NSEC_PER_MSEC)

/* By value: the enums' order (policy.h, guardian.h). */
static const char *const restart_names[] = {"on-failure", "always", "never", NULL};
static const char *const isolation_names[] = {"auto", "pidns", "subreaper", NULL};

/* USER[:GROUP], both parts present; whether they exist is
 * tether_config_resolve's question (it reads the files). */
static const char *user_problem(const char *value)
{
	const char *colon = strchr(value, ':');
	if (colon == value || (colon && (!colon[1] || strchr(colon + 1, ':'))))
		return "expected USER or USER:GROUP";
	return NULL;
}

const struct tether_option tether_config_options[] = {
	{.name = "pidfile", .kind = TETHER_OPT_PATH, .offset = CFG(pidfile, const char *),
	 .commands = RUNS | TETHER_CMD_STOP | TETHER_CMD_KILL | TETHER_CMD_STATUS | TETHER_CMD_RESTART |
		     TETHER_CMD_SIGNAL,
	 .def = "state/tether.pid", .metavar = "PATH", .help = "lock and identity record"},
	{.name = "instances", .kind = TETHER_OPT_UINT, .commands = RUNS, .offset = CFG(instances, unsigned),
	 .min = 1, .max = TETHER_MAX_INSTANCES, .def = "1", .metavar = "N",
	 .help = "a pool of N copies, TETHER_INSTANCE=0..N-1"},
	{.name = "restart", .kind = TETHER_OPT_ENUM, .commands = RUNS,
	 .offset = TETHER_OPT_ENUM_FIELD(struct tether_config, policy.restart), .choices = restart_names,
	 .def = "on-failure", .metavar = "MODE", .help = "on-failure, always or never"},
	{.name = "backoff-initial", .kind = TETHER_OPT_DUR, .commands = RUNS,
	 .offset = CFG(policy.backoff_initial, int64_t), .def = "1s", .metavar = "DUR",
	 .help = "first restart delay, doubling per crash"},
	{.name = "backoff-max", .kind = TETHER_OPT_DUR, .commands = RUNS, .offset = CFG(policy.backoff_max, int64_t),
	 .def = "60s", .metavar = "DUR", .help = "cap of the restart delay"},
	{.name = "crash-limit", .kind = TETHER_OPT_UINT, .commands = RUNS, .offset = CFG(policy.crash_limit, unsigned),
	 .max = TETHER_CRASH_LIMIT_MAX, .def = "10", .metavar = "N",
	 .help = "give up beyond N crashes in the window"},
	{.name = "crash-window", .kind = TETHER_OPT_DUR, .commands = RUNS, .offset = CFG(policy.crash_window, int64_t),
	 .min = 1, .def = "5m", .metavar = "DUR", .help = "the sliding crash window"},
	{.name = "watchdog", .kind = TETHER_OPT_DUR, .commands = RUNS, .offset = CFG(watchdog, int64_t), .min = 1,
	 .zero_is_off = true, .metavar = "DUR", .help = "kill an instance that shows no progress for DUR"},
	{.name = "progress-file", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(progress_file, const char *),
	 .metavar = "PATH", .help = "a modification of PATH counts as progress (%i = instance)"},
	{.name = "notify-ready", .kind = TETHER_OPT_FLAG, .commands = RUNS, .offset = CFG(notify_ready, bool),
	 .help = "an instance is ready only after it sends READY=1"},
	{.name = "stop-timeout", .kind = TETHER_OPT_DUR, .commands = RUNS, .offset = CFG(stop_timeout, int64_t),
	 .def = "5s", .metavar = "DUR", .help = "grace between SIGTERM and SIGKILL"},
	{.name = "heartbeat-log", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(heartbeat_log, const char *),
	 .metavar = "PATH", .help = "JSON-lines heartbeat and event log"},
	{.name = "heartbeat-interval", .kind = TETHER_OPT_DUR, .commands = RUNS,
	 .offset = CFG(heartbeat_interval, int64_t), .min = TETHER_HEARTBEAT_MIN, .def = "5m", .metavar = "DUR",
	 .help = "heartbeat period, at least 10ms"},
	{.name = "log-max-bytes", .kind = TETHER_OPT_SIZE, .commands = RUNS, .offset = CFG(log_max_bytes, uint64_t),
	 .min = 1024, .def = "10M", .metavar = "SIZE", .help = "rotate the log beyond SIZE"},
	{.name = "log-keep", .kind = TETHER_OPT_UINT, .commands = RUNS, .offset = CFG(log_keep, unsigned),
	 .max = TETHER_JOURNAL_KEEP_MAX, .def = "3", .metavar = "N", .help = "rotated logs kept"},
	{.name = "min-disk", .kind = TETHER_OPT_SIZE, .commands = RUNS, .offset = CFG(min_disk, uint64_t), .def = "1G",
	 .metavar = "SIZE", .help = "refuse to start below SIZE free"},
	{.name = "min-mem", .kind = TETHER_OPT_SIZE, .commands = RUNS, .offset = CFG(min_mem, uint64_t), .def = "4G",
	 .metavar = "SIZE", .help = "warn below SIZE of MemAvailable"},
	{.name = "memory-limit", .kind = TETHER_OPT_SIZE, .commands = RUNS, .offset = CFG(memory_limit, uint64_t),
	 .min = 1u << 20, .zero_is_off = true, .metavar = "SIZE",
	 .help = "per-instance memory limit (cgroup v2, else RLIMIT_AS)"},
	{.name = "user", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(user, const char *),
	 .metavar = "USER[:GROUP]", .problem = user_problem,
	 .help = "run the instances as USER (name or uid) with GROUP\n(default USER's) and USER's groups"},
	{.name = "chdir", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(chdir, const char *),
	 .metavar = "DIR", .help = "the instances' working directory"},
	{.name = "umask", .kind = TETHER_OPT_MODE, .commands = RUNS, .offset = CFG(umask, int), .max = 0777,
	 .metavar = "MODE", .help = "the instances' umask (octal)"},
	{.name = "env", .kind = TETHER_OPT_LIST, .commands = RUNS, .offset = CFG(env, struct tether_strlist),
	 .metavar = "NAME[=VALUE]", .problem = tether_env_edit_problem,
	 .help = "set NAME in the instances' environment (repeatable);\nwithout =VALUE: remove NAME"},
	{.name = "env-file", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(env_file, const char *),
	 .metavar = "PATH", .help = "NAME=VALUE lines for the instances' environment"},
	{.name = "isolation", .kind = TETHER_OPT_ENUM, .commands = RUNS,
	 .offset = TETHER_OPT_ENUM_FIELD(struct tether_config, isolation), .choices = isolation_names, .def = "auto",
	 .metavar = "MODE",
	 .help = "auto, pidns or subreaper: how an instance's tree is\nheld (see the README's \"zero orphans\")"},
	{.name = "output", .kind = TETHER_OPT_PATH, .commands = RUNS, .offset = CFG(output, const char *),
	 .metavar = "PATH", .help = "capture the instances' stdout and stderr in PATH,\ntimestamped lines (%i = instance)"},
	{.name = "output-max-bytes", .kind = TETHER_OPT_SIZE, .commands = RUNS,
	 .offset = CFG(output_max_bytes, uint64_t), .min = 1024, .def = "10M", .metavar = "SIZE",
	 .help = "rotate an output file beyond SIZE"},
	{.name = "output-keep", .kind = TETHER_OPT_UINT, .commands = RUNS, .offset = CFG(output_keep, unsigned),
	 .max = TETHER_LOGFILE_KEEP_MAX, .def = "3", .metavar = "N", .help = "rotated output files kept"},
	{0},
};

/* ---- one value ---------------------------------------------------------------------- */

static size_t nchoices(const struct tether_option *o)
{
	size_t n = 0;
	while (o->choices && o->choices[n])
		n++;
	return n;
}

/* "on-failure, always or never" */
static void choices_text(const struct tether_option *o, char *buf, size_t len)
{
	size_t n = nchoices(o), off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
					o->choices[i]);
}

static void bound_text(const struct tether_option *o, uint64_t v, char *buf, size_t len)
{
	if (o->kind == TETHER_OPT_DUR)
		tether_format_duration((int64_t)v, buf, len);
	else if (o->kind == TETHER_OPT_SIZE)
		tether_format_size(v, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Why v (a parsed DUR, SIZE or UINT) is out of o's bounds, or NULL. */
static const char *out_of_bounds(const struct tether_option *o, uint64_t v, char *buf, size_t len)
{
	char b[32];
	uint64_t max = o->max ? o->max : o->kind == TETHER_OPT_UINT ? UINT_MAX : o->kind == TETHER_OPT_DUR ? INT64_MAX
													 : UINT64_MAX;
	if (v >= o->min && v <= max)
		return NULL;
	if (o->kind == TETHER_OPT_UINT) {
		snprintf(buf, len, "expected a whole number from %llu to %llu", (unsigned long long)o->min,
			 (unsigned long long)max);
	} else if (v < o->min) {
		if (o->min == 1)
			snprintf(buf, len, "must be more than 0");
		else
			snprintf(buf, len, "at least %s", (bound_text(o, o->min, b, sizeof b), b));
	} else {
		snprintf(buf, len, "at most %s", (bound_text(o, max, b, sizeof b), b));
	}
	return buf;
}

static void say(char *why, size_t len, const struct tether_option *o, const char *value, const char *reason)
{
	snprintf(why, len, "invalid value for --%s: '%s' (%s)", o->name, value, reason);
}

int tether_option_set(const struct tether_option *o, void *base, const char *value, char *why, size_t len)
{
	char *field = (char *)base + o->offset;
	char reason[160];
	const char *bad = NULL;
	uint64_t v = 0;
	int64_t ns = 0;
	int r;
	switch (o->kind) {
	case TETHER_OPT_FLAG:
		*(bool *)field = true;
		return 0;
	case TETHER_OPT_PATH:
		if (!value || !*value) {
			bad = "must not be empty";
			break;
		}
		if (o->problem && (bad = o->problem(value)))
			break;
		*(const char **)field = value;
		return 0;
	case TETHER_OPT_LIST: {
		struct tether_strlist *l = (struct tether_strlist *)field;
		if (!value || !*value) {
			bad = "must not be empty";
			break;
		}
		if (o->problem && (bad = o->problem(value)))
			break;
		const char **items = realloc(l->items, (l->count + 1) * sizeof *items);
		if (!items) {
			bad = "out of memory";
			break;
		}
		items[l->count++] = value;
		l->items = items;
		return 0;
	}
	case TETHER_OPT_MODE:
		/* octal digits only: "27" and "0027" alike, never a sign or "0x" */
		v = value && *value && strspn(value, "01234567") == strlen(value) && strlen(value) <= 4
			    ? strtoull(value, NULL, 8)
			    : UINT64_MAX;
		if (v > (o->max ? o->max : 07777)) {
			snprintf(reason, sizeof reason, "expected an octal mode from 0 to %llo",
				 (unsigned long long)(o->max ? o->max : 07777));
			bad = reason;
			break;
		}
		*(int *)field = (int)v;
		return 0;
	case TETHER_OPT_ENUM:
		for (size_t i = 0; value && i < nchoices(o); i++)
			if (strcmp(value, o->choices[i]) == 0) {
				*(int *)field = (int)i;
				return 0;
			}
		choices_text(o, reason, sizeof reason);
		bad = reason;
		break;
	case TETHER_OPT_UINT:
		/* anything but a whole number within bounds gets the bounds */
		if (tether_parse_uint(value, 0, UINT64_MAX, &v) < 0)
			v = UINT64_MAX;
		bad = out_of_bounds(o, v, reason, sizeof reason);
		if (!bad)
			*(unsigned *)field = (unsigned)v;
		break;
	case TETHER_OPT_DUR:
		r = tether_parse_duration(value, &ns);
		if (r < 0) {
			bad = r == -ERANGE ? "out of range" : "expected e.g. 250ms, 5s, 10m, 24h";
			break;
		}
		bad = out_of_bounds(o, (uint64_t)ns, reason, sizeof reason);
		if (!bad)
			*(int64_t *)field = ns;
		break;
	case TETHER_OPT_SIZE:
		r = tether_parse_size(value, &v);
		if (r < 0) {
			bad = r == -ERANGE ? "out of range" : "expected e.g. 512, 64K, 10M, 1G";
			break;
		}
		bad = out_of_bounds(o, v, reason, sizeof reason);
		if (!bad)
			*(uint64_t *)field = v;
		break;
	}
	if (!bad)
		return 0;
	say(why, len, o, value ? value : "", bad);
	return -EINVAL;
}

void tether_options_defaults(const struct tether_option *table, void *base)
{
	char why[8];
	for (const struct tether_option *o = table; o->name; o++)
		if (o->def)
			tether_option_set(o, base, o->def, why, sizeof why);
}

int tether_options_check(const struct tether_option *table, const void *base, char *why, size_t len)
{
	for (const struct tether_option *o = table; o->name; o++) {
		const char *field = (const char *)base + o->offset;
		char reason[160], value[40];
		const char *bad = NULL;
		uint64_t v = 0;
		switch (o->kind) {
		case TETHER_OPT_FLAG:
			continue;
		case TETHER_OPT_PATH: {
			const char *p = *(const char *const *)field;
			if ((p && !*p) || (!p && o->def))
				bad = "must not be empty";
			else if (p && o->problem)
				bad = o->problem(p);
			snprintf(value, sizeof value, "%s", p && bad ? p : "");
			break;
		}
		case TETHER_OPT_LIST: {
			const struct tether_strlist *l = (const struct tether_strlist *)field;
			value[0] = '\0';
			for (size_t i = 0; !bad && i < l->count; i++) {
				const char *p = l->items[i];
				bad = !p || !*p ? "must not be empty" : o->problem ? o->problem(p) : NULL;
				if (bad)
					snprintf(value, sizeof value, "%s", p ? p : "");
			}
			break;
		}
		case TETHER_OPT_MODE: {
			int m = *(const int *)field;
			if (m < -1 || m > (int)(o->max ? o->max : 07777)) {
				snprintf(reason, sizeof reason, "expected an octal mode from 0 to %llo",
					 (unsigned long long)(o->max ? o->max : 07777));
				bad = reason;
			}
			snprintf(value, sizeof value, "%o", (unsigned)m);
			break;
		}
		case TETHER_OPT_ENUM: {
			int e = *(const int *)field;
			if (e < 0 || (size_t)e >= nchoices(o)) {
				choices_text(o, reason, sizeof reason);
				bad = reason;
			}
			snprintf(value, sizeof value, "%d", e);
			break;
		}
		case TETHER_OPT_DUR: {
			int64_t ns = *(const int64_t *)field;
			/* a negative one is below every bound */
			v = ns < 0 ? 0 : (uint64_t)ns;
			if (ns < 0)
				bad = o->min == 1 ? "must be more than 0" : "must not be negative";
			snprintf(value, sizeof value, "%lldns", (long long)ns);
			if (ns >= 0)
				tether_format_duration(ns, value, sizeof value);
			break;
		}
		case TETHER_OPT_SIZE:
			v = *(const uint64_t *)field;
			tether_format_size(v, value, sizeof value);
			break;
		case TETHER_OPT_UINT:
			v = *(const unsigned *)field;
			snprintf(value, sizeof value, "%llu", (unsigned long long)v);
			break;
		}
		bool bounded = o->kind == TETHER_OPT_DUR || o->kind == TETHER_OPT_SIZE || o->kind == TETHER_OPT_UINT;
		if (!bad && bounded && !(o->zero_is_off && v == 0))
			bad = out_of_bounds(o, v, reason, sizeof reason);
		if (bad) {
			say(why, len, o, value, bad);
			return -EINVAL;
		}
	}
	return 0;
}

void tether_options_free(const struct tether_option *table, void *base)
{
	for (const struct tether_option *o = table; o->name; o++)
		if (o->kind == TETHER_OPT_LIST) {
			struct tether_strlist *l = (struct tether_strlist *)((char *)base + o->offset);
			free(l->items);
			*l = (struct tether_strlist){0};
		}
}

const struct tether_option *tether_option_find(const struct tether_option *table, const char *name)
{
	for (const struct tether_option *o = table; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* ---- --help ------------------------------------------------------------------------- */

size_t tether_option_usage_width(const struct tether_option *o)
{
	return 4 + strlen(o->name) + (o->metavar ? 1 + strlen(o->metavar) : 0);
}

void tether_option_help(const struct tether_option *o, size_t column, struct tether_buf *out)
{
	if (!o->help)
		return;
	size_t w = tether_option_usage_width(o);
	tether_buf_printf(out, "  --%s%s%s%*s", o->name, o->metavar ? " " : "", o->metavar ? o->metavar : "",
			  (int)(column > w + 1 ? column - w : 2), "");
	for (const char *p = o->help; *p;) {
		size_t n = strcspn(p, "\n");
		tether_buf_append(out, p, n);
		p += n;
		if (*p == '\n') {
			tether_buf_printf(out, "\n%*s", (int)column, "");
			p++;
		}
	}
	if (o->def)
		tether_buf_printf(out, " (default %s)", o->def);
	tether_buf_puts(out, "\n");
}

/* ---- the configuration -------------------------------------------------------------- */

void tether_config_defaults(struct tether_config *cfg)
{
	*cfg = (struct tether_config){
		.out_fd = 1,
		.err_fd = 2,
		.umask = -1,
		/* how long a contended pidfile's holder has to publish its record */
		.acquire_wait = 2 * SEC,
	};
	tether_options_defaults(tether_config_options, cfg);
}

int tether_config_check(const struct tether_config *cfg, char *why, size_t len)
{
	if (!cfg->argv || !cfg->argv[0] || !cfg->argv[0][0]) {
		snprintf(why, len, "no COMMAND given (tether run [OPTIONS] -- COMMAND [ARG...])");
		return -EINVAL;
	}
	int r = tether_options_check(tether_config_options, cfg, why, len);
	if (r < 0)
		return r;
	if (cfg->policy.backoff_max < cfg->policy.backoff_initial) {
		char a[32], b[32];
		snprintf(why, len, "--backoff-max (%s) is less than --backoff-initial (%s)",
			 tether_format_duration(cfg->policy.backoff_max, a, sizeof a),
			 tether_format_duration(cfg->policy.backoff_initial, b, sizeof b));
		return -EINVAL;
	}
	if (cfg->output && cfg->heartbeat_log && strcmp(cfg->output, cfg->heartbeat_log) == 0) {
		snprintf(why, len, "--output and --heartbeat-log name the same file (%s)", cfg->output);
		return -EINVAL;
	}
	if (cfg->progress_file && !cfg->watchdog) {
		snprintf(why, len, "--progress-file needs --watchdog DUR (progress is what the watchdog waits for)");
		return -EINVAL;
	}
	return 0;
}
