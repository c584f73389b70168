/* SPDX-License-Identifier: MIT */
/* journal.c — see journal.h for the contract.
 *
 * State, besides the descriptor: the file's size as we know it (so the
 * rotation decision needs no fstat per line), two "unfinished business" flags
 * (a partial line still to cut off, a fresh PATH still to open) and the
 * failure protocol's state (suspended, lost lines, last errno). Every step that
 * can fail leaves the journal in a state from which the next write continues
 * correctly: a partial line is cut before anything else is written, a rotation
 * whose open failed is finished (open only, never renamed again) before the
 * next line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "journal.h"
#include "json.h"
#include "sys.h"

/* A buffer grown for an unusually long line is given back afterwards: a
 * supervisor that logged one 10 MB line once must not hold 16 MB forever. */
#define JOURNAL_BUF_KEEP 65536

struct tether_journal {
	char *path;
	char *name_from, *name_to; /* scratch for "PATH.N" */
	size_t name_cap;
	uint64_t max_bytes;
	unsigned keep;
	int fd;
	uint64_t size;        /* bytes in the file behind fd, as far as we know */
	bool trunc_pending;   /* a partial line is still there: cut at trunc_to first */
	uint64_t trunc_to;
	bool reopen_pending;  /* PATH was renamed away but the new PATH is not open yet:
			       * fd is still the old file (now PATH.1) */
	bool suspended;       /* failed; nothing is tried until tether_journal_retry */
	uint64_t lost;        /* lines lost since the last successful write */
	int last_errno;       /* why the last one was lost */
	struct tether_buf buf;
};

