/*
 * Integration tests for --prometheus: a real Prometheus server scrapes snag's /metrics every
 * second while snag traces a target with a known call count, and its query API must return that
 * count; plus the errors for addresses snag cannot serve.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <jansson.h>
#include "itest.h"

#define PROMETHEUS "/usr/bin/prometheus"

/* What a test started, so that teardown stops it even when an assertion ends the test early. */
static pid_t prometheus_pid = -1;
static struct test_proc snag = {.pid = -1, .out_fd = -1, .err_fd = -1};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* A loopback port nothing listens on right now (the kernel's pick for port 0). */
static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), port;

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/*
 * Start Prometheus with its output in log. PR_SET_PDEATHSIG kills it if this
 * test process dies before teardown can.
 */
static pid_t start_prometheus(char *const argv[], const char *log)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* Percent-encode everything but unreserved characters, for a query string. */
static void url_encode(const char *s, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s && o + 4 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c)) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

/*
 * The value of a PromQL instant query that returns one series, as a string,
 * or NULL when it returns none (yet). Fails on anything but a success reply.
 */
static char *query(int port, const char *promql)
{
	char path[2048], enc[1800];
	struct test_http r;
	json_error_t jerr;
	json_t *root, *result, *value;
	char *out = NULL;
	int err;

	url_encode(promql, enc, sizeof(enc));
	snprintf(path, sizeof(path), "/api/v1/query?query=%s", enc);
	err = test_http("127.0.0.1", port, "GET", path, 5000, &r);
	if (err)
		fail_msg("query %s: %s", promql, strerror(-err));
	root = itest_keep_json(json_loads(r.body, 0, &jerr));
	if (r.status != 200 || !root)
		fail_msg("query %s: HTTP %d: %s", promql, r.status, r.body);
	assert_string_equal(json_string_value(json_object_get(root, "status")), "success");
	result = json_object_get(json_object_get(root, "data"), "result");
	assert_true(json_is_array(result));
	if (json_array_size(result) > 1)
		fail_msg("query %s: %zu series, want one: %s", promql, json_array_size(result),
			 r.body);
	value = json_array_get(json_object_get(json_array_get(result, 0), "value"), 1);
	if (json_is_string(value))
		out = strdup(json_string_value(value));
	json_decref(root);
	test_http__free(&r);
	return out;
}

/*
 * Poll the query until it returns want, for up to timeout_ms; returns the
 * last value it returned (a series goes stale once its target stops).
 */
static char *query_until(int port, const char *promql, const char *want, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	char *last = NULL;

	for (;;) {
		char *v = query(port, promql);

		if (v) {
			test_drop(last);
			last = v;
		}
		if ((last && !strcmp(last, want)) || now_ms() > deadline)
			return last;
		usleep(250000);
	}
}

static void expect_query(int port, const char *promql, const char *want)
{
	char *v = query(port, promql);

	if (!v || strcmp(v, want))
		fail_msg("%s = %s, want %s", promql, v ? v : "(no series)", want);
	test_drop(v);
}

static char *read_log(const char *path)
{
	char *text = test_read_file(path, NULL);

	return text ? text : strdup("(no log)");
}

/*
 * latency sleep 50 calls sleep_2ms() exactly 50 times in its first ~100 ms,
 * then lingers, so Prometheus scrapes the final counts several times before
 * the target exits and snag stops.
 */
