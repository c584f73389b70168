/* SPDX-License-Identifier: MIT */
/* enumerate_judge.c — the judgement of one `harness faults` run, made in the
 * scenario's own process right after its plan (lab_options.after_plan), while
 * the lab still knows every process it spawned.
 *
 * A fault legitimately breaks a scenario's functional expectations ("expect
 * t exit 0" when the pidfile could not be written), so the plan's result is
 * only classified (passed / clean failure / degraded). What is *judged* is
 * what must hold whatever the fault (SPEC §7, §8):
 *   - G1: at the plan's end, at most one supervisor (a tether with a
 *     guardian) per pidfile;
 *   - hang: every supervisor still running gets SIGTERM and must be gone
 *     within the scenario's longest --stop-timeout plus a margin; a `tether
 *     stop|kill|status` still running must return on its own within that
 *     time (or stop's own --timeout);
 *   - G2: 2 s after the last tether ended, nothing carrying the run marker
 *     may be alive;
 *   - G3: every *.pid in $DIR absent or a complete record, and no lock on a
 *     *.pid.lock still held once every tether has ended;
 *   - exits: no tether killed by a crash signal or with a sanitizer report
 *     on stderr; every exit code documented for its command; a failure
 *     code comes with a message on stderr; libfiu accepted the rules.
 * Leftover files are listed (artifacts) and compared by the parent with the
 * unfaulted run's, which knows what a SIGKILL scenario leaves on purpose.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include "faults/faults.h"
#include "common/common.h"
#include "run/run.h"
#include "parse.h"
#include "pidfile.h"
#include "proc.h"

/* What a SIGTERMed tether may take beyond its own limits (below): more
 * than the grace tether itself gives a stop that cannot complete before it
 * abandons it (STOP_GRACE_NS, 5 s, src/loop.c) and exits 71 — a tether that
 * honours SIGTERM only that way passes every time, one that ignores it
 * fails every time, instead of both tying at the bound. */
#define TEARDOWN_MARGIN_NS (8 * NS_PER_SEC)

void faults_judgement_add(struct judgement *j, const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	xappend(&j->findings, &j->nfindings, &s, sizeof s);
}

/* ---- the processes of the plan ------------------------------------------------------ */

static const struct step *step_at(const struct step *steps, size_t n, unsigned line)
{
	for (size_t i = 0; i < n; i++) {
		if (steps[i].kind == S_REPEAT) {
			const struct step *s = step_at(steps[i].body, steps[i].nbody, line);
			if (s)
				return s;
		} else if (steps[i].line == line) {
			return &steps[i];
		}
	}
	return NULL;
}

/* "run", "stop"... of a tether spawn (its argv[1] as written), or "?". */
static char *subcommand(struct lab *lab, const struct proc *p)
{
	const struct step *st = step_at(lab->scn->steps, lab->scn->nsteps, p->line);
	if (st && (st->kind == S_SPAWN || st->kind == S_RUN) && st->argc > 1 && word_is_literal(&st->argv[1]))
		return word_literal(&st->argv[1]);
	return xstrdup("?");
}

/* SPEC §7 for run/start, §3 for stop/kill/restart/signal/status; 64
 * (usage) for all. stop, kill, restart and signal exit 4 refusing to
 * signal PID 1 from inside a container, or without the permission to. */
static bool documented(const char *sub, int code)
{
	static const int run[] = {0, 1, 64, 69, 71, 73, 75, 77, 127, -1}, stop[] = {0, 1, 4, 64, -1},
			 status[] = {0, 1, 3, 4, 64, -1}, any[] = {0, 1, 3, 4, 64, 69, 71, 73, 75, 77, 127, -1};
	const int *set = strcmp(sub, "run") == 0 || strcmp(sub, "start") == 0 ? run
			 : strcmp(sub, "stop") == 0 || strcmp(sub, "kill") == 0 || strcmp(sub, "restart") == 0 ||
					 strcmp(sub, "signal") == 0
				 ? stop
			 : strcmp(sub, "status") == 0 ? status
						      : any;
	for (; *set >= 0; set++)
		if (*set == code)
			return true;
	return false;
}

