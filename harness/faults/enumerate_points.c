/* SPDX-License-Identifier: MIT */
/* enumerate_points.c — the failure points `harness faults` knows, and the
 * errnos each one is failed with.
 *
 * Points: tether's own tether/sys/ points (every OS call libtether makes, sys.c)
 * and the libfiu POSIX preload's (libc calls through the dynamic linker:
 * those tether makes itself, e.g. fork in `tether start`, the write under
 * sys_write, libc's own opendir/readdir). The preload's list is
 * /usr/share/doc/fiu-utils/function_list.gz of libfiu 1.1; its /reduce
 * variants (short reads and writes, not errors) are left out.
 *
 * Errnos: every errno the call really returns at run time (SPEC G9: "with
 * any errno it can return") — what it says when the system is short of
 * something (ENOSPC, EDQUOT and EIO for writes, EAGAIN, ENOMEM and ENOSPC
 * for fork, EMFILE, ENFILE and ENOMEM for open ...), what a non-blocking
 * descriptor says (EAGAIN on read: a guardian that took it for "nothing yet"
 * spun), what a vanished file or process says (ENOENT, ESRCH), every errno a
 * caller in src/ tells apart, plus EINTR nearly everywhere (G7) — but not the
 * errnos of a caller's own bug (EBADF, EFAULT, ENOTSOCK). At most 8 a row.
 * The table is matched in order, first match wins, on the point's name.
 */
#include "config.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults/faults.h"
#include "common/common.h"
#include "fault.h"

static const char *const preload_points[] = {
	"posix/io/oc/open", "posix/io/oc/close",
	"posix/io/sync/fsync", "posix/io/sync/fdatasync", "linux/io/sync_file_range",
	"posix/io/rw/read", "posix/io/rw/pread", "posix/io/rw/readv", "posix/io/rw/preadv",
	"posix/io/rw/write", "posix/io/rw/pwrite", "posix/io/rw/writev", "posix/io/rw/pwritev",
	"posix/io/rw/truncate", "posix/io/rw/ftruncate",
	"posix/io/dir/opendir", "posix/io/dir/fdopendir", "posix/io/dir/readdir", "posix/io/dir/readdir_r",
	"posix/io/dir/closedir", "posix/io/dir/unlink", "posix/io/dir/rename",
	"posix/io/net/socket", "posix/io/net/bind", "posix/io/net/listen", "posix/io/net/accept",
	"posix/io/net/connect", "posix/io/net/recv", "posix/io/net/recvfrom", "posix/io/net/recvmsg",
	"posix/io/net/send", "posix/io/net/sendto", "posix/io/net/sendmsg", "posix/io/net/shutdown",
	"posix/io/net/select", "posix/io/net/pselect", "posix/io/net/poll",
	"posix/mm/mmap", "posix/mm/munmap", "posix/mm/msync", "posix/mm/mprotect", "posix/mm/madvise",
	"posix/mm/mlock", "posix/mm/munlock", "posix/mm/mlockall", "posix/mm/munlockall",
	"posix/proc/fork", "posix/proc/wait", "posix/proc/waitpid", "posix/proc/waitid",
	"posix/proc/kill", "posix/proc/signal", "posix/proc/sigaction",
	"posix/stdio/oc/fopen", "posix/stdio/oc/freopen", "posix/stdio/oc/fdopen",
	"posix/stdio/oc/fmemopen", "posix/stdio/oc/open_memstream", "posix/stdio/oc/popen",
	"posix/stdio/oc/pclose", "posix/stdio/tmp/tmpfile", "posix/stdio/tmp/tmpnam",
	"posix/stdio/tmp/tempnam", "posix/stdio/rw/fread", "posix/stdio/rw/fwrite",
	"posix/stdio/seek/fgetpos", "posix/stdio/seek/ftell", "posix/stdio/seek/ftello",
	"posix/stdio/seek/fseek", "posix/stdio/seek/fseeko", "posix/stdio/seek/fsetpos",
	"posix/stdio/gp/fgetc", "posix/stdio/gp/fgets", "posix/stdio/gp/getc", "posix/stdio/gp/getchar",
	"posix/stdio/gp/gets", "posix/stdio/gp/fputc", "posix/stdio/gp/fputs", "posix/stdio/gp/putc",
	"posix/stdio/gp/putchar", "posix/stdio/gp/puts", "posix/stdio/gp/ungetc",
	"posix/stdio/gp/getdelim", "posix/stdio/gp/getline", "posix/stdio/sp/vfprintf",
	"posix/stdio/sp/vprintf", "posix/stdio/sp/vdprintf", "posix/stdio/sp/vfscanf",
	"posix/stdio/sp/vscanf", "posix/stdio/remove", "posix/stdio/setvbuf",
	"posix/stdio/ftrylockfile", "posix/stdio/fflush",
	"libc/mm/malloc", "libc/mm/calloc", "libc/mm/realloc", "libc/str/strdup", "libc/str/strndup",
};

