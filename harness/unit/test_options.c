/* SPDX-License-Identifier: MIT */
/* test_options.c — the options table (src/options.c): every row is well
 * formed and its default valid, the defaults are SPEC's, each kind parses and
 * bounds a value with one message format naming the option, a configuration
 * is checked against the same bounds plus the rules between fields, and
 * --help lines come from the rows.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

#define SEC TETHER_NSEC_PER_SEC
#define MS TETHER_NSEC_PER_MSEC

static const struct tether_option *row(const char *name)
{
	const struct tether_option *o = tether_option_find(tether_config_options, name);
	ck_assert_msg(o != NULL, "no row --%s", name);
	return o;
}

/* A configuration that passes the check: the defaults and a COMMAND. */
static char prog[] = "true";
static char *argv_true[] = {prog, NULL};

static struct tether_config good_config(void)
{
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.argv = argv_true;
	return cfg;
}

/* Sets --name value on cfg and expects a refusal that says so. */
static void refused(const char *name, const char *value, const char *reason)
{
	struct tether_config cfg = good_config();
	char why[320] = "", want[200];
	ck_assert_msg(tether_option_set(row(name), &cfg, value, why, sizeof why) == -EINVAL, "--%s '%s' accepted",
		      name, value);
	snprintf(want, sizeof want, "invalid value for --%s: '%s' (", name, value);
	ck_assert_msg(strncmp(why, want, strlen(want)) == 0, "--%s '%s': \"%s\"", name, value, why);
	ck_assert_msg(strstr(why, reason) != NULL, "--%s '%s': \"%s\" does not say \"%s\"", name, value, why, reason);
}

/* ---- the table -------------------------------------------------------------------- */

START_TEST(every_row_is_well_formed)
{
	size_t n = 0;
	for (const struct tether_option *o = tether_config_options; o->name; o++, n++) {
		ck_assert_msg(o->name[0] && o->name[0] != '-', "row %zu: name '%s'", n, o->name);
		ck_assert_msg(o->commands & (TETHER_CMD_RUN | TETHER_CMD_START), "--%s: no command", o->name);
		ck_assert_msg((o->kind == TETHER_OPT_FLAG) == (o->metavar == NULL), "--%s: metavar", o->name);
		ck_assert_msg((o->kind == TETHER_OPT_ENUM) == (o->choices != NULL), "--%s: choices", o->name);
		ck_assert_msg(o->help && o->help[0], "--%s: no help line", o->name);
		ck_assert_msg(o->offset + sizeof(int) <= sizeof(struct tether_config), "--%s: offset", o->name);
		ck_assert_msg(!o->max || o->min <= o->max, "--%s: min above max", o->name);
		for (const struct tether_option *p = o + 1; p->name; p++)
			ck_assert_msg(strcmp(o->name, p->name) != 0, "--%s twice", o->name);
	}
	ck_assert_uint_ge(n, 19);
}
END_TEST

START_TEST(defaults_are_valid_and_spec_s)
{
	struct tether_config cfg = good_config();
	char why[320];
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
	/* each row's default parses and is within its own bounds */
	for (const struct tether_option *o = tether_config_options; o->name; o++) {
		if (!o->def)
			continue;
		struct tether_config c = good_config();
		ck_assert_msg(tether_option_set(o, &c, o->def, why, sizeof why) == 0, "--%s default: %s", o->name, why);
	}
	ck_assert_str_eq(cfg.pidfile, "state/tether.pid");
	ck_assert_uint_eq(cfg.instances, 1);
	ck_assert_int_eq(cfg.policy.restart, TETHER_RESTART_ON_FAILURE);
	ck_assert_int_eq(cfg.policy.backoff_initial, 1 * SEC);
	ck_assert_int_eq(cfg.policy.backoff_max, 60 * SEC);
	ck_assert_uint_eq(cfg.policy.crash_limit, 10);
	ck_assert_int_eq(cfg.policy.crash_window, 300 * SEC);
	ck_assert_int_eq(cfg.watchdog, 0);
	ck_assert_ptr_null(cfg.progress_file);
	ck_assert(!cfg.notify_ready);
	ck_assert_int_eq(cfg.stop_timeout, 5 * SEC);
	ck_assert_ptr_null(cfg.heartbeat_log);
	ck_assert_int_eq(cfg.heartbeat_interval, 300 * SEC);
	ck_assert_uint_eq(cfg.log_max_bytes, 10u << 20);
	ck_assert_uint_eq(cfg.log_keep, 3);
	ck_assert_uint_eq(cfg.min_disk, 1ull << 30);
	ck_assert_uint_eq(cfg.min_mem, 4ull << 30);
	ck_assert_uint_eq(cfg.memory_limit, 0);
	ck_assert_int_eq(cfg.isolation, TETHER_ISOLATION_AUTO);
	ck_assert_int_eq(cfg.out_fd, 1);
	ck_assert_int_eq(cfg.err_fd, 2);
}
END_TEST

