/* SPDX-License-Identifier: MIT */
/* finish.c — one scenario from set-up to result: the private directory,
 * the event sources, running the steps (exec.c), then the checks every
 * scenario gets whether it asked or not:
 *   - orphans: every process still carrying the run marker, after a grace of
 *     opt->grace (G2's 2 s, for the kernel to finish tearing a killed tree
 *     down), fails the scenario, and is SIGKILLed through a pidfd — so one
 *     failing scenario never leaves anything to poison the next;
 *   - pidfiles: every *.pid under the scenario's directory is absent or a
 *     complete record (G3) — unless the scenario says `pidfile-check off`
 *     because it plants broken ones on purpose;
 *   - libfiu: a process whose FIU_ENABLE was rejected ran without its faults:
 *     that explains whatever else failed, so it becomes the result;
 *   - memcheck (--valgrind): errors, definite leaks and leaked descriptors.
 * Then what a scenario mounted under its directory (a small tmpfs to fill)
 * is detached, whatever step failed before its own umount: a kept
 * directory must not hold a mount, nor a removed one fail on it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "common/common.h"
#include "run/run.h"
#include "pidfile.h"

void lab_result_clear(struct lab_result *r)
{
	free(r->location);
	free(r->message);
	free(r->details);
	free(r->dir);
	memset(r, 0, sizeof *r);
}

static bool in_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	char *copy = xstrdup(path);
	bool found = false;
	for (char *save = NULL, *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = xasprintf("%s/%s", d, prog);
		found = access(p, X_OK) == 0;
		free(p);
	}
	free(copy);
	return found;
}

/* Does any fault/fiu step (in repeats too) use libfiu's POSIX preload? */
static bool uses_libc_points(const struct step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == S_FAULT && (strncmp(st->point, "posix/", 6) == 0 || strncmp(st->point, "libc/", 5) == 0))
			return true;
		if (st->kind == S_FIU && (strstr(st->argv[0].tmpl, "posix/") || strstr(st->argv[0].tmpl, "libc/")))
			return true;
		if (st->kind == S_REPEAT && uses_libc_points(st->body, st->nbody))
			return true;
	}
	return false;
}

/* Whether the tether under test has fault points: its `--version` says so
 * (a build without libfiu, or a static one, prints "fault points: none").
 * Asked once per path. */
