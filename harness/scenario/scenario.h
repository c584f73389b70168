/* SPDX-License-Identifier: MIT */
/* scenario.h — the scenario language (scenarios/README.md is its manual).
 *
 * A scenario file is parsed once, in the runner, into a tree of steps; the
 * scenario's own process (run/exec.c) then runs it. Words keep the text as
 * written, as a *template*: `$NAME` and `${NAME}` are expanded when the step
 * runs (a process's pid is known only then), and a literal dollar is stored
 * as `$$`. Everything else (keywords, durations, operators, signal and errno
 * names) is checked at parse time, so a typo is a parse error naming file,
 * line and column, not a scenario that silently tests nothing.
 *
 * Ownership: scenario_parse returns a struct scenario that owns every string
 * and array under it; scenario_free releases it all.
 */
#ifndef TETHER_HARNESS_SCENARIO_H
#define TETHER_HARNESS_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A word of a step: its template and where it starts (line, 1-based column). */
struct word {
	char *tmpl;
	unsigned line;
	unsigned col;
};

/* One lexed line: words, and the line number of its first physical line. */
struct line {
	struct word *words;
	size_t n;
	unsigned lineno;
};

enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

enum cond_kind {
	C_READY,       /* NAME ready */
	C_EXIT,        /* NAME exit [CODE | signal SIG] (every member of a group) */
	C_RUNNING,     /* NAME running */
	C_OUTPUT,      /* NAME stdout|stderr TEST */
	C_EXITED,      /* GROUP exited N: at least N members have exited */
	C_EXITS,       /* GROUP exits CODE=N ... CODE=rest */
	C_FILE,        /* file PATH TEST */
	C_STATUS,      /* status PIDFILE JSONPATH OP VALUE | status PIDFILE exit CODE */
	C_PROCESSES,   /* processes [COMM] [of NAME] OP N */
	C_FDS,         /* fds NAME OP N */
	C_GAPS,        /* gaps FILE DUR... [tolerance DUR] */
	C_ELAPSED,     /* elapsed EVENT EVENT OP DUR */
	C_FAULT_FIRED, /* fault NAME fired [POINT] */
	C_NO_ORPHANS,  /* no-orphans [of NAME] */
};

/* What a file or output test checks. */
enum text_test {
	T_ABSENT, T_PRESENT, T_EMPTY, T_NONEMPTY, T_CONTAINS, T_LACKS, T_MATCHES, T_EQUALS,
	T_LINES,  /* line count OP N */
	T_JSON,   /* the file is one JSON value; JSONPATH OP VALUE */
	T_JSONL,  /* every line is a JSON value */
	T_PIDFILE,/* tether_pidfile_read accepts it (a complete record) */
	T_BYTES,  /* size in bytes OP N */
	T_SEQUENCE, /* sequence REGEX N: per key (group 1), the numbers (group 2) run 0..N-1 */
};

/* Which files a file test reads: PATH, or PATH's rotation chain (PATH.k ..
 * PATH.1, PATH, k the last of an unbroken run from 1) as one text, or each
 * file of that chain on its own. */
enum file_scope { SCOPE_FILE, SCOPE_CHAIN, SCOPE_EACH };

struct exit_count {
	int code;
	bool rest;     /* every member not counted by another entry */
	unsigned count;
};

struct cond {
	enum cond_kind kind;
	unsigned col;           /* where the condition starts, for messages */
	char *name;             /* process or group (READY..EXITS, FDS, FAULT, of NAME) */
	struct word subject;    /* FILE: path; STATUS: pidfile; PROCESSES: comm (may be empty); GAPS: file; ELAPSED: first event */
	struct word subject2;   /* ELAPSED: second event; FAULT_FIRED: point (may be empty) */
	int stream;             /* OUTPUT: 1 stdout, 2 stderr */
	enum file_scope scope;  /* FILE: chain or each */
	enum text_test test;
	struct word text;       /* CONTAINS/LACKS/MATCHES/EQUALS text; JSON and STATUS: the json path */
	enum cmp_op op;
	struct word value;      /* compared value (JSON, STATUS, LINES, PROCESSES, FDS, EXITED) */
	bool status_exit;       /* STATUS: compares `tether status`'s exit code */
	bool exit_any;          /* EXIT: any exit status */
	int exit_code;          /* EXIT: -1 unless a code is expected */
	int exit_signal;        /* EXIT: 0 unless a signal is expected */
	struct exit_count *exits;
	size_t nexits;
	int64_t *gaps;
	size_t ngaps;
	int64_t tolerance;      /* GAPS */
	int64_t dur;            /* ELAPSED */
};

