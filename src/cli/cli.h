/* SPDX-License-Identifier: MIT */
/* cli.h — what the tether command's subcommands share.
 *
 * The library never prints or exits; this is where messages and exit codes
 * are decided (SPEC §3, §7).
 */
#ifndef TETHER_CLI_H
#define TETHER_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "json.h"

/* SPEC §7 (run/start) */
#define EXIT_GAVE_UP 1
#define EXIT_USAGE 64
#define EXIT_RESOURCE 69
#define EXIT_PIDFILE 73
#define EXIT_RUNNING 75
#define EXIT_NOEXEC 127
/* SPEC §3 (status, LSB) */
#define STATUS_RUNNING 0
#define STATUS_STALE 1
#define STATUS_STOPPED 3
#define STATUS_UNKNOWN 4

/* What `run --help` and `start --help` say after the options. */
#define CLI_RUN_EPILOGUE                                                            \
	"DUR: 250ms, 5s, 10m, 24h (plain number = seconds). SIZE: 512, 64K, 10M, 1G.\n" \
	"Exit status: 0 stopped or all done, 1 gave up (or an instance failed),\n"      \
	"64 usage, 69 not enough disk or open files, 71 a system call tether needs\n"  \
	"failed, 73 pidfile, 75 already running, 127 cannot execute.\n"

extern const char *program_name;

__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void cli_warn(const char *fmt, ...);
/* Prints "tether: MSG" and the --help hint, returns EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int cli_usage_error(const char *fmt, ...);

/* verify.c: restart and signal find and verify the supervisor as stop does.
 * 0 and *ret_pid, or the exit code after a message (1 not running or not
 * verified, 4 PID 1 or permission denied). */
int cli_verified_supervisor(const char *pidfile, const char *command, pid_t *ret_pid);
/* Puts request to it and returns its JSON answer: 0, or 1 after a message
 * (no answer in time, gone, an error that ends the command). */
int cli_ask_supervisor(const char *pidfile, pid_t pid, const char *request, int64_t timeout_ns,
		       struct tether_json **ret);
/* "...is PID 1 (a container's entrypoint): use the container runtime" */
void cli_say_pid1(const char *pidfile, const char *command);
void cli_say_denied(const char *pidfile, pid_t pid);

int cmd_status(int argc, char **argv);
int cmd_restart(int argc, char **argv);
int cmd_signal(int argc, char **argv);
int cmd_stop(int argc, char **argv);
int cmd_kill(int argc, char **argv);
/* full_argv: tether's own argv, recorded in the pidfile */
int cmd_run(int argc, char **argv, char **full_argv);
int cmd_start(int argc, char **argv, char **full_argv);

#endif