const char *const *faults_all_points(void)
{
	static const char **all;
	if (!all) {
		size_t n = 0;
		while (tether_sys_points[n])
			n++;
		size_t np = sizeof preload_points / sizeof preload_points[0];
		all = xcalloc(n + np + 1, sizeof *all);
		memcpy(all, tether_sys_points, n * sizeof *all);
		memcpy(all + n, preload_points, sizeof preload_points);
	}
	return all;
}

#define MAX_ERRNOS 8 /* enumerate.c asks for at most 8 */
#define E(x) {#x, x}
struct named_errno {
	const char *name;
	int value;
};

/* Globs over the point's name; the first that matches gives the errnos. */
static const struct {
	const char *glob;
	struct named_errno errs[MAX_ERRNOS];
} table[] = {
	{"libc/*", {E(ENOMEM)}},
	{"posix/mm/*", {E(ENOMEM), E(EAGAIN)}},
	/* tether/sys/fork is fork() and clone3(CLONE_NEWPID): a full PID
	 * namespace (ENOSPC), no privilege (EPERM), too many namespaces (EUSERS) */
	{"*/fork", {E(EAGAIN), E(ENOMEM), E(ENOSPC), E(EPERM), E(EUSERS), E(EINTR)}},
	{"tether/sys/execve", {E(ENOENT), E(EACCES), E(ENOMEM), E(E2BIG), E(ETXTBSY), E(ENOEXEC), E(EIO)}},
	{"*/write", {E(ENOSPC), E(EIO), E(EDQUOT), E(EFBIG), E(EAGAIN), E(EPIPE), E(EINTR)}},
	{"*/pwrite", {E(ENOSPC), E(EIO), E(EDQUOT), E(EFBIG), E(EAGAIN), E(EPIPE), E(EINTR)}},
	{"*/writev", {E(ENOSPC), E(EIO), E(EDQUOT), E(EFBIG), E(EAGAIN), E(EPIPE), E(EINTR)}},
	{"*/pwritev", {E(ENOSPC), E(EIO), E(EDQUOT), E(EFBIG), E(EAGAIN), E(EPIPE), E(EINTR)}},
	{"*/fwrite", {E(ENOSPC), E(EIO), E(EDQUOT), E(EFBIG), E(EPIPE), E(EINTR)}},
	{"posix/stdio/gp/*put*", {E(ENOSPC), E(EIO), E(EDQUOT), E(EPIPE), E(EINTR)}},
	{"posix/stdio/sp/v*printf", {E(ENOSPC), E(EIO), E(EDQUOT), E(EPIPE), E(EINTR)}},
	{"*/fflush", {E(ENOSPC), E(EIO), E(EDQUOT), E(EPIPE), E(EINTR)}},
	/* a read of a non-blocking descriptor (most of tether's) says EAGAIN;
	 * of /proc/PID/... of a process that just died, ESRCH */
	{"*/read", {E(EIO), E(EAGAIN), E(ESRCH), E(ENOMEM), E(EINTR)}},
	{"*/pread", {E(EIO), E(EAGAIN), E(ENOMEM), E(EINTR)}},
	{"*/readv", {E(EIO), E(EAGAIN), E(ENOMEM), E(EINTR)}},
	{"*/preadv", {E(EIO), E(EAGAIN), E(ENOMEM), E(EINTR)}},
	/* the /proc directory of a process that just died */
	{"*/getdents", {E(EIO), E(ENOENT), E(ENOMEM), E(EINTR)}},
	{"*sync*", {E(EIO), E(ENOSPC), E(EDQUOT), E(EROFS), E(EINTR)}},
	/* ENOENT: the pidfile's directory removed under us (G1) */
	{"*/rename", {E(EIO), E(ENOSPC), E(EDQUOT), E(EROFS), E(EACCES), E(ENOENT), E(EINTR)}},
	{"*/mkdir", {E(ENOSPC), E(EACCES), E(EDQUOT), E(EROFS), E(ENOENT), E(EEXIST), E(EINTR)}},
	{"*/rmdir", {E(EBUSY), E(ENOTEMPTY), E(EACCES), E(EROFS), E(EIO), E(ENOENT), E(EINTR)}},
	{"*/unlink", {E(EIO), E(EACCES), E(EPERM), E(EROFS), E(EBUSY), E(ENOENT), E(EINTR)}},
	{"*/remove", {E(EIO), E(EACCES), E(EPERM), E(EROFS), E(EBUSY), E(ENOENT), E(EINTR)}},
	{"*/open", {E(EMFILE), E(ENFILE), E(EACCES), E(ENOENT), E(ENOMEM), E(ELOOP), E(ENOSPC), E(EINTR)}},
	{"*/fopen", {E(EMFILE), E(ENFILE), E(EACCES), E(ENOENT), E(ENOMEM), E(ENOSPC), E(EINTR)}},
	{"*/fdopen", {E(EMFILE), E(ENOMEM), E(EINVAL), E(EINTR)}},
	{"*/opendir", {E(EMFILE), E(ENFILE), E(EACCES), E(ENOENT), E(ENOMEM), E(EINTR)}},
	{"*/fdopendir", {E(EMFILE), E(ENOMEM), E(EINTR)}},
	{"*/stat", {E(EIO), E(EACCES), E(ENOENT), E(ENOMEM), E(ELOOP), E(ENOTDIR), E(EINTR)}},
	{"*/fstat", {E(EIO), E(ENOMEM), E(EINTR)}},
	{"*/statvfs", {E(EIO), E(EACCES), E(ENOENT), E(ENOMEM), E(EINTR)}},
	{"*/readlink", {E(EIO), E(EACCES), E(ENOENT), E(ENOMEM), E(EINVAL), E(EINTR)}},
	{"*/*truncate", {E(EIO), E(EFBIG), E(ENOSPC), E(EROFS), E(EINTR)}},
	{"*/flock", {E(ENOLCK), E(EAGAIN), E(EINTR)}},
	{"*/dup", {E(EMFILE), E(EBUSY), E(EINTR)}},
	{"*/close", {E(EIO), E(ENOSPC), E(EDQUOT), E(EINTR)}},
	{"*/pipe", {E(EMFILE), E(ENFILE), E(ENOMEM), E(EINTR)}},
	{"*/socket", {E(EMFILE), E(ENFILE), E(ENOBUFS), E(ENOMEM), E(EINTR)}},
	{"*/socketpair", {E(EMFILE), E(ENFILE), E(ENOBUFS), E(ENOMEM), E(EINTR)}},
	{"*/signalfd", {E(EMFILE), E(ENFILE), E(ENOMEM), E(ENODEV), E(EINTR)}},
	{"*/inotify_init", {E(EMFILE), E(ENFILE), E(ENOMEM), E(EINTR)}},
	{"*/timerfd_create", {E(EMFILE), E(ENFILE), E(ENOMEM), E(ENODEV), E(EINTR)}},
	/* ENOSYS: a kernel without pidfds, which proctree.c tells apart */
	{"*/pidfd_open", {E(EMFILE), E(ENFILE), E(ENOMEM), E(ESRCH), E(ENOSYS), E(EINTR)}},
	{"*/inotify_add_watch", {E(ENOSPC), E(EACCES), E(ENOENT), E(ENOMEM), E(EINTR)}},
	{"*/inotify_rm_watch", {E(EINVAL), E(EINTR)}},
	{"*/bind", {E(EADDRINUSE), E(EACCES), E(ENOMEM), E(EINTR)}},
	{"*/listen", {E(EADDRINUSE), E(EINTR)}},
	{"*/accept", {E(EMFILE), E(ENFILE), E(ECONNABORTED), E(ENOMEM), E(ENOBUFS), E(EAGAIN), E(EINTR)}},
	{"*/connect", {E(ECONNREFUSED), E(EAGAIN), E(ENOENT), E(EACCES), E(EINTR)}},
	/* EPERM, ESRCH: credentials the kernel refuses to pass (guardian.c) */
	{"*/send*", {E(EAGAIN), E(ENOBUFS), E(ENOMEM), E(EPIPE), E(ECONNREFUSED), E(ECONNRESET), E(EPERM), E(EINTR)}},
	{"*/recv*", {E(EAGAIN), E(ENOMEM), E(ECONNRESET), E(ECONNREFUSED), E(EINTR)}},
	{"*/*sockopt", {E(ENOMEM), E(ENOBUFS), E(EINTR)}},
	{"*/poll", {E(ENOMEM), E(EINVAL), E(EINTR)}},
	{"*/*select", {E(ENOMEM), E(EINTR)}},
	{"*/wait*", {E(ECHILD), E(EINVAL), E(EINTR)}},
	{"*/kill", {E(ESRCH), E(EPERM), E(EINTR)}},
	{"*/pidfd_send_signal", {E(ESRCH), E(EPERM), E(EINVAL), E(EINTR)}},
	{"*/setpgid", {E(EPERM), E(EACCES), E(ESRCH), E(EINTR)}},
	{"*/setsid", {E(EPERM), E(EINTR)}},
	{"*/prctl", {E(EINVAL), E(EPERM), E(EINTR)}},
	{"*/setrlimit", {E(EPERM), E(EINVAL), E(EINTR)}},
	{"*/fchmod", {E(EPERM), E(EIO), E(EROFS), E(EINTR)}},
	{"*/setid", {E(EPERM), E(EAGAIN), E(EINVAL)}},
	{"*/chdir", {E(EACCES), E(ENOENT), E(EINTR)}},
	{"*/fchown", {E(EPERM), E(EIO), E(EINTR)}},
	{"*/sig*", {E(EINVAL), E(EINTR)}},
	{"*/fcntl", {E(EINVAL), E(EINTR)}},
	{"*/close_range", {E(EINVAL), E(ENOMEM), E(EINTR)}},
	{"*", {E(EIO), E(EINTR)}},
};
#undef E

