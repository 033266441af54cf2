/* Running a child program to completion with its output captured and a time limit. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "subproc.h"

static long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Append n bytes to the growing NUL-terminated buffer *buf of length *len. */
static int append(char **buf, size_t *len, const char *data, size_t n)
{
	char *nb = realloc(*buf, *len + n + 1);

	if (!nb)
		return -ENOMEM;
	memcpy(nb + *len, data, n);
	*len += n;
	nb[*len] = '\0';
	*buf = nb;
	return 0;
}

int subproc__run(char *const argv[], int timeout_ms, struct subproc_result *r)
{
	long long deadline = monotonic_ms() + timeout_ms;
	char *buf = NULL, chunk[4096];
	size_t len = 0;
	int pipefd[2], wstatus, err = 0;
	bool timed_out = false;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null < 0 || dup2(null, 0) < 0 || dup2(pipefd[1], 1) < 0 ||
		    dup2(pipefd[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pipefd[1]);
	err = append(&buf, &len, "", 0);
	/* Read until every writer is gone: the child, and anything it started on the pipe. */
	while (!err) {
		struct pollfd pfd = {pipefd[0], POLLIN, 0};
		long long left = deadline - monotonic_ms();
		ssize_t n;
		int ready;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		ready = poll(&pfd, 1, (int)left);
		if (ready <= 0) {
			/* Nothing yet (the deadline is checked above) or a signal. */
			if (ready < 0 && errno != EINTR)
				err = -errno;
			continue;
		}
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n == 0)
			break;
		if (n < 0) {
			if (errno != EINTR && errno != EAGAIN)
				err = -errno;
			continue;
		}
		err = append(&buf, &len, chunk, (size_t)n);
	}
	close(pipefd[0]);
	if (timed_out || err)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0)
		if (errno != EINTR) {
			wstatus = 0;
			err = err ? err : -errno;
			break;
		}
	if (err) {
		free(buf);
		return err;
	}
	r->output = buf;
	r->timed_out = timed_out;
	r->status = WIFEXITED(wstatus)	   ? WEXITSTATUS(wstatus)
		    : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
					   : 1;
	return 0;
}
