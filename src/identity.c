/* SPDX-License-Identifier: MIT */
/* identity.c — see identity.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "identity.h"
#include "parse.h"
#include "proc.h"
#include "sys.h"

/* A passwd or group file larger than this is not one. */
#define DB_MAX (16u << 20)
/* Fields of one line we look at: passwd has 7, group 4. */
#define FIELDS_MAX 7

/* Reads a whole file into a malloc'd, NUL-terminated buffer. */
static int read_all(const char *path, char **ret, size_t *ret_len)
{
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	int r = buf ? 0 : -ENOMEM;
	while (r == 0) {
		if (cap - len < 2) {
			char *bigger = cap >= DB_MAX ? NULL : realloc(buf, cap * 2);
			if (!bigger) {
				r = cap >= DB_MAX ? -EFBIG : -ENOMEM;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = sys_read(fd, buf + len, cap - len - 1);
		if (n < 0)
			r = (int)n;
		else if (n == 0)
			break;
		else
			len += (size_t)n;
	}
	sys_close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Splits line (NUL-terminated, no '\n') at ':' in place; returns the count
 * (at most FIELDS_MAX; the last keeps any further ':'). */
static size_t split(char *line, char *fields[FIELDS_MAX])
{
	size_t n = 0;
	fields[n++] = line;
	for (char *p = line; *p && n < FIELDS_MAX; p++)
		if (*p == ':') {
			*p = '\0';
			fields[n++] = p + 1;
		}
	return n;
}

/* An id field: decimal, below (id_t)-1 (which means "no change" to setresuid). */
static int parse_id(const char *s, uint32_t *ret)
{
	uint64_t v;
	if (tether_parse_uint(s, 0, UINT32_MAX - 1, &v) < 0)
		return -EINVAL;
	*ret = (uint32_t)v;
	return 0;
}

/* The lines of a passwd/group text, each split into fields: calls fn for
 * each line with at least `min` fields whose id field parses, until fn
 * returns nonzero (returned). NIS compat lines (+, -) and comments are no
 * entries. The text is cut in place. */
typedef int (*line_fn)(char *f[FIELDS_MAX], size_t n, uint32_t id, void *ud);

static int each_line(char *text, size_t min, size_t id_field, line_fn fn, void *ud)
{
	for (char *line = text; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (*line != '+' && *line != '-' && *line != '#') {
			char *f[FIELDS_MAX];
			size_t n = split(line, f);
			uint32_t id;
			if (n >= min && *f[0] && parse_id(f[id_field], &id) == 0) {
				int r = fn(f, n, id, ud);
				if (r)
					return r;
			}
		}
		line = next;
	}
	return 0;
}

/* ---- passwd ------------------------------------------------------------------------- */

struct user_query {
	const char *name;  /* by name, or ... */
	bool by_uid;       /* ... by uid */
	uint32_t uid;
	/* found */
	uint32_t found_uid, found_gid;
	char *found_name, *found_home;
};

static int user_line(char *f[FIELDS_MAX], size_t n, uint32_t uid, void *ud)
{
	struct user_query *q = ud;
	uint32_t gid;
	(void)n;
	if (q->by_uid ? uid != q->uid : strcmp(f[0], q->name) != 0)
		return 0;
	if (parse_id(f[3], &gid) < 0)
		return 0;
	q->found_uid = uid;
	q->found_gid = gid;
	q->found_name = strdup(f[0]);
	q->found_home = strdup(f[5]);
	return q->found_name && q->found_home ? 1 : -ENOMEM;
}

/* 1 found, 0 not, -errno. */
static int find_user(const char *path, struct user_query *q)
{
	char *text;
	size_t len;
	int r = read_all(path, &text, &len);
	if (r < 0)
		return r;
	r = each_line(text, 7, 2, user_line, q);
	free(text);
	if (r < 0) {
		free(q->found_name);
		free(q->found_home);
		q->found_name = q->found_home = NULL;
	}
	return r;
}

/* ---- group -------------------------------------------------------------------------- */

struct group_query {
	const char *name;        /* GROUP by name (NULL: none asked) */
	bool found;
	uint32_t gid;
	const char *member;      /* supplementary groups of this user (NULL: none) */
	gid_t *groups;
	size_t ngroups, cap;
};

static int add_group(struct group_query *q, gid_t gid)
{
	for (size_t i = 0; i < q->ngroups; i++)
		if (q->groups[i] == gid)
			return 0;
	if (q->ngroups == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 16;
		gid_t *g = realloc(q->groups, cap * sizeof *g);
		if (!g)
			return -ENOMEM;
		q->groups = g;
		q->cap = cap;
	}
	q->groups[q->ngroups++] = gid;
	return 0;
}

static bool lists_member(char *members, const char *user)
{
	size_t ulen = strlen(user);
	for (const char *p = members; *p;) {
		size_t n = strcspn(p, ",");
		if (n == ulen && memcmp(p, user, n) == 0)
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static int group_line(char *f[FIELDS_MAX], size_t n, uint32_t gid, void *ud)
{
	struct group_query *q = ud;
	if (q->name && !q->found && strcmp(f[0], q->name) == 0) {
		q->found = true;
		q->gid = gid;
	}
	if (q->member && n >= 4 && lists_member(f[3], q->member))
		return add_group(q, (gid_t)gid) < 0 ? -ENOMEM : 0;
	return 0;
}

static int scan_groups(const char *path, struct group_query *q)
{
	char *text;
	size_t len;
	int r = read_all(path, &text, &len);
	if (r < 0)
		return r;
	r = each_line(text, 3, 2, group_line, q);
	free(text);
	return r;
}

/* ---- resolve ------------------------------------------------------------------------ */

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int tether_identity_resolve(const char *spec, const char *passwd_path, const char *group_path,
			    struct tether_identity *ret, char *why, size_t len)
{
	struct tether_identity id = {.set = true};
	struct user_query uq = {0};
	struct group_query gq = {0};
	char user[256];
	const char *colon = strchr(spec, ':');
	const char *group = colon ? colon + 1 : NULL;
	size_t ulen = colon ? (size_t)(colon - spec) : strlen(spec);
	int r;
	if (ulen == 0 || ulen >= sizeof user || (group && !*group)) {
		snprintf(why, len, "--user %s: expected USER or USER:GROUP", spec);
		return -EINVAL;
	}
	memcpy(user, spec, ulen);
	user[ulen] = '\0';

	/* USER: a name first (a user may be called "1000"), then a uid */
	uq.name = user;
	r = find_user(passwd_path, &uq);
	if (r == 0 && all_digits(user)) {
		uq.by_uid = true;
		if (parse_id(user, &uq.uid) < 0) {
			snprintf(why, len, "--user %s: uid %s is out of range", spec, user);
			return -EINVAL;
		}
		r = find_user(passwd_path, &uq);
		if (r == 0) {
			if (!group) {
				snprintf(why, len,
					 "--user %s: uid %s has no entry in %s: name its group too (--user %s:GROUP)",
					 spec, user, passwd_path, user);
				return -EINVAL;
			}
			/* a uid of its own: no name, no home */
			uq.found_uid = uq.uid;
			r = 2;
		}
	}
	if (r < 0) {
		snprintf(why, len, "--user %s: cannot read %s: %s", spec, passwd_path, strerror(-r));
		return r;
	}
	if (r == 0) {
		snprintf(why, len, "--user %s: no user '%s' in %s", spec, user, passwd_path);
		return -EINVAL;
	}
	id.uid = (uid_t)uq.found_uid;
	id.name = uq.found_name;
	id.home = uq.found_home;

	/* GROUP, and USER's memberships, in one pass over the group file */
	gq.name = group;
	gq.member = id.name;
	if (id.name) {
		r = add_group(&gq, (gid_t)uq.found_gid);
		if (r < 0)
			goto fail;
	}
	r = scan_groups(group_path, &gq);
	if (r < 0 && (r != -ENOENT || gq.name)) {
		snprintf(why, len, "--user %s: cannot read %s: %s", spec, group_path, strerror(-r));
		goto fail;
	}
	if (!group) {
		id.gid = (gid_t)uq.found_gid;
	} else if (gq.found) {
		id.gid = (gid_t)gq.gid;
	} else {
		uint32_t g;
		/* a number that is no group's name: a gid, with or without an entry */
		if (!all_digits(group) || parse_id(group, &g) < 0) {
			snprintf(why, len, "--user %s: no group '%s' in %s", spec, group, group_path);
			r = -EINVAL;
			goto fail;
		}
		id.gid = (gid_t)g;
	}
	/* without a passwd entry, no memberships: the group itself */
	if (!id.name && (r = add_group(&gq, id.gid)) < 0)
		goto fail;
	id.groups = gq.groups;
	id.ngroups = gq.ngroups;
	*ret = id;
	return 0;
fail:
	if (r == -ENOMEM)
		snprintf(why, len, "--user %s: out of memory", spec);
	free(gq.groups);
	free(uq.found_name);
	free(uq.found_home);
	return r;
}

void tether_identity_done(struct tether_identity *id)
{
	if (!id)
		return;
	free(id->groups);
	free(id->name);
	free(id->home);
	*id = (struct tether_identity){0};
}

/* ---- may we? ------------------------------------------------------------------------ */

/* "Uid:\t0\t0\t0\t0" → the first three numbers. */
static int three_ids(const char *line, uint32_t ret[3])
{
	const char *p = line;
	for (int i = 0; i < 3; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		char *end;
		errno = 0;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || errno || v > UINT32_MAX)
			return -EINVAL;
		ret[i] = (uint32_t)v;
		p = end;
	}
	return 0;
}

static const char *field(const char *text, const char *key)
{
	size_t klen = strlen(key);
	for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (strncmp(l, key, klen) == 0)
			return l + klen;
	return NULL;
}

int tether_own_ids_read(struct tether_own_ids *ret)
{
	/* a Groups: line of hundreds of groups makes the file long */
	char buf[16384];
	size_t n;
	int r = tether_proc_read_file("/proc/self/status", buf, sizeof buf, &n);
	if (r < 0)
		return r;
	struct tether_own_ids o = {0};
	uint32_t u[3], g[3];
	const char *uid = field(buf, "Uid:"), *gid = field(buf, "Gid:"), *groups = field(buf, "Groups:");
	const char *cap = field(buf, "CapEff:");
	if (!uid || !gid || !groups || !cap || three_ids(uid, u) < 0 || three_ids(gid, g) < 0)
		return -EINVAL;
	o.ruid = u[0], o.euid = u[1], o.suid = u[2];
	o.rgid = g[0], o.egid = g[1], o.sgid = g[2];
	for (const char *p = groups; *p && *p != '\n';) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p)
			break;
		if (o.ngroups < sizeof o.groups / sizeof o.groups[0])
			o.groups[o.ngroups++] = (gid_t)v;
		else
			o.ngroups_truncated = true;
		p = end;
		while (*p == ' ' || *p == '\t')
			p++;
	}
	while (*cap == ' ' || *cap == '\t')
		cap++;
	unsigned long long caps = strtoull(cap, NULL, 16);
	o.cap_setgid = caps & (1ull << 6);  /* CAP_SETGID */
	o.cap_setuid = caps & (1ull << 7);  /* CAP_SETUID */
	*ret = o;
	return 0;
}

static bool has_group(const gid_t *groups, size_t n, gid_t g)
{
	for (size_t i = 0; i < n; i++)
		if (groups[i] == g)
			return true;
	return false;
}

/* The same supplementary groups, the primary one aside: being in one's own
 * primary group twice changes nothing (setpriv --clear-groups, then --user
 * oneself). */
static bool same_groups(const struct tether_identity *id, const struct tether_own_ids *own)
{
	if (own->ngroups_truncated)
		return false;
	for (size_t i = 0; i < id->ngroups; i++)
		if (id->groups[i] != id->gid && !has_group(own->groups, own->ngroups, id->groups[i]))
			return false;
	for (size_t k = 0; k < own->ngroups; k++)
		if (own->groups[k] != id->gid && !has_group(id->groups, id->ngroups, own->groups[k]))
			return false;
	return true;
}

int tether_identity_check(struct tether_identity *id, const struct tether_own_ids *own, const char *spec,
			  char *why, size_t len)
{
	/* setresuid(u, u, u) needs CAP_SETUID unless every id is u already;
	 * setgroups always needs CAP_SETGID, so it is skipped when the groups
	 * are ours already. */
	bool uid_differs = own->ruid != id->uid || own->euid != id->uid || own->suid != id->uid;
	bool gid_differs = own->rgid != id->gid || own->egid != id->gid || own->sgid != id->gid ||
			   !same_groups(id, own);
	id->switch_ids = uid_differs || gid_differs;
	if ((uid_differs && !own->cap_setuid) || (gid_differs && !own->cap_setgid)) {
		snprintf(why, len,
			 "--user %s: not permitted: tether runs as uid %u without %s (run it as root, or without --user)",
			 spec, (unsigned)own->euid,
			 uid_differs && !own->cap_setuid && gid_differs && !own->cap_setgid ? "CAP_SETUID and CAP_SETGID"
			 : uid_differs && !own->cap_setuid				     ? "CAP_SETUID"
											     : "CAP_SETGID");
		return -EPERM;
	}
	return 0;
}