size_t faults_point_errnos(const char *point, int *ret, size_t max)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		if (fnmatch(table[i].glob, point, 0) != 0)
			continue;
		size_t n = 0;
		for (size_t k = 0; k < MAX_ERRNOS && table[i].errs[k].name && n < max; k++)
			ret[n++] = table[i].errs[k].value;
		return n;
	}
	return 0;
}

void faults_print_errno_table(FILE *to, const char *prefix)
{
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
		fprintf(to, "%s%-24s", prefix, table[i].glob);
		for (size_t k = 0; k < MAX_ERRNOS && table[i].errs[k].name; k++)
			fprintf(to, " %s=%d", table[i].errs[k].name, table[i].errs[k].value);
		fputc('\n', to);
	}
}

const char *faults_point_unrealistic(const char *point)
{
	/* libfiu's preload fails these without calling the real function: the
	 * descriptor stays open, which Linux never does (close releases it
	 * whatever it reports), so a "failure" there tests a leak that cannot
	 * happen. tether/sys/close models it right (sys.c closes, then fails). */
	static const char *const leaky[] = {"posix/io/oc/close", "posix/io/dir/closedir", "posix/stdio/oc/pclose", NULL};
	for (const char *const *p = leaky; *p; p++)
		if (strcmp(*p, point) == 0)
			return "libfiu fails it without closing: a descriptor leak Linux never produces";
	return NULL;
}

