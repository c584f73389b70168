/* SPDX-License-Identifier: MIT */
/* expand.c — variables of a running scenario (see scenarios/README.md).
 *
 * A word's template is expanded when its step runs: `$$` is a dollar,
 * `${NAME}` and `$NAME` are variables. Names, in the order they are looked up:
 * variables from `set`, `let` and `repeat`; the built-ins (DIR, RUN, SEED,
 * TETHER, WORKER, SDNOTIFY, FIXTURES, SCENARIO, SRCDIR); `env.X`, the lab's own
 * environment; and `PROC.pid|pgid|exit|out|err|status` of a spawned process.
 * A variable that has no value yet (the exit code of a process that still
 * runs) fails the step at its line rather than expanding to nothing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "run/run.h"

static char *proc_attr(struct lab *lab, const char *pname, const char *attr, char **why)
{
	struct proc *p = lab_find_proc(lab, pname);
	if (!p) {
		*why = xasprintf("no process '%s' has been spawned yet", pname);
		return NULL;
	}
	if (strcmp(attr, "pid") == 0 || strcmp(attr, "pgid") == 0)
		return xasprintf("%d", (int)p->pid); /* each spawned process leads its own group */
	if (strcmp(attr, "out") == 0)
		return xstrdup(p->out_path);
	if (strcmp(attr, "err") == 0)
		return xstrdup(p->err_path);
	if (strcmp(attr, "notify") == 0)
		return xstrdup(p->notify_path ? p->notify_path : "");
	if (strcmp(attr, "status") == 0)
		return xstrdup(p->status_text);
	if (strcmp(attr, "exit") == 0) {
		if (!p->exited) {
			*why = xasprintf("%s has not exited yet", pname);
			return NULL;
		}
		/* a signal reads like a shell's $?: 128 + signal */
		return xasprintf("%d", p->code >= 0 ? p->code : 128 + p->sig);
	}
	*why = xasprintf("unknown attribute '%s'", attr);
	return NULL;
}

static char *lookup(struct lab *lab, const char *name, char **why)
{
	for (size_t i = lab->nvars; i-- > 0;)
		if (strcmp(lab->vars[i].name, name) == 0)
			return xstrdup(lab->vars[i].value);
	const struct lab_options *o = lab->opt;
	if (strcmp(name, "DIR") == 0)
		return xstrdup(lab->dir);
	if (strcmp(name, "RUN") == 0)
		return xstrdup(lab->run_id);
	if (strcmp(name, "SEED") == 0)
		return xasprintf("%llu", (unsigned long long)o->seed);
	if (strcmp(name, "TETHER") == 0)
		return xstrdup(o->tether);
	if (strcmp(name, "WORKER") == 0)
		return xasprintf("%s/worker", o->fixtures);
	if (strcmp(name, "SDNOTIFY") == 0)
		return xasprintf("%s/sdnotify", o->fixtures);
	if (strcmp(name, "FIXTURES") == 0)
		return xstrdup(o->fixtures);
	if (strcmp(name, "SCENARIO") == 0)
		return xstrdup(lab->scn->name);
	if (strcmp(name, "SRCDIR") == 0)
		return xstrdup(o->srcdir);
	if (strncmp(name, "env.", 4) == 0) {
		const char *v = getenv(name + 4);
		if (!v)
			*why = xasprintf("the environment variable %s is not set", name + 4);
		return v ? xstrdup(v) : NULL;
	}
	const char *dot = strrchr(name, '.');
	if (dot) {
		char *pname = xstrndup(name, (size_t)(dot - name));
		char *v = proc_attr(lab, pname, dot + 1, why);
		free(pname);
		return v;
	}
	*why = xasprintf("unknown variable '%s'", name);
	return NULL;
}

char *lab_expand(struct lab *lab, const struct word *w, unsigned line)
{
	struct tether_buf b;
	tether_buf_init(&b);
	const char *t = w->tmpl;
	for (size_t i = 0; t[i]; i++) {
		if (t[i] != '$') {
			tether_buf_append(&b, t + i, 1);
			continue;
		}
		char *name = NULL;
		if (t[i + 1] == '$') {
			tether_buf_append(&b, "$", 1);
			i++;
			continue;
		} else if (t[i + 1] == '{') {
			const char *close = strchr(t + i + 2, '}');
			if (close) {
				name = xstrndup(t + i + 2, (size_t)(close - (t + i + 2)));
				i = (size_t)(close - t);
			}
		} else if ((t[i + 1] >= 'A' && t[i + 1] <= 'Z') || (t[i + 1] >= 'a' && t[i + 1] <= 'z') ||
			   t[i + 1] == '_') {
			size_t len = 1;
			while (t[i + 1 + len] == '_' || (t[i + 1 + len] >= '0' && t[i + 1 + len] <= '9') ||
			       (t[i + 1 + len] >= 'A' && t[i + 1 + len] <= 'Z') ||
			       (t[i + 1 + len] >= 'a' && t[i + 1 + len] <= 'z'))
				len++;
			name = xstrndup(t + i + 1, len);
			i += len;
		}
		if (!name) {
			tether_buf_append(&b, "$", 1);
			continue;
		}
		char *why = NULL;
		char *v = lookup(lab, name, &why);
		if (!v) {
			lab_fail(lab, line, "cannot expand ${%s}: %s", name, why);
			free(why);
			free(name);
			tether_buf_done(&b);
			return NULL;
		}
		tether_buf_puts(&b, v);
		free(v);
		free(name);
	}
	if (b.oom)
		lab_die("out of memory");
	return b.data ? b.data : xstrdup("");
}

void lab_set_var(struct lab *lab, const char *name, const char *value)
{
	for (size_t i = 0; i < lab->nvars; i++) {
		if (strcmp(lab->vars[i].name, name) == 0) {
			free(lab->vars[i].value);
			lab->vars[i].value = xstrdup(value);
			return;
		}
	}
	struct lab_var v = {xstrdup(name), xstrdup(value)};
	xappend(&lab->vars, &lab->nvars, &v, sizeof v);
}

int lab_event_time(struct lab *lab, const char *event, int64_t *ret)
{
	for (size_t i = lab->nmarks; i-- > 0;) {
		if (strcmp(lab->marks[i].label, event) == 0) {
			*ret = lab->marks[i].t;
			return 1;
		}
	}
	const char *dot = strrchr(event, '.');
	if (!dot)
		return -1;
	char *pname = xstrndup(event, (size_t)(dot - event));
	struct proc *p = lab_find_proc(lab, pname);
	free(pname);
	if (!p)
		return -1;
	if (strcmp(dot + 1, "spawn") == 0) {
		*ret = p->t_spawn;
		return 1;
	}
	if (strcmp(dot + 1, "ready") == 0) {
		*ret = p->t_ready;
		return p->ready;
	}
	if (strcmp(dot + 1, "exit") == 0) {
		*ret = p->t_exit;
		return p->exited;
	}
	return -1;
}
