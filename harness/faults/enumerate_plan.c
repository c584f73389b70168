/* SPDX-License-Identifier: MIT */
/* enumerate_plan.c — what a discovery run says, and what the enumeration
 * makes of it (see faults.h).
 *
 * The discovery counts every candidate point's calls in every tether of the
 * plan (TETHER_FAULT_COUNT) and, for --ci, records where each call was made
 * (TETHER_FAULT_SITES: the call stack's hash, in each process's order of
 * calls, src/lab/fault.h). From the sites:
 *
 *  - k-classes. Failing the k-th call of a point tests what the process does
 *    when that call fails *there*, in the state the process is in. k's
 *    signature is the set, over the processes that made a k-th call of the
 *    point, of (the call's site, the sites of the two calls the process made
 *    just before it, whatever their points). The history keeps states apart
 *    that one site serves (the supervisor's read of its guardian's channel
 *    receives EXEC_OK at one time and TREE_EMPTY at another, after other
 *    calls); a loop over signals, descriptors or /proc entries, or a drain,
 *    makes the same call after the same calls, and collapses to one class.
 *    --ci runs the first k of each class. Not a proof that the other k's
 *    behave alike: the nightly's full mode runs every k.
 *  - posix twins. libfiu's POSIX preload fails the libc call under tether's
 *    own sys.c wrapper of it: when, in every process, every call of a
 *    posix/ point came right after a call of the tether/sys/ point of the
 *    same name, and both were called as often, failing the k-th call of one
 *    is failing the k-th call of the other (same errno, same EINTR retries,
 *    same numbering): --ci runs the tether/sys/ one. The libc calls that are
 *    tether's own (stdio, `tether start`'s fork and poll) keep their chains.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/faults.h"
#include "common/common.h"

unsigned long faults_budget(unsigned long count, size_t nsites, int err, unsigned long eintr_max)
{
	/* a correct tether gives up on a descriptor after 100 fruitless
	 * wakeups in a row (src/loop.c PERSISTENT_FAILURES), and sys.c retries
	 * an EINTR up to SYS_EINTR_MAX times: 100 x SYS_EINTR_MAX calls of one
	 * point without a pause is a bounded burst, not a spin — at each call
	 * site of the point, since each may be its own descriptor's loop (the
	 * guardian's channel, the notify socket and the control socket all
	 * receive with recvmsg, in the same wakeups: scenarios/chdir.scn with
	 * recvmsg failing EINTR from its third call on) */
	unsigned long floor = 2000 + (err == EINTR ? 100 * (eintr_max ? eintr_max : 100) : 0);
	/* and every call the unfaulted run makes is made up to SYS_EINTR_MAX
	 * times under EINTR: a pool's guardian channels, each given up after
	 * its own 100 fruitless wakeups (instances_fd_limit_raised.scn, 40
	 * instances, recvmsg failing EINTR from its first call on) */
	unsigned long per_call = 64 * (err == EINTR && eintr_max ? eintr_max : 1);
	return per_call * count + floor * (nsites > 1 ? nsites : 1);
}

/* ---- libtether's sources on EINTR ------------------------------------------------- */

