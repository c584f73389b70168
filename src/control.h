/* control.h — the supervisor's control socket: how `tether status` (and the
 * lab) ask a running supervisor for its live state.
 *
 * An AF_UNIX SOCK_SEQPACKET socket in the abstract namespace, named after the
 * pidfile's lock file inode ("tether-ctl/DEV:INO"): nothing to clean up after
 * a SIGKILL, no path-length limit, and a name that changes with every new
 * lock file. Both sides check the peer's credentials (SO_PEERCRED): the
 * server answers only its own uid or root, and the client accepts an answer
 * only from the pid that holds the lock, so nobody can pose as the supervisor.
 *
 * One request per connection: a line ("status"), answered by one datagram of
 * JSON (or {"error":...}).
 */
#ifndef TETHER_CONTROL_H
#define TETHER_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "json.h"

/* Largest answer: a status of ~1000 instances. */
#define TETHER_CONTROL_MAX_MSG (256 * 1024)

/* Client: sends request to the supervisor of pidfile and parses its JSON
 * answer into *ret (free with tether_json_free). Waits at most timeout_ms.
 * -ENOENT no lock file, -ECONNREFUSED nobody listens, -ETIMEDOUT, -EPERM the
 * peer is not the lock holder, -EINVAL malformed answer. */
int tether_control_query(const char *pidfile, const char *request, int timeout_ms, struct tether_json **ret);

/* Server: creates the listening socket for the lock file open as lock_fd.
 * Returns the socket fd (O_CLOEXEC, non-blocking) or -errno. */
int tether_control_listen(int lock_fd);

/* Server: accepts one pending connection and reads its request line into buf.
 * Returns the connection fd (caller answers with tether_control_reply and
 * closes it), -EAGAIN when nothing is pending, -EPERM for a foreign peer. */
int tether_control_accept(int listen_fd, char *buf, size_t len);
/* Server: sends one answer without blocking (dropped if it cannot go now). */
int tether_control_reply(int conn_fd, const char *msg, size_t len);

#endif
