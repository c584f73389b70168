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
#include "pidfile.h"
#include "sys.h"
#include "wait.h"

static socklen_t control_addr(dev_t dev, ino_t ino, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace. */
	int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "tether-ctl/%llx:%llx",
			 (unsigned long long)dev, (unsigned long long)ino);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int passcred(int fd)
{
	int one = 1;
	return sys_setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
}

int tether_control_listen(int lock_fd)
{
	struct stat st;
	struct sockaddr_un sa;
	int r = sys_fstat(lock_fd, &st);
	if (r < 0)
		return r;
	int fd = sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	socklen_t len = control_addr(st.st_dev, st.st_ino, &sa);
	r = sys_bind(fd, (struct sockaddr *)&sa, len);
	if (r == 0)
		r = passcred(fd);
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	return fd;
}

int tether_control_recv(int fd, char *buf, size_t len, struct tether_control_peer *ret_peer)
{
	struct ucred cred;
	bool truncated = false;
	ssize_t n = sys_recv_creds(fd, buf, len - 1, MSG_DONTWAIT, &cred, &ret_peer->addr, &ret_peer->len,
				   &truncated);
	if (n == -EWOULDBLOCK)
		return -EAGAIN;
	if (n < 0)
		return (int)n;
	if (cred.uid != geteuid() && cred.uid != 0)
		return -EPERM;
	if (ret_peer->len <= offsetof(struct sockaddr_un, sun_path))
		return -EDESTADDRREQ; /* an unbound sender cannot be answered */
	/* Only the first line counts, so a longer request is fine as long as
	 * that line fits: cut inside it, it could read as another request. */
	if (truncated && !memchr(buf, '\n', (size_t)n))
		return -EMSGSIZE;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int tether_control_reply(int fd, const struct tether_control_peer *peer, const char *msg, size_t len)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {
		.msg_name = (void *)&peer->addr,
		.msg_namelen = peer->len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	ssize_t n = sys_sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? (int)n : 0;
}

int tether_control_query(const char *pidfile, const char *request, const struct tether_clock *clock,
			 int64_t timeout_ns, struct tether_json **ret)
{
	char lock_path[4096];
	struct stat st;
	struct sockaddr_un sa;
	pid_t holder = 0;
	if (snprintf(lock_path, sizeof lock_path, "%s.lock", pidfile) >= (int)sizeof lock_path)
		return -ENAMETOOLONG;
	int r = sys_lstat(lock_path, &st);
	if (r < 0)
		return r;
	if (tether_pidfile_lock_holder(pidfile, &holder) != 1)
		return -ECONNREFUSED;
	int fd = sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char *buf = NULL;
	/* Autobind (an address of the kernel's choosing) so we can be answered. */
	struct sockaddr_un self = {.sun_family = AF_UNIX};
	r = sys_bind(fd, (struct sockaddr *)&self, sizeof(sa_family_t));
	if (r == 0)
		r = passcred(fd);
	if (r < 0)
		goto out;
	socklen_t len = control_addr(st.st_dev, st.st_ino, &sa);
	struct iovec iov = {.iov_base = (void *)request, .iov_len = strlen(request)};
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = len, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t w = sys_sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w < 0) {
		r = (int)w;
		goto out;
	}
	buf = malloc(TETHER_CONTROL_MAX_MSG);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	/* One deadline for the whole query: neither a signal (sys_poll reports
	 * EINTR as no event; tether_wait_fd waits for the rest) nor a stream of
	 * answers from others may end the wait early or stretch it. */
	int64_t deadline = timeout_ns < 0 ? TETHER_NEVER : tether_clock_now(clock) + timeout_ns;
	unsigned empty = 0;
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		r = tether_wait_fd(&pfd, clock, deadline);
		if (r == 0)
			r = -ETIMEDOUT;
		if (r < 0)
			goto out;
		struct ucred cred;
		ssize_t got = sys_recv_creds(fd, buf, TETHER_CONTROL_MAX_MSG, MSG_DONTWAIT, &cred, NULL, NULL, NULL);
		if (got == -EWOULDBLOCK) {
			/* Readable, yet nothing to receive: so many times in a row
			 * is a receive that keeps failing, which would otherwise
			 * spin until the deadline. */
			if (++empty < TETHER_WAIT_EARLY_MAX)
				continue;
			r = -EAGAIN;
			goto out;
		}
		if (got < 0) {
			r = (int)got;
			goto out;
		}
		empty = 0;
		/* Only the lock holder may answer. */
		if (cred.pid != holder)
			continue;
		r = tether_json_parse(buf, (size_t)got, 16, ret);
		break;
	}
out:
	free(buf);
	sys_close(fd);
	return r;
}
