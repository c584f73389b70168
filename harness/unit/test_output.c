/* SPDX-License-Identifier: MIT */
/* test_output.c — output capture (SPEC §6b): the line splitter (pieces of
 * 64 KiB, lines across reads, a last line without newline), the logfile's
 * batches (a rotation only between lines, the bounds kept, a short write cut
 * back to whole lines, faults at every call losing or doubling nothing), and
 * the capture through real pipes (the prefix, per-instance and shared files,
 * what a SIGKILLed writer left in its pipe, losses dropped and counted while
 * a file cannot be written and writing resumed by itself, a read error that
 * pauses instead of spinning, the pipes' flags and owner). */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

#include "buf.h"
#include "clock.h"
#include "logfile.h"
#include "output.h"
#include "testutil.h"

#define PIECE TETHER_OUTPUT_PIECE
/* 2025-11-24T16:00:00Z */
#define WALL (INT64_C(1764000000) * TETHER_NSEC_PER_SEC)
#define STAMP "2025-11-24T16:00:00.000Z"
#define NOW (INT64_C(1000) * TETHER_NSEC_PER_SEC)

static void setup(void)
{
	tu_setup();
	umask(022);
#ifdef TETHER_FAULT_INJECTION
	fiu_init(0);
#endif
}

/* ---- the splitter ------------------------------------------------------------------- */

struct lines {
	char **v;
	size_t n;
};

static void collect(void *ctx, const char *a, size_t alen, const char *b, size_t blen)
{
	struct lines *l = ctx;
	char *s = malloc(alen + blen + 1);
	ck_assert_ptr_nonnull(s);
	if (alen)
		memcpy(s, a, alen);
	if (blen)
		memcpy(s + alen, b, blen);
	s[alen + blen] = '\0';
	l->v = realloc(l->v, (l->n + 1) * sizeof *l->v);
	ck_assert_ptr_nonnull(l->v);
	l->v[l->n++] = s;
}

static void lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){0};
}

/* A line of len bytes, distinct per (seq, position): the pieces of a long
 * one must come back in order, none doubled. */
static void fill_line(char *p, size_t len, unsigned seq)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (char)('a' + (i / 7 + seq) % 26);
}

/* The expected lines of a stream made of lines of the given lengths (the
 * last one without newline when partial_last): each longer than a piece
 * comes as pieces. */
static void expected(const size_t *lens, size_t n, struct tether_buf *text, struct lines *want)
{
	tether_buf_init(text);
	for (size_t k = 0; k < n; k++) {
		char *line = malloc(lens[k] + 1);
		fill_line(line, lens[k], (unsigned)k);
		tether_buf_append(text, line, lens[k]);
		if (k + 1 < n)
			tether_buf_append(text, "\n", 1);
		size_t off = 0, rest = lens[k];
		if (k + 1 == n && rest == 0) {
			free(line); /* a stream that ends with a newline has no empty last line */
			break;
		}
		do {
			size_t take = rest > PIECE ? PIECE : rest;
			collect(want, line + off, take, NULL, 0);
			off += take;
			rest -= take;
		} while (rest > 0);
		free(line);
	}
	ck_assert(!text->oom);
}

static void check_split(const char *text, size_t len, size_t chunk, const struct lines *want)
{
	struct tether_output_carry carry = {0};
	struct lines got = {0};
	for (size_t off = 0; off < len; off += chunk) {
		size_t n = len - off < chunk ? len - off : chunk;
		ck_assert_int_eq(tether_output_split(&carry, text + off, n, collect, &got), 0);
		ck_assert_uint_le(carry.len, PIECE);
	}
	tether_output_split_end(&carry, collect, &got);
	ck_assert_uint_eq(carry.len, 0);
	ck_assert_msg(got.n == want->n, "chunk %zu: %zu lines, expected %zu", chunk, got.n, want->n);
	for (size_t i = 0; i < got.n; i++)
		ck_assert_msg(strcmp(got.v[i], want->v[i]) == 0, "chunk %zu: line %zu differs (%zu bytes, expected %zu)",
			      chunk, i, strlen(got.v[i]), strlen(want->v[i]));
	lines_free(&got);
	tether_output_carry_done(&carry);
}

START_TEST(split_cuts_lines_and_pieces_at_any_read_boundary)
{
	/* around one piece, two pieces, and a last line without newline that
	 * is itself longer than a piece */
	static const size_t lens[] = {0,         1,         100,           PIECE - 1, PIECE,     PIECE + 1, 0,
				      2 * PIECE, 2 * PIECE + 1, 3 * PIECE - 7, 5,     0,         PIECE + 300};
	struct tether_buf text;
	struct lines want = {0};
	expected(lens, sizeof lens / sizeof lens[0], &text, &want);
	static const size_t chunks[] = {1000000000, 7, 4096, PIECE - 1, PIECE, PIECE + 1, 100003};
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++)
		check_split(text.data, text.len, chunks[c], &want);
	/* one byte at a time, on the first lines (up to PIECE + 1, ending
	 * with a newline) */
	struct lines w = {0};
	struct tether_buf t;
	expected(lens, 7, &t, &w);
	check_split(t.data, t.len, 1, &w);
	tether_buf_done(&t);
	lines_free(&w);
	tether_buf_done(&text);
	lines_free(&want);
}
END_TEST

