/* SPDX-License-Identifier: MIT */
/* control.c — see control.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "control.h"
#include "ctlname.h"
#include "pidfile.h"
#include "sys.h"
#include "wait.h"

/* Connections waiting to be accepted. A supervisor that is stopped
 * (SIGSTOP) fills it with the connects of those who look for it; beyond it
 * they see EAGAIN (ctlname.h: a trusted socket then stands on its name). */
#define LISTEN_BACKLOG 64

int tether_control_listen(const char *key, uint64_t start_time, char *ret_name, size_t cap)
{
	/* 128 random bits: a taken name is a broken generator, not bad luck;
	 * a few more draws cost nothing and never loop. */
	for (int attempt = 0; attempt < 4; attempt++) {
		char name[TETHER_CTLNAME_MAX + 1];
		struct sockaddr_un sa;
		int r = tether_ctlname_make(key, getpid(), start_time, name, sizeof name);
		if (r < 0)
			return r;
		int fd = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return fd;
		socklen_t len = tether_ctlname_addr(name, &sa);
		r = sys_bind(fd, (struct sockaddr *)&sa, len);
		if (r == 0)
			r = sys_listen(fd, LISTEN_BACKLOG);
		if (r == 0) {
			if (ret_name && cap)
				snprintf(ret_name, cap, "%s", name);
			return fd;
		}
		sys_close(fd);
		if (r != -EADDRINUSE)
			return r;
	}
	return -EADDRINUSE;
}

int tether_control_accept(int listen_fd)
{
	int fd = sys_accept(listen_fd, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd == -EWOULDBLOCK)
		return -EAGAIN;
	if (fd < 0)
		return fd;
	struct ucred cred;
	socklen_t len = sizeof cred;
	/* Taken by the kernel at connect(): the client cannot choose it. */
	int r = sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	if (r == 0 && cred.uid != geteuid() && cred.uid != 0)
		r = -EPERM;
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	return fd;
}

