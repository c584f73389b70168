/* SPDX-License-Identifier: MIT */
/* output.c — see output.h for the contract.
 *
 * The path of a byte: read() from the pipe into one shared read buffer (a
 * read takes whatever the pipe holds, up to the buffer), cut into lines with
 * memchr (tether_output_split), each line copied with its prefix into one
 * shared output buffer, which goes to the stream's file with one write()
 * per read (logfile.c splits it only at a rotation). One clock reading and
 * one prefix per read, never per line: no system call is made per line.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "clock.h"
#include "logfile.h"
#include "output.h"
#include "sys.h"

/* What the loop reads from one stream per wakeup before it looks at
 * everything else again, in one read: a flooding worker cannot starve the
 * others, and supervision waits at most for this much output to be
 * written. Measured (README, "Output"): with 2 MiB per wakeup a `tether
 * status` during a full-speed flood took 8 ms at the median, with 256 KiB
 * 2.2-2.7 ms (1.8-2.2 ms when the same flood bypasses tether), for the same
 * throughput. */
#define READ_BUF (256u << 10)
#define READ_BUDGET READ_BUF
/* The longest prefix: "2026-12-06T14:06:02.688Z 4294967295 out " */
#define PREFIX_MAX 64
/* Formatted lines are written when this much has gathered (and at the end
 * of every read). Room for one more line of the longest kind beyond it. */
#define OUT_FLUSH (256u << 10)
#define OUT_CAP (OUT_FLUSH + TETHER_OUTPUT_PIECE + PREFIX_MAX + 1)
/* The stdout pipes' capacity, when the kernel lets us (F_SETPIPE_SZ): a
 * larger pipe lets a fast writer go on while we write the file or do other
 * work. Split among the instances within a total, so that a
 * pool of many cannot pin much kernel memory (nor run into the per-user
 * limit of pipe pages, past which the kernel gives new pipes one page). */
#define PIPE_SIZE_MAX (1u << 20)
#define PIPE_SIZE_TOTAL (8u << 20)
#define PIPE_SIZE_MIN (64u << 10)
/* A partial line's buffer grows on demand; one grown past this is given
 * back once the line is written. */
#define CARRY_KEEP 4096
/* Retrying a file that failed, or a pipe whose read failed. */
#define RETRY_INITIAL (100 * TETHER_NSEC_PER_MSEC)
#define RETRY_MAX (2 * TETHER_NSEC_PER_SEC)

struct sink {
	struct tether_logfile *file;
	bool failing;          /* lines are dropped until retry_at */
	int64_t retry_at;
	int64_t backoff;
	int err;               /* the last failure's errno */
	uint64_t lost_total;
	uint64_t lost_untold;  /* not yet told as LOST */
};

struct stream {
	int rfd, wfd;
	unsigned id;
	enum tether_output_stream kind;
	struct sink *sink;
	struct tether_output_carry carry;
	size_t capacity;       /* of the pipe, as the kernel says */
	bool readable;         /* set up: the read end is non-blocking */
	int64_t paused_until;  /* after a read error: not polled before */
	int64_t backoff;
};

struct tether_output {
	struct sink *sinks;
	size_t nsinks;
	struct stream *streams; /* 2 per instance: out, err */
	unsigned instances;
	char *rbuf;
	char *obuf;
	size_t olen;
	/* the prefix of the current read */
	char prefix[PREFIX_MAX];
	size_t plen;
	struct stream *cur;
	int64_t now;
	void (*note)(void *data, const struct tether_output_note *note);
	void *note_data;
};

/* ---- the line splitter ----------------------------------------------------------------- */

static int carry_append(struct tether_output_carry *c, const char *p, size_t n)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 256;
		while (cap < c->len + n)
			cap *= 2;
		if (cap > TETHER_OUTPUT_PIECE)
			cap = TETHER_OUTPUT_PIECE;
		char *d = realloc(c->data, cap);
		if (!d)
			return -ENOMEM;
		c->data = d;
		c->cap = cap;
	}
	memcpy(c->data + c->len, p, n);
	c->len += n;
	return 0;
}

static void carry_clear(struct tether_output_carry *c)
{
	c->len = 0;
	if (c->cap > CARRY_KEEP) {
		free(c->data);
		c->data = NULL;
		c->cap = 0;
	}
}

