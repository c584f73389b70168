/* SPDX-License-Identifier: MIT */
/* notify.c — see notify.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"
#include "proc.h"
#include "sys.h"

/* Linux 6.5's, for a libc whose headers predate them (musl 1.2.3). */
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

/* Deeper than any real process tree: a walk up /proc's parent links that
 * goes on longer is a loop of reused pids, not an ancestry. */
#define ANCESTRY_MAX 4096

/* Passed descriptors we make room for in one recvmsg. The kernel closes the
 * ones that do not fit (and sets MSG_CTRUNC), so this bounds nothing but how
 * many we close ourselves. */
#define NOTIFY_FDS_MAX 64

/* ---- parsing ------------------------------------------------------------- */

static bool value_is(const char *val, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(val, want, len) == 0;
}

/* Strict decimal, digits only (no sign, no spaces: systemd's own clients
 * never send them), in [min, max]. */
static int parse_dec(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		/* max <= INT_MAX, so v <= 10 * max + 9 never wraps. */
		if (v > max)
			return -ERANGE;
	}
	if (v < min)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF) and its code point, or 0 if s does not
 * start one. */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *ret_cp)
{
	unsigned char c = s[0];
	size_t n;
	uint32_t cp;
	unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */
	if (c < 0x80) {
		*ret_cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		return 0;
	}
	if (len < n || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	*ret_cp = cp;
	return n;
}

/* Copies a STATUS value so that it can be shown anywhere (a terminal, the
 * JSON heartbeat): valid UTF-8 only (a stray byte becomes U+FFFD, as systemd
 * shows it), C0, DEL and C1 controls (ESC, CSI, ...) become spaces, and a cut
 * never splits a character. */
static void status_copy(char dst[TETHER_NOTIFY_STATUS_MAX], const char *src, size_t len)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *s = (const unsigned char *)src;
	size_t out = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp = 0;
		size_t k = utf8_seq(s + i, len - i, &cp);
		const char *emit = (const char *)s + i;
		size_t emit_len = k;
		if (k == 0) {
			emit = replacement;
			emit_len = sizeof replacement - 1;
			k = 1;
		} else if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			emit = " ";
			emit_len = 1;
		}
		if (out + emit_len > TETHER_NOTIFY_STATUS_MAX - 1)
			break;
		memcpy(dst + out, emit, emit_len);
		out += emit_len;
		i += k;
	}
	dst[out] = '\0';
}

/* Keys are environment-variable names, as systemd's are: anything else
 * (" READY", "READY ") is not an assignment at all, not an unknown key. */
