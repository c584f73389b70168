/* SPDX-License-Identifier: MIT */
/* logfile.c — see logfile.h for the contract.
 *
 * State, besides the descriptor: the file's size as we know it (so the
 * rotation decision needs no fstat per write) and two "unfinished business"
 * flags (a partial line still to cut off, a fresh PATH still to open). Every
 * step that can fail leaves the file in a state from which the next append
 * continues correctly: a partial line is cut before anything else is written,
 * a rotation whose open failed is finished (open only, never renamed again)
 * before the next lines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logfile.h"
#include "sys.h"

struct tether_logfile {
	char *path;
	char *name_from, *name_to; /* scratch for "PATH.N" */
	size_t name_cap;
	uint64_t max_bytes;
	unsigned keep;
	int fd;
	uint64_t size;        /* bytes in the file behind fd, as far as we know */
	bool trunc_pending;   /* a partial line is still there: cut at trunc_to first */
	uint64_t trunc_to;
	bool reopen_pending;  /* PATH is to be opened afresh, but is not open yet:
			       * fd is still the old file (after a rotation: PATH.1) */
	bool unlink_pending;  /* keep == 0: PATH.1 goes once the new PATH is open */
	uint64_t rotate_at;   /* after a rotation that failed or did not take: no
			       * other before the file holds this many bytes */
};

static const char *rotated_name(const struct tether_logfile *lf, char *buf, unsigned n)
{
	snprintf(buf, lf->name_cap, "%s.%u", lf->path, n);
	return buf;
}

/* Opens PATH for appending. O_NOFOLLOW: never write through a symlink planted
 * at PATH (a world-writable log directory). O_NONBLOCK: a FIFO at PATH must
 * fail (ENXIO) or be refused below, not block the supervisor until a reader
 * comes; it changes nothing for a regular file. Returns the fd or -errno. */
static int open_log(const char *path, uint64_t *ret_size)
{
	int fd = sys_open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY,
			  0644);
	if (fd < 0)
		return fd;
	struct stat st;
	int r = sys_fstat(fd, &st);
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	*ret_size = (uint64_t)st.st_size;
	return fd;
}

/* Opens the fresh PATH (second half of a rotation, or a reopen). On failure
 * the old descriptor stays and lines keep going to its file. */
static int finish_reopen(struct tether_logfile *lf)
{
	uint64_t size;
	int fd = open_log(lf->path, &size);
	if (fd < 0)
		return fd;
	sys_close(lf->fd);
	lf->fd = fd;
	lf->size = size;
	lf->reopen_pending = false;
	/* keep == 0: the old file was only renamed out of the way so that PATH
	 * could be created afresh while no line was in flight; drop it now. If
	 * that fails it is overwritten by the next rotation's rename. */
	if (lf->unlink_pending) {
		lf->unlink_pending = false;
		sys_unlink(rotated_name(lf, lf->name_from, 1));
	}
	return 0;
}

/* PATH.{keep-1} -> PATH.{keep}, ..., PATH -> PATH.1, then a fresh PATH.
 * Returns 0 or -errno; on failure the caller writes to the file it has
 * (better a too-big file than a lost line) and a later append tries again.
 * Not called while a reopen is pending. */
static int rotate(struct tether_logfile *lf)
{
	/* Oldest first, so each rename lands on the name the previous one just
	 * vacated (or on PATH.keep, the file we drop). A missing file is a gap,
	 * not an error. Stop at the first real failure: going on would make a
	 * later rename overwrite a file that has not moved up. */
	for (unsigned i = lf->keep; i > 1; i--) {
		int r = sys_rename(rotated_name(lf, lf->name_from, i - 1), rotated_name(lf, lf->name_to, i));
		if (r < 0 && r != -ENOENT)
			return r;
	}
	int r = sys_rename(lf->path, rotated_name(lf, lf->name_to, 1));
	if (r < 0 && r != -ENOENT)
		return r;
	lf->reopen_pending = true;
	lf->unlink_pending = lf->keep == 0;
	return finish_reopen(lf);
}

/* Cuts off a partial line left by a short write. Returns 0 or -errno (then
 * it stays pending: nothing may be appended after a partial line, or the two
 * would read as one corrupt line). */
static int cut_partial(struct tether_logfile *lf)
{
	int r = sys_ftruncate(lf->fd, (off_t)lf->trunc_to);
	if (r < 0)
		return r;
	lf->trunc_pending = false;
	lf->size = lf->trunc_to;
	return 0;
}

/* How much of data[0..len) goes into the current file before a rotation:
 * len when all of it fits (or no rotation is possible now); else the lines
 * that fit, or, in an empty or just rotated file, the first line alone when
 * it alone is too big; 0 when the file must be rotated first. */
static size_t fitting_span(const struct tether_logfile *lf, const char *data, size_t len, bool may_rotate,
			   bool fresh)
{
	if (!may_rotate || lf->size + len <= lf->max_bytes)
		return len;
	uint64_t room = lf->size < lf->max_bytes ? lf->max_bytes - lf->size : 0;
	if (room > len)
		room = len;
	const char *nl = room ? memrchr(data, '\n', (size_t)room) : NULL;
	if (nl)
		return (size_t)(nl - data) + 1;
	if (lf->size > 0 && !fresh)
		return 0;
	/* An empty file takes any line: rotating it would only make an empty
	 * PATH.1. So does a file we have just rotated to, whatever its size
	 * (the fstat of a PATH someone else created meanwhile): rotating it
	 * again would go on for as long as they do. */
	nl = memchr(data, '\n', len);
	return nl ? (size_t)(nl - data) + 1 : len;
}

