/* SPDX-License-Identifier: MIT */
/* resolve.c — tether_config_resolve (supervisor.h): what the instances'
 * setup needs from the files the configuration names, read once, before
 * anything starts (no pidfile, no worker), so that a typo in a user name or
 * an --env-file is a usage error, not a crash loop: --user into ids
 * (identity.h), --chdir checked, --env-file and --env into the list of
 * environment edits (workerenv.h). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity.h"
#include "options.h"
#include "supervisor_internal.h"
#include "sys.h"
#include "workerenv.h"

void tether_config_resolved_done(struct tether_config *cfg)
{
	tether_identity_done(&cfg->worker);
	tether_env_free(cfg->env_edits);
	cfg->env_edits = NULL;
}

void tether_config_done(struct tether_config *cfg)
{
	tether_config_resolved_done(cfg);
	tether_options_free(tether_config_options, cfg);
}

int tether_config_worker_ids(const struct tether_config *cfg, uid_t *ret_uid, gid_t *ret_gid)
{
	if (!cfg->worker.set)
		return 0;
	*ret_uid = cfg->worker.uid;
	*ret_gid = cfg->worker.gid;
	return 1;
}

/* --user's HOME, USER and LOGNAME: from its passwd entry, or removed for a
 * uid without one (they would name tether's user). */
static int identity_edits(const struct tether_identity *id, char ***edits, size_t *n)
{
	static const char *const keys[] = {"HOME", "USER", "LOGNAME"};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *val = !id->name ? NULL : i == 0 ? id->home : id->name;
		char *edit = NULL;
		if (val ? asprintf(&edit, "%s=%s", keys[i], val) < 0 : !(edit = strdup(keys[i])))
			return -ENOMEM;
		int r = tether_env_push(edits, n, edit);
		free(edit);
		if (r < 0)
			return r;
	}
	return 0;
}

int tether_config_resolve(struct tether_config *cfg, struct tether_result *res)
{
	char why[sizeof res->message];
	enum tether_outcome outcome = TETHER_OUTCOME_USAGE;
	size_t n = 0;
	int r;
	/* whatever was there is the caller's */
	cfg->worker = (struct tether_identity){0};
	cfg->env_edits = NULL;

	if (cfg->user) {
		struct tether_own_ids own;
		r = tether_identity_resolve(cfg->user, TETHER_PASSWD_FILE, TETHER_GROUP_FILE, &cfg->worker, why,
					    sizeof why);
		if (r == 0) {
			r = tether_own_ids_read(&own);
			if (r < 0)
				snprintf(why, sizeof why, "--user %s: cannot read our own ids: %s", cfg->user,
					 strerror(-r));
		}
		if (r == 0 && (r = tether_identity_check(&cfg->worker, &own, cfg->user, why, sizeof why)) < 0)
			outcome = TETHER_OUTCOME_NOT_PERMITTED;
		if (r == 0)
			r = identity_edits(&cfg->worker, &cfg->env_edits, &n);
		if (r < 0)
			goto fail;
	}
	if (cfg->chdir) {
		struct stat st;
		r = sys_stat(cfg->chdir, &st);
		if (r == 0 && !S_ISDIR(st.st_mode))
			r = -ENOTDIR;
		if (r < 0) {
			snprintf(why, sizeof why, "--chdir %s: %s", cfg->chdir, strerror(-r));
			r = r == -ENOMEM ? r : -EINVAL;
			goto fail;
		}
	}
	if (cfg->env_file && (r = tether_env_file_read(cfg->env_file, &cfg->env_edits, &n, why, sizeof why)) < 0)
		goto fail;
	for (size_t i = 0; i < cfg->env.count; i++)
		if ((r = tether_env_push(&cfg->env_edits, &n, cfg->env.items[i])) < 0)
			goto fail;
	return 0;
fail:
	tether_config_resolved_done(cfg);
	if (r == -ENOMEM)
		tether_result_set(res, TETHER_OUTCOME_INTERNAL, ENOMEM, "out of memory");
	else
		tether_result_set(res, outcome, -r, "%s", why);
	return 1;
}
