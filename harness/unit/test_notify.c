/* SPDX-License-Identifier: MIT */
/* test_notify.c — the notify protocol (SPEC §5): the parser against systemd's
 * reading of it, the socket against the real clients (systemd-notify and
 * libsystemd's sd_notify through fixtures/sdnotify), fd hygiene: nothing a
 * client passes may stay open in tether (G5, G6), and admission by the
 * sender's place: any process of the tree, whatever its uid; nobody outside
 * it, root included. Most tests take the test process itself as the tree's
 * guardian, so that it and its children are inside. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "notify.h"
#include "proc.h"
#include "sys.h"
#include "testutil.h"

#define SYSTEMD_NOTIFY "/usr/bin/systemd-notify"

/* The tree of the test process: it and every child it forks. */
static struct tether_notify_tree *ours(void)
{
	static struct tether_notify_tree t;
	t = (struct tether_notify_tree){.guardian = getpid()};
	return &t;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- parsing ------------------------------------------------------------- */

static int parse_len(const char *buf, size_t len, struct tether_notify_msg *m)
{
	memset(m, 0xa5, sizeof *m); /* the parser must write every field */
	return tether_notify_parse(buf, len, m);
}

static int parse(const char *s, struct tether_notify_msg *m)
{
	return parse_len(s, strlen(s), m);
}

/* Nothing but the named field may be set. */
static void assert_only(const struct tether_notify_msg *m, const char *field, const char *in)
{
	ck_assert_msg(m->ready == (strcmp(field, "ready") == 0), "'%s': ready=%d", in, m->ready);
	ck_assert_msg(m->watchdog == (strcmp(field, "watchdog") == 0), "'%s': watchdog=%d", in, m->watchdog);
	ck_assert_msg(m->stopping == (strcmp(field, "stopping") == 0), "'%s': stopping=%d", in, m->stopping);
	ck_assert_msg(m->has_status == (strcmp(field, "status") == 0), "'%s': has_status=%d", in, m->has_status);
	ck_assert_msg(m->has_errno == (strcmp(field, "errno") == 0), "'%s': has_errno=%d", in, m->has_errno);
	ck_assert_msg(m->has_mainpid == (strcmp(field, "mainpid") == 0), "'%s': has_mainpid=%d", in,
		      m->has_mainpid);
}

/* Valid UTF-8 without C0, DEL or C1 controls: safe to show and to put in JSON. */
static bool displayable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		unsigned c = *p, n, cp;
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return false;
		for (unsigned i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
			return false;
		p += n + 1;
	}
	return true;
}

START_TEST(parse_every_key)
{
	static const struct {
		const char *in, *field;
	} ok[] = {
		{"READY=1", "ready"},        {"WATCHDOG=1", "watchdog"},  {"STOPPING=1", "stopping"},
		{"STATUS=hello", "status"},  {"STATUS=", "status"},       {"ERRNO=0", "errno"},
		{"ERRNO=4095", "errno"},     {"ERRNO=007", "errno"},      {"MAINPID=1", "mainpid"},
		{"MAINPID=2147483647", "mainpid"},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct tether_notify_msg m;
		ck_assert_msg(parse(ok[i].in, &m) == 0, "refused '%s'", ok[i].in);
		assert_only(&m, ok[i].field, ok[i].in);
		ck_assert_uint_eq(m.unknown, 0);
		ck_assert_uint_eq(m.malformed, 0);
	}
	struct tether_notify_msg m;
	ck_assert_int_eq(parse("STATUS=hello world: 3/4 done", &m), 0);
	ck_assert_str_eq(m.status, "hello world: 3/4 done");
	ck_assert_int_eq(parse("STATUS=", &m), 0);
	ck_assert_str_eq(m.status, "");
	ck_assert_int_eq(parse("ERRNO=4095", &m), 0);
	ck_assert_int_eq(m.errno_value, 4095);
	ck_assert_int_eq(parse("ERRNO=007", &m), 0);
	ck_assert_int_eq(m.errno_value, 7);
	ck_assert_int_eq(parse("ERRNO=0", &m), 0);
	ck_assert_int_eq(m.errno_value, 0);
	ck_assert_int_eq(parse("MAINPID=2147483647", &m), 0);
	ck_assert_int_eq(m.mainpid, INT_MAX);
	ck_assert_int_eq(parse("MAINPID=1", &m), 0);
	ck_assert_int_eq(m.mainpid, 1);
}
END_TEST

START_TEST(parse_refuses_bad_values)
{
	static const char *bad[] = {
		"READY=0", "READY=", "READY=11", "READY=1 ", " READY=1", "READY=1\r", "READY=true",
		"WATCHDOG=0", "WATCHDOG=2", "WATCHDOG=", "STOPPING=0", "STOPPING=yes",
		"ERRNO=4096", "ERRNO=-1", "ERRNO=", "ERRNO=1a", "ERRNO= 1", "ERRNO=+1", "ERRNO=0x10",
		"ERRNO=99999999999999999999999999", "MAINPID=0", "MAINPID=-5", "MAINPID=2147483648",
		"MAINPID=4294967297", "MAINPID=", "MAINPID=0x10", "MAINPID=+3", "MAINPID=12 ",
		"MAINPID=18446744073709551617",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tether_notify_msg m;
		ck_assert_msg(parse(bad[i], &m) == -EINVAL, "accepted '%s'", bad[i]);
		assert_only(&m, "", bad[i]);
		ck_assert_msg(m.malformed == 1, "'%s': malformed=%u", bad[i], m.malformed);
		ck_assert_msg(m.unknown == 0, "'%s': unknown=%u", bad[i], m.unknown);
	}
}
END_TEST

START_TEST(parse_counts_unknown_and_malformed)
{
	/* Keys systemd knows but tether ignores, and keys nobody knows. */
	static const char *unknown[] = {
		"RELOADING=1", "BARRIER=1", "FDSTORE=1", "EXTEND_TIMEOUT_USEC=5000000",
		"WATCHDOG=trigger", "WATCHDOG_USEC=1000", "ready=1", "X=", "READY1=1",
	};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		struct tether_notify_msg m;
		ck_assert_msg(parse(unknown[i], &m) == -EINVAL, "understood '%s'", unknown[i]);
		assert_only(&m, "", unknown[i]);
		ck_assert_msg(m.unknown == 1, "'%s': unknown=%u", unknown[i], m.unknown);
		ck_assert_msg(m.malformed == 0, "'%s': malformed=%u", unknown[i], m.malformed);
	}
	static const char *malformed[] = {"READY", "=1", "=", "garbage", "READY 1", " ", "READY =1",
					  "RE-ADY=1", "STATUS\t=x", "\xc3\xa9=1"};
	for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
		struct tether_notify_msg m;
		ck_assert_msg(parse(malformed[i], &m) == -EINVAL, "understood '%s'", malformed[i]);
		assert_only(&m, "", malformed[i]);
		ck_assert_msg(m.malformed == 1, "'%s': malformed=%u", malformed[i], m.malformed);
		ck_assert_msg(m.unknown == 0, "'%s': unknown=%u", malformed[i], m.unknown);
	}
}
END_TEST