enum step_kind {
	S_SPAWN,   /* spawn NAME [xN] PROGRAM ARG... */
	S_RUN,     /* run NAME PROGRAM ARG...: spawn, then wait for its exit */
	S_RETRY,   /* retry NAME [within DUR] PROGRAM ARG...: run it again until it exits 0 */
	S_SIGNAL,  /* signal NAME [group] SIG | signal pid PID SIG */
	S_WAIT,    /* wait COND [within DUR] */
	S_EXPECT,  /* expect COND */
	S_SET,     /* set VAR WORD... */
	S_LET,     /* let VAR = SOURCE */
	S_MARK,    /* mark LABEL */
	S_PAUSE,   /* pause DUR: only before expectations ("nothing happens during DUR") */
	S_REPEAT,  /* repeat N [as VAR] ... end */
	S_WRITE,   /* write PATH TEXT */
	S_REMOVE,  /* remove PATH */
	S_FAULT,   /* fault NAME POINT ERRNO [once | call K | from call K | probability P] */
	S_FIU,     /* fiu NAME "COMMAND" */
	S_ENV,     /* env NAME KEY=VALUE... */
	S_LOG,     /* log WORD...: a diagnostic line */
	S_LIMIT,   /* limit NAME nofile SOFT:HARD */
};

enum fault_mode { FAULT_ALWAYS, FAULT_ONCE, FAULT_CALL, FAULT_FROM, FAULT_RANDOM };
/* `fault NAME POINT SIGKILL call K`: not an errno — the process is killed at
 * that call, before it is made (SIGKILL at an exact point, counted inside
 * tether: TETHER_FAULT's "kill"). */
#define FAULT_KILL_ERR 4096

enum let_source { LET_STATUS, LET_FILE_JSON, LET_FILE_FIELD, LET_FDS };

struct step {
	enum step_kind kind;
	unsigned line;
	char *name;            /* process/group, variable, mark label */
	unsigned copies;       /* SPAWN: 0 = one process; N = a group of N */
	struct word *argv;     /* SPAWN/RUN/RETRY argv; SET/LOG words; WRITE path+text; REMOVE path; ENV pairs; FIU command */
	size_t argc;
	struct cond cond;      /* WAIT, EXPECT */
	int64_t within;        /* WAIT, RETRY: -1 = the step timeout */
	int sig;               /* SIGNAL */
	bool group;            /* SIGNAL: to the process group */
	bool by_pid;           /* SIGNAL: pid PID */
	struct word pid;       /* SIGNAL by pid */
	int64_t pause;         /* PAUSE */
	unsigned count;        /* REPEAT */
	char *var;             /* REPEAT's loop variable */
	struct step *body;     /* REPEAT */
	size_t nbody;
	/* FAULT */
	char *point;
	int err;               /* FAULT_KILL_ERR: SIGKILL the process at that call instead */
	enum fault_mode fault_mode;
	unsigned long k;
	double probability;
	/* LET */
	enum let_source let_source;
	struct word let_path;  /* pidfile or file; LET_FDS: the process's name */
	struct word let_key;   /* json path */
	long let_line;         /* FILE_FIELD: 1-based, negative counts from the end */
	unsigned let_field;
	/* LIMIT: RLIMIT_NOFILE of the next spawn of NAME */
	uint64_t nofile_soft, nofile_hard;
};

