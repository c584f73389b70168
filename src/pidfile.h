/* SPDX-License-Identifier: MIT */
/* pidfile.h — one supervisor per pidfile: a lock held for life and an atomic
 * identity record.
 *
 * Files, for a pidfile PATH:
 *   PATH       the record, one line of JSON (SPEC §4), replaced by rename so it
 *              is at all times absent or complete;
 *   PATH.lock  the lock: flock(LOCK_EX) held for the supervisor's whole life.
 *              A separate stable file, because rename swaps the record's inode
 *              and a lock on a replaced inode protects nothing. It is opened
 *              O_CLOEXEC, so no exec'd child can inherit (and outlive us with)
 *              the lock; forked helpers close it at once.
 *   PATH.tmp   the record being written (only by the lock holder).
 *
 * Liveness is the lock, never kill(pid, 0): a record whose lock nobody holds
 * is stale, whatever process now wears its PID. Whoever holds the lock is
 * named by the kernel in /proc/locks, so a record can be checked against it.
 * A stale pidfile is removed only while holding its lock, so a supervisor
 * starting meanwhile never loses its fresh record. Releasing unlinks the lock
 * file while still holding it; acquirers therefore check, after locking, that
 * the path still names the inode they locked, and retry if not.
 *
 * The record itself (its fields, JSON form and parser) is pidrecord.h's.
 *
 * The files can vanish under a running supervisor (`rm -rf` of the
 * directory, a cleaner, a rename): its lock then lies on an inode no path
 * names, and a newcomer would lock a new PATH.lock uncontended. So an
 * acquirer that got the lock asks the kernel for a supervisor of the same
 * pidfile by its control socket (ctlname.h) before it may publish anything,
 * and yields to one it finds; the supervisor itself notices (it looks, on a
 * timer and whenever its control socket is used) and restores its
 * directory, lock and record (tether_pidfile_restore).
 *
 * Nobody else may hold our lock: PATH.lock is created 0600 (flock needs only
 * a read-only descriptor), and a lock file held by another user's process
 * (one an older tether left readable) is replaced, not waited for.
 *
 * Ownership: tether_pidfile_acquire gives the caller a struct tether_pidfile
 * (the held lock) that tether_pidfile_free drops and frees; a holder that
 * ends for good calls tether_pidfile_remove first (and a start that failed,
 * tether_pidfile_remove_dir too: it leaves nothing behind, not even the
 * directory it created). Records from tether_pidfile_read own their argv;
 * reset with tether_pidrecord_done.
 */
#ifndef TETHER_PIDFILE_H
#define TETHER_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "json.h"
#include "pidrecord.h"
#include "proc.h"