START_TEST(split_keeps_a_partial_line_until_its_newline_or_the_end)
{
	struct tether_output_carry carry = {0};
	struct lines got = {0};
	tether_output_split(&carry, "one\ntw", 6, collect, &got);
	ck_assert_uint_eq(got.n, 1);
	ck_assert_str_eq(got.v[0], "one");
	ck_assert_uint_eq(carry.len, 2);
	tether_output_split(&carry, "o", 1, collect, &got);
	ck_assert_uint_eq(got.n, 1);
	tether_output_split(&carry, "\n\nthree", 7, collect, &got);
	ck_assert_uint_eq(got.n, 3);
	ck_assert_str_eq(got.v[1], "two");
	ck_assert_str_eq(got.v[2], "");
	/* nothing more comes: the end makes a line of what there is, once */
	tether_output_split_end(&carry, collect, &got);
	tether_output_split_end(&carry, collect, &got);
	ck_assert_uint_eq(got.n, 4);
	ck_assert_str_eq(got.v[3], "three");
	lines_free(&got);
	tether_output_carry_done(&carry);
}
END_TEST

/* ---- the logfile's batches ---------------------------------------------------------- */

/* Lines "NNNNNN" + padding to a length of 10..209 (newline included). */
static void make_batch_text(struct tether_buf *b, unsigned first, unsigned n)
{
	for (unsigned i = first; i < first + n; i++) {
		size_t len = 10 + (size_t)((i * 37) % 200);
		tether_buf_printf(b, "%06u", i);
		for (size_t k = 7; k < len; k++)
			tether_buf_append(b, "x", 1);
		tether_buf_append(b, "\n", 1);
	}
}

/* The chain PATH.keep .. PATH.1, PATH, oldest first, concatenated; each
 * file's size checked against max (unless it holds one line). Returns the
 * number of files. */
static size_t read_chain(const char *path, unsigned keep, uint64_t max, struct tether_buf *out)
{
	size_t files = 0;
	tether_buf_init(out);
	for (unsigned k = keep + 1; k > 0; k--) {
		char name[600];
		if (k == 1)
			snprintf(name, sizeof name, "%s", path);
		else
			snprintf(name, sizeof name, "%s.%u", path, k - 1);
		size_t len;
		char *t = tu_read_file(name, &len);
		if (!t)
			continue;
		files++;
		char *nl = memchr(t, '\n', len);
		ck_assert_msg(len <= max || (nl && (size_t)(nl - t) + 1 == len), "%s: %zu bytes > %llu", name, len,
			      (unsigned long long)max);
		ck_assert_msg(len == 0 || t[len - 1] == '\n', "%s ends inside a line", name);
		tether_buf_append(out, t, len);
		free(t);
	}
	return files;
}

START_TEST(batches_rotate_only_between_lines)
{
	const char *path = tu_path("b.log");
	struct tether_logfile_config cfg = {.path = path, .max_bytes = 1000, .keep = 200};
	struct tether_logfile *lf = NULL;
	ck_assert_int_eq(tether_logfile_open(&cfg, &lf), 0);
	struct tether_buf all, batch;
	tether_buf_init(&all);
	tether_buf_init(&batch);
	unsigned next = 0;
	for (unsigned round = 0; round < 60; round++) {
		unsigned n = 1 + (round * 7) % 23; /* 1..23 lines, up to ~4.6 KB: several rotations in one */
		tether_buf_reset(&batch);
		make_batch_text(&batch, next, n);
		next += n;
		size_t written = 12345;
		ck_assert_int_eq(tether_logfile_append(lf, batch.data, batch.len, &written), 0);
		ck_assert_uint_eq(written, batch.len);
		tether_buf_append(&all, batch.data, batch.len);
	}
	tether_logfile_free(lf);
	struct tether_buf got;
	size_t files = read_chain(path, 200, 1000, &got);
	ck_assert_uint_eq(got.len, all.len);
	ck_assert(memcmp(got.data, all.data, all.len) == 0);
	/* as full as a file can be: a rotation only when the next line would
	 * not fit, so the files are about as many as the bytes need */
	ck_assert_uint_le(files, all.len / (1000 - 209) + 1);
	tether_buf_done(&got);
	tether_buf_done(&all);
	tether_buf_done(&batch);
}
END_TEST

#ifdef TETHER_FAULT_INJECTION
static unsigned renames;

static int rename_gap(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	renames++;
	*failinfo = (void *)(intptr_t)ENOENT;
	return 1;
}

START_TEST(a_rotation_that_does_not_take_waits_for_another_file_of_bytes)
{
	/* Every rename says ENOENT (a gap: nothing to move) while the file
	 * stays where it is: the fresh PATH is the full old file. Rotating
	 * again before every line made keep renames per line, for ever; now
	 * the next try waits until another max_bytes went in, and every line
	 * is still written. */
	const char *path = tu_path("g.log");
	struct tether_logfile_config cfg = {.path = path, .max_bytes = 100, .keep = 3};
	struct tether_logfile *lf = NULL;
	ck_assert_int_eq(tether_logfile_open(&cfg, &lf), 0);
	renames = 0;
	fiu_enable_external("tether/sys/rename", 1, NULL, 0, rename_gap);
	struct tether_buf all;
	tether_buf_init(&all);
	for (unsigned i = 0; i < 200; i++) {
		char line[32];
		int n = snprintf(line, sizeof line, "line %04u of twenty\n", i); /* 20 bytes */
		size_t written = 0;
		ck_assert_int_eq(tether_logfile_append(lf, line, (size_t)n, &written), 0);
		ck_assert_uint_eq(written, (size_t)n);
		tether_buf_append(&all, line, (size_t)n);
	}
	fiu_disable("tether/sys/rename");
	tether_logfile_free(lf);
	/* 4000 bytes: a try per 100 of them, each keep renames */
	ck_assert_msg(renames <= (4000 / 100 + 1) * 3, "%u renames", renames);
	char *t = tu_read_file(path, NULL);
	ck_assert_str_eq(t, all.data);
	free(t);
	tether_buf_done(&all);
}
END_TEST
#endif

