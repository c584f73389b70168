/* SPDX-License-Identifier: MIT */
/* proc.c — see proc.h. */
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

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

int tether_proc_read_file(const char *path, char *buf, size_t cap, size_t *ret_len)
{
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd == -ENOENT ? -ESRCH : fd;
	size_t len = 0;
	int r = 0;
	for (;;) {
		if (len + 1 >= cap) {
			/* Full: only more data makes it too big (a file of exactly
			 * cap-1 bytes fits). */
			char extra;
			ssize_t n = sys_read(fd, &extra, 1);
			r = n < 0 ? (int)n : n > 0 ? -EFBIG : 0;
			break;
		}
		ssize_t n = sys_read(fd, buf + len, cap - 1 - len);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	sys_close(fd);
	if (r < 0)
		return r == -ESRCH || r == -ENOENT ? -ESRCH : r;
	buf[len] = '\0';
	if (ret_len)
		*ret_len = len;
	return 0;
}

int tether_proc_parse_u64(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;
	if (s >= end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

int tether_proc_parse_i64(const char **p, const char *end, int64_t *ret)
{
	bool neg = false;
	uint64_t v;
	if (*p < end && **p == '-') {
		neg = true;
		(*p)++;
	}
	if (tether_proc_parse_u64(p, end, &v) < 0 || v > (uint64_t)INT64_MAX)
		return -EINVAL;
	*ret = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

int tether_proc_parse_stat(const char *buf, size_t len, struct tether_procstat *ret)
{
	const char *end = buf + len;
	const char *p = buf;
	struct tether_procstat st = {0};
	uint64_t u;
	int64_t v;

	/* "PID (COMM) S PPID PGRP SESSION ...": comm may hold spaces and
	 * parentheses, so it ends at the *last* ')'. */
	if (tether_proc_parse_u64(&p, end, &u) < 0 || u == 0 || u > INT32_MAX)
		return -EINVAL;
	st.pid = (pid_t)u;
	if (p + 2 > end || p[0] != ' ' || p[1] != '(')
		return -EINVAL;
	const char *comm = p + 2;
	const char *rp = NULL;
	for (const char *q = end; q > comm; q--)
		if (q[-1] == ')') {
			rp = q - 1;
			break;
		}
	if (!rp)
		return -EINVAL;
	size_t clen = (size_t)(rp - comm);
	if (clen >= sizeof st.comm)
		clen = sizeof st.comm - 1;
	memcpy(st.comm, comm, clen);
	st.comm[clen] = '\0';
	p = rp + 1;
	if (p + 3 > end || p[0] != ' ' || !isalpha((unsigned char)p[1]) || p[2] != ' ')
		return -EINVAL;
	st.state = p[1];
	p += 3;
	/* fields 4.. : numbers separated by single spaces */
	for (int field = 4; field <= 24; field++) {
		if (tether_proc_parse_i64(&p, end, &v) < 0)
			return -EINVAL;
		/* Fields 4-6 are pids: one that pid_t cannot hold is garbage,
		 * and truncating it would name another process (fuzz_proc). */
		if (field <= 6 && (v < 0 || v > INT32_MAX))
			return -EINVAL;
		switch (field) {
		case 4: st.ppid = (pid_t)v; break;
		case 5: st.pgid = (pid_t)v; break;
		case 6: st.sid = (pid_t)v; break;
		case 22:
			if (v < 0)
				return -EINVAL;
			st.start_time = (uint64_t)v;
			break;
		case 24: st.rss_pages = v < 0 ? 0 : (uint64_t)v; break;
		default: break;
		}
		if (field < 24) {
			if (p >= end || *p != ' ')
				return -EINVAL;
			p++;
		} else if (p < end && *p != ' ' && *p != '\n') {
			return -EINVAL; /* "321x" is not a number either */
		}
	}
	*ret = st;
	return 0;
}

int tether_proc_read_stat(pid_t pid, struct tether_procstat *ret)
{
	char path[64], buf[1024];
	size_t len;
	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	int r = tether_proc_read_file(path, buf, sizeof buf, &len);
	if (r < 0)
		return r;
	r = tether_proc_parse_stat(buf, len, ret);
	if (r == 0 && ret->pid != pid)
		return -EINVAL;
	return r;
}

int tether_proc_alive(pid_t pid)
{
	struct tether_procstat st;
	int r = tether_proc_read_stat(pid, &st);
	if (r == -ESRCH)
		return 0;
	if (r < 0)
		return r;
	return st.state != 'Z' && st.state != 'X';
}

int tether_proc_boot_id(char ret[TETHER_BOOT_ID_LEN + 1])
{
	/* It cannot change while we run, and every /proc read costs some 10 µs
	 * (a start reads it for the record and for the sweep's scope, a stop
	 * for the verification): read once, remember a success. */
	static char cached[TETHER_BOOT_ID_LEN + 1];
	if (!cached[0]) {
		char buf[64];
		size_t len;
		int r = tether_proc_read_file("/proc/sys/kernel/random/boot_id", buf, sizeof buf, &len);
		if (r < 0)
			return r;
		if (len < TETHER_BOOT_ID_LEN)
			return -EINVAL;
		memcpy(cached, buf, TETHER_BOOT_ID_LEN);
		cached[TETHER_BOOT_ID_LEN] = '\0';
	}
	memcpy(ret, cached, sizeof cached);
	return 0;
}

static int append_pid(pid_t **list, size_t *n, size_t *cap, pid_t pid)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		pid_t *nl = realloc(*list, ncap * sizeof *nl);
		if (!nl)
			return -ENOMEM;
		*list = nl;
		*cap = ncap;
	}
	(*list)[(*n)++] = pid;
	return 0;
}

/* Iterates the numeric entries of an open directory, from where it is. */
static int scan_fd(int dfd, bool allow_zero, tether_proc_scan_fn fn, void *ud)
{
	char buf[4096] __attribute__((aligned(8)));
	int r = 0;
	for (;;) {
		ssize_t n = sys_getdents(dfd, buf, sizeof buf);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);
			off += d->d_reclen;
			char *endp;
			errno = 0;
			long v = strtol(d->d_name, &endp, 10);
			if (*endp || v < (allow_zero ? 0 : 1) || v > INT32_MAX ||
			    !isdigit((unsigned char)d->d_name[0]))
				continue;
			r = fn((pid_t)v, ud);
			if (r)
				return r;
		}
	}
	return r;
}

