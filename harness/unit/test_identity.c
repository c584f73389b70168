/* SPDX-License-Identifier: MIT */
/* test_identity.c — who and where the instances run (src/identity.c,
 * src/workerenv.c, src/resolve.c): --user resolved from passwd and group
 * files of the test's own (names, uids, gids, memberships, the errors that
 * name what is missing), whether a switch is needed and permitted, the
 * environment edits of --env and --env-file (PATH:LINE for a bad line), and
 * tether_config_resolve putting them together before anything starts.
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "options.h"
#include "testutil.h"
#include "workerenv.h"

static const char passwd_text[] = "root:x:0:0:root:/root:/bin/sh\n"
				  "# a comment\n"
				  "+nis-compat::::::\n"
				  "labuser:x:4242:4243:Lab User,,,:/home/labuser:/bin/sh\n"
				  "1000:x:5000:5001::/home/numeric-name:/bin/sh\n"
				  "broken:x:notanumber:1::/:/bin/sh\n"
				  "short:x:7\n"
				  "lastline:x:4400:4243::/home/last:/bin/sh";
static const char group_text[] = "root:x:0:\n"
				 "labprimary:x:4243:\n"
				 "labextra:x:4244:someone,labuser\n"
				 "labother:x:4245:someone,labuserx\n"
				 "labthird:x:4247:labuser\n"
				 "labgroup:x:4246:\n"
				 "4300:x:4301:\n"
				 "dup:x:4244:labuser\n";

static char pw[300], gr[300];

static void setup(void)
{
	tu_setup();
	/* copied: tu_path's buffers are reused */
	snprintf(pw, sizeof pw, "%s", tu_path("passwd"));
	snprintf(gr, sizeof gr, "%s", tu_path("group"));
	tu_write_file(pw, passwd_text, strlen(passwd_text), 0644);
	tu_write_file(gr, group_text, strlen(group_text), 0644);
}

static struct tether_identity resolved(const char *spec)
{
	struct tether_identity id;
	char why[320] = "";
	int r = tether_identity_resolve(spec, pw, gr, &id, why, sizeof why);
	ck_assert_msg(r == 0, "--user %s: %d %s", spec, r, why);
	ck_assert(id.set);
	return id;
}

static void refused(const char *spec, int want, const char *says)
{
	struct tether_identity id = {0};
	char why[320] = "";
	int r = tether_identity_resolve(spec, pw, gr, &id, why, sizeof why);
	ck_assert_msg(r == want, "--user %s: %d (%s), want %d", spec, r, why, want);
	ck_assert_msg(strstr(why, says), "--user %s: \"%s\" does not say \"%s\"", spec, why, says);
	ck_assert(!id.set && !id.groups && !id.name);
}

static bool has(const struct tether_identity *id, gid_t g)
{
	for (size_t i = 0; i < id->ngroups; i++)
		if (id->groups[i] == g)
			return true;
	return false;
}

START_TEST(resolve_a_name)
{
	struct tether_identity id = resolved("labuser");
	ck_assert_uint_eq(id.uid, 4242);
	ck_assert_uint_eq(id.gid, 4243);
	ck_assert_str_eq(id.name, "labuser");
	ck_assert_str_eq(id.home, "/home/labuser");
	/* primary + every group listing it, once each; not a name that only
	 * starts like it */
	ck_assert_uint_eq(id.ngroups, 3);
	ck_assert(has(&id, 4243) && has(&id, 4244) && has(&id, 4247));
	ck_assert(!has(&id, 4245));
	tether_identity_done(&id);
	ck_assert(!id.set && !id.groups && !id.name && !id.home);
	/* the last line needs no newline */
	id = resolved("lastline");
	ck_assert_uint_eq(id.uid, 4400);
	ck_assert_str_eq(id.home, "/home/last");
	tether_identity_done(&id);
}
END_TEST