/* ---- one value of each kind ------------------------------------------------------------ */

START_TEST(values_set_their_fields)
{
	struct tether_config cfg = good_config();
	char why[320];
	static const struct {
		const char *name, *value;
	} set[] = {
		{"pidfile", "run/x.pid"}, {"instances", "1024"}, {"restart", "never"}, {"backoff-initial", "250ms"},
		{"backoff-max", "2m"}, {"crash-limit", "0"}, {"crash-window", "1h"}, {"watchdog", "1.5s"},
		{"progress-file", "p%i"}, {"notify-ready", NULL}, {"stop-timeout", "0"}, {"heartbeat-log", "hb"},
		{"heartbeat-interval", "10ms"}, {"log-max-bytes", "1K"}, {"log-keep", "1000"}, {"min-disk", "0"},
		{"min-mem", "512"}, {"memory-limit", "64M"}, {"isolation", "subreaper"},
	};
	for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
		ck_assert_msg(tether_option_set(row(set[i].name), &cfg, set[i].value, why, sizeof why) == 0, "--%s: %s",
			      set[i].name, why);
	ck_assert_str_eq(cfg.pidfile, "run/x.pid");
	ck_assert_uint_eq(cfg.instances, 1024);
	ck_assert_int_eq(cfg.policy.restart, TETHER_RESTART_NEVER);
	ck_assert_int_eq(cfg.policy.backoff_initial, 250 * MS);
	ck_assert_int_eq(cfg.policy.backoff_max, 120 * SEC);
	ck_assert_uint_eq(cfg.policy.crash_limit, 0);
	ck_assert_int_eq(cfg.policy.crash_window, 3600 * SEC);
	ck_assert_int_eq(cfg.watchdog, 1500 * MS);
	ck_assert_str_eq(cfg.progress_file, "p%i");
	ck_assert(cfg.notify_ready);
	ck_assert_int_eq(cfg.stop_timeout, 0);
	ck_assert_str_eq(cfg.heartbeat_log, "hb");
	ck_assert_int_eq(cfg.heartbeat_interval, 10 * MS);
	ck_assert_uint_eq(cfg.log_max_bytes, 1024);
	ck_assert_uint_eq(cfg.log_keep, 1000);
	ck_assert_uint_eq(cfg.min_disk, 0);
	ck_assert_uint_eq(cfg.min_mem, 512);
	ck_assert_uint_eq(cfg.memory_limit, 64u << 20);
	ck_assert_int_eq(cfg.isolation, TETHER_ISOLATION_SUBREAPER);
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
	/* every name of an enum is its value */
	ck_assert_int_eq(tether_option_set(row("restart"), &cfg, "always", why, sizeof why), 0);
	ck_assert_int_eq(cfg.policy.restart, TETHER_RESTART_ALWAYS);
	ck_assert_int_eq(tether_option_set(row("restart"), &cfg, "on-failure", why, sizeof why), 0);
	ck_assert_int_eq(cfg.policy.restart, TETHER_RESTART_ON_FAILURE);
	ck_assert_int_eq(tether_option_set(row("isolation"), &cfg, "pidns", why, sizeof why), 0);
	ck_assert_int_eq(cfg.isolation, TETHER_ISOLATION_PIDNS);
	ck_assert_int_eq(tether_option_set(row("isolation"), &cfg, "auto", why, sizeof why), 0);
	ck_assert_int_eq(cfg.isolation, TETHER_ISOLATION_AUTO);
}
END_TEST

