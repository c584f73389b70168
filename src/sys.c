/* SPDX-License-Identifier: MIT */
/* sys.c — see sys.h. The only file of libtether that calls the kernel's I/O,
 * process and socket functions. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#ifdef HAVE_SYS_PIDFD_H
#include <sys/pidfd.h>
#endif
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "fiu-local.h"
#ifndef HAVE_SYS_PIDFD_H
/* a libc without the pidfd wrappers (musl): the system calls themselves */
static int pidfd_open(pid_t pid, unsigned flags)
{
	return (int)syscall(SYS_pidfd_open, pid, flags);
}
static int pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, info, flags);
}
#endif
#ifndef HAVE_CLOSE_RANGE
static int close_range(unsigned first, unsigned last, int flags)
{
	return (int)syscall(SYS_close_range, first, last, flags);
}
#endif
#include "sys.h"

/* The points by name, for the call sites below: FAULT(x) of a name that
 * sys_points.def does not list is an undeclared SYS_POINT_x. (The list of
 * names itself is the lab's: src/lab/fault.c.) */
enum sys_point {
#define SYS_POINT(name) SYS_POINT_##name,
#include "sys_points.def"
#undef SYS_POINT
};

/* Did the fault point fire? If so *ret gets -errno from its failinfo. Without
 * libfiu fiu_fail() is the constant 0 and this folds away. */
#define FAULT(point, ret)                                                         \
	((void)SYS_POINT_##point, fiu_fail("tether/sys/" #point)                  \
		 ? (*(ret) = -((intptr_t)fiu_failinfo() > 0 ? (int)(intptr_t)fiu_failinfo() \
							   : EIO), 1)          \
		 : 0)

/* Runs expr (a libc call returning -1 + errno on failure) with the fault point,
 * retries EINTR up to SYS_EINTR_MAX times, returns the result or -errno, and
 * leaves errno as it found it. */
#define SYSCALL_RETRY(point, expr)                                                \
	({                                                                        \
		long r_;                                                          \
		int saved_ = errno, tries_ = 0;                                   \
		for (;;) {                                                        \
			if (!FAULT(point, &r_)) {                                 \
				r_ = (long)(expr);                                \
				if (r_ < 0)                                       \
					r_ = -errno;                              \
			}                                                         \
			if (r_ != -EINTR || ++tries_ >= SYS_EINTR_MAX)            \
				break;                                            \
		}                                                                 \
		errno = saved_;                                                   \
		r_;                                                               \
	})

/* Same without the retry, for calls where EINTR must not be retried. */
#define SYSCALL_ONCE(point, expr)                                                 \
	({                                                                        \
		long r_;                                                          \
		int saved_ = errno;                                               \
		if (!FAULT(point, &r_)) {                                         \
			r_ = (long)(expr);                                        \
			if (r_ < 0)                                               \
				r_ = -errno;                                      \
		}                                                                 \
		errno = saved_;                                                   \
		r_;                                                               \
	})

int sys_open(const char *path, int flags, mode_t mode)
{
	return (int)SYSCALL_RETRY(open, open(path, flags, mode));
}

int sys_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	return (int)SYSCALL_RETRY(open, openat(dirfd, path, flags, mode));
}

int sys_close(int fd)
{
	/* Linux has released the descriptor whatever close reports (EINTR, EIO):
	 * an injected failure is one of the real call, so the descriptor is
	 * released then too — skipping the call would leak it, a failure the
	 * kernel never produces (a guardian holding both ends of its exec pipe
	 * then blocks for ever reading it). */
	long r, injected = 0;
	int saved = errno;
	bool fired = FAULT(close, &injected);
	r = close(fd) < 0 ? -errno : 0;
	if (fired)
		r = injected;
	errno = saved;
	return r == -EINTR ? 0 : (int)r;
}

ssize_t sys_read(int fd, void *buf, size_t len)
{
	return SYSCALL_RETRY(read, read(fd, buf, len));
}