/* A failure to start or to stop must say why (SPEC 7 gives the message of
 * each code; stop names the survivors; G4: status 4 says what it cannot
 * read). run's 1 may be "all instances done, one failed": nothing to add. */
static bool needs_message(const char *sub, int code)
{
	if (strcmp(sub, "run") == 0 || strcmp(sub, "start") == 0)
		return code > 1;
	if (strcmp(sub, "status") == 0)
		return code == 4;
	return code > 0;
}

static char *last_line(const char *path)
{
	int err;
	size_t len;
	char *text = lab_read_file(path, 16u << 20, &len, &err);
	char *last = NULL, **lines;
	size_t n = text ? lab_split_lines(text, &lines) : 0;
	for (size_t i = n; i-- > 0 && !last;)
		if (*lines[i])
			last = lab_excerpt(lines[i], 160);
	if (n)
		free(lines);
	free(text);
	return last;
}

/* What p said last: its stderr's last non-empty line, else its stdout's
 * (status answers there), shortened and malloc'd; NULL when silent. */
static char *last_message(const struct proc *p)
{
	char *m = last_line(p->err_path);
	return m ? m : last_line(p->out_path);
}

static char *describe_exit(struct lab *lab, const struct proc *p)
{
	char *sub = subcommand(lab, p), *msg = last_message(p), *s;
	if (!p->exited)
		s = xasprintf("%s (tether %s): still running", p->name, sub);
	else if (p->code >= 0)
		s = xasprintf("%s: exit %d%s%s%s", p->name, p->code, msg ? " \"" : "", msg ? msg : "", msg ? "\"" : "");
	else
		s = xasprintf("%s: killed by SIG%s", p->name, lab_signal_name(p->sig));
	free(sub);
	free(msg);
	return s;
}

/* Ended with a documented failure code and said why. */
static bool clean_failure(struct lab *lab, const struct proc *p)
{
	if (!p->is_tether || p->probe || !p->exited || p->code <= 0)
		return false;
	char *sub = subcommand(lab, p), *msg = last_message(p);
	bool clean = documented(sub, p->code) && msg;
	free(sub);
	free(msg);
	return clean;
}

/* What the step that failed was about: a process or the members of a group. */
static struct proc **step_subjects(struct lab *lab, const struct step *st, size_t *ret_n)
{
	const char *name = NULL;
	*ret_n = 0;
	if (!st)
		return NULL;
	if (st->kind == S_RUN || st->kind == S_SPAWN)
		name = st->name;
	else if ((st->kind == S_WAIT || st->kind == S_EXPECT) && st->cond.name &&
		 st->cond.kind != C_FAULT_FIRED && st->cond.kind != C_PROCESSES && st->cond.kind != C_NO_ORPHANS)
		name = st->cond.name;
	if (!name)
		return NULL;
	struct proc **m = lab_find_group(lab, name, ret_n);
	if (m)
		return m;
	struct proc *one = lab_find_proc(lab, name);
	if (!one)
		return NULL;
	m = xcalloc(1, sizeof *m);
	m[0] = one;
	*ret_n = 1;
	return m;
}

static void classify_plan(struct lab *lab, struct judgement *j)
{
	if (!lab->failed) {
		j->plan = PLAN_PASSED;
		j->summary = xstrdup("scenario passed");
		return;
	}
	j->plan_msg = xasprintf("%s:%u: %s", lab->scn->path, lab->fail_line, lab->fail_msg);
	size_t n;
	struct proc **subjects = step_subjects(lab, step_at(lab->scn->steps, lab->scn->nsteps, lab->fail_line), &n);
	const struct proc *culprit = NULL;
	for (size_t i = 0; i < n && !culprit; i++)
		if (clean_failure(lab, subjects[i]))
			culprit = subjects[i];
	free(subjects);
	/* e.g. `wait file $DIR/x present` failed because the supervisor had exited 73 */
	for (size_t i = 0; i < lab->nprocs && !culprit; i++)
		if (clean_failure(lab, lab->procs[i]))
			culprit = lab->procs[i];
	if (culprit) {
		j->plan = PLAN_CLEAN;
		j->summary = describe_exit(lab, culprit);
	} else {
		j->plan = PLAN_DEGRADED;
		j->summary = xasprintf("degraded: %s", j->plan_msg);
	}
}