START_TEST(bad_values_are_refused_naming_the_option)
{
	refused("instances", "0", "expected a whole number from 1 to 1024");
	refused("instances", "1025", "from 1 to 1024");
	refused("instances", "x", "from 1 to 1024");
	refused("instances", "-1", "from 1 to 1024");
	refused("instances", "", "from 1 to 1024");
	refused("instances", "99999999999999999999999", "from 1 to 1024");
	refused("crash-limit", "100001", "from 0 to 100000");
	refused("log-keep", "1001", "from 0 to 1000");
	refused("restart", "sometimes", "on-failure, always or never");
	refused("restart", "", "on-failure, always or never");
	refused("isolation", "PIDNS", "auto, pidns or subreaper");
	refused("backoff-initial", "-1s", "expected e.g. 250ms, 5s, 10m, 24h");
	refused("backoff-initial", "5 s", "expected e.g.");
	refused("stop-timeout", "999999999999h", "out of range");
	refused("watchdog", "0", "must be more than 0");
	refused("crash-window", "0ms", "must be more than 0");
	refused("heartbeat-interval", "0", "at least 10ms");
	/* a heartbeat at every turn of the loop (heartbeat_interval_floor.scn) */
	refused("heartbeat-interval", "1us", "at least 10ms");
	refused("heartbeat-interval", "9ms", "at least 10ms");
	refused("log-max-bytes", "1023", "at least 1K");
	refused("log-max-bytes", "10X", "expected e.g. 512, 64K, 10M, 1G");
	refused("memory-limit", "0", "at least 1M");
	refused("memory-limit", "1023K", "at least 1M");
	refused("min-disk", "99999999999T", "out of range");
	refused("pidfile", "", "must not be empty");
	refused("heartbeat-log", "", "must not be empty");
	/* the bounds themselves are accepted */
	struct tether_config cfg = good_config();
	char why[320];
	ck_assert_int_eq(tether_option_set(row("instances"), &cfg, "1", why, sizeof why), 0);
	ck_assert_int_eq(tether_option_set(row("crash-limit"), &cfg, "100000", why, sizeof why), 0);
	ck_assert_int_eq(tether_option_set(row("memory-limit"), &cfg, "1M", why, sizeof why), 0);
	ck_assert_int_eq(tether_option_set(row("watchdog"), &cfg, "1us", why, sizeof why), 0);
}
END_TEST

/* ---- a configuration ------------------------------------------------------------------ */

/* cfg fails the check, and why names the option. */
static void check_refuses(const struct tether_config *cfg, const char *says)
{
	char why[320] = "";
	ck_assert_int_eq(tether_config_check(cfg, why, sizeof why), -EINVAL);
	ck_assert_msg(strstr(why, says) != NULL, "\"%s\" does not say \"%s\"", why, says);
}

