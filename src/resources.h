/* SPDX-License-Identifier: MIT */
/* resources.h — the resource gates of `tether run` (SPEC §1): free disk on
 * the filesystems written to, available memory, and the per-instance memory
 * limit.
 */
#ifndef TETHER_RESOURCES_H
#define TETHER_RESOURCES_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "supervisor.h"

/* Bytes available to us (f_bavail * f_frsize) on the filesystem holding
 * path's directory (or, when that directory does not exist yet, its parent). */
int tether_disk_free(const char *path, uint64_t *ret_bytes);
/* The same for a directory (or, while it does not exist, its parent). */
int tether_disk_free_dir(const char *dir, uint64_t *ret_bytes);

/* A directory tether or its instances write to, and what it is for the
 * user ("the instances' working directory"). */
struct tether_written_dir {
	const char *what;
	char path[PATH_MAX];
};
#define TETHER_WRITTEN_DIRS_MAX 8

/* What --min-disk checks (SPEC §1): the filesystems written to — the
 * instances' working directory (--chdir, else tether's own), the
 * directories of --heartbeat-log and of every other file tether writes for
 * the instances (add them here) — and not the pidfile's (a record is under
 * 1 KiB, and /run is often a small tmpfs). Fills ret, returns how many
 * (<= cap). */
size_t tether_written_dirs(const struct tether_config *cfg, struct tether_written_dir *ret, size_t cap);

enum tether_memlimit_kind {
	TETHER_MEMLIMIT_NONE,
	TETHER_MEMLIMIT_CGROUP, /* cgroup v2 memory.max */
	TETHER_MEMLIMIT_RLIMIT, /* RLIMIT_AS: misfires on runtimes that reserve address space */
};

const char *tether_memlimit_name(enum tether_memlimit_kind k);

/* Prepares a memory limit of `bytes` for instance `id` of supervisor `owner`:
 * a cgroup v2 child of our own cgroup with memory.max, when the memory
 * controller is enabled for our children and we may create one; else RLIMIT_AS.
 * *ret_procs gets the malloc'd path of the new cgroup's cgroup.procs (the
 * worker joins it) or NULL for RLIMIT_AS. Returns the kind (>= 0) or -errno. */
int tether_memlimit_prepare(pid_t owner, unsigned id, uint64_t bytes, char **ret_procs);
/* Removes the cgroup made by tether_memlimit_prepare (given its procs path);
 * fails harmlessly while processes remain. */
void tether_memlimit_remove(const char *procs_path);

#endif
