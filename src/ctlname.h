/* SPDX-License-Identifier: MIT */
/* ctlname.h — a supervisor's control socket: its name, and how anyone finds
 * it without the pidfile's files.
 *
 * The socket is AF_UNIX SOCK_SEQPACKET, listening, in the abstract namespace:
 *
 *     tether-ctl/KEY/PID/START/RANDOM
 *
 *   KEY     16 hex digits: a 64-bit FNV-1a hash of the pidfile's canonical
 *           path (its directory as the kernel resolves it, then its name);
 *   PID     the supervisor's pid, START its start time (field 22 of
 *           /proc/PID/stat);
 *   RANDOM  32 hex digits from getrandom(2), drawn just before bind.
 *
 * Why a name that is listed rather than computed. The pidfile's files can
 * vanish under a running supervisor (`rm -rf` of its directory, a tmpfiles
 * cleaner, a rename), and a newcomer must still find it before it publishes
 * a record or starts a worker (G1). What survives is what the supervisor
 * holds in the kernel: its lock on an unlinked inode, which no path names,
 * and this socket, whose name the kernel lists to everyone (sock_diag, or
 * /proc/net/unix). So the name carries what a searcher can compute (KEY) and
 * what only the supervisor knows (RANDOM): nobody can bind it first, however
 * much they know of the pidfile (G1b). A name computed from the lock file
 * (its inode) would be known to every user who can stat it, and ext4 hands a
 * re-created lock file the same inode again.
 *
 * What a found name is worth. Finding lists the listening sockets whose name
 * starts with tether-ctl/KEY/, skips those the kernel says belong to another
 * user, connects, and believes a candidate only when SO_PEERCRED — the
 * credentials of the process that called listen(), which no process can
 * forge — names the pid the name claims, running as our euid or root, and
 * that process is alive with the claimed start time. Another user's socket,
 * whatever it is called, is never connected to: nobody can keep tether from
 * starting by posing as its supervisor, nor answer `status` in its name.
 * A socket of our own user that claims to be a supervisor is believed: that
 * user can ptrace us anyway.
 *
 * A supervisor binds its socket only once it holds its pidfile's lock, and
 * closes it before it lets the lock go: a listening name means a supervisor
 * that is (or was a moment ago) the pidfile's, never one still contending
 * for it. The socket is per network namespace, as abstract names are: a
 * newcomer in another namespace does not see it (supervisor.c: the
 * incumbent then yields to a newcomer that published first).
 */
#ifndef TETHER_CTLNAME_H
#define TETHER_CTLNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#define TETHER_CTLNAME_KEY_LEN 16
/* Longest name: sun_path less the abstract namespace's leading NUL. */
#define TETHER_CTLNAME_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* The pidfile's canonical path into buf: its directory opened and named by
 * the kernel (/proc/self/fd), then its last component. When the directory
 * is missing (removed, not yet restored), its longest existing ancestor is
 * resolved and the missing components follow as written, so a searcher
 * computes the same path as the supervisor that resolved it while it
 * existed. -EISDIR for a path that names no file (empty last component,
 * "." or ".."), -ENAMETOOLONG, -errno. */
int tether_ctlname_canonical(const char *pidfile, char *buf, size_t cap);
/* The same for a directory already open (dir_fd, any kind of descriptor)
 * and the file's name in it. */
int tether_ctlname_canonical_at(int dir_fd, const char *name, char *buf, size_t cap);
/* KEY of a canonical path (pure). */
void tether_ctlname_key_of(const char *canonical, char key[TETHER_CTLNAME_KEY_LEN + 1]);
/* KEY of a pidfile path (canonical, then hashed). */
int tether_ctlname_key(const char *pidfile, char key[TETHER_CTLNAME_KEY_LEN + 1]);

/* A fresh name (a new random part each call). 0 or -errno. */
int tether_ctlname_make(const char *key, pid_t pid, uint64_t start_time, char *name, size_t cap);
/* Reads a name: 0 with its key (may be NULL), pid and start time, or
 * -EINVAL. Strict and pure (fuzzed through harness/fuzz/fuzz_proc.c). */
int tether_ctlname_parse(const char *name, char *key, pid_t *ret_pid, uint64_t *ret_start);
/* The abstract address of a name. */
socklen_t tether_ctlname_addr(const char *name, struct sockaddr_un *sa);

/* Where the kernel's list of sockets is read. */
enum tether_ctlname_lister {
	TETHER_CTLNAME_ANY,  /* sock_diag, else /proc/net/unix */
	TETHER_CTLNAME_DIAG, /* NETLINK_SOCK_DIAG: only listening sockets, with their owner */
	TETHER_CTLNAME_PROC, /* /proc/net/unix: every socket, no owner */
};
/* Called with each listening SOCK_SEQPACKET abstract name that starts with
 * the prefix, and its owner's uid (-1 when the lister cannot tell). A
 * non-zero return stops the listing and is returned by it. */
typedef int (*tether_ctlname_fn)(const char *name, long uid, void *ud);
int tether_ctlname_list(const char *prefix, enum tether_ctlname_lister how, tether_ctlname_fn fn, void *ud);
/* One line of /proc/net/unix (pure, fuzzed): 1 and name (without the '@')
 * when it is a listening SOCK_SEQPACKET abstract socket whose name starts
 * with prefix, 0 for any other socket (or the header line), -EINVAL when
 * malformed. */
int tether_ctlname_parse_unix_line(const char *line, const char *prefix, char *name, size_t cap);

struct tether_ctlname_found {
	pid_t pid;
	uint64_t start_time;
	int fd; /* with TETHER_CTLNAME_KEEP: the connection (non-blocking), else -1 */
};
/* Keep the connection made to verify the supervisor (to ask it something). */
#define TETHER_CTLNAME_KEEP 1

/* The supervisor whose control socket carries key (want: only that pid; 0:
 * any), verified as above. 1 and *ret, 0 none, -errno when the kernel's
 * list cannot be read at all. With KEEP a candidate whose listen queue is
 * full is not found (it cannot be asked); without, such a candidate of a
 * user we trust stands on its name's claims (a stopped supervisor). */
int tether_ctlname_find(const char *key, pid_t want, int flags, struct tether_ctlname_found *ret);

#endif
