/* SPDX-License-Identifier: MIT */
/* control.h — the supervisor's control socket: how `tether status` (and the
 * lab) ask a running supervisor for its live state.
 *
 * An AF_UNIX SOCK_SEQPACKET socket, listening in the abstract namespace under
 * a name that carries the pidfile's key and a random part (ctlname.h): nothing
 * to clean up after a SIGKILL, no path-length limit, a name nobody can take
 * first, and one that a client finds by listing — even while the pidfile's
 * files are gone. Connections, not datagrams, because both ends then know who
 * the other is without its help: SO_PEERCRED gives the client the pid that
 * listens (it must be the verified supervisor) and the server the uid that
 * connected (its own or root; any other is closed at once).
 *
 * A connection carries one request (a message, "status"; its first line
 * counts) and its answer (a message of JSON, or {"error":...}); the
 * supervisor then closes it, and the client waits for that close before it
 * returns, so a query leaves nothing behind in the supervisor when it
 * returns. Some answers come later (a restart once its instances are ready
 * again, a signal once every guardian has answered, the lab's settle): such
 * a connection stays open until its answer is sent on it, and the client
 * waits for it there, within its timeout.
 *
 * The supervisor holds TETHER_CONTROL_CONNS connections whose question has
 * not come yet, closing the least recently used one when a new one needs its
 * place: no client can shut others out by connecting and saying nothing. A
 * connection whose answer is deferred moves to one of TETHER_CONTROL_DEFERRED
 * places of its own, so a restart in progress never takes a place a status
 * needs; it is closed early only if the client hangs up (or sends more).
 */
#ifndef TETHER_CONTROL_H
#define TETHER_CONTROL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "ctlname.h"
#include "json.h"

/* Connections the supervisor holds: waiting for their question, and waiting
 * for their deferred answer (at least one restart, every signal job and the
 * lab's settles at once). fdlimit.h counts both. */
#define TETHER_CONTROL_CONNS 8
#define TETHER_CONTROL_DEFERRED 16

/* Largest answer: a status of ~1000 instances. */
#define TETHER_CONTROL_MAX_MSG (256 * 1024)

/* Client: sends request to the supervisor of pidfile and parses its JSON
 * answer into *ret (free with tether_json_free). The supervisor is the lock
 * holder when PATH.lock exists; without it (the files are being restored),
 * the one its socket's name and credentials verify (ctlname.h). Waits at
 * most timeout_ns of clock in all (signals do not shorten it; a negative
 * timeout waits for ever). -ENOENT no lock file and no supervisor found,
 * -ECONNREFUSED nobody holds the lock or it does not listen,
 * -ECONNRESET it closed the connection, -ETIMEDOUT, -EINVAL malformed
 * answer. */
int tether_control_query(const char *pidfile, const char *request, const struct tether_clock *clock,
			 int64_t timeout_ns, struct tether_json **ret);
/* The same when the caller has verified the supervisor (pid) itself. */
int tether_control_query_pid(const char *pidfile, pid_t pid, const char *request, const struct tether_clock *clock,
			     int64_t timeout_ns, struct tether_json **ret);
/* Client: a connection (non-blocking) to the control socket of pidfile's
 * supervisor pid, verified as above: the fd, -ECONNREFUSED when pid does
 * not listen, -errno. The lab keeps one to ask many questions. */
int tether_control_connect(const char *pidfile, pid_t pid);

/* Server: creates the listening socket (non-blocking, close-on-exec) for the
 * pidfile whose key is given, under a fresh name (copied to ret_name) for
 * the calling process, whose start time is start_time. Returns the fd or
 * -errno. */
int tether_control_listen(const char *key, uint64_t start_time, char *ret_name, size_t cap);
/* Server: accepts one pending connection (non-blocking, close-on-exec):
 * its fd, -EAGAIN when none is pending, -EPERM when it came from another
 * user (closed), -errno. */
int tether_control_accept(int listen_fd);

/* Where a deferred answer goes: a connection, named by the serial number
 * the server gave it (control_server.c) wherever it sits in the server's
 * table, so that a closed and reused descriptor is never answered by
 * mistake. */
struct tether_control_peer {
	uint64_t serial;
};

/* Server: reads one pending request from a connection into buf
 * (NUL-terminated, first line only: the rest may be longer than buf).
 * Returns 0, -EAGAIN when nothing is pending, -EPIPE when the client closed,
 * -EMSGSIZE when the first line does not fit in buf (dropped), -errno. */
int tether_control_recv(int conn_fd, char *buf, size_t len);
/* Server: sends one answer without blocking (dropped if it cannot go now). */
int tether_control_reply(int conn_fd, const char *msg, size_t len);

#endif
