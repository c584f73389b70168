/* SPDX-License-Identifier: MIT */
/* control_server.c — the supervisor's side of its control socket (control.h):
 * accepts connections (its own uid's and root's only), reads their requests, answers "status" with the live state (status_json.c),
 * runs the day-2 requests ("restart", "signal", SPEC §3), and hands any other
 * request to the lab's hooks when a lab build installed them
 * (supervisor_lab.h); without them the answer is an error.
 *
 * Requests (one line each, one per connection; the peer was verified by
 * tether_control_accept: our own uid or root):
 *   status
 *   restart all|ID TIMEOUT_MS   a rolling restart, answered when every
 *                               instance asked is ready again (or at the
 *                               deadline, or when the supervisor stops):
 *                               {"ok":true,"restarted":[...],"ended":[...]} or
 *                               {"error":...,"instance":N,"restarted":[...]}
 *   signal SIG all|ID           SIG (1..64) to each instance's main process
 *                               through its guardian, answered when every
 *                               guardian asked has answered:
 *                               {"signal":SIG,"delivered":[...],
 *                                "failed":[{"id":N,"error":"..."}]}
 * Both are answered later: the request's connection is kept open (in a place
 * of its own, not one that new questions need) and the reply goes on it when
 * the job is done, so the supervisor never waits for anything but its loop. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "supervisor_internal.h"
#include "supervisor_lab.h"
#include "sys.h"

#define NPLACES (TETHER_CONTROL_CONNS + TETHER_CONTROL_DEFERRED)
/* Every restart and signal job can wait on a deferred place at once, with
 * room left for the lab's settles (TETHER_LAB_SETTLES, 4). */
_Static_assert(1 + TETHER_SIGNAL_JOBS + 4 <= TETHER_CONTROL_DEFERRED, "deferred places for every job");

static struct tether_control_conn *conn_of(struct tether_supervisor *sv, const struct tether_control_peer *peer)
{
	/* by serial: a deferred connection moves to a place of its own after
	 * its request was read */
	for (unsigned i = 0; i < NPLACES; i++) {
		struct tether_control_conn *c = &sv->ctl_conns[i];
		if (c->fd >= 0 && c->serial == peer->serial)
			return c;
	}
	return NULL;
}

static void drop(struct tether_control_conn *c)
{
	if (c->fd >= 0)
		sys_close(c->fd);
	c->fd = -1;
	c->deferred = false;
}

int tether_supervisor_reply(struct tether_supervisor *sv, const struct tether_control_peer *peer, const char *msg,
			    size_t len)
{
	struct tether_control_conn *c = conn_of(sv, peer);
	if (!c)
		return -ENOTCONN; /* it hung up, or its place was taken */
	int r = tether_control_reply(c->fd, msg, len);
	drop(c);
	return r;
}

static void reply_buf(struct tether_supervisor *sv, const struct tether_control_peer *peer, struct tether_buf *b)
{
	if (!b->oom && b->data)
		tether_supervisor_reply(sv, peer, b->data, b->len);
	tether_buf_done(b);
}