static void test_prometheus_scrapes_known_counts(void **state)
{
	char dir[4200], config[4300], data[4300], log[4300], cfg_arg[4400], data_arg[4400];
	char listen_arg[64], target[64], snag_addr[32], cmd[8300], report[4300];
	int prom_port, snag_port, status;
	struct test_http r;
	char *v, *text;
	json_t *root;
	FILE *f;

	(void)state;
	require_bpf();
	if (access(PROMETHEUS, X_OK))
		fail_msg(PROMETHEUS " is missing: run tools/install-deps.sh");
	snprintf(dir, sizeof(dir), "%s", out_path("prometheus"));
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(config, sizeof(config), "%s/prometheus.yml", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(log, sizeof(log), "%s/prometheus.log", dir);
	snprintf(report, sizeof(report), "%s/report.json", dir);
	prom_port = free_port();
	do
		snag_port = free_port();
	while (snag_port == prom_port);
	snprintf(target, sizeof(target), "127.0.0.1:%d", snag_port);
	f = fopen(config, "w");
	assert_non_null(f);
	fprintf(f,
		"global:\n"
		"  scrape_interval: 1s\n"
		"  scrape_timeout: 1s\n"
		"scrape_configs:\n"
		"  - job_name: snag\n"
		"    static_configs:\n"
		"      - targets: ['%s']\n",
		target);
	fclose(f);
	snprintf(cfg_arg, sizeof(cfg_arg), "--config.file=%s", config);
	snprintf(data_arg, sizeof(data_arg), "--storage.tsdb.path=%s", data);
	snprintf(listen_arg, sizeof(listen_arg), "--web.listen-address=127.0.0.1:%d", prom_port);
	char *prom_argv[] = {PROMETHEUS, cfg_arg, data_arg, listen_arg, "--log.level=warn", NULL};
	prometheus_pid = start_prometheus(prom_argv, log);
	/* Ready within 30 s, or the test says why not. */
	for (long long deadline = now_ms() + 30000;; usleep(200000)) {
		int err = test_http("127.0.0.1", prom_port, "GET", "/-/ready", 2000, &r);
		bool ready = !err && r.status == 200;

		if (!err)
			test_http__free(&r);
		if (ready)
			break;
		if (now_ms() > deadline ||
		    waitpid(prometheus_pid, &status, WNOHANG) == prometheus_pid)
			fail_msg("Prometheus did not become ready: %s", read_log(log));
	}

	snprintf(cmd, sizeof(cmd), "%s --linger 8 sleep 50", target_path);
	snprintf(snag_addr, sizeof(snag_addr), "127.0.0.1:%d", snag_port);
	char *snag_argv[] = {
	    snag_path, "-c", cmd,  "-u",   "sleep_2ms",	    "--offcpu",	    "-i",      "1",
	    "-d",      "30", "-o", report, "--format=json", "--prometheus", snag_addr, NULL};
	assert_int_equal(test_spawn(snag_argv, &snag), 0);
	wait_tracing(&snag);

	/* The count Prometheus stored from its scrapes is the count the target made. */
	v = query_until(prom_port, "snag_function_calls_total{function=\"sleep_2ms\"}", "50",
			12000);
	if (!v || strcmp(v, "50"))
		fail_msg("Prometheus has snag_function_calls_total = %s, want 50; its log: %s",
			 v ? v : "(no series)", read_log(log));
	test_drop(v);
	expect_query(prom_port, "up{job=\"snag\"}", "1");
	expect_query(prom_port, "snag_function_latency_seconds_count{function=\"sleep_2ms\"}",
		     "50");
	/* nanosleep never returns early: no call is under 1 ms, and together they took >= 100 ms.
	 */
	expect_query(prom_port,
		     "snag_function_latency_seconds_bucket{function=\"sleep_2ms\",le=\"0.001\"}",
		     "0");
	expect_query(prom_port,
		     "snag_function_latency_seconds_bucket{function=\"sleep_2ms\",le=\"+Inf\"}",
		     "50");
	expect_query(prom_port,
		     "snag_function_latency_seconds_sum{function=\"sleep_2ms\"} >= bool 0.1", "1");
	/* The target sleeps: 50 x 2 ms, then it lingers, all of it off the CPU. */
	expect_query(prom_port,
		     "sum(snag_process_offcpu_seconds_total{comm=\"latency\"}) >= bool 0.1", "1");

	/* snag's own endpoint, read directly: the exposition text Prometheus parsed. */
	assert_int_equal(test_http("127.0.0.1", snag_port, "GET", "/metrics", 5000, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.headers, "text/plain; version=0.0.4"));
	assert_non_null(strstr(r.body, "# TYPE snag_function_calls_total counter\n"));
	assert_non_null(strstr(r.body, "# TYPE snag_function_latency_seconds histogram\n"));
	assert_non_null(strstr(r.body, "function=\"sleep_2ms\"} 50\n"));
	test_http__free(&r);

	/* The target exits after lingering; snag stops and writes its usual report. */
	status = test_proc_wait(&snag, 30);
	snag.pid = -1;
	if (status != 0)
		fail_msg("snag exited %d", status);
	root = itest_load_json(report, NULL);
	assert_non_null(root);
	text = itest_dump(json_object_get(root, "functions"), JSON_COMPACT);
	assert_non_null(strstr(text, "\"count\":50"));
	test_drop(text);
	json_decref(root);
}

/*
 * Attack 7: a local user held 40 slow connections to --prometheus and every
 * scrape timed out. Now that client keeps at most a few, and a scrape from
 * another address is served while they stay open.
 */
static void test_prometheus_idle_clients(void **state)
{
	char cmd[8300], addr[32];
	int fds[40], port, closed;
	struct test_http r;

	(void)state;
	require_bpf();
	port = free_port();
	snprintf(cmd, sizeof(cmd), "%s --linger 20 sleep 5", target_path);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	char *argv[] = {snag_path, "-c", cmd,  "-u",	    "sleep_2ms",    "-i", "1",
			"-d",	   "20", "-o", "/dev/null", "--prometheus", addr, NULL};
	assert_int_equal(test_spawn(argv, &snag), 0);
	wait_tracing(&snag);
	for (int i = 0; i < 40; i++) {
		fds[i] = test_connect_from("127.0.0.2", "127.0.0.1", port);
		if (fds[i] < 0)
			fail_msg("connection %d from 127.0.0.2: %s", i, strerror(-fds[i]));
	}
	assert_int_equal(test_http("127.0.0.1", port, "GET", "/metrics", 5000, &r), 0);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "# TYPE snag_function_calls_total counter\n"));
	test_http__free(&r);
	closed = test_count_closed(fds, 40, 3000);
	if (closed < 32)
		fail_msg("one client kept %d connections, want at most 8", 40 - closed);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
}

