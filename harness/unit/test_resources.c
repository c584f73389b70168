/* SPDX-License-Identifier: MIT */
/* test_resources.c — the resource gates (src/resources.c): free disk space
 * of the pidfile's filesystem (its directory, or that directory's parent while
 * it does not exist yet) as statvfs reports it to us (f_bavail, not the
 * root-reserved f_bfree); the memory limit's fallback to RLIMIT_AS without a
 * delegated cgroup v2 memory controller, leaving nothing behind; the names.
 *
 * The cgroup branch's positive test needs a cgroup v2 hierarchy whose memory
 * controller is enabled for our children (cgroup.subtree_control lists
 * "memory") and the right to create a child cgroup: it runs only there and
 * says SKIP elsewhere (a hybrid v1/v2 host, a container without delegation).
 */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "proctest.h"
#include "options.h"
#include "resources.h"
#include "testutil.h"

/* Free space moves while we look (other processes write): allow this much. */
#define SLACK (UINT64_C(64) << 20)

static uint64_t avail(const char *dir)
{
	struct statvfs st;
	ck_assert_msg(statvfs(dir, &st) == 0, "statvfs %s", dir);
	return (uint64_t)st.f_bavail * st.f_frsize;
}

/* tether_disk_free(path) lies within what statvfs(dir) said before and after. */
static void assert_free_of(const char *path, const char *dir)
{
	uint64_t before = avail(dir);
	uint64_t got = UINT64_MAX;
	int r = tether_disk_free(path, &got);
	uint64_t after = avail(dir);
	ck_assert_msg(r == 0, "tether_disk_free(%s): %s", path, strerror(-r));
	uint64_t lo = (before < after ? before : after), hi = (before > after ? before : after);
	lo = lo > SLACK ? lo - SLACK : 0;
	hi += SLACK;
	ck_assert_msg(got >= lo && got <= hi, "tether_disk_free(%s) = %llu, statvfs(%s) says %llu..%llu", path,
		      (unsigned long long)got, dir, (unsigned long long)before, (unsigned long long)after);
}

START_TEST(disk_free_is_statvfs_of_the_directory)
{
	assert_free_of(tu_path("t.pid"), tu_dir);
	/* the directory itself may be the pidfile's parent of a parent: only
	 * the last component is dropped */
	ck_assert_int_eq(mkdir(tu_path("run"), 0755), 0);
	assert_free_of(tu_path("run/t.pid"), tu_path("run"));
	assert_free_of("/t.pid", "/");
}
END_TEST

START_TEST(disk_free_of_a_missing_directory_asks_its_parent)
{
	/* the pidfile's directory is created later (its parent is not) */
	assert_free_of(tu_path("not-yet/t.pid"), tu_dir);
	/* and a parent two levels up is not what is asked: -ENOENT */
	uint64_t got = 12345;
	ck_assert_int_eq(tether_disk_free(tu_path("a/b/t.pid"), &got), -ENOENT);
	ck_assert_uint_eq(got, 12345); /* untouched on failure */
}
END_TEST

START_TEST(disk_free_relative_paths)
{
	char cwd[PATH_MAX];
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	ck_assert_int_eq(chdir(tu_dir), 0);
	assert_free_of("t.pid", ".");
	assert_free_of("not-yet/t.pid", ".");
	ck_assert_int_eq(mkdir("sub", 0755), 0);
	assert_free_of("sub/t.pid", "sub");
	ck_assert_int_eq(chdir(cwd), 0);
}
END_TEST

START_TEST(disk_free_asks_the_right_filesystem)
{
	/* Filesystems that answer differently from the one the test runs on:
	 * procfs has no free space at all; a tmpfs has its own. A function that
	 * asked the wrong directory (cwd, /) would be caught here. */
	uint64_t got = 1;
	ck_assert_int_eq(tether_disk_free("/proc/t.pid", &got), 0);
	ck_assert_uint_eq(got, 0);
	got = 1;
	ck_assert_int_eq(tether_disk_free("/proc/tether-no-such-dir/t.pid", &got), 0);
	ck_assert_uint_eq(got, 0);
	struct statvfs shm, here;
	if (statvfs("/dev/shm", &shm) == 0 && statvfs(tu_dir, &here) == 0 && shm.f_fsid != here.f_fsid) {
		assert_free_of("/dev/shm/t.pid", "/dev/shm");
		assert_free_of("/dev/shm/tether-no-such-dir/t.pid", "/dev/shm");
	}
}
END_TEST