START_TEST(parse_multi_line)
{
	struct tether_notify_msg m;
	ck_assert_int_eq(parse("READY=1\nSTATUS=Processing\nMAINPID=42\nERRNO=2\nWATCHDOG=1\nSTOPPING=1\n"
			       "FOO=bar\nbad\nRELOADING=1\nREADY=0\n",
			       &m),
			 0);
	ck_assert(m.ready && m.watchdog && m.stopping && m.has_status && m.has_errno && m.has_mainpid);
	ck_assert_str_eq(m.status, "Processing");
	ck_assert_int_eq(m.mainpid, 42);
	ck_assert_int_eq(m.errno_value, 2);
	ck_assert_uint_eq(m.unknown, 2);
	ck_assert_uint_eq(m.malformed, 2);

	/* empty lines and the trailing newline are nothing */
	ck_assert_int_eq(parse("\n\nREADY=1\n\n\nSTATUS=x\n\n", &m), 0);
	ck_assert(m.ready && m.has_status);
	ck_assert_uint_eq(m.malformed, 0);
	ck_assert_uint_eq(m.unknown, 0);
	ck_assert_int_eq(parse("STATUS=no newline", &m), 0);
	ck_assert_str_eq(m.status, "no newline");

	/* later assignments win, as later datagrams would */
	ck_assert_int_eq(parse("STATUS=a\nSTATUS=b\nMAINPID=5\nMAINPID=6", &m), 0);
	ck_assert_str_eq(m.status, "b");
	ck_assert_int_eq(m.mainpid, 6);

	/* only ignorable lines: nothing understood, both counted */
	ck_assert_int_eq(parse("RELOADING=1\nbad\nFOO=1\n", &m), -EINVAL);
	assert_only(&m, "", "ignorable");
	ck_assert_uint_eq(m.unknown, 2);
	ck_assert_uint_eq(m.malformed, 1);

	/* a value may hold '=' */
	ck_assert_int_eq(parse("STATUS=a=b=c", &m), 0);
	ck_assert_str_eq(m.status, "a=b=c");
}
END_TEST

START_TEST(parse_status_truncates_at_utf8_boundary)
{
	char in[600], want[300];
	struct tether_notify_msg m;
	size_t max = TETHER_NOTIFY_STATUS_MAX - 1;

	/* plain ASCII: exactly max bytes kept */
	memset(want, 'a', max);
	want[max] = '\0';
	snprintf(in, sizeof in, "STATUS=%sbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", want);
	ck_assert_int_eq(parse(in, &m), 0);
	ck_assert_uint_eq(strlen(m.status), max);
	ck_assert_str_eq(m.status, want);

	/* a 2-byte character that would end one byte past the limit is dropped whole */
	memset(want, 'a', max - 1);
	want[max - 1] = '\0';
	snprintf(in, sizeof in, "STATUS=%s\xc3\xa9tail", want);
	ck_assert_int_eq(parse(in, &m), 0);
	ck_assert_str_eq(m.status, want);
	/* ...and kept when it fits exactly */
	want[max - 2] = '\0';
	snprintf(in, sizeof in, "STATUS=%s\xc3\xa9tail", want);
	ck_assert_int_eq(parse(in, &m), 0);
	ck_assert_uint_eq(strlen(m.status), max);
	ck_assert_str_eq(m.status + max - 2, "\xc3\xa9");

	/* 3- and 4-byte characters repeated past the limit: whole characters only */
	static const char *chars[] = {"\xc3\xa4", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	for (size_t c = 0; c < 3; c++) {
		size_t clen = strlen(chars[c]), pos = (size_t)snprintf(in, sizeof in, "STATUS=");
		while (pos + clen < sizeof in - 1) {
			memcpy(in + pos, chars[c], clen);
			pos += clen;
		}
		in[pos] = '\0';
		ck_assert_int_eq(parse(in, &m), 0);
		size_t got = strlen(m.status);
		ck_assert_uint_eq(got, max / clen * clen);
		ck_assert_msg(displayable(m.status), "char %zu: cut inside a character", c);
	}
}
END_TEST

START_TEST(parse_status_is_displayable)
{
	struct tether_notify_msg m;
	/* C0 controls (tab, CR, ESC, BEL), DEL and a C1 CSI become spaces */
	ck_assert_int_eq(parse("STATUS=a\tb\rc\x1b[31mred\x07!\x7f|\xc2\x9b" "2J|\xc2\xa0nbsp", &m), 0);
	ck_assert_str_eq(m.status, "a b c [31mred ! | 2J|\xc2\xa0nbsp");
	/* bytes that are not UTF-8 become U+FFFD, one per byte */
	ck_assert_int_eq(parse("STATUS=x\xffy\xc0\xafz\xed\xa0\x80w\xc3", &m), 0);
	ck_assert_str_eq(m.status, "x\xef\xbf\xbdy\xef\xbf\xbd\xef\xbf\xbdz"
				   "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdw\xef\xbf\xbd");
	ck_assert(displayable(m.status));
	/* a replacement that would not fit is not cut either */
	char in[400];
	int n = snprintf(in, sizeof in, "STATUS=");
	memset(in + n, 'a', 253);
	memcpy(in + n + 253, "\xff\xff", 3);
	ck_assert_int_eq(parse(in, &m), 0);
	ck_assert_uint_eq(strlen(m.status), 253);
}
END_TEST

START_TEST(parse_embedded_nul_and_empty)
{
	struct tether_notify_msg m;
	/* a C client sending sizeof instead of strlen: the line is not what it says */
	ck_assert_int_eq(parse_len("READY=1\0", 8, &m), -EINVAL);
	assert_only(&m, "", "READY=1\\0");
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_int_eq(parse_len("READY=1\nSTATUS=a\0b\nERRNO=3", 26, &m), 0);
	ck_assert(m.ready && !m.has_status && m.has_errno);
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_int_eq(parse_len("\0", 1, &m), -EINVAL);
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_int_eq(parse_len("STATUS=ab\0\0\0\0", 13, &m), -EINVAL);
	assert_only(&m, "", "STATUS with NULs");

	/* an empty datagram says nothing: rejected, counted */
	ck_assert_int_eq(parse_len("", 0, &m), -EINVAL);
	assert_only(&m, "", "empty");
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_uint_eq(m.unknown, 0);
	ck_assert_int_eq(parse("\n\n\n", &m), -EINVAL);
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_int_eq(parse_len(NULL, 5, &m), -EINVAL);
	ck_assert_int_eq(tether_notify_parse("READY=1", 7, NULL), -EINVAL);

	/* len is the bound, not a NUL: nothing past it is read */
	ck_assert_int_eq(parse_len("READY=1STATUS=x", 7, &m), 0);
	ck_assert(m.ready && !m.has_status);
}
END_TEST

/* Random datagrams built from protocol fragments and raw bytes: the parser
 * never crashes, never accepts a READY that is not "1", and the status is
 * always short, terminated and displayable. (The fuzzer goes further.) */
START_TEST(parse_random_input_is_safe)
{
	static const char *frag[] = {"READY=", "1", "0", "STATUS=", "MAINPID=", "ERRNO=", "WATCHDOG=",
				     "\n", "=", "\xc3", "\xa9", "\xe2\x82", "\xf0\x9f\x98\x80", "\x1b",
				     "\xff", "9999999999", "STOPPING=1", "trigger"};
	uint64_t seed = 0x5eed;
	char buf[TETHER_NOTIFY_MAX + 64];
	for (int iter = 0; iter < 20000; iter++) {
		size_t len = 0;
		seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t target = (size_t)(seed >> 33) % TETHER_NOTIFY_MAX;
		while (len < target) {
			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			unsigned pick = (unsigned)(seed >> 40);
			if (pick % 3 == 0) {
				buf[len++] = (char)(pick >> 8);
			} else {
				const char *f = frag[(pick >> 8) % (sizeof frag / sizeof frag[0])];
				size_t fl = strlen(f);
				if (len + fl > sizeof buf)
					break;
				memcpy(buf + len, f, fl);
				len += fl;
			}
		}
		struct tether_notify_msg m;
		int r = parse_len(buf, len, &m);
		ck_assert(r == 0 || r == -EINVAL);
		ck_assert_uint_lt(strnlen(m.status, sizeof m.status), sizeof m.status);
		if (m.has_status)
			ck_assert_msg(displayable(m.status), "iteration %d: status not displayable", iter);
		if (m.ready)
			ck_assert_ptr_nonnull(memmem(buf, len, "READY=1", 7));
		if (m.has_mainpid)
			ck_assert_int_gt(m.mainpid, 0);
		if (m.has_errno)
			ck_assert(m.errno_value >= 0 && m.errno_value <= 4095);
	}
}
END_TEST

/* ---- sockets ------------------------------------------------------------- */

static void open_socket(struct tether_notify_socket *s)
{
	int r = tether_notify_open(getpid(), 7, s);
	ck_assert_msg(r == 0, "tether_notify_open: %s", strerror(-r));
}

/* Waits up to timeout_ms for a datagram and receives it; -ETIMEDOUT if none. */
static int recv_one(struct tether_notify_socket *s, struct tether_notify_msg *m, pid_t *pid, unsigned *fds,
		    int timeout_ms)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	ck_assert_int_eq(r, 1);
	return tether_notify_recv(s, ours(), m, pid, fds);
}

