/* SPDX-License-Identifier: MIT */
/* sys.h — the only door between libtether and the kernel.
 *
 * Every OS call libtether makes goes through a function here. Each one:
 *   - returns >= 0 on success and -errno on failure (never -1 with errno set);
 *   - leaves the caller's errno untouched, on success and on failure;
 *   - retries EINTR itself where the call is restartable (read, write, flock,
 *     waitid, ...), so no caller ever sees it, but gives up after
 *     SYS_EINTR_MAX consecutive interruptions and returns -EINTR, so a fault
 *     injector that fails a call with EINTR forever produces an error, not a hang;
 *   - has a libfiu fault point named "tether/sys/<call>", listed once in
 *     sys_points.def (the call sites and the lab's list both read it).
 *     When the point fires the call fails with errno = the point's failinfo
 *     (EIO when failinfo is 0) without reaching the kernel — except close(),
 *     which still releases the descriptor, as a real failing close does.
 *
 * Exceptions, on purpose: close() is never retried (Linux frees the descriptor
 * even when it reports EINTR, and a retry could close a descriptor another
 * thread just received); poll() reports EINTR as "0 events" because its callers
 * loop on their own deadline anyway.
 */
#ifndef TETHER_SYS_H
#define TETHER_SYS_H

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

/* Every outer bound multiplies by this under a persistent EINTR (a loop's
 * 100 fruitless wakeups are 100 x SYS_EINTR_MAX calls), so it stays small;
 * a real EINTR never comes this many times in a row (tether installs no
 * signal handler: signals arrive through a signalfd). */
#define SYS_EINTR_MAX 16

/* files */
int sys_open(const char *path, int flags, mode_t mode);
int sys_openat(int dirfd, const char *path, int flags, mode_t mode);
int sys_close(int fd);
ssize_t sys_read(int fd, void *buf, size_t len);
ssize_t sys_write(int fd, const void *buf, size_t len);
/* Writes all of buf (loops over short writes). Returns len or -errno. */
ssize_t sys_write_all(int fd, const void *buf, size_t len);
int sys_fsync(int fd);
int sys_rename(const char *from, const char *to);
int sys_unlink(const char *path);
/* unlinkat(2) with flags 0: a name in a directory held open (the unlink point). */
int sys_unlinkat(int dirfd, const char *name);
int sys_mkdir(const char *path, mode_t mode);
int sys_rmdir(const char *path);
int sys_fstat(int fd, struct stat *ret_st);
int sys_lstat(const char *path, struct stat *ret_st);
int sys_stat(const char *path, struct stat *ret_st);
/* fstatat(2) without following a final symlink (the stat point). */
int sys_fstatat_nofollow(int dirfd, const char *name, struct stat *ret_st);
int sys_flock(int fd, int op);
int sys_fcntl_int(int fd, int cmd, int arg);
ssize_t sys_readlink(const char *path, char *buf, size_t len);
ssize_t sys_getdents(int dirfd, void *buf, size_t len);
int sys_statvfs(const char *path, struct statvfs *ret_st);
int sys_dup3(int oldfd, int newfd, int flags);
int sys_close_range(unsigned first, unsigned last, int flags);
int sys_pipe2(int fds[2], int flags);
int sys_chmod_fd(int fd, mode_t mode);
int sys_fchown(int fd, uid_t uid, gid_t gid);
off_t sys_lseek(int fd, off_t off, int whence);
int sys_ftruncate(int fd, off_t len);

/* sockets */
int sys_socket(int domain, int type, int protocol);
int sys_socketpair(int domain, int type, int protocol, int fds[2]);
int sys_bind(int fd, const struct sockaddr *addr, socklen_t len);
int sys_listen(int fd, int backlog);
int sys_accept(int fd, int flags);
int sys_connect(int fd, const struct sockaddr *addr, socklen_t len);
ssize_t sys_sendmsg(int fd, const struct msghdr *msg, int flags);
ssize_t sys_recvmsg(int fd, struct msghdr *msg, int flags);
/* Receives one message with its sender's credentials (SCM_CREDENTIALS: the
 * socket has SO_PASSCRED); a message that came without them is -EBADMSG, end
 * of file (0) needs none. A message longer than len is -EBADMSG too, unless
 * ret_truncated is given: then it is cut to len and *ret_truncated says so.
 * ret_addr/ret_addrlen may be NULL. Over sys_recvmsg (its fault point). */
