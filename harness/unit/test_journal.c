/* SPDX-License-Identifier: MIT */
/* test_journal.c — the heartbeat log (SPEC §6): JSON lines in order, size
 * rotation by rename that never splits, loses or doubles a line, no partial
 * line after a short write, the failure protocol (one report, lost lines
 * counted, a log_error line on recovery), and no write through a symlink. */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TETHER_FAULT_INJECTION
#include <fiu-control.h>
#include <fiu.h>
#endif

#include "clock.h"
#include "journal.h"
#include "json.h"
#include "testutil.h"

/* 2025-11-24T16:00:00Z: the time every log_error line must carry. */
#define WALL (INT64_C(1764000000) * TETHER_NSEC_PER_SEC)
#define WALL_TEXT "2025-11-24T16:00:00.000Z"

static void setup(void)
{
	tu_setup();
	umask(022);
#ifdef TETHER_FAULT_INJECTION
	fiu_init(0);
#endif
}

/* A data line of exactly len bytes (without the newline) when len is at
 * least the skeleton's length: {"seq":N,"event":"heartbeat","pad":"xxx"}. */
static void make_line(struct tether_buf *b, int64_t seq, size_t len)
{
	tether_buf_reset(b);
	tether_buf_printf(b, "{\"seq\":%lld,\"event\":\"heartbeat\",\"pad\":\"", (long long)seq);
	size_t skeleton = b->len + 2;
	for (size_t i = skeleton; i < len; i++)
		tether_buf_append(b, i % 7 ? "x" : "-", 1);
	tether_buf_puts(b, "\"}");
	ck_assert(!b->oom);
}

static int put(struct tether_journal *j, struct tether_buf *b, int64_t seq, size_t len)
{
	make_line(b, seq, len);
	return tether_journal_write(j, b->data, b->len, WALL);
}

static struct tether_journal *open_journal(const char *path, uint64_t max_bytes, unsigned keep)
{
	struct tether_journal_config cfg = {.path = path, .max_bytes = max_bytes, .keep = keep};
	struct tether_journal *j = NULL;
	int r = tether_journal_open(&cfg, &j);
	ck_assert_msg(r == 0, "open %s: %d", path, r);
	ck_assert_ptr_nonnull(j);
	return j;
}

static const char *rotated(const char *path, unsigned n)
{
	static char bufs[4][600];
	static int next;
	char *b = bufs[next++ % 4];
	if (n == 0)
		snprintf(b, sizeof bufs[0], "%s", path);
	else
		snprintf(b, sizeof bufs[0], "%s.%u", path, n);
	return b;
}

/* ---- reading the files back ---------------------------------------------- */

struct entry {
	bool log_error;
	int64_t seq;       /* data lines */
	int64_t lost, err; /* log_error lines */
	size_t len;        /* bytes, newline included */
	unsigned file;     /* 0 = PATH, n = PATH.n */
};

struct scan {
	struct entry *e;
	size_t n, cap;
	unsigned files;
};

static void scan_free(struct scan *s)
{
	free(s->e);
	*s = (struct scan){0};
}

/* Reads PATH.top, ..., PATH.1, PATH (missing ones skipped) into one list,
 * oldest first. Every file must be whole JSON lines; with strict_size, no
 * file may exceed max_bytes unless it holds a single line. */
static void scan_files(const char *path, unsigned top, uint64_t max_bytes, bool strict_size, struct scan *s)
{
	*s = (struct scan){0};
	for (unsigned f = top + 1; f-- > 0;) {
		const char *name = rotated(path, f);
		size_t len;
		char *text = tu_read_file(name, &len);
		if (!text)
			continue;
		s->files++;
		ck_assert_msg(len == 0 || text[len - 1] == '\n', "%s does not end with a newline (%zu bytes)", name, len);
		ck_assert_msg(memchr(text, '\0', len) == NULL, "%s holds a NUL byte", name);
		size_t lines = 0;
		for (char *p = text; p < text + len;) {
			char *nl = memchr(p, '\n', (size_t)(text + len - p));
			size_t ll = (size_t)(nl - p);
			struct tether_json *j = NULL;
			int r = tether_json_parse(p, ll, 8, &j);
			ck_assert_msg(r == 0, "%s line %zu is not JSON (%d): %.*s", name, lines + 1, r,
				      (int)(ll > 200 ? 200 : ll), p);
			ck_assert_msg(j->type == TETHER_JSON_OBJECT, "%s line %zu: not an object", name, lines + 1);
			const struct tether_json *ev = tether_json_get(j, "event");
			ck_assert_msg(ev && ev->type == TETHER_JSON_STRING, "%s line %zu: no event", name, lines + 1);
			struct entry e = {.len = ll + 1, .file = f};
			if (strcmp(ev->string, "log_error") == 0) {
				const struct tether_json *ts = tether_json_get(j, "ts");
				const struct tether_json *en = tether_json_get(j, "errno");
				const struct tether_json *er = tether_json_get(j, "error");
				const struct tether_json *lo = tether_json_get(j, "lost_lines");
				ck_assert_msg(ts && ts->type == TETHER_JSON_STRING && strcmp(ts->string, WALL_TEXT) == 0,
					      "%s line %zu: bad ts", name, lines + 1);
				ck_assert_msg(en && en->is_int && lo && lo->is_int && er && er->type == TETHER_JSON_STRING,
					      "%s line %zu: incomplete log_error", name, lines + 1);
				ck_assert_str_eq(er->string, strerror((int)en->integer));
				e.log_error = true;
				e.err = en->integer;
				e.lost = lo->integer;
			} else {
				const struct tether_json *seq = tether_json_get(j, "seq");
				ck_assert_msg(seq && seq->is_int, "%s line %zu: no seq", name, lines + 1);
				e.seq = seq->integer;
			}
			tether_json_free(j);
			if (s->n == s->cap) {
				s->cap = s->cap ? 2 * s->cap : 1024;
				s->e = realloc(s->e, s->cap * sizeof *s->e);
				ck_assert_ptr_nonnull(s->e);
			}
			s->e[s->n++] = e;
			lines++;
			p = nl + 1;
		}
		if (strict_size)
			ck_assert_msg(len <= max_bytes || lines == 1, "%s: %zu bytes in %zu lines, max %llu", name, len,
				      lines, (unsigned long long)max_bytes);
		free(text);
	}
}

