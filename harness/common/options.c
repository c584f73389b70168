/* SPDX-License-Identifier: MIT */
/* options.c — what the subcommands' options share (see common.h): where
 * tether, the fixtures, the sources and the reports are, and the seed.
 *
 * One rule for all of them, so that `harness run`, `stress`, `soak`,
 * `faults` and `report` started from the same place test the same tether
 * and write to the same reports: a harness run from a build tree uses that
 * tree's tether, fixtures and reports/ unless told otherwise.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "parse.h"

/* The top of the tree this harness was built in (.../harness/harness -> ...). */
static char *build_top(void)
{
	char *top = lab_absolute("/proc/self/exe");
	if (!top)
		return xstrdup(".");
	for (int i = 0; i < 2; i++) {
		char *slash = strrchr(top, '/');
		if (slash)
			*slash = '\0';
	}
	return top;
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

/* path made absolute, if it is an executable file; else NULL. */
static char *executable(const char *path)
{
	char *abs = lab_absolute(path);
	if (abs && access(abs, X_OK) == 0)
		return abs;
	free(abs);
	return NULL;
}

void lab_paths_find(struct lab_paths *ret, const char *tether_arg, const char *worker_arg, const char *report_arg)
{
	char *top = build_top();
	char *built = xasprintf("%s/src/tether", top);
	*ret = (struct lab_paths){.srcdir = lab_srcdir()};
	ret->tether_asked = xstrdup(tether_arg ? tether_arg : env_or("TETHER", built));
	ret->tether = executable(ret->tether_asked);
	const char *fixtures = getenv("HARNESS_FIXTURES");
	ret->fixtures = fixtures && *fixtures ? xstrdup(fixtures) : xasprintf("%s/fixtures", top);
	ret->worker_asked = worker_arg ? xstrdup(worker_arg) : xasprintf("%s/worker", ret->fixtures);
	ret->worker = executable(ret->worker_asked);
	ret->report = report_arg ? xstrdup(report_arg)
		      : access(built, X_OK) == 0 ? xasprintf("%s/reports", top) : xstrdup("reports");
	free(built);
	free(top);
}

/* May a user who is neither the owner nor in the group reach path: every
 * directory above it searchable by others, the file itself executable? */
static bool others_reach(const char *path)
{
	struct stat st;
	if (!path || stat(path, &st) < 0 || !(st.st_mode & S_IXOTH))
		return false;
	char *dir = xstrdup(path);
	bool ok = true;
	for (char *slash; ok && (slash = strrchr(dir, '/')) && slash != dir;) {
		*slash = '\0';
		ok = stat(dir, &st) == 0 && (st.st_mode & S_IXOTH);
	}
	free(dir);
	return ok;
}

static bool is_elf(const char *path)
{
	char magic[4] = {0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool elf = fd >= 0 && read(fd, magic, sizeof magic) == (ssize_t)sizeof magic && memcmp(magic, "\177ELF", 4) == 0;
	if (fd >= 0)
		close(fd);
	return elf;
}

/* from (a regular file) copied to to, mode 0755. */
static int copy_program(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
	struct stat st;
	int r = out < 0 || fstat(in, &st) < 0 ? -1 : 0;
	for (off_t off = 0; r == 0 && off < st.st_size;) {
		ssize_t n = sendfile(out, in, &off, (size_t)(st.st_size - off));
		if (n <= 0)
			r = -1;
	}
	int saved = errno;
	close(in);
	if (out >= 0 && (close(out) < 0 || fchmodat(AT_FDCWD, to, 0755, 0) < 0))
		r = -1;
	errno = r < 0 ? saved : errno;
	return r;
}

int lab_paths_stage(struct lab_paths *p)
{
	if (p->staged || !p->tether)
		return 0;
	char *worker = xasprintf("%s/worker", p->fixtures);
	bool reach = others_reach(p->tether) && others_reach(worker);
	free(worker);
	if (reach)
		return 0;
	/* TMPDIR may be private too (a test's own mktemp -d): then the
	 * system's temporary directories */
	const char *bases[] = {env_or("TMPDIR", "/tmp"), "/tmp", "/var/tmp", "/dev/shm"};
	char *dir = NULL;
	for (size_t i = 0; !dir && i < sizeof bases / sizeof bases[0]; i++) {
		dir = xasprintf("%s/tether-lab-programs.XXXXXX", bases[i]);
		if (!mkdtemp(dir)) {
			free(dir);
			dir = NULL;
		} else if (chmod(dir, 0755) < 0 || !others_reach(dir)) {
			rmdir(dir);
			free(dir);
			dir = NULL;
		}
	}
	if (!dir) {
		errno = EACCES;
		return -1;
	}
	p->staged = dir;
	char *fixtures = xasprintf("%s/fixtures", dir);
	char *tether = xasprintf("%s/tether", dir);
	/* A tether that is a script (check-mutants' wrappers) finds what it
	 * runs from where it lies: it stays where it is. */
	bool copy_tether = is_elf(p->tether);
	int r = mkdir(fixtures, 0755) < 0 || (copy_tether && copy_program(p->tether, tether) < 0) ? -1 : 0;
	DIR *d = r == 0 ? opendir(p->fixtures) : NULL;
	for (struct dirent *e; d && r == 0 && (e = readdir(d));) {
		/* the programs: executable regular files, not the objects */
		char *from = xasprintf("%s/%s", p->fixtures, e->d_name);
		struct stat st;
		if (e->d_name[0] != '.' && stat(from, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IXUSR)) {
			char *to = xasprintf("%s/%s", fixtures, e->d_name);
			r = copy_program(from, to);
			free(to);
		}
		free(from);
	}
	if (d)
		closedir(d);
	else if (r == 0)
		r = -1;
	if (r == 0) {
		char *default_worker = xasprintf("%s/worker", p->fixtures);
		if (strcmp(p->worker_asked, default_worker) == 0) {
			free(p->worker);
			p->worker = xasprintf("%s/worker", fixtures);
		}
		free(default_worker);
		if (copy_tether) {
			free(p->tether);
			p->tether = tether;
			setenv("TETHER", tether, 1);
		} else {
			free(tether);
		}
		free(p->fixtures);
		p->fixtures = fixtures;
		setenv("HARNESS_FIXTURES", fixtures, 1);
		return 0;
	}
	free(tether);
	free(fixtures);
	return -1;
}

void lab_paths_done(struct lab_paths *p)
{
	if (p->staged) {
		lab_rm_rf(p->staged);
		free(p->staged);
	}
	free(p->tether);
	free(p->tether_asked);
	free(p->fixtures);
	free(p->worker);
	free(p->worker_asked);
	free(p->report);
	*p = (struct lab_paths){0};
}

const char *lab_srcdir(void)
{
	return env_or("TETHER_SRCDIR", HARNESS_SRCDIR);
}

int lab_seed_parse(const char *s, uint64_t *ret)
{
	return tether_parse_uint(s, 0, UINT64_MAX, ret) < 0 ? -1 : 0;
}

uint64_t lab_seed_random(void)
{
	uint64_t r = 0;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = (uint64_t)time(NULL) ^ (uint64_t)getpid();
	return r % 1000000000ULL;
}