ssize_t sys_write(int fd, const void *buf, size_t len)
{
	return SYSCALL_RETRY(write, write(fd, buf, len));
}

ssize_t sys_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	size_t done = 0;
	while (done < len) {
		ssize_t n = sys_write(fd, p + done, len - done);
		if (n < 0)
			return n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return (ssize_t)len;
}

int sys_fsync(int fd)
{
	return (int)SYSCALL_RETRY(fsync, fsync(fd));
}

int sys_rename(const char *from, const char *to)
{
	return (int)SYSCALL_RETRY(rename, rename(from, to));
}

int sys_unlink(const char *path)
{
	return (int)SYSCALL_RETRY(unlink, unlink(path));
}

int sys_unlinkat(int dirfd, const char *name)
{
	return (int)SYSCALL_RETRY(unlink, unlinkat(dirfd, name, 0));
}

int sys_mkdir(const char *path, mode_t mode)
{
	return (int)SYSCALL_RETRY(mkdir, mkdir(path, mode));
}

int sys_rmdir(const char *path)
{
	return (int)SYSCALL_RETRY(rmdir, rmdir(path));
}

int sys_fstat(int fd, struct stat *ret_st)
{
	return (int)SYSCALL_RETRY(fstat, fstat(fd, ret_st));
}

int sys_lstat(const char *path, struct stat *ret_st)
{
	return (int)SYSCALL_RETRY(stat, lstat(path, ret_st));
}

int sys_stat(const char *path, struct stat *ret_st)
{
	return (int)SYSCALL_RETRY(stat, stat(path, ret_st));
}

int sys_fstatat_nofollow(int dirfd, const char *name, struct stat *ret_st)
{
	return (int)SYSCALL_RETRY(stat, fstatat(dirfd, name, ret_st, AT_SYMLINK_NOFOLLOW));
}

int sys_flock(int fd, int op)
{
	return (int)SYSCALL_RETRY(flock, flock(fd, op));
}

int sys_fcntl_int(int fd, int cmd, int arg)
{
	return (int)SYSCALL_RETRY(fcntl, fcntl(fd, cmd, arg));
}

ssize_t sys_readlink(const char *path, char *buf, size_t len)
{
	return SYSCALL_RETRY(readlink, readlink(path, buf, len));
}

ssize_t sys_getdents(int dirfd, void *buf, size_t len)
{
	return SYSCALL_RETRY(getdents, syscall(SYS_getdents64, dirfd, buf, len));
}

int sys_statvfs(const char *path, struct statvfs *ret_st)
{
	return (int)SYSCALL_RETRY(statvfs, statvfs(path, ret_st));
}

int sys_dup3(int oldfd, int newfd, int flags)
{
	return (int)SYSCALL_RETRY(dup, dup3(oldfd, newfd, flags));
}

int sys_close_range(unsigned first, unsigned last, int flags)
{
	/* close_range never reports EINTR; an injected one is retried */
	return (int)SYSCALL_RETRY(close_range, close_range(first, last, flags));
}

int sys_pipe2(int fds[2], int flags)
{
	return (int)SYSCALL_RETRY(pipe, pipe2(fds, flags));
}

int sys_chmod_fd(int fd, mode_t mode)
{
	return (int)SYSCALL_RETRY(fchmod, fchmod(fd, mode));
}

int sys_fchown(int fd, uid_t uid, gid_t gid)
{
	return (int)SYSCALL_RETRY(fchown, fchown(fd, uid, gid));
}

off_t sys_lseek(int fd, off_t off, int whence)
{
	return (off_t)SYSCALL_RETRY(lseek, lseek(fd, off, whence));
}

int sys_ftruncate(int fd, off_t len)
{
	return (int)SYSCALL_RETRY(ftruncate, ftruncate(fd, len));
}

int sys_socket(int domain, int type, int protocol)
{
	return (int)SYSCALL_RETRY(socket, socket(domain, type, protocol));
}

