/* SPDX-License-Identifier: MIT */
/* soak_journal.c — the heartbeat log as the soak reads it: line by line, as
 * tether appends, across rotations (see soak.h).
 *
 * The reader keeps the file it read last open. tether rotates by rename
 * (PATH -> PATH.1 -> ... -> PATH.keep), so after a rotation the open file is
 * PATH.k for some k, and PATH.k-1 .. PATH.1 were filled and rotated since:
 * those are read whole, oldest first, then the new PATH. Nothing is read
 * twice and nothing skipped; a line that is not complete when its file is
 * left behind was split — which SPEC §6 forbids. The journal is shared by
 * all of the soak's tether incarnations, like a log file across restarts of
 * a service.
 *
 * Bounds after every read: no file over --log-max-bytes (tether rotates
 * before a line would cross it; only a single line longer than that may
 * exceed it), and never a PATH.(keep+1).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "soak/soak.h"

struct soak_journal {
	char *path;
	uint64_t max_bytes;
	unsigned keep;
	int fd;
	dev_t dev;
	ino_t ino;
	struct tether_buf partial; /* the incomplete end of the file being read */
	unsigned rotations;
	size_t longest;            /* longest line seen */
};

struct soak_journal *soak_journal_open(const char *path, uint64_t max_bytes, unsigned keep)
{
	struct soak_journal *j = xcalloc(1, sizeof *j);
	j->path = xstrdup(path);
	j->max_bytes = max_bytes;
	j->keep = keep;
	j->fd = -1;
	tether_buf_init(&j->partial);
	return j;
}

void soak_journal_free(struct soak_journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	tether_buf_done(&j->partial);
	free(j->path);
	free(j);
}

unsigned soak_journal_rotations(const struct soak_journal *j)
{
	return j->rotations;
}

/* Feeds every complete line of buf to the model; keeps the rest. */
static void feed(struct soak *s, struct soak_journal *j, const char *data, size_t len)
{
	tether_buf_append(&j->partial, data, len);
	if (j->partial.oom)
		lab_die("out of memory");
	char *start = j->partial.data, *end = start + j->partial.len, *nl;
	while (start < end && (nl = memchr(start, '\n', (size_t)(end - start)))) {
		size_t n = (size_t)(nl - start);
		if (n > j->longest)
			j->longest = n;
		soak_model_line(s, s->model, start, n);
		start = nl + 1;
	}
	size_t rest = (size_t)(end - start);
	memmove(j->partial.data, start, rest);
	j->partial.len = rest;
	j->partial.data[rest] = '\0';
}

static void drain(struct soak *s, struct soak_journal *j, int fd)
{
	char buf[65536];
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		feed(s, j, buf, (size_t)n);
	}
}

/* A file is done with (rotated away): its last line must have been whole. */
static void file_done(struct soak *s, struct soak_journal *j, const char *name)
{
	if (j->partial.len) {
		soak_fail(s, "journal: %s ends in a partial line (split across a rotation): %.120s", name,
			  j->partial.data);
		j->partial.len = 0;
	}
}

static void read_whole(struct soak *s, struct soak_journal *j, const char *name)
{
	int fd = open(name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	drain(s, j, fd);
	close(fd);
	file_done(s, j, name);
}

static void check_bounds(struct soak *s, struct soak_journal *j)
{
	char name[4096];
	/* A single line longer than the limit may make a file exceed it. */
	uint64_t limit = j->max_bytes > j->longest + 1 ? j->max_bytes : j->longest + 1;
	for (unsigned k = 0; k <= j->keep + 1; k++) {
		struct stat st;
		if (k)
			snprintf(name, sizeof name, "%s.%u", j->path, k);
		else
			snprintf(name, sizeof name, "%s", j->path);
		if (stat(name, &st) < 0)
			continue;
		if (k == j->keep + 1)
			soak_fail(s, "journal: %s exists although --log-keep is %u", name, j->keep);
		else if ((uint64_t)st.st_size > limit)
			soak_fail(s, "journal: %s has %lld bytes, over --log-max-bytes %llu", name, (long long)st.st_size,
				  (unsigned long long)j->max_bytes);
	}
}

void soak_journal_read(struct soak *s, struct soak_journal *j)
{
	char name[4096];
	struct stat st;
	if (j->fd < 0) {
		j->fd = open(j->path, O_RDONLY | O_CLOEXEC);
		if (j->fd < 0 || fstat(j->fd, &st) < 0) {
			if (j->fd >= 0)
				close(j->fd);
			j->fd = -1;
			return; /* not there yet (or lost to ENOSPC at its creation) */
		}
		j->dev = st.st_dev;
		j->ino = st.st_ino;
	}
	drain(s, j, j->fd);
	if (stat(j->path, &st) == 0 && st.st_dev == j->dev && st.st_ino == j->ino) {
		check_bounds(s, j);
		return;
	}
	/* Rotated: lines appended to our file before its rename come first. */
	drain(s, j, j->fd);
	file_done(s, j, "a rotated file");
	unsigned k = 0;
	for (unsigned i = 1; i <= j->keep && !k; i++) {
		snprintf(name, sizeof name, "%s.%u", j->path, i);
		if (stat(name, &st) == 0 && st.st_dev == j->dev && st.st_ino == j->ino)
			k = i;
	}
	if (!k && j->keep)
		soak_note(s, "journal: lost track of %s across more than %u rotations (some lines unread)", j->path,
			  j->keep);
	for (unsigned i = k ? k - 1 : j->keep; i >= 1; i--) {
		snprintf(name, sizeof name, "%s.%u", j->path, i);
		read_whole(s, j, name);
		j->rotations++;
	}
	j->rotations++;
	close(j->fd);
	j->fd = -1;
	soak_journal_read(s, j); /* the new PATH */
}