ssize_t sys_recv_creds(int fd, void *buf, size_t len, int flags, struct ucred *ret_cred,
		       struct sockaddr_un *ret_addr, socklen_t *ret_addrlen, bool *ret_truncated);
int sys_setsockopt(int fd, int level, int name, const void *val, socklen_t len);
int sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len);

/* waiting */
int sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int sys_signalfd(int fd, const sigset_t *mask, int flags);
int sys_sigprocmask(int how, const sigset_t *set, sigset_t *ret_old);
int sys_inotify_init(int flags);
int sys_inotify_add_watch(int fd, const char *path, uint32_t mask);
int sys_inotify_rm_watch(int fd, int wd);
int sys_timerfd_create(int clockid, int flags);
/* timerfd_settime(2), relative: first after value_ns, then every interval_ns (0: once). */
int sys_timerfd_settime(int fd, int64_t value_ns, int64_t interval_ns);

/* processes */
/* Creates a process like fork(). flags may add CLONE_NEWPID. When ret_pidfd is
 * not NULL the parent also gets a pidfd for the child (CLONE_PIDFD), which
 * pins its identity: no PID-reuse race between fork and signal. Returns the
 * child's pid in the parent, 0 in the child, -errno on failure. */
pid_t sys_clone(uint64_t flags, int *ret_pidfd);
int sys_execve(const char *path, char *const argv[], char *const envp[]);
int sys_waitid(idtype_t type, id_t id, siginfo_t *ret_info, int options);
int sys_pidfd_open(pid_t pid, unsigned flags);
/* Refuses (-EINVAL) to signal through anything but a pidfd: callers verify
 * identity first. */
int sys_pidfd_send_signal(int pidfd, int sig);
/* Refuses pid <= 1 and our own pid (-EINVAL): kill(0), kill(-1) and negative
 * pids can never leave this layer. Only for processes we just verified. */
int sys_kill(pid_t pid, int sig);
/* Refuses pgid <= 1 and our own process group (-EINVAL). */
int sys_killpg(pid_t pgid, int sig);
/* Signals every process of the PID namespace of which the caller is the init
 * (kill(-1) there reaches exactly that namespace, minus its init). Refused
 * (-EPERM) unless sys_mark_pidns_init() was called in this process and it is
 * pid 1 of its namespace: a tether that is PID 1 of a container must never
 * signal the whole container. */
int sys_kill_pidns(int sig);
/* Called by a guardian created with CLONE_NEWPID, in the child, at once. */
void sys_mark_pidns_init(void);
int sys_setpgid(pid_t pid, pid_t pgid);
int sys_setsid(void);
int sys_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5);
int sys_setrlimit(int resource, const struct rlimit *rl);
int sys_getrlimit(int resource, struct rlimit *ret_rl);
/* SIG_IGN for sig when its disposition is SIG_DFL (a handler someone
 * installed stays); the raw system call, so libc's reserved real-time
 * signals are reached too. 0, 1 when left alone, or -errno. */
int sys_sigaction_ignore_default(int sig);
int sys_sigaction_default(int sig);
/* A worker's identity (spawn.c, between fork and exec): point setid for all
 * three. setresgid/setresuid set the real, effective and saved ids at once. */
int sys_setgroups(size_t n, const gid_t *groups);
int sys_setresgid(gid_t gid);
int sys_setresuid(uid_t uid);
int sys_chdir(const char *path);
/* umask(2) cannot fail: no fault point. Returns the previous mask. */
mode_t sys_umask(mode_t mask);

/* randomness */
/* Fills buf with len bytes from the kernel's generator (getrandom(2), or
 * /dev/urandom where the system call is missing). 0 or -errno. */
int sys_getrandom(void *buf, size_t len);

#endif
