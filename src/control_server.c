/* SPDX-License-Identifier: MIT */
/* control_server.c — the supervisor's side of its control socket (control.h):
 * accepts connections (its own uid's and root's only), reads their requests,
 * answers "status" with the live state (status_json.c), and hands any other
 * request to the lab's hooks when a lab build installed them
 * (supervisor_lab.h); without them the answer is an error. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "supervisor_internal.h"
#include "supervisor_lab.h"
#include "sys.h"

static struct tether_control_conn *conn_of(struct tether_supervisor *sv, const struct tether_control_peer *peer)
{
	if (peer->conn >= TETHER_CONTROL_CONNS)
		return NULL;
	struct tether_control_conn *c = &sv->ctl_conns[peer->conn];
	return c->fd >= 0 && c->serial == peer->serial ? c : NULL;
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

static void answer(struct tether_supervisor *sv, const char *request, const struct tether_control_peer *peer,
		   struct tether_buf *out)
{
	if (strcmp(request, "status") == 0) {
		tether_status_json(sv, out);
		return;
	}
	const struct tether_lab_hooks *lab = sv->hooks.lab;
	if (lab && lab->request(lab->data, sv, request, peer, out))
		return;
	tether_buf_puts(out, "{\"error\":\"unknown request\"}");
}

void tether_control_close_all(struct tether_supervisor *sv)
{
	for (unsigned i = 0; i < TETHER_CONTROL_CONNS; i++)
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
		/* one still silent before one waiting for its deferred answer */
		if (!c || (c->deferred && !x->deferred) || (c->deferred == x->deferred && x->used < c->used))
			c = x;
	}
	drop(c);
	c->fd = fd;
	c->deferred = false;
	c->serial = ++sv->ctl_serial;
	c->used = sv->ctl_serial;
}

/* One question per connection: read it, answer it, close. An answer kept
 * for later (the lab's) keeps the connection until it is sent; anything
 * more from such a client ends it. */
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
	struct tether_control_peer peer = {.conn = i, .serial = c->serial};
	struct tether_buf out;
	tether_buf_init(&out);
	answer(sv, req, &peer, &out);
	if (!out.oom && out.data) {
		tether_control_reply(c->fd, out.data, out.len);
		drop(c);
	} else {
		c->deferred = true; /* empty: answered later (a lab's deferred answer) */
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
	for (unsigned i = 0; i < TETHER_CONTROL_CONNS; i++)
		serve_conn(sv, i, &progressed);
	if (tether_loop_stuck(&sv->control_failures, progressed)) {
		/* The socket stays bound: it is how a newcomer finds us while
		 * the pidfile's files are gone (ctlname.h). Only its questions
		 * go unanswered; status still reads the pidfile. */
		tether_events_message(sv, TETHER_MSG_WARNING,
				      "cannot read the control socket; status answers from the pidfile only");
		sv->ctl_deaf = true;
		tether_control_close_all(sv);
	}
}
