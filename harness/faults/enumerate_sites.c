/* SPDX-License-Identifier: MIT */
/* enumerate_sites.c — which errnos a call site tells apart (--ci).
 *
 * A failing call returns its errno to the code on its call stack. An errno
 * that none of the source files of that stack compares with (== or != it,
 * a case of a switch) takes the same path there as any other such errno:
 * at that call site, the first of them stands for the rest. (Returning an
 * errno of one's own, -EIO, does not tell incoming ones apart; src/ maps no
 * errno to an exit code by table: each outcome is set where it happens.) The files are those of the
 * tether frames of the site's stack (addr2line), read from the sources;
 * EINTR always counts as named (sys.c's retry, SYSCALL_RETRY in sys.h). A
 * site whose files cannot be found names every errno. Per file, not per
 * function: a helper of the same file that maps the errno after the call
 * returned (an exit code chosen from it) counts.
 *
 * The database is shared by every target of an enumeration: the same
 * binary's frames mean the same code in every scenario.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/faults.h"
#include "common/common.h"

/* How many of tether's innermost frames make a site "the same place" across
 * scenarios (sys.c's wrapper, its caller, and theirs). */
#define SITE_NEAR 8

struct site_entry {
	uint64_t hash;
	char *frames;       /* " MODULE+OFFSET ...", until resolved */
	bool resolved;
	uint64_t mask[4];   /* the errnos (below 256) its files name */
	uint64_t near;      /* the hash of its innermost SITE_NEAR tether frames */
};

struct file_entry {
	char *base;         /* "pidfile.c" */
	bool found;
	uint64_t mask[4];
};

struct site_db {
	struct site_entry *v;
	size_t n;
	size_t *index;      /* open addressing over v: index+1, 0 empty */
	size_t cap;
	struct file_entry *files;
	size_t nfiles;
	const char *tether, *srcdir;
	unsigned long resolved_sites;
};

struct site_db *faults_site_db_new(const char *tether, const char *srcdir)
{
	struct site_db *db = xcalloc(1, sizeof *db);
	db->tether = tether;
	db->srcdir = srcdir;
	return db;
}

void faults_site_db_free(struct site_db *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++)
		free(db->v[i].frames);
	free(db->v);
	free(db->index);
	for (size_t i = 0; i < db->nfiles; i++)
		free(db->files[i].base);
	free(db->files);
	free(db);
}

static struct site_entry *find(struct site_db *db, uint64_t hash)
{
	if (!db->cap)
		return NULL;
	for (size_t at = hash & (db->cap - 1);; at = (at + 1) & (db->cap - 1)) {
		if (!db->index[at])
			return NULL;
		if (db->v[db->index[at] - 1].hash == hash)
			return &db->v[db->index[at] - 1];
	}
}

static void reindex(struct site_db *db, size_t cap)
{
	free(db->index);
	db->cap = cap;
	db->index = xcalloc(cap, sizeof *db->index);
	for (size_t i = 0; i < db->n; i++) {
		size_t at = db->v[i].hash & (cap - 1);
		while (db->index[at])
			at = (at + 1) & (cap - 1);
		db->index[at] = i + 1;
	}
}

/* The hash of the innermost n frames of tether's own (MODULE base) in frames. */
static uint64_t near_hash(const char *frames, const char *base, int n)
{
	size_t blen = strlen(base);
	uint64_t h = UINT64_C(1469598103934665603);
	int got = 0;
	for (const char *w = frames; *w && got < n;) {
		while (*w == ' ')
			w++;
		size_t len = strcspn(w, " ");
		if (len > blen && strncmp(w, base, blen) == 0 && w[blen] == '+') {
			for (size_t i = 0; i < len; i++)
				h = (h ^ (unsigned char)w[i]) * UINT64_C(1099511628211);
			got++;
		}
		w += len;
	}
	return h;
}

void faults_site_db_add(struct site_db *db, uint64_t hash, const char *frames)
{
	if (find(db, hash))
		return;
	const char *base = strrchr(db->tether, '/') ? strrchr(db->tether, '/') + 1 : db->tether;
	struct site_entry e = {.hash = hash, .frames = xstrdup(frames), .near = near_hash(frames, base, SITE_NEAR)};
	xappend(&db->v, &db->n, &e, sizeof e);
	if (2 * db->n > db->cap)
		reindex(db, db->cap ? 2 * db->cap : 256);
	else {
		size_t at = hash & (db->cap - 1);
		while (db->index[at])
			at = (at + 1) & (db->cap - 1);
		db->index[at] = db->n;
	}
}

static void mask_set(uint64_t mask[4], int err)
{
	if (err > 0 && err < 256)
		mask[err / 64] |= UINT64_C(1) << (err % 64);
}

static void mask_all(uint64_t mask[4])
{
	for (int i = 0; i < 4; i++)
		mask[i] = ~UINT64_C(0);
}

static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Is the identifier text[at, end) an operand of == or !=, or a case label
 * (an optional minus sign between)? */