/* The data lines must be exactly the last lines of those reported written
 * (results[i] == 0), in order, each once; all of them when complete. A
 * log_error line stands right before the first line written after losses,
 * and nowhere else, and gives their number (and errno, when err != 0). */
static void check_sequence(const struct scan *s, const int *results, int n, bool complete, int err)
{
	int *ok = malloc(sizeof(int) * (size_t)(n + 1));
	int nok = 0;
	for (int i = 0; i < n; i++)
		if (results[i] == 0)
			ok[nok++] = i;
	int ndata = 0;
	for (size_t i = 0; i < s->n; i++)
		ndata += !s->e[i].log_error;
	ck_assert_msg(ndata <= nok, "%d data lines in the files, only %d were written", ndata, nok);
	if (complete)
		ck_assert_msg(ndata == nok, "%d lines written, %d in the files", nok, ndata);
	int want = nok - ndata; /* index in ok[] of the next expected data line */
	for (size_t i = 0; i < s->n; i++) {
		const struct entry *e = &s->e[i];
		if (e->log_error) {
			ck_assert_msg(i + 1 < s->n && !s->e[i + 1].log_error, "log_error line not followed by a line");
			continue;
		}
		ck_assert_msg(e->seq == ok[want], "expected line %d, found line %lld (file .%u)", ok[want],
			      (long long)e->seq, e->file);
		int prev = want > 0 ? ok[want - 1] : -1;
		int lost = e->seq - prev - 1;
		if (lost > 0 && i > 0) {
			ck_assert_msg(s->e[i - 1].log_error, "line %lld follows %d lost lines without a log_error",
				      (long long)e->seq, lost);
			ck_assert_int_eq(s->e[i - 1].lost, lost);
			if (err)
				ck_assert_int_eq(s->e[i - 1].err, err);
		} else if (lost > 0) {
			/* the log_error went with a file rotated away */
			ck_assert(!complete);
		} else {
			ck_assert_msg(i == 0 || !s->e[i - 1].log_error, "log_error before line %lld, nothing lost",
				      (long long)e->seq);
		}
		want++;
	}
	free(ok);
}

/* ---- order and format ------------------------------------------------------ */

START_TEST(lines_in_order_each_valid_json)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 1 << 20, 3);
	struct tether_buf b;
	tether_buf_init(&b);
	int results[201] = {0};
	for (int i = 0; i < 200; i++) {
		results[i] = put(j, &b, i, 30 + (size_t)(i * 13) % 200);
		ck_assert_int_eq(results[i], 0);
	}
	/* escapes and UTF-8 go through untouched */
	const char *odd = "{\"seq\":200,\"event\":\"exit\",\"status\":\"a\\\"b\\\\c\\nd \xc3\xa9 \\u0001\"}";
	ck_assert_int_eq(tether_journal_write(j, odd, strlen(odd), WALL), 0);
	ck_assert_uint_eq(tether_journal_lost(j), 0);
	tether_journal_free(j);
	struct scan s;
	scan_files(path, 4, 1 << 20, true, &s);
	ck_assert_uint_eq(s.files, 1); /* far below max_bytes: no rotation */
	ck_assert_uint_eq(s.n, 201);
	check_sequence(&s, results, 201, true, 0);
	scan_free(&s);
	size_t len;
	char *text = tu_read_file(path, &len);
	ck_assert_ptr_nonnull(strstr(text, odd));
	ck_assert_int_eq(strlen(strstr(text, odd)), strlen(odd) + 1); /* the last line, byte for byte */
	free(text);
	tether_buf_done(&b);
}
END_TEST

START_TEST(reopening_appends_and_counts_existing_bytes)
{
	const char *path = tu_path("hb.log");
	struct tether_buf b;
	tether_buf_init(&b);
	struct tether_journal *j = open_journal(path, 100, 2);
	ck_assert_int_eq(put(j, &b, 0, 59), 0);
	tether_journal_free(j);
	/* a restarted supervisor appends, and knows the file already holds 60
	 * bytes: 60 + 41 > 100 rotates first (as if it were empty, it would not) */
	j = open_journal(path, 100, 2);
	ck_assert_int_eq(put(j, &b, 1, 40), 0);
	struct stat st;
	ck_assert_int_eq(stat(rotated(path, 1), &st), 0);
	ck_assert_int_eq(st.st_size, 60);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 41);
	/* and appends to a file that fits */
	tether_journal_free(j);
	j = open_journal(path, 100, 2);
	ck_assert_int_eq(put(j, &b, 2, 40), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 82);
	ck_assert(!tu_exists(rotated(path, 2)));
	tether_journal_free(j);
	tether_buf_done(&b);
}
END_TEST

