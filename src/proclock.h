/* SPDX-License-Identifier: MIT */
/* proclock.h — who holds a flock(), as /proc tells: the system-wide list
 * (/proc/locks) and a process's own descriptors (/proc/PID/fdinfo). How a
 * pidfile's reader names the supervisor behind its lock (pidfile.h).
 */
#ifndef TETHER_PROCLOCK_H
#define TETHER_PROCLOCK_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Who holds a flock() on the inode (dev, ino)? Parses /proc/locks. 1 and
 * *ret_pid when held (the pid that took it, or 0 when it lives in a PID
 * namespace invisible to us), 0 when nobody holds it, -errno. */
int tether_proc_lock_holder(dev_t dev, ino_t ino, pid_t *ret_pid);
/* Does pid hold a flock() on the inode (dev, ino) through one of its own
 * descriptors? Reads the "lock:" lines of /proc/PID/fdinfo/N: a per-process look,
 * unlike /proc/locks, whose read waits for an RCU grace period (milliseconds
 * on a busy machine). 1 yes, 0 no, -ESRCH gone, -errno. */
int tether_proc_holds_flock(pid_t pid, dev_t dev, ino_t ino);
/* Pure parser of one /proc/locks line (fuzzed): 1 matches a held FLOCK on
 * (dev, ino), 0 no match, -EINVAL malformed. */
int tether_proc_parse_lock_line(const char *line, dev_t dev, ino_t ino, pid_t *ret_pid);

#ifdef __cplusplus
}
#endif

#endif
