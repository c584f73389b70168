/* SPDX-License-Identifier: MIT */
/* faults.c — the environment that gives one spawned process its faults.
 *
 * `fault NAME POINT ERRNO ...`, `fiu NAME "COMMAND"` and `env NAME K=V` lines
 * attach to the next spawn (or run) of NAME. Faults travel in the
 * environment, as fiu-run does it, so the process under test is itself and
 * not a wrapper script:
 *   - every call / the first call / at random: libfiu commands in FIU_ENABLE,
 *     read by fiu_run_preload.so at start (FIU_CTRL_FIFO empty: no control
 *     FIFO, which would leave /tmp/fiu-ctrl-PID.* behind);
 *   - the k-th call only, or from the k-th on: TETHER_FAULT, counted inside
 *     tether (src/fault.h), which reports each firing to TETHER_FAULT_REPORT;
 *   - points of libc calls (posix/..., libc/...) also need fiu_posix_preload.so.
 * ERRNO is written as a name in scenarios and passed to libfiu as the decimal
 * number it requires: `failinfo=ENOSPC` would silently mean "a random errno".
 * libfiu reports a rejected FIU_ENABLE only as one line on stderr and then
 * runs without faults, so the lab fails any scenario whose faulted process
 * printed it (lab_fiu_rejected).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "run/run.h"

#define FIU_REJECTED "Error applying FIU_ENABLE commands"

static bool libc_point(const char *point)
{
	return strncmp(point, "posix/", 6) == 0 || strncmp(point, "libc/", 5) == 0;
}

int lab_fault_env(struct lab *lab, const struct step *const *mods, size_t n, const char *name, bool is_tether,
		  const char *report_path, char ***env, size_t *nenv, unsigned *ret_fiu_line)
{
	struct tether_buf fiu, counted;
	tether_buf_init(&fiu);
	tether_buf_init(&counted);
	bool posix = false;
	int rc = 0;
	char *s;
	unsigned fiu_line = 0;
	*ret_fiu_line = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct step *m = mods[i];
		if (strcmp(m->name, name) != 0)
			continue;
		if (m->kind == S_ENV) {
			for (size_t k = 0; k < m->argc && rc == 0; k++) {
				if (!(s = lab_expand(lab, &m->argv[k], m->line)))
					rc = -1;
				else
					xappend(env, nenv, &s, sizeof s);
			}
		} else if (m->kind == S_FIU) {
			if (!(s = lab_expand(lab, &m->argv[0], m->line))) {
				rc = -1;
				break;
			}
			posix = posix || strstr(s, "posix/") || strstr(s, "libc/");
			fiu_line = fiu_line ? fiu_line : m->line;
			tether_buf_printf(&fiu, "%s%s", fiu.len ? "\n" : "", s);
			free(s);
		} else if (m->kind == S_FAULT) {
			posix = posix || libc_point(m->point);
			switch (m->fault_mode) {
			case FAULT_ALWAYS:
			case FAULT_ONCE:
				fiu_line = fiu_line ? fiu_line : m->line;
				tether_buf_printf(&fiu, "%senable name=%s,failinfo=%d%s", fiu.len ? "\n" : "", m->point, m->err,
						  m->fault_mode == FAULT_ONCE ? ",onetime" : "");
				break;
			case FAULT_RANDOM:
				fiu_line = fiu_line ? fiu_line : m->line;
				tether_buf_printf(&fiu, "%senable_random name=%s,probability=%g,failinfo=%d",
						  fiu.len ? "\n" : "", m->point, m->probability, m->err);
				break;
			case FAULT_CALL:
			case FAULT_FROM:
				if (!is_tether) {
					rc = lab_fail(lab, m->line,
						      "a fault at the k-th call is counted inside tether (TETHER_FAULT): "
						      "%s does not run tether", name);
					break;
				}
				if (m->err == FAULT_KILL_ERR)
					tether_buf_printf(&counted, "%s%s:kill:%lu:%s", counted.len ? ";" : "", m->point, m->k,
							  m->fault_mode == FAULT_FROM ? "from" : "once");
				else
					tether_buf_printf(&counted, "%s%s:%d:%lu:%s", counted.len ? ";" : "", m->point, m->err,
							  m->k, m->fault_mode == FAULT_FROM ? "from" : "once");
				break;
			}
		}
	}
	/* the lab-wide rules (harness run --fault, harness faults) reach every tether */
	const struct lab_options *opt = lab->opt;
	if (rc == 0 && is_tether && opt->tether_fault && *opt->tether_fault) {
		posix = posix || strstr(opt->tether_fault, "posix/") || strstr(opt->tether_fault, "libc/") ||
			strstr(opt->tether_fault, "linux/");
		tether_buf_printf(&counted, "%s%s", counted.len ? ";" : "", opt->tether_fault);
	}
	if (rc == 0 && is_tether && opt->fault_count) {
		s = xasprintf("TETHER_FAULT_COUNT=%s", opt->fault_count);
		xappend(env, nenv, &s, sizeof s);
	}
	if (rc == 0 && is_tether && opt->fault_sites) {
		s = xasprintf("TETHER_FAULT_SITES=%s", opt->fault_sites);
		xappend(env, nenv, &s, sizeof s);
	}
	if (rc == 0 && is_tether && opt->fault_budget) {
		s = xasprintf("TETHER_FAULT_BUDGET=%s", opt->fault_budget);
		xappend(env, nenv, &s, sizeof s);
	}
	if (rc == 0 && (fiu.len || counted.len)) {
		const char *run = FIU_RUN_PRELOAD, *px = FIU_POSIX_PRELOAD;
		if (!*run || (posix && !*px)) {
			rc = lab_fail(lab, mods[0]->line, "libfiu's preload libraries are missing (install libfiu0)");
		} else {
			s = xasprintf("LD_PRELOAD=%s%s%s", run, posix ? " " : "", posix ? px : "");
			xappend(env, nenv, &s, sizeof s);
			s = xasprintf("FIU_CTRL_FIFO=");
			xappend(env, nenv, &s, sizeof s);
			/* A sanitizer build of tether wants its runtime first in the
			 * library list and refuses to start otherwise; the preload
			 * libraries come first by design. */
			const char *asan = getenv("ASAN_OPTIONS");
			s = xasprintf("ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "", asan && *asan ? ":" : "");
			xappend(env, nenv, &s, sizeof s);
			/* ... and its LeakSanitizer would report libfiu's own leak
			 * (fiu_run_preload keeps a strdup of FIU_ENABLE; memcheck's
			 * harness/valgrind.supp has it too) and turn tether's exit
			 * status into 1. */
			const char *lsan = getenv("LSAN_OPTIONS");
			s = xasprintf("LSAN_OPTIONS=%s%ssuppressions=%s/harness/lsan.supp", lsan ? lsan : "",
				      lsan && *lsan ? ":" : "", opt->srcdir);
			xappend(env, nenv, &s, sizeof s);
			/* enable_random draws from libfiu's PRNG: the run's seed replays it */
			s = xasprintf("FIU_PRNG_SEED=%llu", (unsigned long long)(lab->opt->seed % 4294967291ULL));
			xappend(env, nenv, &s, sizeof s);
		}
	}
	if (rc == 0 && fiu.len) {
		s = xasprintf("FIU_ENABLE=%s", fiu.data);
		xappend(env, nenv, &s, sizeof s);
		*ret_fiu_line = fiu_line;
	}
	if (rc == 0 && counted.len) {
		s = xasprintf("TETHER_FAULT=%s", counted.data);
		xappend(env, nenv, &s, sizeof s);
		s = xasprintf("TETHER_FAULT_REPORT=%s", report_path);
		xappend(env, nenv, &s, sizeof s);
	}
	if (fiu.oom || counted.oom)
		lab_die("out of memory");
	tether_buf_done(&fiu);
	tether_buf_done(&counted);
	return rc;
}

bool lab_fiu_rejected(const char *text)
{
	return text && strstr(text, FIU_REJECTED) != NULL;
}