static size_t lines_in(const char *path)
{
	size_t len, n = 0;
	char *text = tu_read_file(path, &len);
	ck_assert_msg(text != NULL, "%s missing", path);
	for (size_t i = 0; i < len; i++)
		n += text[i] == '\n';
	free(text);
	return n;
}

/* SIGUSR1 (tether_journal_reopen): an outside tool renamed the log away;
 * lines go on into the renamed file until the reopen, then into a new file
 * by the name: none lost, none doubled. With keep 0 the tool's PATH.1 is not
 * ours to remove. A reopen that fails leaves the lines going where they
 * went. */
START_TEST(reopen_by_name_after_an_outside_rename)
{
	const char *path = tu_path("hb.log");
	struct tether_buf b;
	tether_buf_init(&b);
	struct tether_journal *j = open_journal(path, 1 << 20, 0);
	ck_assert_int_eq(put(j, &b, 0, 40), 0);
	ck_assert_int_eq(put(j, &b, 1, 40), 0);
	ck_assert_int_eq(rename(path, rotated(path, 1)), 0);
	ck_assert_int_eq(put(j, &b, 2, 40), 0);
	ck_assert_int_eq(tether_journal_reopen(j), 0);
	ck_assert_int_eq(put(j, &b, 3, 40), 0);
	ck_assert_uint_eq(lines_in(rotated(path, 1)), 3);
	ck_assert_uint_eq(lines_in(path), 1);
	/* again, and this time the name cannot be opened: a directory there */
	ck_assert_int_eq(rename(path, rotated(path, 2)), 0);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_lt(tether_journal_reopen(j), 0);
	ck_assert_int_eq(put(j, &b, 4, 40), 0);
	ck_assert_uint_eq(lines_in(rotated(path, 2)), 2);
	ck_assert_uint_eq(lines_in(rotated(path, 1)), 3);
	ck_assert_uint_eq(tether_journal_lost(j), 0);
	tether_journal_free(j);
	rmdir(path);
	tether_buf_done(&b);
}
END_TEST

static bool fd_of(const char *path, int *ret_fd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char link[600], target[600], real[PATH_MAX];
	bool found = false;
	if (!realpath(path, real))
		return false;
	while (d && (de = readdir(d))) {
		snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
		ssize_t n = readlink(link, target, sizeof target - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, real) == 0) {
			*ret_fd = atoi(de->d_name);
			found = true;
		}
	}
	if (d)
		closedir(d);
	return found;
}

START_TEST(file_mode_cloexec_and_bad_input)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 1000, 1);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0644);
	int fd;
	ck_assert(fd_of(path, &fd));
	ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC); /* no instance inherits it (G5) */
	ck_assert(fcntl(fd, F_GETFL) & O_APPEND);
	/* a caller's bug is refused, not written, not counted as lost */
	ck_assert_int_eq(tether_journal_write(j, "{\"a\":1}\n{\"b\":2}", 15, WALL), -EINVAL);
	ck_assert_int_eq(tether_journal_write(j, "", 0, WALL), -EINVAL);
	ck_assert_uint_eq(tether_journal_lost(j), 0);
	ck_assert_int_eq(tether_journal_write(j, "{\"a\":1}", 7, WALL), 0);
	tether_journal_free(j);
	size_t len;
	char *text = tu_read_file(path, &len);
	ck_assert_str_eq(text, "{\"a\":1}\n");
	free(text);
	struct tether_journal_config bad = {.path = path, .max_bytes = 0, .keep = 1};
	ck_assert_int_eq(tether_journal_open(&bad, &j), -EINVAL);
	bad.max_bytes = 10;
	bad.keep = TETHER_JOURNAL_KEEP_MAX + 1;
	ck_assert_int_eq(tether_journal_open(&bad, &j), -EINVAL);
	bad.keep = 1;
	bad.path = tu_path("no/such/dir/hb.log");
	ck_assert_int_eq(tether_journal_open(&bad, &j), -ENOENT);
	tether_journal_free(NULL);
}
END_TEST

/* ---- rotation -------------------------------------------------------------- */

enum { BULK_N = 10000, BULK_MAX = 1000 };

/* Varying lengths, 30..229 bytes, and now and then one longer than the
 * 1000-byte limit (one near the end, in what is kept). */
static size_t bulk_len(int i)
{
	if (i % 997 == 500 || i == BULK_N - 20)
		return 1500 + (size_t)i % 300;
	return 30 + (size_t)((i * 7919u) % 200);
}

START_TEST(rotation_keeps_a_contiguous_suffix)
{
	static const unsigned keeps[] = {3, 1, 0};
	const unsigned keep = keeps[_i];
	enum { N = BULK_N, MAX = BULK_MAX };
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, MAX, keep);
	struct tether_buf b;
	tether_buf_init(&b);
	static int results[N];
	for (int i = 0; i < N; i++) {
		results[i] = put(j, &b, i, bulk_len(i));
		ck_assert_msg(results[i] == 0, "line %d: %d", i, results[i]);
	}
	tether_journal_free(j);
	tether_buf_done(&b);
	for (unsigned f = 1; f <= keep; f++)
		ck_assert_msg(tu_exists(rotated(path, f)), "%s missing", rotated(path, f));
	ck_assert_msg(!tu_exists(rotated(path, keep + 1)), "%s kept", rotated(path, keep + 1));
	ck_assert(!tu_exists(rotated(path, keep + 2)));
	struct scan s;
	scan_files(path, keep + 2, MAX, true, &s);
	ck_assert_uint_eq(s.files, keep + 1);
	check_sequence(&s, results, N, false, 0);
	ck_assert_int_eq(s.e[s.n - 1].seq, N - 1);
	/* No premature rotation: each rotated file was full, i.e. the first line
	 * of the next file would have taken it past the limit. */
	uint64_t size = 0;
	for (size_t i = 0; i < s.n; i++) {
		if (i > 0 && s.e[i].file != s.e[i - 1].file) {
			ck_assert_msg(size + s.e[i].len > MAX, ".%u rotated at %llu bytes, next line %zu",
				      s.e[i - 1].file, (unsigned long long)size, s.e[i].len);
			size = 0;
		}
		size += s.e[i].len;
	}
	scan_free(&s);
}
END_TEST