static bool key_valid(const char *key, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		char c = key[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return len > 0;
}

/* One line (no '\n'). Returns 1 when it was a known assignment and
 * understood, 0 otherwise (then a counter in *m says why). Later lines
 * override earlier ones, as later datagrams do. */
static int parse_line(const char *line, size_t len, struct tether_notify_msg *m)
{
	uint64_t v;
	/* A NUL would end the text early for any C consumer: the line cannot
	 * mean what it says. */
	const char *eq = memchr(line, '=', len);
	if (memchr(line, '\0', len) || !eq || !key_valid(line, (size_t)(eq - line))) {
		m->malformed++;
		return 0;
	}
	size_t klen = (size_t)(eq - line);
	const char *val = eq + 1;
	size_t vlen = len - klen - 1;

	if (value_is(line, klen, "READY")) {
		if (!value_is(val, vlen, "1"))
			goto malformed;
		m->ready = true;
	} else if (value_is(line, klen, "WATCHDOG")) {
		/* WATCHDOG=trigger asks systemd to act as if the watchdog had
		 * expired: not a progress sign, and not ours to honour. */
		if (value_is(val, vlen, "trigger")) {
			m->unknown++;
			return 0;
		}
		if (!value_is(val, vlen, "1"))
			goto malformed;
		m->watchdog = true;
	} else if (value_is(line, klen, "STOPPING")) {
		if (!value_is(val, vlen, "1"))
			goto malformed;
		m->stopping = true;
	} else if (value_is(line, klen, "STATUS")) {
		status_copy(m->status, val, vlen);
		m->has_status = true;
	} else if (value_is(line, klen, "ERRNO")) {
		if (parse_dec(val, vlen, 0, 4095, &v) < 0)
			goto malformed;
		m->errno_value = (int)v;
		m->has_errno = true;
	} else if (value_is(line, klen, "MAINPID")) {
		/* pid_t is int; pid 0 (and anything else <= 0) is never a process
		 * we may adopt. */
		if (parse_dec(val, vlen, 1, INT_MAX, &v) < 0)
			goto malformed;
		m->mainpid = (pid_t)v;
		m->has_mainpid = true;
	} else {
		m->unknown++;
		return 0;
	}
	return 1;
malformed:
	m->malformed++;
	return 0;
}

int tether_notify_parse(const char *buf, size_t len, struct tether_notify_msg *ret)
{
	struct tether_notify_msg m = {0};
	bool understood = false, any_line = false;
	if (!ret)
		return -EINVAL;
	if (!buf)
		len = 0;
	for (size_t pos = 0; pos < len;) {
		const char *line = buf + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;
		pos += n + (nl ? 1 : 0);
		if (n == 0)
			continue; /* empty lines, a trailing newline */
		any_line = true;
		if (parse_line(line, n, &m) == 1)
			understood = true;
	}
	/* A datagram with no line at all says nothing; counting it keeps every
	 * rejection explained by a counter. */
	if (!any_line)
		m.malformed++;
	*ret = m;
	return understood ? 0 : -EINVAL;
}

/* ---- the socket ---------------------------------------------------------- */

static int random_hex(char *buf, size_t nbytes)
{
	unsigned char raw[16];
	if (nbytes > sizeof raw)
		return -EINVAL;
	int fd = sys_open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	ssize_t n = sys_read(fd, raw, nbytes);
	sys_close(fd);
	if (n < 0)
		return (int)n;
	if ((size_t)n != nbytes)
		return -EIO;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(buf + 2 * i, 3, "%02x", raw[i]);
	return 0;
}

/* Fills sa from a NOTIFY_SOCKET value: "@name" (abstract; the length, not a
 * NUL, ends the name, exactly as sd_notify computes it) or "/path". */
static int notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *ret_len)
{
	size_t n;
	if (!name || (name[0] != '@' && name[0] != '/') || name[1] == '\0')
		return -EINVAL;
	n = strlen(name);
	/* A path needs its NUL inside sun_path; an abstract name takes the
	 * '@''s place for its leading NUL. */
	if (n >= sizeof sa->sun_path)
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		sa->sun_path[0] = '\0';
		*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

int tether_notify_open(pid_t owner, unsigned id, struct tether_notify_socket *ret)
{
	struct tether_notify_socket s;
	struct sockaddr_un sa;
	socklen_t salen;
	char rnd[2 * 8 + 1];
	int one = 1;
	if (!ret || owner <= 0)
		return -EINVAL;
	/* The random part makes the name unguessable, so nobody can bind it
	 * before us (abstract names have no permissions) or aim at it blindly. */
	int r = random_hex(rnd, 8);
	if (r < 0)
		return r;
	int n = snprintf(s.env, sizeof s.env, "@tether/%ld/%u/%s", (long)owner, id, rnd);
	if (n < 0 || (size_t)n >= sizeof s.env)
		return -ENAMETOOLONG;
	r = notify_addr(s.env, &sa, &salen);
	if (r < 0)
		return r;
	s.fd = sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s.fd < 0)
		return s.fd;
	/* SO_PASSCRED before bind: no datagram may arrive without credentials.
	 * SO_PASSPIDFD where the kernel has it (6.5): each datagram also brings
	 * a pidfd of its sender (tether_notify_in_tree); refused, the pid alone
	 * decides. */
	r = sys_setsockopt(s.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
	if (r == 0)
		sys_setsockopt(s.fd, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof one);
	if (r == 0)
		r = sys_bind(s.fd, (struct sockaddr *)&sa, salen);
	if (r < 0) {
		sys_close(s.fd);
		return r;
	}
	/* No SO_RCVBUF: an AF_UNIX datagram queue is bounded by
	 * net.unix.max_dgram_qlen datagrams (10 by default), not by the
	 * receiver's buffer (on Linux 6.18, 11 datagrams queue with the
	 * default buffer and with 8 MiB alike). A full queue makes blocking
	 * senders (sd_notify, systemd-notify) wait, not lose anything; the
	 * caller drains the socket on every wakeup. */
	*ret = s;
	return 0;
}

void tether_notify_done(struct tether_notify_socket *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		sys_close(s->fd);
	s->fd = -1;
	s->env[0] = '\0';
}

/* Closes every descriptor a control message carried; returns how many. */
static unsigned close_passed_fds(struct cmsghdr *c)
{
	unsigned closed = 0;
	size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	const unsigned char *p = CMSG_DATA(c);
	for (size_t i = 0; i < n; i++) {
		int fd;
		memcpy(&fd, p + i * sizeof fd, sizeof fd); /* CMSG_DATA need not be int-aligned */
		if (fd >= 0 && sys_close(fd) == 0)
			closed++;
	}
	return closed;
}

/* The PID namespace pid lives in, as /proc/PID/ns/pid's nsfs inode. */
static int pidns_of(pid_t pid, struct stat *ret)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", (int)pid);
	return sys_stat(path, ret);
}