static bool tether_has_faults(const char *tether)
{
	static char *asked;
	static bool answer;
	if (asked && strcmp(asked, tether) == 0)
		return answer;
	free(asked);
	asked = xstrdup(tether);
	answer = false;
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return answer;
	extern char **environ;
	char *argv[] = {(char *)tether, "--version", NULL};
	struct lab_spawn sp = {.argv = argv, .envp = environ, .out = fds[1], .err = STDERR_FILENO, .barrier = -1,
			       .barrier_w = -1, .errpipe = -1};
	pid_t pid;
	int pidfd = -1;
	int r = lab_spawn(&sp, &pid, &pidfd);
	close(fds[1]);
	char buf[256];
	size_t len = 0;
	ssize_t n;
	while (r == 0 && len < sizeof buf - 1 && ((n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0 ||
						 (n < 0 && errno == EINTR)))
		len += n > 0 ? (size_t)n : 0;
	buf[len] = '\0';
	close(fds[0]);
	int status = 0;
	while (r == 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pidfd >= 0)
		close(pidfd);
	answer = r == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(buf, "\nfault points: tether/sys/");
	return answer;
}

void lab_wait_marked(struct lab *lab, const struct marked *m, size_t n, int64_t deadline)
{
	int *fds = xcalloc(n ? n : 1, sizeof *fds);
	size_t nfds = 0;
	for (size_t i = 0; i < n; i++)
		if ((fds[nfds] = pidfd_open(m[i].pid, 0)) >= 0)
			nfds++;
	lab_wait_event(lab, deadline, fds, nfds);
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
	free(fds);
}

char *lab_requirements_unmet(const struct scenario *scn, const struct lab_options *opt)
{
#ifdef TETHER_SANITIZERS
	/* libfiu's POSIX preload wraps malloc, and its wrapper runs before
	 * AddressSanitizer has set itself up: the process dies at start-up. */
	if (uses_libc_points(scn->steps, scn->nsteps))
		return xstrdup("libfiu's POSIX preload crashes a sanitizer build at start-up");
#else
	(void)uses_libc_points;
#endif
	for (size_t i = 0; i < scn->nrequires; i++) {
		const char *r = scn->requires[i];
		if (strcmp(r, "root") == 0 && geteuid() != 0)
			return xstrdup("needs root");
		if (strcmp(r, "fiu") == 0 && (!tether_fault_available() || !*FIU_RUN_PRELOAD || access(FIU_RUN_PRELOAD, R_OK) < 0))
			return xstrdup("needs libfiu (fault points compiled in, and its preload libraries)");
		if (strcmp(r, "fiu") == 0 && !tether_has_faults(opt->tether))
			return xasprintf("needs a tether with fault points (`%s --version` names none)", opt->tether);
		if (strcmp(r, "no-valgrind") == 0 && opt->valgrind)
			return xstrdup("does not run under --valgrind");
		if (strcmp(r, "sdnotify") == 0) {
			char *p = xasprintf("%s/sdnotify", opt->fixtures);
			bool ok = access(p, X_OK) == 0;
			free(p);
			if (!ok)
				return xstrdup("needs fixtures/sdnotify (libsystemd-dev)");
		}
		if (strncmp(r, "program ", 8) == 0 && !in_path(r + 8))
			return xasprintf("needs %s in PATH", r + 8);
	}
	return NULL;
}

/* Makes this failure the result, keeping the earlier one as a detail. */
static void fail_first(struct lab *lab, unsigned line, char *msg)
{
	if (lab->failed) {
		lab_detail(lab, "%s:%u: %s", lab->scn->path, lab->fail_line, lab->fail_msg);
		free(lab->fail_msg);
	}
	lab->failed = true;
	lab->fail_line = line;
	lab->fail_msg = msg;
}

static void describe_marked(struct lab *lab, const struct marked *m, size_t n, struct tether_buf *out,
			    unsigned *ret_line)
{
	*ret_line = 0;
	for (size_t i = 0; i < n; i++) {
		struct proc *p = m[i].seq ? lab_find_seq(lab, m[i].seq) : NULL;
		if (i == 8) {
			tether_buf_printf(out, ", ...");
			break;
		}
		if (p && !*ret_line)
			*ret_line = p->line;
		if (p)
			tether_buf_printf(out, "%spid %d (%s, from %s spawned at line %u)", i ? ", " : "", (int)m[i].pid,
					  m[i].comm, p->name, p->line);
		else
			tether_buf_printf(out, "%spid %d (%s, from %s)", i ? ", " : "", (int)m[i].pid, m[i].comm, m[i].spawn);
	}
}

static void end_orphans(struct lab *lab)
{
	lab_pump(lab);
	/* After a failure the plan stopped midway: what runs then is expected. */
	int64_t grace_end = lab_now() + (lab->failed ? 0 : lab->opt->grace);
	struct marked *m;
	size_t n;
	for (;;) {
		n = orphans_scan(lab->run_id, &m);
		if (n == 0 || lab_now() >= grace_end || lab->interrupted)
			break;
		lab_wait_marked(lab, m, n, grace_end);
		free(m);
		lab_pump(lab);
	}
	if (n > 0) {
		struct tether_buf list;
		tether_buf_init(&list);
		unsigned line;
		describe_marked(lab, m, n, &list, &line);
		char g[32];
		if (!lab->failed)
			lab_fail(lab, line ? line : lab->last_line, "%zu orphan%s alive after the scenario (%s grace): %s; killed",
				 n, n == 1 ? "" : "s", lab_fmt_ns(lab->opt->grace, g, sizeof g), list.data);
		else
			lab_detail(lab, "still running when the scenario stopped (killed): %s", list.data);
		tether_buf_done(&list);
	}
	free(m);
	size_t left = orphans_kill_all(lab->run_id, lab_now() + 5 * NS_PER_SEC);
	if (left)
		lab_fail(lab, lab->last_line, "%zu process%s carrying the run marker survived SIGKILL for 5s", left,
			 left == 1 ? "" : "es");
	/* our own children: killed above if they still ran; now reap them */
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		if (p->exited)
			continue;
		if (p->pidfd >= 0)
			pidfd_send_signal(p->pidfd, SIGKILL, NULL, 0);
		siginfo_t si;
		memset(&si, 0, sizeof si);
		while (waitid(P_PID, (id_t)p->pid, &si, WEXITED) < 0 && errno == EINTR)
			;
		p->exited = true;
		p->t_exit = lab_now();
		p->code = si.si_code == CLD_EXITED ? si.si_status : -1;
		p->sig = si.si_code == CLD_EXITED ? 0 : si.si_status;
	}
}