START_TEST(a_line_longer_than_the_limit_goes_alone)
{
	const char *path = tu_path("c.log");
	struct tether_logfile_config cfg = {.path = path, .max_bytes = 100, .keep = 5};
	struct tether_logfile *lf = NULL;
	ck_assert_int_eq(tether_logfile_open(&cfg, &lf), 0);
	char text[400];
	memset(text, 'a', 49);
	text[49] = '\n';
	memset(text + 50, 'b', 249);
	text[299] = '\n';
	memset(text + 300, 'c', 49);
	text[349] = '\n';
	size_t written;
	ck_assert_int_eq(tether_logfile_append(lf, text, 350, &written), 0);
	tether_logfile_free(lf);
	char name[600];
	snprintf(name, sizeof name, "%s.2", path);
	char *t = tu_read_file(name, NULL);
	ck_assert_str_eq(t, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	free(t);
	snprintf(name, sizeof name, "%s.1", path);
	size_t len;
	t = tu_read_file(name, &len);
	ck_assert_uint_eq(len, 250);
	ck_assert_int_eq(t[0], 'b');
	free(t);
	t = tu_read_file(path, &len);
	ck_assert_uint_eq(len, 50);
	ck_assert_int_eq(t[0], 'c');
	free(t);
}
END_TEST

static uint64_t fsize_limit;

static int short_batch_child(void *arg)
{
	const char *path = arg;
	signal(SIGXFSZ, SIG_IGN);
	struct tether_logfile_config cfg = {.path = path, .max_bytes = 1 << 20, .keep = 1};
	struct tether_logfile *lf = NULL;
	if (tether_logfile_open(&cfg, &lf) < 0)
		return 200;
	struct rlimit rl = {.rlim_cur = fsize_limit, .rlim_max = RLIM_INFINITY};
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 201;
	char text[1000];
	for (int i = 0; i < 10; i++) {
		memset(text + 100 * i, '0' + i, 99);
		text[100 * i + 99] = '\n';
	}
	size_t written = 99999;
	int r = tether_logfile_append(lf, text, sizeof text, &written);
	/* the whole lines the kernel took, never a part of one */
	if (written != fsize_limit / 100 * 100)
		return 202;
	/* at the start of the file the kernel says EFBIG; inside the batch it
	 * writes what fits, which is reported as ENOSPC */
	if (r != (fsize_limit == 0 ? -EFBIG : fsize_limit >= sizeof text ? 0 : -ENOSPC))
		return 203;
	/* room again: the next batch follows the last whole line */
	rl.rlim_cur = RLIM_INFINITY;
	setrlimit(RLIMIT_FSIZE, &rl);
	if (tether_logfile_append(lf, "end\n", 4, &written) != 0 || written != 4)
		return 204;
	tether_logfile_free(lf);
	return 0;
}

START_TEST(a_short_write_keeps_the_whole_lines_and_cuts_the_partial_one)
{
	for (fsize_limit = 0; fsize_limit <= 1000; fsize_limit += 50) {
		char path[400];
		snprintf(path, sizeof path, "%s/s%llu.log", tu_dir, (unsigned long long)fsize_limit);
		int st = tu_wait(tu_fork(short_batch_child, path), 10000);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "limit %llu: child status %d (exit %d)",
			      (unsigned long long)fsize_limit, st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		size_t len;
		char *t = tu_read_file(path, &len);
		size_t whole = fsize_limit / 100 * 100;
		ck_assert_uint_eq(len, whole + 4);
		for (size_t i = 0; i < whole; i++)
			ck_assert_int_eq(t[i], i % 100 == 99 ? '\n' : '0' + (int)(i / 100));
		ck_assert(memcmp(t + whole, "end\n", 4) == 0);
		free(t);
	}
}
END_TEST

START_TEST(reopen_follows_an_outside_rename)
{
	const char *path = tu_path("r.log");
	const char *moved = tu_path("r.log.old");
	struct tether_logfile_config cfg = {.path = path, .max_bytes = 1 << 20, .keep = 0};
	struct tether_logfile *lf = NULL;
	ck_assert_int_eq(tether_logfile_open(&cfg, &lf), 0);
	ck_assert_int_eq(tether_logfile_append(lf, "before\n", 7, NULL), 0);
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(tether_logfile_append(lf, "moved\n", 6, NULL), 0);
	ck_assert_int_eq(tether_logfile_reopen(lf), 0);
	ck_assert_int_eq(tether_logfile_append(lf, "after\n", 6, NULL), 0);
	/* a reopen is not a rotation: keep 0 must not unlink anything */
	char *t = tu_read_file(moved, NULL);
	ck_assert_str_eq(t, "before\nmoved\n");
	free(t);
	t = tu_read_file(path, NULL);
	ck_assert_str_eq(t, "after\n");
	free(t);
	/* a reopen that cannot open keeps writing where it was, and retries */
	ck_assert_int_eq(rename(path, moved), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_lt(tether_logfile_reopen(lf), 0);
	ck_assert_int_eq(tether_logfile_append(lf, "still\n", 6, NULL), 0);
	ck_assert_int_eq(rmdir(path), 0);
	ck_assert_int_eq(tether_logfile_append(lf, "new\n", 4, NULL), 0);
	t = tu_read_file(moved, NULL);
	ck_assert_str_eq(t, "after\nstill\n");
	free(t);
	t = tu_read_file(path, NULL);
	ck_assert_str_eq(t, "new\n");
	free(t);
	tether_logfile_free(lf);
}
END_TEST

/* ---- capture through pipes ---------------------------------------------------------- */

struct notes {
	int failing, reopen_failed, lost_events;
	uint64_t lost;
	bool last_resumed;
	int last_err;
};

static void on_note(void *data, const struct tether_output_note *n)
{
	struct notes *ns = data;
	ck_assert_ptr_nonnull(n->path);
	switch (n->kind) {
	case TETHER_OUTPUT_FAILING: ns->failing++; break;
	case TETHER_OUTPUT_REOPEN_FAILED: ns->reopen_failed++; break;
	case TETHER_OUTPUT_LOST:
		ck_assert_uint_gt(n->lines, 0);
		ns->lost_events++;
		ns->lost += n->lines;
		ns->last_resumed = n->resumed;
		break;
	}
	ns->last_err = n->err;
}

static struct tether_output *open_output(const char *pattern, unsigned instances, uint64_t max, unsigned keep,
					 struct notes *ns)
{
	struct tether_output_config cfg = {.path = pattern, .max_bytes = max, .keep = keep, .instances = instances,
					   .note = on_note, .note_data = ns};
	struct tether_output *o = NULL;
	char why[300];
	int r = tether_output_new(&cfg, &o, why, sizeof why, NULL);
	ck_assert_msg(r == 0, "tether_output_new: %d: %s", r, why);
	return o;
}

static void put(struct tether_output *o, unsigned id, enum tether_output_stream k, const char *text)
{
	int out, err;
	tether_output_pipes(o, id, &out, &err);
	size_t len = strlen(text);
	ck_assert_int_eq(write(k == TETHER_OUTPUT_ERR ? err : out, text, len), (ssize_t)len);
}

START_TEST(lines_are_stamped_with_instance_and_stream)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out.%%i", tu_dir);
	struct tether_output *o = open_output(pattern, 2, 1 << 20, 3, &ns);
	put(o, 1, TETHER_OUTPUT_OUT, "first line\nsecond");
	put(o, 1, TETHER_OUTPUT_ERR, "an error\n");
	ck_assert_int_eq(tether_output_read(o, 1, TETHER_OUTPUT_OUT, NOW, WALL), 17);
	ck_assert_int_eq(tether_output_read(o, 1, TETHER_OUTPUT_ERR, NOW, WALL), 9);
	/* empty: the supervisor reads only what poll reports readable, so an
	 * EAGAIN is a failed read (a_readable_pipe_that_says_eagain_...) */
	ck_assert_int_eq(tether_output_read(o, 1, TETHER_OUTPUT_OUT, NOW, WALL), -EAGAIN);
	put(o, 1, TETHER_OUTPUT_OUT, " half\n");
	ck_assert_int_eq(tether_output_read(o, 1, TETHER_OUTPUT_OUT, NOW, WALL + 1500 * TETHER_NSEC_PER_MSEC), 6);
	char *t = tu_read_file(tu_path("out.1"), NULL);
	ck_assert_str_eq(t, STAMP " 1 out first line\n" STAMP " 1 err an error\n"
			    "2025-11-24T16:00:01.500Z 1 out second half\n");
	free(t);
	t = tu_read_file(tu_path("out.0"), NULL);
	ck_assert_str_eq(t, "");
	free(t);
	ck_assert_uint_eq(tether_output_lost_lines(o), 0);
	tether_output_free(o, NOW, WALL);
	ck_assert_int_eq(ns.failing + ns.lost_events, 0);
}
END_TEST

START_TEST(without_pattern_every_instance_shares_one_file)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/all", tu_dir);
	struct tether_output *o = open_output(pattern, 3, 1 << 20, 3, &ns);
	for (unsigned id = 0; id < 3; id++) {
		char line[32];
		snprintf(line, sizeof line, "from %u\n", id);
		put(o, id, TETHER_OUTPUT_OUT, line);
		tether_output_read(o, id, TETHER_OUTPUT_OUT, NOW, WALL);
	}
	char *t = tu_read_file(tu_path("all"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out from 0\n" STAMP " 1 out from 1\n" STAMP " 2 out from 2\n");
	free(t);
	ck_assert(!tu_exists(tu_path("all.0")));
	tether_output_free(o, NOW, WALL);
}
END_TEST

static int writer_fd;

/* Writes 3000 numbered lines into writer_fd and dies by SIGKILL. */
static int write_and_die(void *arg)
{
	(void)arg;
	char line[64];
	for (int i = 0; i < 3000; i++) {
		int n = snprintf(line, sizeof line, "line %d of a worker about to die\n", i);
		if (write(writer_fd, line, (size_t)n) != n)
			return 1;
	}
	raise(SIGKILL);
	return 2;
}

START_TEST(what_a_killed_writer_wrote_is_drained)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	int out, err;
	tether_output_pipes(o, 0, &out, &err);
	writer_fd = out;
	int st = tu_wait(tu_fork(write_and_die, NULL), 10000);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	/* nothing was read while it wrote: all of it waits in the pipe */
	tether_output_drain(o, 0, NOW, WALL);
	size_t len;
	char *t = tu_read_file(tu_path("out"), &len);
	size_t n = 0;
	for (char *p = t; (p = strchr(p, '\n')); p++)
		n++;
	ck_assert_uint_eq(n, 3000);
	ck_assert_ptr_nonnull(strstr(t, STAMP " 0 out line 2999 of a worker about to die\n"));
	free(t);
	tether_output_free(o, NOW, WALL);
}
END_TEST

START_TEST(a_last_line_without_newline_ends_with_the_tree)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	put(o, 0, TETHER_OUTPUT_OUT, "whole\nno newline");
	put(o, 0, TETHER_OUTPUT_ERR, "err without newline");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL);
	char *t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out whole\n");
	free(t);
	tether_output_end(o, 0, NOW, WALL);
	t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out whole\n" STAMP " 0 out no newline\n" STAMP " 0 err err without newline\n");
	free(t);
	/* the next incarnation starts a line of its own */
	put(o, 0, TETHER_OUTPUT_OUT, "next\n");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL);
	/* and free writes what is still in a pipe, the partial line too */
	put(o, 0, TETHER_OUTPUT_OUT, "unread\nlast");
	tether_output_free(o, NOW, WALL);
	t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out whole\n" STAMP " 0 out no newline\n" STAMP " 0 err err without newline\n" STAMP
			    " 0 out next\n" STAMP " 0 out unread\n" STAMP " 0 out last\n");
	free(t);
}
END_TEST