/* 1 when pid is in the guardian's namespace, 0 when not, -errno when we
 * cannot tell (a zombie has no namespace links). */
static int in_guardian_pidns(struct tether_notify_tree *t, pid_t pid)
{
	struct stat st;
	int r;
	if (t->ns_of != t->guardian) {
		/* the guardian is our unreaped child: its pid is its own */
		if ((r = pidns_of(t->guardian, &st)) < 0)
			return r;
		t->ns_dev = st.st_dev;
		t->ns_ino = st.st_ino;
		t->ns_of = t->guardian;
	}
	if ((r = pidns_of(pid, &st)) < 0)
		return r;
	return st.st_dev == t->ns_dev && st.st_ino == t->ns_ino;
}

/* 1 when the guardian is pid or one of its ancestors. */
static int descends_from(pid_t pid, pid_t guardian)
{
	pid_t cur = pid;
	for (int depth = 0; depth < ANCESTRY_MAX; depth++) {
		if (cur == guardian)
			return 1;
		struct tether_procstat st;
		/* pid 1, and a parent outside our namespace (ppid 0), end it */
		if (cur <= 1 || tether_proc_read_stat(cur, &st) < 0)
			return 0;
		cur = st.ppid;
	}
	return 0;
}

int tether_notify_in_tree(struct tether_notify_tree *t, pid_t pid, int pidfd)
{
	if (!t || t->guardian <= 0 || pid <= 0)
		return 0;
	/* In a namespace of its own, one stat says it; a nested namespace, a
	 * zombie or subreaper mode take the walk up the parents. */
	int in = t->pidns ? in_guardian_pidns(t, pid) : 0;
	if (in != 1)
		in = descends_from(pid, t->guardian);
	/* The reads above named the sender by number. Its pidfd pins the
	 * process itself: while that process has not been reaped its number
	 * cannot be anyone else's, so if it is still there now, what we read was
	 * the sender (a gone one cannot be placed: refused). */
	if (in == 1 && pidfd >= 0 && sys_pidfd_send_signal(pidfd, 0) == -ESRCH)
		in = 0;
	return in == 1;
}

