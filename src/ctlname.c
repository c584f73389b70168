/* SPDX-License-Identifier: MIT */
/* ctlname.c — see ctlname.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctlname.h"
#include "proc.h"
#include "sys.h"

#define PREFIX "tether-ctl/"
/* The kernel names the state of a listening AF_UNIX socket as TCP's. */
#define SK_STATE_LISTEN 10
/* The flag /proc/net/unix shows for a listening socket (__SO_ACCEPTCON). */
#define UNIX_FLAG_LISTENING 0x10000u
#define RANDOM_BYTES 16

/* ---- the canonical path and its key ------------------------------------------- */

/* Is name a file's name, not "", "." or ".."? */
static bool names_a_file(const char *name)
{
	return name[0] && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

/* The kernel's name of the directory open as fd. A directory removed after
 * it was opened reads "PATH (deleted)": -ENOENT, the caller looks again. */
static int fd_path(int fd, char *buf, size_t cap)
{
	char link[64];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = sys_readlink(link, buf, cap);
	if (n < 0)
		return (int)n;
	if ((size_t)n >= cap)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	if (buf[0] != '/')
		return -ENOENT; /* not a directory of this mount namespace */
	static const char deleted[] = " (deleted)";
	size_t dl = sizeof deleted - 1;
	if ((size_t)n > dl && strcmp(buf + n - dl, deleted) == 0)
		return -ENOENT;
	return 0;
}

static int join(char *buf, size_t cap, const char *dir, const char *rest, const char *name)
{
	bool root = strcmp(dir, "/") == 0;
	int n = snprintf(buf, cap, "%s%s/%s", root ? "" : dir, rest, name);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int tether_ctlname_canonical_at(int dir_fd, const char *name, char *buf, size_t cap)
{
	char dir[PATH_MAX];
	if (!names_a_file(name))
		return -EISDIR;
	int r = fd_path(dir_fd, dir, sizeof dir);
	if (r < 0)
		return r;
	return join(buf, cap, dir, "", name);
}

int tether_ctlname_canonical(const char *pidfile, char *buf, size_t cap)
{
	if (!pidfile || !*pidfile)
		return -EINVAL;
	const char *slash = strrchr(pidfile, '/');
	const char *name = slash ? slash + 1 : pidfile;
	if (!names_a_file(name))
		return -EISDIR;
	/* dir: what is left to open; rest: the missing components after it,
	 * as written (without "." and empty ones). */
	char dir[PATH_MAX], rest[PATH_MAX] = "", resolved[PATH_MAX];
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == pidfile)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - pidfile) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - pidfile), pidfile);
	else
		return -ENAMETOOLONG;
	for (int depth = 0; depth < PATH_MAX / 2; depth++) {
		int fd = sys_open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
		int r = fd;
		if (fd >= 0) {
			r = fd_path(fd, resolved, sizeof resolved);
			sys_close(fd);
			if (r == 0)
				return join(buf, cap, resolved, rest, name);
		}
		if (r != -ENOENT && r != -ENOTDIR)
			return r;
		/* Missing: resolve its parent, keep its last component. */
		size_t len = strlen(dir);
		while (len > 1 && dir[len - 1] == '/')
			dir[--len] = '\0';
		char *cut = strrchr(dir, '/');
		const char *comp = cut ? cut + 1 : dir;
		if (strcmp(dir, "/") == 0 || strcmp(dir, ".") == 0)
			return r; /* the root or the cwd itself is gone */
		if (*comp && strcmp(comp, ".") != 0) {
			char tmp[PATH_MAX];
			int n = snprintf(tmp, sizeof tmp, "/%s%s", comp, rest);
			if (n < 0 || (size_t)n >= sizeof tmp)
				return -ENAMETOOLONG;
			memcpy(rest, tmp, (size_t)n + 1);
		}
		if (!cut)
			snprintf(dir, sizeof dir, ".");
		else if (cut == dir)
			dir[1] = '\0';
		else
			*cut = '\0';
	}
	return -ELOOP;
}

