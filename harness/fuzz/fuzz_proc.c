/* SPDX-License-Identifier: MIT */
/* fuzz_proc.c — libFuzzer target for the /proc text parsers (src/proc.h):
 * tether_proc_parse_stat (the whole input as /proc/PID/stat) and
 * tether_proc_parse_lock_line (every line of the input as a /proc/locks
 * line).
 *
 * parse_stat is compared with a reference written here (memrchr for the last
 * ')', strtoull for the numbers): both accept the same texts and agree on
 * pid, comm (truncated to 63 bytes), state, ppid, pgid, sid, start_time
 * (field 22) and rss (field 24, negative read as 0). The identity fields
 * (pid, ppid, pgid, sid) must be representable as a pid_t: a larger number
 * is a malformed line, never a wrapped-around guess.
 *
 * parse_lock_line is compared with a reference of the kernel's line format
 * (fs/locks.c) on the (dev, ino) the line names and on its neighbours: -EINVAL
 * for a malformed line (an overlong word, trailing garbage), 0 for a waiter,
 * another kind of lock or another inode or device, 1 and the pid for a FLOCK
 * held by 0 <= pid <= INT32_MAX (0: a holder in an invisible PID namespace).
 *
 * Every line is also a /proc/net/unix line for tether_ctlname_parse_unix_line
 * (src/ctlname.h): -EINVAL, 0 or 1, and on 1 a name that starts with the
 * prefix, without its '@', that fits; and a control socket name for
 * tether_ctlname_parse: what it accepts is exactly what its fields print
 * back (one spelling per name: no leading zeros, lower-case hex).
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "ctlname.h"
#include "proc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "fuzz_proc: property violated: %s (line %d)\n", \
				#cond, __LINE__);                                     \
			abort();                                                      \
		}                                                                     \
	} while (0)

/* One decimal field at *p: [-]DIGITS fitting int64. */
static bool ref_field(const char **p, const char *end, int64_t *ret)
{
	char tmp[32];
	const char *s = *p;
	bool neg = s < end && *s == '-';
	if (neg)
		s++;
	size_t n = 0;
	while (s + n < end && isdigit((unsigned char)s[n]))
		n++;
	if (n == 0)
		return false;
	while (n > 1 && *s == '0') { /* leading zeros do not change the value */
		s++;
		n--;
	}
	if (n >= sizeof tmp)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	errno = 0;
	unsigned long long v = strtoull(tmp, NULL, 10);
	if (errno || v > INT64_MAX)
		return false;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	*p = s + n;
	return true;
}

static bool ref_stat(const char *buf, size_t len, struct tether_procstat *ret)
{
	const char *end = buf + len, *p = buf;
	int64_t v, f[25];
	struct tether_procstat st = {0};
	if (len == 0 || !isdigit((unsigned char)*p) || !ref_field(&p, end, &v) || v < 1 || v > INT_MAX)
		return false;
	st.pid = (pid_t)v;
	if (end - p < 2 || p[0] != ' ' || p[1] != '(')
		return false;
	const char *comm = p + 2;
	const char *rp = memrchr(comm, ')', (size_t)(end - comm));
	if (!rp)
		return false;
	size_t clen = (size_t)(rp - comm);
	memcpy(st.comm, comm, clen < sizeof st.comm ? clen : sizeof st.comm - 1);
	p = rp + 1;
	if (end - p < 3 || p[0] != ' ' || !isalpha((unsigned char)p[1]) || p[2] != ' ')
		return false;
	st.state = p[1];
	p += 3;
	for (int i = 4; i <= 24; i++) {
		if (!ref_field(&p, end, &f[i]))
			return false;
		if (i < 24 && (p >= end || *p++ != ' '))
			return false;
	}
	if (p < end && *p != ' ' && *p != '\n') /* field 24 is a whole number */
		return false;
	for (int i = 4; i <= 6; i++)
		if (f[i] < 0 || f[i] > INT_MAX)
			return false;
	if (f[22] < 0)
		return false;
	st.ppid = (pid_t)f[4];
	st.pgid = (pid_t)f[5];
	st.sid = (pid_t)f[6];
	st.start_time = (uint64_t)f[22];
	st.rss_pages = f[24] < 0 ? 0 : (uint64_t)f[24];
	*ret = st;
	return true;
}

static void check_stat(const char *buf, size_t len)
{
	struct tether_procstat got, want;
	memset(&got, 0x5a, sizeof got);
	int r = tether_proc_parse_stat(buf, len, &got);
	bool ok = ref_stat(buf, len, &want);
	CHECK(r == 0 || r == -EINVAL);
	if (ok != (r == 0))
		fprintf(stderr, "fuzz_proc: parse_stat says %d, reference says %s\n", r, ok ? "ok" : "bad");
	CHECK(ok == (r == 0));
	if (r != 0)
		return;
	CHECK(got.pid == want.pid);
	CHECK(memchr(got.comm, '\0', sizeof got.comm) != NULL);
	CHECK(memcmp(got.comm, want.comm, strlen(want.comm) + 1) == 0);
	CHECK(got.state == want.state);
	CHECK(got.ppid == want.ppid && got.pgid == want.pgid && got.sid == want.sid);
	CHECK(got.start_time == want.start_time);
	CHECK(got.rss_pages == want.rss_pages);
}

