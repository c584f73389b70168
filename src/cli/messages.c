/* SPDX-License-Identifier: MIT */
/* messages.c — how the tether command speaks: "tether: ..." on stderr, and
 * the usage error's hint. Every subcommand uses these, so they live apart
 * from main.c's dispatch (which calls the subcommands). */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

const char *program_name = "tether";

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: warning: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", program_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", program_name);
	return EXIT_USAGE;
}