int tether_logfile_append(struct tether_logfile *lf, const char *data, size_t len, size_t *ret_written)
{
	size_t done = 0;
	bool may_rotate = true, fresh = false;
	int r = 0;
	if (lf->trunc_pending) {
		r = cut_partial(lf);
		if (r < 0)
			goto out;
	}
	/* A rotation whose open failed is finished by opening, never by
	 * renaming again: another round of renames would push the file we are
	 * still writing to up the chain and, after keep rounds, over the edge
	 * (unlinked while we write to it: lines reported written but gone).
	 * Until the open succeeds, lines go on into the old file. */
	if (lf->reopen_pending)
		(void)finish_reopen(lf);
	while (done < len) {
		/* Rotate before the write that would cross max_bytes, never
		 * after. One failed rotation per append is enough: the rest goes
		 * to the file we have, and the next append tries again. */
		size_t span = fitting_span(lf, data + done, len - done,
					   may_rotate && !lf->reopen_pending && lf->size >= lf->rotate_at, fresh);
		if (span == 0) {
			/* A rotation that failed, or whose fresh PATH is as full
			 * as the old one (a rename that said ENOENT, a gap, while
			 * the file stayed), is not tried again before another
			 * max_bytes went into the file: a rotation per line, each
			 * keep renames, for ever, is a busy loop
			 * (output_every_line_once.scn with rename failing ENOENT
			 * from its second call on: 397,520 renames). */
			int rr = rotate(lf);
			if (lf->reopen_pending) {
				/* renamed, the fresh PATH not open yet: the rotation
				 * took, the next append opens it */
				may_rotate = false;
			} else if (rr < 0 || lf->size >= lf->max_bytes) {
				may_rotate = false;
				lf->rotate_at = lf->size + lf->max_bytes;
			} else {
				fresh = true;
				lf->rotate_at = 0;
			}
			continue;
		}
		fresh = false;
		ssize_t n = sys_write(lf->fd, data + done, span);
		if (n < 0) {
			r = (int)n; /* a failed write() wrote nothing */
			goto out;
		}
		if ((size_t)n == span) {
			lf->size += span;
			done += span;
			continue;
		}
		/* The kernel took part of it: the disk or RLIMIT_FSIZE ran out
		 * half way. The whole lines it took stay; the partial one is cut
		 * off so the file ends at a line boundary. Where that line began
		 * is read from the offset (O_APPEND left it at the end of our
		 * bytes), not from lf->size, which is wrong if someone else
		 * truncated or appended: ftruncate to a stale size would cut
		 * their lines or pad the file with NULs. */
		const char *nl = n > 0 ? memrchr(data + done, '\n', (size_t)n) : NULL;
		size_t whole = nl ? (size_t)(nl - (data + done)) + 1 : 0;
		size_t partial = (size_t)n - whole;
		lf->size += whole;
		done += whole;
		if (partial > 0) {
			off_t end = sys_lseek(lf->fd, 0, SEEK_CUR);
			lf->trunc_to = end >= (off_t)partial ? (uint64_t)(end - (off_t)partial) : lf->size;
			lf->trunc_pending = true;
			(void)cut_partial(lf); /* if it fails, the next append tries first */
		}
		/* Which error stopped the kernel is not reported for a short
		 * write; on a regular file it is running out of room: ENOSPC (or
		 * EFBIG, EDQUOT, which are reported as such when the limit is hit
		 * at a line boundary). */
		r = -ENOSPC;
		goto out;
	}
out:
	if (ret_written)
		*ret_written = done;
	return r;
}

int tether_logfile_reopen(struct tether_logfile *lf)
{
	lf->reopen_pending = true;
	return finish_reopen(lf);
}

const char *tether_logfile_path(const struct tether_logfile *lf)
{
	return lf->path;
}

int tether_logfile_open(const struct tether_logfile_config *cfg, struct tether_logfile **ret)
{
	if (!cfg->path || !cfg->path[0] || cfg->max_bytes < 1 || cfg->keep > TETHER_LOGFILE_KEEP_MAX)
		return -EINVAL;
	struct tether_logfile *lf = calloc(1, sizeof *lf);
	if (!lf)
		return -ENOMEM;
	lf->fd = -1;
	lf->max_bytes = cfg->max_bytes;
	lf->keep = cfg->keep;
	lf->path = strdup(cfg->path);
	lf->name_cap = strlen(cfg->path) + sizeof ".4294967295";
	lf->name_from = malloc(lf->name_cap);
	lf->name_to = malloc(lf->name_cap);
	int r = -ENOMEM;
	if (lf->path && lf->name_from && lf->name_to)
		r = open_log(lf->path, &lf->size);
	if (r < 0) {
		tether_logfile_free(lf);
		return r;
	}
	lf->fd = r;
	*ret = lf;
	return 0;
}

void tether_logfile_free(struct tether_logfile *lf)
{
	if (!lf)
		return;
	if (lf->fd >= 0)
		sys_close(lf->fd);
	free(lf->path);
	free(lf->name_from);
	free(lf->name_to);
	free(lf);
}
