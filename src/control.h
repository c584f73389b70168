/* SPDX-License-Identifier: MIT */
/* control.h — the supervisor's control socket: how `tether status` (and the
 * lab) ask a running supervisor for its live state.
 *
 * An AF_UNIX datagram socket in the abstract namespace, named after the
 * pidfile's lock file inode ("tether-ctl/DEV:INO"): nothing to clean up after
 * a SIGKILL, no path-length limit, and a name that changes with every new
 * lock file. Datagrams, not connections: the supervisor keeps no state per
 * client and never waits for one. Both sides read the peer's credentials
 * (SO_PASSCRED): the server answers only its own uid or root, and the client
 * accepts an answer only from the pid that holds the lock, so nobody can pose
 * as the supervisor.
 *
 * A request is one datagram ("status"); the answer is one datagram of JSON
 * (or {"error":...}) sent back to the client's own (autobound) address.
 */
#ifndef TETHER_CONTROL_H
#define TETHER_CONTROL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "clock.h"
#include "json.h"

/* Largest answer: a status of ~1000 instances. */
#define TETHER_CONTROL_MAX_MSG (256 * 1024)

/* Client: sends request to the supervisor of pidfile and parses its JSON
 * answer into *ret (free with tether_json_free). Waits at most timeout_ns of
 * clock in all (signals do not shorten it; answers from any process but the
 * lock holder are ignored and do not lengthen it; a negative timeout waits
 * for ever). -ENOENT no lock file, -ECONNREFUSED nobody holds the lock or
 * nobody listens, -ETIMEDOUT, -EINVAL malformed answer. */
int tether_control_query(const char *pidfile, const char *request, const struct tether_clock *clock,
			 int64_t timeout_ns, struct tether_json **ret);

/* Server: creates the listening socket for the lock file open as lock_fd.
 * Returns the socket fd (O_CLOEXEC, non-blocking) or -errno. */
int tether_control_listen(int lock_fd);

/* Where an answer goes. */
struct tether_control_peer {
	struct sockaddr_un addr;
	socklen_t len;
};

/* Server: reads one pending request into buf (NUL-terminated, first line
 * only: the rest may be longer than buf). Returns 0 and *ret_peer, -EAGAIN
 * when nothing is pending, -EPERM for a foreign uid (dropped), -EMSGSIZE when
 * the first line does not fit in buf (dropped), -errno. */
int tether_control_recv(int fd, char *buf, size_t len, struct tether_control_peer *ret_peer);
/* Server: sends one answer without blocking (dropped if it cannot go now). */
int tether_control_reply(int fd, const struct tether_control_peer *peer, const char *msg, size_t len);

#endif
