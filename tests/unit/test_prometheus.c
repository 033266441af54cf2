/* Unit tests for the Prometheus exposition: histogram buckets, label escaping, per-process sums,
 * merged series, counters that never go down, and promtool's verdict on the whole text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "hist.h"
#include "model_fixture.h"
#include "prometheus.h"
#include "report.h"
#include "testutil.h"

/* Format r with w (a fresh writer when w is NULL); the caller frees the text. */
static char *format(struct prom_writer *w, const struct report *r)
{
	struct prom_writer *own = w ? NULL : prom_writer__new();
	size_t len = 0;
	char *text = NULL;

	assert_non_null(w ?: own);
	assert_int_equal(prom_writer__format(w ?: own, r, &text, &len), 0);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	prom_writer__free(own);
	return text;
}

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("missing:\n%s\nin:\n%s", want, text);
}

static void assert_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted))
		fail_msg("unexpected:\n%s\nin:\n%s", unwanted, text);
}

/* The value on the line that starts with series (name and labels), or fails. */
static const char *value_of(const char *text, const char *series)
{
	static char buf[64];
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, series, n) && p[n] == ' ') {
			sscanf(p + n + 1, "%63s", buf);
			return buf;
		}
	}
	fail_msg("no series %s in:\n%s", series, text);
	return NULL;
}