START_TEST(a_long_line_comes_in_pieces_through_the_pipe)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	int out, err;
	tether_output_pipes(o, 0, &out, &err);
	/* 3 pieces and 3392 bytes; fits the pipe (ours is 1 MiB, or at least
	 * 64 KiB: then written and read in turns) */
	size_t len = 3 * PIECE + 3392;
	char *line = malloc(len + 1);
	fill_line(line, len, 0);
	line[len] = '\n';
	size_t done = 0;
	while (done < len + 1) {
		ssize_t n = write(out, line + done, len + 1 - done > 32768 ? 32768 : len + 1 - done);
		ck_assert_int_gt(n, 0);
		done += (size_t)n;
		tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL);
	}
	size_t flen;
	char *t = tu_read_file(tu_path("out"), &flen);
	const size_t plen = strlen(STAMP " 0 out ");
	ck_assert_uint_eq(flen, 4 * (plen + 1) + len);
	const char *p = t;
	for (int k = 0; k < 4; k++) {
		size_t piece = k < 3 ? PIECE : 3392;
		ck_assert(strncmp(p, STAMP " 0 out ", plen) == 0);
		ck_assert(memcmp(p + plen, line + (size_t)k * PIECE, piece) == 0);
		ck_assert_int_eq(p[plen + piece], '\n');
		p += plen + piece + 1;
	}
	free(t);
	free(line);
	tether_output_free(o, NOW, WALL);
}
END_TEST