#ifdef __cplusplus
extern "C" {
#endif

struct tether_pidfile {
	char *path;
	char *lock_path;
	char *tmp_path;
	int lock_fd;
	/* The directory we locked in, held open (O_PATH): after a rename it
	 * still names the moved directory, whose names of ours must go. */
	int dir_fd;
	bool created_dir;           /* acquire created it (removed by a failed start) */
	char key[17];               /* the control socket's key (ctlname.h) */
	dev_t lock_dev, rec_dev;    /* what our names must name: the held lock, */
	ino_t lock_ino, rec_ino;    /* the last record we wrote */
	bool have_rec;
	int rec_fd;                 /* that record, held so its inode number cannot be reused */
};

/* Takes the lock of the pidfile at path. Creates path's directory (0755) when
 * missing, not its parents. Refuses a path that names no file (-EISDIR: a
 * trailing '/', "." or ".." last) before touching anything, and to work
 * through a symlink (-ELOOP), on a non-regular file (-EINVAL), on a file that
 * another user owns or that is group/world-writable (-EPERM).
 * Returns 1 and *ret when acquired; 0 when a live supervisor holds it, or
 * holds no file any more but listens under this pidfile's key (ctlname.h) —
 * its files are being restored (and *ret_holder = its pid when known, else
 * 0); -errno on failure. On 0 and -errno nothing it created is left.
 * When the lock is busy but its holder has not (yet) published a matching
 * record — a supervisor still starting, or a `tether stop` removing a stale
 * record — waits for the pidfile's directory to change (inotify) for up to
 * contended_wait_ns of clock before answering 0 (clock may be NULL when
 * contended_wait_ns is 0: no waiting). */
int tether_pidfile_acquire(const char *path, const struct tether_clock *clock, int64_t contended_wait_ns,
			   struct tether_pidfile **ret, pid_t *ret_holder);
/* Atomically replaces the record (write PATH.tmp, rename over PATH). On
 * failure the previous state of PATH is unchanged and PATH.tmp is removed. */
int tether_pidfile_write(struct tether_pidfile *pf, const struct tether_pidrecord *rec);
/* Removes the record, the temp and the lock file while holding the lock
 * (pf stays locked until tether_pidfile_free) — only names that are ours:
 * when our lock no longer lies at the path, what lies there is another
 * supervisor's, and only our names in the directory we locked in (moved
 * elsewhere) go. Returns 0 or the first -errno. */
int tether_pidfile_remove(struct tether_pidfile *pf);
/* Removes the directory acquire created, if it is empty (a failed start
 * leaves nothing behind). 0 or -errno. */
int tether_pidfile_remove_dir(struct tether_pidfile *pf);

/* What of our files no longer lies at the path: a mask of these. */
#define TETHER_PIDFILE_LOST_LOCK 1
#define TETHER_PIDFILE_LOST_RECORD 2
#define TETHER_PIDFILE_LOST_DIR 4 /* the directory we locked in is no longer at the path */
int tether_pidfile_check(const struct tether_pidfile *pf);
/* Puts back what is lost: our names left in a directory that was moved
 * away go, the directory is created again, a new PATH.lock is locked (the
 * old one is kept until then, so we are never without a lock) and the
 * record rewritten. 1 done (or nothing was lost); 0 not now (the new lock
 * file is busy, or changed under us: try again later); 2 another
 * supervisor holds the lock at the path and has published its record (it
 * started while ours were gone, unseen: *ret_holder); -errno. */
int tether_pidfile_restore(struct tether_pidfile *pf, const struct tether_pidrecord *rec, pid_t *ret_holder);

/* Drops the lock and frees pf without removing anything (also for a forked
 * child that must not keep the lock). Accepts NULL. */
void tether_pidfile_free(struct tether_pidfile *pf);

/* Reads and parses the record at path without following a symlink and
 * without blocking on a FIFO: -ENOENT, -ELOOP (symlink), -EINVAL (not a
 * regular file or malformed), -EFBIG, -EACCES, ... */
int tether_pidfile_read(const char *path, struct tether_pidrecord *ret);

/* Who holds the lock of the pidfile at path: 1 (+pid), 0 nobody, -errno. */
int tether_pidfile_lock_holder(const char *path, pid_t *ret_pid);

enum tether_pidfile_state {
	TETHER_PIDFILE_STOPPED,  /* no record, no lock */
	TETHER_PIDFILE_RUNNING,  /* lock held by the live process the record names (or, while its
				  * files are being restored, found by its control socket) */
	TETHER_PIDFILE_STARTING, /* lock held, no record yet */
	TETHER_PIDFILE_STALE,    /* a readable record, nobody holds the lock */
	TETHER_PIDFILE_UNKNOWN,  /* cannot tell: unreadable, malformed, or mismatched */
};

struct tether_pidfile_probe {
	enum tether_pidfile_state state;
	int record_err;               /* 0 or the -errno of reading the record */
	struct tether_pidrecord rec;  /* valid when record_err == 0 */
	bool lock_held;
	pid_t lock_pid;
	bool restoring;               /* running, found without its lock file (ctlname.h); rec
				       * then holds only what the socket proved: pid, start_time */
	char why[160];                /* for UNKNOWN and STALE: what was seen */
};

/* Reads the pidfile's state without taking the lock (so it never disturbs a
 * starting supervisor) and without signalling anything. RUNNING means: the
 * lock is held by the pid the record names, that process is alive, its
 * start_time and the boot_id match — or, when there is no lock file, a
 * supervisor of this pidfile is found by its control socket (ctlname.h:
 * its pid and start time verified), its files being restored (restoring). Returns 0 or -errno (only for failures to
 * read /proc itself; everything about the pidfile lands in the probe).
 * Free with tether_pidfile_probe_done. */
int tether_pidfile_probe(const char *path, struct tether_pidfile_probe *ret);
void tether_pidfile_probe_done(struct tether_pidfile_probe *p);
const char *tether_pidfile_state_name(enum tether_pidfile_state s);

/* Removes a stale pidfile while holding its lock (never one a supervisor
 * holds). 1 removed (or nothing was there), 0 held by a supervisor, -errno. */
int tether_pidfile_remove_stale(const char *path);

/* Watching the pidfile's directory, for callers that wait for a record to
 * appear or a lock to be released: open the watch first, then look, then
 * wait, so no change between looking and waiting is missed. open returns an
 * fd (close with sys_close) or -errno; wait returns 1 on a change, 0 at the
 * deadline, -errno. */
int tether_pidfile_watch_open(const char *path);
int tether_pidfile_watch_wait(int watch_fd, const struct tether_clock *clock, int64_t deadline);

#ifdef __cplusplus
}
#endif

#endif