START_TEST(config_check_uses_the_rows_bounds)
{
	struct tether_config cfg = good_config();
	cfg.instances = 0;
	check_refuses(&cfg, "invalid value for --instances: '0' (expected a whole number from 1 to 1024)");
	cfg = good_config();
	cfg.instances = TETHER_MAX_INSTANCES + 1;
	check_refuses(&cfg, "--instances: '1025'");
	cfg = good_config();
	cfg.policy.crash_limit = TETHER_CRASH_LIMIT_MAX + 1;
	check_refuses(&cfg, "--crash-limit");
	cfg = good_config();
	cfg.policy.restart = (enum tether_restart)7;
	check_refuses(&cfg, "invalid value for --restart: '7' (on-failure, always or never)");
	cfg = good_config();
	cfg.stop_timeout = -1;
	check_refuses(&cfg, "--stop-timeout");
	cfg = good_config();
	cfg.heartbeat_interval = 0;
	check_refuses(&cfg, "invalid value for --heartbeat-interval: '0");
	cfg = good_config();
	cfg.heartbeat_interval = 9 * MS;
	check_refuses(&cfg, "invalid value for --heartbeat-interval: '9ms' (at least 10ms)");
	cfg = good_config();
	cfg.log_max_bytes = 100;
	check_refuses(&cfg, "invalid value for --log-max-bytes: '100' (at least 1K)");
	cfg = good_config();
	cfg.memory_limit = 4096;
	check_refuses(&cfg, "--memory-limit: '4K' (at least 1M)");
	cfg = good_config();
	cfg.pidfile = NULL;
	check_refuses(&cfg, "--pidfile");
	cfg = good_config();
	cfg.pidfile = "";
	check_refuses(&cfg, "--pidfile");
	cfg = good_config();
	cfg.progress_file = "";
	cfg.watchdog = SEC;
	check_refuses(&cfg, "--progress-file");
	cfg = good_config();
	cfg.isolation = (enum tether_isolation)-1;
	check_refuses(&cfg, "--isolation");
	/* 0 is "off" where a row says so */
	cfg = good_config();
	cfg.watchdog = 0;
	cfg.memory_limit = 0;
	char why[320];
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
}
END_TEST

START_TEST(config_check_rules_between_fields)
{
	struct tether_config cfg = good_config();
	cfg.argv = NULL;
	check_refuses(&cfg, "no COMMAND given");
	char empty[] = "", *argv_empty[] = {empty, NULL};
	cfg.argv = argv_empty;
	check_refuses(&cfg, "no COMMAND given");
	cfg = good_config();
	cfg.policy.backoff_initial = 5 * SEC;
	cfg.policy.backoff_max = 1 * SEC;
	check_refuses(&cfg, "--backoff-max (1s) is less than --backoff-initial (5s)");
	cfg.policy.backoff_max = 5 * SEC;
	char why[320];
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
	cfg = good_config();
	cfg.progress_file = "progress";
	check_refuses(&cfg, "--progress-file needs --watchdog");
	cfg.watchdog = 10 * SEC;
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
}
END_TEST

/* ---- the instances' identity and environment ---------------------------------------- */

START_TEST(mode_and_list_kinds)
{
	struct tether_config cfg = good_config();
	char why[320];
	/* --umask: octal, unset (-1) by default */
	ck_assert_int_eq(cfg.umask, -1);
	ck_assert_int_eq(tether_option_set(row("umask"), &cfg, "027", why, sizeof why), 0);
	ck_assert_int_eq(cfg.umask, 027);
	ck_assert_int_eq(tether_option_set(row("umask"), &cfg, "0", why, sizeof why), 0);
	ck_assert_int_eq(cfg.umask, 0);
	ck_assert_int_eq(tether_option_set(row("umask"), &cfg, "0777", why, sizeof why), 0);
	ck_assert_int_eq(cfg.umask, 0777);
	refused("umask", "8", "expected an octal mode from 0 to 777");
	refused("umask", "1000", "from 0 to 777");
	refused("umask", "-1", "octal");
	refused("umask", "0x1f", "octal");
	refused("umask", "", "octal");
	cfg.umask = 01000;
	check_refuses(&cfg, "invalid value for --umask: '1000'");
	cfg.umask = -1;
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);

	/* --env: repeatable, in order, strings not copied */
	char a[] = "A=1", b[] = "B", c[] = "A=2";
	ck_assert_int_eq(tether_option_set(row("env"), &cfg, a, why, sizeof why), 0);
	ck_assert_int_eq(tether_option_set(row("env"), &cfg, b, why, sizeof why), 0);
	ck_assert_int_eq(tether_option_set(row("env"), &cfg, c, why, sizeof why), 0);
	ck_assert_uint_eq(cfg.env.count, 3);
	ck_assert_ptr_eq(cfg.env.items[0], a);
	ck_assert_ptr_eq(cfg.env.items[1], b);
	ck_assert_ptr_eq(cfg.env.items[2], c);
	ck_assert_msg(tether_config_check(&cfg, why, sizeof why) == 0, "%s", why);
	/* a bad item put there by hand is found by the check */
	const char *bad[] = {"A=1", "9LIVES=x"};
	struct tether_strlist saved = cfg.env;
	cfg.env = (struct tether_strlist){.items = bad, .count = 2};
	check_refuses(&cfg, "invalid value for --env: '9LIVES=x' (NAME must be");
	cfg.env = saved;
	tether_config_done(&cfg);
	ck_assert_ptr_null(cfg.env.items);
	ck_assert_uint_eq(cfg.env.count, 0);
	refused("env", "1X=2", "NAME must be letters, digits and _, not starting with a digit");
	refused("env", "=x", "NAME must be");
	refused("env", "A B=x", "NAME must be");
	refused("env", "NOTIFY_SOCKET=@x", "tether sets or clears this variable for each instance itself");
	refused("env", "TETHER_INSTANCE", "tether sets");
	refused("env", "", "must not be empty");

	/* --user: the form only (whether it exists is the resolve's question) */
	cfg = good_config();
	ck_assert_int_eq(tether_option_set(row("user"), &cfg, "redis", why, sizeof why), 0);
	ck_assert_str_eq(cfg.user, "redis");
	ck_assert_int_eq(tether_option_set(row("user"), &cfg, "104:107", why, sizeof why), 0);
	refused("user", ":x", "expected USER or USER:GROUP");
	refused("user", "x:", "expected USER or USER:GROUP");
	refused("user", "a:b:c", "expected USER or USER:GROUP");
	cfg.user = "x:";
	check_refuses(&cfg, "invalid value for --user: 'x:' (expected USER or USER:GROUP)");
	/* --chdir and --env-file: paths, not empty */
	refused("chdir", "", "must not be empty");
	refused("env-file", "", "must not be empty");
}
END_TEST

