/* SPDX-License-Identifier: MIT */
/* pidrecord.h — the identity record a supervisor publishes in its pidfile
 * (SPEC §4): one line of JSON, {"pid","start_time","boot_id","started_at",
 * "argv","version","scope"}, or a legacy decimal PID that readers accept as
 * unverified. "scope" (added; optional for readers, so records of older
 * versions still parse) is what the supervisor's workers carry as
 * TETHER_SCOPE: the next run sweeps by it after a SIGKILL, and it must not
 * change when the supervisor restores its pidfile under a new lock inode. Building one for ourselves, rendering it, and parsing what
 * another process wrote — strictly, since anybody may have written it
 * (fuzzed: harness/fuzz/fuzz_pidfile.c). The file around it is pidfile.h's.
 *
 * Ownership: a record owns its argv; tether_pidrecord_done frees it.
 */
#ifndef TETHER_PIDRECORD_H
#define TETHER_PIDRECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "json.h"
#include "proc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A record larger than this is not ours (a 20 MB or /dev/zero "pidfile"). */
#define TETHER_PIDFILE_MAX_BYTES (256 * 1024)
/* The record is an object holding one array: anything deeper is hostile. */
#define TETHER_PIDFILE_MAX_DEPTH 3

struct tether_pidrecord {
	pid_t pid;
	uint64_t start_time;
	char boot_id[TETHER_BOOT_ID_LEN + 1];
	char started_at[40];
	char version[40];
	char **argv;  /* NULL-terminated; NULL for legacy records */
	char scope[96]; /* "" when the record has none */
	bool legacy;  /* a plain decimal PID from another tool: unverified */
};

/* Fills rec for the calling process: pid, start_time, boot_id, started_at
 * (from clock's wall time), version, a copy of argv. */
int tether_pidrecord_init_self(struct tether_pidrecord *rec, char *const argv[],
			       const struct tether_clock *clock);
/* Parses a record: JSON (SPEC §4) or a legacy decimal PID. Strict: pid must
 * be >= 1 (1: tether as a container's entrypoint; legacy: > 1), every known
 * field of the right type. Returns 0 or -EINVAL
 * (malformed), -EFBIG (too large), -ELOOP (too deep), -ENOMEM. Pure (fuzzed). */
int tether_pidrecord_parse(const char *buf, size_t len, struct tether_pidrecord *ret);
/* Renders rec as its one JSON line (with the newline). */
void tether_pidrecord_format(const struct tether_pidrecord *rec, struct tether_buf *out);
void tether_pidrecord_done(struct tether_pidrecord *rec);

#ifdef __cplusplus
}
#endif

#endif
