/* SPDX-License-Identifier: MIT */
/* options.h — tether's options as one table.
 *
 * Each row is one option: its name, its kind, the commands it belongs to,
 * the field it sets, the bounds of a value, its default as a user writes it,
 * the word for its argument in --help, and its help line. The values are
 * parsed and bounded here, once, with one message format
 * ("invalid value for --NAME: 'VALUE' (REASON)"); the tether command parses
 * its command line through the table and prints --help from it, the
 * supervisor checks a struct tether_config against it, and the man page is
 * checked against --help. The table works on any struct: the library's rows
 * (tether_config_options) set struct tether_config, and the tether command
 * keeps rows of its own (--quiet, --json, ...) for its own struct.
 *
 * Adding an option: a field in the struct, a row in the table (and, for a
 * rule between fields, a line in tether_config_check).
 */
#ifndef TETHER_OPTIONS_H
#define TETHER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "supervisor.h"

enum tether_option_kind {
	TETHER_OPT_DUR,  /* int64_t, ns: "250ms", "5s", "10m", "24h" (parse.h) */
	TETHER_OPT_SIZE, /* uint64_t, bytes: "512", "64K", "10M", "1G" */
	TETHER_OPT_UINT, /* unsigned: a whole number */
	TETHER_OPT_ENUM, /* an enum (int-sized): one of the row's choices, by name */
	TETHER_OPT_PATH, /* const char *: the argument itself (not copied), never empty */
	TETHER_OPT_FLAG, /* bool: no argument, sets true */
	TETHER_OPT_MODE, /* int: an octal mode mask ("027") up to the row's max; -1: unset */
	TETHER_OPT_LIST, /* struct tether_strlist: repeatable, each argument appended (not copied) */
};

/* The commands of the tether program, one bit each: a row's `commands`. */
enum tether_command {
	TETHER_CMD_RUN = 1 << 0,
	TETHER_CMD_START = 1 << 1,
	TETHER_CMD_STOP = 1 << 2,
	TETHER_CMD_KILL = 1 << 3,
	TETHER_CMD_STATUS = 1 << 4,
	TETHER_CMD_RESTART = 1 << 5,
	TETHER_CMD_SIGNAL = 1 << 6,
	TETHER_CMD_LAST = TETHER_CMD_SIGNAL,
};

struct tether_option {
	const char *name;            /* the long option, without "--"; NULL ends a table */
	enum tether_option_kind kind;
	unsigned commands;           /* TETHER_CMD_* it belongs to */
	size_t offset;               /* of its field (TETHER_OPT_FIELD) */
	uint64_t min, max;           /* DUR, SIZE, UINT: bounds of a value (max 0: none) */
	bool zero_is_off;            /* the field's 0 means "off" (a value given still needs min) */
	const char *const *choices;  /* ENUM: names by value, NULL-terminated */
	const char *def;             /* the default as given on the command line; NULL: none */
	const char *metavar;         /* its argument in --help ("DUR", "PATH"); NULL for a FLAG */
	const char *help;            /* one line ('\n' continues it); NULL: hidden */
	/* PATH, LIST: why a value is refused (static text), NULL when fine */
	const char *(*problem)(const char *value);
};

/* The offset of `field` in `type`, refused at compile time unless the field
 * has the C type `ctype` (for an ENUM row: the size of an int). */
#define TETHER_OPT_FIELD(type, field, ctype)                                                               \
	(offsetof(type, field) +                                                                           \
	 0 * sizeof(struct {                                                                               \
		 _Static_assert(__builtin_types_compatible_p(__typeof__(((type *)0)->field), ctype),       \
				#field " is not " #ctype);                                                 \
		 int unused_;                                                                              \
	 }))
#define TETHER_OPT_ENUM_FIELD(type, field)                                                                 \
	(offsetof(type, field) +                                                                           \
	 0 * sizeof(struct {                                                                               \
		 _Static_assert(sizeof(((type *)0)->field) == sizeof(int), #field " is not int-sized");    \
		 int unused_;                                                                              \
	 }))

/* The rows of struct tether_config (SPEC §1), in --help's order. */
extern const struct tether_option tether_config_options[];

/* Parses value (NULL for a FLAG) into row o's field of base. 0, or -EINVAL
 * with "invalid value for --NAME: 'VALUE' (REASON)" in why. */
int tether_option_set(const struct tether_option *o, void *base, const char *value, char *why, size_t len);
/* Sets every row's default (fields without one are left as they are). */
void tether_options_defaults(const struct tether_option *table, void *base);
/* Checks every row's field of base against its bounds: 0, or -EINVAL with
 * the same message as tether_option_set, the value rendered from the field. */
int tether_options_check(const struct tether_option *table, const void *base, char *why, size_t len);
/* Frees what tether_option_set allocated in base (LIST arrays). */
void tether_options_free(const struct tether_option *table, void *base);
/* The row of table called name (NULL: none). */
const struct tether_option *tether_option_find(const struct tether_option *table, const char *name);

/* "  --NAME METAVAR" and its width, for lining up help lines. */
size_t tether_option_usage_width(const struct tether_option *o);
/* One row's help: "  --NAME METAVAR", padded to column, the help line and
 * " (default DEF)"; nothing for a hidden row. */
void tether_option_help(const struct tether_option *o, size_t column, struct tether_buf *out);

/* tether_config_defaults and tether_config_check, which read this table,
 * are declared in supervisor.h: an embedder needs them. */

#endif