static socklen_t addr_of(const char *name, struct sockaddr_un *sa)
{
	size_t n = strlen(name);
	ck_assert_uint_lt(n, sizeof sa->sun_path);
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		sa->sun_path[0] = '\0';
		return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	}
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
}

/* A raw client: any payload (binary, oversized) and any descriptors. Returns
 * 0 or -errno. */
static int send_raw(int sock, const char *name, const void *buf, size_t len, const int *fds, size_t nfds)
{
	struct sockaddr_un sa;
	socklen_t salen = addr_of(name, &sa);
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 253)];
	} control;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	struct msghdr mh = {.msg_name = &sa, .msg_namelen = salen, .msg_iov = &iov, .msg_iovlen = 1};
	if (nfds) {
		memset(&control, 0, sizeof control);
		mh.msg_control = control.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

static int client_socket(void)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(open_names_and_flags)
{
	struct tether_notify_socket a, b;
	ck_assert_int_eq(tether_notify_open(4242, 3, &a), 0);
	ck_assert_int_eq(tether_notify_open(4242, 3, &b), 0);
	/* "@tether/<owner>/<id>/<16 hex>", and the random part differs */
	const char *prefix = "@tether/4242/3/";
	ck_assert_msg(strncmp(a.env, prefix, strlen(prefix)) == 0, "env '%s'", a.env);
	const char *rnd = a.env + strlen(prefix);
	ck_assert_uint_eq(strlen(rnd), 16);
	ck_assert_uint_eq(strspn(rnd, "0123456789abcdef"), 16);
	ck_assert_str_ne(a.env, b.env);

	int fl = fcntl(a.fd, F_GETFL), fdfl = fcntl(a.fd, F_GETFD);
	ck_assert(fl & O_NONBLOCK);
	ck_assert(fdfl & FD_CLOEXEC);
	int v = 0, type = 0;
	socklen_t len = sizeof v;
	ck_assert_int_eq(getsockopt(a.fd, SOL_SOCKET, SO_PASSCRED, &v, &len), 0);
	ck_assert_int_eq(v, 1);
	len = sizeof type;
	ck_assert_int_eq(getsockopt(a.fd, SOL_SOCKET, SO_TYPE, &type, &len), 0);
	ck_assert_int_eq(type, SOCK_DGRAM);

	/* the name is really bound: a client reaches it */
	ck_assert_int_eq(tether_notify_send(NULL, a.env, "READY=1"), 0);

	struct tether_notify_socket bad;
	ck_assert_int_eq(tether_notify_open(0, 0, &bad), -EINVAL);
	ck_assert_int_eq(tether_notify_open(-1, 0, &bad), -EINVAL);

	tether_notify_done(&a);
	ck_assert_int_eq(a.fd, -1);
	ck_assert_str_eq(a.env, "");
	tether_notify_done(&a); /* twice is harmless */
	tether_notify_done(NULL);
	tether_notify_done(&b);
}
END_TEST

/* The upward sender keeps one socket: opened close-on-exec at the first
 * message, the same one for the next. */
START_TEST(send_keeps_its_socket)
{
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid = 0;
	unsigned fds = 0;
	open_socket(&s);
	int keep = -1;
	ck_assert_int_eq(tether_notify_send(&keep, s.env, "READY=1\nSTATUS=both"), 0);
	ck_assert_int_ge(keep, 0);
	ck_assert(fcntl(keep, F_GETFD) & FD_CLOEXEC);
	int first = keep;
	ck_assert_int_eq(tether_notify_send(&keep, s.env, "STOPPING=1"), 0);
	ck_assert_int_eq(keep, first);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert(m.ready && m.has_status);
	ck_assert_str_eq(m.status, "both");
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert(m.stopping && !m.ready);
	/* a bad name is refused before any socket is made */
	int none = -1;
	ck_assert_int_eq(tether_notify_send(&none, "relative", "READY=1"), -EINVAL);
	ck_assert_int_eq(none, -1);
	ck_assert_int_eq(close(keep), 0);
	tether_notify_done(&s);
}
END_TEST

START_TEST(round_trip_with_send)
{
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid = 0;
	unsigned fds = 99;
	open_socket(&s);
	ck_assert_int_eq(tether_notify_recv(&s, ours(), &m, &pid, &fds), 0); /* nothing pending */
	ck_assert_uint_eq(fds, 0);
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "READY=1"), 0);
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "STATUS=x"), 0);

	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert_int_eq(pid, getpid());
	ck_assert_uint_eq(fds, 0);
	ck_assert(m.ready && !m.has_status);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert_int_eq(pid, getpid());
	ck_assert(!m.ready && m.has_status);
	ck_assert_str_eq(m.status, "x");
	ck_assert_int_eq(tether_notify_recv(&s, ours(), &m, &pid, &fds), 0);

	/* an empty datagram is read, rejected and counted */
	ck_assert_int_eq(tether_notify_send(NULL, s.env, ""), 0);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 2);
	ck_assert_uint_eq(m.malformed, 1);
	/* unknown only: rejected, counted */
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "RELOADING=1\n"), 0);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 2);
	ck_assert_uint_eq(m.unknown, 1);
	ck_assert_int_eq(pid, getpid());

	/* NULL out-pointers are allowed */
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "WATCHDOG=1"), 0);
	struct pollfd p = {.fd = s.fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert_int_eq(tether_notify_recv(&s, ours(), &m, NULL, NULL), 1);
	ck_assert(m.watchdog);

	struct tether_notify_socket closed = {.fd = -1};
	ck_assert_int_eq(tether_notify_recv(&closed, ours(), &m, &pid, &fds), -EINVAL);
	tether_notify_done(&s);
}
END_TEST

