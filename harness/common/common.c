/* SPDX-License-Identifier: MIT */
/* common.c — see common.h: allocation, time, files, errno and signal names, text. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "json.h"

void lab_die(const char *fmt, ...)
{
	va_list ap;
	fputs("harness: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(99);
}

void *xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);
	if (!p)
		lab_die("out of memory");
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		lab_die("out of memory");
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		lab_die("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		lab_die("out of memory");
	return s;
}

void xappend(void *arr, size_t *n, const void *item, size_t size)
{
	char **a = arr;
	/* Grow at powers of two: the capacity is implied by n. */
	if ((*n & (*n - 1)) == 0)
		*a = xrealloc(*a, (*n ? *n * 2 : 1) * size);
	memcpy(*a + *n * size, item, size);
	(*n)++;
}

int64_t lab_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

char *lab_fmt_ns(int64_t ns, char *buf, size_t len)
{
	if (ns % NS_PER_SEC == 0)
		snprintf(buf, len, "%llds", (long long)(ns / NS_PER_SEC));
	else if (ns < 10 * NS_PER_SEC && ns > -10 * NS_PER_SEC)
		snprintf(buf, len, "%.1fms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3fs", (double)ns / 1e9);
	/* "100.0ms" reads worse than "100ms" */
	char *dot = strstr(buf, ".0ms");
	if (dot)
		memmove(dot, dot + 2, strlen(dot + 2) + 1);
	return buf;
}

char *lab_read_file(const char *path, size_t max, size_t *ret_len, int *ret_err)
{
	/* O_NONBLOCK: a FIFO planted where a file is expected must not hang the lab. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*ret_err = errno;
		return NULL;
	}
	size_t len = 0, cap = 4096;
	char *buf = xmalloc(cap);
	for (;;) {
		if (len + 1 >= cap) {
			if (cap > max) {
				free(buf);
				close(fd);
				*ret_err = EFBIG;
				return NULL;
			}
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			/* EAGAIN: an empty FIFO reads as empty */
			if (errno == EAGAIN)
				break;
			*ret_err = errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return buf;
}