static void test_function_histogram(void **state)
{
	/* Cumulative calls at each bound, in the order written. */
	static const struct {
		const char *le;
		int calls;
	} want[] = {
	    {"1e-06", 3},  {"2.5e-06", 4}, {"5e-06", 6},   {"1e-05", 6},  {"2.5e-05", 6},
	    {"5e-05", 6},  {"0.0001", 6},  {"0.00025", 6}, {"0.0005", 6}, {"0.001", 6},
	    {"0.0025", 7}, {"0.005", 7},   {"0.01", 7},	   {"0.025", 7},  {"0.05", 7},
	    {"0.1", 7},	   {"0.25", 7},	   {"0.5", 7},	   {"1", 7},	  {"2.5", 7},
	    {"5", 7},	   {"10", 7},	   {"+Inf", 8},
	};
	struct report *r = report__new();
	struct report_function *f;
	char *text, buckets[8192];
	size_t off = 0;

	(void)state;
	assert_non_null(r);
	f = report__add_function(r, "/srv/app", "handle", 0x1000);
	assert_non_null(f);
	/* 3 x 500 ns, 1 us exactly, 2 x 3 us, 2 ms, 20 s (beyond the last bound). */
	fixture_add_series(f, 3, 500, 0);
	fixture_add_sample(f, 1000);
	fixture_add_series(f, 2, 3000, 0);
	fixture_add_sample(f, 2000000);
	fixture_add_sample(f, 20000000000ull);
	text = format(NULL, r);
	/*
	 * 1000 ns lies in the log-linear bucket 992..1023, which may hold calls
	 * above 1 us: it counts from the next bound on, never under one it may
	 * exceed.
	 */
	assert_true(snag_hist_upper(snag_hist_bucket(1000)) > 1000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		off += snprintf(buckets + off, sizeof(buckets) - off,
				"snag_function_latency_seconds_bucket{binary=\"/srv/app\","
				"function=\"handle\",le=\"%s\"} %d\n",
				want[i].le, want[i].calls);
	assert_contains(text,
			"# HELP snag_function_calls_total Calls of a probed function that "
			"returned.\n"
			"# TYPE snag_function_calls_total counter\n"
			"snag_function_calls_total{binary=\"/srv/app\",function=\"handle\"} 8\n"
			"# HELP snag_function_latency_seconds Latency of a probed function's "
			"calls, entry to return.\n"
			"# TYPE snag_function_latency_seconds histogram\n");
	assert_contains(text, buckets);
	assert_contains(text, "snag_function_latency_seconds_sum{binary=\"/srv/app\",function=\""
			      "handle\"} 20.002008500\n"
			      "snag_function_latency_seconds_count{binary=\"/srv/app\",function=\""
			      "handle\"} 8\n");
	/* snag's own families are always there, even before any program ran. */
	assert_contains(text, "# TYPE snag_bpf_program_run_seconds_total counter\n");
	assert_contains(text, "# TYPE snag_bpf_program_runs_total counter\n");
	assert_contains(text, "# TYPE snag_dropped_events_total counter\n");
	free(text);
	report__free(r);
}

/* Label values escape backslash, quote and newline, and never carry invalid UTF-8. */
static void test_label_escaping(void **state)
{
	struct report *r = report__new();
	struct report_thread_sched *t;
	char *text;

	(void)state;
	assert_non_null(report__add_function(r, "/opt/we\"ird\\dir/app", "line\nbreak", 1));
	/* é is valid UTF-8; 0xff, a lone continuation byte, a truncated and an overlong sequence
	 * are not. */
	t = report__add_sched(r, 7, 7, "caf\xc3\xa9\xff\x80x\xe2\x82");
	assert_non_null(t);
	t->oncpu_ns = 1;
	assert_non_null(report__add_sched(r, 8, 8, "\xc0\xaf\xed\xa0\x80"));
	r->sched_enabled = true;
	text = format(NULL, r);
	assert_contains(text, "snag_function_calls_total{binary=\"/opt/we\\\"ird\\\\dir/"
			      "app\",function=\"line\\nbreak\"} 0\n");
	assert_contains(text, "snag_process_oncpu_seconds_total{pid=\"7\",comm=\"caf\xc3\xa9"
			      "\xef\xbf\xbd\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\"} 0.000000001\n");
	assert_contains(
	    text, "snag_process_oncpu_seconds_total{pid=\"8\",comm=\""
		  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 0.000000000\n");
	free(text);
	report__free(r);
}

static void add_thread(struct report *r, int pid, int tid, const char *comm, uint64_t on,
		       uint64_t off, uint64_t runq)
{
	struct report_thread_sched *t = report__add_sched(r, pid, tid, comm);

	assert_non_null(t);
	t->oncpu_ns = on;
	t->offcpu_ns = off;
	t->runq_total_ns = runq;
}

/* Threads add up into their process, which is named after its main thread. */
static void test_sched_per_process(void **state)
{
	struct report *r = report__new();
	char *text;

	(void)state;
	r->sched_enabled = true;
	add_thread(r, 300, 301, "worker", 1000000000, 500, 7);
	add_thread(r, 200, 200, "db", 2, 3, 4);
	add_thread(r, 300, 300, "server", 1500000000, 1500, 3);
	add_thread(r, 300, 302, "worker", 1, 0, 0);
	text = format(NULL, r);
	assert_contains(text,
			"# HELP snag_process_oncpu_seconds_total Time the process's threads "
			"ran on a CPU.\n# TYPE snag_process_oncpu_seconds_total counter\n"
			"snag_process_oncpu_seconds_total{pid=\"200\",comm=\"db\"} 0.000000002\n"
			"snag_process_oncpu_seconds_total{pid=\"300\",comm=\"server\"} "
			"2.500000001\n");
	assert_contains(text, "snag_process_offcpu_seconds_total{pid=\"300\",comm=\"server\"} "
			      "0.000002000\n");
	assert_contains(text,
			"snag_process_runqueue_wait_seconds_total{pid=\"300\",comm=\"server\"} "
			"0.000000010\n");
	assert_lacks(text, "worker");
	/* No functions were probed: no function families. */
	assert_lacks(text, "snag_function");
	free(text);
	report__free(r);
}

/* Rows that differ only in what is not a label become one series. */
static void test_io_rows_merge(void **state)
{
	struct report *r = report__new();
	struct report_block_io *b;
	struct report_net_io *n;
	struct report_syscall_io *s;
	char *text;

	(void)state;
	r->io_enabled = true;
	/* Two ops the exposition calls "other". */
	b = report__add_block_io(r, 10, "dd", "vda", "other");
	b->count = 2;
	b->bytes = 4096;
	b = report__add_block_io(r, 10, "dd", "vda", "other");
	b->count = 3;
	b->bytes = 512;
	/* TCP over IPv4 and IPv6: the family is not a label. */
	n = report__add_net_io(r, 11, "srv", "tcp", "ipv4", "stream", NET_SEND);
	n->count = 5;
	n->bytes = 50;
	n = report__add_net_io(r, 11, "srv", "tcp", "ipv6", "stream", NET_SEND);
	n->count = 1;
	n->bytes = 1;
	n = report__add_net_io(r, 11, "srv", "tcp", "ipv6", "stream", NET_RECV);
	n->count = 9;
	n->bytes = 90;
	s = report__add_syscall_io(r, 12, "log", "write", "file");
	s->count = 10000;
	s->bytes = 160000;
	text = format(NULL, r);
	assert_string_equal(value_of(text, "snag_block_io_requests_total{pid=\"10\",comm=\"dd\","
					   "device=\"vda\",op=\"other\"}"),
			    "5");
	assert_string_equal(value_of(text, "snag_block_io_bytes_total{pid=\"10\",comm=\"dd\","
					   "device=\"vda\",op=\"other\"}"),
			    "4608");
	assert_string_equal(value_of(text, "snag_net_io_messages_total{pid=\"11\",comm=\"srv\","
					   "protocol=\"tcp\",direction=\"send\"}"),
			    "6");
	assert_string_equal(value_of(text, "snag_net_io_bytes_total{pid=\"11\",comm=\"srv\","
					   "protocol=\"tcp\",direction=\"recv\"}"),
			    "90");
	assert_string_equal(value_of(text, "snag_syscall_io_calls_total{pid=\"12\",comm=\"log\","
					   "syscall=\"write\",fd_type=\"file\"}"),
			    "10000");
	assert_string_equal(value_of(text, "snag_syscall_io_bytes_total{pid=\"12\",comm=\"log\","
					   "syscall=\"write\",fd_type=\"file\"}"),
			    "160000");
	/* Each series once. */
	assert_null(strstr(strstr(text, "snag_block_io_requests_total{") + 1,
			   "snag_block_io_requests_total{"));
	free(text);
	report__free(r);
}

static void test_overhead(void **state)
{
	struct report *r = report__new();
	char *text;

	(void)state;
	assert_int_equal(report__add_program(r, "handle_sched_switch", 1000, 1234567891), 0);
	/* Two collectors each load a program of this name: one series, summed. */
	assert_int_equal(report__add_program(r, "handle_sched_process_exec", 2, 100), 0);
	assert_int_equal(report__add_program(r, "handle_sched_process_exec", 3, 50), 0);
	assert_int_equal(report__add_drop(r, "offcpu_table_full", 0), 0);
	assert_int_equal(report__add_drop(r, "unmatched_return", 12), 0);
	text = format(NULL, r);
	assert_contains(text, "snag_bpf_program_run_seconds_total{program=\"handle_sched_switch\"} "
			      "1.234567891\n");
	assert_contains(text,
			"snag_bpf_program_runs_total{program=\"handle_sched_switch\"} 1000\n");
	assert_contains(text, "snag_bpf_program_run_seconds_total{program=\"handle_sched_process_"
			      "exec\"} 0.000000150\n");
	assert_contains(text,
			"snag_bpf_program_runs_total{program=\"handle_sched_process_exec\"} 5\n");
	assert_contains(text, "snag_dropped_events_total{cause=\"offcpu_table_full\"} 0\n"
			      "snag_dropped_events_total{cause=\"unmatched_return\"} 12\n");
	/* Collectors that were off leave no families behind. */
	assert_lacks(text, "snag_process");
	assert_lacks(text, "_io_");
	free(text);
	report__free(r);
}

/* A report with a given on-CPU total for pid 1 and call count, for the floor test. */
static struct report *counts(uint64_t oncpu_ns, uint64_t calls, bool with_pid2)
{
	struct report *r = report__new();
	struct report_function *f = report__add_function(r, "/bin/x", "f", 1);

	assert_non_null(f);
	fixture_add_series(f, calls, 1000000, 0);
	r->sched_enabled = true;
	add_thread(r, 1, 1, "init", oncpu_ns, 0, 0);
	if (with_pid2)
		add_thread(r, 2, 2, "two", oncpu_ns, 0, 0);
	return r;
}

/* A total read lower than before (a torn map read) is written as the earlier value. */
static void test_counters_never_go_down(void **state)
{
	static const char oncpu1[] = "snag_process_oncpu_seconds_total{pid=\"1\",comm=\"init\"}";
	static const char oncpu2[] = "snag_process_oncpu_seconds_total{pid=\"2\",comm=\"two\"}";
	static const char calls[] = "snag_function_calls_total{binary=\"/bin/x\",function=\"f\"}";
	static const char le[] =
	    "snag_function_latency_seconds_bucket{binary=\"/bin/x\",function=\"f\",le=\"0.0025\"}";
	struct prom_writer *w = prom_writer__new();
	struct report *r;
	char *text;

	(void)state;
	assert_non_null(w);
	r = counts(5000000000, 10, true);
	text = format(w, r);
	assert_string_equal(value_of(text, oncpu1), "5.000000000");
	assert_string_equal(value_of(text, oncpu2), "5.000000000");
	assert_string_equal(value_of(text, calls), "10");
	free(text);
	report__free(r);
	/* Lower on-CPU time and fewer calls; pid 2 missing for a refresh. */
	r = counts(4000000000, 7, false);
	text = format(w, r);
	assert_string_equal(value_of(text, oncpu1), "5.000000000");
	assert_string_equal(value_of(text, calls), "10");
	assert_string_equal(value_of(text, le), "10");
	assert_lacks(text, oncpu2);
	free(text);
	report__free(r);
	/* pid 2 is back, lower than it was; pid 1 and the calls have moved on. */
	r = counts(6000000000, 12, false);
	add_thread(r, 2, 2, "two", 1, 0, 0);
	text = format(w, r);
	assert_string_equal(value_of(text, oncpu1), "6.000000000");
	assert_string_equal(value_of(text, oncpu2), "5.000000000");
	assert_string_equal(value_of(text, calls), "12");
	assert_string_equal(value_of(text, le), "12");
	free(text);
	report__free(r);
	prom_writer__free(w);
}

/* Every family of a full report, with awkward labels, passes `promtool check metrics`. */
static void test_promtool_accepts(void **state)
{
	char path[] = "/tmp/snag-prom-XXXXXX", cmd[256];
	struct report *r = counts(1, 3, true);
	struct report_block_io *b;
	struct report_net_io *n;
	struct report_syscall_io *s;
	struct test_run run;
	char *text;
	FILE *f;
	int fd;

	(void)state;
	r->io_enabled = true;
	assert_non_null(report__add_function(r, "/we\"ird\\\n\xff", "g", 2));
	b = report__add_block_io(r, 1, "a\"b", "nvme0n1", "write");
	b->count = 1;
	n = report__add_net_io(r, 1, "x", "udp", "ipv4", "dgram", NET_RECV);
	n->count = 1;
	s = report__add_syscall_io(r, 1, "x", "read", "pipe");
	s->count = 1;
	assert_int_equal(report__add_program(r, "handle_sys_enter", 1, 1), 0);
	assert_int_equal(report__add_drop(r, "syscall_io_table_full", 0), 0);
	text = format(NULL, r);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	/* promtool lints as well as parses: names, units, HELP, and valid UTF-8 labels. */
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s 2>&1", path);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	assert_int_equal(test_run(argv, 30, &run), 0);
	unlink(path);
	if (run.status != 0 || *run.out)
		fail_msg("promtool check metrics (status %d):\n%s\non:\n%s", run.status, run.out,
			 text);
	test_run__free(&run);
	free(text);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_function_histogram),
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_sched_per_process),
	    cmocka_unit_test(test_io_rows_merge),
	    cmocka_unit_test(test_overhead),
	    cmocka_unit_test(test_counters_never_go_down),
	    cmocka_unit_test(test_promtool_accepts),
	};

	return cmocka_run_group_tests_name("prometheus", tests, NULL, NULL);
}