/* Exit 2 with one line naming the problem, for each address snag cannot serve. */
static void expect_address_error(const char *addr, const char *want)
{
	char cmd[8300];
	struct test_run r;

	snprintf(cmd, sizeof(cmd), "%s sleep 1", target_path);
	char *argv[] = {snag_path,   "-c",	     cmd,	   "-u",
			"sleep_2ms", "--prometheus", (char *)addr, NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status != 2 || !strstr(r.err, want) ||
	    strchr(r.err, '\n') != r.err + strlen(r.err) - 1)
		fail_msg("--prometheus %s: want exit 2 and one line with '%s', got %d: %s", addr,
			 want, r.status, r.err);
	test_run__free(&r);
}

static void test_prometheus_bad_addresses(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	char busy[32];
	int fd;

	(void)state;
	require_bpf();
	expect_address_error("", "invalid --prometheus address");
	expect_address_error("localhost", "invalid --prometheus address");
	expect_address_error("70000", "invalid --prometheus address");
	expect_address_error("::1:9464", "invalid --prometheus address");
	expect_address_error("no-such-host.invalid:9464", "cannot resolve 'no-such-host.invalid'");
	expect_address_error("192.0.2.1:9464", "not an address of this machine");
	/* A port another process listens on. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	snprintf(busy, sizeof(busy), "%d", ntohs(a.sin_port));
	expect_address_error(busy, "the port is in use");
	close(fd);
}

static int stop_processes(void **state)
{
	if (snag.pid > 0) {
		kill(snag.pid, SIGKILL);
		test_proc_wait(&snag, 10);
		snag.pid = -1;
	}
	if (prometheus_pid > 0) {
		kill(prometheus_pid, SIGKILL);
		waitpid(prometheus_pid, NULL, 0);
		prometheus_pid = -1;
	}
	return itest_case_teardown(state);
}

static int setup(void **state)
{
	(void)state;
	return itest_setup("latency");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_prometheus_scrapes_known_counts, stop_processes),
	    itest_case(test_prometheus_bad_addresses),
	    cmocka_unit_test_teardown(test_prometheus_idle_clients, stop_processes),
	};

	return cmocka_run_group_tests_name("prometheus", tests, setup, teardown);
}
