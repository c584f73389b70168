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

#include "control.h"
#include "pidfile.h"
#include "sys.h"

static socklen_t control_addr(dev_t dev, ino_t ino, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace. */
	int n = snprintf(sa->sun_path + 1, sizeof sa->sun_path - 1, "tether-ctl/%llx:%llx",
			 (unsigned long long)dev, (unsigned long long)ino);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

static int peer_pid(int fd, pid_t *ret_pid, uid_t *ret_uid)
{
	struct ucred cred;
	socklen_t len = sizeof cred;
	int r = sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	if (r < 0)
		return r;
	*ret_pid = cred.pid;
	*ret_uid = cred.uid;
	return 0;
}

int tether_control_listen(int lock_fd)
{
	struct stat st;
	struct sockaddr_un sa;
	int r = sys_fstat(lock_fd, &st);
	if (r < 0)
		return r;
	int fd = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	socklen_t len = control_addr(st.st_dev, st.st_ino, &sa);
	r = sys_bind(fd, (struct sockaddr *)&sa, len);
	if (r == 0)
		r = sys_listen(fd, 16);
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	return fd;
}

int tether_control_accept(int listen_fd, char *buf, size_t len)
{
	int fd = sys_accept(listen_fd, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return fd == -EWOULDBLOCK ? -EAGAIN : fd;
	pid_t pid;
	uid_t uid;
	int r = peer_pid(fd, &pid, &uid);
	if (r == 0 && uid != geteuid() && uid != 0)
		r = -EPERM;
	if (r == 0) {
		/* The client sent its request before we accepted; if not, we do
		 * not wait for it (a slow client gets no answer). */
		struct iovec iov = {.iov_base = buf, .iov_len = len - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
		ssize_t n = sys_recvmsg(fd, &mh, MSG_DONTWAIT);
		if (n < 0)
			r = (int)n;
		else {
			buf[n] = '\0';
			buf[strcspn(buf, "\n")] = '\0';
		}
	}
	if (r < 0) {
		sys_close(fd);
		return r;
	}
	return fd;
}

int tether_control_reply(int conn_fd, const char *msg, size_t len)
{
	struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n = sys_sendmsg(conn_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n < 0 ? (int)n : 0;
}

int tether_control_query(const char *pidfile, const char *request, int timeout_ms, struct tether_json **ret)
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
	int fd = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	socklen_t len = control_addr(st.st_dev, st.st_ino, &sa);
	char *buf = NULL;
	r = sys_connect(fd, (struct sockaddr *)&sa, len);
	if (r < 0)
		goto out;
	pid_t pid;
	uid_t uid;
	r = peer_pid(fd, &pid, &uid);
	if (r == 0 && pid != holder)
		r = -EPERM;
	if (r < 0)
		goto out;
	char line[256];
	int n = snprintf(line, sizeof line, "%s\n", request);
	struct iovec iov = {.iov_base = line, .iov_len = (size_t)n};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t w = sys_sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (w < 0) {
		r = (int)w;
		goto out;
	}
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	r = sys_poll(&pfd, 1, timeout_ms);
	if (r == 0)
		r = -ETIMEDOUT;
	if (r < 0)
		goto out;
	buf = malloc(TETHER_CONTROL_MAX_MSG);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	struct iovec riov = {.iov_base = buf, .iov_len = TETHER_CONTROL_MAX_MSG};
	struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1};
	ssize_t got = sys_recvmsg(fd, &rmh, MSG_DONTWAIT);
	if (got <= 0) {
		r = got < 0 ? (int)got : -ECONNRESET;
		goto out;
	}
	r = tether_json_parse(buf, (size_t)got, 16, ret);
out:
	free(buf);
	sys_close(fd);
	return r;
}
