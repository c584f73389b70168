/* SPDX-License-Identifier: MIT */
/* control_server.c — the supervisor's side of its control socket (control.h):
 * reads the requests, answers "status" with the live state (status_json.c),
 * and hands any other request to the lab's hooks when a lab build installed
 * them (supervisor_lab.h); without them the answer is an error. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "supervisor_internal.h"
#include "supervisor_lab.h"
#include "sys.h"

int tether_supervisor_reply(struct tether_supervisor *sv, const struct tether_control_peer *peer, const char *msg,
			    size_t len)
{
	if (sv->ctl_fd < 0)
		return -EBADF;
	return tether_control_reply(sv->ctl_fd, peer, msg, len);
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

void tether_control_serve(struct tether_supervisor *sv, struct slot *unused)
{
	(void)unused;
	bool progressed = false;
	/* A bounded batch per wakeup: a client flooding requests cannot starve
	 * the instances. */
	for (int budget = 0; budget < 16; budget++) {
		char req[128];
		struct tether_control_peer peer;
		int r = tether_control_recv(sv->ctl_fd, req, sizeof req, &peer);
		if (r == -EPERM || r == -EDESTADDRREQ || r == -EMSGSIZE || r == -EBADMSG) {
			progressed = true; /* a bad request, consumed */
			continue;
		}
		if (r < 0)
			break;
		progressed = true;
		struct tether_buf out;
		tether_buf_init(&out);
		answer(sv, req, &peer, &out);
		/* empty: kept for later (a lab's deferred answer) */
		if (!out.oom && out.data)
			tether_control_reply(sv->ctl_fd, &peer, out.data, out.len);
		tether_buf_done(&out);
	}
	if (tether_loop_stuck(&sv->control_failures, progressed)) {
		tether_events_message(sv, TETHER_MSG_WARNING, "cannot read the control socket; closed it");
		sys_close(sv->ctl_fd);
		sv->ctl_fd = -1;
	}
}
