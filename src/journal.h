/* SPDX-License-Identifier: MIT */
/* journal.h — the heartbeat and event log (SPEC §6): JSON lines, size
 * rotation by rename, failures that never stop supervision. The file and its
 * rotation are a logfile (logfile.h, shared with the instances' output
 * files); what follows is what that gives a journal line by line.
 *
 * A line is written with one write() on an O_APPEND descriptor. It is never
 * split: when appending it would take the file past max_bytes the file is
 * rotated first (PATH.{keep-1} -> PATH.{keep}, ..., PATH -> PATH.1, then a new
 * PATH is opened) — rename, never copy-truncate, so no line is lost or
 * duplicated; and when a write comes back short (ENOSPC half way), the file is
 * truncated back to where the line began, so it never ends in a partial line
 * (that line is lost, as ENOSPC: the kernel does not say why it stopped).
 *
 * When a write fails (ENOSPC, EIO, ...) the line is lost and counted, and the
 * journal stops trying until tether_journal_retry() (the supervisor calls it
 * at each heartbeat): one failure report, not one per event. The first line
 * that succeeds after a failure is preceded by a log_error line saying what
 * was lost: {"ts":...,"event":"log_error","errno":28,"error":"No space left on
 * device","lost_lines":3} (errno: the last failure's; ts: wall_ns, seconds).
 *
 * When a rotation fails (a rename or the open of the new PATH), the line still
 * goes to the file the journal has open, which may then exceed max_bytes: a
 * too-big file rather than a lost line. A failed rename stops the chain at
 * once (a later one would overwrite a file that has not moved up); the next
 * line tries the rotation again. When PATH was already renamed to PATH.1 but
 * the new PATH could not be opened (EMFILE, a symlink planted there: refused),
 * lines go on into PATH.1 and the next lines retry only the open, never the
 * renames, so the file being written is never pushed off the end of the chain.
 *
 * keep == 0 keeps no old file: PATH is renamed to PATH.1, the new PATH is
 * opened, then PATH.1 is unlinked (if that fails, the next rotation's rename
 * replaces it). Never a truncate of the live file: a reader following PATH by
 * name (tail -F) sees a new file, as with keep > 0.
 *
 * Ownership: the journal owns its descriptor and path copy; free with
 * tether_journal_free.
 */
#ifndef TETHER_JOURNAL_H
#define TETHER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "logfile.h"

struct tether_journal;

struct tether_journal_config {
	const char *path;
	uint64_t max_bytes; /* rotate before a line would take the file past this (>= 1) */
	unsigned keep;      /* rotated files kept: PATH.1 .. PATH.keep (0: just truncate by rename away) */
};

/* Each rotation makes keep renames: the bound keeps it cheap. */
#define TETHER_JOURNAL_KEEP_MAX TETHER_LOGFILE_KEEP_MAX

/* Opens (creates 0644) the log. The directory must exist. Returns 0 or -errno:
 * -ELOOP for a symlink at PATH (never followed), -EINVAL for something else
 * than a regular file or for max_bytes == 0, keep > TETHER_JOURNAL_KEEP_MAX. */
int tether_journal_open(const struct tether_journal_config *cfg, struct tether_journal **ret);
/* Appends one line (a JSON object, without the newline; the journal adds it).
 * wall_ns is the time for a log_error line, if one is due. Returns 0; -errno
 * when the line was lost (first failure after a success: the caller reports
 * it once); -EAGAIN when the journal is suspended after a failure (the line is
 * lost and counted, nothing to report). -EINVAL, with nothing written or
 * counted, for an empty line or one with a raw newline (a caller's bug). */
int tether_journal_write(struct tether_journal *j, const char *line, size_t len, int64_t wall_ns);
/* Reopens PATH by name (SIGUSR1: an outside tool renamed the file away):
 * later lines go to the new PATH, created if missing. A partial line is cut
 * from the old file first; a rotation's pending open is finished as such.
 * On failure (-errno) lines go on into the file already open. */
int tether_journal_reopen(struct tether_journal *j);
/* Ends the suspension: the next write tries again. */
void tether_journal_retry(struct tether_journal *j);
/* Lines lost since the last successful write. */
uint64_t tether_journal_lost(const struct tether_journal *j);
/* Closes and frees; accepts NULL. */
void tether_journal_free(struct tether_journal *j);

#endif