/* Iterates the numeric entries of a directory. */
int tether_proc_scan_dir(const char *dir, bool allow_zero, tether_proc_scan_fn fn, void *ud)
{
	int dfd = sys_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd == -ENOENT ? -ESRCH : dfd;
	int r = scan_fd(dfd, allow_zero, fn, ud);
	sys_close(dfd);
	return r;
}

int tether_proc_scan_dirfd(int dfd, bool allow_zero, tether_proc_scan_fn fn, void *ud)
{
	off_t r = sys_lseek(dfd, 0, SEEK_SET);
	if (r < 0)
		return (int)r;
	return scan_fd(dfd, allow_zero, fn, ud);
}

struct children_ctx {
	pid_t pid;
	pid_t *list;
	size_t n, cap;
	int err;
};

static int parse_children(struct children_ctx *c, const char *buf, size_t len);

static int children_of_task(pid_t tid, void *ud)
{
	struct children_ctx *c = ud;
	char path[96];
	char small[4096];
	char *buf = small;
	size_t cap = sizeof small, len;
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)c->pid, (int)tid);
	int r;
	/* Thousands of children do not fit the stack buffer: grow on the heap. */
	while ((r = tether_proc_read_file(path, buf, cap, &len)) == -EFBIG && cap < (8u << 20)) {
		if (buf != small)
			free(buf);
		cap *= 4;
		buf = malloc(cap);
		if (!buf) {
			c->err = -ENOMEM;
			return 1;
		}
	}
	if (r < 0) {
		if (buf != small)
			free(buf);
		if (r == -ESRCH)
			return 0; /* the thread ended meanwhile */
		c->err = r;
		return 1;
	}
	r = parse_children(c, buf, len);
	if (buf != small)
		free(buf);
	return r;
}

static int parse_children(struct children_ctx *c, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	while (p < end) {
		uint64_t v;
		while (p < end && *p == ' ')
			p++;
		if (p >= end || *p == '\n')
			break;
		if (tether_proc_parse_u64(&p, end, &v) < 0 || v == 0 || v > INT32_MAX) {
			c->err = -EINVAL;
			return 1;
		}
		if (append_pid(&c->list, &c->n, &c->cap, (pid_t)v) < 0) {
			c->err = -ENOMEM;
			return 1;
		}
	}
	return 0;
}

int tether_proc_children(pid_t pid, pid_t **ret, size_t *ret_n)
{
	char dir[64];
	struct children_ctx c = {.pid = pid};
	if (pid <= 0)
		return -EINVAL;
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	int r = tether_proc_scan_dir(dir, false, children_of_task, &c);
	if (r < 0 && r != -ESRCH && c.err == 0 && c.n == 0) {
		/* Its threads cannot be listed (getdents or open failing): the
		 * main thread's children at least, which are all of them for a
		 * single-threaded process (a guardian, most workers) — and a
		 * child of another thread comes back to a subreaper above as
		 * its parent dies. */
		children_of_task(pid, &c);
		r = c.err;
	}
	if (r < 0 || c.err < 0) {
		free(c.list);
		return r < 0 ? r : c.err;
	}
	*ret = c.list;
	*ret_n = c.n;
	return 0;
}

int tether_proc_scan(tether_proc_scan_fn fn, void *userdata)
{
	return tether_proc_scan_dir("/proc", false, fn, userdata);
}