static bool ident_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* The first argument of every call of macro(...) in text ("point" of the
 * macros' own definitions left out). */
static void macro_args(const char *text, const char *macro, char ***ret, size_t *n)
{
	size_t mlen = strlen(macro);
	for (const char *p = strstr(text, macro); p; p = strstr(p + mlen, macro)) {
		if ((p > text && ident_char(p[-1])) || p[mlen] != '(')
			continue;
		const char *a = p + mlen + 1, *e = a;
		while (ident_char(*e))
			e++;
		if (e == a || *e != ',' || (e - a == 5 && strncmp(a, "point", 5) == 0))
			continue;
		char *name = xstrndup(a, (size_t)(e - a));
		xappend(ret, n, &name, sizeof name);
	}
}

static bool listed_in(char **v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Blanks out the comments and the string and character literals of C
 * text: a comment that names an errno is no code that tells it apart. */
void faults_code_only(char *text)
{
	for (char *p = text; *p; p++) {
		if (p[0] == '/' && p[1] == '*') {
			char *e = strstr(p + 2, "*/");
			e = e ? e + 2 : p + strlen(p);
			memset(p, ' ', (size_t)(e - p));
			p = e - 1;
		} else if (p[0] == '/' && p[1] == '/') {
			char *e = p + strcspn(p, "\n");
			memset(p, ' ', (size_t)(e - p));
			p = e - 1;
		} else if (*p == '"' || *p == '\'') {
			char q = *p, *e = p + 1;
			while (*e && *e != q && *e != '\n')
				e += e[0] == '\\' && e[1] ? 2 : 1;
			if (*e == q)
				e++;
			memset(p, ' ', (size_t)(e - p));
			p = e - 1;
		}
	}
}

void faults_errno_names(char *text, char ***names, size_t *n)
{
	faults_code_only(text);
	for (const char *p = text; *p; p++) {
		if (*p != 'E' || (p > text && ident_char(p[-1])))
			continue;
		const char *e = p + 1;
		while ((*e >= 'A' && *e <= 'Z') || (*e >= '0' && *e <= '9'))
			e++;
		if (e == p + 1 || ident_char(*e))
			continue;
		char *name = xstrndup(p, (size_t)(e - p));
		if (listed_in(*names, *n, name))
			free(name);
		else
			xappend(names, n, &name, sizeof name);
		p = e - 1;
	}
}

/* The errno names of the C files of dir. */
static void dir_errno_names(const char *dir, char ***names, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 3 || (strcmp(e->d_name + len - 2, ".c") != 0 && strcmp(e->d_name + len - 2, ".h") != 0))
			continue;
		int err;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		char *text = lab_read_file(path, 1u << 22, NULL, &err);
		if (text)
			faults_errno_names(text, names, n);
		free(text);
		free(path);
	}
	if (d)
		closedir(d);
}

bool faults_errno_named(const struct sys_facts *f, int err)
{
	if (!f->known)
		return true;
	const char *name = strerrorname_np(err);
	if (name && listed_in(f->named, f->nnamed, name))
		return true;
	/* the same numbers under other names */
	return (err == EAGAIN && listed_in(f->named, f->nnamed, "EWOULDBLOCK")) ||
	       (err == EOPNOTSUPP && listed_in(f->named, f->nnamed, "ENOTSUP")) ||
	       (err == EDEADLK && listed_in(f->named, f->nnamed, "EDEADLOCK"));
}

void faults_read_sys(const char *srcdir, struct sys_facts *ret)
{
	*ret = (struct sys_facts){0};
	if (!srcdir)
		return;
	int err;
	char *c_path = xasprintf("%s/src/sys.c", srcdir), *h_path = xasprintf("%s/src/sys.h", srcdir);
	char *c = lab_read_file(c_path, 1u << 22, NULL, &err), *h = lab_read_file(h_path, 1u << 22, NULL, &err);
	const char *def = h ? strstr(h, "#define SYS_EINTR_MAX ") : NULL;
	if (c && def) {
		ret->eintr_max = strtoul(def + strlen("#define SYS_EINTR_MAX "), NULL, 10);
		char **retry = NULL, **other = NULL;
		size_t nretry = 0, nother = 0;
		macro_args(c, "SYSCALL_RETRY", &retry, &nretry);
		/* a point a wrapper also fails without the retry loop (SYSCALL_ONCE,
		 * or FAULT() by hand: close, clone) is not retried there */
		macro_args(c, "SYSCALL_ONCE", &other, &nother);
		macro_args(c, "FAULT", &other, &nother);
		for (size_t i = 0; i < nretry; i++)
			if (!listed_in(other, nother, retry[i]) && !listed_in(ret->retried, ret->nretried, retry[i]))
				xappend(&ret->retried, &ret->nretried, &retry[i], sizeof retry[i]);
			else
				free(retry[i]);
		for (size_t i = 0; i < nother; i++)
			free(other[i]);
		free(retry);
		free(other);
		char *src = xasprintf("%s/src", srcdir), *cli = xasprintf("%s/src/cli", srcdir);
		dir_errno_names(src, &ret->named, &ret->nnamed);
		dir_errno_names(cli, &ret->named, &ret->nnamed);
		free(src);
		free(cli);
		ret->known = ret->eintr_max > 0 && ret->nnamed > 0;
	}
	free(c);
	free(h);
	free(c_path);
	free(h_path);
}

void faults_sys_facts_done(struct sys_facts *f)
{
	for (size_t i = 0; i < f->nretried; i++)
		free(f->retried[i]);
	free(f->retried);
	for (size_t i = 0; i < f->nnamed; i++)
		free(f->named[i]);
	free(f->named);
	*f = (struct sys_facts){0};
}