START_TEST(disk_free_reports_what_we_may_use)
{
	/* f_bavail (what an unprivileged writer gets), not f_bfree (which
	 * counts the root-reserved blocks): they differ on most ext4 */
	struct statvfs st;
	ck_assert_int_eq(statvfs(tu_dir, &st), 0);
	uint64_t bfree = (uint64_t)st.f_bfree * st.f_frsize, bavail = (uint64_t)st.f_bavail * st.f_frsize;
	uint64_t got;
	ck_assert_int_eq(tether_disk_free(tu_path("t.pid"), &got), 0);
	if (bfree > bavail + 4 * SLACK)
		ck_assert_msg(got < bfree - 2 * SLACK, "tether_disk_free counted the reserved blocks (%llu, f_bfree %llu)",
			      (unsigned long long)got, (unsigned long long)bfree);
	else
		fprintf(stderr, "NOTE disk_free_reports_what_we_may_use: %s has no reserved blocks to tell apart\n",
			tu_dir);
}
END_TEST

/* ---- memory limit -------------------------------------------------------------------- */

/* Our cgroup v2 directory and whether "memory" is in its subtree_control,
 * found independently of resources.c: the cgroup2 mount from mountinfo plus
 * the "0::" line of /proc/self/cgroup. */
static bool own_cgroup2(char *dir, size_t len)
{
	char *cg = tu_read_file("/proc/self/cgroup", NULL);
	char *info = tu_read_file("/proc/self/mountinfo", NULL);
	bool ok = false;
	char *line = cg ? strstr(cg, "0::") : NULL;
	if (line && (line == cg || line[-1] == '\n') && info) {
		line += 3;
		line[strcspn(line, "\n")] = '\0';
		for (char *l = strtok(info, "\n"); l; l = strtok(NULL, "\n")) {
			char root[256], mnt[1024];
			if (strstr(l, " - cgroup2 ") && sscanf(l, "%*s %*s %*s %255s %1023s", root, mnt) == 2 &&
			    strcmp(root, "/") == 0) {
				snprintf(dir, len, "%s%s", mnt, strcmp(line, "/") == 0 ? "" : line);
				ok = true;
				break;
			}
		}
	}
	free(cg);
	free(info);
	return ok;
}

static bool memory_delegated(const char *dir)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
	char *ctl = tu_read_file(path, NULL);
	bool yes = ctl && strstr(ctl, "memory");
	free(ctl);
	return yes;
}

/* --min-disk's places: the instances' working directory (--chdir, else ours,
 * by its real name) and --heartbeat-log's directory; never the pidfile's. */
START_TEST(written_dirs_are_where_we_write)
{
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = "/run/elsewhere/t.pid";
	struct tether_written_dir dirs[TETHER_WRITTEN_DIRS_MAX];
	char cwd[PATH_MAX];
	ck_assert_int_eq(chdir(tu_dir), 0);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
	size_t n = tether_written_dirs(&cfg, dirs, TETHER_WRITTEN_DIRS_MAX);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(dirs[0].path, cwd);
	ck_assert_str_eq(dirs[0].what, "the instances' working directory");
	cfg.chdir = "/srv/work";
	cfg.heartbeat_log = "/var/log/w/hb.jsonl";
	n = tether_written_dirs(&cfg, dirs, TETHER_WRITTEN_DIRS_MAX);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(dirs[0].path, "/srv/work");
	ck_assert_str_eq(dirs[1].path, "/var/log/w");
	ck_assert_str_eq(dirs[1].what, "the directory of --heartbeat-log");
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strstr(dirs[i].path, "/run/elsewhere") == NULL, "the pidfile's directory is checked");
	cfg.heartbeat_log = "hb.jsonl";
	n = tether_written_dirs(&cfg, dirs, TETHER_WRITTEN_DIRS_MAX);
	ck_assert_str_eq(dirs[1].path, ".");
	/* cap honoured */
	ck_assert_uint_eq(tether_written_dirs(&cfg, dirs, 1), 1);
	/* a directory, or its parent while it does not exist */
	uint64_t got;
	ck_assert_int_eq(tether_disk_free_dir(tu_dir, &got), 0);
	ck_assert_int_eq(tether_disk_free_dir(tu_path("not-yet"), &got), 0);
	ck_assert_int_eq(tether_disk_free_dir(tu_path("a/b"), &got), -ENOENT);
}
END_TEST

START_TEST(memlimit_falls_back_to_rlimit)
{
	char dir[4096];
	bool v2 = own_cgroup2(dir, sizeof dir);
	if (v2 && memory_delegated(dir)) {
		fprintf(stderr, "SKIP memlimit_falls_back_to_rlimit: the memory controller is delegated to %s "
				"(memlimit_cgroup_when_delegated covers this host)\n",
			dir);
		return;
	}
	char *procs = (char *)"untouched";
	int r = tether_memlimit_prepare(getpid(), 7, UINT64_C(256) << 20, &procs);
	ck_assert_int_eq(r, TETHER_MEMLIMIT_RLIMIT);
	ck_assert_ptr_null(procs);
	ck_assert_str_eq(tether_memlimit_name(r), "RLIMIT_AS");
	/* and no half-made cgroup is left behind */
	if (v2) {
		char path[4300];
		snprintf(path, sizeof path, "%s/tether-%d-7", dir, (int)getpid());
		ck_assert_msg(!tu_exists(path), "%s left behind", path);
	}
	tether_memlimit_remove(NULL); /* what the caller does with RLIMIT_AS */
}
END_TEST