static void check_pidfiles(struct lab *lab, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		struct stat st;
		size_t len = strlen(e->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && depth < 4) {
			check_pidfiles(lab, path, depth + 1);
		} else if (len > 4 && strcmp(e->d_name + len - 4, ".pid") == 0) {
			struct tether_pidrecord rec;
			int r = tether_pidfile_read(path, &rec);
			if (r == 0)
				tether_pidrecord_done(&rec);
			else if (r != -ENOENT)
				lab_fail(lab, lab->last_line,
					 "after the scenario, pidfile %s is neither absent nor a complete record: %s", path,
					 strerror(-r));
		}
		free(path);
	}
	if (d)
		closedir(d);
}

/* The last lines of a process's stderr, for the details of a failure. */
static void stderr_tail(struct lab *lab, const struct proc *p)
{
	int err;
	size_t len;
	char *text = lab_read_file(p->err_path, 16u << 20, &len, &err);
	if (text && len > 0) {
		char **lines;
		size_t n = lab_split_lines(text, &lines);
		char end[48] = "running";
		if (p->exited && p->code >= 0)
			snprintf(end, sizeof end, "exit %d", p->code);
		else if (p->exited)
			snprintf(end, sizeof end, "signal %s", lab_signal_name(p->sig));
		lab_detail(lab, "stderr of %s (pid %d, %s):", p->name, (int)p->pid, end);
		for (size_t i = n > 6 ? n - 6 : 0; i < n; i++)
			lab_detail(lab, "  %s", lines[i]);
		free(lines);
	}
	free(text);
}

/* Mount points in /proc/self/mountinfo (field 5, octal escapes undone) under
 * dir/, detached deepest first. Only root mounts; for others nothing is
 * there to find. */
static void unmount_under(const char *dir)
{
	int err;
	char *info = lab_read_file("/proc/self/mountinfo", 4u << 20, NULL, &err);
	if (!info)
		return;
	size_t dlen = strlen(dir), n = 0;
	char **points = NULL;
	for (char *line = info, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *f = line;
		for (int k = 0; k < 4 && f; k++)
			f = strchr(f, ' ') ? strchr(f, ' ') + 1 : NULL;
		if (!f)
			continue;
		f[strcspn(f, " ")] = '\0';
		char *w = f;
		for (char *r = f; *r; r++) {
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' &&
			    r[3] <= '7') {
				*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
				r += 3;
			} else {
				*w++ = *r;
			}
		}
		*w = '\0';
		if (strncmp(f, dir, dlen) == 0 && f[dlen] == '/') {
			char *p = xstrdup(f);
			xappend(&points, &n, &p, sizeof p);
		}
	}
	/* mounted later, listed later: the last ones may sit on the first */
	while (n > 0) {
		umount2(points[n - 1], MNT_DETACH);
		free(points[--n]);
	}
	free(points);
	free(info);
}

