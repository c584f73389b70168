/* SPDX-License-Identifier: MIT */
/* logfile.h — an append-only file of lines with size rotation by rename: the
 * part the heartbeat log (journal.h) and the instances' output files
 * (output.h) share.
 *
 * Data is appended as whole lines (each ends in '\n'), many per write(), on
 * an O_APPEND descriptor. A line is never split across files: when appending
 * a line would take the file past max_bytes, the lines that fit are written,
 * the file is rotated (PATH.{keep-1} -> PATH.{keep}, ..., PATH -> PATH.1, then
 * a new PATH is opened) and the rest goes to the new file — rename, never
 * copy-truncate, so no line is lost or doubled by a rotation. A file only
 * ever exceeds max_bytes when it holds one line that does alone, or when a
 * rotation failed.
 *
 * When a write comes back short (ENOSPC half way), the whole lines it carried
 * stay and the partial one is truncated away, so the file never ends in a
 * partial line (the kernel does not say why it stopped: that is reported as
 * ENOSPC). If the truncate fails it is retried before anything else is
 * appended.
 *
 * When a rotation fails (a rename or the open of the new PATH), the lines
 * still go to the file that is open, which may then exceed max_bytes: a
 * too-big file rather than a lost line. A failed rename stops the chain at
 * once (a later one would overwrite a file that has not moved up); the next
 * append tries the rotation again. When PATH was already renamed to PATH.1
 * but the new PATH could not be opened (EMFILE, a symlink planted there:
 * refused), lines go on into PATH.1 and the next appends retry only the open,
 * never the renames, so the file being written is never pushed off the end of
 * the chain. A reopen (tether_logfile_reopen, for outside rotation tools)
 * that fails is finished the same way.
 *
 * keep == 0 keeps no old file: PATH is renamed to PATH.1, the new PATH is
 * opened, then PATH.1 is unlinked (if that fails, the next rotation's rename
 * replaces it). Never a truncate of the live file: a reader following PATH by
 * name (tail -F) sees a new file, as with keep > 0.
 *
 * Ownership: the logfile owns its descriptor and its copy of the path; free
 * with tether_logfile_free.
 */
#ifndef TETHER_LOGFILE_H
#define TETHER_LOGFILE_H

#include <stddef.h>
#include <stdint.h>

struct tether_logfile;

struct tether_logfile_config {
	const char *path;
	uint64_t max_bytes; /* rotate before a line would take the file past this (>= 1) */
	unsigned keep;      /* rotated files kept: PATH.1 .. PATH.keep (0: none) */
};

/* Each rotation makes keep renames: the bound keeps it cheap. */
#define TETHER_LOGFILE_KEEP_MAX 1000

/* Opens (creates 0644) PATH for appending. The directory must exist. Returns
 * 0 or -errno: -ELOOP for a symlink at PATH (never followed), -EINVAL for
 * something else than a regular file, for max_bytes == 0 or keep >
 * TETHER_LOGFILE_KEEP_MAX. */
int tether_logfile_open(const struct tether_logfile_config *cfg, struct tether_logfile **ret);
/* Appends data[0..len): whole lines, the last one ending in '\n' (the
 * caller's promise). Returns 0 when all of it is in the file; else -errno,
 * and *ret_written (may be NULL) gets how many bytes reached the file: a
 * prefix of data that ends at a line boundary (possibly 0). */
int tether_logfile_append(struct tether_logfile *lf, const char *data, size_t len, size_t *ret_written);
/* Closes PATH and opens it again (an outside tool renamed it away). Returns
 * 0 or -errno; on failure lines go on into the file that was open and the
 * next append tries the open again. */
int tether_logfile_reopen(struct tether_logfile *lf);
/* The path given at open. */
const char *tether_logfile_path(const struct tether_logfile *lf);
/* Closes and frees; accepts NULL. */
void tether_logfile_free(struct tether_logfile *lf);

#endif
