/* SPDX-License-Identifier: MIT */
/* workerenv.h — edits to the instances' environment: `--env NAME=VALUE`,
 * `--env NAME` (removes NAME), `--env-file PATH` (SPEC §1).
 *
 * An edit is "NAME=VALUE" (set) or "NAME" (remove). tether_config_resolve
 * (supervisor.h) lists them in the order they apply, a later one winning:
 * --user's HOME, USER and LOGNAME, then the --env-file's lines, then each
 * --env in command-line order. spawn.c applies them to the environment tether
 * passes on, before the variables it sets per instance (NOTIFY_SOCKET,
 * TETHER_INSTANCE, ...), which no edit may name.
 *
 * An --env-file holds NAME=VALUE lines; blank lines and lines whose first
 * non-blank character is '#' are ignored; leading blanks are skipped; the
 * value is the rest of the line, byte for byte (no quoting, no expansion:
 * `A="x y"` sets A to `"x y"` with its quotes).
 */
#ifndef TETHER_WORKERENV_H
#define TETHER_WORKERENV_H

#include <stdbool.h>
#include <stddef.h>

/* An --env-file larger than this is refused (it is no list of variables). */
#define TETHER_ENV_FILE_MAX (1u << 20)

/* A variable name as systemd and the shells take it: letters, digits and
 * '_', not starting with a digit. */
bool tether_env_name_valid(const char *name, size_t len);

/* Why an --env value (an edit) is refused, or NULL: a name that is not one,
 * or one that tether sets for each instance. Static text. */
const char *tether_env_edit_problem(const char *edit);

/* Appends PATH's assignments as malloc'd edits to the NULL-terminated vector
 * *edits of *n entries (grown). 0; -EINVAL with "PATH:LINE: why" for a bad
 * line; -errno of a file that cannot be read ("--env-file PATH: strerror");
 * -ENOMEM. The vector is valid whatever the result (free it with
 * tether_env_free). */
int tether_env_file_read(const char *path, char ***edits, size_t *n, char *why, size_t len);

/* Appends a copy of edit to *edits (NULL-terminated, *n entries). 0 or -ENOMEM. */
int tether_env_push(char ***edits, size_t *n, const char *edit);

/* Applies edit to env, a NULL-terminated vector of *n malloc'd
 * "NAME=VALUE" strings with room for at least one more entry: every NAME
 * entry is removed, and for "NAME=VALUE" a copy appended. 0 or -ENOMEM. */
int tether_env_apply(char **env, size_t *n, const char *edit);

/* Frees a NULL-terminated vector of malloc'd strings (NULL accepted). */
void tether_env_free(char **v);

#endif