/* How long the tethers of this scenario may take to end once told to: the
 * longest --stop-timeout of its supervisors (default 5 s) and --timeout of
 * its `tether stop`s (default 10 s), plus a margin. */
static int64_t teardown_bound(const struct step *steps, size_t n, int64_t longest)
{
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == S_REPEAT)
			longest = teardown_bound(st->body, st->nbody, longest);
		if ((st->kind != S_SPAWN && st->kind != S_RUN) || st->argc < 2 || !word_is_literal(&st->argv[0]) ||
		    strcmp(st->argv[0].tmpl, "tether") != 0 || !word_is_literal(&st->argv[1]))
			continue;
		bool stop = strcmp(st->argv[1].tmpl, "stop") == 0;
		const char *opt = stop ? "--timeout" : "--stop-timeout";
		int64_t limit = stop ? 10 * NS_PER_SEC : 5 * NS_PER_SEC, v;
		for (size_t k = 2; k + 1 < st->argc && strcmp(st->argv[k].tmpl, "--") != 0; k++)
			if (strcmp(st->argv[k].tmpl, opt) == 0 && word_is_literal(&st->argv[k + 1]) &&
			    tether_parse_duration(st->argv[k + 1].tmpl, &v) == 0)
				limit = v;
		if (limit > longest)
			longest = limit;
	}
	return longest;
}

/* Is comm the tether under test's (its file's name, as the kernel keeps
 * it: 15 bytes)? A copy of tether under another name is tether too. */
static bool tether_comm(struct lab *lab, const char *comm)
{
	const char *base = strrchr(lab->opt->tether, '/') ? strrchr(lab->opt->tether, '/') + 1 : lab->opt->tether;
	return strncmp(comm, base, 15) == 0 && strlen(comm) == (strlen(base) < 15 ? strlen(base) : 15);
}

/* ---- G1: one supervisor per pidfile --------------------------------------------------- */

static bool has_comm(pid_t pid, const char *comm)
{
	struct tether_procstat st;
	return tether_proc_read_stat(pid, &st) == 0 && st.state != 'Z' && strcmp(st.comm, comm) == 0;
}

/* The --pidfile of a tether from its command line (absolute, or made so). */
static char *pidfile_of(struct lab *lab, pid_t pid)
{
	char path[64], buf[8192];
	size_t len = 0;
	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	if (tether_proc_read_file(path, buf, sizeof buf, &len) < 0)
		return NULL;
	const char *value = "state/tether.pid";
	for (size_t off = 0; off < len;) {
		const char *arg = buf + off;
		size_t alen = strlen(arg);
		if (strcmp(arg, "--") == 0)
			break;
		if (strcmp(arg, "--pidfile") == 0 && off + alen + 1 < len)
			value = arg + alen + 1;
		else if (strncmp(arg, "--pidfile=", 10) == 0)
			value = arg + 10;
		off += alen + 1;
	}
	return value[0] == '/' ? xstrdup(value) : xasprintf("%s/%s", lab->dir, value);
}

static void check_single_supervisor(struct lab *lab, struct judgement *j)
{
	struct marked *m;
	size_t n = orphans_scan_tree(lab->run_id, &m);
	pid_t *sup = xcalloc(n + 1, sizeof *sup);
	char **pf = xcalloc(n + 1, sizeof *pf);
	size_t ns = 0;
	for (size_t i = 0; i < n; i++) {
		pid_t *kids = NULL;
		size_t nk = 0;
		if (!tether_comm(lab, m[i].comm) || tether_proc_children(m[i].pid, &kids, &nk) < 0)
			continue;
		bool guarded = false;
		for (size_t k = 0; k < nk && !guarded; k++)
			guarded = has_comm(kids[k], "tether-guard");
		free(kids);
		char *p = guarded ? pidfile_of(lab, m[i].pid) : NULL;
		if (!p)
			continue;
		for (size_t k = 0; k < ns; k++)
			if (strcmp(pf[k], p) == 0)
				faults_judgement_add(j, "G1: two supervisors on %s: pids %d and %d", p, (int)sup[k],
						     (int)m[i].pid);
		sup[ns] = m[i].pid;
		pf[ns++] = p;
	}
	for (size_t k = 0; k < ns; k++)
		free(pf[k]);
	free(pf);
	free(sup);
	free(m);
}