START_TEST(send_names)
{
	ck_assert_int_eq(tether_notify_send(NULL, NULL, "READY=1"), -EINVAL);
	ck_assert_int_eq(tether_notify_send(NULL, "", "READY=1"), -EINVAL);
	ck_assert_int_eq(tether_notify_send(NULL, "relative/path", "READY=1"), -EINVAL);
	ck_assert_int_eq(tether_notify_send(NULL, "@", "READY=1"), -EINVAL);
	ck_assert_int_eq(tether_notify_send(NULL, "@x", NULL), -EINVAL);
	char longname[200];
	memset(longname, 'x', sizeof longname - 1);
	longname[0] = '/';
	longname[sizeof longname - 1] = '\0';
	ck_assert_int_eq(tether_notify_send(NULL, longname, "READY=1"), -ENAMETOOLONG);
	longname[0] = '@';
	ck_assert_int_eq(tether_notify_send(NULL, longname, "READY=1"), -ENAMETOOLONG);
	/* nobody listening: an error, not a SIGPIPE, not a hang */
	ck_assert_int_eq(tether_notify_send(NULL, "@tether-test/nobody/here", "READY=1"), -ECONNREFUSED);
	ck_assert_int_eq(tether_notify_send(NULL, tu_path("nobody.sock"), "READY=1"), -ENOENT);

	/* a filesystem path, as systemd hands out (/run/systemd/notify) */
	const char *path = tu_path("notify.sock");
	struct sockaddr_un sa;
	socklen_t salen = addr_of(path, &sa);
	struct tether_notify_socket s = {.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
	int one = 1;
	ck_assert_int_ge(s.fd, 0);
	ck_assert_int_eq(setsockopt(s.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one), 0);
	ck_assert_int_eq(bind(s.fd, (struct sockaddr *)&sa, salen), 0);
	ck_assert_int_eq(tether_notify_send(NULL, path, "READY=1\nSTATUS=via path"), 0);
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert_int_eq(pid, getpid());
	ck_assert(m.ready);
	ck_assert_str_eq(m.status, "via path");
	close(s.fd);
}
END_TEST

/* ---- the real clients ---------------------------------------------------- */

struct rec {
	int r;
	pid_t pid;
	unsigned fds;
	struct tether_notify_msg m;
};

struct client_run {
	pid_t pid;
	int status;     /* wait status, -1 unless it exited by itself */
	bool timed_out;
	int64_t elapsed_ms;
	size_t n;
	struct rec recs[16];
};

/* Receives everything pending; returns how many were accepted. */
static size_t drain(struct tether_notify_socket *s, struct client_run *run)
{
	size_t accepted = 0;
	for (;;) {
		struct rec rc;
		int r = tether_notify_recv(s, ours(), &rc.m, &rc.pid, &rc.fds);
		ck_assert_msg(r >= 0, "recv: %s", strerror(-r));
		if (r == 0)
			return accepted;
		rc.r = r;
		accepted += r == 1;
		if (run->n < sizeof run->recs / sizeof run->recs[0])
			run->recs[run->n++] = rc;
	}
}

/* Runs argv with NOTIFY_SOCKET = s->env and receives (closing passed fds as
 * tether does) while it runs: until it exits, or, when want_accepted > 0,
 * until that many datagrams were accepted (then it is killed). A client
 * still running after timeout_ms is killed and the run marked timed out. */
static void run_client(char *const argv[], struct tether_notify_socket *s, size_t want_accepted, int timeout_ms,
		       struct client_run *ret)
{
	memset(ret, 0, sizeof *ret);
	ret->status = -1;
	int64_t t0 = now_ms();
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(111);
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		setenv("NOTIFY_SOCKET", s->env, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	ret->pid = pid;
	int pfd = pidfd_open(pid, 0);
	ck_assert_int_ge(pfd, 0);
	size_t accepted = 0;
	bool exited = false;
	for (;;) {
		int64_t left = t0 + timeout_ms - now_ms();
		if (left <= 0) {
			ret->timed_out = true;
			break;
		}
		struct pollfd p[2] = {{.fd = s->fd, .events = POLLIN}, {.fd = pfd, .events = POLLIN}};
		int r = poll(p, 2, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		ck_assert_int_ge(r, 0);
		if (p[0].revents & POLLIN)
			accepted += drain(s, ret);
		if (want_accepted && accepted >= want_accepted)
			break;
		if (p[1].revents & POLLIN) {
			exited = true;
			break;
		}
	}
	ret->elapsed_ms = now_ms() - t0;
	int status;
	if (!exited)
		kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (exited)
		ret->status = status;
	close(pfd);
	drain(s, ret); /* sent just before it exited */
}

static void print_run(const char *what, const struct client_run *run)
{
	fprintf(stderr, "%s: pid %d status 0x%x%s %lld ms, %zu datagrams\n", what, (int)run->pid, run->status,
		run->timed_out ? " (timed out)" : "", (long long)run->elapsed_ms, run->n);
	for (size_t i = 0; i < run->n; i++) {
		const struct rec *rc = &run->recs[i];
		fprintf(stderr, "  [%zu] r=%d pid=%d fds=%u ready=%d status=%s%s%s mainpid=%d unknown=%u malformed=%u\n",
			i, rc->r, (int)rc->pid, rc->fds, rc->m.ready, rc->m.has_status ? "'" : "-",
			rc->m.has_status ? rc->m.status : "", rc->m.has_status ? "'" : "",
			rc->m.has_mainpid ? (int)rc->m.mainpid : 0, rc->m.unknown, rc->m.malformed);
	}
}

static void need_systemd_notify(void)
{
	ck_assert_msg(access(SYSTEMD_NOTIFY, X_OK) == 0, SYSTEMD_NOTIFY " is missing (apt-get install systemd)");
}

/* systemd-notify (v252) sends the text, then, unless --no-block, a
 * BARRIER=1 datagram carrying the write end of a pipe and waits (up to 5 s)
 * for every copy of it to be closed. It sends the text with its parent's pid
 * in the credentials when it may (CAP_SYS_ADMIN), its own pid otherwise; the
 * barrier always with its own. */
START_TEST(systemd_notify_ready_status)
{
	need_systemd_notify();
	struct tether_notify_socket s;
	struct client_run run;
	open_socket(&s);
	unsigned before = (unsigned)tether_proc_count_fds(getpid());
	char *argv[] = {SYSTEMD_NOTIFY, "--ready", "--status=hello", NULL};
	run_client(argv, &s, 0, 4000, &run);
	print_run("systemd-notify --ready --status=hello", &run);
	ck_assert(!run.timed_out);
	ck_assert_msg(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0, "status 0x%x", run.status);
	/* the barrier's 5 s wait ended because we closed the fd at once */
	ck_assert_int_lt(run.elapsed_ms, 3000);
	ck_assert_uint_eq(run.n, 2);

	const struct rec *text = &run.recs[0], *barrier = &run.recs[1];
	ck_assert_int_eq(text->r, 1);
	ck_assert_msg(text->pid == getpid() || text->pid == run.pid, "sender %d", (int)text->pid);
	ck_assert(text->m.ready && text->m.has_status);
	ck_assert_str_eq(text->m.status, "hello");
	ck_assert(!text->m.has_mainpid && !text->m.watchdog && !text->m.stopping);
	ck_assert_uint_eq(text->fds, 0);

	ck_assert_int_eq(barrier->r, 2); /* BARRIER=1 only: nothing for us */
	ck_assert_int_eq(barrier->pid, run.pid);
	ck_assert_uint_eq(barrier->fds, 1);
	ck_assert_uint_eq(barrier->m.unknown, 1);
	ck_assert_uint_eq(barrier->m.malformed, 0);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), (int)before);
	tether_notify_done(&s);
}
END_TEST

START_TEST(systemd_notify_barrier_returns_promptly)
{
	need_systemd_notify();
	struct tether_notify_socket s;
	struct client_run run;
	open_socket(&s);
	/* an explicit BARRIER=1 (sent as text, no fd) followed by the real one */
	char *argv[] = {SYSTEMD_NOTIFY, "BARRIER=1", NULL};
	run_client(argv, &s, 0, 4000, &run);
	print_run("systemd-notify BARRIER=1", &run);
	ck_assert(!run.timed_out);
	ck_assert_msg(WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0, "status 0x%x", run.status);
	ck_assert_int_lt(run.elapsed_ms, 3000);
	ck_assert_uint_eq(run.n, 2);
	unsigned fds = 0;
	for (size_t i = 0; i < run.n; i++) {
		ck_assert_int_eq(run.recs[i].r, 2);
		ck_assert_uint_eq(run.recs[i].m.unknown, 1);
		fds += run.recs[i].fds;
	}
	ck_assert_uint_eq(fds, 1);

	/* several in a row, each one waits for its own barrier */
	for (int i = 0; i < 3; i++) {
		char *again[] = {SYSTEMD_NOTIFY, "--status=again", NULL};
		run_client(again, &s, 0, 4000, &run);
		ck_assert_msg(!run.timed_out && WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0,
			      "run %d: status 0x%x", i, run.status);
		ck_assert_int_lt(run.elapsed_ms, 3000);
	}
	tether_notify_done(&s);
}
END_TEST

START_TEST(systemd_notify_mainpid)
{
	need_systemd_notify();
	struct tether_notify_socket s;
	struct client_run run;
	char pidarg[32];
	open_socket(&s);
	snprintf(pidarg, sizeof pidarg, "--pid=%d", (int)getpid());
	char *argv[] = {SYSTEMD_NOTIFY, "--no-block", pidarg, "--status=mp", NULL};
	run_client(argv, &s, 0, 4000, &run);
	print_run("systemd-notify --no-block --pid=OURS --status=mp", &run);
	ck_assert_msg(!run.timed_out && WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0, "status 0x%x",
		      run.status);
	ck_assert_uint_eq(run.n, 1); /* --no-block: no barrier */
	ck_assert_int_eq(run.recs[0].r, 1);
	ck_assert(run.recs[0].m.has_mainpid && run.recs[0].m.has_status && !run.recs[0].m.ready);
	ck_assert_int_eq(run.recs[0].m.mainpid, getpid());
	ck_assert_str_eq(run.recs[0].m.status, "mp");
	tether_notify_done(&s);
}
END_TEST

static bool sdnotify_path(char *buf, size_t len)
{
	const char *b = getenv("TETHER_BUILDDIR");
	if (b && *b) {
		snprintf(buf, len, "%s/fixtures/sdnotify", b);
	} else {
		snprintf(buf, len, "%s", TETHER_WORKER);
		char *slash = strrchr(buf, '/');
		if (!slash)
			return false;
		snprintf(slash + 1, len - (size_t)(slash + 1 - buf), "sdnotify");
	}
	return access(buf, X_OK) == 0;
}

/* libsystemd's sd_notify(0, ...), one datagram per argument, from its own
 * pid; the fixture then idles, so it is killed once both arrived. */
START_TEST(sdnotify_fixture)
{
	char path[PATH_MAX];
	if (!sdnotify_path(path, sizeof path)) {
		fprintf(stderr, "SKIP sdnotify_fixture: %s not built (no libsystemd?)\n", path);
		return;
	}
	struct tether_notify_socket s;
	struct client_run run;
	open_socket(&s);
	char *argv[] = {path, "READY=1", "STATUS=up", NULL};
	run_client(argv, &s, 2, 4000, &run);
	print_run("sdnotify READY=1 STATUS=up", &run);
	ck_assert(!run.timed_out);
	ck_assert_uint_eq(run.n, 2);
	ck_assert_int_eq(run.recs[0].r, 1);
	ck_assert_int_eq(run.recs[0].pid, run.pid);
	ck_assert(run.recs[0].m.ready && !run.recs[0].m.has_status);
	ck_assert_int_eq(run.recs[1].r, 1);
	ck_assert_int_eq(run.recs[1].pid, run.pid);
	ck_assert(!run.recs[1].m.ready && run.recs[1].m.has_status);
	ck_assert_str_eq(run.recs[1].m.status, "up");
	tether_notify_done(&s);
}
END_TEST

/* ---- fd hygiene and hostile input ---------------------------------------- */

struct burst {
	const char *name;
	const char *payload;
	int count;
	size_t nfds;
};

static int send_burst(void *arg)
{
	const struct burst *b = arg;
	int sock = client_socket();
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int fds[253];
	if (fd < 0 || b->nfds > 253)
		return 2;
	for (size_t i = 0; i < b->nfds; i++)
		fds[i] = fd;
	for (int i = 0; i < b->count; i++)
		if (send_raw(sock, b->name, b->payload, strlen(b->payload), fds, b->nfds) < 0)
			return 3;
	return 0;
}

START_TEST(passed_fds_never_pile_up)
{
	enum { N = 5000 };
	struct tether_notify_socket s;
	open_socket(&s);
	int before = tether_proc_count_fds(getpid());
	ck_assert_int_gt(before, 0);
	struct burst b = {.name = s.env, .payload = "WATCHDOG=1", .count = N, .nfds = 1};
	pid_t child = tu_fork(send_burst, &b);
	unsigned accepted = 0, closed = 0, got = 0;
	int64_t deadline = now_ms() + 20000;
	while (got < N && now_ms() < deadline) {
		struct tether_notify_msg m;
		pid_t pid;
		unsigned fds;
		int r = recv_one(&s, &m, &pid, &fds, 1000);
		if (r == -ETIMEDOUT || r == 0)
			continue;
		ck_assert_int_gt(r, 0);
		got++;
		accepted += r == 1 && m.watchdog && pid == child;
		closed += fds;
	}
	int status = tu_wait(child, 5000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender status 0x%x", status);
	ck_assert_uint_eq(got, N);
	ck_assert_uint_eq(accepted, N);
	ck_assert_uint_eq(closed, N);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before);
	tether_notify_done(&s);
}
END_TEST

/* More descriptors than recv makes room for: the kernel closes the rest
 * (MSG_CTRUNC), recv closes what arrived, the text still counts. */
START_TEST(many_fds_in_one_datagram)
{
	struct tether_notify_socket s;
	open_socket(&s);
	int before = tether_proc_count_fds(getpid());
	int sock = client_socket();
	int fds[253];
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	for (size_t i = 0; i < 253; i++)
		fds[i] = devnull;
	ck_assert_int_eq(send_raw(sock, s.env, "READY=1", 7, fds, 253), 0);
	ck_assert_int_eq(send_raw(sock, s.env, "STATUS=two", 10, fds, 2), 0);
	struct tether_notify_msg m;
	pid_t pid;
	unsigned closed;
	ck_assert_int_eq(recv_one(&s, &m, &pid, &closed, 2000), 1);
	ck_assert(m.ready);
	ck_assert_int_eq(pid, getpid());
	ck_assert_uint_ge(closed, 1);
	ck_assert_uint_le(closed, 253);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &closed, 2000), 1);
	ck_assert_str_eq(m.status, "two");
	ck_assert_uint_eq(closed, 2);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before + 2);
	close(sock);
	close(devnull);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before);
	tether_notify_done(&s);
}
END_TEST