/* A /proc/locks line as fs/locks.c prints it:
 *   ID ":" *SP ( "->" ... | WORD 1*SP WORD 1*SP WORD 1*SP PID SP MAJ ":" MIN ":" INO [SP ...] )
 * WORD: 1-15 non-space bytes; PID: [-]DIGITS fitting int64; MAJ, MIN: hex
 * fitting 32 bits; ID, INO: DIGITS fitting 64 bits. */
struct lock_ref {
	bool waiter;
	char kind[16];
	int64_t pid;
	uint64_t maj, min, ino;
};

static bool ref_u64(const char **p, int base, uint64_t max, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	for (;; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (max - d) / (uint64_t)base)
			return false;
		v = v * (uint64_t)base + d;
	}
	if (s == *p)
		return false;
	*p = s;
	*ret = v;
	return true;
}

static bool ref_lock_line(const char *p, struct lock_ref *ret)
{
	struct lock_ref l = {0};
	uint64_t u;
	if (!ref_u64(&p, 10, UINT64_MAX, &u) || *p++ != ':')
		return false;
	p += strspn(p, " ");
	if (p[0] == '-' && p[1] == '>') {
		ret->waiter = true;
		return true;
	}
	for (int w = 0; w < 3; w++) {
		size_t n = strcspn(p, " ");
		if (n == 0 || n >= sizeof l.kind)
			return false;
		if (w == 0)
			memcpy(l.kind, p, n);
		p += n;
		p += strspn(p, " ");
	}
	bool neg = *p == '-';
	p += neg;
	if (!ref_u64(&p, 10, INT64_MAX, &u) || *p++ != ' ')
		return false;
	l.pid = neg ? -(int64_t)u : (int64_t)u;
	if (!ref_u64(&p, 16, UINT32_MAX, &l.maj) || *p++ != ':' ||
	    !ref_u64(&p, 16, UINT32_MAX, &l.min) || *p++ != ':' ||
	    !ref_u64(&p, 10, UINT64_MAX, &l.ino) || (*p != ' ' && *p != '\0'))
		return false;
	*ret = l;
	return true;
}

/* What parse_lock_line must answer for (maj, min, ino). */
static int expected(bool ok, const struct lock_ref *l, uint64_t maj, uint64_t min, uint64_t ino)
{
	if (!ok)
		return -EINVAL;
	if (l->waiter || strcmp(l->kind, "FLOCK") != 0)
		return 0;
	if (maj != l->maj || min != l->min || ino != l->ino)
		return 0;
	/* pid 0: a holder in a PID namespace we cannot see, still a holder */
	return l->pid >= 0 && l->pid <= INT32_MAX ? 1 : -EINVAL;
}

static void check_lock_line(const char *line)
{
	struct lock_ref l = {0};
	bool ok = ref_lock_line(line, &l);
	/* The line's own (dev, ino), then its neighbours, which never match. */
	const uint64_t probes[4][3] = {
		{l.maj, l.min, l.ino}, {l.maj, l.min, l.ino + 1},
		{(l.maj + 1) & UINT32_MAX, l.min, l.ino}, {l.maj, (l.min + 1) & UINT32_MAX, l.ino},
	};
	for (int i = 0; i < 4; i++) {
		const uint64_t *q = probes[i];
		pid_t pid = -7;
		int r = tether_proc_parse_lock_line(line, makedev((unsigned)q[0], (unsigned)q[1]),
						    (ino_t)q[2], &pid);
		int want = expected(ok, &l, q[0], q[1], q[2]);
		if (r != want)
			fprintf(stderr, "fuzz_proc: parse_lock_line says %d, reference says %d\n", r, want);
		CHECK(r == want);
		CHECK(r == 1 ? pid == (pid_t)l.pid : pid == -7);
	}
}

static void check_ctlname(const char *line)
{
	static const char prefix[] = "tether-ctl/0123456789abcdef/";
	char name[TETHER_CTLNAME_MAX + 1];
	int r = tether_ctlname_parse_unix_line(line, prefix, name, sizeof name);
	CHECK(r == -EINVAL || r == 0 || r == 1);
	if (r == 1) {
		CHECK(strncmp(name, prefix, sizeof prefix - 1) == 0);
		CHECK(strlen(name) <= TETHER_CTLNAME_MAX);
		const char *at = strchr(line, '@');
		CHECK(at && strstr(at + 1, name) == at + 1);
	}
	char key[TETHER_CTLNAME_KEY_LEN + 1];
	pid_t pid;
	uint64_t start;
	if (tether_ctlname_parse(line, key, &pid, &start) == 0) {
		char back[256];
		const char *rnd = strrchr(line, '/');
		CHECK(rnd && strlen(rnd + 1) == 32);
		snprintf(back, sizeof back, "tether-ctl/%s/%d/%llu/%s", key, (int)pid, (unsigned long long)start, rnd + 1);
		CHECK(strcmp(back, line) == 0);
		CHECK(pid > 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	check_stat((const char *)data, size); /* unterminated: ASan sees any over-read */
	for (char *line = buf, *nl; line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		check_lock_line(line);
		check_ctlname(line);
	}
	free(buf);
	return 0;
}