int sys_socketpair(int domain, int type, int protocol, int fds[2])
{
	return (int)SYSCALL_RETRY(socketpair, socketpair(domain, type, protocol, fds));
}

int sys_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return (int)SYSCALL_RETRY(bind, bind(fd, addr, len));
}

int sys_listen(int fd, int backlog)
{
	return (int)SYSCALL_RETRY(listen, listen(fd, backlog));
}

int sys_accept(int fd, int flags)
{
	return (int)SYSCALL_RETRY(accept, accept4(fd, NULL, NULL, flags));
}

int sys_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	/* A connect interrupted by a signal continues asynchronously: retrying
	 * would give EALREADY, so EINTR is reported (callers treat it as failure). */
	return (int)SYSCALL_ONCE(connect, connect(fd, addr, len));
}

ssize_t sys_sendmsg(int fd, const struct msghdr *msg, int flags)
{
	return SYSCALL_RETRY(sendmsg, sendmsg(fd, msg, flags));
}

ssize_t sys_recvmsg(int fd, struct msghdr *msg, int flags)
{
	return SYSCALL_RETRY(recvmsg, recvmsg(fd, msg, flags));
}

ssize_t sys_recv_creds(int fd, void *buf, size_t len, int flags, struct ucred *ret_cred,
		       struct sockaddr_un *ret_addr, socklen_t *ret_addrlen, bool *ret_truncated)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {.iov_base = buf, .iov_len = len};
	struct msghdr mh = {
		.msg_name = ret_addr,
		.msg_namelen = ret_addr ? sizeof *ret_addr : 0,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof ctl.buf,
	};
	ssize_t n = sys_recvmsg(fd, &mh, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return n;
	if (ret_addrlen)
		*ret_addrlen = mh.msg_namelen;
	bool have = false;
	/* none (end of file): nobody, whom no uid or pid check lets through */
	*ret_cred = (struct ucred){.pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1};
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
		    c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(ret_cred, CMSG_DATA(c), sizeof *ret_cred);
			have = true;
		}
	if (!have && n > 0)
		return -EBADMSG;
	if (ret_truncated)
		*ret_truncated = mh.msg_flags & MSG_TRUNC;
	else if (mh.msg_flags & MSG_TRUNC)
		return -EBADMSG;
	return n;
}

int sys_setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	return (int)SYSCALL_RETRY(setsockopt, setsockopt(fd, level, name, val, len));
}

int sys_getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	return (int)SYSCALL_RETRY(getsockopt, getsockopt(fd, level, name, val, len));
}

int sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	long r = SYSCALL_ONCE(poll, poll(fds, n, timeout_ms));
	if (r == -EINTR) {
		/* Callers loop on their own deadline: an interruption is a wakeup
		 * with nothing to report. */
		for (nfds_t i = 0; i < n; i++)
			fds[i].revents = 0;
		return 0;
	}
	return (int)r;
}

int sys_signalfd(int fd, const sigset_t *mask, int flags)
{
	return (int)SYSCALL_RETRY(signalfd, signalfd(fd, mask, flags));
}

int sys_sigprocmask(int how, const sigset_t *set, sigset_t *ret_old)
{
	return (int)SYSCALL_RETRY(sigprocmask, sigprocmask(how, set, ret_old));
}

int sys_inotify_init(int flags)
{
	return (int)SYSCALL_RETRY(inotify_init, inotify_init1(flags));
}

int sys_inotify_add_watch(int fd, const char *path, uint32_t mask)
{
	return (int)SYSCALL_RETRY(inotify_add_watch, inotify_add_watch(fd, path, mask));
}

int sys_inotify_rm_watch(int fd, int wd)
{
	return (int)SYSCALL_RETRY(inotify_rm_watch, inotify_rm_watch(fd, wd));
}

int sys_timerfd_create(int clockid, int flags)
{
	return (int)SYSCALL_RETRY(timerfd_create, timerfd_create(clockid, flags));
}