START_TEST(oversized_datagram_rejected)
{
	struct tether_notify_socket s;
	open_socket(&s);
	int sock = client_socket();
	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int before = tether_proc_count_fds(getpid());
	static char big[TETHER_NOTIFY_MAX + 100];
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;

	/* one byte too many, even with a valid head: rejected, counted, its fd closed */
	memcpy(big, "READY=1\nSTATUS=", 15);
	memset(big + 15, 'a', sizeof big - 15);
	ck_assert_int_eq(send_raw(sock, s.env, big, TETHER_NOTIFY_MAX + 1, &devnull, 1), 0);
	ck_assert_int_eq(send_raw(sock, s.env, "READY=1", 7, NULL, 0), 0);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 2);
	ck_assert(!m.ready && !m.has_status);
	ck_assert_uint_eq(m.malformed, 1);
	ck_assert_uint_eq(fds, 1);
	/* the next one is read whole */
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert(m.ready && !m.has_status);
	ck_assert_uint_eq(m.malformed, 0);

	/* exactly TETHER_NOTIFY_MAX is not oversized */
	ck_assert_int_eq(send_raw(sock, s.env, big, TETHER_NOTIFY_MAX, NULL, 0), 0);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 1);
	ck_assert(m.ready && m.has_status);
	ck_assert_uint_eq(strlen(m.status), TETHER_NOTIFY_STATUS_MAX - 1);

	/* far larger (64 KiB) */
	char *huge = malloc(65536);
	memset(huge, 'R', 65536);
	ck_assert_int_eq(send_raw(sock, s.env, huge, 65536, NULL, 0), 0);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), 2);
	ck_assert_uint_eq(m.malformed, 1);
	free(huge);
	ck_assert_int_eq(tether_notify_recv(&s, ours(), &m, &pid, &fds), 0);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before);
	close(sock);
	close(devnull);
	tether_notify_done(&s);
}
END_TEST