START_TEST(resolve_groups_and_numbers)
{
	/* USER:GROUP: the primary group changes, the memberships stay */
	struct tether_identity id = resolved("labuser:labgroup");
	ck_assert_uint_eq(id.gid, 4246);
	ck_assert(has(&id, 4243) && has(&id, 4244) && has(&id, 4247));
	tether_identity_done(&id);
	/* a uid with an entry is that user */
	id = resolved("4242");
	ck_assert_str_eq(id.name, "labuser");
	ck_assert_uint_eq(id.gid, 4243);
	tether_identity_done(&id);
	/* a name made of digits is a name first */
	id = resolved("1000");
	ck_assert_uint_eq(id.uid, 5000);
	ck_assert_str_eq(id.home, "/home/numeric-name");
	tether_identity_done(&id);
	/* a gid by number, with or without an entry; a group named by digits */
	id = resolved("labuser:4244");
	ck_assert_uint_eq(id.gid, 4244);
	tether_identity_done(&id);
	id = resolved("labuser:9999");
	ck_assert_uint_eq(id.gid, 9999);
	tether_identity_done(&id);
	id = resolved("labuser:4300");
	ck_assert_uint_eq(id.gid, 4301);
	tether_identity_done(&id);
	/* a uid of its own: no name, no home, its group only */
	id = resolved("4300:labgroup");
	ck_assert_uint_eq(id.uid, 4300);
	ck_assert_uint_eq(id.gid, 4246);
	ck_assert_ptr_null(id.name);
	ck_assert_ptr_null(id.home);
	ck_assert_uint_eq(id.ngroups, 1);
	ck_assert_uint_eq(id.groups[0], 4246);
	tether_identity_done(&id);
}
END_TEST

START_TEST(resolve_errors_name_what_is_missing)
{
	char want[400];
	snprintf(want, sizeof want, "--user nosuch: no user 'nosuch' in %s", pw);
	refused("nosuch", -EINVAL, want);
	snprintf(want, sizeof want, "--user labuser:nosuch: no group 'nosuch' in %s", gr);
	refused("labuser:nosuch", -EINVAL, want);
	refused("4300", -EINVAL, "uid 4300 has no entry in");
	refused("4300", -EINVAL, "name its group too (--user 4300:GROUP)");
	refused("4294967295", -EINVAL, "uid 4294967295 is out of range");
	refused("labuser:4294967295", -EINVAL, "no group '4294967295'");
	refused(":x", -EINVAL, "expected USER or USER:GROUP");
	refused("x:", -EINVAL, "expected USER or USER:GROUP");
	/* lines that are no entries are not users */
	refused("broken", -EINVAL, "no user 'broken'");
	refused("short", -EINVAL, "no user 'short'");
	refused("+nis-compat", -EINVAL, "no user");
	/* an unreadable passwd file is said as such */
	struct tether_identity id = {0};
	char why[320] = "";
	ck_assert_int_eq(tether_identity_resolve("labuser", tu_path("nofile"), gr, &id, why, sizeof why), -ENOENT);
	ck_assert_msg(strstr(why, "cannot read") && strstr(why, "No such file or directory"), "%s", why);
	/* a missing group file is only an error when a GROUP must be found */
	id = (struct tether_identity){0};
	ck_assert_int_eq(tether_identity_resolve("labuser", pw, tu_path("nofile"), &id, why, sizeof why), 0);
	ck_assert_uint_eq(id.ngroups, 1);
	tether_identity_done(&id);
	ck_assert_int_eq(tether_identity_resolve("labuser:labgroup", pw, tu_path("nofile"), &id, why, sizeof why),
			 -ENOENT);
}
END_TEST

