/* SPDX-License-Identifier: MIT */
/* output.h — the instances' captured stdout and stderr (SPEC §6b, --output).
 *
 * Each instance has a pipe for its stdout and one for its stderr, created
 * once and given to every guardian of the instance (its stdout and stderr,
 * which each worker and its descendants inherit), so they outlive every
 * worker: what a worker wrote before it died — SIGKILL included — waits in
 * the pipe until it is read, and nothing is lost between a death and a
 * restart. We hold both ends: the read end to read, the write end to give
 * the next guardian. So a stream never sees end of file; the end of an
 * incarnation's output is the end of its tree (tether_output_end).
 *
 * Every line read becomes one line of the output file:
 *   2026-12-06T14:06:02.688Z 0 out <the line as written>
 * (UTC time of the read that completed it, to the millisecond; the instance;
 * out or err). A line longer than TETHER_OUTPUT_PIECE bytes is written as
 * pieces of that size, each a line of its own; a last line without newline
 * is written when the stream ends. Lines of one stream keep their order;
 * lines of different streams interleave by the read.
 *
 * The files are logfiles (logfile.h): size rotation by rename that never
 * splits a line. With "%i" in the path each instance has its own file;
 * without it all instances share one, written by one writer (this module, in
 * the supervisor's loop): a rotation needs no lock, and lines of different
 * instances never mix within a line.
 *
 * Never blocking supervision: the read ends are non-blocking and each read
 * is bounded; the write ends stay blocking, so a worker that writes faster
 * than the file takes it waits on its own full pipe. When a file cannot be
 * written (ENOSPC, EIO, ...) the lines read meanwhile are dropped and
 * counted — never buffered — and writing is retried with a backoff (100 ms,
 * doubling, at most 2 s) on the next lines that come, so it resumes by
 * itself. What was lost is told through the note hook: FAILING once when a
 * file's writing begins to fail, LOST with the count when it works again
 * (resumed) and whenever tether_output_report_losses asks (the heartbeat).
 * A read that fails (other than EAGAIN) pauses that stream with the same
 * backoff rather than spin on a descriptor poll keeps reporting.
 *
 * Ownership: struct tether_output owns the pipes, the files and its buffers;
 * the config's path and the hook's data must outlive it. Free with
 * tether_output_free, which reads and writes what is still in the pipes
 * first.
 */
#ifndef TETHER_OUTPUT_H
#define TETHER_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

/* The longest line written whole; a longer one is written in pieces of this
 * size, each a line. */
#define TETHER_OUTPUT_PIECE 65536

enum tether_output_stream {
	TETHER_OUTPUT_OUT, /* stdout, marked "out" */
	TETHER_OUTPUT_ERR, /* stderr, marked "err" */
};

enum tether_output_note_kind {
	TETHER_OUTPUT_FAILING, /* a file's writing began to fail (once until it works again) */
	TETHER_OUTPUT_LOST,    /* lines dropped since the last LOST of that file */
	TETHER_OUTPUT_REOPEN_FAILED, /* a reopen failed: lines go on into the file that was open */
};

struct tether_output_note {
	enum tether_output_note_kind kind;
	const char *path;  /* the file */
	int err;           /* the last errno behind it */
	uint64_t lines;    /* LOST: how many */
	bool resumed;      /* LOST: the file is written again (else: still failing) */
};

struct tether_output_config {
	const char *path;   /* "%i" stands for the instance number */
	uint64_t max_bytes; /* per file, as the heartbeat log's */
	unsigned keep;
	unsigned instances;
	bool chown;         /* give the pipes to the workers' user (uid, gid) */
	uid_t uid;
	gid_t gid;
	/* how losses are told (may be NULL) */
	void (*note)(void *data, const struct tether_output_note *note);
	void *note_data;
};

struct tether_output;

/* Opens every output file and creates the pipes. Returns 0, or -errno with
 * why filled ("cannot open output file PATH: REASON") and *ret_file_failed
 * (may be NULL) telling whether it was a file that failed, not the pipes. */
int tether_output_new(const struct tether_output_config *cfg, struct tether_output **ret, char *why, size_t len,
		      bool *ret_file_failed);
/* Reads and writes what the pipes still hold, tells the losses not yet
 * told, closes and frees; accepts NULL. */
void tether_output_free(struct tether_output *o, int64_t now, int64_t wall);

/* The write ends of instance id's pipes: a guardian's stdout and stderr. */
void tether_output_pipes(const struct tether_output *o, unsigned id, int *ret_out, int *ret_err);
/* The read end of a stream for poll, or -1 while it is paused after read
 * errors (until tether_output_next_deadline). */
int tether_output_poll_fd(const struct tether_output *o, unsigned id, enum tether_output_stream k, int64_t now);
/* When a stream paused at now is to be polled again (TETHER_NEVER: none
 * is). */
int64_t tether_output_next_deadline(const struct tether_output *o, int64_t now);

/* Reads what the stream's pipe holds, a bounded amount per call, and writes
 * its complete lines: to be called when poll reported the pipe readable.
 * wall: the time lines are stamped with. Returns the bytes read (0: end of
 * file) or -errno: the read failed, or said EAGAIN although poll reported
 * data; the stream is then paused with a backoff (the next deadline). */
ssize_t tether_output_read(struct tether_output *o, unsigned id, enum tether_output_stream k, int64_t now,
			   int64_t wall);
/* Instance id's worker died: reads all that its pipes held then (bounded by
 * their capacity, whatever its descendants go on writing). */
void tether_output_drain(struct tether_output *o, unsigned id, int64_t now, int64_t wall);
/* Nothing of instance id's tree remains: drains, then writes a last line
 * that had no newline. */
void tether_output_end(struct tether_output *o, unsigned id, int64_t now, int64_t wall);

/* Reopens every output file (an outside tool renamed them away). Returns 0
 * or the first failure's -errno (each one is also told as REOPEN_FAILED). */
int tether_output_reopen(struct tether_output *o);
/* Tells, through the note hook, each file's lines lost and not told yet. */
void tether_output_report_losses(struct tether_output *o);
/* Lines lost since the start, all files together. */
uint64_t tether_output_lost_lines(const struct tether_output *o);

/* The path of instance id's output file ("%i" expanded), malloc'd; NULL
 * when out of memory. */
char *tether_output_path(const char *pattern, unsigned id);

/* ---- the line splitter, on its own for the unit tests ------------------------------- */

/* A stream's line in the making: bytes read after its last newline (at most
 * TETHER_OUTPUT_PIECE). */
struct tether_output_carry {
	char *data;
	size_t len, cap;
};

/* Cuts data[0..len) (the next bytes of a stream, after what carry holds)
 * into lines and calls emit for each complete one, as two parts: the bytes
 * carried from earlier reads and the rest (a piece of an overlong line is a
 * line too); keeps a trailing partial line in carry. Returns 0, or -ENOMEM
 * when carry cannot grow (the partial line is then emitted as it is, rather
 * than lost). */
int tether_output_split(struct tether_output_carry *carry, const char *data, size_t len,
			void (*emit)(void *ctx, const char *a, size_t alen, const char *b, size_t blen), void *ctx);
/* Emits what carry holds as a line (the stream ended without a newline). */
void tether_output_split_end(struct tether_output_carry *carry,
			     void (*emit)(void *ctx, const char *a, size_t alen, const char *b, size_t blen), void *ctx);
void tether_output_carry_done(struct tether_output_carry *carry);

#endif