START_TEST(exact_fit_does_not_rotate)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 100, 2);
	struct tether_buf b;
	tether_buf_init(&b);
	ck_assert_int_eq(put(j, &b, 0, 49), 0);
	ck_assert_int_eq(put(j, &b, 1, 49), 0); /* 50 + 50 == max: fits */
	ck_assert(!tu_exists(rotated(path, 1)));
	ck_assert_int_eq(put(j, &b, 2, 40), 0); /* 100 + 41 > max: rotate first */
	struct stat st;
	ck_assert_int_eq(stat(rotated(path, 1), &st), 0);
	ck_assert_int_eq(st.st_size, 100);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 41);
	tether_journal_free(j);
	tether_buf_done(&b);
}
END_TEST

START_TEST(long_line_goes_alone_into_a_fresh_file)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 100, 5);
	struct tether_buf b;
	tether_buf_init(&b);
	/* an empty file takes a long line as it is: no empty PATH.1 */
	ck_assert_int_eq(put(j, &b, 0, 500), 0);
	ck_assert(!tu_exists(rotated(path, 1)));
	ck_assert_int_eq(put(j, &b, 1, 40), 0);
	ck_assert_int_eq(put(j, &b, 2, 5000), 0);
	ck_assert_int_eq(put(j, &b, 3, 40), 0);
	ck_assert_int_eq(put(j, &b, 4, 40), 0);
	tether_journal_free(j);
	tether_buf_done(&b);
	/* PATH.3: line 0 alone; PATH.2: line 1; PATH.1: line 2 alone; PATH: 3, 4 */
	static const int first[] = {3, 2, 1, 0}, count[] = {2, 1, 1, 1};
	static const size_t bytes[] = {82, 5001, 41, 501};
	for (unsigned f = 0; f < 4; f++) {
		struct scan s;
		scan_files(rotated(path, f), 0, 100, true, &s);
		ck_assert_uint_eq(s.n, (size_t)count[f]);
		ck_assert_int_eq(s.e[0].seq, first[f]);
		size_t total = 0;
		for (size_t i = 0; i < s.n; i++)
			total += s.e[i].len;
		ck_assert_uint_eq(total, bytes[f]);
		scan_free(&s);
	}
	ck_assert(!tu_exists(rotated(path, 4)));
}
END_TEST