/* ---- --help ------------------------------------------------------------------------------ */

START_TEST(help_lines_come_from_the_rows)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_option_help(row("stop-timeout"), 28, &b);
	ck_assert_str_eq(b.data, "  --stop-timeout DUR        grace between SIGTERM and SIGKILL (default 5s)\n");
	tether_buf_reset(&b);
	tether_option_help(row("notify-ready"), 28, &b);
	ck_assert_str_eq(b.data, "  --notify-ready            an instance is ready only after it sends READY=1\n");
	tether_buf_reset(&b);
	/* a help line that continues, lined up; the default at its end */
	tether_option_help(row("isolation"), 28, &b);
	ck_assert_msg(strncmp(b.data, "  --isolation MODE          auto, pidns or subreaper", 51) == 0, "%s", b.data);
	ck_assert_ptr_nonnull(strstr(b.data, "\n                            held"));
	ck_assert_ptr_nonnull(strstr(b.data, " (default auto)\n"));
	tether_buf_reset(&b);
	/* a column too narrow still leaves two spaces */
	tether_option_help(row("heartbeat-interval"), 10, &b);
	ck_assert_str_eq(b.data, "  --heartbeat-interval DUR  heartbeat period, at least 10ms (default 5m)\n");
	tether_buf_reset(&b);
	/* a hidden row says nothing */
	struct tether_option hidden = *row("pidfile");
	hidden.help = NULL;
	tether_option_help(&hidden, 28, &b);
	ck_assert_uint_eq(b.len, 0);
	tether_buf_done(&b);
	ck_assert_uint_eq(tether_option_usage_width(row("heartbeat-interval")), 26);
	ck_assert_uint_eq(tether_option_usage_width(row("notify-ready")), 16);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("options");
	TCase *tc = tcase_create("options");
	tcase_add_test(tc, every_row_is_well_formed);
	tcase_add_test(tc, defaults_are_valid_and_spec_s);
	tcase_add_test(tc, values_set_their_fields);
	tcase_add_test(tc, bad_values_are_refused_naming_the_option);
	tcase_add_test(tc, config_check_uses_the_rows_bounds);
	tcase_add_test(tc, config_check_rules_between_fields);
	tcase_add_test(tc, mode_and_list_kinds);
	tcase_add_test(tc, help_lines_come_from_the_rows);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