int tether_output_split(struct tether_output_carry *carry, const char *data, size_t len,
			void (*emit)(void *ctx, const char *a, size_t alen, const char *b, size_t blen), void *ctx)
{
	const char *p = data, *end = data + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *seg_end = nl ? nl : end;
		/* A line longer than a piece goes out a piece at a time, as soon
		 * as a byte beyond the piece shows it is longer: a line of
		 * exactly one piece is one line, whole. */
		while (carry->len + (size_t)(seg_end - p) > TETHER_OUTPUT_PIECE) {
			size_t take = TETHER_OUTPUT_PIECE - carry->len;
			emit(ctx, carry->data, carry->len, p, take);
			carry_clear(carry);
			p += take;
		}
		if (nl) {
			emit(ctx, carry->data, carry->len, p, (size_t)(nl - p));
			carry_clear(carry);
			p = nl + 1;
			continue;
		}
		if (carry_append(carry, p, (size_t)(end - p)) < 0) {
			/* Better a line cut in two than a line lost. */
			emit(ctx, carry->data, carry->len, p, (size_t)(end - p));
			carry_clear(carry);
			return -ENOMEM;
		}
		p = end;
	}
	return 0;
}

void tether_output_split_end(struct tether_output_carry *carry,
			     void (*emit)(void *ctx, const char *a, size_t alen, const char *b, size_t blen), void *ctx)
{
	if (carry->len == 0)
		return;
	emit(ctx, carry->data, carry->len, NULL, 0);
	carry_clear(carry);
}

void tether_output_carry_done(struct tether_output_carry *carry)
{
	free(carry->data);
	*carry = (struct tether_output_carry){0};
}

/* ---- the files ------------------------------------------------------------------------ */

static size_t count_lines(const char *p, size_t n)
{
	size_t lines = 0;
	const char *end = p + n;
	while (p < end && (p = memchr(p, '\n', (size_t)(end - p)))) {
		lines++;
		p++;
	}
	return lines;
}

static void tell(struct tether_output *o, const struct tether_output_note *note)
{
	if (o->note)
		o->note(o->note_data, note);
}

static void tell_lost(struct tether_output *o, struct sink *s, bool resumed)
{
	if (s->lost_untold == 0)
		return;
	struct tether_output_note note = {.kind = TETHER_OUTPUT_LOST, .path = tether_logfile_path(s->file),
					  .err = s->err, .lines = s->lost_untold, .resumed = resumed};
	s->lost_untold = 0;
	tell(o, &note);
}

static void lose(struct sink *s, size_t lines)
{
	s->lost_total += lines;
	s->lost_untold += lines;
}

/* Writes the gathered lines to their file: whole lines, or counted as lost.
 * While the file is failing, only an attempt after retry_at writes; the rest
 * is dropped at once — never buffered, never retried in a loop. */
static void flush(struct tether_output *o)
{
	if (o->olen == 0)
		return;
	struct sink *s = o->cur->sink;
	size_t written = 0;
	int r = -EAGAIN;
	if (!s->failing || o->now >= s->retry_at)
		r = tether_logfile_append(s->file, o->obuf, o->olen, &written);
	if (r == 0) {
		if (s->failing) {
			s->failing = false;
			s->backoff = 0;
			tell_lost(o, s, true);
		}
	} else {
		lose(s, count_lines(o->obuf + written, o->olen - written));
		if (r != -EAGAIN) {
			s->err = -r;
			s->backoff = s->backoff ? s->backoff * 2 : RETRY_INITIAL;
			if (s->backoff > RETRY_MAX)
				s->backoff = RETRY_MAX;
			s->retry_at = o->now + s->backoff;
			if (!s->failing) {
				s->failing = true;
				struct tether_output_note note = {.kind = TETHER_OUTPUT_FAILING,
								  .path = tether_logfile_path(s->file), .err = s->err};
				tell(o, &note);
			}
		}
	}
	o->olen = 0;
}