START_TEST(rotation_replaces_symlinks_never_writes_through)
{
	const char *path = tu_path("hb.log");
	const char *target = tu_path("precious");
	tu_write_file(target, "precious\n", 9, 0644);
	ck_assert_int_eq(symlink(target, rotated(path, 1)), 0);
	ck_assert_int_eq(symlink(target, rotated(path, 2)), 0);
	struct tether_journal *j = open_journal(path, 100, 2);
	struct tether_buf b;
	tether_buf_init(&b);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(put(j, &b, i, 60), 0);
	tether_journal_free(j);
	tether_buf_done(&b);
	char *t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
	struct stat st;
	ck_assert_int_eq(lstat(rotated(path, 1), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_int_eq(lstat(rotated(path, 2), &st), 0);
	ck_assert(S_ISREG(st.st_mode));
}
END_TEST

START_TEST(keep_zero_renames_never_truncates)
{
	/* keep 0 drops the old file, but by rename + unlink, not by truncating
	 * the live one: a reader holding it open (tail -f) keeps every line it
	 * had, and a reader following the name sees a new file. */
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 100, 0);
	struct tether_buf b;
	tether_buf_init(&b);
	ck_assert_int_eq(put(j, &b, 0, 59), 0);
	int reader = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(reader, 0);
	ck_assert_int_eq(put(j, &b, 1, 59), 0); /* 60 + 60 > 100: rotates */
	struct stat held, now;
	ck_assert_int_eq(fstat(reader, &held), 0);
	ck_assert_int_eq(stat(path, &now), 0);
	ck_assert(held.st_ino != now.st_ino); /* the reader pins the inode: no reuse */
	ck_assert_int_eq(held.st_size, 60);
	ck_assert_int_eq(held.st_nlink, 0);
	ck_assert_int_eq(now.st_size, 60);
	ck_assert(!tu_exists(rotated(path, 1)));
	close(reader);
	tether_journal_free(j);
	tether_buf_done(&b);
}
END_TEST

/* ---- a symlink (or anything but a file) at PATH ---------------------------- */

START_TEST(symlink_at_path_is_refused)
{
	const char *path = tu_path("hb.log");
	const char *target = tu_path("precious");
	tu_write_file(target, "precious\n", 9, 0600);
	ck_assert_int_eq(symlink(target, path), 0);
	struct tether_journal_config cfg = {.path = path, .max_bytes = 1000, .keep = 3};
	struct tether_journal *j = NULL;
	ck_assert_int_eq(tether_journal_open(&cfg, &j), -ELOOP);
	ck_assert_ptr_null(j);
	char *t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
	struct stat st;
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	/* a dangling one is not followed to create its target either */
	unlink(path);
	ck_assert_int_eq(symlink(tu_path("created"), path), 0);
	ck_assert_int_eq(tether_journal_open(&cfg, &j), -ELOOP);
	ck_assert(!tu_exists(tu_path("created")));
}
END_TEST

START_TEST(fifo_or_directory_at_path_is_refused)
{
	const char *path = tu_path("hb.log");
	struct tether_journal_config cfg = {.path = path, .max_bytes = 1000, .keep = 3};
	struct tether_journal *j = NULL;
	ck_assert_int_eq(mkfifo(path, 0644), 0);
	/* no reader: must fail at once, not block (the test would time out) */
	ck_assert_int_lt(tether_journal_open(&cfg, &j), 0);
	/* with a reader it opens, and is refused for not being a file */
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ge(rd, 0);
	ck_assert_int_eq(tether_journal_open(&cfg, &j), -EINVAL);
	close(rd);
	unlink(path);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	ck_assert_int_eq(tether_journal_open(&cfg, &j), -EISDIR);
}
END_TEST

/* ---- a short write leaves no partial line (RLIMIT_FSIZE) -------------------- */

/* In a child (the limit is per process): lines of exactly 100 bytes until
 * the file size limit stops one, then the failure protocol, then the limit
 * lifted. Exit code: lines written before the failure, or >= 200 for a
 * protocol violation. */
static rlim_t fsize_limit;
/* with fault injection: 1 = the first ftruncate fails (the cut is done before
 * the next write instead), 2 = the lseek fails (the cut falls back on the
 * size the journal keeps) */
static int fsize_fault;

static int fsize_child(void *arg)
{
	const char *path = arg;
	struct tether_journal_config cfg = {.path = path, .max_bytes = 1 << 20, .keep = 1};
	struct tether_journal *j = NULL;
	struct tether_buf b;
	tether_buf_init(&b);
	signal(SIGXFSZ, SIG_IGN); /* EFBIG and short writes instead of the signal */
	if (tether_journal_open(&cfg, &j) < 0)
		return 200;
	struct rlimit rl = {.rlim_cur = fsize_limit, .rlim_max = RLIM_INFINITY};
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 201;
#ifdef TETHER_FAULT_INJECTION
	if (fsize_fault) {
		fiu_init(0);
		fiu_enable(fsize_fault == 1 ? "tether/sys/ftruncate" : "tether/sys/lseek", 1, (void *)(intptr_t)EIO,
			   FIU_ONETIME);
	}
#endif
	int ok = 0, r;
	for (;;) {
		make_line(&b, ok, 99);
		r = tether_journal_write(j, b.data, b.len, WALL);
		if (r != 0)
			break;
		if (++ok > 150)
			return 202;
	}
	/* at a line boundary the kernel says EFBIG; inside a line it writes
	 * what fits and the journal reports the lost line as ENOSPC */
	if (r != (fsize_limit % 100 == 0 ? -EFBIG : -ENOSPC))
		return 203;
	make_line(&b, ok + 1, 99);
	if (tether_journal_write(j, b.data, b.len, WALL) != -EAGAIN)
		return 204;
	/* retried while still limited: the log_error line itself fails (short
	 * again, or EFBIG), the journal stays failed, no second report */
	tether_journal_retry(j);
	make_line(&b, ok + 2, 99);
	if (tether_journal_write(j, b.data, b.len, WALL) != -EAGAIN)
		return 205;
	if (tether_journal_lost(j) != 3)
		return 206;
	rl.rlim_cur = RLIM_INFINITY;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		return 207;
	tether_journal_retry(j);
	make_line(&b, ok + 3, 99);
	if (tether_journal_write(j, b.data, b.len, WALL) != 0)
		return 208;
	if (tether_journal_lost(j) != 0)
		return 209;
	tether_journal_free(j);
	tether_buf_done(&b);
	return ok;
}

START_TEST(short_write_is_cut_back_to_the_line_boundary)
{
	char dir[300], path[400];
	fsize_fault = _i;
	for (fsize_limit = 0; fsize_limit <= 420; fsize_limit += _i ? 3 : 1) {
		snprintf(dir, sizeof dir, "%s/l%llu", tu_dir, (unsigned long long)fsize_limit);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(path, sizeof path, "%s/hb.log", dir);
		pid_t pid = tu_fork(fsize_child, path);
		int st = tu_wait(pid, 10000);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) < 200, "limit %llu: child status %d (exit %d)",
			      (unsigned long long)fsize_limit, st, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		int ok = WEXITSTATUS(st);
		ck_assert_int_eq(ok, (int)(fsize_limit / 100));
		/* every line whole: the lines before, log_error, the line after */
		struct scan s;
		scan_files(path, 0, 1 << 20, true, &s);
		ck_assert_uint_eq(s.n, (size_t)ok + 2);
		for (int i = 0; i < ok; i++)
			ck_assert(!s.e[i].log_error && s.e[i].seq == i);
		ck_assert(s.e[ok].log_error);
		ck_assert_int_eq(s.e[ok].lost, 3);
		ck_assert_int_eq(s.e[ok].err, fsize_limit % 100 == 0 ? EFBIG : ENOSPC);
		ck_assert(!s.e[ok + 1].log_error);
		ck_assert_int_eq(s.e[ok + 1].seq, ok + 3);
		scan_free(&s);
	}
}
END_TEST

/* ---- faults through the tether/sys points ------------------------------------------- */
#ifdef TETHER_FAULT_INJECTION

static uint64_t fault_k, fault_calls;
static int fault_errno_value;

