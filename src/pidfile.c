/* SPDX-License-Identifier: MIT */
/* pidfile.c — see pidfile.h for the protocol. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>

#include "ctlname.h"
#include "pidfile.h"
#include "sys.h"
#include "wait.h"

static char *concat(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);
	if (s) {
		memcpy(s, a, la);
		memcpy(s + la, b, lb + 1);
	}
	return s;
}

/* ---- reading ---------------------------------------------------------------- */

int tether_pidfile_read(const char *path, struct tether_pidrecord *ret)
{
	/* O_NOFOLLOW: never read through a symlink (/dev/zero, another user's
	 * file). O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = sys_open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	int r = sys_fstat(fd, &st);
	if (r < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if (st.st_size > TETHER_PIDFILE_MAX_BYTES) {
		r = -EFBIG;
		goto out;
	}
	char *buf = malloc(TETHER_PIDFILE_MAX_BYTES + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	size_t len = 0;
	for (;;) {
		ssize_t n = sys_read(fd, buf + len, TETHER_PIDFILE_MAX_BYTES + 1 - len);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > TETHER_PIDFILE_MAX_BYTES) {
			r = -EFBIG; /* it grew while we read */
			break;
		}
	}
	if (r == 0)
		r = tether_pidrecord_parse(buf, len, ret);
	free(buf);
out:
	sys_close(fd);
	return r;
}

/* The lock's holder; when the record names a candidate, its own fdinfo is
 * asked first: /proc/locks is global and its read waits for an RCU grace
 * period, which made `tether stop` cost milliseconds. */
static int lock_holder(const char *path, pid_t candidate, pid_t *ret_pid, bool *ret_missing)
{
	char *lock_path = concat(path, ".lock");
	struct stat st;
	if (!lock_path)
		return -ENOMEM;
	int r = sys_lstat(lock_path, &st);
	free(lock_path);
	if (r == -ENOENT) {
		if (ret_missing)
			*ret_missing = true;
		return 0;
	}
	if (r < 0)
		return r;
	if (!S_ISREG(st.st_mode))
		return 0; /* nothing of ours can be locked there */
	if (candidate > 1 && tether_proc_holds_flock(candidate, st.st_dev, st.st_ino) == 1) {
		*ret_pid = candidate;
		return 1;
	}
	return tether_proc_lock_holder(st.st_dev, st.st_ino, ret_pid);
}

int tether_pidfile_lock_holder(const char *path, pid_t *ret_pid)
{
	struct tether_pidrecord rec;
	pid_t candidate = 0;
	if (tether_pidfile_read(path, &rec) == 0) {
		if (!rec.legacy)
			candidate = rec.pid;
		tether_pidrecord_done(&rec);
	}
	return lock_holder(path, candidate, ret_pid, NULL);
}

/* Does rec describe the live process that holds the lock? */
static bool record_matches(const struct tether_pidrecord *rec, pid_t lock_pid, char *why, size_t len)
{
	char boot_id[TETHER_BOOT_ID_LEN + 1];
	struct tether_procstat st;
	if (rec->legacy) {
		snprintf(why, len, "legacy pidfile (pid %d) cannot be verified", (int)rec->pid);
		return false;
	}
	if (rec->pid != lock_pid) {
		snprintf(why, len, "record names pid %d but pid %d holds the lock", (int)rec->pid,
			 (int)lock_pid);
		return false;
	}
	if (tether_proc_boot_id(boot_id) < 0 || strcmp(boot_id, rec->boot_id) != 0) {
		snprintf(why, len, "record is from another boot");
		return false;
	}
	if (tether_proc_read_stat(rec->pid, &st) < 0 || st.state == 'Z') {
		snprintf(why, len, "pid %d is gone", (int)rec->pid);
		return false;
	}
	if (st.start_time != rec->start_time) {
		snprintf(why, len, "pid %d was reused (start time %llu, record says %llu)",
			 (int)rec->pid, (unsigned long long)st.start_time,
			 (unsigned long long)rec->start_time);
		return false;
	}
	return true;
}