/* One line into the output buffer: prefix, a, b, newline. */
static void emit_line(void *ctx, const char *a, size_t alen, const char *b, size_t blen)
{
	struct tether_output *o = ctx;
	if (o->olen + o->plen + alen + blen + 1 > OUT_CAP)
		flush(o);
	char *w = o->obuf + o->olen;
	memcpy(w, o->prefix, o->plen);
	w += o->plen;
	if (alen) {
		memcpy(w, a, alen);
		w += alen;
	}
	if (blen) {
		memcpy(w, b, blen);
		w += blen;
	}
	*w++ = '\n';
	o->olen = (size_t)(w - o->obuf);
	if (o->olen >= OUT_FLUSH)
		flush(o);
}

static void begin(struct tether_output *o, struct stream *st, int64_t now, int64_t wall)
{
	char ts[32];
	o->cur = st;
	o->now = now;
	tether_format_iso8601(wall, true, ts, sizeof ts);
	int n = snprintf(o->prefix, sizeof o->prefix, "%s %u %s ", ts, st->id,
			 st->kind == TETHER_OUTPUT_OUT ? "out" : "err");
	o->plen = n > 0 && (size_t)n < sizeof o->prefix ? (size_t)n : 0;
}

/* Reads up to max bytes from the stream (until its pipe is empty) and
 * writes the complete lines. Returns the bytes read or -errno. polled: poll
 * reported the pipe readable, so that an EAGAIN with nothing read is a
 * fault too, not an empty pipe. */
static ssize_t pump(struct tether_output *o, struct stream *st, size_t max, int64_t now, int64_t wall, bool polled)
{
	size_t total = 0;
	ssize_t r = 0;
	begin(o, st, now, wall);
	while (total < max) {
		size_t want = max - total < READ_BUF ? max - total : READ_BUF;
		r = sys_read(st->rfd, o->rbuf, want);
		if (r <= 0)
			break;
		total += (size_t)r;
		tether_output_split(&st->carry, o->rbuf, (size_t)r, emit_line, o);
		/* A read that did not fill the buffer emptied the pipe: asking
		 * again would only say EAGAIN. */
		if ((size_t)r < want)
			break;
	}
	flush(o);
	if (r < 0 && (r != -EAGAIN || polled) && total == 0) {
		/* Anything but "empty" from a pipe we hold both ends of is a
		 * fault, and so is "empty" from one poll reported readable:
		 * pause this stream rather than have poll report it readable
		 * again at once, for ever (daemon_redis_ready_stop.scn with
		 * read failing EAGAIN from its 15th call on spun). */
		st->backoff = st->backoff ? st->backoff * 2 : RETRY_INITIAL;
		if (st->backoff > RETRY_MAX)
			st->backoff = RETRY_MAX;
		st->paused_until = now + st->backoff;
		return r;
	}
	st->backoff = 0;
	return (ssize_t)total;
}

/* ---- the public side ------------------------------------------------------------------ */

char *tether_output_path(const char *pattern, unsigned id)
{
	struct tether_buf b;
	tether_buf_init(&b);
	for (const char *p = pattern; *p; p++) {
		if (p[0] == '%' && p[1] == 'i') {
			tether_buf_printf(&b, "%u", id);
			p++;
		} else {
			tether_buf_append(&b, p, 1);
		}
	}
	if (b.oom || !b.data) {
		tether_buf_done(&b);
		return NULL;
	}
	return b.data;
}

static struct stream *stream_of(const struct tether_output *o, unsigned id, enum tether_output_stream k)
{
	return id < o->instances ? &o->streams[2 * (size_t)id + (k == TETHER_OUTPUT_ERR)] : NULL;
}

/* A pipe for one stream: the read end non-blocking (the loop never waits on
 * it), the write end blocking (a worker that outruns us waits on its own
 * full pipe: back-pressure, not lost lines). Both close-on-exec: the
 * guardian gets the write end as its stdout or stderr by dup. */