static int kth_call(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	if (++fault_calls != fault_k)
		return 0;
	*failinfo = (void *)(intptr_t)fault_errno_value;
	return 1;
}

/* The script makes 12 rotations: with KEEP_ALL rotated files (room for a
 * rotation repeated after a failure too) nothing is rotated away. Kept short:
 * the enumeration is quadratic in it. */
enum { SCRIPT_LINES = 36, KEEP_ALL = 16 };

/* 20..139 bytes and one 400-byte line, retry at every third line (as at a
 * heartbeat). Checks the return values as it goes: a lost line is reported
 * (-errno) once, then -EAGAIN until a line is written; lost() counts them. */
static size_t script_len(int i)
{
	return i == 13 ? 400 : 20 + (size_t)((i * 53) % 120);
}

static int run_script(const char *path, uint64_t max_bytes, unsigned keep, int err, int *results)
{
	struct tether_journal_config cfg = {.path = path, .max_bytes = max_bytes, .keep = keep};
	struct tether_journal *j = NULL;
	int r = tether_journal_open(&cfg, &j);
	if (r < 0)
		return r;
	struct tether_buf b;
	tether_buf_init(&b);
	bool failed = false;
	uint64_t lost = 0;
	for (int i = 0; i < SCRIPT_LINES; i++) {
		if (i % 3 == 0)
			tether_journal_retry(j);
		r = results[i] = put(j, &b, i, script_len(i));
		if (r == 0) {
			failed = false;
			lost = 0;
		} else if (r == -EAGAIN) {
			ck_assert_msg(failed, "line %d: -EAGAIN without a failure", i);
			lost++;
		} else {
			ck_assert_msg(!failed, "line %d: failure reported twice (%d)", i, r);
			ck_assert_msg(r == -err, "line %d: %d, expected %d", i, r, -err);
			failed = true;
			lost++;
		}
		ck_assert_uint_eq(tether_journal_lost(j), lost);
	}
	tether_journal_free(j);
	tether_buf_done(&b);
	return 0;
}

/* Fails only the k-th call of point, for k = 1, 2, ... until a run makes
 * fewer than k calls. After each run: whole JSON lines only; every line the
 * journal said it wrote is there, once and in order (all of them when keep
 * is large enough for nothing to be rotated away); lost lines are announced
 * by a correct log_error line. may_lose: whether the point can lose a line
 * at all (only a failed write may; a failed rotation may not). */
static void enumerate(const char *point, int err, unsigned keep, bool may_lose)
{
	const uint64_t max_bytes = 300;
	const bool complete = keep >= KEEP_ALL;
	int fired = 0;
	fault_errno_value = err;
	for (fault_k = 1; fault_k < 5000; fault_k++) {
		char dir[300], path[400], what[200];
		snprintf(dir, sizeof dir, "%s/%s-%d-%u-%llu", tu_dir, strrchr(point, '/') + 1, err, keep,
			 (unsigned long long)fault_k);
		ck_assert_int_eq(mkdir(dir, 0755), 0);
		snprintf(path, sizeof path, "%s/hb.log", dir);
		snprintf(what, sizeof what, "%s errno %d keep %u k=%llu", point, err, keep, (unsigned long long)fault_k);
		int results[SCRIPT_LINES];
		fault_calls = 0;
		fiu_enable_external(point, 1, NULL, 0, kth_call);
		int r = run_script(path, max_bytes, keep, err, results);
		fiu_disable(point);
		if (fault_calls < fault_k)
			break; /* the k-th call never came: every call was covered */
		fired++;
		if (r < 0) {
			/* the fault hit tether_journal_open itself */
			ck_assert_msg(r == -err, "%s: open returned %d", what, r);
			continue;
		}
		int nlost = 0;
		for (int i = 0; i < SCRIPT_LINES; i++)
			nlost += results[i] != 0;
		ck_assert_msg(may_lose || nlost == 0, "%s: %d lines lost to a failed rotation", what, nlost);
		if (keep > 0)
			ck_assert_msg(!tu_exists(rotated(path, keep + 1)), "%s: more than keep files", what);
		struct scan s;
		/* a failed rotation may leave a file bigger than max_bytes, never
		 * a failed write */
		scan_files(path, keep + 1, max_bytes, may_lose, &s);
		check_sequence(&s, results, SCRIPT_LINES, complete, may_lose ? err : 0);
		scan_free(&s);
	}
	ck_assert_msg(fault_k < 5000, "%s: the fault kept firing", point);
	ck_assert_msg(fired > 0, "%s was never reached", point);
}

START_TEST(enospc_or_eio_at_the_kth_write)
{
	enumerate("tether/sys/write", ENOSPC, KEEP_ALL, true);
	enumerate("tether/sys/write", EIO, 2, true);
	enumerate("tether/sys/write", ENOSPC, 0, true);
}
END_TEST

START_TEST(rotation_faults_lose_no_line)
{
	/* every rename of every rotation, with the full chain in place */
	enumerate("tether/sys/rename", EIO, KEEP_ALL, false);
	enumerate("tether/sys/rename", EACCES, 2, false);
	enumerate("tether/sys/rename", EIO, 0, false);
	/* the open of the fresh PATH (and its fstat, and closing the old one) */
	enumerate("tether/sys/open", EMFILE, KEEP_ALL, false);
	enumerate("tether/sys/open", EMFILE, 2, false);
	enumerate("tether/sys/open", ENOSPC, 0, false);
	enumerate("tether/sys/fstat", EIO, KEEP_ALL, false);
	enumerate("tether/sys/close", EIO, 2, false);
	enumerate("tether/sys/unlink", EIO, 0, false);
}
END_TEST