int tether_control_recv(int conn_fd, char *buf, size_t len)
{
	struct iovec iov = {.iov_base = buf, .iov_len = len - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = sys_recvmsg(conn_fd, &mh, MSG_DONTWAIT);
	if (n == -EWOULDBLOCK)
		return -EAGAIN;
	if (n < 0)
		return (int)n;
	if (n == 0)
		return -EPIPE; /* requests are never empty: the client is gone */
	/* Only the first line counts, so a longer request is fine as long as
	 * that line fits: cut inside it, it could read as another request. */
	if ((mh.msg_flags & MSG_TRUNC) && !memchr(buf, '\n', (size_t)n))
		return -EMSGSIZE;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int tether_control_reply(int conn_fd, const char *msg, size_t len)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = sys_sendmsg(conn_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? (int)n : 0;
}

/* ---- the client ------------------------------------------------------------------ */

static int connect_to(const char *pidfile, pid_t pid, pid_t *ret_pid)
{
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	int r = tether_ctlname_key(pidfile, key);
	if (r < 0)
		return r;
	struct tether_ctlname_found f;
	r = tether_ctlname_find(key, pid, TETHER_CTLNAME_KEEP, &f);
	if (r < 0)
		return r;
	if (r == 0)
		return -ECONNREFUSED;
	if (ret_pid)
		*ret_pid = f.pid;
	return f.fd;
}

int tether_control_connect(const char *pidfile, pid_t pid)
{
	if (pid <= 0)
		return -EINVAL;
	return connect_to(pidfile, pid, NULL);
}

static int ask(int fd, const char *request, const struct tether_clock *clock, int64_t timeout_ns,
	       struct tether_json **ret)
{
	struct iovec iov = {.iov_base = (void *)request, .iov_len = strlen(request)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	/* A fresh connection's queue is empty: the request goes at once. */
	ssize_t w = sys_sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0)
		return (int)w;
	char *buf = malloc(TETHER_CONTROL_MAX_MSG);
	if (!buf)
		return -ENOMEM;
	/* One deadline for the whole query, the late answer of a restart or a
	 * signal included: a signal (sys_poll reports EINTR as no event;
	 * tether_wait_fd waits for the rest) must not end the wait early. */
	int64_t deadline = timeout_ns < 0 ? TETHER_NEVER : tether_clock_now(clock) + timeout_ns;
	unsigned empty = 0;
	int r;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		r = tether_wait_fd(&pfd, clock, deadline);
		if (r == 0)
			r = -ETIMEDOUT;
		if (r < 0)
			break;
		struct iovec riov = {.iov_base = buf, .iov_len = TETHER_CONTROL_MAX_MSG};
		struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1};
		ssize_t got = sys_recvmsg(fd, &rmh, MSG_DONTWAIT);
		if (got == -EWOULDBLOCK) {
			/* Readable, yet nothing to receive: so many times in a row
			 * is a receive that keeps failing, which would otherwise
			 * spin until the deadline. */
			if (++empty < TETHER_WAIT_EARLY_MAX)
				continue;
			r = -EAGAIN;
			break;
		}
		if (got < 0) {
			r = (int)got;
			break;
		}
		if (got == 0) {
			r = -ECONNRESET; /* it closed without answering */
			break;
		}
		/* The connection's peer was verified when it was made: whatever
		 * comes on it comes from the supervisor. */
		r = (rmh.msg_flags & MSG_TRUNC) ? -EINVAL : tether_json_parse(buf, (size_t)got, 16, ret);
		break;
	}
	free(buf);
	/* The supervisor closes a connection once it has answered: wait for
	 * that (its end of file, at once), so that when a query returns the
	 * supervisor holds nothing of it — a caller that counts its
	 * descriptors next sees them all settled. Bounded like the wait for
	 * the answer: the deadline, and so many readable-yet-empty receives. */
	empty = 0;
	while (r == 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (tether_wait_fd(&pfd, clock, deadline) <= 0)
			break; /* the deadline, or no wait: the answer is what counts */
		char c;
		struct iovec ci = {.iov_base = &c, .iov_len = 1};
		struct msghdr cm = {.msg_iov = &ci, .msg_iovlen = 1};
		if (sys_recvmsg(fd, &cm, MSG_DONTWAIT) != -EWOULDBLOCK || ++empty >= TETHER_WAIT_EARLY_MAX)
			break; /* its end of file */
	}
	return r;
}

int tether_control_query_pid(const char *pidfile, pid_t pid, const char *request, const struct tether_clock *clock,
			     int64_t timeout_ns, struct tether_json **ret)
{
	int fd = connect_to(pidfile, pid, NULL);
	if (fd < 0)
		return fd;
	int r = ask(fd, request, clock, timeout_ns, ret);
	sys_close(fd);
	return r;
}

int tether_control_query(const char *pidfile, const char *request, const struct tether_clock *clock,
			 int64_t timeout_ns, struct tether_json **ret)
{
	char lock_path[4096];
	struct stat st;
	pid_t holder = 0;
	if (snprintf(lock_path, sizeof lock_path, "%s.lock", pidfile) >= (int)sizeof lock_path)
		return -ENAMETOOLONG;
	int r = sys_lstat(lock_path, &st);
	if (r < 0 && r != -ENOENT)
		return r;
	if (r == 0) {
		/* Only the lock holder may answer; nobody holds it: nobody is asked. */
		if (tether_pidfile_lock_holder(pidfile, &holder) != 1 || holder <= 0)
			return -ECONNREFUSED;
	}
	int fd = connect_to(pidfile, holder, NULL);
	if (fd == -ECONNREFUSED && r == -ENOENT)
		return -ENOENT;
	if (fd < 0)
		return fd;
	r = ask(fd, request, clock, timeout_ns, ret);
	sys_close(fd);
	return r;
}