static int make_pipe(struct stream *st, size_t want_size, const struct tether_output_config *cfg)
{
	int p[2];
	int r = sys_pipe2(p, O_CLOEXEC);
	if (r < 0)
		return r;
	st->rfd = p[0];
	st->wfd = p[1];
	r = sys_fcntl_int(st->rfd, F_SETFL, O_NONBLOCK);
	if (r < 0)
		return r;
	st->readable = true;
	/* Larger when the kernel lets us; the default otherwise. */
	if (want_size > PIPE_SIZE_MIN)
		(void)sys_fcntl_int(st->rfd, F_SETPIPE_SZ, (int)want_size);
	r = sys_fcntl_int(st->rfd, F_GETPIPE_SZ, 0);
	st->capacity = r > 0 ? (size_t)r : PIPE_SIZE_MIN;
	/* A worker running as another user reopens /dev/stdout or
	 * /proc/self/fd/2 (nginx's access_log /dev/stdout): the kernel checks
	 * the pipe's owner and mode (0600) for that, as for a file. */
	if (cfg->chown) {
		r = sys_fchown(st->wfd, cfg->uid, cfg->gid);
		if (r < 0)
			return r;
	}
	return 0;
}

int tether_output_new(const struct tether_output_config *cfg, struct tether_output **ret, char *why, size_t len,
		      bool *ret_file_failed)
{
	bool file_failed = false;
	snprintf(why, len, "out of memory");
	if (!cfg->path || !cfg->path[0] || cfg->instances == 0)
		return -EINVAL;
	struct tether_output *o = calloc(1, sizeof *o);
	if (!o)
		return -ENOMEM;
	o->note = cfg->note;
	o->note_data = cfg->note_data;
	o->instances = cfg->instances;
	bool per_instance = strstr(cfg->path, "%i") != NULL;
	o->nsinks = per_instance ? cfg->instances : 1;
	o->sinks = calloc(o->nsinks, sizeof *o->sinks);
	o->streams = calloc(2 * (size_t)cfg->instances, sizeof *o->streams);
	o->rbuf = malloc(READ_BUF);
	o->obuf = malloc(OUT_CAP);
	int r = -ENOMEM;
	/* before any way out: calloc's zeroes would be descriptor 0, which
	 * tether_output_free would close (harness/unit/test_oom.c) */
	for (size_t i = 0; o->streams && i < 2 * (size_t)cfg->instances; i++)
		o->streams[i].rfd = o->streams[i].wfd = -1;
	if (!o->sinks || !o->streams || !o->rbuf || !o->obuf)
		goto fail;
	for (size_t i = 0; i < o->nsinks; i++) {
		char *path = tether_output_path(cfg->path, (unsigned)i);
		if (!path) {
			r = -ENOMEM;
			goto fail;
		}
		struct tether_logfile_config lc = {.path = path, .max_bytes = cfg->max_bytes, .keep = cfg->keep};
		r = tether_logfile_open(&lc, &o->sinks[i].file);
		file_failed = r < 0;
		if (r < 0)
			snprintf(why, len, "cannot open output file %s: %s", path,
				 r == -ELOOP ? "it is a symlink (refused)"
				 : r == -EINVAL ? "it is not a regular file"
				 : strerror(-r));
		free(path);
		if (r < 0)
			goto fail;
	}
	size_t out_size = PIPE_SIZE_TOTAL / cfg->instances;
	if (out_size > PIPE_SIZE_MAX)
		out_size = PIPE_SIZE_MAX;
	for (unsigned id = 0; id < cfg->instances; id++) {
		for (int k = 0; k < 2; k++) {
			struct stream *st = stream_of(o, id, (enum tether_output_stream)k);
			st->id = id;
			st->kind = (enum tether_output_stream)k;
			st->sink = &o->sinks[per_instance ? id : 0];
			/* stderr is the quieter stream: the default pipe */
			r = make_pipe(st, k == TETHER_OUTPUT_OUT ? out_size : 0, cfg);
			if (r < 0) {
				snprintf(why, len, "cannot create the output pipes of instance %u: %s", id, strerror(-r));
				goto fail;
			}
		}
	}
	*ret = o;
	return 0;
fail:
	o->note = NULL; /* nothing happened that could be told */
	tether_output_free(o, 0, 0);
	if (ret_file_failed)
		*ret_file_failed = file_failed;
	return r;
}

