/* SPDX-License-Identifier: MIT */
/* resources.c — see resources.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "proc.h"
#include "resources.h"
#include "sys.h"

/* path's directory into dir: "." without a '/', "/" for "/x". */
static void dirname_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, len, ".");
	else if (slash == path)
		snprintf(dir, len, "/");
	else
		snprintf(dir, len, "%.*s", (int)(slash - path), path);
}

int tether_disk_free(const char *path, uint64_t *ret_bytes)
{
	char dir[4096];
	dirname_of(path, dir, sizeof dir);
	return tether_disk_free_dir(dir, ret_bytes);
}

int tether_disk_free_dir(const char *path, uint64_t *ret_bytes)
{
	char dir[4096];
	struct statvfs st;
	snprintf(dir, sizeof dir, "%s", path);
	int r = sys_statvfs(dir, &st);
	if (r == -ENOENT) {
		/* a directory created later (the pidfile's): ask its parent */
		char *up = strrchr(dir, '/');
		if (!up)
			snprintf(dir, sizeof dir, ".");
		else if (up == dir)
			dir[1] = '\0';
		else
			*up = '\0';
		r = sys_statvfs(dir, &st);
	}
	if (r < 0)
		return r;
	*ret_bytes = (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
	return 0;
}

size_t tether_written_dirs(const struct tether_config *cfg, struct tether_written_dir *ret, size_t cap)
{
	size_t n = 0;
	if (n < cap) {
		ret[n].what = "the instances' working directory";
		ssize_t len = -1;
		if (cfg->chdir)
			snprintf(ret[n].path, sizeof ret[n].path, "%s", cfg->chdir);
		else if ((len = sys_readlink("/proc/self/cwd", ret[n].path, sizeof ret[n].path - 1)) > 0)
			ret[n].path[len] = '\0'; /* named as the user knows it */
		else
			snprintf(ret[n].path, sizeof ret[n].path, ".");
		n++;
	}
	if (cfg->heartbeat_log && n < cap) {
		ret[n].what = "the directory of --heartbeat-log";
		dirname_of(cfg->heartbeat_log, ret[n].path, sizeof ret[n].path);
		n++;
	}
	return n;
}

const char *tether_memlimit_name(enum tether_memlimit_kind k)
{
	switch (k) {
	case TETHER_MEMLIMIT_CGROUP: return "cgroup memory.max";
	case TETHER_MEMLIMIT_RLIMIT: return "RLIMIT_AS";
	default: return "none";
	}
}

/* Our cgroup v2 directory: the cgroup2 mount point (from mountinfo) joined
 * with the "0::" line of /proc/self/cgroup. */
static int own_cgroup_dir(char *buf, size_t len)
{
	char info[16384], cg[4096];
	size_t n;
	int r = tether_proc_read_file("/proc/self/cgroup", cg, sizeof cg, &n);
	if (r < 0)
		return r;
	char *line = strstr(cg, "0::");
	if (!line || (line != cg && line[-1] != '\n'))
		return -ENOENT;
	line += 3;
	line[strcspn(line, "\n")] = '\0';
	r = tether_proc_read_file("/proc/self/mountinfo", info, sizeof info, &n);
	if (r < 0)
		return r;
	/* "36 25 0:30 / /sys/fs/cgroup rw,... - cgroup2 cgroup2 rw,..." */
	for (char *l = info; l && *l;) {
		char *next = strchr(l, '\n');
		if (next)
			*next++ = '\0';
		char *sep = strstr(l, " - cgroup2 ");
		if (sep) {
			char root[256], mnt[1024];
			if (sscanf(l, "%*s %*s %*s %255s %1023s", root, mnt) == 2 && strcmp(root, "/") == 0) {
				if ((size_t)snprintf(buf, len, "%s%s", mnt, strcmp(line, "/") == 0 ? "" : line) >= len)
					return -ENAMETOOLONG;
				return 0;
			}
		}
		l = next;
	}
	return -ENOENT;
}

static int write_file(const char *path, const char *text)
{
	int fd = sys_open(path, O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	ssize_t w = sys_write_all(fd, text, strlen(text));
	sys_close(fd);
	return w < 0 ? (int)w : 0;
}

int tether_memlimit_prepare(pid_t owner, unsigned id, uint64_t bytes, char **ret_procs)
{
	char dir[4096], path[4200], ctl[512], val[32];
	size_t n;
	*ret_procs = NULL;
	if (own_cgroup_dir(dir, sizeof dir) == 0) {
		snprintf(path, sizeof path, "%s/cgroup.subtree_control", dir);
		if (tether_proc_read_file(path, ctl, sizeof ctl, &n) == 0 && strstr(ctl, "memory")) {
			snprintf(path, sizeof path, "%s/tether-%d-%u", dir, (int)owner, id);
			int r = sys_mkdir(path, 0755);
			if (r == 0 || r == -EEXIST) {
				char file[4300];
				snprintf(file, sizeof file, "%s/memory.max", path);
				snprintf(val, sizeof val, "%llu\n", (unsigned long long)bytes);
				if (write_file(file, val) == 0) {
					snprintf(file, sizeof file, "%s/cgroup.procs", path);
					*ret_procs = strdup(file);
					if (!*ret_procs)
						return -ENOMEM;
					return TETHER_MEMLIMIT_CGROUP;
				}
				sys_rmdir(path);
			}
		}
	}
	return TETHER_MEMLIMIT_RLIMIT;
}

void tether_memlimit_remove(const char *procs_path)
{
	if (!procs_path)
		return;
	char dir[4300];
	snprintf(dir, sizeof dir, "%s", procs_path);
	char *slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		sys_rmdir(dir);
	}
}