/* ---- teardown: SIGTERM to every tether still running ----------------------------------- */

struct teardown {
	pid_t pid;
	int pidfd;
	char *name;
	bool command;   /* stop, kill or status: must return by itself */
};

static bool exited(int pidfd)
{
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

/* SIGTERM to every supervisor still running (the lab's own and detached
 * ones), then waits for every tether process to end. Returns whether one
 * did not (a hang: the files and orphan checks are then moot, and finish.c
 * kills what remains). */
static bool stop_tethers(struct lab *lab, struct judgement *j)
{
	struct marked *m;
	size_t n = orphans_scan_tree(lab->run_id, &m);
	struct teardown *t = xcalloc(n + 1, sizeof *t);
	size_t nt = 0;
	for (size_t i = 0; i < n; i++) {
		if (!tether_comm(lab, m[i].comm))
			continue;
		int fd = pidfd_open(m[i].pid, 0);
		if (fd < 0)
			continue;
		struct proc *p = NULL;
		for (size_t k = 0; k < lab->nprocs && !p; k++)
			if (lab->procs[k]->pid == m[i].pid && !lab->procs[k]->exited)
				p = lab->procs[k];
		char *sub = p ? subcommand(lab, p) : xstrdup("run");
		bool command = strcmp(sub, "stop") == 0 || strcmp(sub, "kill") == 0 || strcmp(sub, "status") == 0;
		t[nt++] = (struct teardown){m[i].pid, fd,
					  p ? xasprintf("%s (tether %s, pid %d)", p->name, sub, (int)m[i].pid)
					    : xasprintf("pid %d (tether, from %s)", (int)m[i].pid, m[i].spawn),
					  command};
		free(sub);
	}
	/* with the pidfds held, each is checked again: a pid reused since the
	 * scan belongs to someone else, whose pidfd we do not have */
	for (size_t i = 0; i < nt; i++)
		if (!t[i].command && orphans_is_ours(t[i].pid, lab->run_id))
			pidfd_send_signal(t[i].pidfd, SIGTERM, NULL, 0);
	free(m);
	int64_t bound = teardown_bound(lab->scn->steps, lab->scn->nsteps, 0) + TEARDOWN_MARGIN_NS;
	int64_t until = lab_now() + bound;
	for (;;) {
		lab_pump(lab);
		size_t live = 0;
		for (size_t i = 0; i < nt; i++) {
			if (exited(t[i].pidfd)) {
				close(t[i].pidfd);
				free(t[i].name);
			} else {
				t[live++] = t[i];
			}
		}
		nt = live;
		if (!nt || lab_now() >= until || lab->interrupted)
			break;
		int *fds = xcalloc(nt, sizeof *fds);
		for (size_t i = 0; i < nt; i++)
			fds[i] = t[i].pidfd;
		lab_wait_event(lab, until, fds, nt);
		free(fds);
	}
	char d[32];
	for (size_t i = 0; i < nt; i++) {
		if (!lab->interrupted)
			faults_judgement_add(j, "hang: %s still running %s after %s", t[i].name,
					     lab_fmt_ns(bound, d, sizeof d),
					     t[i].command ? "the plan's end" : "SIGTERM");
		close(t[i].pidfd);
		free(t[i].name);
	}
	free(t);
	return nt > 0;
}

/* ---- G2: nothing left ------------------------------------------------------------------- */

/* A process of the plan that is not tether's business: its spawn is some
 * other program that still runs. */
static bool not_tethers(struct lab *lab, const struct marked *m)
{
	struct proc *p = m->seq ? lab_find_seq(lab, m->seq) : NULL;
	return p && !p->is_tether && !p->exited;
}

static void check_orphans(struct lab *lab, struct judgement *j)
{
	int64_t end = lab_now() + lab->opt->grace;
	struct marked *m;
	size_t n;
	/* the descendants while they die, then once the union with the marker
	 * scan (common/orphans.c): the verdict sees both */
	bool full = false;
	for (;;) {
		n = full ? orphans_scan(lab->run_id, &m) : orphans_scan_tree(lab->run_id, &m);
		size_t kept = 0;
		for (size_t i = 0; i < n; i++)
			if (!not_tethers(lab, &m[i]))
				m[kept++] = m[i];
		n = kept;
		if ((!n && full) || lab_now() >= end || lab->interrupted)
			break;
		if (!n) {
			full = true;
			free(m);
			continue;
		}
		lab_wait_marked(lab, m, n, end);
		free(m);
		lab_pump(lab);
	}
	if (n && !lab->interrupted) {
		struct tether_buf b;
		tether_buf_init(&b);
		for (size_t i = 0; i < n && i < 8; i++) {
			struct proc *p = m[i].seq ? lab_find_seq(lab, m[i].seq) : NULL;
			tether_buf_printf(&b, "%spid %d (%s, from %s)", i ? ", " : "", (int)m[i].pid, m[i].comm,
					  p ? p->name : m[i].spawn);
		}
		char g[32];
		faults_judgement_add(j, "G2: %zu orphan%s alive %s after every tether ended: %s%s", n, n == 1 ? "" : "s",
				     lab_fmt_ns(lab->opt->grace, g, sizeof g), b.data ? b.data : "", n > 8 ? ", ..." : "");
		tether_buf_done(&b);
	}
	free(m);
}

/* ---- G3: files ---------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* The pidfiles the plan's `tether run|start` are given (--pidfile
 * $DIR/..., or a literal path), into v. False when one cannot be told without running the
 * plan's variables: then every *.pid counts as tether's. */
static bool plan_pidfiles(const struct lab *lab, const struct step *steps, size_t n, char ***v, size_t *nv)
{
	bool known = true;
	for (size_t i = 0; i < n; i++) {
		const struct step *st = &steps[i];
		if (st->kind == S_REPEAT) {
			known = plan_pidfiles(lab, st->body, st->nbody, v, nv) && known;
			continue;
		}
		/* G3 is about what a start leaves: stop, kill and status are
		 * given files the plan made (hostile_pidfiles.scn's malformed
		 * ones), which a failed kill leaves as they were */
		if ((st->kind != S_SPAWN && st->kind != S_RUN) || st->argc < 2 || strcmp(st->argv[0].tmpl, "tether") != 0 ||
		    (strcmp(st->argv[1].tmpl, "run") != 0 && strcmp(st->argv[1].tmpl, "start") != 0))
			continue;
		for (size_t k = 1; k + 1 < st->argc && strcmp(st->argv[k].tmpl, "--") != 0; k++) {
			if (strcmp(st->argv[k].tmpl, "--pidfile") != 0)
				continue;
			const char *w = st->argv[k + 1].tmpl;
			char *path = NULL;
			if (strncmp(w, "$DIR/", 5) == 0 && !strchr(w + 5, '$'))
				path = xasprintf("%s/%s", lab->dir, w + 5);
			else if (strncmp(w, "${DIR}/", 7) == 0 && !strchr(w + 7, '$'))
				path = xasprintf("%s/%s", lab->dir, w + 7);
			else if (w[0] == '/' && !strchr(w, '$'))
				path = xstrdup(w);
			if (path)
				xappend(v, nv, &path, sizeof path);
			else
				known = false;
		}
	}
	return known;
}

/* Is path (a *.pid, *.pid.tmp or *.pid.lock) one of tether's, by its pidfile? */
static bool tethers_file(char **pidfiles, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(pidfiles[i]);
		if (strncmp(path, pidfiles[i], len) == 0 &&
		    (!path[len] || strcmp(path + len, ".tmp") == 0 || strcmp(path + len, ".lock") == 0))
			return true;
	}
	return false;
}

