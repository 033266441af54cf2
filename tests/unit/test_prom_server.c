/* Unit tests for the /metrics server on loopback: what it serves, whole snapshots under concurrent
 * publishing, and the errors for addresses it cannot serve. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "errors.h"
#include "prom_server.h"
#include "testutil.h"

/* The port of a server started on port 0, from its URL. */
static int port_of(const struct prom_server *ps)
{
	const char *url = prom_server__url(ps), *colon = strrchr(url, ':');

	assert_non_null(colon);
	return atoi(colon + 1);
}

static void get(int port, const char *method, const char *path, struct test_http *r)
{
	int err = test_http("127.0.0.1", port, method, path, 5000, r);

	if (err)
		fail_msg("%s %s on port %d: %s", method, path, port, strerror(-err));
}

static void test_serves_latest_text(void **state)
{
	struct prom_server *ps = prom_server__start("127.0.0.1", "0");
	struct test_http r;
	int port;

	(void)state;
	if (!ps)
		fail_msg("start: %s", snag_last_error());
	assert_non_null(strstr(prom_server__url(ps), "http://127.0.0.1:"));
	assert_non_null(strstr(prom_server__url(ps), "/metrics"));
	port = port_of(ps);
	assert_true(port > 0);
	/* Nothing published yet. */
	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 503);
	test_http__free(&r);
	assert_int_equal(prom_server__publish(ps, strdup("a_total 1\n"), 10), 0);
	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "a_total 1\n");
	assert_non_null(strstr(r.headers, "text/plain; version=0.0.4; charset=utf-8"));
	test_http__free(&r);
	assert_int_equal(prom_server__publish(ps, strdup("a_total 2\n"), 10), 0);
	get(port, "GET", "/metrics", &r);
	assert_string_equal(r.body, "a_total 2\n");
	test_http__free(&r);
	get(port, "HEAD", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, 0);
	test_http__free(&r);
	get(port, "GET", "/", &r);
	assert_int_equal(r.status, 404);
	test_http__free(&r);
	get(port, "POST", "/metrics", &r);
	assert_int_equal(r.status, 405);
	test_http__free(&r);
	prom_server__free(ps);
	/* Stopped: nothing listens there any more. */
	assert_int_equal(test_http("127.0.0.1", port, "GET", "/metrics", 2000, &r), -ECONNREFUSED);
}

struct publisher {
	struct prom_server *ps;
	const char *texts[2];
	volatile int stop;
	atomic_int published;
	int failed; /* cmocka's assertions may only fail on the test's own thread */
};

static void *publish_loop(void *arg)
{
	struct publisher *p = arg;

	for (int i = 0; !p->stop; i++) {
		const char *t = p->texts[i % 2];

		if (prom_server__publish(p->ps, strdup(t), strlen(t)))
			p->failed++;
		p->published++;
	}
	return NULL;
}

/* A big text of lines "x_total{i="N"} V", every line with the same V. */
static char *big_text(int v)
{
	size_t cap = 3 << 20, len = 0;
	char *t = malloc(cap);

	for (int i = 0; len + 64 < cap; i++)
		len += (size_t)snprintf(t + len, cap - len, "x_total{i=\"%d\"} %d\n", i, v);
	return t;
}

/* Scrapes while the texts swap as fast as they can: each scrape gets one text, whole. */
static void test_scrapes_see_whole_snapshots(void **state)
{
	struct publisher p = {0};
	struct test_http r;
	pthread_t th;
	char *a = big_text(1), *b = big_text(2);
	int seen[2] = {0, 0}, port;

	(void)state;
	p.ps = prom_server__start("127.0.0.1", "0");
	assert_non_null(p.ps);
	port = port_of(p.ps);
	p.texts[0] = a;
	p.texts[1] = b;
	assert_int_equal(prom_server__publish(p.ps, strdup(a), strlen(a)), 0);
	assert_int_equal(pthread_create(&th, NULL, publish_loop, &p), 0);
	/*
	 * At least 40 scrapes, and on until the texts changed more than 40 times
	 * under them: on a busy machine the publisher may get the CPU less often
	 * than the scraper (bounded: 20,000 scrapes).
	 */
	for (int i = 0; i < 40 || (atomic_load(&p.published) <= 40 && i < 20000); i++) {
		get(port, "GET", "/metrics", &r);
		assert_int_equal(r.status, 200);
		if (!strcmp(r.body, a))
			seen[0]++;
		else if (!strcmp(r.body, b))
			seen[1]++;
		else
			fail_msg("scrape %d got %zu bytes that are neither text (%zu, %zu bytes)",
				 i, r.body_len, strlen(a), strlen(b));
		test_http__free(&r);
	}
	p.stop = 1;
	pthread_join(th, NULL);
	assert_int_equal(p.failed, 0);
	/* The texts did change under the scrapes. */
	assert_true(atomic_load(&p.published) > 40);
	print_message("%d publishes of %zu-byte texts during %d scrapes: %d of text a, %d of b\n",
		      atomic_load(&p.published), strlen(a), seen[0] + seen[1], seen[0], seen[1]);
	prom_server__free(p.ps);
	free(a);
	free(b);
}