void tether_ctlname_key_of(const char *canonical, char key[TETHER_CTLNAME_KEY_LEN + 1])
{
	uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)canonical; *p; p++)
		h = (h ^ *p) * UINT64_C(1099511628211);
	snprintf(key, TETHER_CTLNAME_KEY_LEN + 1, "%016llx", (unsigned long long)h);
}

int tether_ctlname_key(const char *pidfile, char key[TETHER_CTLNAME_KEY_LEN + 1])
{
	char canon[PATH_MAX];
	int r = tether_ctlname_canonical(pidfile, canon, sizeof canon);
	if (r < 0)
		return r;
	tether_ctlname_key_of(canon, key);
	return 0;
}

/* ---- names ------------------------------------------------------------------------ */

int tether_ctlname_make(const char *key, pid_t pid, uint64_t start_time, char *name, size_t cap)
{
	unsigned char rnd[RANDOM_BYTES];
	char hex[2 * RANDOM_BYTES + 1];
	int r = sys_getrandom(rnd, sizeof rnd);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof rnd; i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	int n = snprintf(name, cap, PREFIX "%s/%d/%llu/%s", key, (int)pid, (unsigned long long)start_time, hex);
	if (n < 0 || (size_t)n >= cap || (size_t)n > TETHER_CTLNAME_MAX)
		return -ENAMETOOLONG;
	return 0;
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int tether_ctlname_parse(const char *name, char *key, pid_t *ret_pid, uint64_t *ret_start)
{
	size_t pl = sizeof PREFIX - 1;
	if (strncmp(name, PREFIX, pl) != 0)
		return -EINVAL;
	const char *k = name + pl;
	if (strlen(k) < TETHER_CTLNAME_KEY_LEN + 1 || !all_hex(k, TETHER_CTLNAME_KEY_LEN) ||
	    k[TETHER_CTLNAME_KEY_LEN] != '/')
		return -EINVAL;
	const char *p = k + TETHER_CTLNAME_KEY_LEN + 1;
	const char *end = p + strlen(p);
	uint64_t pid, start;
	/* pid 1: tether as a container's entrypoint (SPEC §3). Seen from
	 * outside its PID namespace, SO_PEERCRED names another pid, and the
	 * name's claim fails there. */
	if (*p == '0' || tether_proc_parse_u64(&p, end, &pid) < 0 || *p != '/' || pid < 1 || pid > INT32_MAX)
		return -EINVAL;
	p++;
	if ((*p == '0' && p[1] != '/') || tether_proc_parse_u64(&p, end, &start) < 0 || *p != '/')
		return -EINVAL;
	p++;
	if (strlen(p) != 2 * RANDOM_BYTES || !all_hex(p, 2 * RANDOM_BYTES))
		return -EINVAL;
	if (key) {
		memcpy(key, k, TETHER_CTLNAME_KEY_LEN);
		key[TETHER_CTLNAME_KEY_LEN] = '\0';
	}
	*ret_pid = (pid_t)pid;
	*ret_start = start;
	return 0;
}

socklen_t tether_ctlname_addr(const char *name, struct sockaddr_un *sa)
{
	size_t n = strlen(name);
	if (n > TETHER_CTLNAME_MAX)
		n = TETHER_CTLNAME_MAX;
	memset(sa, 0, sizeof *sa);
	sa->sun_family = AF_UNIX;
	/* sun_path[0] = '\0': the abstract namespace */
	memcpy(sa->sun_path + 1, name, n);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
}

/* ---- listing ---------------------------------------------------------------------- */

static int list_diag(const char *prefix, tether_ctlname_fn fn, void *ud)
{
	int fd = sys_socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd < 0)
		return fd;
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof msg,
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = 1},
		/* only listening sockets: the kernel filters, so the dump stays
		 * small however many sockets the machine has */
		.req = {.sdiag_family = AF_UNIX,
			.udiag_states = 1u << SK_STATE_LISTEN,
			.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_UID},
	};
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct iovec iov = {.iov_base = &msg, .iov_len = sizeof msg};
	struct msghdr mh = {.msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1};
	ssize_t w = sys_sendmsg(fd, &mh, MSG_NOSIGNAL);
	int r = w < 0 ? (int)w : 0;
	size_t pl = strlen(prefix);
	union {
		char b[16384];
		struct nlmsghdr align;
	} buf;
	/* A dump ends with NLMSG_DONE; a bounded number of reads, in case
	 * a kernel never sends it. */
	for (int reads = 0; r == 0 && reads < 4096; reads++) {
		struct iovec riov = {.iov_base = buf.b, .iov_len = sizeof buf.b};
		struct msghdr rmh = {.msg_iov = &riov, .msg_iovlen = 1};
		ssize_t n = sys_recvmsg(fd, &rmh, 0);
		if (n < 0) {
			r = (int)n;
			break;
		}
		if (n == 0 || (rmh.msg_flags & MSG_TRUNC)) {
			r = -EIO;
			break;
		}
		int left = (int)n;
		for (struct nlmsghdr *h = &buf.align; NLMSG_OK(h, (unsigned)left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE)
				goto out;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				r = h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 ? e->error : -EIO;
				goto out;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct unix_diag_msg)))
				continue;
			const struct unix_diag_msg *d = NLMSG_DATA(h);
			if (d->udiag_type != SOCK_SEQPACKET || d->udiag_state != SK_STATE_LISTEN)
				continue;
			const char *name = NULL;
			size_t nlen = 0;
			long uid = -1;
			int alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof *d));
			for (struct rtattr *a = (struct rtattr *)(d + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
				if (a->rta_type == UNIX_DIAG_NAME) {
					name = RTA_DATA(a);
					nlen = RTA_PAYLOAD(a);
				} else if (a->rta_type == UNIX_DIAG_UID && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
					uint32_t u;
					memcpy(&u, RTA_DATA(a), sizeof u);
					uid = (long)u;
				}
			}
			/* abstract names begin with a NUL */
			if (!name || nlen < 1 + pl || name[0] != '\0' || nlen - 1 > TETHER_CTLNAME_MAX ||
			    memcmp(name + 1, prefix, pl) != 0 || memchr(name + 1, '\0', nlen - 1))
				continue;
			char found[TETHER_CTLNAME_MAX + 1];
			memcpy(found, name + 1, nlen - 1);
			found[nlen - 1] = '\0';
			int stop = fn(found, uid, ud);
			if (stop) {
				r = stop;
				goto out;
			}
		}
	}