int tether_proc_environ_get(pid_t pid, const char *key, char *buf, size_t len)
{
	char path[64];
	if (len == 0)
		return -EINVAL;
	snprintf(path, sizeof path, "/proc/%d/environ", (int)pid);
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd == -ENOENT ? -ESRCH : fd;
	/* environ can be up to ARG_MAX; stream it through a window. */
	size_t klen = strlen(key);
	char win[8192];
	size_t have = 0;
	int r = 0;
	bool eof = false;
	while (!eof || have > 0) {
		if (!eof && have < sizeof win) {
			ssize_t n = sys_read(fd, win + have, sizeof win - have);
			if (n < 0) {
				r = (int)n;
				break;
			}
			if (n == 0)
				eof = true;
			have += (size_t)n;
		}
		char *nul = memchr(win, '\0', have);
		size_t entry_len;
		if (nul) {
			entry_len = (size_t)(nul - win);
		} else if (eof || have == sizeof win) {
			entry_len = have; /* last entry, or one longer than the window */
		} else {
			continue;
		}
		if (entry_len > klen && memcmp(win, key, klen) == 0 && win[klen] == '=') {
			size_t vlen = entry_len - klen - 1;
			if (vlen >= len)
				vlen = len - 1;
			memcpy(buf, win + klen + 1, vlen);
			/* An entry longer than the window: the rest of its value
			 * follows in later reads, up to the caller's buffer. */
			while (!nul && !eof && vlen < len - 1) {
				ssize_t n = sys_read(fd, buf + vlen, len - 1 - vlen);
				if (n <= 0)
					break;
				char *z = memchr(buf + vlen, '\0', (size_t)n);
				vlen = z ? (size_t)(z - buf) : vlen + (size_t)n;
				if (z)
					break;
			}
			buf[vlen] = '\0';
			r = 1;
			break;
		}
		size_t consume = nul ? entry_len + 1 : entry_len;
		memmove(win, win + consume, have - consume);
		have -= consume;
		if (!nul && !eof) {
			/* an over-long entry: drop the rest of it */
			for (;;) {
				ssize_t n = sys_read(fd, win, sizeof win);
				if (n <= 0) {
					eof = true;
					have = 0;
					break;
				}
				char *z = memchr(win, '\0', (size_t)n);
				if (z) {
					have = (size_t)n - (size_t)(z - win) - 1;
					memmove(win, z + 1, have);
					break;
				}
			}
		}
	}
	sys_close(fd);
	return r;
}

static int count_one(pid_t fd, void *ud)
{
	(void)fd;
	(*(int *)ud)++;
	return 0;
}

int tether_proc_count_fds(pid_t pid)
{
	char dir[64];
	int n = 0;
	snprintf(dir, sizeof dir, "/proc/%d/fd", (int)pid);
	int r = tether_proc_scan_dir(dir, true, count_one, &n);
	return r < 0 ? r : n;
}

static int meminfo_field(const char *path, const char *key, uint64_t *ret_kb)
{
	char buf[8192];
	size_t len;
	int r = tether_proc_read_file(path, buf, sizeof buf, &len);
	if (r < 0)
		return r;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *p = line + klen + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return tether_proc_parse_u64(&p, buf + len, ret_kb);
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -ENOENT;
}

int tether_proc_mem_available(uint64_t *ret_bytes)
{
	uint64_t kb;
	int r = meminfo_field("/proc/meminfo", "MemAvailable", &kb);
	if (r < 0)
		return r;
	*ret_bytes = kb * 1024;
	return 0;
}

int tether_proc_rss_kb(pid_t pid, uint64_t *ret_kb)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return meminfo_field(path, "VmRSS", ret_kb);
}

int tether_proc_inner_pid(pid_t pid, pid_t *ret)
{
	char path[64], buf[4096];
	size_t len;
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	int r = tether_proc_read_file(path, buf, sizeof buf, &len);
	if (r < 0)
		return r;
	char *line = strstr(buf, "\nNSpid:");
	if (!line)
		return -ENOENT;
	line += strlen("\nNSpid:");
	char *end = strchr(line, '\n');
	if (end)
		*end = '\0';
	char *last = strrchr(line, '\t');
	last = last ? last + 1 : line;
	const char *p = last;
	uint64_t v;
	if (tether_proc_parse_u64(&p, last + strlen(last), &v) < 0 || v == 0 || v > INT32_MAX)
		return -EINVAL;
	*ret = (pid_t)v;
	return 0;
}

int tether_proc_find_nspid_child(pid_t parent, pid_t nspid, pid_t *ret_pid)
{
	pid_t *kids = NULL;
	size_t n = 0;
	int r = tether_proc_children(parent, &kids, &n);
	if (r < 0)
		return r;
	r = -ESRCH;
	for (size_t i = 0; i < n; i++) {
		pid_t inner;
		if (tether_proc_inner_pid(kids[i], &inner) == 0 && inner == nspid) {
			*ret_pid = kids[i];
			r = 0;
			break;
		}
	}
	free(kids);
	return r;
}