START_TEST(resolve_reads_long_files_and_refuses_huge_ones)
{
	/* a passwd file far beyond the first read buffer: the entry at its end
	 * is found */
	FILE *f = fopen(pw, "w");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 2000; i++)
		fprintf(f, "filler%d:x:%d:%d::/home/filler:/bin/sh\n", i, 10000 + i, 10000 + i);
	fputs("badgid:x:77:notanumber::/:/bin/sh\n", f);
	fputs(passwd_text, f);
	fclose(f);
	struct tether_identity id = resolved("lastline");
	ck_assert_int_eq(id.uid, 4400);
	tether_identity_done(&id);
	/* an entry with a malformed gid is no entry */
	refused("badgid", -EINVAL, "no user 'badgid'");
	/* one of more than 16 MiB is no passwd file: refused, not read on */
	ck_assert_int_eq(truncate(pw, (off_t)17 << 20), 0);
	refused("labuser", -EFBIG, "cannot read");
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
START_TEST(resolve_names_a_file_it_cannot_read)
{
	/* the read of passwd, then of group, fails */
	tu_fault_arm("tether/sys/read", EIO, 1, 0, TU_FAULT_SELF);
	char want[400];
	snprintf(want, sizeof want, "--user labuser: cannot read %s: Input/output error", pw);
	refused("labuser", -EIO, want);
	tu_fault_disarm();
	/* passwd read (two reads: the text, then end of file), group not */
	tu_fault_arm("tether/sys/read", EIO, 3, 0, TU_FAULT_SELF);
	snprintf(want, sizeof want, "--user labuser: cannot read %s: Input/output error", gr);
	refused("labuser", -EIO, want);
	tu_fault_disarm();
}
END_TEST
#endif

START_TEST(switch_needed_and_permitted)
{
	struct tether_identity id = resolved("labuser");
	char why[320] = "";
	/* root: everything permitted, the switch needed */
	struct tether_own_ids root = {.cap_setuid = true, .cap_setgid = true, .ngroups = 1, .groups = {0}};
	ck_assert_int_eq(tether_identity_check(&id, &root, "labuser", why, sizeof why), 0);
	ck_assert(id.switch_ids);
	/* already that user, in its groups (its primary one twice or not at
	 * all): nothing to switch, no privilege needed */
	struct tether_own_ids self = {.ruid = 4242, .euid = 4242, .suid = 4242, .rgid = 4243, .egid = 4243,
				      .sgid = 4243, .ngroups = 2, .groups = {4244, 4247}};
	ck_assert_int_eq(tether_identity_check(&id, &self, "labuser", why, sizeof why), 0);
	ck_assert(!id.switch_ids);
	self.groups[self.ngroups++] = 4243;
	ck_assert_int_eq(tether_identity_check(&id, &self, "labuser", why, sizeof why), 0);
	ck_assert(!id.switch_ids);
	/* one group more or less: setgroups, which needs CAP_SETGID */
	self.groups[self.ngroups++] = 4245;
	ck_assert_int_eq(tether_identity_check(&id, &self, "labuser", why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "--user labuser: not permitted: tether runs as uid 4242 without CAP_SETGID"), "%s",
		      why);
	self.cap_setgid = true;
	ck_assert_int_eq(tether_identity_check(&id, &self, "labuser", why, sizeof why), 0);
	ck_assert(id.switch_ids);
	/* another uid (also a saved one left over): CAP_SETUID */
	struct tether_own_ids other = self;
	other.ngroups = 0;
	other.suid = 0;
	other.cap_setgid = false;
	ck_assert_int_eq(tether_identity_check(&id, &other, "labuser", why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "without CAP_SETUID"), "%s", why);
	struct tether_own_ids nobody = {.ruid = 65534, .euid = 65534, .suid = 65534, .rgid = 65534, .egid = 65534,
					.sgid = 65534};
	ck_assert_int_eq(tether_identity_check(&id, &nobody, "labuser", why, sizeof why), -EPERM);
	ck_assert_msg(strstr(why, "tether runs as uid 65534 without CAP_SETUID and CAP_SETGID"), "%s", why);
	tether_identity_done(&id);
}
END_TEST