int sys_timerfd_settime(int fd, int64_t value_ns, int64_t interval_ns)
{
	struct itimerspec its = {
		.it_value = {.tv_sec = value_ns / 1000000000, .tv_nsec = value_ns % 1000000000},
		.it_interval = {.tv_sec = interval_ns / 1000000000, .tv_nsec = interval_ns % 1000000000},
	};
	return (int)SYSCALL_RETRY(timerfd_settime, timerfd_settime(fd, 0, &its, NULL));
}

static long clone3_raw(uint64_t flags, int *ret_pidfd)
{
	struct clone_args args = {0};
	int pidfd = -1;
	args.flags = flags;
	args.exit_signal = SIGCHLD;
	if (ret_pidfd) {
		args.flags |= CLONE_PIDFD;
		args.pidfd = (uint64_t)(uintptr_t)&pidfd;
	}
	long r = syscall(SYS_clone3, &args, sizeof args);
	if (r > 0 && ret_pidfd)
		*ret_pidfd = pidfd;
	return r;
}

static long sys_clone_once(uint64_t flags, int *ret_pidfd)
{
	long r;
	if (flags == 0) {
		/* Plain fork() through libc, not clone3: the libfiu POSIX preload
		 * (posix/proc/fork) can then fail it too, and libc runs its atfork
		 * handlers. The pidfd is opened right after: we are the parent and
		 * nobody else can reap the child, so the pid cannot be reused yet. */
		r = fork();
		if (r < 0) {
			r = -errno;
		} else if (r > 0 && ret_pidfd) {
			int fd = pidfd_open((pid_t)r, 0);
			*ret_pidfd = fd < 0 ? -1 : fd;
		}
	} else {
		r = clone3_raw(flags, ret_pidfd);
		if (r < 0)
			r = -errno;
	}
	return r;
}

pid_t sys_clone(uint64_t flags, int *ret_pidfd)
{
	long r;
	int saved = errno;
	/* The kernel restarts an interrupted fork (it never reports EINTR); an
	 * injected EINTR, from our point or libc's, is retried like every other. */
	for (int tries = 0;; tries++) {
		if (FAULT(fork, &r)) {
			if (r == -EINTR && tries + 1 < SYS_EINTR_MAX)
				continue;
			errno = saved;
			return (pid_t)r;
		}
		r = sys_clone_once(flags, ret_pidfd);
		if (r != -EINTR || tries + 1 >= SYS_EINTR_MAX)
			break;
	}
	errno = saved;
	return (pid_t)r;
}

/* An execve that fails leaves the process as it was: an (injected) EINTR is
 * retried, never taken for "cannot execute". */
int sys_execve(const char *path, char *const argv[], char *const envp[])
{
	return (int)SYSCALL_RETRY(execve, execve(path, argv, envp));
}

int sys_waitid(idtype_t type, id_t id, siginfo_t *ret_info, int options)
{
	return (int)SYSCALL_RETRY(waitid, waitid(type, id, ret_info, options));
}

int sys_pidfd_open(pid_t pid, unsigned flags)
{
	if (pid <= 0)
		return -EINVAL;
	return (int)SYSCALL_RETRY(pidfd_open, pidfd_open(pid, flags));
}

int sys_pidfd_send_signal(int pidfd, int sig)
{
	if (pidfd < 0)
		return -EINVAL;
	return (int)SYSCALL_RETRY(pidfd_send_signal, pidfd_send_signal(pidfd, sig, NULL, 0));
}

int sys_kill(pid_t pid, int sig)
{
	/* kill(0), kill(-1) and negative pids have killed whole machines in
	 * other supervisors; init and ourselves are never a target either. */
	if (pid <= 1 || pid == getpid())
		return -EINVAL;
	return (int)SYSCALL_RETRY(kill, kill(pid, sig));
}

int sys_killpg(pid_t pgid, int sig)
{
	if (pgid <= 1 || pgid == getpgrp())
		return -EINVAL;
	return (int)SYSCALL_RETRY(kill, kill(-pgid, sig));
}