/* ---- who may send: the tree, not the uid -------------------------------- */

/* A sender that stays alive (a zombie at worst) until released, as
 * systemd-notify does while it waits for its barrier: tether judges a
 * datagram by the process that sent it, which must still be there. */
struct sender_plan {
	const char *socket;    /* NOTIFY_SOCKET */
	const char *text;      /* sent once per count */
	int count;
	bool as_nobody;        /* drop to 65534 first */
	bool pass_fd;          /* each datagram also passes /dev/null */
	bool nested;           /* pidns: send from a namespace nested in the guardian's */
	int release;           /* read end: wait for EOF before exiting */
	int release_w;         /* write end: closed in the child */
};

/* Closes every descriptor but stdio and fd: a release pipe's write end held
 * by any other process (a sibling forked meanwhile) would hold its sender. */
static void keep_only(int fd)
{
	if (fd > 3)
		close_range(3, (unsigned)fd - 1, 0);
	close_range((unsigned)fd + 1, ~0U, 0);
}

static int run_sender(void *arg)
{
	struct sender_plan *p = arg;
	keep_only(p->release);
	if (p->as_nobody && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
		return 2;
	int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (sock < 0 || fd < 0)
		return 3;
	for (int i = 0; i < p->count; i++)
		if (send_raw(sock, p->socket, p->text, strlen(p->text), &fd, p->pass_fd ? 1 : 0) < 0)
			return 4;
	char c;
	while (read(p->release, &c, 1) < 0 && errno == EINTR)
		;
	return 0;
}

/* The same one level down: a "guardian" that forks the sender and reaps it. */
static int run_guardian(void *arg)
{
	struct sender_plan *p = arg;
	keep_only(p->release);
	pid_t child = tu_fork(run_sender, arg);
	int status = tu_wait(child, 10000);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 5;
}

static pid_t start_sender(struct sender_plan *p, int (*fn)(void *))
{
	int rel[2];
	ck_assert_int_eq(pipe2(rel, O_CLOEXEC), 0);
	p->release = rel[0];
	p->release_w = rel[1];
	pid_t pid = tu_fork(fn, p);
	close(rel[0]);
	return pid;
}

static void release_sender(struct sender_plan *p, pid_t pid)
{
	close(p->release_w);
	int status = tu_wait(pid, 5000);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "sender status 0x%x", status);
}