START_TEST(memlimit_cgroup_when_delegated)
{
	char dir[4096];
	if (!own_cgroup2(dir, sizeof dir) || !memory_delegated(dir)) {
		fprintf(stderr, "SKIP memlimit_cgroup_when_delegated: no cgroup v2 memory controller delegated to "
				"this process (cgroup branch untested here)\n");
		return;
	}
	char *procs = NULL;
	int r = tether_memlimit_prepare(getpid(), 3, UINT64_C(64) << 20, &procs);
	if (r == TETHER_MEMLIMIT_RLIMIT) {
		fprintf(stderr, "SKIP memlimit_cgroup_when_delegated: may not create a cgroup under %s\n", dir);
		return;
	}
	ck_assert_int_eq(r, TETHER_MEMLIMIT_CGROUP);
	ck_assert_str_eq(tether_memlimit_name(r), "cgroup memory.max");
	char want[4300];
	snprintf(want, sizeof want, "%s/tether-%d-3/cgroup.procs", dir, (int)getpid());
	ck_assert_str_eq(procs, want);
	snprintf(want, sizeof want, "%s/tether-%d-3/memory.max", dir, (int)getpid());
	char *max = tu_read_file(want, NULL);
	ck_assert_ptr_nonnull(max);
	ck_assert_str_eq(max, "67108864\n");
	free(max);
	tether_memlimit_remove(procs);
	snprintf(want, sizeof want, "%s/tether-%d-3", dir, (int)getpid());
	ck_assert(!tu_exists(want));
	free(procs);
}
END_TEST

START_TEST(memlimit_release_removes_only_an_empty_directory)
{
	/* release takes the cgroup.procs path and removes its directory; a
	 * directory that still holds something (a cgroup with processes) stays */
	ck_assert_int_eq(mkdir(tu_path("cg"), 0755), 0);
	tether_memlimit_remove(tu_path("cg/cgroup.procs"));
	ck_assert(!tu_exists(tu_path("cg")));
	ck_assert_int_eq(mkdir(tu_path("busy"), 0755), 0);
	tu_write_file(tu_path("busy/cgroup.procs"), "123\n", 4, 0644);
	tether_memlimit_remove(tu_path("busy/cgroup.procs"));
	ck_assert(tu_exists(tu_path("busy/cgroup.procs")));
	/* gone already, or never there: harmless */
	tether_memlimit_remove(tu_path("never/cgroup.procs"));
	tether_memlimit_remove("cgroup.procs");
}
END_TEST

START_TEST(memlimit_names)
{
	ck_assert_str_eq(tether_memlimit_name(TETHER_MEMLIMIT_NONE), "none");
	ck_assert_str_eq(tether_memlimit_name(TETHER_MEMLIMIT_CGROUP), "cgroup memory.max");
	ck_assert_str_eq(tether_memlimit_name(TETHER_MEMLIMIT_RLIMIT), "RLIMIT_AS");
	ck_assert_str_eq(tether_memlimit_name((enum tether_memlimit_kind)99), "none");
	ck_assert_str_eq(tether_memlimit_name((enum tether_memlimit_kind)-1), "none");
}
END_TEST

int main(void)
{
	pt_init(); /* removes the private dirs of failed tests */
	Suite *s = suite_create("resources");
	TCase *tc = tcase_create("disk");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, disk_free_is_statvfs_of_the_directory);
	tcase_add_test(tc, disk_free_of_a_missing_directory_asks_its_parent);
	tcase_add_test(tc, disk_free_relative_paths);
	tcase_add_test(tc, disk_free_asks_the_right_filesystem);
	tcase_add_test(tc, disk_free_reports_what_we_may_use);
	tcase_add_test(tc, written_dirs_are_where_we_write);
	suite_add_tcase(s, tc);

	tc = tcase_create("memory");
	tcase_add_checked_fixture(tc, pt_setup, pt_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, memlimit_falls_back_to_rlimit);
	tcase_add_test(tc, memlimit_cgroup_when_delegated);
	tcase_add_test(tc, memlimit_release_removes_only_an_empty_directory);
	tcase_add_test(tc, memlimit_names);
	suite_add_tcase(s, tc);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	pt_fini();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
