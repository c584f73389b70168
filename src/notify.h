/* SPDX-License-Identifier: MIT */
/* notify.h — the systemd notify protocol (SPEC §5), both directions.
 *
 * Downward: each instance gets its own AF_UNIX datagram socket in the
 * abstract namespace (NOTIFY_SOCKET=@tether/<pid>/<instance>/<random>): no
 * file to clean up after a SIGKILL, no sun_path length trouble. SO_PASSCRED is
 * on, so every datagram carries its sender's pid and uid; datagrams from
 * another uid than ours (or root) are dropped. Any process of the instance's
 * tree may send (systemd-notify sends from its own short-lived pid).
 *
 * Messages are newline-separated KEY=VALUE assignments, as systemd reads
 * them: READY=1, WATCHDOG=1, STATUS=text, STOPPING=1, ERRNO=n, MAINPID=n
 * (others, e.g. RELOADING=1 or BARRIER=1, are accepted and ignored). A
 * malformed or oversized datagram, or an unknown key, is counted, never fatal.
 * File descriptors passed with a datagram (SCM_RIGHTS, e.g. systemd-notify's
 * BARRIER=1) are closed at once: none may pile up in the supervisor.
 *
 * Upward: tether_notify_send talks to *our* supervisor (systemd) when tether
 * itself runs in a Type=notify unit.
 */
#ifndef TETHER_NOTIFY_H
#define TETHER_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Largest datagram read; a longer one is truncated and counted malformed. */
#define TETHER_NOTIFY_MAX 4096
#define TETHER_NOTIFY_STATUS_MAX 256

struct tether_notify_msg {
	bool ready;
	bool watchdog;
	bool stopping;
	bool has_status;
	char status[TETHER_NOTIFY_STATUS_MAX]; /* truncated at a UTF-8 boundary */
	bool has_errno;
	int errno_value;
	bool has_mainpid;
	pid_t mainpid;
	unsigned unknown;   /* lines with an unknown key (ignored) */
	unsigned malformed; /* lines that are not KEY=VALUE, bad values */
};

/* Parses one datagram's payload. Pure (fuzzed). Returns 0 when at least one
 * known assignment was understood, -EINVAL when nothing was (the counters in
 * *ret say why). Never fails on any input otherwise. */
int tether_notify_parse(const char *buf, size_t len, struct tether_notify_msg *ret);

struct tether_notify_socket {
	int fd;
	char env[112]; /* the NOTIFY_SOCKET value: "@tether/..." */
};

/* Creates a socket for instance `id` of the supervisor with pid `owner`.
 * Non-blocking, close-on-exec. Returns 0 or -errno. */
int tether_notify_open(pid_t owner, unsigned id, struct tether_notify_socket *ret);
/* Closes the socket; s then reads as closed (fd -1). Accepts a closed one. */
void tether_notify_done(struct tether_notify_socket *s);

/* Receives one pending datagram. Returns 1 (and *ret, sender's pid in
 * *ret_pid) when one was read and accepted, 0 when none is pending, 2 when one
 * was read and rejected (foreign uid, oversized, nothing understood: see
 * *ret's counters), -errno. *ret_fds_closed counts passed descriptors closed. */
int tether_notify_recv(struct tether_notify_socket *s, struct tether_notify_msg *ret, pid_t *ret_pid,
		       unsigned *ret_fds_closed);

/* Sends text to the socket named like NOTIFY_SOCKET ("@abstract" or a path)
 * from the datagram socket *keep, which is opened (close-on-exec) when
 * *keep < 0 and kept for the next message; keep NULL: a socket for this
 * message alone. Returns 0 or -errno. */
int tether_notify_send(int *keep, const char *socket_name, const char *text);

#endif
