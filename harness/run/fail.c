/* SPDX-License-Identifier: MIT */
/* fail.c — where a scenario's failures go (see run.h): the first becomes its
 * result, later ones its details. On its own, so that every part of the run
 * that can fail (parsing words, spawning, waiting, checking) reaches it
 * without depending on the step executor, which depends on all of them.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/common.h"
#include "run/run.h"

int lab_fail(struct lab *lab, unsigned line, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	if (!lab->failed) {
		lab->failed = true;
		lab->fail_line = line;
		lab->fail_msg = msg;
		return -1;
	}
	lab_detail(lab, "%s:%u: %s", lab->scn->path, line, msg);
	free(msg);
	return -1;
}

void lab_detail(struct lab *lab, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		lab_die("out of memory");
	va_end(ap);
	tether_buf_printf(&lab->details, "%s%s", lab->details.len ? "\n" : "", msg);
	free(msg);
}