static void finish(struct lab *lab)
{
	end_orphans(lab);
	unmount_under(lab->dir);
	if (lab->scn->pidfile_check)
		check_pidfiles(lab, lab->dir, 0);
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		int err;
		char *text = p->fiu_line ? lab_read_file(p->err_path, 16u << 20, NULL, &err) : NULL;
		if (lab_fiu_rejected(text))
			fail_first(lab, p->fiu_line,
				   xasprintf("libfiu rejected the FIU_ENABLE commands of %s (\"Error applying FIU_ENABLE "
					     "commands\" on its stderr): it ran without its faults", p->name));
		free(text);
		char *msg = NULL;
		if (p->under_valgrind && valgrind_check(lab->opt, lab->scn->name, p->pid, &msg) < 0) {
			lab_fail(lab, p->line, "%s: %s", p->name, msg);
			free(msg);
		}
	}
	if (lab->failed) {
		size_t shown = 0;
		for (size_t i = 0; i < lab->nprocs && shown < 6; i++) {
			/* a reused name (a retry's runs) has one stderr file: the newest's */
			if (!lab->procs[i]->probe && lab_find_proc(lab, lab->procs[i]->name) == lab->procs[i]) {
				size_t before = lab->details.len;
				stderr_tail(lab, lab->procs[i]);
				shown += lab->details.len != before;
			}
		}
	}
}

static void lab_free(struct lab *lab)
{
	for (size_t i = 0; i < lab->nprocs; i++)
		proc_free(lab->procs[i]);
	free(lab->procs);
	for (size_t i = 0; i < lab->nvars; i++) {
		free(lab->vars[i].name);
		free(lab->vars[i].value);
	}
	free(lab->vars);
	for (size_t i = 0; i < lab->nmarks; i++)
		free(lab->marks[i].label);
	free(lab->marks);
	free(lab->mods);
	if (lab->inotify_fd >= 0)
		close(lab->inotify_fd);
	if (lab->sig_fd >= 0)
		close(lab->sig_fd);
	free(lab->fail_msg);
	tether_buf_done(&lab->details);
	free(lab->dir);
}

void lab_run_scenario(const struct scenario *scn, const struct lab_options *opt, const char *run_id,
		      struct lab_result *ret)
{
	struct lab lab = {.scn = scn, .opt = opt, .inotify_fd = -1, .sig_fd = -1, .dir_wd = -1};
	memset(ret, 0, sizeof *ret);
	tether_buf_init(&lab.details);
	snprintf(lab.run_id, sizeof lab.run_id, "%s", run_id);
	int64_t t0 = lab_now();
	/* whatever the plan starts stays below this process, even a daemon
	 * that hides the run marker (common/orphans.c) */
	if (orphans_subreaper() < 0)
		lab_die("prctl(PR_SET_CHILD_SUBREAPER): %s", strerror(errno));
	char *name = xasprintf("lab.%s", scn->name);
	int r = lab_mkdtemp(name, &lab.dir);
	free(name);
	if (r < 0) {
		ret->status = LAB_FAIL;
		ret->location = xasprintf("%s", scn->path);
		ret->message = xasprintf("cannot create %s: %s", lab.dir, strerror(-r));
		lab_free(&lab);
		return;
	}
	lab.inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	lab.dir_wd = inotify_add_watch(lab.inotify_fd, lab.dir,
				       IN_CREATE | IN_DELETE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_CLOSE_WRITE |
					       IN_ATTRIB);
	/* TERM/INT/HUP to the lab end the scenario through its loop, with cleanup */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	lab.sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	signal(SIGPIPE, SIG_IGN);
	/* memcheck runs tether ~20x slower: the whole scenario gets more time */
	lab.deadline = t0 + scn->timeout * (opt->valgrind ? 4 : 1);
	if (opt->valgrind)
		valgrind_clear(opt, scn->name);
	lab_run_steps(&lab, scn->steps, scn->nsteps);
	if (opt->after_plan)
		opt->after_plan(&lab, opt->after_plan_data);
	finish(&lab);
	ret->duration_s = (double)(lab_now() - t0) / 1e9;
	if (lab.failed) {
		ret->status = LAB_FAIL;
		ret->location = xasprintf("%s:%u", scn->path, lab.fail_line);
		ret->message = lab.fail_msg;
		lab.fail_msg = NULL;
	}
	if (lab.failed || opt->keep) {
		ret->dir = xstrdup(lab.dir);
		lab_detail(&lab, "the scenario's directory is kept: %s", lab.dir);
	} else {
		lab_rm_rf(lab.dir);
	}
	if (lab.details.len)
		ret->details = xstrdup(lab.details.data);
	lab_free(&lab);
}