bool faults_eintr_retried(const struct sys_facts *f, const char *point)
{
	return f->known && f->eintr_max >= 2 && strncmp(point, "tether/sys/", 11) == 0 &&
	       listed_in(f->retried, f->nretried, point + 11);
}

/* ---- reading the files ------------------------------------------------------------- */

struct cand {
	const char *name;
	size_t index;
};

static int cand_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cand *)a)->name, ((const struct cand *)b)->name);
}

static long cand_find(const struct cand *sorted, size_t n, const char *name)
{
	struct cand key = {name, 0};
	const struct cand *hit = bsearch(&key, sorted, n, sizeof *sorted, cand_cmp);
	return hit ? (long)hit->index : -1;
}

/* One counted call, in its process's order. */
struct call {
	int point;
	unsigned long k;
	uint64_t hash;
};

struct proc_calls {
	int pid;
	struct call *calls;
	size_t n;
};

static struct proc_calls *proc_of(struct proc_calls **procs, size_t *n, int pid)
{
	for (size_t i = 0; i < *n; i++)
		if ((*procs)[i].pid == pid)
			return &(*procs)[i];
	struct proc_calls p = {.pid = pid};
	xappend(procs, n, &p, sizeof p);
	return &(*procs)[*n - 1];
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	/* FNV-1a over the 8 bytes of v */
	for (int i = 0; i < 8; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * UINT64_C(1099511628211);
	return h;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct sig_k {
	uint64_t sig;
	unsigned long k;
};

static int sig_k_cmp(const void *a, const void *b)
{
	const struct sig_k *x = a, *y = b;
	if (x->sig != y->sig)
		return x->sig < y->sig ? -1 : 1;
	return x->k < y->k ? -1 : x->k > y->k;
}

/* k's signature components of one point: for k = 1..count, a list. */
struct parts {
	uint64_t **of;   /* of[k-1]: components */
	size_t *n;
};

/* The hash of the distinct values of c[0..n) (sorts them). */
static uint64_t set_hash(uint64_t *c, size_t n)
{
	qsort(c, n, sizeof *c, u64_cmp);
	uint64_t h = UINT64_C(1469598103934665603);
	for (size_t i = 0; i < n; i++)
		if (i == 0 || c[i] != c[i - 1])
			h = mix(h, c[i]);
	return h;
}

static void classify(struct reached *r, struct parts *p, struct parts *bare)
{
	unsigned long count = r->count;
	struct sig_k *sk = xcalloc(count ? count : 1, sizeof *sk);
	for (unsigned long k = 1; k <= count; k++) {
		sk[k - 1] = (struct sig_k){set_hash(p->of[k - 1], p->n[k - 1]), k};
	}
	r->site_sig = xcalloc(count ? count : 1, sizeof *r->site_sig);
	r->ksites = xcalloc(count ? count : 1, sizeof *r->ksites);
	r->nksites = xcalloc(count ? count : 1, sizeof *r->nksites);
	for (unsigned long k = 1; k <= count; k++) {
		uint64_t *b = bare->of[k - 1];
		size_t n = bare->n[k - 1], d = 0;
		r->site_sig[k - 1] = set_hash(b, n); /* sorts b */
		for (size_t i = 0; i < n; i++)
			if (i == 0 || b[i] != b[i - 1])
				b[d++] = b[i];
		r->ksites[k - 1] = b;
		r->nksites[k - 1] = d;
		bare->of[k - 1] = NULL;
	}
	r->sig = xcalloc(count ? count : 1, sizeof *r->sig);
	for (unsigned long i = 0; i < count; i++)
		r->sig[i] = sk[i].sig;
	qsort(sk, count, sizeof *sk, sig_k_cmp);
	r->class_of = xcalloc(count ? count : 1, sizeof *r->class_of);
	unsigned long first = 0;
	for (unsigned long i = 0; i < count; i++) {
		if (i == 0 || sk[i].sig != sk[i - 1].sig)
			first = sk[i].k;
		r->class_of[sk[i].k - 1] = first;
	}
	r->nclass = count;
	free(sk);
}

static const char *base_name(const char *point)
{
	const char *slash = strrchr(point, '/');
	return slash ? slash + 1 : point;
}

void faults_read_discovery(const char *count_path, const char *sites_path, const char *const *cands, size_t ncands,
			   struct site_db *db, struct reached **ret, size_t *ret_n)
{
	struct cand *sorted = xcalloc(ncands ? ncands : 1, sizeof *sorted);
	for (size_t i = 0; i < ncands; i++)
		sorted[i] = (struct cand){cands[i], i};
	qsort(sorted, ncands, sizeof *sorted, cand_cmp);
	unsigned long *count = xcalloc(ncands ? ncands : 1, sizeof *count);

	/* "count POINT N PID": the largest N of each point */
	int err;
	char *text = lab_read_file(count_path, 64u << 20, NULL, &err), **lines;
	size_t n = text ? lab_split_lines(text, &lines) : 0;
	for (size_t i = 0; i < n; i++) {
		char pt[128];
		unsigned long v;
		int pid;
		long c;
		if (sscanf(lines[i], "count %127s %lu %d", pt, &v, &pid) == 3 && (c = cand_find(sorted, ncands, pt)) >= 0 &&
		    v > count[c])
			count[c] = v;
	}
	if (n)
		free(lines);
	free(text);

	/* "site POINT N PID HASH FRAMES", each process's lines in its order */
	struct proc_calls *procs = NULL;
	size_t nprocs = 0;
	text = sites_path ? lab_read_file(sites_path, 512u << 20, NULL, &err) : NULL;
	n = text ? lab_split_lines(text, &lines) : 0;
	for (size_t i = 0; i < n; i++) {
		char pt[128];
		unsigned long k;
		int pid;
		unsigned long long hash;
		long c;
		if (sscanf(lines[i], "site %127s %lu %d %llx", pt, &k, &pid, &hash) != 4 ||
		    (c = cand_find(sorted, ncands, pt)) < 0)
			continue;
		if (db) {
			/* "site POINT N PID HASH": the frames follow the hash */
			const char *f = lines[i] + 5;
			for (int field = 0; field < 4 && f; field++) {
				f = strchr(f, ' ');
				f = f ? f + 1 : NULL;
			}
			faults_site_db_add(db, hash, f ? f - 1 : "");
		}
		struct proc_calls *p = proc_of(&procs, &nprocs, pid);
		struct call call = {(int)c, k, hash};
		xappend(&p->calls, &p->n, &call, sizeof call);
		/* the count file says powers of two and the exit's count: a
		 * process killed in between made more calls than it says */
		if (k > count[c])
			count[c] = k;
	}
	if (n)
		free(lines);
	free(text);

	/* signature parts, call sites and twins per point */
	struct parts *parts = xcalloc(ncands ? ncands : 1, sizeof *parts);
	struct parts *bare = xcalloc(ncands ? ncands : 1, sizeof *bare);
	uint64_t **sites = xcalloc(ncands ? ncands : 1, sizeof *sites);
	size_t *nsites = xcalloc(ncands ? ncands : 1, sizeof *nsites);
	/* twin[c]: the tether/sys/ point's index, -1 not one, -2 not yet seen */
	long *twin = xcalloc(ncands ? ncands : 1, sizeof *twin);
	for (size_t c = 0; c < ncands; c++) {
		twin[c] = -2;
		if (count[c]) {
			parts[c].of = xcalloc(count[c], sizeof *parts[c].of);
			parts[c].n = xcalloc(count[c], sizeof *parts[c].n);
			bare[c].of = xcalloc(count[c], sizeof *bare[c].of);
			bare[c].n = xcalloc(count[c], sizeof *bare[c].n);
		}
	}
	for (size_t i = 0; i < nprocs; i++) {
		struct proc_calls *p = &procs[i];
		for (size_t q = 0; q < p->n; q++) {
			const struct call *cl = &p->calls[q];
			uint64_t h1 = q > 0 ? p->calls[q - 1].hash : 0, h2 = q > 1 ? p->calls[q - 2].hash : 0;
			uint64_t part = mix(mix(mix(UINT64_C(1469598103934665603), cl->hash), h1), h2);
			if (cl->k >= 1 && cl->k <= count[cl->point]) {
				xappend(&parts[cl->point].of[cl->k - 1], &parts[cl->point].n[cl->k - 1], &part, sizeof part);
				xappend(&bare[cl->point].of[cl->k - 1], &bare[cl->point].n[cl->k - 1], &cl->hash,
					sizeof cl->hash);
			}
			xappend(&sites[cl->point], &nsites[cl->point], &cl->hash, sizeof cl->hash);
			const char *name = cands[cl->point];
			if (strncmp(name, "posix/", 6) == 0 && twin[cl->point] != -1) {
				char sys[128];
				snprintf(sys, sizeof sys, "tether/sys/%s", base_name(name));
				long s = cand_find(sorted, ncands, sys);
				bool under = s >= 0 && q > 0 && p->calls[q - 1].point == (int)s;
				twin[cl->point] = under ? s : -1;
			}
		}
	}
	/* one for one: in every process, as many calls of the twin as of the
	 * posix point (a process may make the tether/sys/ call through another
	 * libc function, or none) */
	for (size_t i = 0; i < nprocs; i++) {
		unsigned long *per = xcalloc(ncands ? ncands : 1, sizeof *per);
		for (size_t q = 0; q < procs[i].n; q++)
			per[procs[i].calls[q].point]++;
		for (size_t c = 0; c < ncands; c++)
			if (twin[c] >= 0 && per[twin[c]] != per[c])
				twin[c] = -1;
		free(per);
	}

	struct reached *r = xcalloc(ncands + 1, sizeof *r);
	size_t nr = 0;
	for (size_t c = 0; c < ncands; c++) {
		if (!count[c])
			continue;
		struct reached *x = &r[nr++];
		*x = (struct reached){.point = cands[c], .count = count[c]};
		if (nprocs) {
			classify(x, &parts[c], &bare[c]);
			qsort(sites[c], nsites[c], sizeof *sites[c], u64_cmp);
			size_t d = 0;
			for (size_t i = 0; i < nsites[c]; i++)
				if (i == 0 || sites[c][i] != sites[c][i - 1])
					sites[c][d++] = sites[c][i];
			x->sites = sites[c];
			x->nsites = d;
			sites[c] = NULL;
			if (twin[c] >= 0)
				x->twin = cands[twin[c]];
		}
	}
	for (size_t c = 0; c < ncands; c++) {
		for (unsigned long k = 0; k < count[c] && parts[c].of; k++) {
			free(parts[c].of[k]);
			free(bare[c].of[k]);
		}
		free(parts[c].of);
		free(parts[c].n);
		free(bare[c].of);
		free(bare[c].n);
		free(sites[c]);
	}
	for (size_t i = 0; i < nprocs; i++)
		free(procs[i].calls);
	free(procs);
	free(parts);
	free(bare);
	free(sites);
	free(nsites);
	free(twin);
	free(count);
	free(sorted);
	*ret = r;
	*ret_n = nr;
}

void faults_reached_free(struct reached *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].class_of);
		free(r[i].sig);
		free(r[i].site_sig);
		for (unsigned long k = 0; k < r[i].nclass && r[i].ksites; k++)
			free(r[i].ksites[k]);
		free(r[i].ksites);
		free(r[i].nksites);
		free(r[i].sites);
	}
	free(r);
}

