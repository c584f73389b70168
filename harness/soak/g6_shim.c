/* SPDX-License-Identifier: MIT */
/* g6_shim.c — preloaded into tether by harness/soak/soak-check, so that the
 * soak's G6 verdict is seen to judge the right memory. At every heartbeat
 * line tether writes, its footprint grows by 64 kB:
 *
 *   SOAK_G6_SHIM=file:PATH  64 kB more of PATH's pages mapped and read: its
 *                           file-backed RSS grows, as when code paths run for
 *                           the first time. No leak: G6 must pass.
 *   SOAK_G6_SHIM=anon       64 kB more of heap, written and kept: a leak of
 *                           anonymous memory. G6 must fail.
 *
 * Only writes that carry a heartbeat line count, so only tether acts; the
 * workers it starts inherit the preload and never write one.
 */
#include "config.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define STEP (64 * 1024)

static const char *file_base;
static size_t file_len, file_done;

static void grow_file(const char *path)
{
	if (!file_base) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0)
			return;
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
			if (p != MAP_FAILED) {
				file_base = p;
				file_len = (size_t)st.st_size;
			}
		}
		close(fd);
		if (!file_base)
			return;
	}
	long page = sysconf(_SC_PAGESIZE);
	volatile char sink = 0;
	for (size_t end = file_done + STEP; file_done < end && file_done < file_len; file_done += (size_t)page)
		sink += file_base[file_done];
	(void)sink;
}

/* Kept for ever, in a global that others could read, so that no compiler
 * drops the stores (a static array never read, and the memset before it,
 * would be optimised away). */
char *g6_shim_leaked[4096];
size_t g6_shim_nleaked;

static void grow_anon(void)
{
	char *p = malloc(STEP);
	if (!p)
		return;
	memset(p, 0x5a, STEP);
	if (g6_shim_nleaked < sizeof g6_shim_leaked / sizeof g6_shim_leaked[0])
		g6_shim_leaked[g6_shim_nleaked++] = p;
}

ssize_t write(int fd, const void *buf, size_t len)
{
	static ssize_t (*real)(int, const void *, size_t);
	if (!real)
		real = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	ssize_t n = real(fd, buf, len);
	const char *mode = getenv("SOAK_G6_SHIM");
	static const char heartbeat[] = "\"event\":\"heartbeat\"";
	if (n > 0 && mode && memmem(buf, (size_t)n, heartbeat, sizeof heartbeat - 1)) {
		if (strncmp(mode, "file:", 5) == 0)
			grow_file(mode + 5);
		else if (strcmp(mode, "anon") == 0)
			grow_anon();
	}
	return n;
}
