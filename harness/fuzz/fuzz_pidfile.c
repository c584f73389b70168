/* SPDX-License-Identifier: MIT */
/* fuzz_pidfile.c — libFuzzer target for tether_pidrecord_parse (SPEC §4).
 *
 * The input is the whole content of a pidfile. Beyond "no crash, no leak",
 * every accepted record must be one that status/stop can trust, and what
 * tether_pidrecord_format writes must read back as the same record:
 *   - the result is 0, -EINVAL, -EFBIG, -ELOOP or -ENOMEM; -EFBIG iff the
 *     input is larger than TETHER_PIDFILE_MAX_BYTES;
 *   - on success: 1 < pid <= 4194304; a JSON record has a NULL-terminated
 *     argv and a 36-char boot_id; a legacy record has neither;
 *   - round trip: format, parse again, same pid/start_time/boot_id/
 *     started_at/version/argv. The formatter may replace trailing arguments
 *     by "..." (pidfile.c keeps the record under the reader's limit), but only
 *     when the escaped argv really exceeds its budget, and what it writes must
 *     always be readable (never -EFBIG);
 *   - trailing whitespace does not change the answer until the size limit,
 *     where it becomes -EFBIG (checked on a sample of small accepted records,
 *     to keep the target fast).
 * Any violation calls abort(), which libFuzzer reports as a crash.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pidfile.h"

#define PID_LIMIT 4194304
/* Mirrors tether_pidrecord_format's argv budget. */
#define FORMAT_ARGV_BUDGET (TETHER_PIDFILE_MAX_BYTES / 2)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                     \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "fuzz_pidfile: property violated: %s (line %d)\n", \
				#cond, __LINE__);                                       \
			abort();                                                        \
		}                                                                       \
	} while (0)

static size_t argc_of(char **argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	return n;
}

static void check_record(const struct tether_pidrecord *rec)
{
	/* A JSON record may name pid 1 (tether as a container's entrypoint,
	 * SPEC §3); a legacy bare number never does: nothing verifies it. */
	CHECK(rec->pid >= (rec->legacy ? 2 : 1) && rec->pid <= PID_LIMIT);
	CHECK(memchr(rec->started_at, '\0', sizeof rec->started_at) != NULL);
	CHECK(memchr(rec->version, '\0', sizeof rec->version) != NULL);
	if (rec->legacy) {
		CHECK(rec->argv == NULL);
		return;
	}
	CHECK(rec->argv != NULL);
	CHECK(strlen(rec->boot_id) == TETHER_BOOT_ID_LEN);
	for (char **a = rec->argv; *a; a++)
		(void)strlen(*a); /* every element is a C string (ASan checks) */
}

/* Did the escaped argv exceed what the formatter keeps? */
static bool argv_over_budget(char **argv)
{
	struct tether_buf b;
	tether_buf_init(&b);
	for (size_t i = 0; argv[i]; i++)
		tether_buf_json_string(&b, argv[i]);
	CHECK(!b.oom);
	/* The formatter's budget also covers the fields before argv (< 512 bytes). */
	bool over = b.len + argc_of(argv) > FORMAT_ARGV_BUDGET - 512;
	tether_buf_done(&b);
	return over;
}

static void check_round_trip(const struct tether_pidrecord *rec)
{
	struct tether_buf b;
	struct tether_pidrecord back;
	tether_buf_init(&b);
	if (rec->legacy) {
		tether_buf_printf(&b, "%d\n", (int)rec->pid);
		CHECK(tether_pidrecord_parse(b.data, b.len, &back) == 0);
		CHECK(back.legacy && back.pid == rec->pid);
		tether_pidrecord_done(&back);
		tether_buf_done(&b);
		return;
	}
	tether_pidrecord_format(rec, &b);
	CHECK(!b.oom);
	CHECK(b.len <= TETHER_PIDFILE_MAX_BYTES); /* or status can never read it */
	int r = tether_pidrecord_parse(b.data, b.len, &back);
	if (r != 0)
		fprintf(stderr, "fuzz_pidfile: formatted record (%zu bytes) does not parse: %d\n", b.len, r);
	CHECK(r == 0);
	check_record(&back);
	CHECK(!back.legacy);
	CHECK(back.pid == rec->pid);
	CHECK(back.start_time == rec->start_time);
	CHECK(strcmp(back.boot_id, rec->boot_id) == 0);
	CHECK(strcmp(back.started_at, rec->started_at) == 0);
	CHECK(strcmp(back.version, rec->version) == 0);
	size_t n = argc_of(rec->argv), m = argc_of(back.argv);
	bool same = n == m;
	for (size_t i = 0; same && i < n; i++)
		same = strcmp(rec->argv[i], back.argv[i]) == 0;
	if (!same) {
		/* Only a deliberate truncation may differ: a prefix, then "...". */
		CHECK(argv_over_budget(rec->argv));
		CHECK(m >= 1 && m - 1 < n && strcmp(back.argv[m - 1], "...") == 0);
		for (size_t i = 0; i + 1 < m; i++)
			CHECK(strcmp(rec->argv[i], back.argv[i]) == 0);
	}
	tether_pidrecord_done(&back);
	tether_buf_done(&b);
}

/* Pads a small accepted record with spaces up to the size limit and one past. */
static void check_size_limit(const uint8_t *data, size_t size, const struct tether_pidrecord *rec)
{
	static char *big;
	struct tether_pidrecord back;
	if (!big && !(big = malloc(TETHER_PIDFILE_MAX_BYTES + 1)))
		abort();
	memcpy(big, data, size);
	memset(big + size, ' ', TETHER_PIDFILE_MAX_BYTES + 1 - size);
	CHECK(tether_pidrecord_parse(big, TETHER_PIDFILE_MAX_BYTES + 1, &back) == -EFBIG);
	CHECK(tether_pidrecord_parse(big, TETHER_PIDFILE_MAX_BYTES, &back) == 0);
	CHECK(back.pid == rec->pid && back.legacy == rec->legacy);
	tether_pidrecord_done(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tether_pidrecord rec;
	memset(&rec, 0xa5, sizeof rec);
	int r = tether_pidrecord_parse((const char *)data, size, &rec);
	CHECK(r == 0 || r == -EINVAL || r == -EFBIG || r == -ELOOP || r == -ENOMEM);
	CHECK((r == -EFBIG) == (size > TETHER_PIDFILE_MAX_BYTES));
	if (r != 0)
		return 0;
	check_record(&rec);
	check_round_trip(&rec);
	if (size < 1024 && size % 16 == 0) /* a sample: each check parses 256K */
		check_size_limit(data, size, &rec);
	tether_pidrecord_done(&rec);
	return 0;
}