const char *tether_pidfile_state_name(enum tether_pidfile_state s)
{
	switch (s) {
	case TETHER_PIDFILE_STOPPED: return "stopped";
	case TETHER_PIDFILE_RUNNING: return "running";
	case TETHER_PIDFILE_STARTING: return "starting";
	case TETHER_PIDFILE_STALE: return "stale";
	case TETHER_PIDFILE_UNKNOWN: return "unknown";
	}
	return "unknown";
}

static void describe_read_error(const char *path, int err, char *why, size_t len)
{
	struct stat st;
	bool have = sys_lstat(path, &st) == 0;
	if (have && S_ISLNK(st.st_mode))
		snprintf(why, len, "%s is a symlink (not followed)", path);
	else if (have && !S_ISREG(st.st_mode))
		snprintf(why, len, "%s is not a regular file", path);
	else if (err == -EINVAL && have && st.st_size == 0)
		snprintf(why, len, "%s is empty", path);
	else if (err == -EINVAL)
		snprintf(why, len, "%s is malformed", path);
	else if (err == -EFBIG)
		snprintf(why, len, "%s is too large to be a pidfile", path);
	else if (err == -ELOOP)
		snprintf(why, len, "%s nests too deeply to be a pidfile", path);
	else
		snprintf(why, len, "cannot read %s: %s", path, strerror(-err));
}

/* No lock file: is a supervisor of this pidfile restoring its files? Its
 * control socket says so, verified (ctlname.h). The record, if one is
 * there, counts only when it describes that supervisor. */
static bool found_restoring(const char *path, struct tether_pidfile_probe *p)
{
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	struct tether_ctlname_found f;
	if (tether_ctlname_key(path, key) < 0 || tether_ctlname_find(key, 0, 0, &f) != 1)
		return false;
	if (p->record_err == 0 && !p->rec.legacy && p->rec.pid == f.pid && p->rec.start_time == f.start_time)
		return true;
	tether_pidrecord_done(&p->rec);
	p->rec.pid = f.pid;
	p->rec.start_time = f.start_time;
	tether_proc_boot_id(p->rec.boot_id);
	p->record_err = 0;
	p->restoring = true;
	return true;
}

int tether_pidfile_probe(const char *path, struct tether_pidfile_probe *ret)
{
	struct tether_pidfile_probe p = {0};
	bool missing = false;
	p.record_err = tether_pidfile_read(path, &p.rec);
	int r = lock_holder(path, p.record_err == 0 && !p.rec.legacy ? p.rec.pid : 0, &p.lock_pid, &missing);
	if (r < 0) {
		tether_pidrecord_done(&p.rec);
		return r;
	}
	p.lock_held = r == 1;
	if (missing && found_restoring(path, &p)) {
		p.lock_held = true;
		p.lock_pid = p.rec.pid;
		p.state = TETHER_PIDFILE_RUNNING;
		if (p.restoring)
			snprintf(p.why, sizeof p.why, "pid %d is restoring its pidfile %s", (int)p.rec.pid, path);
	} else if (p.lock_held) {
		if (p.record_err == -ENOENT) {
			p.state = TETHER_PIDFILE_STARTING;
			snprintf(p.why, sizeof p.why, "pid %d holds the lock and has not written its record yet",
				 (int)p.lock_pid);
		} else if (p.record_err < 0) {
			p.state = TETHER_PIDFILE_UNKNOWN;
			describe_read_error(path, p.record_err, p.why, sizeof p.why);
		} else if (record_matches(&p.rec, p.lock_pid, p.why, sizeof p.why)) {
			p.state = TETHER_PIDFILE_RUNNING;
		} else {
			p.state = TETHER_PIDFILE_UNKNOWN;
		}
	} else if (p.record_err == -ENOENT) {
		p.state = TETHER_PIDFILE_STOPPED;
	} else if (p.record_err < 0) {
		p.state = TETHER_PIDFILE_UNKNOWN;
		describe_read_error(path, p.record_err, p.why, sizeof p.why);
	} else {
		p.state = TETHER_PIDFILE_STALE;
		snprintf(p.why, sizeof p.why, "nobody holds the lock of %s (pid %d)", path, (int)p.rec.pid);
	}
	*ret = p;
	return 0;
}

void tether_pidfile_probe_done(struct tether_pidfile_probe *p)
{
	tether_pidrecord_done(&p->rec);
}

/* ---- the lock holder's side ------------------------------------------------- */