START_TEST(own_ids_from_proc)
{
	struct tether_own_ids o;
	ck_assert_int_eq(tether_own_ids_read(&o), 0);
	ck_assert_uint_eq(o.ruid, getuid());
	ck_assert_uint_eq(o.euid, geteuid());
	ck_assert_uint_eq(o.egid, getegid());
	gid_t groups[64];
	int n = getgroups(64, groups);
	ck_assert_int_ge(n, 0);
	ck_assert_uint_eq(o.ngroups, (size_t)n);
	if (geteuid() == 0)
		ck_assert(o.cap_setuid && o.cap_setgid);
}
END_TEST

/* ---- the environment ------------------------------------------------------------------ */

START_TEST(env_names_and_edits)
{
	ck_assert(tether_env_name_valid("A", 1));
	ck_assert(tether_env_name_valid("_x9", 3));
	ck_assert(!tether_env_name_valid("9x", 2));
	ck_assert(!tether_env_name_valid("", 0));
	ck_assert(!tether_env_name_valid("A-B", 3));
	ck_assert(!tether_env_name_valid("A.B", 3));
	ck_assert_ptr_null(tether_env_edit_problem("PATH=/bin"));
	ck_assert_ptr_null(tether_env_edit_problem("EMPTY="));
	ck_assert_ptr_null(tether_env_edit_problem("REMOVE"));
	ck_assert_ptr_nonnull(tether_env_edit_problem("=x"));
	ck_assert_ptr_nonnull(tether_env_edit_problem("NOTIFY_SOCKET"));
	ck_assert_ptr_nonnull(tether_env_edit_problem("WATCHDOG_USEC=1"));
	ck_assert_ptr_nonnull(tether_env_edit_problem("TETHER_SCOPE=x"));
	ck_assert_ptr_nonnull(tether_env_edit_problem("FIU_ENABLE=x"));

	/* applying: every NAME= entry goes, the new one comes last */
	char **env = calloc(8, sizeof *env);
	size_t n = 0;
	env[n++] = strdup("A=1");
	env[n++] = strdup("AB=2");
	env[n++] = strdup("A=dup");
	env[n++] = strdup("B=3");
	ck_assert_int_eq(tether_env_apply(env, &n, "A=new"), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(env[0], "AB=2");
	ck_assert_str_eq(env[1], "B=3");
	ck_assert_str_eq(env[2], "A=new");
	ck_assert_ptr_null(env[3]);
	ck_assert_int_eq(tether_env_apply(env, &n, "B"), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(env[1], "A=new");
	ck_assert_int_eq(tether_env_apply(env, &n, "NOTHERE"), 0);
	ck_assert_uint_eq(n, 2);
	tether_env_free(env);
}
END_TEST

static int read_file_len(const char *text, size_t tlen, char ***edits, size_t *n, char *why, size_t len)
{
	const char *path = tu_path("vars");
	tu_write_file(path, text, tlen, 0644);
	return tether_env_file_read(path, edits, n, why, len);
}

static int read_file(const char *text, char ***edits, size_t *n, char *why, size_t len)
{
	return read_file_len(text, strlen(text), edits, n, why, len);
}

START_TEST(env_file_lines)
{
	char **edits = NULL;
	size_t n = 0;
	char why[320] = "";
	ck_assert_int_eq(tether_env_push(&edits, &n, "FIRST=0"), 0);
	int r = read_file("# comment\n\n  \t\nA=1\n  B=two words \nC=\"quoted\"\n\t# indented comment\nD=k=v\nE=\nF=last",
			  &edits, &n, why, sizeof why);
	ck_assert_msg(r == 0, "%s", why);
	const char *want[] = {"FIRST=0", "A=1", "B=two words ", "C=\"quoted\"", "D=k=v", "E=", "F=last", NULL};
	for (size_t i = 0; want[i]; i++)
		ck_assert_str_eq(edits[i], want[i]);
	ck_assert_uint_eq(n, 7);
	ck_assert_ptr_null(edits[n]);
	tether_env_free(edits);
}
END_TEST

static void bad_file_len(const char *text, size_t tlen, const char *says)
{
	char **edits = NULL;
	size_t n = 0;
	char why[320] = "";
	ck_assert_int_eq(read_file_len(text, tlen, &edits, &n, why, sizeof why), -EINVAL);
	char want[400];
	snprintf(want, sizeof want, "%s:%s", tu_path("vars"), says);
	ck_assert_msg(strstr(why, want), "\"%s\" does not say \"%s\"", why, want);
	tether_env_free(edits);
}

static void bad_file(const char *text, const char *says)
{
	bad_file_len(text, strlen(text), says);
}

START_TEST(env_file_bad_lines_name_path_and_line)
{
	bad_file("A=1\n\nnot an assignment\n", "3: expected NAME=VALUE, got 'not an assignment'");
	bad_file("A=1\nB\n", "2: expected NAME=VALUE, got 'B'");
	bad_file("1A=x\n", "1: '1A': NAME must be letters");
	bad_file("# x\nNOTIFY_SOCKET=@y\n", "2: 'NOTIFY_SOCKET': tether sets or clears");
	bad_file_len("A=1\nB=a\0b\n", 9, "2: a NUL byte");
	bad_file("A B=1\n", "1: 'A B': NAME must be");
	/* a long bad line is shown cut */
	char line[300];
	memset(line, 'x', sizeof line - 2);
	line[sizeof line - 2] = '\n';
	line[sizeof line - 1] = '\0';
	bad_file(line, "1: expected NAME=VALUE, got 'xxxxxxxx");
	char **edits = NULL;
	size_t n = 0;
	char why[320] = "";
	ck_assert_int_eq(tether_env_file_read(tu_path("missing"), &edits, &n, why, sizeof why), -ENOENT);
	ck_assert_msg(strstr(why, "--env-file ") && strstr(why, "missing: No such file or directory"), "%s", why);
	ck_assert_int_eq(tether_env_file_read(tu_dir, &edits, &n, why, sizeof why), -EISDIR);
	ck_assert_ptr_null(edits);
	/* larger than 1 MiB: refused */
	size_t big = TETHER_ENV_FILE_MAX + 10;
	char *text = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		text[i] = i % 10 == 9 ? '\n' : 'A';
	text[big] = '\0';
	ck_assert_int_eq(read_file(text, &edits, &n, why, sizeof why), -EFBIG);
	ck_assert_msg(strstr(why, "larger than 1 MiB"), "%s", why);
	free(text);
	tether_env_free(edits);
}
END_TEST

/* ---- tether_config_resolve -------------------------------------------------------------- */

static struct tether_config config(void)
{
	static char prog[] = "true";
	static char *argv[] = {prog, NULL};
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.argv = argv;
	return cfg;
}

START_TEST(resolve_puts_the_edits_in_order)
{
	struct tether_config cfg = config();
	struct tether_result res;
	const char *path = tu_path("vars");
	tu_write_file(path, "A=file\nB=file\n", 14, 0644);
	const char *items[] = {"B=cli", "C"};
	cfg.env_file = path;
	cfg.env = (struct tether_strlist){.items = items, .count = 2};
	cfg.chdir = tu_dir;
	ck_assert_int_eq(tether_config_resolve(&cfg, &res), 0);
	ck_assert(!cfg.worker.set);
	const char *want[] = {"A=file", "B=file", "B=cli", "C", NULL};
	for (size_t i = 0; want[i]; i++)
		ck_assert_str_eq(cfg.env_edits[i], want[i]);
	ck_assert_ptr_null(cfg.env_edits[4]);
	uid_t uid;
	gid_t gid;
	ck_assert_int_eq(tether_config_worker_ids(&cfg, &uid, &gid), 0);
	tether_config_resolved_done(&cfg);
	ck_assert_ptr_null(cfg.env_edits);

	if (geteuid() == 0) {
		/* --user first: its HOME/USER/LOGNAME come before the file's */
		cfg = config();
		cfg.user = "nobody";
		cfg.env = (struct tether_strlist){.items = items, .count = 1};
		ck_assert_int_eq(tether_config_resolve(&cfg, &res), 0);
		ck_assert(cfg.worker.set && cfg.worker.switch_ids);
		ck_assert_uint_eq(cfg.worker.uid, 65534);
		ck_assert_str_eq(cfg.env_edits[0], "HOME=/nonexistent");
		ck_assert_str_eq(cfg.env_edits[1], "USER=nobody");
		ck_assert_str_eq(cfg.env_edits[2], "LOGNAME=nobody");
		ck_assert_str_eq(cfg.env_edits[3], "B=cli");
		ck_assert_int_eq(tether_config_worker_ids(&cfg, &uid, &gid), 1);
		ck_assert_uint_eq(uid, 65534);
		ck_assert_uint_eq(gid, 65534);
		tether_config_resolved_done(&cfg);
	}
}
END_TEST

static void resolve_refuses(struct tether_config *cfg, enum tether_outcome outcome, const char *says)
{
	struct tether_result res;
	ck_assert_int_eq(tether_config_resolve(cfg, &res), 1);
	ck_assert_int_eq(res.outcome, outcome);
	ck_assert_msg(strstr(res.message, says), "\"%s\" does not say \"%s\"", res.message, says);
	ck_assert_ptr_null(cfg->env_edits);
	ck_assert(!cfg->worker.set);
}

START_TEST(resolve_refusals)
{
	struct tether_config cfg = config();
	cfg.user = "tether-no-such-user";
	resolve_refuses(&cfg, TETHER_OUTCOME_USAGE, "no user 'tether-no-such-user' in /etc/passwd");
	cfg = config();
	cfg.chdir = tu_path("missing");
	resolve_refuses(&cfg, TETHER_OUTCOME_USAGE, "missing: No such file or directory");
	cfg = config();
	tu_write_file(tu_path("plain"), "x", 1, 0644);
	cfg.chdir = tu_path("plain");
	resolve_refuses(&cfg, TETHER_OUTCOME_USAGE, "plain: Not a directory");
	cfg = config();
	tu_write_file(tu_path("vars"), "A=1\nbad\n", 8, 0644);
	cfg.env_file = tu_path("vars");
	resolve_refuses(&cfg, TETHER_OUTCOME_USAGE, "vars:2: expected NAME=VALUE");
	if (geteuid() != 0) {
		cfg = config();
		cfg.user = "root";
		resolve_refuses(&cfg, TETHER_OUTCOME_NOT_PERMITTED, "--user root: not permitted");
	}
	struct tether_result res = {.outcome = TETHER_OUTCOME_NOT_PERMITTED};
	ck_assert_int_eq(tether_result_exit_code(&res), 77);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("identity");
	TCase *tc = tcase_create("identity");
	tcase_add_checked_fixture(tc, setup, tu_teardown);
	tcase_add_test(tc, resolve_a_name);
	tcase_add_test(tc, resolve_groups_and_numbers);
	tcase_add_test(tc, resolve_errors_name_what_is_missing);
	tcase_add_test(tc, resolve_reads_long_files_and_refuses_huge_ones);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_test(tc, resolve_names_a_file_it_cannot_read);
#endif
	tcase_add_test(tc, switch_needed_and_permitted);
	tcase_add_test(tc, own_ids_from_proc);
	suite_add_tcase(s, tc);
	tc = tcase_create("environment");
	tcase_add_checked_fixture(tc, tu_setup, tu_teardown);
	tcase_add_test(tc, env_names_and_edits);
	tcase_add_test(tc, env_file_lines);
	tcase_add_test(tc, env_file_bad_lines_name_path_and_line);
	tcase_add_test(tc, resolve_puts_the_edits_in_order);
	tcase_add_test(tc, resolve_refusals);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
