/* The processes snag traces: checking -p pids, starting a -c command held before exec, noticing
 * exits. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wordexp.h>
#include "errors.h"
#include "target.h"

static int pidfd_open_compat(int pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* The Tgid of pid from /proc/PID/status, or -errno. */
static int read_tgid(int pid)
{
	char path[64], line[256];
	int tgid = -ENOENT;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

static int add_proc(struct targets *t, int pid)
{
	struct target_proc *np = realloc(t->procs, (t->n + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	t->procs = np;
	t->procs[t->n].pid = pid;
	t->procs[t->n].pidfd = pidfd_open_compat(pid);
	t->procs[t->n].exited = false;
	t->n++;
	return 0;
}

int targets__open_pids(struct targets *t, const int *pids, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
	for (size_t i = 0; i < n; i++) {
		int tgid = read_tgid(pids[i]);

		if (tgid < 0) {
			snag_set_error(
			    "no process with pid %d (is it still running? see 'ps -p %d')", pids[i],
			    pids[i]);
			return -ENOENT;
		}
		if (tgid != pids[i]) {
			snag_set_error("pid %d is a thread of process %d: use -p %d", pids[i], tgid,
				       tgid);
			return -EINVAL;
		}
		if (add_proc(t, pids[i]))
			return -ENOMEM;
	}
	return 0;
}

/* Find prog like execvp would; returns a malloc'd path or NULL with errno set. */
static char *find_program(const char *prog)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(prog, '/')) {
		if (access(prog, X_OK))
			return NULL;
		return realpath(prog, NULL);
	}
	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t len = strcspn(path, ":");
		struct stat st;

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? path : ".", prog);
		if (!stat(buf, &st) && S_ISREG(st.st_mode) && !access(buf, X_OK))
			return realpath(buf, NULL);
		path += len + (path[len] == ':');
	}
	errno = ENOENT;
	return NULL;
}

static int parse_command(struct targets *t, const char *command)
{
	wordexp_t we;
	int rc = wordexp(command, &we, WRDE_NOCMD);

	if (rc) {
		snag_set_error("cannot parse -c '%s': %s", command,
			       rc == WRDE_BADCHAR  ? "unquoted special character (|&;<>(){}); "
						     "wrap a pipeline in -c \"sh -c '...'\""
			       : rc == WRDE_CMDSUB ? "command substitution is not allowed"
			       : rc == WRDE_SYNTAX ? "unbalanced quotes"
						   : "cannot split it into words");
		return -EINVAL;
	}
	if (we.we_wordc == 0) {
		wordfree(&we);
		snag_set_error("-c needs a command, e.g. -c './server --port 8080'");
		return -EINVAL;
	}
	t->argv = calloc(we.we_wordc + 1, sizeof(char *));
	for (size_t i = 0; t->argv && i < we.we_wordc; i++)
		t->argv[i] = strdup(we.we_wordv[i]);
	wordfree(&we);
	return t->argv ? 0 : -ENOMEM;
}

int targets__spawn(struct targets *t, const char *command)
{
	int go[2] = {-1, -1}, errp[2] = {-1, -1}, err;
	pid_t pid;

	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
	t->command = true;
	err = parse_command(t, command);
	if (err)
		return err;
	t->command_path = find_program(t->argv[0]);
	if (!t->command_path) {
		err = -errno;
		snag_set_error("cannot run '%s': %s%s", t->argv[0], strerror(-err),
			       err == -ENOENT && !strchr(t->argv[0], '/')
				   ? " (not found in PATH; give its path, e.g. ./prog)"
				   : "");
		return err;
	}
	if (pipe2(go, O_CLOEXEC) || pipe2(errp, O_CLOEXEC)) {
		err = -errno;
		snag_set_error("cannot create pipes: %s", strerror(-err));
		goto fail;
	}
	pid = fork();
	if (pid < 0) {
		err = -errno;
		snag_set_error("cannot fork: %s", strerror(-err));
		goto fail;
	}
	if (pid == 0) {
		sigset_t none;
		char c;
		int e;

		close(go[1]);
		close(errp[0]);
		/* Wait until the parent has attached the probes (it closes go[1]). */
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		execv(t->command_path, t->argv);
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0)
			_exit(126);
		_exit(127);
	}
	close(go[0]);
	close(errp[1]);
	t->go_fd = go[1];
	t->err_fd = errp[0];
	err = add_proc(t, pid);
	if (err)
		return err;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (go[i] >= 0)
			close(go[i]);
		if (errp[i] >= 0)
			close(errp[i]);
	}
	return err;
}

int targets__release(struct targets *t)
{
	ssize_t n;
	int e = 0;

	if (!t->command || t->released)
		return 0;
	close(t->go_fd);
	t->go_fd = -1;
	t->released = true;
	do
		n = read(t->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(t->err_fd);
	t->err_fd = -1;
	if (n == sizeof(e)) {
		snag_set_error("cannot run '%s': %s", t->command_path, strerror(e));
		targets__update(t);
		return -e;
	}
	return 0;
}

bool targets__update(struct targets *t)
{
	bool all = t->n > 0;

	for (size_t i = 0; i < t->n; i++) {
		struct target_proc *p = &t->procs[i];

		if (!p->exited) {
			if (t->command) {
				int status;

				if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
					p->exited = true;
					t->exit_status = status;
				}
			} else if (p->pidfd >= 0) {
				/* A pidfd turns readable when the process exits, zombie or not. */
				struct pollfd pfd = {p->pidfd, POLLIN, 0};

				if (poll(&pfd, 1, 0) == 1)
					p->exited = true;
			} else if (kill(p->pid, 0) && errno == ESRCH) {
				p->exited = true;
			}
		}
		all &= p->exited;
	}
	return all;
}

void targets__signal_command(struct targets *t, int sig)
{
	if (!t->command)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (!t->procs[i].exited)
			kill(t->procs[i].pid, sig);
}

void targets__free(struct targets *t)
{
	if (t->command && !t->released) {
		for (size_t i = 0; i < t->n; i++) {
			kill(t->procs[i].pid, SIGKILL);
			waitpid(t->procs[i].pid, NULL, 0);
		}
	}
	for (size_t i = 0; i < t->n; i++)
		if (t->procs[i].pidfd >= 0)
			close(t->procs[i].pidfd);
	if (t->go_fd >= 0)
		close(t->go_fd);
	if (t->err_fd >= 0)
		close(t->err_fd);
	if (t->argv)
		for (char **a = t->argv; *a; a++)
			free(*a);
	free(t->argv);
	free(t->procs);
	free(t->command_path);
	memset(t, 0, sizeof(*t));
	t->go_fd = t->err_fd = -1;
}