bool faults_glob_match(const char *globs, const char *point)
{
	char *copy = xstrdup(globs);
	bool match = false;
	for (char *save = NULL, *g = strtok_r(copy, ",", &save); g && !match; g = strtok_r(NULL, ",", &save))
		match = fnmatch(g, point, 0) == 0;
	free(copy);
	return match;
}

bool faults_exact_match(const char *globs, const char *point)
{
	char *copy = xstrdup(globs);
	bool match = false;
	for (char *save = NULL, *g = strtok_r(copy, ",", &save); g && !match; g = strtok_r(NULL, ",", &save))
		match = strcmp(g, point) == 0;
	free(copy);
	return match;
}

static void add_point(char ***v, size_t *n, const char *point, size_t len)
{
	for (size_t i = 0; i < *n; i++)
		if (strlen((*v)[i]) == len && strncmp((*v)[i], point, len) == 0)
			return;
	char *s = xstrndup(point, len);
	xappend(v, n, &s, sizeof s);
}

static void collect(const struct step *steps, size_t n, char ***v, size_t *nv)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == S_FAULT) {
			add_point(v, nv, st->point, strlen(st->point));
		} else if (st->kind == S_FIU && st->argc > 0) {
			/* "enable name=POINT,failinfo=..." (a pattern with * excludes
			 * what it matches: faults_glob_match treats it as a glob) */
			const char *t = st->argv[0].tmpl;
			for (const char *p = strstr(t, "name="); p; p = strstr(p + 5, "name="))
				add_point(v, nv, p + 5, strcspn(p + 5, ", \n"));
		} else if (st->kind == S_REPEAT) {
			collect(st->body, st->nbody, v, nv);
		}
	}
}

char **faults_scenario_points(const struct scenario *scn)
{
	char **v = NULL;
	size_t n = 0;
	collect(scn->steps, scn->nsteps, &v, &n);
	char *end = NULL;
	xappend(&v, &n, &end, sizeof end);
	return v;
}