/*
 * Attack 7: 40 idle connections from one client took all 32 of the server's,
 * and every scrape timed out. Now one client address holds at most 8 (the
 * rest are closed at once), so a scraper elsewhere is still served.
 */
static void test_idle_client_cannot_starve_scrapes(void **state)
{
	struct prom_server *ps = prom_server__start("127.0.0.1", "0");
	int fds[40], port, closed;
	struct test_http r;

	(void)state;
	assert_non_null(ps);
	port = port_of(ps);
	assert_int_equal(prom_server__publish(ps, strdup("a_total 1\n"), 10), 0);
	for (int i = 0; i < 40; i++) {
		fds[i] = test_connect_from("127.0.0.2", "127.0.0.1", port);
		if (fds[i] < 0)
			fail_msg("connection %d from 127.0.0.2: %s", i, strerror(-fds[i]));
	}
	/* The scraper, at another address, gets its answer while they sit there. */
	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "a_total 1\n");
	test_http__free(&r);
	closed = test_count_closed(fds, 40, 3000);
	if (closed < 32)
		fail_msg("the idle client kept %d connections, want at most 8", 40 - closed);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	prom_server__free(ps);
}

/* A request bigger than a connection's memory gets an error, and the server goes on serving. */
static void test_oversized_request(void **state)
{
	struct prom_server *ps = prom_server__start("127.0.0.1", "0");
	size_t big = 64 * 1024, len;
	struct test_http r;
	char *req, reply[256] = {0};
	int fd, port;

	(void)state;
	assert_non_null(ps);
	port = port_of(ps);
	assert_int_equal(prom_server__publish(ps, strdup("a_total 1\n"), 10), 0);
	req = malloc(big + 128);
	assert_non_null(req);
	len = (size_t)snprintf(req, 128, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(req + len, 'a', big);
	len += big;
	memcpy(req + len, "\r\n\r\n", 4);
	len += 4;
	fd = test_connect_from("127.0.0.1", "127.0.0.1", port);
	assert_true(fd >= 0);
	/* The server may stop reading and answer early: whatever it took, then its reply. */
	for (size_t off = 0; off < len;) {
		ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);

		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(fd, SHUT_WR);
	{
		char *got = test_read_for(fd, 3000);

		assert_non_null(got);
		snprintf(reply, sizeof(reply), "%s", got);
		test_drop(got);
	}
	if (*reply && strncmp(reply, "HTTP/1.1 431", 12) && strncmp(reply, "HTTP/1.1 413", 12))
		fail_msg("an oversized request got: %.40s", reply);
	close(fd);
	free(req);
	get(port, "GET", "/metrics", &r);
	assert_int_equal(r.status, 200);
	test_http__free(&r);
	prom_server__free(ps);
}

static void test_unusable_addresses(void **state)
{
	struct prom_server *ps = prom_server__start("127.0.0.1", "0"), *again;
	char port[16];

	(void)state;
	assert_non_null(ps);
	snprintf(port, sizeof(port), "%d", port_of(ps));
	/* The port is taken: bad input (choose another), not a runtime failure. */
	again = prom_server__start("127.0.0.1", port);
	assert_null(again);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(snag_last_error(), "the port is in use"));
	assert_non_null(strstr(snag_last_error(), "--prometheus 127.0.0.1:9465"));
	prom_server__free(ps);
	/* TEST-NET-1 (RFC 5737) is nobody's address. */
	assert_null(prom_server__start("192.0.2.1", "9464"));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(snag_last_error(), "not an address of this machine"));
	/* IPv6 loopback, where the machine has it: the URL brackets it. */
	ps = prom_server__start("::1", "0");
	if (ps) {
		assert_non_null(strstr(prom_server__url(ps), "http://[::1]:"));
		prom_server__free(ps);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_serves_latest_text),
	    cmocka_unit_test(test_scrapes_see_whole_snapshots),
	    cmocka_unit_test(test_idle_client_cannot_starve_scrapes),
	    cmocka_unit_test(test_oversized_request),
	    cmocka_unit_test(test_unusable_addresses),
	};

	return cmocka_run_group_tests_name("prom_server", tests, NULL, NULL);
}
