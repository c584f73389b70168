/* SPDX-License-Identifier: MIT */
/* identity.h — who an instance runs as: `--user USER[:GROUP]` (SPEC §1).
 *
 * Resolved in tether, before anything starts, into numbers (struct
 * tether_identity, supervisor.h) and applied in the worker between fork and
 * exec (spawn.c: setgroups, setresgid, setresuid — in that order, since each
 * needs the privilege the next one gives up). tether and the guardians keep
 * their own identity: they hold the lock and kill trees.
 *
 * USER and GROUP are looked up in /etc/passwd and /etc/group, read here, not
 * through libc's getpwnam: the tether people install is a static program
 * (musl's, or glibc's with --enable-static-tether), and a static glibc's
 * getpwnam needs the NSS modules of the very glibc it was linked with at run
 * time, which musl's reads the same two files anyway. So every build resolves
 * a name alike; users only a directory service knows (LDAP, sssd) are given
 * by number, USER:GROUP.
 *   - USER: a name, or a uid (a number that is no user's name). A uid without
 *     an entry needs GROUP, and its worker gets no HOME/USER/LOGNAME.
 *   - GROUP: a name or a gid; default USER's primary group.
 *   - supplementary groups: USER's primary group and every group that lists
 *     USER as a member (initgroups(3)'s set).
 */
#ifndef TETHER_IDENTITY_H
#define TETHER_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "supervisor.h" /* struct tether_identity */

/* The files read by default. */
#define TETHER_PASSWD_FILE "/etc/passwd"
#define TETHER_GROUP_FILE "/etc/group"

/* Resolves spec ("USER[:GROUP]") against passwd_path and group_path into
 * *ret (set = true; switch_ids not yet decided: tether_identity_check).
 * 0; -EINVAL with why ("--user SPEC: no user 'x' in /etc/passwd"), or the
 * -errno of a file that cannot be read (why names it); -ENOMEM. */
int tether_identity_resolve(const char *spec, const char *passwd_path, const char *group_path,
			    struct tether_identity *ret, char *why, size_t len);

/* What the calling process is and may do, from /proc/self/status. */
struct tether_own_ids {
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid;
	gid_t groups[64];   /* supplementary; more than fit: ngroups_truncated */
	size_t ngroups;
	bool ngroups_truncated;
	bool cap_setuid, cap_setgid;
};
int tether_own_ids_read(struct tether_own_ids *ret);

/* Decides whether the worker must change its ids and whether we may: sets
 * id->switch_ids (false when `own` already is id: an unprivileged tether may
 * run its workers as itself). 0, or -EPERM with why (exit 77). Pure. */
int tether_identity_check(struct tether_identity *id, const struct tether_own_ids *own, const char *spec,
			  char *why, size_t len);

/* Frees what resolve allocated; *id reads as unset. */
void tether_identity_done(struct tether_identity *id);

#endif
