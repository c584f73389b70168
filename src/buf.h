/* SPDX-License-Identifier: MIT */
/* buf.h — a growable text buffer, for the lines and documents libtether
 * writes (journal lines, status JSON, pidfile records, --help).
 *
 * A buffer that failed to grow remembers it (oom) and ignores further
 * appends, so callers check once at the end. It lives where the caller puts
 * it (usually on the stack): tether_buf_init, appends, tether_buf_done.
 */
#ifndef TETHER_BUF_H
#define TETHER_BUF_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct tether_buf {
	char *data;   /* NUL-terminated while !oom */
	size_t len;
	size_t cap;
	bool oom;
};

void tether_buf_init(struct tether_buf *b);
/* Frees what b holds and leaves it empty (b itself is the caller's). */
void tether_buf_done(struct tether_buf *b);
/* Empties b for reuse, keeping its memory. */
void tether_buf_reset(struct tether_buf *b);
void tether_buf_append(struct tether_buf *b, const char *s, size_t n);
void tether_buf_puts(struct tether_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) void tether_buf_printf(struct tether_buf *b, const char *fmt, ...);

#ifdef __cplusplus
}
#endif

#endif
