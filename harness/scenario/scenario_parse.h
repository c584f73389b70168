/* SPDX-License-Identifier: MIT */
/* scenario_parse.h — shared by the parser's two files (scenario.c: lines,
 * blocks, names and variables; step_parse.c: the steps with a grammar of
 * their own). Not for the rest of the lab: it uses scenario.h.
 */
#ifndef TETHER_HARNESS_SCENARIO_PARSE_H
#define TETHER_HARNESS_SCENARIO_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "scenario/scenario.h"

struct parse_ctx {
	const char *path;
	char *error;
	char **names;     /* processes and groups spawned so far (in file order) */
	size_t nnames;
	char **groups;    /* the subset that are groups (spawn xN) */
	size_t ngroups;
	char **vars;      /* variables defined so far */
	size_t nvars;
	struct step *mods;/* fault/fiu/env steps, checked for a later spawn */
	size_t nmods;
};

/* A name for a process or a variable: letters, digits, _ and -, not a keyword. */
bool valid_name(const char *s);
/* Adds s to a list of names unless it is there. */
void add_name(char ***list, size_t *n, const char *s);
/* Copies the words of ln from index from on. */
struct word *dup_words(const struct line *ln, size_t from, size_t *ret_n);
/* Checks that ln has min..max words, else reports usage. 0 or -1. */
int need(struct parse_ctx *ctx, const struct line *ln, size_t min, size_t max, const char *usage);

/* step_parse.c: each fills st from ln; 0 or -1 after reporting. */
int parse_spawn(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_signal(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_fault(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_let(struct parse_ctx *ctx, const struct line *ln, struct step *st);
/* timeout, step-timeout, pidfile-check, exclusive, require (top level only). */
int parse_directive(struct parse_ctx *ctx, struct scenario *scn, const struct line *ln, bool nested);

#endif