START_TEST(another_uid_in_the_tree_is_accepted)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP another_uid_in_the_tree_is_accepted: needs root to send from another uid\n");
		return;
	}
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;
	open_socket(&s);
	int before = tether_proc_count_fds(getpid());
	struct sender_plan plan = {.socket = s.env, .text = "READY=1\nSTATUS=from nobody", .count = 2, .as_nobody = true,
				   .pass_fd = true};
	pid_t child = start_sender(&plan, run_sender);
	/* a --user worker (or one that setuid()s itself) keeps its readiness */
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), TETHER_NOTIFY_ACCEPTED);
	ck_assert_int_eq(pid, child);
	ck_assert(m.ready);
	ck_assert_str_eq(m.status, "from nobody");
	ck_assert_uint_eq(fds, 1);
	ck_assert_int_eq(recv_one(&s, &m, &pid, &fds, 2000), TETHER_NOTIFY_ACCEPTED);
	release_sender(&plan, child);
	/* neither the passed fds nor the senders' pidfds stay with us */
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before);
	tether_notify_done(&s);
}
END_TEST

START_TEST(outside_the_tree_is_refused_whatever_its_uid)
{
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;
	open_socket(&s);
	int before = tether_proc_count_fds(getpid());
	/* the tree of G: G and its child D, which sends (as we are: root) */
	/* (first: a sleeper forked later would hold the sender's release pipe) */
	pid_t other = tu_start_sleeper();
	struct sender_plan plan = {.socket = s.env, .text = "READY=1\nSTATUS=from D", .count = 2, .pass_fd = true};
	pid_t g = start_sender(&plan, run_guardian);
	struct tether_notify_tree of_g = {.guardian = g}, of_other = {.guardian = other};
	struct pollfd p = {.fd = s.fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert_int_eq(tether_notify_recv(&s, &of_g, &m, &pid, &fds), TETHER_NOTIFY_ACCEPTED);
	ck_assert(m.ready);
	ck_assert_int_ne(pid, g); /* its child sent it */
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	/* the same sender judged against another tree: refused, nothing read
	 * from it, its descriptor closed all the same */
	ck_assert_int_eq(tether_notify_recv(&s, &of_other, &m, &pid, &fds), TETHER_NOTIFY_REFUSED);
	ck_assert(!m.ready && !m.has_status);
	ck_assert_uint_eq(fds, 1);
	/* and we ourselves (root, the lab's position) are outside G's tree */
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "STATUS=from outside"), 0);
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert_int_eq(tether_notify_recv(&s, &of_g, &m, &pid, &fds), TETHER_NOTIFY_REFUSED);
	ck_assert_int_eq(pid, getpid());
	ck_assert(!m.has_status);
	/* no guardian: nobody */
	ck_assert_int_eq(tether_notify_send(NULL, s.env, "READY=1"), 0);
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	ck_assert_int_eq(tether_notify_recv(&s, &(struct tether_notify_tree){0}, &m, &pid, &fds),
			 TETHER_NOTIFY_REFUSED);
	release_sender(&plan, g);
	kill(other, SIGKILL);
	waitpid(other, NULL, 0);
	ck_assert_int_eq(tether_proc_count_fds(getpid()), before);
	tether_notify_done(&s);
}
END_TEST

START_TEST(a_sender_already_reaped_is_refused)
{
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;
	open_socket(&s);
	struct sender_plan plan = {.socket = s.env, .text = "READY=1", .count = 1};
	pid_t child = start_sender(&plan, run_sender);
	struct pollfd p = {.fd = s.fd, .events = POLLIN};
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	/* it exits and is reaped before we read: its pid may be anyone's now */
	release_sender(&plan, child);
	ck_assert_int_eq(tether_notify_recv(&s, ours(), &m, &pid, &fds), TETHER_NOTIFY_REFUSED);
	ck_assert_int_eq(pid, child);
	ck_assert(!m.ready);
	tether_notify_done(&s);
}
END_TEST

/* The pidfd decides over the number: a live process of the tree, named with
 * the pidfd of a process that has gone (its number reused, as far as we can
 * tell), is refused; without a pidfd (an older kernel) the number decides. */
