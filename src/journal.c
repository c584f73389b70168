/* SPDX-License-Identifier: MIT */
/* journal.c — see journal.h for the contract. The file, its rotation and
 * its cut-back of partial lines are logfile.c's (shared with the instances'
 * output files); this is the failure protocol on top: suspended after a
 * failure, lost lines counted, a log_error line on recovery.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "journal.h"
#include "json.h"
#include "logfile.h"

/* A buffer grown for an unusually long line is given back afterwards: a
 * supervisor that logged one 10 MB line once must not hold 16 MB forever. */
#define JOURNAL_BUF_KEEP 65536

struct tether_journal {
	struct tether_logfile *file;
	bool suspended;       /* failed; nothing is tried until tether_journal_retry */
	uint64_t lost;        /* lines lost since the last successful write */
	int last_errno;       /* why the last one was lost */
	struct tether_buf buf;
};

/* Appends j->buf (one line, newline included). Returns 0 or -errno (the
 * line is not in the file). */
static int append(struct tether_journal *j)
{
	return tether_logfile_append(j->file, j->buf.data, j->buf.len, NULL);
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
	tether_buf_init(&j->buf);
	struct tether_logfile_config lc = {.path = cfg->path, .max_bytes = cfg->max_bytes, .keep = cfg->keep};
	int r = tether_logfile_open(&lc, &j->file);
	if (r < 0) {
		tether_journal_free(j);
		return r;
	}
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
	/* the file's own reopen: a partial line is cut in the old file, where
	 * nothing after it would be written again */
	return tether_logfile_reopen(j->file);
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
	tether_logfile_free(j->file);
	tether_buf_done(&j->buf);
	free(j);
}