START_TEST(rotation_keeps_whole_lines_within_the_bounds)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 4096, 3, &ns);
	for (int batch = 0; batch < 20; batch++) {
		char text[4000];
		size_t len = 0;
		for (int i = 0; i < 50; i++)
			len += (size_t)snprintf(text + len, sizeof text - len, "%06d\n", batch * 50 + i);
		put(o, 0, TETHER_OUTPUT_OUT, text);
		tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL);
	}
	tether_output_free(o, NOW, WALL);
	/* 1000 lines of 38 bytes: 107 per file, 10 files made; 3 rotated kept */
	ck_assert(!tu_exists(tu_path("out.4")));
	ck_assert(tu_exists(tu_path("out.3")));
	struct tether_buf got;
	ck_assert_uint_eq(read_chain(tu_path("out"), 3, 4096, &got), 4);
	/* what is kept is the newest lines, consecutive, each whole */
	size_t n = got.len / 38;
	ck_assert_uint_eq(got.len % 38, 0);
	for (size_t i = 0; i < n; i++) {
		char want[64];
		snprintf(want, sizeof want, STAMP " 0 out %06zu\n", 1000 - n + i);
		ck_assert(memcmp(got.data + 38 * i, want, 38) == 0);
	}
	ck_assert_uint_eq(n, 1000 - 6 * 107);
	tether_buf_done(&got);
}
END_TEST

START_TEST(pipes_are_cloexec_the_read_end_nonblocking)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 2, 1 << 20, 3, &ns);
	int out, err;
	tether_output_pipes(o, 1, &out, &err);
	int rfd = tether_output_poll_fd(o, 1, TETHER_OUTPUT_OUT, NOW);
	ck_assert_int_ge(rfd, 0);
	ck_assert(fcntl(out, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(err, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(rfd, F_GETFD) & FD_CLOEXEC);
	ck_assert(fcntl(rfd, F_GETFL) & O_NONBLOCK);
	/* a worker that outruns us waits on its full pipe: back-pressure */
	ck_assert(!(fcntl(out, F_GETFL) & O_NONBLOCK));
	ck_assert(!(fcntl(err, F_GETFL) & O_NONBLOCK));
	/* stdout's pipe as large as we may make it (at least the default) */
	ck_assert_int_ge(fcntl(out, F_GETPIPE_SZ), 65536);
	ck_assert_int_eq(tether_output_next_deadline(o, NOW), TETHER_NEVER);
	tether_output_free(o, NOW, WALL);
}
END_TEST

START_TEST(pipes_belong_to_the_workers_user)
{
	if (geteuid() != 0)
		return; /* fchown to another user needs root: covered where it runs as root */
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output_config cfg = {.path = pattern, .max_bytes = 1 << 20, .keep = 1, .instances = 1,
					   .chown = true, .uid = 65534, .gid = 65533};
	struct tether_output *o = NULL;
	char why[300];
	ck_assert_int_eq(tether_output_new(&cfg, &o, why, sizeof why, NULL), 0);
	int fds[3];
	tether_output_pipes(o, 0, &fds[0], &fds[1]);
	fds[2] = tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, NOW);
	for (int i = 0; i < 3; i++) {
		struct stat st;
		ck_assert_int_eq(fstat(fds[i], &st), 0);
		ck_assert_int_eq(st.st_uid, 65534);
		ck_assert_int_eq(st.st_gid, 65533);
	}
	tether_output_free(o, NOW, WALL);
}
END_TEST