static const char *rotated_name(const struct tether_journal *j, char *buf, unsigned n)
{
	snprintf(buf, j->name_cap, "%s.%u", j->path, n);
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

/* Second half of a rotation: open the fresh PATH. On failure the old
 * descriptor stays (its file is PATH.1 now) and lines keep going there. */
static int reopen(struct tether_journal *j)
{
	uint64_t size;
	int fd = open_log(j->path, &size);
	if (fd < 0)
		return fd;
	sys_close(j->fd);
	j->fd = fd;
	j->size = size;
	j->reopen_pending = false;
	/* keep == 0: the old file was only renamed out of the way so that PATH
	 * could be created afresh while no line was in flight; drop it now. If
	 * that fails it is overwritten by the next rotation's rename. */
	if (j->keep == 0)
		sys_unlink(rotated_name(j, j->name_from, 1));
	return 0;
}

/* PATH.{keep-1} -> PATH.{keep}, ..., PATH -> PATH.1, then a fresh PATH.
 * Rename, never copy-truncate: the bytes of a line are never copied, so no
 * line can be lost or doubled by a rotation. Returns 0 or -errno; on failure
 * the caller writes to the file it has (better a too-big file than a lost
 * line) and the next line tries again. Not called while a reopen is pending. */
static int rotate(struct tether_journal *j)
{
	/* Oldest first, so each rename lands on the name the previous one just
	 * vacated (or on PATH.keep, the file we drop). A missing file is a gap,
	 * not an error. Stop at the first real failure: going on would make a
	 * later rename overwrite a file that has not moved up. */
	for (unsigned i = j->keep; i > 1; i--) {
		int r = sys_rename(rotated_name(j, j->name_from, i - 1), rotated_name(j, j->name_to, i));
		if (r < 0 && r != -ENOENT)
			return r;
	}
	int r = sys_rename(j->path, rotated_name(j, j->name_to, 1));
	if (r < 0 && r != -ENOENT)
		return r;
	j->reopen_pending = true;
	return reopen(j);
}

/* Cuts off a partial line left by a short write. Returns 0 or -errno (then
 * it stays pending: nothing may be appended after a partial line, or the two
 * would read as one corrupt line). */
static int cut_partial(struct tether_journal *j)
{
	int r = sys_ftruncate(j->fd, (off_t)j->trunc_to);
	if (r < 0)
		return r;
	j->trunc_pending = false;
	j->size = j->trunc_to;
	return 0;
}

/* Appends j->buf (one line, newline included) with one write(). Returns 0 or
 * -errno (the line is not in the file). */
static int append(struct tether_journal *j)
{
	uint64_t total = j->buf.len;
	int r;
	if (j->trunc_pending) {
		r = cut_partial(j);
		if (r < 0)
			return r;
	}
	/* A rotation whose open failed is finished by opening, never by
	 * renaming again: another round of renames would push the file we are
	 * still writing to up the chain and, after keep rounds, over the edge
	 * (unlinked while we write to it: lines reported written but gone).
	 * Until the open succeeds, lines go on into the old file. */
	if (j->reopen_pending)
		(void)reopen(j);
	/* Rotate before the write that would cross max_bytes, never after: a
	 * file only ever exceeds it when it holds one line that does alone (or
	 * when a rotation failed). An empty file takes any line: rotating it
	 * would only make an empty PATH.1. The size is the fstat of a reopened
	 * file, which may not be empty (created by someone else meanwhile). */
	if (!j->reopen_pending && j->size > 0 && j->size + total > j->max_bytes)
		(void)rotate(j);
	ssize_t n = sys_write(j->fd, j->buf.data, j->buf.len);
	if (n < 0)
		return (int)n; /* a failed write() wrote nothing */
	if ((uint64_t)n == total) {
		j->size += total;
		return 0;
	}
	if (n > 0) {
		/* The kernel took part of the line: the disk or RLIMIT_FSIZE ran
		 * out half way. Cut it off so the file ends at a line boundary.
		 * Where our bytes began is read from the offset (O_APPEND left it
		 * at their end), not from j->size, which is wrong if someone else
		 * truncated or appended: ftruncate to a stale size would cut their
		 * lines or pad the file with NULs. */
		off_t end = sys_lseek(j->fd, 0, SEEK_CUR);
		j->trunc_to = end >= (off_t)n ? (uint64_t)(end - n) : j->size;
		j->trunc_pending = true;
		(void)cut_partial(j); /* if it fails, the next write tries first */
	}
	/* Which error stopped the kernel is not reported for a short write; on
	 * a regular file it is running out of room: ENOSPC (or EFBIG, EDQUOT,
	 * which are reported as such when the limit is hit at a line boundary). */
	return -ENOSPC;
}

/* The line that says what was lost, into j->buf. */
static int format_log_error(struct tether_journal *j, int64_t wall_ns)
{
	char ts[32];
	tether_buf_reset(&j->buf);
	tether_buf_puts(&j->buf, "{\"ts\":");
	tether_buf_json_string(&j->buf, tether_format_iso8601(wall_ns, true, ts, sizeof ts));
	tether_buf_printf(&j->buf, ",\"event\":\"log_error\",\"errno\":%d,\"error\":", j->last_errno);
	tether_buf_json_string(&j->buf, strerror(j->last_errno));
	tether_buf_printf(&j->buf, ",\"lost_lines\":%llu}\n", (unsigned long long)j->lost);
	return j->buf.oom ? -ENOMEM : 0;
}

static void lose_line(struct tether_journal *j, int err)
{
	j->lost++;
	j->last_errno = -err;
	j->suspended = true;
}

int tether_journal_open(const struct tether_journal_config *cfg, struct tether_journal **ret)
{
	if (!cfg->path || !cfg->path[0] || cfg->max_bytes < 1 || cfg->keep > TETHER_JOURNAL_KEEP_MAX)
		return -EINVAL;
	struct tether_journal *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->fd = -1;
	j->max_bytes = cfg->max_bytes;
	j->keep = cfg->keep;
	tether_buf_init(&j->buf);
	j->path = strdup(cfg->path);
	j->name_cap = strlen(cfg->path) + sizeof ".4294967295";
	j->name_from = malloc(j->name_cap);
	j->name_to = malloc(j->name_cap);
	int r = -ENOMEM;
	if (j->path && j->name_from && j->name_to)
		r = open_log(j->path, &j->size);
	if (r < 0) {
		tether_journal_free(j);
		return r;
	}
	j->fd = r;
	*ret = j;
	return 0;
}

int tether_journal_write(struct tether_journal *j, const char *line, size_t len, int64_t wall_ns)
{
	/* A caller's bug, not a log failure: a raw newline would make two
	 * lines (neither valid JSON) of one, an empty line is not JSON. */
	if (len == 0 || memchr(line, '\n', len))
		return -EINVAL;
	if (j->suspended) {
		j->lost++;
		return -EAGAIN;
	}
	int r;
	if (j->lost > 0) {
		r = format_log_error(j, wall_ns);
		if (r == 0)
			r = append(j);
		if (r < 0) {
			/* Still failing. The failure was reported when it began:
			 * this one is counted, not reported again. */
			lose_line(j, r);
			return -EAGAIN;
		}
		j->lost = 0;
	}
	tether_buf_reset(&j->buf);
	tether_buf_append(&j->buf, line, len);
	tether_buf_append(&j->buf, "\n", 1);
	r = j->buf.oom ? -ENOMEM : append(j);
	if (j->buf.cap > JOURNAL_BUF_KEEP)
		tether_buf_done(&j->buf);
	if (r < 0) {
		lose_line(j, r);
		return r;
	}
	return 0;
}

int tether_journal_reopen(struct tether_journal *j)
{
	if (j->reopen_pending)
		return reopen(j);
	/* The partial line is the old file's business: cut it there, since
	 * nothing after it would be written to that file again. */
	if (j->trunc_pending)
		(void)cut_partial(j);
	uint64_t size;
	int fd = open_log(j->path, &size);
	if (fd < 0)
		return fd;
	sys_close(j->fd);
	j->fd = fd;
	j->size = size;
	j->trunc_pending = false;
	return 0;
}

void tether_journal_retry(struct tether_journal *j)
{
	j->suspended = false;
}

uint64_t tether_journal_lost(const struct tether_journal *j)
{
	return j->lost;
}

void tether_journal_free(struct tether_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		sys_close(j->fd);
	tether_buf_done(&j->buf);
	free(j->path);
	free(j->name_from);
	free(j->name_to);
	free(j);
}