struct files_ctx {
	char **pidfiles; /* NULL: every *.pid is tether's */
	size_t npidfiles;
};

static void check_files(struct lab *lab, struct judgement *j, const struct files_ctx *fc, const char *dir,
			const char *rel, int depth, bool check_locks)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		char *name = xasprintf("%s%s%s", rel, *rel ? "/" : "", e->d_name);
		struct stat st;
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (depth < 4)
				check_files(lab, j, fc, path, name, depth + 1, check_locks);
		} else if ((ends_with(name, ".pid") || ends_with(name, ".pid.tmp") || ends_with(name, ".pid.lock")) &&
			   (!fc->pidfiles || tethers_file(fc->pidfiles, fc->npidfiles, path))) {
			/* a daemon's own pidfile (redis/redis.pid) is its business: a
			 * daemon SIGKILLed with its tree leaves it, as it must */
			char *a = xstrdup(name);
			xappend(&j->artifacts, &j->nartifacts, &a, sizeof a);
		}
		struct tether_pidrecord rec;
		int r;
		if (ends_with(name, ".pid") && lab->scn->pidfile_check &&
		    (r = tether_pidfile_read(path, &rec)) != -ENOENT) {
			if (r == 0)
				tether_pidrecord_done(&rec);
			else
				faults_judgement_add(j, "G3: %s is neither absent nor a complete record: %s", name,
						     strerror(-r));
		}
		/* a lock the plan holds itself (pid_reuse.scn's flock on
		 * h.pid.lock) is not a tether's left held */
		if (ends_with(name, ".lock") && check_locks && (!fc->pidfiles || tethers_file(fc->pidfiles, fc->npidfiles, path))) {
			int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
			if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK)
				faults_judgement_add(j, "G3: %s is still locked after every tether ended", name);
			if (fd >= 0)
				close(fd);
		}
		free(name);
		free(path);
	}
	if (d)
		closedir(d);
}