START_TEST(the_pidfd_decides_over_a_reused_number)
{
	pid_t in_tree = tu_start_sleeper();
	pid_t gone = tu_start_sleeper();
	int gone_fd = pidfd_open(gone, 0), live_fd = pidfd_open(in_tree, 0);
	ck_assert_int_ge(gone_fd, 0);
	ck_assert_int_ge(live_fd, 0);
	kill(gone, SIGKILL);
	ck_assert_int_eq(waitpid(gone, NULL, 0), gone);
	ck_assert_int_eq(tether_notify_in_tree(ours(), in_tree, -1), 1);
	ck_assert_int_eq(tether_notify_in_tree(ours(), in_tree, live_fd), 1);
	ck_assert_int_eq(tether_notify_in_tree(ours(), in_tree, gone_fd), 0);
	/* outside stays outside whatever the pidfd */
	struct tether_notify_tree other = {.guardian = in_tree};
	ck_assert_int_eq(tether_notify_in_tree(&other, getpid(), -1), 0);
	ck_assert_int_eq(tether_notify_in_tree(&other, in_tree, live_fd), 1);
	ck_assert_int_eq(tether_notify_in_tree(ours(), 0, -1), 0);
	ck_assert_int_eq(tether_notify_in_tree(ours(), -1, -1), 0);
	close(gone_fd);
	close(live_fd);
	kill(in_tree, SIGKILL);
	waitpid(in_tree, NULL, 0);
}
END_TEST

/* pidns mode: the guardian is init of its own namespace; its processes are
 * in (also those of a namespace nested in it); another namespace's are not. */
static int pidns_guardian(void *arg)
{
	struct sender_plan *p = arg;
	if (!p->nested)
		return run_guardian(p);
	keep_only(p->release);
	/* a namespace nested in the guardian's: the sender is its init */
	pid_t nested = sys_clone(CLONE_NEWPID, NULL);
	if (nested == 0)
		_exit(run_sender(p));
	if (nested < 0)
		return 6;
	int status;
	while (waitpid(nested, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 7;
}

static pid_t start_in_pidns(struct sender_plan *p)
{
	int rel[2];
	ck_assert_int_eq(pipe2(rel, O_CLOEXEC), 0);
	p->release = rel[0];
	p->release_w = rel[1];
	pid_t pid = sys_clone(CLONE_NEWPID, NULL);
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(pidns_guardian(p));
	}
	close(rel[0]);
	return pid;
}

START_TEST(pidns_mode_admits_its_namespace_only)
{
	if (geteuid() != 0) {
		fprintf(stderr, "SKIP pidns_mode_admits_its_namespace_only: needs root for PID namespaces\n");
		return;
	}
	struct tether_notify_socket s;
	struct tether_notify_msg m;
	pid_t pid;
	unsigned fds;
	open_socket(&s);
	/* a: a child of the guardian of namespace A; b: init of a namespace
	 * nested in B's. Each sends twice: judged by its own tree, then by the
	 * other one. */
	struct sender_plan a = {.socket = s.env, .text = "STATUS=a", .count = 2};
	struct sender_plan b = {.socket = s.env, .text = "STATUS=b", .count = 2, .nested = true};
	pid_t ga = start_in_pidns(&a), gb = start_in_pidns(&b);
	struct tether_notify_tree of_a = {.guardian = ga, .pidns = true}, of_b = {.guardian = gb, .pidns = true};
	int seen_a = 0, seen_b = 0;
	struct pollfd p = {.fd = s.fd, .events = POLLIN};
	for (int k = 0; k < 4; k++) {
		ck_assert_int_eq(poll(&p, 1, 2000), 1);
		char c[16];
		ssize_t n = recv(s.fd, c, sizeof c - 1, MSG_PEEK);
		ck_assert_int_gt(n, 0);
		c[n] = '\0';
		bool from_a = strcmp(c, "STATUS=a") == 0;
		int *seen = from_a ? &seen_a : &seen_b;
		struct tether_notify_tree *own = from_a ? &of_a : &of_b, *other = from_a ? &of_b : &of_a;
		int want = *seen == 0 ? TETHER_NOTIFY_ACCEPTED : TETHER_NOTIFY_REFUSED;
		int r = tether_notify_recv(&s, *seen == 0 ? own : other, &m, &pid, &fds);
		ck_assert_msg(r == want, "%s, %s judge: verdict %d, want %d", c, *seen == 0 ? "own" : "other", r, want);
		if (r == TETHER_NOTIFY_ACCEPTED)
			ck_assert_str_eq(m.status, from_a ? "a" : "b");
		++*seen;
	}
	ck_assert_int_eq(seen_a, 2);
	ck_assert_int_eq(seen_b, 2);
	release_sender(&a, ga);
	release_sender(&b, gb);
	tether_notify_done(&s);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("notify");
	TCase *tp = tcase_create("parse");
	tcase_add_checked_fixture(tp, tu_setup, tu_teardown);
	tcase_add_test(tp, parse_every_key);
	tcase_add_test(tp, parse_refuses_bad_values);
	tcase_add_test(tp, parse_counts_unknown_and_malformed);
	tcase_add_test(tp, parse_multi_line);
	tcase_add_test(tp, parse_status_truncates_at_utf8_boundary);
	tcase_add_test(tp, parse_status_is_displayable);
	tcase_add_test(tp, parse_embedded_nul_and_empty);
	tcase_add_test(tp, parse_random_input_is_safe);
	tcase_set_timeout(tp, 20);
	suite_add_tcase(s, tp);

	TCase *ts = tcase_create("socket");
	tcase_add_checked_fixture(ts, tu_setup, tu_teardown);
	tcase_add_test(ts, open_names_and_flags);
	tcase_add_test(ts, send_keeps_its_socket);
	tcase_add_test(ts, round_trip_with_send);
	tcase_add_test(ts, send_names);
	tcase_add_test(ts, systemd_notify_ready_status);
	tcase_add_test(ts, systemd_notify_barrier_returns_promptly);
	tcase_add_test(ts, systemd_notify_mainpid);
	tcase_add_test(ts, sdnotify_fixture);
	tcase_add_test(ts, passed_fds_never_pile_up);
	tcase_add_test(ts, many_fds_in_one_datagram);
	tcase_add_test(ts, oversized_datagram_rejected);
	tcase_add_test(ts, another_uid_in_the_tree_is_accepted);
	tcase_add_test(ts, outside_the_tree_is_refused_whatever_its_uid);
	tcase_add_test(ts, a_sender_already_reaped_is_refused);
	tcase_add_test(ts, the_pidfd_decides_over_a_reused_number);
	tcase_add_test(ts, pidns_mode_admits_its_namespace_only);
	tcase_set_timeout(ts, 40);
	suite_add_tcase(s, ts);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