struct scenario {
	char *path;            /* as given (used in messages) */
	char *name;            /* file name without .scn */
	int64_t timeout;       /* whole scenario (default 60s) */
	int64_t step_timeout;  /* default `within` of waits and runs (default 10s) */
	bool pidfile_check;    /* check *.pid files at the end (default on) */
	bool exclusive;        /* runs alone even under --jobs */
	char **requires;       /* what the scenario needs, else it is skipped */
	size_t nrequires;
	/* `guarantees G1 G3`: the guarantees of SPEC §8 it proves (ids of
	 * common/guarantees.def, in the order written); `guarantees none`:
	 * declared, proves none (a behaviour of SPEC §1-§6 only) */
	char **guarantees;
	size_t nguarantees;
	bool guarantees_declared;
	struct step *steps;
	size_t nsteps;
};

#define SCENARIO_DEFAULT_TIMEOUT (60 * INT64_C(1000000000))
#define SCENARIO_DEFAULT_STEP_TIMEOUT (10 * INT64_C(1000000000))

/* Parses path. Returns the scenario, or NULL with *ret_error set to a
 * malloc'd "FILE:LINE:COL: message". */
struct scenario *scenario_parse(const char *path, char **ret_error);
void scenario_free(struct scenario *s);

/* ---- lexer.c ---------------------------------------------------------------- */

/* Splits text into lines of words (comments and blank lines dropped; a
 * trailing backslash continues a line). Returns the count and *ret (free
 * with lines_free), or -1 with *ret_error ("LINE:COL: message"). */
long lex_lines(const char *text, struct line **ret, char **ret_error);
void lines_free(struct line *lines, size_t n);
void word_free(struct word *w);
struct word word_dup(const struct word *w);
/* Does the template expand to itself (no variables)? */
bool word_is_literal(const struct word *w);
/* The literal text of a template without variables (`$$` -> `$`); malloc'd. */
char *word_literal(const struct word *w);

/* ---- cond_parse.c --------------------------------------------------------- */

struct parse_ctx;
/* Parses a condition from words[0..n) (after `wait`/`expect`). Returns the
 * number of words used, or -1 after reporting an error through ctx. */
long cond_parse(struct parse_ctx *ctx, const struct line *ln, size_t start, size_t end, struct cond *ret);
void cond_free(struct cond *c);
const char *cmp_op_name(enum cmp_op op);

/* ---- the parser's own: scenario.c, step_parse.c, cond_parse.c, parse_words.c -------- */

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

/* parse_words.c: the checks of words every line's parser makes. */
/* Reports a parse error at (line, col); always returns -1. */
__attribute__((format(printf, 4, 5))) int parse_error(struct parse_ctx *ctx, unsigned line, unsigned col,
						       const char *fmt, ...);
/* Parses a DUR word (literal only). 0 or -1 after reporting. */
int parse_dur_word(struct parse_ctx *ctx, const struct line *ln, size_t i, int64_t *ret);
/* Parses an operator word. 0 or -1 after reporting. */
int parse_op_word(struct parse_ctx *ctx, const struct line *ln, size_t i, enum cmp_op *ret);
/* Notes that a process or group named name is used at (line, col): an error
 * unless a spawn/run of it came earlier in the file. */
int parse_check_name(struct parse_ctx *ctx, const char *name, unsigned line, unsigned col);
/* Checks that every variable a word refers to is defined by now. 0 or -1
 * after reporting. */
int parse_check_vars(struct parse_ctx *ctx, const struct word *w);
/* A name for a process or a variable: letters, digits, _ and -, not a keyword. */
bool parse_valid_name(const char *s);
/* Adds s to a list of names unless it is there. */
void parse_add_name(char ***list, size_t *n, const char *s);
/* Copies the words of ln from index from on. */
struct word *parse_dup_words(const struct line *ln, size_t from, size_t *ret_n);
/* Checks that ln has min..max words, else reports usage. 0 or -1. */
int parse_need(struct parse_ctx *ctx, const struct line *ln, size_t min, size_t max, const char *usage);

/* step_parse.c: each fills st from ln; 0 or -1 after reporting. */
int parse_spawn(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_signal(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_fault(struct parse_ctx *ctx, const struct line *ln, struct step *st);
int parse_let(struct parse_ctx *ctx, const struct line *ln, struct step *st);
/* timeout, step-timeout, pidfile-check, exclusive, require, guarantees (top level only). */
int parse_directive(struct parse_ctx *ctx, struct scenario *scn, const struct line *ln, bool nested);

#endif