/* ---- exits --------------------------------------------------------------------------------- */

static bool crash_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGABRT ||
	       sig == SIGTRAP || sig == SIGSYS;
}

static void check_exits(struct lab *lab, struct judgement *j)
{
	static const char *const sanitizers[] = {"AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
						  "runtime error:", NULL};
	for (size_t i = 0; i < lab->nprocs; i++) {
		struct proc *p = lab->procs[i];
		if (!p->is_tether || p->probe)
			continue;
		char *sub = subcommand(lab, p), *msg = last_message(p);
		int err;
		char *text = lab_read_file(p->err_path, 16u << 20, NULL, &err);
		if (p->exited && p->code < 0 && crash_signal(p->sig))
			faults_judgement_add(j, "crash: %s (tether %s) killed by SIG%s", p->name, sub, lab_signal_name(p->sig));
		if (p->exited && p->code < 0 && p->sig == SIGKILL)
			j->sigkilled = true;
		for (const char *const *s = sanitizers; *s && text; s++) {
			const char *at = strstr(text, *s);
			if (at) {
				char *line = lab_excerpt(at, 160);
				faults_judgement_add(j, "crash: sanitizer report on the stderr of %s: %s", p->name, line);
				free(line);
				break;
			}
		}
		if (lab_fiu_rejected(text))
			faults_judgement_add(j, "libfiu rejected the fault rules of %s: it ran without them", p->name);
		if (p->exited && p->code >= 0 && !documented(sub, p->code))
			faults_judgement_add(j, "exit: %s (tether %s) exited %d, not a documented code%s%s%s", p->name, sub,
					     p->code, msg ? ": \"" : "", msg ? msg : "", msg ? "\"" : "");
		else if (p->exited && p->code >= 0 && needs_message(sub, p->code) && !msg)
			faults_judgement_add(j, "exit: %s (tether %s) exited %d without a message", p->name, sub,
					     p->code);
		free(text);
		free(msg);
		free(sub);
	}
}

