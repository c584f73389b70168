/* SPDX-License-Identifier: MIT */
/* status.c — libtether from C: what `tether status --json` prints about the
 * supervisor of a pidfile, and its exit code (0 running, 1 stale, 3 not
 * running, 4 unknown).
 *
 *   cc -o status status.c $(pkg-config --cflags --libs libtether)
 *   ./status /run/workers/tether.pid
 */
#include <stdio.h>
#include <string.h>

#include <tether/tether.h>

int main(int argc, char **argv)
{
	const char *pidfile = argc > 1 ? argv[1] : "state/tether.pid";
	struct tether_status st;
	int r = tether_status_collect(pidfile, tether_clock_real(), &st);
	if (r < 0) {
		fprintf(stderr, "status: %s: %s\n", pidfile, strerror(-r));
		return 4;
	}
	struct tether_buf out;
	tether_buf_init(&out);
	tether_status_format_json(&st, &out);
	int code = 4;
	switch (st.state) {
	case TETHER_PIDFILE_RUNNING:
	case TETHER_PIDFILE_STARTING: code = 0; break;
	case TETHER_PIDFILE_STALE: code = 1; break;
	case TETHER_PIDFILE_STOPPED: code = 3; break;
	case TETHER_PIDFILE_UNKNOWN: code = 4; break;
	}
	if (out.oom) {
		fprintf(stderr, "status: out of memory\n");
		code = 4;
	} else {
		fputs(out.data, stdout);
	}
	tether_buf_done(&out);
	tether_status_done(&st);
	return code;
}
