/* SPDX-License-Identifier: MIT */
/* proclock.c — see proclock.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc.h"
#include "sys.h"

static int parse_hex(const char **p, unsigned *ret)
{
	unsigned v = 0;
	const char *s = *p;
	if (!isxdigit((unsigned char)*s))
		return -EINVAL;
	for (; isxdigit((unsigned char)*s); s++) {
		unsigned d = isdigit((unsigned char)*s) ? (unsigned)(*s - '0')
						  : (unsigned)(tolower((unsigned char)*s) - 'a' + 10);
		if (v > 0x0fffffffu)
			return -EINVAL;
		v = v * 16 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

/* Copies the space-delimited word at *p into buf and skips the spaces after
 * it. A word that does not fit is -EINVAL: sscanf's "%15s" would split it
 * and read its tail as the next field (fuzz_proc). */
static int parse_word(const char **p, char *buf, size_t cap)
{
	size_t n = strcspn(*p, " ");
	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	for (*p += n; **p == ' '; (*p)++)
		;
	return 0;
}

int tether_proc_parse_lock_line(const char *line, dev_t dev, ino_t ino, pid_t *ret_pid)
{
	/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"
	 * "1: -> FLOCK  ADVISORY  WRITE 1235 fd:01:5678 0 EOF" (a waiter) */
	const char *p = line;
	const char *end = line + strlen(line);
	uint64_t u;
	if (tether_proc_parse_u64(&p, end, &u) < 0 || *p != ':')
		return -EINVAL;
	p++;
	while (*p == ' ')
		p++;
	if (strncmp(p, "->", 2) == 0)
		return 0; /* blocked waiter, not a holder */
	char kind[16], mode[16], rw[16];
	if (parse_word(&p, kind, sizeof kind) < 0 || parse_word(&p, mode, sizeof mode) < 0 ||
	    parse_word(&p, rw, sizeof rw) < 0)
		return -EINVAL;
	int64_t pid;
	if (tether_proc_parse_i64(&p, end, &pid) < 0 || *p != ' ')
		return -EINVAL;
	p++;
	unsigned maj, min;
	if (parse_hex(&p, &maj) < 0 || *p != ':')
		return -EINVAL;
	p++;
	if (parse_hex(&p, &min) < 0 || *p != ':')
		return -EINVAL;
	p++;
	if (tether_proc_parse_u64(&p, end, &u) < 0 || (*p != ' ' && *p != '\0'))
		return -EINVAL; /* "5678x" is not inode 5678 */
	if (strcmp(kind, "FLOCK") != 0)
		return 0;
	if (maj != major(dev) || min != minor(dev) || u != (uint64_t)ino)
		return 0;
	/* pid 0: the holder lives in a PID namespace we cannot see into. It
	 * still holds the lock: "held by someone unknown", never "free". */
	if (pid < 0 || pid > INT32_MAX)
		return -EINVAL;
	*ret_pid = (pid_t)pid;
	return 1;
}

/* One pass over /proc/locks; *ret_hash fingerprints what it read. */
static int scan_locks(dev_t dev, ino_t ino, pid_t *ret_pid, uint64_t *ret_hash)
{
	int fd = sys_open("/proc/locks", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char buf[8192];
	size_t have = 0;
	uint64_t hash = UINT64_C(14695981039346656037); /* FNV-1a */
	int r = 0;
	for (;;) {
		ssize_t n = sys_read(fd, buf + have, sizeof buf - 1 - have);
		if (n < 0) {
			r = (int)n;
			break;
		}
		for (ssize_t i = 0; i < n; i++)
			hash = (hash ^ (unsigned char)buf[have + (size_t)i]) * UINT64_C(1099511628211);
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			int m = tether_proc_parse_lock_line(line, dev, ino, ret_pid);
			if (m == 1) {
				r = 1;
				goto out;
			}
			line = nl + 1;
		}
		size_t rest = have - (size_t)(line - buf);
		memmove(buf, line, rest);
		have = rest;
		if (n == 0)
			break;
		if (have == sizeof buf - 1)
			have = 0; /* an absurd line: skip it */
	}
out:
	sys_close(fd);
	*ret_hash = hash;
	return r;
}

int tether_proc_lock_holder(dev_t dev, ino_t ino, pid_t *ret_pid)
{
	/* /proc/locks comes a page per read, and the list can change between
	 * pages: a lock released or taken before ours shifts the rest, and our
	 * line can fall between two pages. "Not held" is therefore believed
	 * only when two passes in a row read exactly the same text. */
	uint64_t prev = 0;
	for (int pass = 0; pass < 10; pass++) {
		uint64_t hash;
		int r = scan_locks(dev, ino, ret_pid, &hash);
		if (r != 0 || (pass > 0 && hash == prev))
			return r;
		prev = hash;
	}
	return 0;
}

struct holds_ctx {
	pid_t pid;
	dev_t dev;
	ino_t ino;
	int found;
};

static int fdinfo_has_lock(pid_t fd, void *ud)
{
	struct holds_ctx *c = ud;
	char path[64], buf[4096];
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)c->pid, (int)fd);
	if (tether_proc_read_file(path, buf, sizeof buf, &len) < 0)
		return 0; /* closed meanwhile, or too many locks to be ours */
	for (char *line = strstr(buf, "lock:\t"); line; line = strstr(line + 1, "\nlock:\t")) {
		if (*line == '\n')
			line++;
		char *end = strchr(line, '\n');
		if (end)
			*end = '\0';
		pid_t holder = 0;
		int r = tether_proc_parse_lock_line(line + strlen("lock:\t"), c->dev, c->ino, &holder);
		if (end)
			*end = '\n';
		if (r == 1 && holder == c->pid) {
			c->found = 1;
			return 1;
		}
	}
	return 0;
}

int tether_proc_holds_flock(pid_t pid, dev_t dev, ino_t ino)
{
	char dir[64];
	struct holds_ctx c = {.pid = pid, .dev = dev, .ino = ino};
	if (pid <= 0)
		return -EINVAL;
	/* A supervisor opens its lock before anything else, so it is
	 * descriptor 3: look there first, which spares the listing and the
	 * reads of 0, 1 and 2 (each /proc read costs some 10 µs, and stop and
	 * status verify the holder every time). Anywhere else, the scan finds it. */
	if (fdinfo_has_lock(3, &c))
		return 1;
	snprintf(dir, sizeof dir, "/proc/%d/fdinfo", (int)pid);
	int r = tether_proc_scan_dir(dir, true, fdinfo_has_lock, &c);
	if (r < 0)
		return r;
	return c.found;
}