static void error_json(struct tether_buf *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void error_json(struct tether_buf *out, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	tether_buf_puts(out, "{\"error\":");
	tether_buf_json_string(out, msg);
	tether_buf_puts(out, "}");
}

/* "all" (1) or an instance number below the pool's size (0 and *ret), else
 * -EINVAL with the error answered. */
static int parse_target(struct tether_supervisor *sv, const char *word, unsigned *ret, struct tether_buf *out)
{
	uint64_t v;
	if (strcmp(word, "all") == 0)
		return 1;
	if (tether_parse_uint(word, 0, UINT32_MAX, &v) < 0 || v >= sv->nslots) {
		error_json(out, "no instance %s (instances are 0 to %u)", word, sv->nslots - 1);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

/* ---- restart ------------------------------------------------------------------------ */

static void id_list(struct tether_buf *b, const char *key, const struct tether_restart_job *j, unsigned first,
		    unsigned end, bool ended)
{
	bool any = false;
	tether_buf_printf(b, ",\"%s\":[", key);
	for (unsigned i = first; i < end; i++) {
		if (j->ended[i] != ended)
			continue;
		tether_buf_printf(b, "%s%u", any ? "," : "", i);
		any = true;
	}
	tether_buf_puts(b, "]");
}

/* Ends the job with its answer: error NULL for success. The instances
 * restarted are those of the job before `next` that had not ended. */
static void restart_answer(struct tether_supervisor *sv, const char *error, ...) __attribute__((format(printf, 2, 3)));
static void restart_answer(struct tether_supervisor *sv, const char *error, ...)
{
	struct tether_restart_job *j = &sv->restart_job;
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_puts(&b, "{");
	if (error) {
		char msg[200];
		va_list ap;
		va_start(ap, error);
		vsnprintf(msg, sizeof msg, error, ap);
		va_end(ap);
		tether_buf_puts(&b, "\"error\":");
		tether_buf_json_string(&b, msg);
		tether_buf_printf(&b, ",\"instance\":%u", j->next);
	} else {
		tether_buf_puts(&b, "\"ok\":true");
	}
	unsigned end = j->next <= j->last ? j->next : j->last + 1;
	id_list(&b, "restarted", j, j->first, end, false);
	id_list(&b, "ended", j, j->first, end, true);
	tether_buf_puts(&b, "}");
	reply_buf(sv, &j->peer, &b);
	free(j->ended);
	*j = (struct tether_restart_job){0};
}

static void restart_request(struct tether_supervisor *sv, char *args, const struct tether_control_peer *peer,
			    struct tether_buf *out)
{
	struct tether_restart_job *j = &sv->restart_job;
	char *save = NULL;
	const char *target = strtok_r(args, " ", &save);
	const char *timeout = strtok_r(NULL, " ", &save);
	uint64_t ms;
	unsigned id = 0;
	if (!target || !timeout || strtok_r(NULL, " ", &save) ||
	    tether_parse_uint(timeout, 1, INT64_MAX / TETHER_NSEC_PER_MSEC, &ms) < 0) {
		error_json(out, "malformed restart request");
		return;
	}
	int r = parse_target(sv, target, &id, out);
	if (r < 0)
		return;
	if (j->active) {
		error_json(out, "a restart is already in progress");
		return;
	}
	if (sv->stopping) {
		error_json(out, "the supervisor is stopping");
		return;
	}
	bool *ended = calloc(sv->nslots, sizeof *ended);
	if (!ended) {
		error_json(out, "out of memory");
		return;
	}
	*j = (struct tether_restart_job){
		.active = true,
		.peer = *peer,
		.first = r == 1 ? 0 : id,
		.next = r == 1 ? 0 : id,
		.last = r == 1 ? sv->nslots - 1 : id,
		.ended = ended,
		.deadline = tether_clock_now(sv->clock) + (int64_t)ms * TETHER_NSEC_PER_MSEC,
	};
	/* answered later (empty out); the first instance is asked at once */
	tether_control_progress(sv);
}

/* One step further, as far as the instances allow now. */
static void restart_progress(struct tether_supervisor *sv)
{
	struct tether_restart_job *j = &sv->restart_job;
	while (j->active) {
		struct tether_instance *in = &sv->slots[j->next].in;
		if (sv->stopping) {
			restart_answer(sv, "the supervisor is stopping");
			return;
		}
		if (!j->asked) {
			switch (in->state) {
			case TETHER_I_UP:
			case TETHER_I_READY:
			case TETHER_I_BACKOFF:
				tether_instance_dispatch(in, TETHER_E_RESTART, 0, tether_clock_now(sv->clock), &sv->ops);
				j->asked = true;
				break;
			case TETHER_I_DONE:
				/* ended for good under its policy (exit 0 with
				 * on-failure, any exit with never): nothing to restart */
				if (j->first == j->last) {
					restart_answer(sv, "instance %u has ended", j->next);
					return;
				}
				j->ended[j->next] = true;
				j->asked = true;
				break;
			default:
				/* starting, or its worker is dying (a crash's
				 * cleanup, the watchdog's stop): asked again once
				 * it is up, ready or waiting in backoff */
				break;
			}
		}
		if (!j->asked)
			break;
		if (!j->ended[j->next] && in->state != TETHER_I_READY)
			break; /* the next one waits until this one is ready again */
		if (j->next == j->last) {
			j->next++;
			restart_answer(sv, NULL);
			return;
		}
		j->next++;
		j->asked = false;
	}
	if (j->active && tether_clock_now(sv->clock) >= j->deadline) {
		struct tether_instance *in = &sv->slots[j->next].in;
		restart_answer(sv, "instance %u is not ready again in time (%s)", j->next,
			       tether_istate_public_name(in));
	}
}

/* ---- signal ------------------------------------------------------------------------- */

enum {
	SIGNAL_T_NONE,      /* not asked for */
	SIGNAL_T_WAITING,   /* its guardian was asked */
	SIGNAL_T_DELIVERED,
	SIGNAL_T_FAILED,    /* err: the guardian's errno */
	SIGNAL_T_NOT_RUNNING,
	SIGNAL_T_LOST,      /* its guardian went before it answered */
};

static void signal_answer(struct tether_supervisor *sv, struct tether_signal_job *j)
{
	struct tether_buf b;
	tether_buf_init(&b);
	tether_buf_printf(&b, "{\"signal\":%d,\"delivered\":[", j->sig);
	bool any = false;
	for (unsigned i = 0; i < sv->nslots; i++)
		if (j->targets[i].state == SIGNAL_T_DELIVERED) {
			tether_buf_printf(&b, "%s%u", any ? "," : "", i);
			any = true;
		}
	tether_buf_puts(&b, "],\"failed\":[");
	any = false;
	for (unsigned i = 0; i < sv->nslots; i++) {
		const struct tether_signal_target *t = &j->targets[i];
		char why[160];
		switch (t->state) {
		case SIGNAL_T_FAILED:
			if (t->err == ESRCH)
				snprintf(why, sizeof why, "its main process had exited");
			else if (t->err == EPERM)
				snprintf(why, sizeof why, "permission denied (its main process changed its user)");
			else
				snprintf(why, sizeof why, "%s", strerror(t->err));
			break;
		case SIGNAL_T_NOT_RUNNING:
			/* as status names the states (tether_istate_public_name) */
			snprintf(why, sizeof why, "not running (%s)",
				 t->istate == TETHER_I_DONE      ? "ended"
				 : t->istate == TETHER_I_CLEANUP ? "exited"
				 : t->istate == TETHER_I_IDLE    ? "starting"
								 : tether_istate_name(t->istate));
			break;
		case SIGNAL_T_LOST:
			snprintf(why, sizeof why, "its guardian is gone");
			break;
		default:
			continue;
		}
		tether_buf_printf(&b, "%s{\"id\":%u,\"error\":", any ? "," : "", i);
		tether_buf_json_string(&b, why);
		tether_buf_puts(&b, "}");
		any = true;
	}
	tether_buf_puts(&b, "]}");
	reply_buf(sv, &j->peer, &b);
	free(j->targets);
	*j = (struct tether_signal_job){0};
}

static void signal_request(struct tether_supervisor *sv, char *args, const struct tether_control_peer *peer,
			   struct tether_buf *out)
{
	char *save = NULL;
	const char *sig_word = strtok_r(args, " ", &save);
	const char *target = strtok_r(NULL, " ", &save);
	uint64_t sig;
	unsigned id = 0;
	/* 64: the kernel's last signal (SIGRTMAX with glibc and musl alike) */
	if (!sig_word || !target || strtok_r(NULL, " ", &save) || tether_parse_uint(sig_word, 1, 64, &sig) < 0) {
		error_json(out, "malformed signal request");
		return;
	}
	int r = parse_target(sv, target, &id, out);
	if (r < 0)
		return;
	struct tether_signal_job *j = NULL;
	for (size_t k = 0; k < TETHER_SIGNAL_JOBS && !j; k++)
		if (!sv->signal_jobs[k].active)
			j = &sv->signal_jobs[k];
	if (!j) {
		error_json(out, "too many signal requests waiting; try again");
		return;
	}
	struct tether_signal_target *targets = calloc(sv->nslots, sizeof *targets);
	if (!targets) {
		error_json(out, "out of memory");
		return;
	}
	*j = (struct tether_signal_job){
		.active = true, .seq = ++sv->signal_seq, .peer = *peer, .sig = (int)sig, .targets = targets};
	for (unsigned i = r == 1 ? 0 : id; i < (r == 1 ? sv->nslots : id + 1); i++) {
		struct slot *s = &sv->slots[i];
		struct tether_signal_target *t = &targets[i];
		/* The main process is the worker the guardian forked: known
		 * (pid) from its exec until its death was reported. */
		if (s->in.pid <= 0 || s->g.chan < 0) {
			t->state = SIGNAL_T_NOT_RUNNING;
			t->istate = s->in.state;
			continue;
		}
		int e = tether_guardian_send_signal(&s->g, (int)sig);
		if (e < 0) {
			t->state = SIGNAL_T_FAILED;
			t->err = -e;
			continue;
		}
		t->state = SIGNAL_T_WAITING;
		t->guardian = s->g.pid;
		j->awaiting++;
	}
	if (!j->awaiting)
		signal_answer(sv, j); /* nobody to wait for */
}

void tether_control_signal_result(struct tether_supervisor *sv, struct slot *s, int err)
{
	/* A guardian answers its commands in order: the answer is the oldest
	 * job's that still waits for this instance. */
	struct tether_signal_job *oldest = NULL;
	for (size_t k = 0; k < TETHER_SIGNAL_JOBS; k++) {
		struct tether_signal_job *j = &sv->signal_jobs[k];
		if (j->active && j->targets[s->in.id].state == SIGNAL_T_WAITING &&
		    j->targets[s->in.id].guardian == s->g.pid && (!oldest || j->seq < oldest->seq))
			oldest = j;
	}
	if (!oldest)
		return;
	struct tether_signal_target *t = &oldest->targets[s->in.id];
	t->state = err ? SIGNAL_T_FAILED : SIGNAL_T_DELIVERED;
	t->err = err;
	if (--oldest->awaiting == 0)
		signal_answer(sv, oldest);
}

/* A guardian that went (or was replaced) before it answered never will. */
static void signal_progress(struct tether_supervisor *sv)
{
	for (size_t k = 0; k < TETHER_SIGNAL_JOBS; k++) {
		struct tether_signal_job *j = &sv->signal_jobs[k];
		if (!j->active)
			continue;
		for (unsigned i = 0; i < sv->nslots; i++) {
			struct tether_signal_target *t = &j->targets[i];
			const struct slot *s = &sv->slots[i];
			if (t->state == SIGNAL_T_WAITING && (s->g.chan < 0 || s->g.pid != t->guardian)) {
				t->state = SIGNAL_T_LOST;
				j->awaiting--;
			}
		}
		if (!j->awaiting)
			signal_answer(sv, j);
	}
}

/* ---- the socket --------------------------------------------------------------------- */

void tether_control_progress(struct tether_supervisor *sv)
{
	restart_progress(sv);
	signal_progress(sv);
}

int64_t tether_control_next_deadline(const struct tether_supervisor *sv)
{
	return sv->restart_job.active ? sv->restart_job.deadline : TETHER_NEVER;
}

void tether_control_finish(struct tether_supervisor *sv)
{
	if (sv->restart_job.active)
		restart_answer(sv, "the supervisor has stopped");
	for (size_t k = 0; k < TETHER_SIGNAL_JOBS; k++) {
		struct tether_signal_job *j = &sv->signal_jobs[k];
		if (!j->active)
			continue;
		for (unsigned i = 0; i < sv->nslots; i++)
			if (j->targets[i].state == SIGNAL_T_WAITING)
				j->targets[i].state = SIGNAL_T_LOST;
		signal_answer(sv, j);
	}
}

static void answer(struct tether_supervisor *sv, char *request, const struct tether_control_peer *peer,
		   struct tether_buf *out)
{
	if (strcmp(request, "status") == 0) {
		tether_status_json(sv, out);
		return;
	}
	if (strncmp(request, "restart ", 8) == 0) {
		restart_request(sv, request + 8, peer, out);
		return;
	}
	if (strncmp(request, "signal ", 7) == 0) {
		signal_request(sv, request + 7, peer, out);
		return;
	}
	const struct tether_lab_hooks *lab = sv->hooks.lab;
	if (lab && lab->request(lab->data, sv, request, peer, out))
		return;
	tether_buf_puts(out, "{\"error\":\"unknown request\"}");
}

void tether_control_close_all(struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < NPLACES; i++)
		drop(&sv->ctl_conns[i]);
}

/* A new connection takes a free place, else the least recently used one's:
 * a client that connects and says nothing cannot shut the others out. */
static void keep(struct tether_supervisor *sv, int fd)
{
	struct tether_control_conn *c = NULL;
	for (unsigned i = 0; i < TETHER_CONTROL_CONNS; i++) {
		struct tether_control_conn *x = &sv->ctl_conns[i];
		if (x->fd < 0) {
			c = x;
			break;
		}
		/* one still silent before one waiting for its deferred answer
		 * (there only when every deferred place was taken) */
		if (!c || (c->deferred && !x->deferred) || (c->deferred == x->deferred && x->used < c->used))
			c = x;
	}
	drop(c);
	c->fd = fd;
	c->deferred = false;
	c->serial = ++sv->ctl_serial;
	c->used = sv->ctl_serial;
}

/* A connection whose answer is deferred leaves the places of new questions
 * for one of its own; when none is free it stays, and gives way only after
 * every silent one. */
static void defer(struct tether_supervisor *sv, struct tether_control_conn *c)
{
	c->deferred = true;
	for (unsigned i = TETHER_CONTROL_CONNS; i < NPLACES; i++) {
		struct tether_control_conn *d = &sv->ctl_conns[i];
		if (d->fd < 0) {
			*d = *c;
			c->fd = -1;
			c->deferred = false;
			return;
		}
	}
}

/* One question per connection: read it, answer it, close. An answer kept
 * for later keeps the connection until it is sent; anything more from such
 * a client, or its hanging up, ends it (the answer then goes nowhere). */
static void serve_conn(struct tether_supervisor *sv, unsigned i, bool *progressed)
{
	struct tether_control_conn *c = &sv->ctl_conns[i];
	if (c->fd < 0)
		return;
	char req[128];
	int r = tether_control_recv(c->fd, req, sizeof req);
	if (r == -EAGAIN)
		return;
	*progressed = true;
	if (r < 0 || c->deferred) {
		drop(c); /* gone, broken, a bad request, or a second one */
		return;
	}
	c->used = ++sv->ctl_serial;
	struct tether_control_peer peer = {.serial = c->serial};
	struct tether_buf out;
	tether_buf_init(&out);
	answer(sv, req, &peer, &out);
	/* The answer may already have gone: a signal nobody could be asked
	 * for is answered in the request, through tether_supervisor_reply. */
	if (!conn_of(sv, &peer)) {
		tether_buf_done(&out);
		return;
	}
	if (!out.oom && out.data) {
		tether_control_reply(c->fd, out.data, out.len);
		drop(c);
	} else {
		defer(sv, c); /* empty: answered later (a restart, a signal, a lab's deferred answer) */
	}
	tether_buf_done(&out);
}

void tether_control_serve(struct tether_supervisor *sv, struct slot *unused)
{
	(void)unused;
	/* The listening socket and every connection share this reader: one
	 * pass per wakeup serves them all, however many of them poll named. */
	if (sv->ctl_served == sv->wakeups)
		return;
	sv->ctl_served = sv->wakeups;
	bool progressed = false;
	/* A bounded batch per wakeup: a client flooding connections cannot
	 * starve the instances. */
	for (int budget = 0; budget < 16 && sv->ctl_fd >= 0 && !sv->ctl_deaf; budget++) {
		int fd = tether_control_accept(sv->ctl_fd);
		if (fd == -EAGAIN)
			break;
		if (fd == -EPERM || fd == -ECONNABORTED) {
			progressed = true; /* another user's, or gone: closed */
			continue;
		}
		if (fd < 0)
			break;
		progressed = true;
		keep(sv, fd);
		/* Whoever connects may have found us without our files (a
		 * newcomer, a status, a stop): look at them now (keeper.c). */
		tether_keeper_look(sv);
	}
	for (unsigned i = 0; i < NPLACES; i++)
		serve_conn(sv, i, &progressed);
	if (tether_loop_stuck(&sv->control_failures, progressed)) {
		/* The socket stays bound: it is how a newcomer finds us while
		 * the pidfile's files are gone (ctlname.h). Only its questions
		 * go unanswered; status still reads the pidfile. */
		tether_events_message(sv, TETHER_MSG_WARNING,
				      "cannot read the control socket; status answers from the pidfile only");
		sv->ctl_deaf = true;
		tether_control_close_all(sv); /* a job under way goes on; its answer goes nowhere */
	}
}