START_TEST(failure_protocol)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 1 << 20, 1);
	struct tether_buf b;
	tether_buf_init(&b);
	ck_assert_int_eq(put(j, &b, 0, 50), 0);
	fiu_enable("tether/sys/write", 1, (void *)(intptr_t)ENOSPC, 0);
	ck_assert_int_eq(put(j, &b, 1, 50), -ENOSPC); /* the one to report */
	ck_assert_uint_eq(tether_journal_lost(j), 1);
	ck_assert_int_eq(put(j, &b, 2, 50), -EAGAIN); /* suspended: counted only */
	fiu_disable("tether/sys/write");
	fiu_enable("tether/sys/write", 1, (void *)(intptr_t)EIO, 0);
	tether_journal_retry(j);
	ck_assert_int_eq(put(j, &b, 3, 50), -EAGAIN); /* the log_error line fails: still failed */
	ck_assert_int_eq(put(j, &b, 4, 50), -EAGAIN);
	ck_assert_uint_eq(tether_journal_lost(j), 4);
	fiu_disable("tether/sys/write");
	ck_assert_int_eq(put(j, &b, 5, 50), -EAGAIN); /* nothing is tried before a retry */
	ck_assert_uint_eq(tether_journal_lost(j), 5);
	tether_journal_retry(j);
	ck_assert_int_eq(put(j, &b, 6, 50), 0);
	ck_assert_uint_eq(tether_journal_lost(j), 0);
	ck_assert_int_eq(put(j, &b, 7, 50), 0);
	/* a new failure after a success is reported again, and also recovers */
	fiu_enable("tether/sys/write", 1, (void *)(intptr_t)ENOSPC, 0);
	ck_assert_int_eq(put(j, &b, 8, 50), -ENOSPC);
	fiu_disable("tether/sys/write");
	tether_journal_retry(j); /* retried but unused: no line, no log_error */
	tether_journal_retry(j);
	ck_assert_int_eq(put(j, &b, 9, 50), 0);
	ck_assert_int_eq(put(j, &b, 10, 50), 0);
	tether_journal_free(j);
	tether_buf_done(&b);
	struct scan s;
	scan_files(path, 1, 1 << 20, true, &s);
	static const int want_seq[] = {0, -1, 6, 7, -1, 9, 10};
	static const int want_lost[] = {0, 5, 0, 0, 1, 0, 0};
	/* errno: the last failure's (the log_error attempt that failed with EIO) */
	static const int want_err[] = {0, EIO, 0, 0, ENOSPC, 0, 0};
	ck_assert_uint_eq(s.n, 7);
	for (size_t i = 0; i < 7; i++) {
		ck_assert_msg(s.e[i].log_error == (want_seq[i] < 0), "line %zu", i);
		if (want_seq[i] >= 0) {
			ck_assert_int_eq(s.e[i].seq, want_seq[i]);
		} else {
			ck_assert_int_eq(s.e[i].lost, want_lost[i]);
			ck_assert_int_eq(s.e[i].err, want_err[i]);
		}
	}
	scan_free(&s);
	size_t len;
	char *text = tu_read_file(path, &len);
	ck_assert_ptr_nonnull(strstr(text, "{\"ts\":\"" WALL_TEXT "\",\"event\":\"log_error\",\"errno\":5,"
					   "\"error\":\"Input/output error\",\"lost_lines\":5}\n"));
	ck_assert_ptr_nonnull(strstr(text, "{\"ts\":\"" WALL_TEXT "\",\"event\":\"log_error\",\"errno\":28,"
					   "\"error\":\"No space left on device\",\"lost_lines\":1}\n"));
	free(text);
}
END_TEST

/* fails calls 1 and 3 */
static int first_and_third(const char *name, int *failnum, void **failinfo, unsigned *flags)
{
	(void)name;
	(void)failnum;
	(void)flags;
	fault_calls++;
	*failinfo = (void *)(intptr_t)ENOSPC;
	return fault_calls == 1 || fault_calls == 3;
}

START_TEST(line_lost_right_after_its_log_error)
{
	/* log_error written, then the line after it fails: that is a new loss
	 * (reported: a line was written in between), counted from zero */
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 1 << 20, 1);
	struct tether_buf b;
	tether_buf_init(&b);
	fault_calls = 0;
	fiu_enable_external("tether/sys/write", 1, NULL, 0, first_and_third);
	ck_assert_int_eq(put(j, &b, 0, 50), -ENOSPC);
	tether_journal_retry(j);
	ck_assert_int_eq(put(j, &b, 1, 50), -ENOSPC);
	ck_assert_uint_eq(tether_journal_lost(j), 1);
	tether_journal_retry(j);
	ck_assert_int_eq(put(j, &b, 2, 50), 0);
	fiu_disable("tether/sys/write");
	tether_journal_free(j);
	tether_buf_done(&b);
	struct scan s;
	scan_files(path, 1, 1 << 20, true, &s);
	ck_assert_uint_eq(s.n, 3);
	ck_assert(s.e[0].log_error && s.e[0].lost == 1);
	ck_assert(s.e[1].log_error && s.e[1].lost == 1);
	ck_assert(!s.e[2].log_error && s.e[2].seq == 2);
	scan_free(&s);
}
END_TEST