out:
	sys_close(fd);
	return r;
}

static int parse_hex_field(const char **p, unsigned long *ret)
{
	char *end;
	if (!**p || **p == ' ')
		return -EINVAL;
	errno = 0;
	unsigned long v = strtoul(*p, &end, 16);
	if (errno || (*end != ' ' && *end != '\0'))
		return -EINVAL;
	*p = end;
	while (**p == ' ')
		(*p)++;
	*ret = v;
	return 0;
}

int tether_ctlname_parse_unix_line(const char *line, const char *prefix, char *name, size_t cap)
{
	/* "0000000000000000: 00000002 00000000 00010000 0005 01 12345 @name"
	 *  Num: RefCount Protocol Flags Type St Inode [Path] */
	if (strncmp(line, "Num", 3) == 0)
		return 0;
	const char *p = strchr(line, ':');
	if (!p || p == line || p[1] != ' ')
		return -EINVAL;
	for (const char *q = line; q < p; q++)
		if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') || (*q >= 'A' && *q <= 'F')))
			return -EINVAL;
	p++;
	while (*p == ' ')
		p++;
	unsigned long refs, proto, flags, type, state;
	if (parse_hex_field(&p, &refs) < 0 || parse_hex_field(&p, &proto) < 0 || parse_hex_field(&p, &flags) < 0 ||
	    parse_hex_field(&p, &type) < 0 || parse_hex_field(&p, &state) < 0)
		return -EINVAL;
	const char *end = p + strlen(p);
	uint64_t ino;
	if (tether_proc_parse_u64(&p, end, &ino) < 0 || (*p != ' ' && *p != '\0'))
		return -EINVAL;
	while (*p == ' ')
		p++;
	if (!(flags & UNIX_FLAG_LISTENING) || type != SOCK_SEQPACKET || *p != '@')
		return 0;
	p++;
	size_t pl = strlen(prefix), n = strlen(p);
	if (n < pl || memcmp(p, prefix, pl) != 0)
		return 0;
	if (n >= cap || n > TETHER_CTLNAME_MAX)
		return -EINVAL;
	memcpy(name, p, n + 1);
	return 1;
}

