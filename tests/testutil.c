/* Helpers shared by the unit and integration tests: paths into the build tree, running commands. */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

const char *test_build_dir(void)
{
	const char *b = getenv("SNAG_BUILD");

	return b && *b ? b : "build";
}

const char *test_build_path(const char *rel)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", test_build_dir(), rel);
	return buf;
}

/* What test_keep() holds: a few dozen entries per test at most. */
static struct {
	void *p;
	void (*release)(void *);
} kept[4096];
static size_t n_kept;

void *test_keep(void *p, void (*release)(void *))
{
	if (p && n_kept < sizeof(kept) / sizeof(kept[0])) {
		kept[n_kept].p = p;
		kept[n_kept++].release = release ? release : free;
	}
	return p;
}

void test_drop(void *p)
{
	if (!p)
		return;
	for (size_t i = n_kept; i-- > 0;)
		if (kept[i].p == p) {
			void (*release)(void *) = kept[i].release;

			kept[i] = kept[--n_kept];
			release(p);
			return;
		}
	free(p);
}

void test_release(void)
{
	while (n_kept > 0) {
		n_kept--;
		kept[n_kept].release(kept[n_kept].p);
	}
}

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 4096);
		char *nb;

		while (ncap < *len + n + 1)
			ncap *= 2;
		nb = realloc(*buf, ncap);
		if (!nb)
			return -ENOMEM;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

int test_run(char *const argv[], int timeout_s, struct test_run *out)
{
	int opipe[2], epipe[2], status = 0;
	size_t olen = 0, ocap = 0, elen = 0, ecap = 0;
	long long deadline = now_ms() + timeout_s * 1000LL;
	int open_fds = 2, killed = 0;
	pid_t pid;

	memset(out, 0, sizeof(*out));
	if (pipe2(opipe, O_CLOEXEC) || pipe2(epipe, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	append(&out->out, &olen, &ocap, "", 0);
	append(&out->err, &elen, &ecap, "", 0);
	struct pollfd pfd[2] = {{opipe[0], POLLIN, 0}, {epipe[0], POLLIN, 0}};
	while (open_fds > 0) {
		long long left = deadline - now_ms();
		char buf[4096];
		int n;

		if (left <= 0 && !killed) {
			kill(pid, SIGKILL);
			killed = 1;
		}
		n = poll(pfd, 2, left > 0 ? (int)left : 100);
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pfd[i].fd, buf, sizeof(buf));
			if (r <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				open_fds--;
				continue;
			}
			if (i == 0)
				append(&out->out, &olen, &ocap, buf, r);
			else
				append(&out->err, &elen, &ecap, buf, r);
		}
	}
	waitpid(pid, &status, 0);
	out->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	test_keep(out->out, free);
	test_keep(out->err, free);
	return 0;
}

void test_run__free(struct test_run *r)
{
	test_drop(r->out);
	test_drop(r->err);
	r->out = r->err = NULL;
}

char *test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		char chunk[8192];
		size_t r = fread(chunk, 1, sizeof(chunk), f);

		if (r == 0)
			break;
		if (append(&buf, &n, &cap, chunk, r)) {
			free(buf);
			fclose(f);
			return NULL;
		}
	}
	fclose(f);
	if (!buf)
		buf = calloc(1, 1);
	if (len)
		*len = n;
	return test_keep(buf, free);
}

int test_spawn(char *const argv[], struct test_proc *p)
{
	int opipe[2], epipe[2];

	if (pipe2(opipe, O_CLOEXEC))
		return -errno;
	if (pipe2(epipe, O_CLOEXEC)) {
		close(opipe[0]);
		close(opipe[1]);
		return -errno;
	}
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		dup2(opipe[1], 1);
		dup2(epipe[1], 2);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(opipe[1]);
	close(epipe[1]);
	p->out_fd = opipe[0];
	p->err_fd = epipe[0];
	return 0;
}

/* Read one byte at a time so nothing past the wanted line is consumed. */
bool test_wait_line(int fd, const char *needle, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char line[4096];
	size_t len = 0;

	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - now_ms();
		char c;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return false;
		if (read(fd, &c, 1) != 1)
			return false;
		if (c == '\n') {
			line[len] = '\0';
			if (strstr(line, needle))
				return true;
			len = 0;
		} else if (len < sizeof(line) - 1) {
			line[len++] = c;
		}
	}
}

char *test_read_for(int fd, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char *buf = NULL;
	size_t len = 0, cap = 0;

	append(&buf, &len, &cap, "", 0);
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - now_ms();
		char chunk[4096];
		ssize_t r;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		r = read(fd, chunk, sizeof(chunk));
		if (r <= 0)
			break;
		append(&buf, &len, &cap, chunk, r);
	}
	return test_keep(buf, free);
}

