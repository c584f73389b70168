/* SPDX-License-Identifier: MIT */
/* main.c — `harness`, the lab's program: dispatch to a subcommand.
 *
 * The subcommands are listed in commands.def (one line each); each lives in
 * its own file as harness_cmd_<name>(argc, argv), argv[0] being its name.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common/common.h"

static const struct {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} commands[] = {
#define HARNESS_COMMAND(name, summary) {#name, summary, harness_cmd_##name},
#include "commands.def"
#undef HARNESS_COMMAND
};

static void usage(FILE *to)
{
	fputs("Usage: harness COMMAND [OPTIONS] [ARGS]\n\n"
	      "The lab of tether: scenarios, stress, soak, faults and reports (SPEC.md section 9).\n\n"
	      "Commands:\n", to);
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n'harness COMMAND --help' describes each command.\n", to);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 64;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "harness: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 64;
}