static bool pidns_init;

void sys_mark_pidns_init(void)
{
	pidns_init = getpid() == 1;
}

int sys_kill_pidns(int sig)
{
	/* "Every process" written as a name so the intent is explicit: this is
	 * never reached outside a namespace this process created as its init. */
	const pid_t every_process_of_our_namespace = -1;
	if (!pidns_init || getpid() != 1)
		return -EPERM;
	return (int)SYSCALL_RETRY(kill, kill(every_process_of_our_namespace, sig));
}

int sys_setpgid(pid_t pid, pid_t pgid)
{
	return (int)SYSCALL_RETRY(setpgid, setpgid(pid, pgid));
}

int sys_setsid(void)
{
	return (int)SYSCALL_RETRY(setsid, setsid());
}

int sys_prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)
{
	return (int)SYSCALL_RETRY(prctl, prctl(option, a2, a3, a4, a5));
}

int sys_setrlimit(int resource, const struct rlimit *rl)
{
	return (int)SYSCALL_RETRY(setrlimit, setrlimit(resource, rl));
}

int sys_getrlimit(int resource, struct rlimit *ret_rl)
{
	return (int)SYSCALL_RETRY(getrlimit, getrlimit(resource, ret_rl));
}

int sys_sigaction_default(int sig)
{
	/* The raw system call, not libc's sigaction(): glibc refuses its two
	 * internal real-time signals (32, 33), and a parent may have left them
	 * ignored (GNU make does) — an ignored signal stays ignored across exec.
	 * The kernel's struct: handler, flags, restorer, mask (8 bytes). */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ksa = {.handler = SIG_DFL};
	return (int)SYSCALL_RETRY(sigaction, syscall(SYS_rt_sigaction, sig, &ksa, NULL, sizeof ksa.mask));
}

int sys_getrandom(void *buf, size_t len)
{
	/* The raw system call: musl 1.1 and older glibc have no wrapper. A short
	 * read cannot happen below 256 bytes from the non-blocking pool once it
	 * is initialised; the loop covers what the kernel allows anyway. */
	unsigned char *p = buf;
	size_t done = 0;
	while (done < len) {
		long n = SYSCALL_RETRY(getrandom, syscall(SYS_getrandom, p + done, len - done, 0));
		if (n == -ENOSYS)
			break;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	if (done == len)
		return 0;
	/* a kernel older than 3.17 */
	int fd = sys_open("/dev/urandom", O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
	if (fd < 0)
		return fd;
	while (done < len) {
		ssize_t n = sys_read(fd, p + done, len - done);
		if (n <= 0) {
			sys_close(fd);
			return n < 0 ? (int)n : -EIO;
		}
		done += (size_t)n;
	}
	sys_close(fd);
	return 0;
}

int sys_sigaction_ignore_default(int sig)
{
	/* The kernel's struct, as in sys_sigaction_default. */
	struct ksigaction {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} old = {0}, ign = {.handler = SIG_IGN};
	int r = (int)SYSCALL_RETRY(sigaction, syscall(SYS_rt_sigaction, sig, NULL, &old, sizeof old.mask));
	if (r < 0)
		return r;
	if (old.handler != SIG_DFL)
		return 1;
	return (int)SYSCALL_RETRY(sigaction, syscall(SYS_rt_sigaction, sig, &ign, NULL, sizeof ign.mask));
}

int sys_setgroups(size_t n, const gid_t *groups)
{
	return (int)SYSCALL_RETRY(setid, setgroups(n, groups));
}

int sys_setresgid(gid_t gid)
{
	return (int)SYSCALL_RETRY(setid, setresgid(gid, gid, gid));
}

int sys_setresuid(uid_t uid)
{
	return (int)SYSCALL_RETRY(setid, setresuid(uid, uid, uid));
}

int sys_chdir(const char *path)
{
	return (int)SYSCALL_RETRY(chdir, chdir(path));
}

mode_t sys_umask(mode_t mask)
{
	return umask(mask);
}