/* Say where a process that overran its time is stuck, before it is killed. */
static void dump_stuck(pid_t pid)
{
	static const char *const files[] = {"status", "stack", "syscall", "wchan"};
	char path[64], *text;

	fprintf(stderr, "test: pid %d overran its time; killing it. Where it was:\n", pid);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, files[i]);
		text = test_read_file(path, NULL);
		if (text && i == 0 && strstr(text, "State:"))
			fprintf(stderr, "  %.40s\n", strstr(text, "State:"));
		else if (text)
			fprintf(stderr, "  %s: %s\n", files[i], text);
		free(text);
	}
	/* Its user stack too, when gdb is there (it is on the development machines). */
	if (!access("/usr/bin/gdb", X_OK)) {
		char cmd[160];

		snprintf(cmd, sizeof(cmd),
			 "timeout 60 /usr/bin/gdb -batch -p %d -ex 'thread apply all bt 25' "
			 "2>/dev/null | grep '^#' >&2",
			 pid);
		if (system(cmd) < 0)
			fprintf(stderr, "  (gdb failed)\n");
	}
}

int test_proc_wait(struct test_proc *p, int timeout_s)
{
	long long deadline = now_ms() + timeout_s * 1000LL;
	int status = 0;

	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid)
			break;
		if (r < 0)
			return -1;
		if (now_ms() > deadline) {
			dump_stuck(p->pid);
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	close(p->out_fd);
	close(p->err_fd);
	p->out_fd = p->err_fd = -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Wait for fd to be ready for events until deadline (ms). Returns 0 or -ETIMEDOUT/-errno. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd pfd = {fd, events, 0};
	long long left = deadline - now_ms();
	int n;

	if (left <= 0)
		return -ETIMEDOUT;
	n = poll(&pfd, 1, (int)left);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

int test_http(const char *host, int port, const char *method, const char *path, int timeout_ms,
	      struct test_http *out)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
	long long deadline = now_ms() + timeout_ms;
	char portstr[16], *req = NULL, *buf = NULL, *sep;
	size_t len = 0, cap = 0, sent = 0;
	struct addrinfo *ai;
	int fd = -1, err = 0, soerr = 0;
	socklen_t sl = sizeof(soerr);

	memset(out, 0, sizeof(*out));
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(host, portstr, &hints, &ai))
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	err = wait_fd(fd, POLLOUT, deadline);
	if (!err && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 && soerr)
		err = -soerr;
	if (err)
		goto out;
	if (asprintf(&req, "%s %s HTTP/1.0\r\nHost: %s:%d\r\nConnection: close\r\n\r\n", method,
		     path, host, port) < 0) {
		req = NULL;
		err = -ENOMEM;
		goto out;
	}
	while (!err && sent < strlen(req)) {
		ssize_t n = send(fd, req + sent, strlen(req) - sent, MSG_NOSIGNAL);

		if (n > 0)
			sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			err = -errno;
		else
			err = wait_fd(fd, POLLOUT, deadline);
	}
	append(&buf, &len, &cap, "", 0);
	while (!err) {
		char chunk[65536];
		ssize_t n = recv(fd, chunk, sizeof(chunk), 0);

		if (n == 0)
			break;
		if (n > 0)
			err = append(&buf, &len, &cap, chunk, (size_t)n);
		else if (errno == EAGAIN)
			err = wait_fd(fd, POLLIN, deadline);
		else
			err = -errno;
	}
	if (err)
		goto out;
	sep = strstr(buf, "\r\n\r\n");
	if (!sep || sscanf(buf, "HTTP/%*d.%*d %d", &out->status) != 1) {
		err = -EPROTO;
		goto out;
	}
	out->headers = strndup(buf, (size_t)(sep - buf));
	out->body_len = len - (size_t)(sep + 4 - buf);
	out->body = malloc(out->body_len + 1);
	if (!out->headers || !out->body) {
		err = -ENOMEM;
		goto out;
	}
	memcpy(out->body, sep + 4, out->body_len);
	out->body[out->body_len] = '\0';
out:
	if (err)
		test_http__free(out);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	free(req);
	free(buf);
	return err;
}

void test_http__free(struct test_http *r)
{
	free(r->headers);
	free(r->body);
	r->headers = r->body = NULL;
	r->body_len = 0;
}

int test_connect_from(const char *src, const char *host, int port)
{
	struct sockaddr_in from = {.sin_family = AF_INET}, to = {.sin_family = AF_INET};
	int fd, err;

	if (inet_pton(AF_INET, src, &from.sin_addr) != 1 ||
	    inet_pton(AF_INET, host, &to.sin_addr) != 1)
		return -EINVAL;
	to.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int test_count_closed(const int *fds, int n, int timeout_ms)
{
	struct timespec t0, t;
	int closed = 0;
	char *done = calloc((size_t)n, 1), buf[4096];

	if (!done)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long elapsed;

		for (int i = 0; i < n; i++) {
			struct pollfd p = {.fd = fds[i], .events = POLLIN};
			ssize_t r;

			if (done[i] || poll(&p, 1, 0) <= 0)
				continue;
			r = read(fds[i], buf, sizeof(buf));
			if (r <= 0) {
				done[i] = 1;
				closed++;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
		elapsed = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (closed == n || elapsed >= timeout_ms)
			break;
		usleep(20000);
	}
	free(done);
	return closed;
}
