/* SPDX-License-Identifier: MIT */
/* workerenv.c — see workerenv.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spawn.h"
#include "sys.h"
#include "workerenv.h"

bool tether_env_name_valid(const char *name, size_t len)
{
	if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return false;
	}
	return true;
}

const char *tether_env_edit_problem(const char *edit)
{
	size_t nlen = strcspn(edit, "=");
	if (!tether_env_name_valid(edit, nlen))
		return "NAME must be letters, digits and _, not starting with a digit";
	/* what tether sets (or clears) for each instance would silently lose */
	char probe[256];
	if (nlen + 2 <= sizeof probe) {
		memcpy(probe, edit, nlen);
		probe[nlen] = '=';
		probe[nlen + 1] = '\0';
		if (tether_spawn_env_filtered(probe))
			return "tether sets or clears this variable for each instance itself";
	}
	return NULL;
}

int tether_env_push(char ***edits, size_t *n, const char *edit)
{
	char **v = realloc(*edits, (*n + 2) * sizeof *v);
	if (!v)
		return -ENOMEM;
	*edits = v;
	if (!(v[*n] = strdup(edit))) {
		v[*n] = NULL;
		return -ENOMEM;
	}
	v[++*n] = NULL;
	return 0;
}

void tether_env_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* The file whole, NUL-terminated (a NUL inside is found by the line check). */
static int slurp(const char *path, char **ret, size_t *ret_len)
{
	int fd = sys_open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	struct stat st;
	int r = sys_fstat(fd, &st);
	if (r == 0 && !S_ISREG(st.st_mode))
		r = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
	char *buf = r == 0 ? malloc(TETHER_ENV_FILE_MAX + 1) : NULL;
	if (r == 0 && !buf)
		r = -ENOMEM;
	size_t len = 0;
	while (r == 0) {
		ssize_t n = sys_read(fd, buf + len, TETHER_ENV_FILE_MAX + 1 - len);
		if (n < 0)
			r = (int)n;
		else if (n == 0)
			break;
		else if ((len += (size_t)n) > TETHER_ENV_FILE_MAX)
			r = -EFBIG;
	}
	sys_close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	return 0;
}

/* Shows a bad line in a message: its head, printable. */
static void excerpt(const char *line, size_t n, char *buf, size_t cap)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 4 < cap; i++)
		buf[k++] = (line[i] >= 0x20 && line[i] < 0x7f) ? line[i] : '?';
	if (k < n && k + 4 <= cap) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
}

int tether_env_file_read(const char *path, char ***edits, size_t *n, char *why, size_t len)
{
	char *text;
	size_t tlen;
	int r = slurp(path, &text, &tlen);
	if (r < 0) {
		snprintf(why, len, "--env-file %s: %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : r == -EINVAL ? "not a regular file" : strerror(-r));
		return r;
	}
	unsigned lineno = 0;
	for (size_t pos = 0; pos < tlen && r == 0;) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', tlen - pos);
		size_t ll = nl ? (size_t)(nl - line) : tlen - pos;
		pos += ll + (nl ? 1 : 0);
		lineno++;
		while (ll > 0 && (*line == ' ' || *line == '\t')) {
			line++;
			ll--;
		}
		if (ll == 0 || *line == '#')
			continue;
		char shown[48];
		excerpt(line, ll, shown, sizeof shown);
		const char *eq = memchr(line, '=', ll);
		if (memchr(line, '\0', ll)) {
			snprintf(why, len, "%s:%u: a NUL byte in the line", path, lineno);
			r = -EINVAL;
		} else if (!eq) {
			snprintf(why, len, "%s:%u: expected NAME=VALUE, got '%s'", path, lineno, shown);
			r = -EINVAL;
		} else {
			char *edit = strndup(line, ll);
			const char *problem = edit ? tether_env_edit_problem(edit) : NULL;
			if (!edit) {
				r = -ENOMEM;
				snprintf(why, len, "--env-file %s: out of memory", path);
			} else if (problem) {
				snprintf(why, len, "%s:%u: '%.*s': %s", path, lineno, (int)(eq - line) > 40 ? 40 : (int)(eq - line),
					 line, problem);
				r = -EINVAL;
			} else if ((r = tether_env_push(edits, n, edit)) < 0) {
				snprintf(why, len, "--env-file %s: out of memory", path);
			}
			free(edit);
		}
	}
	free(text);
	return r;
}

int tether_env_apply(char **env, size_t *n, const char *edit)
{
	size_t nlen = strcspn(edit, "=");
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (strncmp(env[i], edit, nlen) == 0 && env[i][nlen] == '=') {
			free(env[i]);
			continue;
		}
		env[k++] = env[i];
	}
	env[k] = NULL;
	*n = k;
	if (edit[nlen] != '=')
		return 0;
	char *copy = strdup(edit);
	if (!copy)
		return -ENOMEM;
	env[k++] = copy;
	env[k] = NULL;
	*n = k;
	return 0;
}
