/* SPDX-License-Identifier: MIT */
/* notify.h — the systemd notify protocol (SPEC §5), both directions.
 *
 * Downward: each instance gets its own AF_UNIX datagram socket in the
 * abstract namespace (NOTIFY_SOCKET=@tether/<pid>/<instance>/<random>): no
 * file to clean up after a SIGKILL, no sun_path length trouble. An abstract
 * name has no permissions, and /proc/net/unix lists it to every local user,
 * so who may send is decided by the sender's place, not its uid (SPEC §5, as
 * systemd's NotifyAccess=all decides by cgroup): any process of the
 * instance's tree, whatever user it runs as (a --user worker, one that
 * setuid()s itself, systemd-notify from its own pid), and nobody else, root
 * included. SO_PASSCRED gives every datagram its sender's pid, and
 * SO_PASSPIDFD (Linux 6.5) a pidfd of it, which pins that process: the tree
 * is checked through /proc by number, and the pidfd proves afterwards that
 * the number was still the sender's (no PID reuse in between). Without it
 * (older kernels) the pid alone is used. A sender that has exited and been
 * reaped before tether reads its datagram cannot be placed, and is refused:
 * systemd-notify waits for tether (BARRIER=1), sd_notify() callers are the
 * long-lived process itself. A sender with CAP_SYS_ADMIN can claim another
 * pid in its credentials; root can act from inside the tree anyway.
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

/* Who may send to an instance's socket: the tree of its guardian. */
struct tether_notify_tree {
	pid_t guardian;   /* in our PID namespace; <= 0: nobody (no guardian) */
	bool pidns;       /* it is the init of a PID namespace of its own */
	/* that namespace, looked up once per guardian */
	pid_t ns_of;
	dev_t ns_dev;
	ino_t ns_ino;
};

/* Is pid (in our PID namespace, from SCM_CREDENTIALS) a process of the
 * tree? In pidns mode: a process of the guardian's namespace; in both modes:
 * one whose ancestry (/proc's parent links) reaches the guardian — orphans of
 * the tree re-parent to it, as subreaper or as the namespace's init. pidfd
 * (SCM_PIDFD, or -1) must still refer to a process afterwards, or the pid
 * was reused meanwhile. 1 yes, 0 no (or cannot tell: a sender gone). */
int tether_notify_in_tree(struct tether_notify_tree *tree, pid_t pid, int pidfd);

/* Creates a socket for instance `id` of the supervisor with pid `owner`.
 * Non-blocking, close-on-exec. Returns 0 or -errno. */
int tether_notify_open(pid_t owner, unsigned id, struct tether_notify_socket *ret);
/* Closes the socket; s then reads as closed (fd -1). Accepts a closed one. */
void tether_notify_done(struct tether_notify_socket *s);

/* What tether_notify_recv made of a datagram. */
enum tether_notify_verdict {
	TETHER_NOTIFY_NONE = 0,     /* nothing was pending */
	TETHER_NOTIFY_ACCEPTED = 1, /* *ret holds what it said */
	TETHER_NOTIFY_IGNORED = 2,  /* oversized or nothing understood (*ret's counters say why) */
	TETHER_NOTIFY_REFUSED = 3,  /* its sender is outside the tree (or unknown) */
};

/* Receives one pending datagram and judges its sender against tree. Returns
 * a verdict (sender's pid in *ret_pid), or -errno. *ret_fds_closed counts
 * passed descriptors closed (each one, whatever the verdict). */
int tether_notify_recv(struct tether_notify_socket *s, struct tether_notify_tree *tree,
		       struct tether_notify_msg *ret, pid_t *ret_pid, unsigned *ret_fds_closed);

/* Sends text to the socket named like NOTIFY_SOCKET ("@abstract" or a path)
 * from the datagram socket *keep, which is opened (close-on-exec) when
 * *keep < 0 and kept for the next message; keep NULL: a socket for this
 * message alone. Returns 0 or -errno. */
int tether_notify_send(int *keep, const char *socket_name, const char *text);

#endif