static int list_proc(const char *prefix, tether_ctlname_fn fn, void *ud)
{
	int fd = sys_open("/proc/net/unix", O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	char buf[8192];
	size_t have = 0;
	int r = 0;
	for (;;) {
		ssize_t n = sys_read(fd, buf + have, sizeof buf - 1 - have);
		if (n < 0) {
			r = (int)n;
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		char *line = buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = '\0';
			char name[TETHER_CTLNAME_MAX + 1];
			if (tether_ctlname_parse_unix_line(line, prefix, name, sizeof name) == 1) {
				/* the file does not say whose a socket is */
				r = fn(name, -1, ud);
				if (r)
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
	return r;
}

int tether_ctlname_list(const char *prefix, enum tether_ctlname_lister how, tether_ctlname_fn fn, void *ud)
{
	if (how == TETHER_CTLNAME_PROC)
		return list_proc(prefix, fn, ud);
	int r = list_diag(prefix, fn, ud);
	/* Without unix_diag (a kernel built without it, a module that cannot
	 * be loaded, netlink forbidden by a sandbox): the text file. */
	if (r < 0 && how == TETHER_CTLNAME_ANY)
		r = list_proc(prefix, fn, ud);
	return r;
}

/* ---- finding -------------------------------------------------------------------- */

struct find_ctx {
	pid_t want;
	int flags;
	struct tether_ctlname_found *ret;
};

static bool trusted_uid(long uid)
{
	return uid == (long)geteuid() || uid == 0;
}

static int candidate(const char *name, long uid, void *ud)
{
	struct find_ctx *c = ud;
	pid_t pid;
	uint64_t start;
	/* Another user's socket is never connected to: whatever it is named,
	 * it is not our supervisor, and it must not make us wait. */
	if (uid >= 0 && !trusted_uid(uid))
		return 0;
	if (tether_ctlname_parse(name, NULL, &pid, &start) < 0 || pid == getpid() || (c->want && pid != c->want))
		return 0;
	struct sockaddr_un sa;
	socklen_t len = tether_ctlname_addr(name, &sa);
	int fd = sys_socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int r = sys_connect(fd, (struct sockaddr *)&sa, len);
	if (r == 0) {
		struct ucred cred;
		socklen_t cl = sizeof cred;
		/* the process that called listen(): nobody can forge it */
		r = sys_getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl);
		if (r == 0 && (cred.pid != pid || !trusted_uid((long)cred.uid)))
			r = -EPERM;
	} else if (r == -EAGAIN && uid >= 0 && !(c->flags & TETHER_CTLNAME_KEEP)) {
		/* Its listen queue is full: a supervisor that is stopped (SIGSTOP,
		 * a debugger) or not reading. The kernel said the socket is of a
		 * user we trust, so its name's claims stand. */
		r = 0;
		sys_close(fd);
		fd = -1;
	}
	if (r < 0) {
		sys_close(fd);
		return 0;
	}
	struct tether_procstat st;
	if (tether_proc_read_stat(pid, &st) < 0 || st.state == 'Z' || st.start_time != start) {
		if (fd >= 0)
			sys_close(fd);
		return 0;
	}
	if (fd >= 0 && !(c->flags & TETHER_CTLNAME_KEEP)) {
		sys_close(fd);
		fd = -1;
	}
	*c->ret = (struct tether_ctlname_found){.pid = pid, .start_time = start, .fd = fd};
	return 1;
}

int tether_ctlname_find(const char *key, pid_t want, int flags, struct tether_ctlname_found *ret)
{
	char prefix[sizeof PREFIX + TETHER_CTLNAME_KEY_LEN + 1];
	snprintf(prefix, sizeof prefix, PREFIX "%s/", key);
	struct find_ctx c = {.want = want, .flags = flags, .ret = ret};
	*ret = (struct tether_ctlname_found){.fd = -1};
	int r = tether_ctlname_list(prefix, TETHER_CTLNAME_ANY, candidate, &c);
	return r < 0 ? r : r == 1 ? 1 : 0;
}
