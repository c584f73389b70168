/* SPDX-License-Identifier: MIT */
/* resources.h — the resource gates of `tether run` (SPEC §1): free disk on
 * the pidfile's filesystem, available memory, and the per-instance memory
 * limit.
 */
#ifndef TETHER_RESOURCES_H
#define TETHER_RESOURCES_H

#include <stdint.h>
#include <sys/types.h>

/* Bytes available to us (f_bavail * f_frsize) on the filesystem holding
 * path's directory (or, when that directory does not exist yet, its parent). */
int tether_disk_free(const char *path, uint64_t *ret_bytes);

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