void tether_pidfile_free(struct tether_pidfile *pf)
{
	if (!pf)
		return;
	if (pf->lock_fd >= 0)
		sys_close(pf->lock_fd);
	if (pf->dir_fd >= 0)
		sys_close(pf->dir_fd);
	if (pf->rec_fd >= 0)
		sys_close(pf->rec_fd);
	free(pf->path);
	free(pf->lock_path);
	free(pf->tmp_path);
	free(pf);
}

static int ignore_enoent(int r)
{
	return r == -ENOENT ? 0 : r;
}

static const char *base_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static bool names_inode(int r, const struct stat *st, dev_t dev, ino_t ino)
{
	return r == 0 && st->st_dev == dev && st->st_ino == ino;
}

/* Does PATH.lock name the lock we hold? 1 yes, 0 no (nothing there, or
 * another file), -errno cannot tell (then callers act as if it did: a
 * failing lstat must neither start a restore nor keep a stop from removing
 * our files). */
static int lock_here(const struct tether_pidfile *pf)
{
	struct stat st;
	int r = sys_lstat(pf->lock_path, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	return names_inode(r, &st, pf->lock_dev, pf->lock_ino);
}

static bool lock_is_here(const struct tether_pidfile *pf)
{
	return lock_here(pf) != 0;
}

/* Removes name from the directory we locked in (dir_fd: wherever it is now)
 * if it still names that inode. */
static int unlink_ours_at(const struct tether_pidfile *pf, const char *name, dev_t dev, ino_t ino)
{
	struct stat st;
	if (pf->dir_fd < 0 || !names_inode(sys_fstatat_nofollow(pf->dir_fd, name, &st), &st, dev, ino))
		return 0;
	return ignore_enoent(sys_unlinkat(pf->dir_fd, name));
}

/* Our record and lock names in the directory we locked in, when that
 * directory no longer lies at the path (moved): they would name a live
 * supervisor at a second path. Record first, as in remove. */
static void forget_moved(const struct tether_pidfile *pf)
{
	if (pf->have_rec)
		unlink_ours_at(pf, base_of(pf->path), pf->rec_dev, pf->rec_ino);
	unlink_ours_at(pf, base_of(pf->lock_path), pf->lock_dev, pf->lock_ino);
}

int tether_pidfile_remove(struct tether_pidfile *pf)
{
	if (pf->dir_fd >= 0 && !lock_is_here(pf)) {
		/* What lies at the path is not ours (a supervisor that started
		 * while our files were gone, or nothing): leave it. */
		struct stat st;
		int r = 0;
		if (pf->have_rec && names_inode(sys_lstat(pf->path, &st), &st, pf->rec_dev, pf->rec_ino))
			r = ignore_enoent(sys_unlink(pf->path));
		forget_moved(pf);
		return r;
	}
	/* Record first: a reader between the two unlinks sees "starting", never
	 * a record without its lock. The lock file goes while still locked;
	 * acquirers re-check the inode after locking (see pidfile.h). */
	int r = ignore_enoent(sys_unlink(pf->path));
	int r2 = ignore_enoent(sys_unlink(pf->tmp_path));
	int r3 = ignore_enoent(sys_unlink(pf->lock_path));
	return r < 0 ? r : r2 < 0 ? r2 : r3;
}

static int check_ours(const struct stat *st)
{
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	if (st->st_uid != geteuid())
		return -EPERM;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return -EPERM; /* anyone else could forge it (Debian #960108) */
	return 0;
}

static int ensure_directory(const char *path, bool *ret_created)
{
	char *dir = strdup(path);
	if (!dir)
		return -ENOMEM;
	char *slash = strrchr(dir, '/');
	int r = 0;
	if (slash && slash != dir) {
		*slash = '\0';
		r = sys_mkdir(dir, 0755);
		if (r == 0 && ret_created)
			*ret_created = true;
		if (r == -EEXIST)
			r = 0;
	}
	free(dir);
	return r;
}

static char *directory_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* One attempt at lock_path: 1 locked (*ret_fd, *ret_st), 0 busy, -EAGAIN the
 * file we locked was unlinked or replaced meanwhile (try again), -ENOENT its
 * directory is gone, -errno. */
static int lock_once(const char *lock_path, int *ret_fd, struct stat *ret_st)
{
	struct stat fst, pst;
	/* 0600: flock() needs no more than a descriptor open for reading, so a
	 * lock file others may read is a lock others may hold (G1b). */
	int fd = sys_open(lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return fd;
	int r = sys_fstat(fd, &fst);
	if (r == 0)
		r = check_ours(&fst);
	if (r < 0)
		goto fail;
	r = sys_flock(fd, LOCK_EX | LOCK_NB);
	if (r == -EWOULDBLOCK) {
		sys_close(fd);
		return 0;
	}
	if (r < 0)
		goto fail;
	r = sys_lstat(lock_path, &pst);
	if (r == -ENOENT || (r == 0 && (pst.st_ino != fst.st_ino || pst.st_dev != fst.st_dev))) {
		sys_close(fd);
		return -EAGAIN;
	}
	if (r < 0)
		goto fail;
	/* A lock file an older tether left readable to others: nobody may
	 * open it from now on (who already has it open is handled by
	 * foreign_holder). */
	if (fst.st_mode & 077)
		sys_chmod_fd(fd, 0600);
	*ret_fd = fd;
	*ret_st = fst;
	return 1;
fail:
	sys_close(fd);
	return r;
}

/* Is the lock's holder another user's process? Nobody but our own user (or
 * root) may hold our lock: such a holder opened the file while others could
 * read it, and is never a supervisor of ours. */
static bool foreign_holder(pid_t holder)
{
	char proc[32];
	struct stat st;
	if (holder <= 0)
		return false; /* invisible (another PID namespace): cannot tell */
	snprintf(proc, sizeof proc, "/proc/%d", (int)holder);
	if (sys_stat(proc, &st) < 0)
		return false;
	return st.st_uid != geteuid() && st.st_uid != 0;
}

static int check_record_path(const char *path)
{
	struct stat st;
	int r = sys_lstat(path, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (S_ISLNK(st.st_mode))
		return -ELOOP; /* never write through a symlink */
	return check_ours(&st);
}

/* Has the lock holder published a record naming itself? */
static bool holder_published(const struct tether_pidfile *pf, pid_t holder)
{
	struct tether_pidrecord rec;
	char why[160];
	if (tether_pidfile_read(pf->path, &rec) < 0)
		return false;
	bool ok = record_matches(&rec, holder, why, sizeof why);
	tether_pidrecord_done(&rec);
	return ok;
}

int tether_pidfile_watch_open(const char *path)
{
	char *dir = directory_of(path);
	if (!dir)
		return -ENOMEM;
	int fd = sys_inotify_init(IN_CLOEXEC | IN_NONBLOCK);
	if (fd >= 0) {
		int r = sys_inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_MOVED_TO |
							       IN_DELETE | IN_CREATE | IN_ATTRIB);
		if (r < 0) {
			sys_close(fd);
			fd = r;
		}
	}
	free(dir);
	return fd;
}

/* tether_pidfile_watch_wait; *ret_drained false when the events could not
 * be read: they stay queued, and the watch wakes every wait at once. */
static int watch_wait(int watch_fd, const struct tether_clock *clock, int64_t deadline, bool *ret_drained)
{
	struct pollfd pfd = {.fd = watch_fd, .events = POLLIN};
	*ret_drained = true;
	int r = tether_wait_fd(&pfd, clock, deadline);
	if (r <= 0)
		return r;
	char drain[4096] __attribute__((aligned(8)));
	for (int i = 0; i < 64; i++) {
		ssize_t n = sys_read(watch_fd, drain, sizeof drain);
		if (n == -EAGAIN)
			break;
		if (n <= 0) {
			*ret_drained = false;
			break;
		}
	}
	return 1;
}

/* Does the path name no file (empty last component, "." or "..")? Then
 * PATH.lock would lie inside it: refused before anything is created. */
static bool names_no_file(const char *path)
{
	const char *base = base_of(path);
	return !*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0;
}

/* The directory holding our files, held open, and the control socket's key
 * of the pidfile's canonical path in it. */
static int open_directory(struct tether_pidfile *pf)
{
	char *dir = directory_of(pf->path);
	char canon[PATH_MAX];
	if (!dir)
		return -ENOMEM;
	int fd = sys_open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
	free(dir);
	if (fd < 0)
		return fd;
	int r = tether_ctlname_canonical_at(fd, base_of(pf->path), canon, sizeof canon);
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	if (pf->dir_fd >= 0)
		sys_close(pf->dir_fd);
	pf->dir_fd = fd;
	tether_ctlname_key_of(canon, pf->key);
	return 0;
}

int tether_pidfile_remove_dir(struct tether_pidfile *pf)
{
	if (!pf || !pf->created_dir)
		return 0;
	char *dir = directory_of(pf->path);
	if (!dir)
		return -ENOMEM;
	/* Only if empty, never recursively: a start racing us may already
	 * have put its lock file in it (then it stays, ENOTEMPTY). */
	int r = sys_rmdir(dir);
	free(dir);
	if (r == 0)
		pf->created_dir = false;
	return r == -ENOENT || r == -ENOTEMPTY || r == -EEXIST ? 0 : r;
}

int tether_pidfile_watch_wait(int watch_fd, const struct tether_clock *clock, int64_t deadline)
{
	bool drained;
	return watch_wait(watch_fd, clock, deadline, &drained);
}

/* A contended acquire's passes are spaced by a gap doubling from 1 ms to
 * 64 ms: each pass opens and closes the lock file and reads the record, which
 * queues events on the watched directory that end the next wait at once, so
 * unpaced passes ran at full speed for the whole wait — thousands of them, or
 * millions of reads when a read kept failing (scenarios/double_start.scn,
 * read failing from its k-th call; flock failing EAGAIN with nobody holding
 * the lock). Paced, a 2-s wait makes about 40. */
#define PASS_GAP_FIRST_NS (1 * TETHER_NSEC_PER_MSEC)
#define PASS_GAP_MAX_NS (64 * TETHER_NSEC_PER_MSEC)
/* Passes in a row whose locked file was replaced meanwhile (-EAGAIN), whose
 * directory vanished (-ENOENT) or whose lock another user held (replaced)
 * before the acquire gives up: a race with a releasing holder or a failed
 * start is over in one. */
#define REPLACED_MAX 32

int tether_pidfile_acquire(const char *path, const struct tether_clock *clock, int64_t contended_wait_ns,
			   struct tether_pidfile **ret, pid_t *ret_holder)
{
	int ino_fd = -1, r;
	pid_t holder = 0;
	struct stat lst;
	if (!path || !*path)
		return -EINVAL;
	if (names_no_file(path))
		return -EISDIR;
	struct tether_pidfile *pf = calloc(1, sizeof *pf);
	if (!pf)
		return -ENOMEM;
	pf->lock_fd = pf->dir_fd = pf->rec_fd = -1;
	pf->path = strdup(path);
	pf->lock_path = concat(path, ".lock");
	pf->tmp_path = concat(path, ".tmp");
	if (!pf->path || !pf->lock_path || !pf->tmp_path) {
		r = -ENOMEM;
		goto fail;
	}
	r = ensure_directory(path, &pf->created_dir);
	if (r < 0)
		goto fail;
	if (contended_wait_ns <= 0)
		clock = NULL;
	int64_t deadline = clock ? tether_clock_now(clock) + contended_wait_ns : TETHER_NEVER;
	/* Without a wait the passes of a replaced lock file are still paced. */
	const struct tether_clock *pace = clock ? clock : tether_clock_real();
	struct tether_backoff gap;
	tether_backoff_init(&gap, PASS_GAP_FIRST_NS, PASS_GAP_MAX_NS);
	bool watch_failed = false;
	for (int replaced = 0;;) {
		r = lock_once(pf->lock_path, &pf->lock_fd, &lst);
		if (r == 1)
			break;
		if (r == -EAGAIN || r == -ENOENT) {
			/* The file we locked was replaced meanwhile (-EAGAIN), or
			 * the directory went between its mkdir and our open
			 * (-ENOENT: a start that failed removed what it created, a
			 * cleaner): races over in a pass, paced and bounded when
			 * they are not. */
			if (++replaced >= REPLACED_MAX ||
			    tether_wait_until(pace, tether_clock_now(pace) + tether_backoff_next(&gap)) < 0)
				goto fail;
			if (r == -ENOENT) {
				r = ensure_directory(path, &pf->created_dir);
				if (r < 0)
					goto fail;
			}
			continue;
		}
		if (r < 0)
			goto fail;
		/* busy */
		if (tether_pidfile_lock_holder(path, &holder) != 1)
			holder = 0;
		if (foreign_holder(holder)) {
			/* Another user holds it through a descriptor opened while
			 * the file was readable to others: never a supervisor of
			 * ours. Our own file goes, a new 0600 one takes its place;
			 * whoever locked the old inode fails the inode re-check.
			 * Nobody can hold the new one as another user, so one
			 * replacement is enough; the bound is for the impossible. */
			if (++replaced >= REPLACED_MAX)
				goto busy;
			r = ignore_enoent(sys_unlink(pf->lock_path));
			if (r < 0)
				goto fail;
			holder = 0;
			continue;
		}
		replaced = 0;
		if ((holder && holder_published(pf, holder)) || !clock || tether_clock_now(clock) >= deadline)
			goto busy;
		if (ino_fd < 0 && !watch_failed) {
			/* Watch first, then retry at once: a release between our
			 * last try and the watch would otherwise be missed. */
			ino_fd = tether_pidfile_watch_open(path);
			if (ino_fd < 0)
				goto busy;
			continue;
		}
		/* Not before the gap (the events of our own pass are queued),
		 * then until a change: a release, a record published. */
		int64_t next = tether_clock_now(clock) + tether_backoff_next(&gap);
		if (tether_wait_until(clock, next < deadline ? next : deadline) < 0)
			goto busy; /* cannot even pause: give up as at the deadline */
		bool drained = true;
		if (ino_fd >= 0 && (watch_wait(ino_fd, clock, deadline, &drained) < 0 || !drained)) {
			/* a watch that cannot be waited on or read: paced passes only */
			sys_close(ino_fd);
			ino_fd = -1;
			watch_failed = true;
		}
		continue;
busy:
		r = 0;
		goto fail;
	}
	if (ino_fd >= 0)
		sys_close(ino_fd);
	ino_fd = -1;
	pf->lock_dev = lst.st_dev;
	pf->lock_ino = lst.st_ino;
	r = check_record_path(path);
	if (r == 0)
		r = open_directory(pf);
	if (r < 0) {
		/* Leave nothing behind: our lock file goes, the foreign file stays. */
		sys_unlink(pf->lock_path);
		goto fail;
	}
	/* A supervisor of this pidfile whose files were removed (it restores
	 * them, but maybe not yet: stopped, busy) still holds its lock on an
	 * inode no path names, and still listens: we got the lock only
	 * because its file is gone. We must find it before we publish
	 * anything or start a worker (G1). When the kernel's socket list
	 * cannot be read at all, we go on: refusing would make such a
	 * machine unable to start anything. */
	struct tether_ctlname_found found;
	if (tether_ctlname_find(pf->key, 0, 0, &found) == 1) {
		holder = found.pid;
		if (lock_is_here(pf))
			sys_unlink(pf->lock_path); /* still locked: see tether_pidfile_remove */
		r = 0;
		goto fail;
	}
	*ret = pf;
	return 1;
fail:
	if (ret_holder)
		*ret_holder = r == 0 ? holder : 0;
	if (ino_fd >= 0)
		sys_close(ino_fd);
	tether_pidfile_remove_dir(pf);
	tether_pidfile_free(pf);
	return r;
}

int tether_pidfile_write(struct tether_pidfile *pf, const struct tether_pidrecord *rec)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_pidrecord_format(rec, &b);
	if (b.oom) {
		tether_buf_done(&b);
		return -ENOMEM;
	}
	/* A leftover PATH.tmp (writer SIGKILLed) or a planted hard link must not
	 * be written into: unlink, then create exclusively. */
	int r = ignore_enoent(sys_unlink(pf->tmp_path));
	if (r < 0)
		goto out;
	int fd = sys_open(pf->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			  0644);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	ssize_t w = sys_write_all(fd, b.data, b.len);
	/* What our record is, to tell it from anyone else's later: its inode,
	 * held (a descriptor) so that no file created after it is removed can
	 * get the same number. */
	struct stat st;
	int held = sys_fstat(fd, &st);
	if (held == 0)
		held = sys_fcntl_int(fd, F_DUPFD_CLOEXEC, 3);
	r = sys_close(fd);
	if (w < 0)
		r = (int)w;
	if (r == 0 && held < 0)
		r = held;
	if (r == 0)
		r = sys_rename(pf->tmp_path, pf->path);
	if (r < 0) {
		sys_unlink(pf->tmp_path);
		if (held >= 0)
			sys_close(held);
	} else {
		if (pf->rec_fd >= 0)
			sys_close(pf->rec_fd);
		pf->rec_fd = held;
		pf->rec_dev = st.st_dev;
		pf->rec_ino = st.st_ino;
		pf->have_rec = true;
	}
out:
	tether_buf_done(&b);
	return r;
}

int tether_pidfile_remove_stale(const char *path)
{
	struct tether_pidfile *pf = NULL;
	int r = tether_pidfile_acquire(path, NULL, 0, &pf, NULL);
	if (r <= 0)
		return r;
	r = tether_pidfile_remove(pf);
	tether_pidfile_free(pf);
	return r < 0 ? r : 1;
}

/* ---- keeping the files --------------------------------------------------------- */

/* Does the directory we locked in still lie at the path? */
static bool directory_is_here(const struct tether_pidfile *pf)
{
	struct stat a, b;
	char *dir = directory_of(pf->path);
	bool here = dir && pf->dir_fd >= 0 && sys_fstat(pf->dir_fd, &a) == 0 && sys_stat(dir, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino;
	free(dir);
	return here;
}

int tether_pidfile_check(const struct tether_pidfile *pf)
{
	struct stat st;
	int lost = 0;
	if (!lock_is_here(pf))
		lost |= TETHER_PIDFILE_LOST_LOCK;
	int r = pf->have_rec ? sys_lstat(pf->path, &st) : 0;
	if (pf->have_rec && (r == -ENOENT || (r == 0 && !names_inode(r, &st, pf->rec_dev, pf->rec_ino))))
		lost |= TETHER_PIDFILE_LOST_RECORD;
	if (lost && !directory_is_here(pf))
		lost |= TETHER_PIDFILE_LOST_DIR;
	return lost;
}

int tether_pidfile_restore(struct tether_pidfile *pf, const struct tether_pidrecord *rec, pid_t *ret_holder)
{
	int lost = tether_pidfile_check(pf);
	if (!lost)
		return 1;
	if (lost & TETHER_PIDFILE_LOST_LOCK) {
		if (!directory_is_here(pf))
			forget_moved(pf);
		int r = ensure_directory(pf->path, NULL);
		if (r < 0)
			return r;
		int fd = -1;
		struct stat st;
		r = lock_once(pf->lock_path, &fd, &st);
		if (r == -EAGAIN || r == -ENOENT)
			return 0;
		if (r < 0)
			return r;
		if (r == 0) {
			pid_t holder = 0;
			if (tether_pidfile_lock_holder(pf->path, &holder) != 1)
				holder = 0;
			if (foreign_holder(holder)) {
				/* as in acquire: never a supervisor of ours */
				r = ignore_enoent(sys_unlink(pf->lock_path));
				return r < 0 ? r : 0;
			}
			if (holder > 0 && holder != getpid() && holder_published(pf, holder)) {
				*ret_holder = holder;
				return 2;
			}
			return 0; /* a newcomer that will find us and let go */
		}
		/* The new lock is held: only now the old one goes, so we are
		 * never without one. It takes the old descriptor's number (a
		 * supervisor's lock is fd 3, where proclock.c looks first). */
		if (pf->lock_fd >= 0 && sys_dup3(fd, pf->lock_fd, O_CLOEXEC) >= 0) {
			sys_close(fd);
		} else {
			if (pf->lock_fd >= 0)
				sys_close(pf->lock_fd);
			pf->lock_fd = fd;
		}
		pf->lock_dev = st.st_dev;
		pf->lock_ino = st.st_ino;
		pf->have_rec = false;
		if (!directory_is_here(pf)) {
			r = open_directory(pf);
			if (r < 0)
				return r;
		}
	}
	if (!pf->have_rec || (tether_pidfile_check(pf) & TETHER_PIDFILE_LOST_RECORD)) {
		int r = tether_pidfile_write(pf, rec);
		if (r < 0)
			return r;
	}
	return 1;
}