START_TEST(an_unopenable_file_is_named)
{
	char pattern[400], why[300];
	snprintf(pattern, sizeof pattern, "%s/missing/out.%%i", tu_dir);
	struct tether_output_config cfg = {.path = pattern, .max_bytes = 1 << 20, .keep = 1, .instances = 2};
	struct tether_output *o = NULL;
	bool file_failed = false;
	ck_assert_int_eq(tether_output_new(&cfg, &o, why, sizeof why, &file_failed), -ENOENT);
	ck_assert_ptr_nonnull(strstr(why, "/missing/out.0: No such file or directory"));
	ck_assert(file_failed);
	char *p = tether_output_path("a/%i/b%i%", 12);
	ck_assert_str_eq(p, "a/12/b12%");
	free(p);
}
END_TEST

#ifdef TETHER_FAULT_INJECTION

static unsigned write_calls;

static int count_writes(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	write_calls++;
	*failinfo = (void *)(intptr_t)ENOSPC;
	return 1;
}

START_TEST(a_file_that_cannot_be_written_drops_counts_and_resumes)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	put(o, 0, TETHER_OUTPUT_OUT, "kept\n");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL);
	fiu_enable_external("tether/sys/write", 1, NULL, 0, count_writes);
	put(o, 0, TETHER_OUTPUT_OUT, "a\nb\nc\n");
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL), 6);
	ck_assert_uint_eq(write_calls, 1);
	ck_assert_int_eq(ns.failing, 1);
	ck_assert_int_eq(ns.last_err, ENOSPC);
	ck_assert_uint_eq(tether_output_lost_lines(o), 3);
	/* within the backoff: dropped and counted without a write, never kept */
	for (int i = 0; i < 10; i++) {
		put(o, 0, TETHER_OUTPUT_OUT, "d\ne\n");
		tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW + 50 * TETHER_NSEC_PER_MSEC, WALL);
	}
	ck_assert_uint_eq(write_calls, 1);
	ck_assert_uint_eq(tether_output_lost_lines(o), 23);
	/* after it: tried again, still failing — one more write, no second FAILING */
	put(o, 0, TETHER_OUTPUT_OUT, "f\n");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW + 100 * TETHER_NSEC_PER_MSEC, WALL);
	ck_assert_uint_eq(write_calls, 2);
	ck_assert_int_eq(ns.failing, 1);
	/* the heartbeat tells what is lost so far */
	tether_output_report_losses(o);
	ck_assert_int_eq(ns.lost_events, 1);
	ck_assert_uint_eq(ns.lost, 24);
	ck_assert(!ns.last_resumed);
	tether_output_report_losses(o);
	ck_assert_int_eq(ns.lost_events, 1); /* nothing new: nothing told */
	/* the backoff doubled: 200 ms after the second failure */
	fiu_disable("tether/sys/write");
	put(o, 0, TETHER_OUTPUT_OUT, "g\n");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW + 250 * TETHER_NSEC_PER_MSEC, WALL);
	ck_assert_uint_eq(tether_output_lost_lines(o), 25);
	put(o, 0, TETHER_OUTPUT_OUT, "back\n");
	tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW + 300 * TETHER_NSEC_PER_MSEC, WALL);
	ck_assert_int_eq(ns.lost_events, 2);
	ck_assert_uint_eq(ns.lost, 25);
	ck_assert(ns.last_resumed);
	char *t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out kept\n" STAMP " 0 out back\n");
	free(t);
	ck_assert_uint_eq(tether_output_lost_lines(o), 25);
	tether_output_free(o, NOW, WALL);
	ck_assert_int_eq(ns.lost_events, 2);
}
END_TEST

START_TEST(a_failing_read_pauses_the_stream)
{
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	put(o, 0, TETHER_OUTPUT_OUT, "waiting\n");
	int rfd = tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, NOW);
	fiu_enable("tether/sys/read", 1, (void *)(intptr_t)EIO, 0);
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL), -EIO);
	/* not polled (it would be readable at once, for ever) until the backoff ends */
	ck_assert_int_eq(tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, NOW), -1);
	ck_assert_int_ge(tether_output_poll_fd(o, 0, TETHER_OUTPUT_ERR, NOW), 0); /* the other stream is not */
	ck_assert_int_eq(tether_output_next_deadline(o, NOW), NOW + 100 * TETHER_NSEC_PER_MSEC);
	int64_t t1 = NOW + 100 * TETHER_NSEC_PER_MSEC;
	ck_assert_int_eq(tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, t1), rfd);
	ck_assert_int_eq(tether_output_next_deadline(o, t1), TETHER_NEVER);
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, t1, WALL), -EIO);
	ck_assert_int_eq(tether_output_next_deadline(o, t1), t1 + 200 * TETHER_NSEC_PER_MSEC);
	fiu_disable("tether/sys/read");
	int64_t t2 = t1 + 200 * TETHER_NSEC_PER_MSEC;
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, t2, WALL), 8);
	char *t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out waiting\n");
	free(t);
	/* a success ends the backoff: the next failure starts at 100 ms again */
	fiu_enable("tether/sys/read", 1, (void *)(intptr_t)EIO, FIU_ONETIME);
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, t2, WALL), -EIO);
	ck_assert_int_eq(tether_output_next_deadline(o, t2), t2 + 100 * TETHER_NSEC_PER_MSEC);
	tether_output_free(o, NOW, WALL);
}
END_TEST

