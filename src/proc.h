/* SPDX-License-Identifier: MIT */
/* proc.h — what /proc says about processes.
 *
 * A process's identity is (pid, start_time, boot_id): start_time is field 22
 * of /proc/PID/stat (clock ticks since boot), which a reused PID cannot share
 * with its previous owner within one boot. Every parser here is strict: a line
 * that does not have the expected shape is -EINVAL, never a crash or a guess.
 * Functions return 0 (or a count) on success and -errno on failure; a process
 * that is gone is -ESRCH.
 */
#ifndef TETHER_PROC_H
#define TETHER_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TETHER_BOOT_ID_LEN 36

struct tether_procstat {
	pid_t pid;
	char comm[64];
	char state;          /* R, S, D, Z, T, ... */
	pid_t ppid;
	pid_t pgid;
	pid_t sid;
	uint64_t start_time; /* field 22, clock ticks after boot */
	uint64_t rss_pages;  /* field 24 */
};

/* A decimal field of /proc text at *p (before end) into *ret; *p advances
 * past it. 0, or -EINVAL for no digits or an overflow. Pure. */
int tether_proc_parse_u64(const char **p, const char *end, uint64_t *ret);
/* The same with an optional '-'. */
int tether_proc_parse_i64(const char **p, const char *end, int64_t *ret);

/* Parses the text of /proc/PID/stat. Pure (fuzzed). */
int tether_proc_parse_stat(const char *buf, size_t len, struct tether_procstat *ret);
int tether_proc_read_stat(pid_t pid, struct tether_procstat *ret);
/* Is pid alive and not a zombie? 1 yes, 0 no (gone or zombie), -errno. */
int tether_proc_alive(pid_t pid);

/* The current boot's id (36 chars + NUL). */
int tether_proc_boot_id(char ret[TETHER_BOOT_ID_LEN + 1]);

/* Direct children of pid, over all its threads. *ret is malloc'd (free it),
 * possibly NULL when *ret_n is 0. */
int tether_proc_children(pid_t pid, pid_t **ret, size_t *ret_n);

/* Calls fn for every pid in /proc; fn returns nonzero to stop (that value is
 * returned). */
typedef int (*tether_proc_scan_fn)(pid_t pid, void *userdata);
int tether_proc_scan(tether_proc_scan_fn fn, void *userdata);
/* The same over the numeric entries of dir (/proc/PID/fd, .../task): 0 as
 * well when allow_zero. */
int tether_proc_scan_dir(const char *dir, bool allow_zero, tether_proc_scan_fn fn, void *userdata);
/* The same over a directory already open (rewound first): a scan that opens
 * nothing, for a process that may not be able to open anything any more. */
int tether_proc_scan_dirfd(int dirfd, bool allow_zero, tether_proc_scan_fn fn, void *userdata);

/* Looks up KEY in /proc/PID/environ: 1 and its value in buf (truncated to
 * len-1), 0 if absent, -errno. */
int tether_proc_environ_get(pid_t pid, const char *key, char *buf, size_t len);

/* Number of open file descriptors of pid. */
int tether_proc_count_fds(pid_t pid);

/* Reads a whole small file into buf (NUL-terminated); -EFBIG if it does not
 * fit in cap-1 bytes. */
int tether_proc_read_file(const char *path, char *buf, size_t cap, size_t *ret_len);

/* pid as its own PID namespace sees it: the last field of the NSpid line of
 * /proc/PID/status. */
int tether_proc_inner_pid(pid_t pid, pid_t *ret);

/* The child of parent (a host pid) whose pid in its own PID namespace is
 * nspid (the last field of NSpid in /proc/PID/status): how a supervisor
 * outside a namespace names a process that only knows its inner pid.
 * 0 and *ret_pid, -ESRCH when no child matches. */
int tether_proc_find_nspid_child(pid_t parent, pid_t nspid, pid_t *ret_pid);

/* MemAvailable from /proc/meminfo, in bytes. */
int tether_proc_mem_available(uint64_t *ret_bytes);

/* VmRSS of pid in kB. */
int tether_proc_rss_kb(pid_t pid, uint64_t *ret_kb);

/* Who holds a flock(): proclock.h. */
#include "proclock.h"

#ifdef __cplusplus
}
#endif

#endif
