/* SPDX-License-Identifier: MIT */
/* pidrecord.c — see pidrecord.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pidrecord.h"

/* PID_MAX_LIMIT on 64-bit Linux: no real pid is larger. */
#define PID_LIMIT 4194304

void tether_pidrecord_done(struct tether_pidrecord *rec)
{
	if (rec->argv) {
		for (char **a = rec->argv; *a; a++)
			free(*a);
		free(rec->argv);
	}
	*rec = (struct tether_pidrecord){0};
}

int tether_pidrecord_init_self(struct tether_pidrecord *rec, char *const argv[],
			       const struct tether_clock *clock)
{
	struct tether_procstat st;
	*rec = (struct tether_pidrecord){0};
	int r = tether_proc_read_stat(getpid(), &st);
	if (r < 0)
		return r;
	rec->pid = getpid();
	rec->start_time = st.start_time;
	r = tether_proc_boot_id(rec->boot_id);
	if (r < 0)
		return r;
	tether_format_iso8601(tether_clock_wall(clock), false, rec->started_at, sizeof rec->started_at);
	snprintf(rec->version, sizeof rec->version, "%s", PACKAGE_VERSION);
	size_t n = 0;
	while (argv && argv[n])
		n++;
	rec->argv = calloc(n + 1, sizeof *rec->argv);
	if (!rec->argv)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rec->argv[i] = strdup(argv[i]);
		if (!rec->argv[i]) {
			tether_pidrecord_done(rec);
			return -ENOMEM;
		}
	}
	return 0;
}

void tether_pidrecord_format(const struct tether_pidrecord *rec, struct tether_buf *out)
{
	tether_buf_printf(out, "{\"pid\":%d,\"start_time\":%llu,\"boot_id\":", (int)rec->pid,
			  (unsigned long long)rec->start_time);
	tether_buf_json_string(out, rec->boot_id);
	tether_buf_puts(out, ",\"started_at\":");
	tether_buf_json_string(out, rec->started_at);
	tether_buf_puts(out, ",\"argv\":[");
	/* Keep the record under the reader's size limit whatever argv is: drop
	 * trailing arguments and say so. The budget counts the escaped text:
	 * a control character takes six bytes ("\u0001"), so strlen() would let
	 * a 100K argument through as an unreadable 600K record (fuzz_pidfile). */
	size_t budget = TETHER_PIDFILE_MAX_BYTES / 2;
	for (size_t i = 0; rec->argv && rec->argv[i]; i++) {
		size_t before = out->len;
		if (i)
			tether_buf_puts(out, ",");
		tether_buf_json_string(out, rec->argv[i]);
		if (out->len > budget) {
			out->len = before;
			if (out->data)
				out->data[out->len] = '\0';
			tether_buf_puts(out, i ? ",\"...\"" : "\"...\"");
			break;
		}
	}
	tether_buf_puts(out, "],\"version\":");
	tether_buf_json_string(out, rec->version);
	if (rec->scope[0]) {
		tether_buf_puts(out, ",\"scope\":");
		tether_buf_json_string(out, rec->scope);
	}
	tether_buf_puts(out, "}\n");
}

static bool is_boot_id(const char *s)
{
	if (strlen(s) != TETHER_BOOT_ID_LEN)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || *p == '-'))
			return false;
	return true;
}

static int parse_legacy(const char *buf, size_t len, struct tether_pidrecord *ret)
{
	uint64_t v = 0;
	size_t i = 0;
	while (i < len && buf[i] >= '0' && buf[i] <= '9') {
		v = v * 10 + (uint64_t)(buf[i] - '0');
		if (v > PID_LIMIT)
			return -EINVAL;
		i++;
	}
	/* i > 0: the caller comes here for a record that starts with a digit */
	while (i < len && (buf[i] == '\n' || buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r'))
		i++;
	if (i != len || v <= 1)
		return -EINVAL;
	*ret = (struct tether_pidrecord){.pid = (pid_t)v, .legacy = true};
	return 0;
}

static int copy_string(const struct tether_json *j, char *dst, size_t cap)
{
	if (!j || j->type != TETHER_JSON_STRING || strlen(j->string) >= cap)
		return -EINVAL;
	memcpy(dst, j->string, strlen(j->string) + 1);
	return 0;
}

int tether_pidrecord_parse(const char *buf, size_t len, struct tether_pidrecord *ret)
{
	struct tether_json *j = NULL;
	struct tether_pidrecord rec = {0};
	if (len > TETHER_PIDFILE_MAX_BYTES)
		return -EFBIG;
	if (len > 0 && buf[0] >= '0' && buf[0] <= '9')
		return parse_legacy(buf, len, ret);
	int r = tether_json_parse(buf, len, TETHER_PIDFILE_MAX_DEPTH, &j);
	if (r < 0)
		return r;
	r = -EINVAL;
	if (j->type != TETHER_JSON_OBJECT)
		goto out;
	const struct tether_json *pid = tether_json_get(j, "pid");
	const struct tether_json *st = tether_json_get(j, "start_time");
	const struct tether_json *argv = tether_json_get(j, "argv");
	/* pid 1: tether as a container's entrypoint (SPEC §3) — a record like
	 * any other to read; stop and kill refuse to signal it (stop.c). A
	 * legacy record naming 1 stays malformed: nothing verifies it. */
	if (!pid || !pid->is_int || pid->integer < 1 || pid->integer > PID_LIMIT)
		goto out;
	if (!st || !st->is_int || st->integer < 0)
		goto out;
	rec.pid = (pid_t)pid->integer;
	rec.start_time = (uint64_t)st->integer;
	if (copy_string(tether_json_get(j, "boot_id"), rec.boot_id, sizeof rec.boot_id) < 0 ||
	    !is_boot_id(rec.boot_id))
		goto out;
	if (copy_string(tether_json_get(j, "started_at"), rec.started_at, sizeof rec.started_at) < 0)
		goto out;
	if (copy_string(tether_json_get(j, "version"), rec.version, sizeof rec.version) < 0)
		goto out;
	if (!argv || argv->type != TETHER_JSON_ARRAY)
		goto out;
	const struct tether_json *scope = tether_json_get(j, "scope");
	if (scope && copy_string(scope, rec.scope, sizeof rec.scope) < 0)
		goto out;
	rec.argv = calloc(argv->count + 1, sizeof *rec.argv);
	if (!rec.argv) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < argv->count; i++) {
		if (argv->items[i]->type != TETHER_JSON_STRING)
			goto out;
		rec.argv[i] = strdup(argv->items[i]->string);
		if (!rec.argv[i]) {
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = rec;
	rec = (struct tether_pidrecord){0};
	r = 0;
out:
	tether_pidrecord_done(&rec);
	tether_json_free(j);
	return r;
}