START_TEST(a_readable_pipe_that_says_eagain_pauses_the_stream)
{
	/* poll reported the pipe readable; a read that says EAGAIN all the
	 * same, every time, would have it reported readable again at once, for
	 * ever: a spin (daemon_redis_ready_stop.scn, read failing EAGAIN from
	 * its 15th call on). The stream pauses as for any failing read. */
	struct notes ns = {0};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out", tu_dir);
	struct tether_output *o = open_output(pattern, 1, 1 << 20, 3, &ns);
	put(o, 0, TETHER_OUTPUT_OUT, "waiting\n");
	int rfd = tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, NOW);
	fiu_enable("tether/sys/read", 1, (void *)(intptr_t)EAGAIN, 0);
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, NOW, WALL), -EAGAIN);
	ck_assert_int_eq(tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, NOW), -1);
	ck_assert_int_eq(tether_output_next_deadline(o, NOW), NOW + 100 * TETHER_NSEC_PER_MSEC);
	int64_t t1 = NOW + 100 * TETHER_NSEC_PER_MSEC;
	ck_assert_int_eq(tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, t1), rfd);
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, t1, WALL), -EAGAIN);
	ck_assert_int_eq(tether_output_next_deadline(o, t1), t1 + 200 * TETHER_NSEC_PER_MSEC);
	fiu_disable("tether/sys/read");
	int64_t t2 = t1 + 200 * TETHER_NSEC_PER_MSEC;
	ck_assert_int_eq(tether_output_read(o, 0, TETHER_OUTPUT_OUT, t2, WALL), 8);
	char *t = tu_read_file(tu_path("out"), NULL);
	ck_assert_str_eq(t, STAMP " 0 out waiting\n");
	free(t);
	/* a drain (the worker exited) is not polled: its EAGAIN is an empty
	 * pipe, no fault to pause for */
	fiu_enable("tether/sys/read", 1, (void *)(intptr_t)EAGAIN, 0);
	tether_output_drain(o, 0, t2, WALL);
	fiu_disable("tether/sys/read");
	ck_assert_int_eq(tether_output_next_deadline(o, t2), TETHER_NEVER);
	ck_assert_int_eq(tether_output_poll_fd(o, 0, TETHER_OUTPUT_OUT, t2), rfd);
	tether_output_free(o, NOW, WALL);
}
END_TEST

static uint64_t fault_k, fault_calls;
static int fault_err;

static int kth_call(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	if (++fault_calls != fault_k)
		return 0;
	*failinfo = (void *)(intptr_t)fault_err;
	return 1;
}

/* Batches through a logfile with the k-th call of a point failing, k = 1,
 * 2, ... until a run makes fewer calls: afterwards the files hold exactly
 * the bytes append said it wrote, in order, whole lines only, each file
 * within the bound unless a rotation failed. */