void tether_output_free(struct tether_output *o, int64_t now, int64_t wall)
{
	if (!o)
		return;
	for (size_t i = 0; o->streams && o->rbuf && o->obuf && i < 2 * (size_t)o->instances; i++) {
		struct stream *st = &o->streams[i];
		/* Not when its read end could not be made non-blocking (a
		 * failed start): we hold the write end, a read would wait for
		 * ever. */
		if (!st->readable)
			continue;
		/* Whatever is still in the pipe was written by a process that
		 * is gone (or going): read it, and the last partial line. */
		pump(o, st, st->capacity + READ_BUF, now, wall, false);
		tether_output_split_end(&st->carry, emit_line, o);
		flush(o);
	}
	for (size_t i = 0; o->sinks && i < o->nsinks; i++) {
		if (o->sinks[i].file)
			tell_lost(o, &o->sinks[i], false);
		tether_logfile_free(o->sinks[i].file);
	}
	for (size_t i = 0; o->streams && i < 2 * (size_t)o->instances; i++) {
		struct stream *st = &o->streams[i];
		if (st->rfd >= 0)
			sys_close(st->rfd);
		if (st->wfd >= 0)
			sys_close(st->wfd);
		tether_output_carry_done(&st->carry);
	}
	free(o->sinks);
	free(o->streams);
	free(o->rbuf);
	free(o->obuf);
	free(o);
}

void tether_output_pipes(const struct tether_output *o, unsigned id, int *ret_out, int *ret_err)
{
	*ret_out = stream_of(o, id, TETHER_OUTPUT_OUT)->wfd;
	*ret_err = stream_of(o, id, TETHER_OUTPUT_ERR)->wfd;
}

int tether_output_poll_fd(const struct tether_output *o, unsigned id, enum tether_output_stream k, int64_t now)
{
	const struct stream *st = stream_of(o, id, k);
	if (!st || now < st->paused_until)
		return -1;
	return st->rfd;
}

int64_t tether_output_next_deadline(const struct tether_output *o, int64_t now)
{
	int64_t d = TETHER_NEVER;
	for (size_t i = 0; i < 2 * (size_t)o->instances; i++)
		if (o->streams[i].paused_until > now && o->streams[i].paused_until < d)
			d = o->streams[i].paused_until;
	return d;
}

ssize_t tether_output_read(struct tether_output *o, unsigned id, enum tether_output_stream k, int64_t now,
			   int64_t wall)
{
	struct stream *st = stream_of(o, id, k);
	if (!st)
		return -EINVAL;
	return pump(o, st, READ_BUDGET, now, wall, true);
}

void tether_output_drain(struct tether_output *o, unsigned id, int64_t now, int64_t wall)
{
	for (int k = 0; k < 2; k++) {
		struct stream *st = stream_of(o, id, (enum tether_output_stream)k);
		if (!st)
			return;
		/* All the dead worker wrote is in the pipe: at most its
		 * capacity. Reading more would be reading its descendants for as
		 * long as they write. */
		pump(o, st, st->capacity + READ_BUF, now, wall, false);
	}
}

void tether_output_end(struct tether_output *o, unsigned id, int64_t now, int64_t wall)
{
	for (int k = 0; k < 2; k++) {
		struct stream *st = stream_of(o, id, (enum tether_output_stream)k);
		if (!st)
			return;
		pump(o, st, st->capacity + READ_BUF, now, wall, false);
		begin(o, st, now, wall);
		tether_output_split_end(&st->carry, emit_line, o);
		flush(o);
	}
}

int tether_output_reopen(struct tether_output *o)
{
	int first = 0;
	for (size_t i = 0; i < o->nsinks; i++) {
		int r = tether_logfile_reopen(o->sinks[i].file);
		if (r < 0) {
			struct tether_output_note note = {.kind = TETHER_OUTPUT_REOPEN_FAILED,
							  .path = tether_logfile_path(o->sinks[i].file), .err = -r};
			tell(o, &note);
			if (!first)
				first = r;
		}
	}
	return first;
}

void tether_output_report_losses(struct tether_output *o)
{
	for (size_t i = 0; i < o->nsinks; i++)
		tell_lost(o, &o->sinks[i], !o->sinks[i].failing);
}

uint64_t tether_output_lost_lines(const struct tether_output *o)
{
	uint64_t n = 0;
	for (size_t i = 0; i < o->nsinks; i++)
		n += o->sinks[i].lost_total;
	return n;
}