int lab_write_file(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		off += (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

void lab_rm_rf(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d) {
			struct dirent *e;
			while ((e = readdir(d))) {
				if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
					continue;
				char *sub = xasprintf("%s/%s", path, e->d_name);
				lab_rm_rf(sub);
				free(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

#define E(x) {#x, x}
static const struct {
	const char *name;
	int value;
} errnos[] = {
	E(EPERM), E(ENOENT), E(ESRCH), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(ENOEXEC),
	E(EBADF), E(ECHILD), E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST),
	E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE), E(EMFILE), E(ETXTBSY),
	E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS), E(EMLINK), E(EPIPE), E(ERANGE), E(ENAMETOOLONG),
	E(ENOSYS), E(ENOTEMPTY), E(ELOOP), E(EMSGSIZE), E(ENOBUFS), E(ECONNREFUSED),
	E(ETIMEDOUT), E(EDQUOT), E(ECONNRESET), E(EADDRINUSE), E(ENOTSUP),
};
#undef E

int lab_errno_parse(const char *s)
{
	for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
		if (strcmp(s, errnos[i].name) == 0)
			return errnos[i].value;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s && !*end && errno == 0 && v > 0 && v < 4096)
		return (int)v;
	return -1;
}

const char *lab_errno_name(int err)
{
	for (size_t i = 0; i < sizeof errnos / sizeof errnos[0]; i++)
		if (errnos[i].value == err)
			return errnos[i].name;
	return "?";
}

#define S(x) {#x, SIG##x}
/* Every signal the kernel has a name for, as the scenarios write them (and as
 * `kill -l` and `tether signal` do): the real-time ones are RTMIN+N and
 * RTMAX-N below, numbered as glibc numbers them at run time. */
static const struct {
	const char *name;
	int value;
} signals[] = {
	S(HUP), S(INT), S(QUIT), S(ILL), S(TRAP), S(ABRT), S(BUS), S(FPE), S(KILL), S(USR1),
	S(SEGV), S(USR2), S(PIPE), S(ALRM), S(TERM), S(STKFLT), S(CHLD), S(CONT), S(STOP), S(TSTP),
	S(TTIN), S(TTOU), S(URG), S(XCPU), S(XFSZ), S(VTALRM), S(PROF), S(WINCH), S(IO), S(PWR), S(SYS),
	/* aliases: parsed, never printed (the first name of a number wins) */
	S(IOT), S(CLD), S(POLL),
};
#undef S

/* "+N" or "-N" after RTMIN/RTMAX: N, or -1. */
static int rt_offset(const char *s, char sign)
{
	if (!*s)
		return 0;
	if (*s != sign || !s[1])
		return -1;
	char *end;
	errno = 0;
	long v = strtol(s + 1, &end, 10);
	return *end || errno || v < 0 || v > SIGRTMAX - SIGRTMIN || !isdigit((unsigned char)s[1]) ? -1 : (int)v;
}

int lab_signal_parse(const char *s)
{
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
		if (strcmp(s, signals[i].name) == 0)
			return signals[i].value;
	if (strncmp(s, "RTMIN", 5) == 0 || strncmp(s, "RTMAX", 5) == 0) {
		bool min = s[4] == 'N';
		int n = rt_offset(s + 5, min ? '+' : '-');
		return n < 0 ? -1 : min ? SIGRTMIN + n : SIGRTMAX - n;
	}
	char *end;
	long v = strtol(s, &end, 10);
	if (*s && !*end && v > 0 && v < 65)
		return (int)v;
	return -1;
}

const char *lab_signal_name(int sig)
{
	for (size_t i = 0; i < sizeof signals / sizeof signals[0]; i++)
		if (signals[i].value == sig)
			return signals[i].name;
	/* RTMIN, RTMIN+1 ... RTMIN+30: a name that reads back as the same signal */
	static char rt[65][12];
	if (sig >= SIGRTMIN && sig <= SIGRTMAX && sig < 65) {
		if (!rt[sig][0])
			snprintf(rt[sig], sizeof rt[sig], sig == SIGRTMIN ? "RTMIN" : "RTMIN+%d", sig - SIGRTMIN);
		return rt[sig];
	}
	return "?";
}

size_t lab_split_lines(char *text, char ***ret)
{
	size_t n = 0;
	char **lines = NULL;
	char *p = text;
	while (*p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		xappend(&lines, &n, &p, sizeof p);
		if (!nl)
			break;
		p = nl + 1;
	}
	*ret = lines;
	return n;
}

char *lab_excerpt(const char *s, size_t max)
{
	size_t n = strcspn(s, "\n");
	bool more = s[n] != '\0' && s[n + 1] != '\0';
	if (n > max) {
		n = max;
		more = true;
	}
	char *out = xmalloc(n + 4);
	memcpy(out, s, n);
	strcpy(out + n, more ? "..." : "");
	return out;
}

int lab_mkdir_p(const char *path)
{
	char *p = xstrdup(path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	int r = mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
	free(p);
	return r;
}

int lab_mkdtemp(const char *name, char **ret)
{
	const char *tmp = getenv("TMPDIR");
	*ret = xasprintf("%s/tether-%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	return mkdtemp(*ret) ? 0 : -errno;
}

char *lab_absolute(const char *path)
{
	char buf[PATH_MAX];
	return realpath(path, buf) ? xstrdup(buf) : NULL;
}

ssize_t lab_recv_notify(int fd, char *buf, size_t len)
{
	for (;;) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int) * 32)];
		} cm;
		struct iovec iov = {.iov_base = buf, .iov_len = len - 1};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cm, .msg_controllen = sizeof cm};
		ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
				continue;
			size_t nfds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			int fds[32];
			memcpy(fds, CMSG_DATA(c), nfds * sizeof(int));
			for (size_t i = 0; i < nfds; i++)
				close(fds[i]);
		}
		buf[n] = '\0';
		return n;
	}
}

int lab_notify_bind(const char *name)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	if (n >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, name, n);
	sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

bool lab_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	for (size_t off = 0; off < len;) {
		ssize_t n = write(fd, p + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		off += (size_t)n;
	}
	return true;
}

void lab_xml_escape(struct tether_buf *b, const char *s)
{
	static const char fffd[] = "\xef\xbf\xbd";
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned char c = *p;
		if (c == '&') {
			tether_buf_puts(b, "&amp;");
		} else if (c == '<') {
			tether_buf_puts(b, "&lt;");
		} else if (c == '>') {
			tether_buf_puts(b, "&gt;");
		} else if (c == '"') {
			tether_buf_puts(b, "&quot;");
		} else if (c == '\'') {
			tether_buf_puts(b, "&apos;");
		} else if (c < 0x20) {
			/* XML 1.0 has no way to write most control characters */
			if (c == '\n' || c == '\t')
				tether_buf_append(b, (const char *)p, 1);
			else
				tether_buf_puts(b, fffd);
		} else if (c < 0x80) {
			tether_buf_append(b, (const char *)p, 1);
		} else {
			/* a well-formed UTF-8 sequence (no overlongs, surrogates, U+FFFE/F), else U+FFFD */
			size_t len = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? (c <= 0xef ? 3 : 0) : c >= 0xc2 ? 2 : 0;
			uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
			bool ok = len > 0;
			for (size_t k = 1; ok && k < len; k++) {
				ok = (p[k] & 0xc0) == 0x80;
				cp = (cp << 6) | (p[k] & 0x3f);
			}
			if (ok)
				ok = !(len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xfffe)) &&
				     !(len == 4 && (cp < 0x10000 || cp > 0x10ffff));
			if (ok) {
				tether_buf_append(b, (const char *)p, len);
				p += len;
				continue;
			}
			tether_buf_puts(b, fffd);
		}
		p++;
	}
}