static void enumerate_batches(const char *point, int err)
{
	int fired = 0;
	fault_err = err;
	for (fault_k = 1; fault_k < 2000; fault_k++) {
		char dir[300], path[400];
		snprintf(dir, sizeof dir, "%s/%s-%llu", tu_dir, strrchr(point, '/') + 1, (unsigned long long)fault_k);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(path, sizeof path, "%s/b.log", dir);
		struct tether_logfile_config cfg = {.path = path, .max_bytes = 600, .keep = 100};
		struct tether_logfile *lf = NULL;
		fault_calls = 0;
		fiu_enable_external(point, 1, NULL, 0, kth_call);
		int r = tether_logfile_open(&cfg, &lf);
		struct tether_buf want, batch;
		tether_buf_init(&want);
		tether_buf_init(&batch);
		unsigned next = 0;
		for (int round = 0; r == 0 && round < 12; round++) {
			tether_buf_reset(&batch);
			make_batch_text(&batch, next, 3 + (unsigned)round % 5);
			next += 3 + (unsigned)round % 5;
			size_t written = 0;
			int a = tether_logfile_append(lf, batch.data, batch.len, &written);
			ck_assert_msg(a == 0 ? written == batch.len : written < batch.len, "%s k=%llu: %d with %zu of %zu",
				      point, (unsigned long long)fault_k, a, written, batch.len);
			ck_assert(written == 0 || batch.data[written - 1] == '\n');
			tether_buf_append(&want, batch.data, written);
		}
		fiu_disable(point);
		tether_logfile_free(lf);
		if (fault_calls < fault_k) {
			tether_buf_done(&want);
			tether_buf_done(&batch);
			break;
		}
		fired++;
		if (r == 0) {
			struct tether_buf got;
			/* a failed rotation may leave a file too big: no size bound then */
			read_chain(path, 100, strcmp(point, "tether/sys/write") == 0 ? 600 : UINT64_MAX, &got);
			ck_assert_msg(got.len == want.len && memcmp(got.data, want.data, want.len) == 0,
				      "%s k=%llu: the files hold %zu bytes, append said %zu", point,
				      (unsigned long long)fault_k, got.len, want.len);
			tether_buf_done(&got);
		}
		tether_buf_done(&want);
		tether_buf_done(&batch);
	}
	ck_assert_msg(fault_k < 2000, "%s: the fault kept firing", point);
	ck_assert_msg(fired > 0, "%s was never reached", point);
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* The k-th pipe2 or fcntl of the setup fails: an error (or, for the pipe
 * size, nothing: the default size does), never a hang — a read end that is
 * not yet non-blocking must not be read when the half-made output is freed,
 * we hold its write end (harness faults: tether/sys/fcntl EINVAL at k=1
 * hung tether) — and no descriptor left open. */
START_TEST(a_setup_that_fails_half_way_is_undone)
{
	static const char *const points[] = {"tether/sys/fcntl", "tether/sys/pipe"};
	char pattern[400];
	snprintf(pattern, sizeof pattern, "%s/out.%%i", tu_dir);
	struct tether_output_config cfg = {.path = pattern, .max_bytes = 1 << 20, .keep = 1, .instances = 2};
	for (size_t p = 0; p < 2; p++) {
		int fired = 0;
		fault_err = EINVAL;
		for (fault_k = 1; fault_k < 50; fault_k++) {
			int before = count_fds();
			struct tether_output *o = NULL;
			char why[300];
			bool file_failed = true;
			fault_calls = 0;
			fiu_enable_external(points[p], 1, NULL, 0, kth_call);
			int r = tether_output_new(&cfg, &o, why, sizeof why, &file_failed);
			fiu_disable(points[p]);
			if (fault_calls < fault_k) {
				ck_assert_int_eq(r, 0);
				tether_output_free(o, NOW, WALL);
				break;
			}
			fired++;
			if (r == 0) {
				/* only the pipe's size may fail without failing the setup */
				ck_assert_str_eq(points[p], "tether/sys/fcntl");
				tether_output_free(o, NOW, WALL);
			} else {
				ck_assert_int_eq(r, -EINVAL);
				ck_assert(!file_failed);
				ck_assert_ptr_nonnull(strstr(why, "cannot create the output pipes of instance"));
			}
			ck_assert_int_eq(count_fds(), before);
		}
		ck_assert_int_gt(fired, 0);
	}
}
END_TEST

START_TEST(faults_at_any_call_lose_or_double_nothing_that_was_written)
{
	enumerate_batches("tether/sys/write", ENOSPC);
	enumerate_batches("tether/sys/rename", EIO);
	enumerate_batches("tether/sys/open", EMFILE);
	enumerate_batches("tether/sys/fstat", EIO);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("output");
	TCase *split = tcase_create("split");
	tcase_add_checked_fixture(split, setup, tu_teardown);
	tcase_set_timeout(split, 60);
	tcase_add_test(split, split_cuts_lines_and_pieces_at_any_read_boundary);
	tcase_add_test(split, split_keeps_a_partial_line_until_its_newline_or_the_end);
	suite_add_tcase(s, split);

	TCase *files = tcase_create("logfile");
	tcase_add_checked_fixture(files, setup, tu_teardown);
	tcase_set_timeout(files, 60);
	tcase_add_test(files, batches_rotate_only_between_lines);
	tcase_add_test(files, a_line_longer_than_the_limit_goes_alone);
	tcase_add_test(files, a_short_write_keeps_the_whole_lines_and_cuts_the_partial_one);
	tcase_add_test(files, reopen_follows_an_outside_rename);
	suite_add_tcase(s, files);

	TCase *pipes = tcase_create("capture");
	tcase_add_checked_fixture(pipes, setup, tu_teardown);
	tcase_set_timeout(pipes, 60);
	tcase_add_test(pipes, lines_are_stamped_with_instance_and_stream);
	tcase_add_test(pipes, without_pattern_every_instance_shares_one_file);
	tcase_add_test(pipes, what_a_killed_writer_wrote_is_drained);
	tcase_add_test(pipes, a_last_line_without_newline_ends_with_the_tree);
	tcase_add_test(pipes, a_long_line_comes_in_pieces_through_the_pipe);
	tcase_add_test(pipes, rotation_keeps_whole_lines_within_the_bounds);
	tcase_add_test(pipes, pipes_are_cloexec_the_read_end_nonblocking);
	tcase_add_test(pipes, pipes_belong_to_the_workers_user);
	tcase_add_test(pipes, an_unopenable_file_is_named);
	suite_add_tcase(s, pipes);

#ifdef TETHER_FAULT_INJECTION
	TCase *faults = tcase_create("faults");
	tcase_add_checked_fixture(faults, setup, tu_teardown);
	tcase_set_timeout(faults, 120);
	tcase_add_test(faults, a_file_that_cannot_be_written_drops_counts_and_resumes);
	tcase_add_test(faults, a_failing_read_pauses_the_stream);
	tcase_add_test(faults, a_readable_pipe_that_says_eagain_pauses_the_stream);
	tcase_add_test(faults, a_rotation_that_does_not_take_waits_for_another_file_of_bytes);
	tcase_add_test(faults, faults_at_any_call_lose_or_double_nothing_that_was_written);
	tcase_add_test(faults, a_setup_that_fails_half_way_is_undone);
	suite_add_tcase(s, faults);
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