static bool in_comparison(const char *text, size_t at, size_t end)
{
	size_t b = at;
	while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\n'))
		b--;
	if (b > 0 && text[b - 1] == '-') {
		b--;
		while (b > 0 && (text[b - 1] == ' ' || text[b - 1] == '\t'))
			b--;
	}
	if (b >= 2 && (text[b - 1] == '=' && (text[b - 2] == '=' || text[b - 2] == '!')))
		return true;
	if (b >= 4 && strncmp(text + b - 4, "case", 4) == 0 && (b == 4 || !ident_char(text[b - 5])))
		return true;
	const char *f = text + end;
	while (*f == ' ' || *f == '\t' || *f == ')')
		f++;
	return (f[0] == '=' || f[0] == '!') && f[1] == '=';
}

/* The errnos C text compares with, into mask (the text is blanked in its
 * comments and literals). */
static void compared(char *text, uint64_t mask[4])
{
	faults_code_only(text);
	for (size_t p = 0; text[p]; p++) {
		if (text[p] != 'E' || (p > 0 && ident_char(text[p - 1])))
			continue;
		size_t e = p + 1;
		while ((text[e] >= 'A' && text[e] <= 'Z') || (text[e] >= '0' && text[e] <= '9'))
			e++;
		if (e == p + 1 || ident_char(text[e]))
			continue;
		if (in_comparison(text, p, e)) {
			char *name = xstrndup(text + p, e - p);
			mask_set(mask, lab_errno_parse(name));
			free(name);
		}
		p = e - 1;
	}
}

/* The errnos a source file compares with, by its base name under src/, src/cli/,
 * src/lab/. */
static const struct file_entry *file_of(struct site_db *db, const char *base)
{
	for (size_t i = 0; i < db->nfiles; i++)
		if (strcmp(db->files[i].base, base) == 0)
			return &db->files[i];
	struct file_entry f = {.base = xstrdup(base)};
	static const char *const dirs[] = {"src", "src/cli", "src/lab"};
	for (size_t d = 0; d < sizeof dirs / sizeof dirs[0] && !f.found && db->srcdir; d++) {
		char *path = xasprintf("%s/%s/%s", db->srcdir, dirs[d], base);
		int err;
		char *text = lab_read_file(path, 1u << 22, NULL, &err);
		free(path);
		if (!text)
			continue;
		f.found = true;
		compared(text, f.mask);
		free(text);
	}
	xappend(&db->files, &db->nfiles, &f, sizeof f);
	return &db->files[db->nfiles - 1];
}

void faults_site_db_resolve(struct site_db *db)
{
	const char *base = strrchr(db->tether, '/') ? strrchr(db->tether, '/') + 1 : db->tether;
	size_t blen = strlen(base);
	/* every tether offset of every site not resolved yet, in one addr2line */
	char **offs = NULL;
	size_t noffs = 0;
	size_t *owner = NULL, nowner = 0;
	for (size_t i = 0; i < db->n; i++) {
		struct site_entry *e = &db->v[i];
		if (e->resolved)
			continue;
		char *copy = xstrdup(e->frames);
		for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			if (strncmp(w, base, blen) != 0 || w[blen] != '+')
				continue;
			/* a return address: the call is the byte before it */
			char *o = xasprintf("0x%lx", strtoul(w + blen + 1, NULL, 16) - 1);
			xappend(&offs, &noffs, &o, sizeof o);
			xappend(&owner, &nowner, &i, sizeof i);
		}
		free(copy);
	}
	char *text = faults_addr2line(db->tether, offs, noffs), **lines = NULL;
	size_t nlines = text ? lab_split_lines(text, &lines) : 0;
	bool ok = nlines == 2 * noffs;
	for (size_t i = 0; i < db->n; i++) {
		struct site_entry *e = &db->v[i];
		if (e->resolved)
			continue;
		e->resolved = true;
		db->resolved_sites++;
		free(e->frames);
		e->frames = NULL;
		if (!ok) /* nothing known: every errno is its own path */
			mask_all(e->mask);
		mask_set(e->mask, EINTR);
	}
	for (size_t o = 0; ok && o < noffs; o++) {
		struct site_entry *e = &db->v[owner[o]];
		const char *at = lines[2 * o + 1];
		const char *slash = strrchr(at, '/');
		char *file = xstrdup(slash ? slash + 1 : at);
		file[strcspn(file, ": ")] = '\0';
		if (strcmp(file, "??") == 0 || !*file) {
			free(file);
			continue; /* a frame without line information: the fault layer's, libfiu's */
		}
		const struct file_entry *f = file_of(db, file);
		if (!f->found)
			mask_all(e->mask);
		for (int w = 0; w < 4; w++)
			e->mask[w] |= f->mask[w];
		free(file);
	}
	for (size_t i = 0; i < noffs; i++)
		free(offs[i]);
	free(offs);
	free(owner);
	if (nlines)
		free(lines);
	free(text);
}

bool faults_site_names(struct site_db *db, uint64_t hash, int err)
{
	const struct site_entry *e = db ? find(db, hash) : NULL;
	if (!e || !e->resolved || err <= 0 || err >= 256)
		return true;
	return (e->mask[err / 64] >> (err % 64)) & 1;
}

uint64_t faults_site_near(struct site_db *db, uint64_t hash)
{
	const struct site_entry *e = db ? find(db, hash) : NULL;
	return e ? e->near : hash;
}

size_t faults_site_db_size(const struct site_db *db)
{
	return db ? db->n : 0;
}