int tether_notify_recv(struct tether_notify_socket *s, struct tether_notify_tree *tree,
		       struct tether_notify_msg *ret, pid_t *ret_pid, unsigned *ret_fds_closed)
{
	char buf[TETHER_NOTIFY_MAX];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int)) +
			 CMSG_SPACE(sizeof(int) * NOTIFY_FDS_MAX)];
	} control;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof control.buf,
	};
	struct ucred cred;
	bool have_cred = false;
	unsigned closed = 0;
	int pidfd = -1;

	if (ret_fds_closed)
		*ret_fds_closed = 0;
	if (!s || s->fd < 0 || !ret)
		return -EINVAL;
	/* MSG_CMSG_CLOEXEC: between this call and the close below, a fork+exec
	 * in another thread must not inherit what a client passed us. */
	ssize_t n = sys_recvmsg(s->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -EAGAIN || n == -EWOULDBLOCK)
		return 0;
	if (n < 0)
		return (int)n;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len >= CMSG_LEN(sizeof cred)) {
			memcpy(&cred, CMSG_DATA(c), sizeof cred);
			have_cred = true;
		} else if (c->cmsg_type == SCM_PIDFD && c->cmsg_len >= CMSG_LEN(sizeof pidfd)) {
			int fd;
			memcpy(&fd, CMSG_DATA(c), sizeof fd);
			if (pidfd >= 0)
				sys_close(pidfd);
			pidfd = fd;
		}
	}
	memset(ret, 0, sizeof *ret);
	if (ret_pid)
		*ret_pid = have_cred ? cred.pid : 0;
	/* The sender is judged while it still waits: systemd-notify's BARRIER=1
	 * passes a descriptor and exits once it is closed, and a sender gone
	 * (reaped by its shell) cannot be placed any more
	 * (scenarios/notify_setpriv_systemd_notify.scn: notify_refused 0). */
	bool admitted = have_cred && tether_notify_in_tree(tree, cred.pid, pidfd);
	if (pidfd >= 0)
		sys_close(pidfd);
	/* Then the descriptors, whatever we think of the datagram: a refused
	 * sender must not pin any either. With MSG_CTRUNC the kernel has
	 * already closed those that did not fit. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			closed += close_passed_fds(c);
	if (ret_fds_closed)
		*ret_fds_closed = closed;
	if (!admitted)
		return TETHER_NOTIFY_REFUSED;
	if (mh.msg_flags & MSG_TRUNC) {
		/* Parsing the head of a longer text could act on half of it. */
		ret->malformed = 1;
		return TETHER_NOTIFY_IGNORED;
	}
	return tether_notify_parse(buf, (size_t)n, ret) == 0 ? TETHER_NOTIFY_ACCEPTED : TETHER_NOTIFY_IGNORED;
}

int tether_notify_send(int *keep, const char *socket_name, const char *text)
{
	struct sockaddr_un sa;
	socklen_t salen;
	if (!text)
		return -EINVAL;
	int r = notify_addr(socket_name, &sa, &salen);
	if (r < 0)
		return r;
	int fd = keep && *keep >= 0 ? *keep : sys_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	if (keep)
		*keep = fd;
	struct iovec iov = {.iov_base = (void *)text, .iov_len = strlen(text)};
	struct msghdr mh = {
		.msg_name = &sa,
		.msg_namelen = salen,
		.msg_iov = &iov,
		.msg_iovlen = 1,
	};
	/* MSG_NOSIGNAL: a vanished receiver must be an error code, not a
	 * SIGPIPE that kills us. MSG_DONTWAIT: unlike sd_notify we are a
	 * supervisor; a full queue at our own supervisor (-EAGAIN) must not stall
	 * our loop — the next status or watchdog message follows anyway. */
	ssize_t n = sys_sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (!keep)
		sys_close(fd);
	if (n < 0)
		return (int)n;
	return (size_t)n == iov.iov_len ? 0 : -EIO;
}