START_TEST(renames_failing_for_a_while)
{
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 200, 3);
	struct tether_buf b;
	tether_buf_init(&b);
	int results[45] = {0};
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	fiu_enable("tether/sys/rename", 1, (void *)(intptr_t)EACCES, 0);
	/* better a too-big file than a lost line */
	for (int i = 10; i < 40; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_gt(st.st_size, 200);
	fiu_disable("tether/sys/rename");
	/* the next line rotates the big file away and starts afresh */
	for (int i = 40; i < 45; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	tether_journal_free(j);
	tether_buf_done(&b);
	struct scan s;
	scan_files(path, 4, 200, false, &s);
	check_sequence(&s, results, 45, false, 0);
	/* the oversized file is kept whole: no line since the first failed
	 * rotation is gone */
	ck_assert_int_le(s.e[0].seq, 10);
	scan_free(&s);
}
END_TEST

START_TEST(reopen_counts_what_is_already_there)
{
	/* The open of the fresh PATH failed; by the time it succeeds someone has
	 * put 150 bytes there. The size comes from fstat, not assumed 0: the
	 * next line does not fit and rotates. */
	const char *path = tu_path("hb.log");
	struct tether_journal *j = open_journal(path, 200, 3);
	struct tether_buf b;
	tether_buf_init(&b);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(put(j, &b, i, 60), 0);
	fiu_enable("tether/sys/open", 1, (void *)(intptr_t)EMFILE, 0);
	ck_assert_int_eq(put(j, &b, 3, 60), 0); /* renamed to .1, open failed: into .1 */
	fiu_disable("tether/sys/open");
	make_line(&b, -1, 149);
	tether_buf_puts(&b, "\n");
	tu_write_file(path, b.data, b.len, 0644);
	ck_assert_int_eq(put(j, &b, 4, 60), 0);
	struct stat st;
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_size, 61);
	ck_assert_int_eq(stat(rotated(path, 1), &st), 0);
	ck_assert_int_eq(st.st_size, 150);
	ck_assert_int_eq(stat(rotated(path, 2), &st), 0);
	ck_assert_int_eq(st.st_size, 4 * 61); /* lines 0..3 */
	tether_journal_free(j);
	tether_buf_done(&b);
}
END_TEST

START_TEST(symlink_planted_while_the_open_fails)
{
	/* The rotation renamed PATH away but could not open the new one; a
	 * symlink appears at PATH. Lines go on into PATH.1 (never through the
	 * link, never lost, and PATH.1 is not renamed again while it is being
	 * written), until PATH can be created. */
	const char *path = tu_path("hb.log");
	const char *target = tu_path("precious");
	tu_write_file(target, "precious\n", 9, 0644);
	struct tether_journal *j = open_journal(path, 200, 2);
	struct tether_buf b;
	tether_buf_init(&b);
	int results[35] = {0};
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	fiu_enable("tether/sys/open", 1, (void *)(intptr_t)EMFILE, 0);
	ck_assert_int_eq(results[3] = put(j, &b, 3, 60), 0); /* rotation: renamed, open failed */
	fiu_disable("tether/sys/open");
	ck_assert(!tu_exists(path));
	ck_assert_int_eq(symlink(target, path), 0);
	for (int i = 4; i < 30; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	char *t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
	unlink(path);
	for (int i = 30; i < 35; i++)
		ck_assert_int_eq(results[i] = put(j, &b, i, 60), 0);
	tether_journal_free(j);
	tether_buf_done(&b);
	struct scan s;
	scan_files(path, 3, 200, false, &s);
	check_sequence(&s, results, 35, false, 0);
	/* lines 3..29 went into one file, which is still there */
	ck_assert_int_le(s.e[0].seq, 3);
	scan_free(&s);
	t = tu_read_file(target, NULL);
	ck_assert_str_eq(t, "precious\n");
	free(t);
}
END_TEST
#endif

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("lines");
	tcase_add_checked_fixture(tc, setup, tu_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, lines_in_order_each_valid_json);
	tcase_add_test(tc, reopening_appends_and_counts_existing_bytes);
	tcase_add_test(tc, reopen_by_name_after_an_outside_rename);
	tcase_add_test(tc, file_mode_cloexec_and_bad_input);
	tcase_add_loop_test(tc, rotation_keeps_a_contiguous_suffix, 0, 3);
	tcase_add_test(tc, exact_fit_does_not_rotate);
	tcase_add_test(tc, long_line_goes_alone_into_a_fresh_file);
	tcase_add_test(tc, rotation_replaces_symlinks_never_writes_through);
	tcase_add_test(tc, keep_zero_renames_never_truncates);
	tcase_add_test(tc, symlink_at_path_is_refused);
	tcase_add_test(tc, fifo_or_directory_at_path_is_refused);
#ifdef TETHER_FAULT_INJECTION
	tcase_add_loop_test(tc, short_write_is_cut_back_to_the_line_boundary, 0, 3);
#else
	tcase_add_loop_test(tc, short_write_is_cut_back_to_the_line_boundary, 0, 1);
#endif
	suite_add_tcase(s, tc);

#ifdef TETHER_FAULT_INJECTION
	TCase *faults = tcase_create("faults");
	tcase_add_checked_fixture(faults, setup, tu_teardown);
	tcase_set_timeout(faults, 240);
	tcase_add_test(faults, enospc_or_eio_at_the_kth_write);
	tcase_add_test(faults, rotation_faults_lose_no_line);
	tcase_add_test(faults, failure_protocol);
	tcase_add_test(faults, line_lost_right_after_its_log_error);
	tcase_add_test(faults, renames_failing_for_a_while);
	tcase_add_test(faults, reopen_counts_what_is_already_there);
	tcase_add_test(faults, symlink_planted_while_the_open_fails);
	suite_add_tcase(s, faults);
#endif

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
