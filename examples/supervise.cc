// SPDX-License-Identifier: MIT
// supervise.cc — libtether from C++: a supervisor of COMMAND in this process,
// as `tether run --pidfile PIDFILE --restart never -- COMMAND` runs one: it
// starts COMMAND, waits for it and ends when it has ended, with tether run's
// exit code (0 when it exited 0).
//
//   c++ -o supervise supervise.cc $(pkg-config --cflags --libs libtether)
//   ./supervise state/demo.pid /bin/sh -c 'echo hello from a worker'
//
// The supervisor owns every child of this process and blocks SIGTERM,
// SIGINT, SIGHUP and SIGCHLD for it (libtether(3)).
#include <cstdio>

#include <tether/tether.h>

namespace {

void message(void *, enum tether_message_level level, const char *text)
{
	std::fprintf(stderr, "supervise: %s%s\n", level == TETHER_MSG_ERROR ? "" : "note: ", text);
}

void ready(void *)
{
	std::fprintf(stderr, "supervise: every instance is ready\n");
}

} // namespace

int main(int argc, char **argv)
{
	if (argc < 3) {
		std::fprintf(stderr, "usage: supervise PIDFILE COMMAND [ARG...]\n");
		return 64;
	}
	struct tether_config cfg;
	tether_config_defaults(&cfg);
	cfg.pidfile = argv[1];
	cfg.argv = argv + 2;
	cfg.record_argv = argv;
	cfg.policy.restart = TETHER_RESTART_NEVER;
	cfg.min_disk = 0; // no free-space floor for a demonstration
	cfg.min_mem = 0;

	struct tether_clock clock;
	tether_clock_init_real(&clock);
	struct tether_hooks hooks = {};
	hooks.message = message;
	hooks.ready = ready;

	struct tether_result res = {};
	struct tether_supervisor *sv = nullptr;
	if (tether_supervisor_new(&cfg, &clock, &hooks, &sv, &res) < 0) {
		std::fprintf(stderr, "supervise: %s\n", res.message);
		return tether_result_exit_code(&res);
	}
	tether_supervisor_run(sv, &res);
	tether_supervisor_free(sv);
	if (res.message[0])
		std::fprintf(stderr, "supervise: %s\n", res.message);
	return tether_result_exit_code(&res);
}