/* The firings of the run's rule (lab_options.tether_fault), from every
 * $DIR/NAME.faults: "fired POINT K PID" (src/fault.h; a `from` rule notes
 * its first firing, then the calls K that are powers of two). */
static void collect_firings(struct lab *lab, struct judgement *j)
{
	const char *rule = lab->opt->tether_fault;
	DIR *d = rule ? opendir(lab->dir) : NULL;
	struct dirent *e;
	size_t plen = rule ? strcspn(rule, ":") : 0;
	pid_t pids[64];
	while (d && (e = readdir(d))) {
		if (!ends_with(e->d_name, ".faults"))
			continue;
		int err;
		char *path = xasprintf("%s/%s", lab->dir, e->d_name);
		char *text = lab_read_file(path, 16u << 20, NULL, &err), **lines;
		size_t n = text ? lab_split_lines(text, &lines) : 0;
		for (size_t i = 0; i < n; i++) {
			char pt[128];
			unsigned long k;
			int pid;
			if (sscanf(lines[i], "fired %127s %lu %d", pt, &k, &pid) != 3 || strlen(pt) != plen ||
			    strncmp(pt, rule, plen) != 0)
				continue;
			struct fired *f = &j->fired;
			f->lines++;
			if (k > f->max_k) {
				f->max_k = k;
				f->max_pid = (pid_t)pid;
			}
			bool seen = false;
			for (unsigned p = 0; p < f->procs && p < 64 && !seen; p++)
				seen = pids[p] == (pid_t)pid;
			if (!seen && f->procs < 64)
				pids[f->procs] = (pid_t)pid;
			f->procs += !seen;
		}
		if (n)
			free(lines);
		free(text);
		free(path);
	}
	if (d)
		closedir(d);
}

void faults_after_plan(struct lab *lab, void *userdata)
{
	struct run_ctx *x = userdata;
	struct judgement *j = x->j;
	lab_pump(lab);
	classify_plan(lab, j);
	/* A spin stops the run where it is (enumerate_watch.c), here too:
	 * then it is the finding, and the rest is not judged (the run's
	 * processes were SIGKILLed). */
	if (!j->spin)
		check_single_supervisor(lab, j);
	bool hang = !j->spin && stop_tethers(lab, j);
	if (!hang && !j->spin)
		check_orphans(lab, j);
	if (!j->spin) {
		check_exits(lab, j);
		/* a hung tether still holds its files: they say nothing yet */
		static char *none[] = {NULL};
		struct files_ctx fc = {0};
		char **pf = NULL;
		size_t npf = 0;
		if (plan_pidfiles(lab, lab->scn->steps, lab->scn->nsteps, &pf, &npf)) {
			fc.pidfiles = pf ? pf : none;
			fc.npidfiles = npf;
		}
		check_files(lab, j, &fc, lab->dir, "", 0, !hang);
		for (size_t i = 0; i < npf; i++)
			free(pf[i]);
		free(pf);
	}
	/* the last lines of the reports, if no pump read them */
	if (!j->spin && faults_hooks.fault_report(lab, x))
		lab->interrupted = true;
	if (hang || j->spin)
		j->sigkilled = true;
	collect_firings(lab, j);
	if (j->spin) {
		for (size_t i = 0; i < j->nfindings; i++)
			free(j->findings[i]);
		j->nfindings = 0;
		char *stack = faults_spin_stack(x->tether, x->spin_frames);
		faults_judgement_add(j, "%s%s%s", x->spin_what, stack ? "; at: " : "", stack ? stack : "");
		free(stack);
	}
	if (x->sites_path && x->point)
		j->nsites = faults_new_sites(x->sites_path, x->point, x->k, x->known_sites, x->nknown_sites, &j->sites);
	/* a finding keeps the directory (the lab keeps it when the scenario failed) */
	if (j->nfindings && !lab->failed)
		lab_fail(lab, lab->last_line, "%s", j->findings[0]);
}