size_t faults_new_sites(const char *sites_path, const char *point, unsigned long k, const uint64_t *known,
			size_t nknown, struct new_site **ret)
{
	int err;
	*ret = NULL;
	char *text = lab_read_file(sites_path, 256u << 20, NULL, &err), **lines;
	size_t n = text ? lab_split_lines(text, &lines) : 0, nret = 0;
	size_t plen = strlen(point);
	for (size_t i = 0; i < n; i++) {
		unsigned long kk;
		int pid;
		unsigned long long hash;
		if (strncmp(lines[i], "site ", 5) != 0 || strncmp(lines[i] + 5, point, plen) != 0 ||
		    lines[i][5 + plen] != ' ' || sscanf(lines[i] + 6 + plen, "%lu %d %llx", &kk, &pid, &hash) != 3 ||
		    kk >= k)
			continue;
		uint64_t h = hash;
		if (bsearch(&h, known, nknown, sizeof *known, u64_cmp))
			continue;
		bool dup = false;
		for (size_t d = 0; d < nret && !dup; d++)
			dup = (*ret)[d].hash == h;
		if (!dup) {
			struct new_site s = {kk, h};
			xappend(ret, &nret, &s, sizeof s);
		}
	}
	if (n)
		free(lines);
	free(text);
	return nret;
}
