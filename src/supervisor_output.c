/* SPDX-License-Identifier: MIT */
/* supervisor_output.c — the supervisor's side of output capture (--output,
 * SPEC §6b; output.h has the capture itself): the files opened at the start,
 * the pipes handed to each guardian, the loop's reads, the reads at a
 * worker's death and at the end of its tree, reopening on SIGUSR1, and what
 * is lost told as output_lost events.
 *
 * Where the read ends live: in tether's loop, one writer for every file.
 * A file shared by all instances (no %i) then needs no coordination between
 * writers, a rotation never races another writer's append, and the loop
 * already holds what outlives each worker (the guardian's channel).
 * bench/output-throughput.sh measures the cost against s6-log (README,
 * "Output").
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "parse.h"
#include "resources.h"
#include "supervisor_internal.h"

static void on_note(void *data, const struct tether_output_note *note)
{
	tether_events_output_note(data, note);
}

int tether_supervisor_output_check_disk(struct tether_supervisor *sv, struct tether_result *res)
{
	const struct tether_config *cfg = &sv->cfg;
	if (!cfg->output || !cfg->min_disk)
		return 0;
	bool per_instance = strstr(cfg->output, "%i") != NULL;
	char *prev_dir = NULL;
	int ret = 0;
	for (unsigned i = 0; i < (per_instance ? cfg->instances : 1) && ret == 0; i++) {
		char *path = tether_output_path(cfg->output, i);
		if (!path)
			break;
		/* One look per directory (%i in a file name keeps it the same). */
		char *slash = strrchr(path, '/');
		size_t dlen = slash ? (size_t)(slash - path) : 0;
		bool same = prev_dir && strlen(prev_dir) == dlen && strncmp(prev_dir, path, dlen) == 0;
		uint64_t free_bytes;
		if (!same && tether_disk_free(path, &free_bytes) == 0 && free_bytes < cfg->min_disk) {
			char a[32], b[32];
			tether_result_set(res, TETHER_OUTCOME_LOW_DISK, ENOSPC,
					  "not enough disk space for %s: %s free, %s required", path,
					  tether_format_size(free_bytes, a, sizeof a),
					  tether_format_size(cfg->min_disk, b, sizeof b));
			res->disk_free = free_bytes;
			ret = 1;
		}
		free(prev_dir);
		prev_dir = strndup(path, dlen);
		free(path);
	}
	free(prev_dir);
	return ret;
}

int tether_supervisor_output_open(struct tether_supervisor *sv, struct tether_result *res)
{
	const struct tether_config *cfg = &sv->cfg;
	if (!cfg->output)
		return 0;
	struct tether_output_config oc = {
		.path = cfg->output,
		.max_bytes = cfg->output_max_bytes,
		.keep = cfg->output_keep,
		.instances = sv->nslots,
		.note = on_note,
		.note_data = sv,
	};
	oc.chown = tether_config_worker_ids(cfg, &oc.uid, &oc.gid) == 1;
	char why[300];
	bool file_failed = false;
	int r = tether_output_new(&oc, &sv->output, why, sizeof why, &file_failed);
	if (r < 0) {
		sv->output = NULL;
		/* A path that cannot be opened is the command line's problem, as
		 * an unopenable --log-file is (64, naming it); the pipes, or
		 * running out of descriptors or memory, are system calls
		 * supervision needs (71). */
		bool usage = file_failed && r != -ENOMEM && r != -EMFILE && r != -ENFILE;
		tether_result_set(res, usage ? TETHER_OUTCOME_USAGE : TETHER_OUTCOME_INTERNAL, -r, "%s", why);
		return 1;
	}
	return 0;
}

void tether_supervisor_output_fds(struct tether_supervisor *sv, struct slot *s, int *ret_out, int *ret_err)
{
	if (sv->output) {
		tether_output_pipes(sv->output, s->in.id, ret_out, ret_err);
	} else {
		*ret_out = sv->cfg.out_fd;
		*ret_err = sv->cfg.err_fd;
	}
}

int tether_supervisor_output_poll_fd(struct tether_supervisor *sv, struct slot *s, bool err)
{
	if (!sv->output)
		return -1;
	return tether_output_poll_fd(sv->output, s->in.id, err ? TETHER_OUTPUT_ERR : TETHER_OUTPUT_OUT,
				     tether_clock_now(sv->clock));
}

int64_t tether_supervisor_output_deadline(const struct tether_supervisor *sv)
{
	return sv->output ? tether_output_next_deadline(sv->output, tether_clock_now(sv->clock)) : TETHER_NEVER;
}

static void read_stream(struct tether_supervisor *sv, struct slot *s, enum tether_output_stream k)
{
	ssize_t r = tether_output_read(sv->output, s->in.id, k, tether_clock_now(sv->clock),
				       tether_clock_wall(sv->clock));
	if (r < 0 && !s->output_read_failing) {
		char msg[160];
		snprintf(msg, sizeof msg, "instance %u: cannot read its %s: %s (retried with a backoff)", s->in.id,
			 k == TETHER_OUTPUT_ERR ? "stderr" : "stdout", strerror((int)-r));
		tether_events_message(sv, TETHER_MSG_WARNING, msg);
	}
	s->output_read_failing = r < 0;
}

void tether_supervisor_output_read_out(struct tether_supervisor *sv, struct slot *s)
{
	read_stream(sv, s, TETHER_OUTPUT_OUT);
}

void tether_supervisor_output_read_err(struct tether_supervisor *sv, struct slot *s)
{
	read_stream(sv, s, TETHER_OUTPUT_ERR);
}

void tether_supervisor_output_exited(struct tether_supervisor *sv, struct slot *s)
{
	if (sv->output)
		tether_output_drain(sv->output, s->in.id, tether_clock_now(sv->clock), tether_clock_wall(sv->clock));
}

void tether_supervisor_output_ended(struct tether_supervisor *sv, struct slot *s)
{
	if (sv->output)
		tether_output_end(sv->output, s->in.id, tether_clock_now(sv->clock), tether_clock_wall(sv->clock));
}

void tether_supervisor_output_close(struct tether_supervisor *sv)
{
	struct tether_output *o = sv->output;
	if (!o)
		return;
	/* Cleared first: what free still tells (the last losses) goes to the
	 * journal, and nothing may read the half-freed output meanwhile. */
	sv->output_lost_final = tether_output_lost_lines(o);
	sv->output = NULL;
	tether_output_free(o, tether_clock_now(sv->clock), tether_clock_wall(sv->clock));
}

void tether_output_reopen_all(struct tether_supervisor *sv)
{
	if (sv->output)
		(void)tether_output_reopen(sv->output); /* failures are told through the note hook */
}

void tether_supervisor_output_report(struct tether_supervisor *sv)
{
	if (sv->output)
		tether_output_report_losses(sv->output);
}

void tether_supervisor_output_status(struct tether_supervisor *sv, struct tether_buf *out)
{
	if (sv->output)
		tether_buf_printf(out, "%llu", (unsigned long long)tether_output_lost_lines(sv->output));
	else if (sv->cfg.output)
		tether_buf_printf(out, "%llu", (unsigned long long)sv->output_lost_final);
	else
		tether_buf_puts(out, "null");
}
