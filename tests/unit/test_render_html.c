/* Unit tests: the HTML renderer (escaping of traced names in markup and embedded JSON, no
 * external resources, sections, time breakdown, histograms, flame graph data). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>
#include "html_assets.h"
#include "model_fixture.h"
#include "report.h"

/* A name a traced process can choose (comm via prctl, symbols via its own ELF). */
#define HOSTILE "</script><img src=x onerror=alert(1)>\"quoted\" 'single' &amp; A&B"
/* HOSTILE as HTML text: the only form it may take in the markup. */
#define HOSTILE_HTML                                                                               \
	"&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;quoted&quot; &#39;single&#39; "    \
	"&amp;amp; A&amp;B"
/* A comm is at most 15 bytes: the kernel cuts longer ones. */
#define HOSTILE_COMM "</script><img>&"
#define DATA_OPEN    "<script type=\"application/json\" id=\"snag-data\">"
#define MS	     1000000ULL

static char *render_html(const struct report *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, FORMAT_HTML, NULL, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(strlen(buf), len); /* no NUL byte inside */
	return buf;
}

static void assert_contains(const char *text, const char *needle)
{
	if (!strstr(text, needle))
		fail_msg("expected \"%s\" in the page", needle);
}

static void assert_lacks(const char *text, const char *needle)
{
	const char *at = strstr(text, needle);

	if (at)
		fail_msg("unexpected \"%s\" in the page at: %.80s", needle,
			 at > text + 40 ? at - 40 : text);
}

static size_t count_of(const char *text, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The embedded JSON's text (a new string), between its <script> tags. */
static char *data_text(const char *page)
{
	const char *start = strstr(page, DATA_OPEN), *end;

	assert_non_null(start);
	start += strlen(DATA_OPEN);
	end = strstr(start, "</script>");
	assert_non_null(end);
	return strndup(start, end - start);
}

/* The embedded JSON, parsed (fails the test when it does not parse). */
static json_t *page_data(const char *page)
{
	char *text = data_text(page);
	json_error_t err;
	json_t *root = json_loads(text, 0, &err);

	char *again, *escaped, *q;

	if (!root)
		fail_msg("embedded JSON does not parse: %s at %d: %.60s", err.text, err.position,
			 text + (err.position > 20 ? err.position - 20 : 0));
	/*
	 * Written a stack at a time, it must still be what jansson writes of the
	 * whole tree, with '<', '>' and '&' escaped as the page does.
	 */
	again = json_dumps(root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH |
				     JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
	assert_non_null(again);
	escaped = calloc(strlen(again) * 6 + 1, 1);
	assert_non_null(escaped);
	q = escaped;
	for (const char *p = again; *p; p++)
		q += *p == '<'	 ? sprintf(q, "\\u003c")
		     : *p == '>' ? sprintf(q, "\\u003e")
		     : *p == '&' ? sprintf(q, "\\u0026")
				 : sprintf(q, "%c", *p);
	assert_string_equal(text, escaped);
	free(escaped);
	free(again);
	free(text);
	return root;
}

/* The flame graph with the given id in the page data (fails if missing). */
static json_t *flamegraph(json_t *data, const char *id)
{
	json_t *graphs = json_object_get(data, "flamegraphs"), *g;
	size_t i;

	json_array_foreach(graphs, i, g)
	{
		if (!strcmp(json_string_value(json_object_get(g, "id")), id))
			return g;
	}
	fail_msg("no flame graph '%s' in the page data", id);
	return NULL;
}

/* Whether a stack of the graph has a frame [name, type]. */
static bool graph_has_frame(json_t *graph, const char *name, const char *type)
{
	json_t *stacks = json_object_get(graph, "stacks"), *s, *f;
	size_t i, j;

	json_array_foreach(stacks, i, s)
	{
		json_array_foreach(json_object_get(s, "frames"), j, f)
		{
			if (!strcmp(json_string_value(json_array_get(f, 0)), name) &&
			    !strcmp(json_string_value(json_array_get(f, 1)), type))
				return true;
		}
	}
	return false;
}

/* The model with hostile names in every place that shows a traced name. */
static struct report *hostile_model(void)
{
	static const char *const kernel[] = {"schedule", HOSTILE, NULL};
	static const char *const user[] = {HOSTILE,
					   "bad\xff"
					   "utf8",
					   "line\xe2\x80\xa8sep", "main", NULL};
	struct report *r = fixture_model();
	struct report_syscall_io *s;
	struct report_block_io *b;

	assert_non_null(r);
	free(r->functions[2].name);
	r->functions[2].name = strdup(HOSTILE);
	free(r->functions[2].binary);
	r->functions[2].binary = strdup("/opt/" HOSTILE "/app");
	free(r->hostname);
	r->hostname = strdup(HOSTILE);
	r->target.mode = TARGET_COMMAND;
	r->target.command = strdup("./app '" HOSTILE "'");
	free(r->target.specs[0]);
	r->target.specs[0] = strdup("app:" HOSTILE);
	fixture_sched(r, 1234, 1234, HOSTILE_COMM, 1000 * MS, 100 * MS, 800 * MS, 100 * MS, 5, 1);
	assert_int_equal(fixture_offcpu(r, 1234, 1234, HOSTILE_COMM, OFFCPU_BLOCKED, 8, 800 * MS,
					200 * MS, kernel, user),
			 0);
	r->io_enabled = true;
	b = report__add_block_io(r, 1234, HOSTILE_COMM, HOSTILE, "read");
	assert_non_null(b);
	fixture_block_add(b, 10, 4096, 100000);
	s = report__add_syscall_io(r, 1234, HOSTILE_COMM, "read", "file");
	assert_non_null(s);
	fixture_syscall_add(s, 10, 100, 2000);
	report__add_drop(r, HOSTILE, 3);
	report__finish(r);
	return r;
}

/* Traced names appear only escaped: in text, attributes and the embedded JSON. */
static void test_hostile_names_escaped(void **state)
{
	struct report *r = hostile_model();
	char *page = render_html(r), *json, *markup;
	json_t *data, *g;

	(void)state;
	/* Only the page's own two script elements, and no markup from the names. */
	assert_int_equal(count_of(page, "<script"), 2);
	assert_int_equal(count_of(page, "</script>"), 2);
	assert_lacks(page, "<img");
	assert_lacks(page, "</script><");
	/* Quotes and ampersands are entities in the markup (the JSON has its own rules). */
	markup = strndup(page, strstr(page, DATA_OPEN) - page);
	assert_lacks(markup, "\"quoted\"");
	assert_lacks(markup, "'single'");
	assert_lacks(markup, "A&B");
	free(markup);
	/* Escaped in text (title, summary, function card, findings) and in attributes. */
	assert_contains(page, "<title>snag report: command &#39;./app &#39;" HOSTILE_HTML);
	assert_contains(page, "<dt>Host</dt><dd>" HOSTILE_HTML "</dd>");
	assert_contains(page, "<div class=\"htitle\" title=\"" HOSTILE_HTML "\">" HOSTILE_HTML);
	assert_contains(page, "<span class=\"name\" title=\"&lt;/script&gt;&lt;img&gt;&amp;\">");
	assert_contains(page, "3 " HOSTILE_HTML);	    /* a drop cause */
	assert_contains(page, "-u 'app:" HOSTILE_HTML "'"); /* a probe spec */
	assert_contains(page, HOSTILE_HTML " in /opt/" HOSTILE_HTML "/app takes"); /* a finding */
	/* Invalid UTF-8 becomes '?'; valid characters pass. */
	assert_lacks(page, "\xff");
	/* The JSON cannot end its element, open a comment or break a JS string literal. */
	json = data_text(page);
	assert_lacks(json, "<");
	assert_lacks(json, ">");
	assert_lacks(json, "&");
	assert_lacks(json, "\xe2\x80\xa8");
	assert_contains(json, "\\u003c\\/script\\u003e\\u003cimg src=x");
	assert_contains(json, "\\u2028");
	free(json);
	/* And it still says exactly what the model says. */
	data = page_data(page);
	g = flamegraph(data, "offcpu");
	assert_true(graph_has_frame(g, HOSTILE, "user"));
	assert_true(graph_has_frame(g, HOSTILE, "kernel"));
	assert_true(graph_has_frame(g, HOSTILE_COMM " (pid 1234)", "task"));
	assert_true(graph_has_frame(g, "bad?utf8", "user"));
	assert_true(graph_has_frame(g, "line\xe2\x80\xa8sep", "user"));
	json_decref(data);
	free(page);
	report__free(r);
}

/* No external resource of any kind: the page must render offline, and fetch nothing. */
static void test_no_external_resources(void **state)
{
	struct report *r = hostile_model();
	char *page = render_html(r);
	const char *p;

	(void)state;
	assert_lacks(page, "http://");
	assert_lacks(page, "https://");
	assert_lacks(page, "<link");
	assert_lacks(page, "<iframe");
	assert_lacks(page, "<object");
	assert_lacks(page, "@import");
	assert_lacks(page, "url(");
	assert_lacks(page, "<script src");
	/* "src=" appears only inside the escaped hostile name, in text or in the JSON. */
	for (p = strstr(page, "src="); p; p = strstr(p + 1, "src=")) {
		if (!(p - page >= 8 && !strncmp(p - 8, "&lt;img ", 8)) &&
		    !(p - page >= 10 && !strncmp(p - 10, "\\u003cimg ", 10)))
			fail_msg("src= outside an escaped name: %.60s", p - 20);
	}
	/* A content security policy forbids loading anything even if a name slipped through. */
	assert_contains(page, "<meta http-equiv=\"Content-Security-Policy\" "
			      "content=\"default-src 'none';");
	free(page);
	report__free(r);
}

/* The inlined assets cannot end their own elements early, and load nothing. */
static void test_assets(void **state)
{
	(void)state;
	assert_true(strlen(snag_html_report_css) > 1000);
	assert_true(strlen(snag_html_flamegraph_js) > 1000);
	assert_null(strstr(snag_html_report_css, "</style"));
	assert_null(strstr(snag_html_flamegraph_js, "</script"));
	assert_null(strstr(snag_html_flamegraph_js, "innerHTML"));
	assert_null(strstr(snag_html_flamegraph_js, "http"));
	assert_null(strstr(snag_html_report_css, "http"));
	assert_null(strstr(snag_html_report_css, "url("));
}

/* Every section, from the scheduler, function and I/O models together. */
static void test_sections(void **state)
{
	struct report *r = fixture_sched_model(), *f = fixture_model();
	char *page;

	(void)state;
	assert_non_null(r);
	/* The function model's functions, moved into the scheduler model. */
	r->functions = f->functions;
	r->n_functions = f->n_functions;
	r->traced_thread_ns = f->traced_thread_ns;
	r->traced_threads = f->traced_threads;
	f->functions = NULL;
	f->n_functions = 0;
	{
		/* The function model's overhead; f takes the scheduler model's to free. */
		struct report_overhead oh = r->overhead;

		r->overhead = f->overhead;
		f->overhead = oh;
	}
	report__free(f);
	report__finish(r);
	assert_int_equal(fixture_io(r), 0);
	page = render_html(r);
	assert_true(!strncmp(page, "<!DOCTYPE html>\n<html lang=\"en\">", 32));
	assert_contains(page, "</body>\n</html>\n");
	assert_contains(page, "<section class=\"card\" id=\"summary\">");
	assert_contains(page, "<section class=\"card\" id=\"bottlenecks\">");
	assert_contains(page, "<section class=\"card\" id=\"time\">");
	assert_contains(page, "<section class=\"card\" id=\"flame-offcpu-section\">");
	assert_contains(page, "<div class=\"flame\" id=\"flame-offcpu\" data-graph=\"offcpu\">");
	assert_contains(page, "<section class=\"card\" id=\"latency\">");
	assert_contains(page, "<dt>Duration</dt><dd>1.00s</dd>");
	assert_contains(page, "<dt>Started</dt><dd>2026-11-21 23:41:07 UTC</dd>");
	assert_contains(page, "<dt>Threads</dt><dd>4 in 2 processes (4.00s of thread time)</dd>");
	assert_contains(page, "<dt>snag cost</dt><dd>95 ns/event over 1,234 events (BPF run "
			      "time)</dd>");
	assert_contains(page, "<div class=\"stat warn\"><dt>Dropped</dt><dd>12: 12 "
			      "unmatched_return</dd>");
	/* Findings: ranked, with severity, evidence and recommendations. */
	{
		char first[160];

		/* The top finding, on the one impact scale (lock contention in app, 16%). */
		snprintf(first, sizeof(first),
			 "<tr><td class=\"rank\">1</td><td><span class=\"badge %s\">%s</span></td>"
			 "<td class=\"impact\">%.1f%%",
			 severity__name(r->bottlenecks[0].severity),
			 severity__name(r->bottlenecks[0].severity),
			 r->bottlenecks[0].impact * 100);
		assert_string_equal(r->bottlenecks[0].kind, "lock_contention");
		assert_contains(page, first);
	}
	assert_contains(page, "<li><span>waits</span> ");
	assert_contains(page, "<ul class=\"recs\"><li>");
	/* Latency cards: functions with calls, block and syscall rows. */
	assert_contains(page, "<div class=\"htitle\" title=\"slow_io\">slow_io</div>");
	assert_contains(page, "50 calls &middot; <span class=\"p50\">p50 ");
	assert_lacks(page, "title=\"never_called\""); /* no calls: no histogram */
	assert_contains(page, "<div class=\"htitle\" title=\"vda read\">vda read</div>");
	assert_contains(page, "<div class=\"htitle\" title=\"253:0 flush\">"); /* no device name */
	assert_contains(page, "<div class=\"htitle\" title=\"read on pipe\">");
	assert_contains(page, "<div class=\"hsub\">app (pid 1234)</div>");
	free(page);
	report__free(r);
}

/*
 * The time breakdown: one stacked bar per process, each category's share of
 * its summed thread time. busy (pid 2000): 600 ms on-CPU, 400 ms in the run
 * queue of 1 s; app (pid 1234, 3 threads, 3 s): 1,400 ms on-CPU, 120 ms run
 * queue, 1,480 ms blocked (unclassified in the fixture: "other blocked").
 */
static void test_time_breakdown(void **state)
{
	struct report *r = fixture_sched_model();
	char *page, *busy, *app, *end;

	(void)state;
	report__finish(r);
	page = render_html(r);
	app = strstr(page, "<span class=\"name\" title=\"app\">app</span>");
	busy = strstr(page, "<span class=\"name\" title=\"busy\">busy</span>");
	assert_non_null(app);
	assert_non_null(busy);
	assert_true(app < busy); /* more thread time first */
	assert_contains(app, "pid 1234 &middot; 3 threads &middot; 3.00s");
	assert_contains(app, "width:46.667%;background:#3a8f5c\" title=\"on-CPU: 1.40s (46.7%)\">"
			     "46.7%</span>");
	/* 4% is too narrow for its label, which stays in the tooltip. */
	assert_contains(app, "width:4.000%;background:#e0a030\" title=\"run queue: 120ms "
			     "(4.0%)\"></span>");
	/* The fixture's blocked time is unclassified: all "other blocked". */
	assert_contains(app, "width:49.333%;background:#5b7fc7\" title=\"other blocked: 1.48s "
			     "(49.3%)\">49.3%</span>");
	assert_contains(busy, "width:60.000%;background:#3a8f5c\"");
	assert_contains(busy, "width:40.000%;background:#e0a030\"");
	/* busy never blocked: no empty segment in its bar. */
	end = strstr(busy, "</div></div>");
	assert_non_null(end);
	assert_true(!strstr(busy, "#5b7fc7") || strstr(busy, "#5b7fc7") > end);
	free(page);
	report__free(r);
}

/* The flame graph data: one stack per off-CPU entry, frames outermost first, values in ns. */
static void test_flamegraph_data(void **state)
{
	struct report *r = fixture_sched_model();
	json_t *data, *g, *stacks, *futex = NULL, *s, *frames;
	char *page;
	size_t i;

	(void)state;
	report__finish(r);
	page = render_html(r);
	data = page_data(page);
	g = flamegraph(data, "offcpu");
	assert_string_equal(json_string_value(json_object_get(g, "palette")), "offcpu");
	assert_int_equal(json_integer_value(json_object_get(g, "total")), 1580 * MS);
	stacks = json_object_get(g, "stacks");
	assert_int_equal(json_array_size(stacks), 4);
	json_array_foreach(stacks, i, s)
	{
		if (json_integer_value(json_object_get(s, "value")) == 640 * MS)
			futex = s;
	}
	assert_non_null(futex);
	frames = json_object_get(futex, "frames");
	/* reason, task, 6 user frames (outermost first), 7 kernel frames (outermost first). */
	assert_int_equal(json_array_size(frames), 2 + 6 + 7);
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 0), 0)),
			    "blocked");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 1), 0)),
			    "worker (pid 1234)");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 2), 0)),
			    "start_thread");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 2), 1)),
			    "user");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 7), 0)),
			    "__lll_lock_wait");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 8), 0)),
			    "do_syscall_64");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 8), 1)),
			    "kernel");
	assert_string_equal(json_string_value(json_array_get(json_array_get(frames, 14), 0)),
			    "__schedule");
	assert_true(graph_has_frame(g, "preempted", "reason"));
	json_decref(data);
	free(page);
	report__free(r);
}

/* Nothing traced: a valid page without the collectors' sections; no stacks: said so. */
static void test_empty_reports(void **state)
{
	struct report *r = report__new();
	char *page;
	json_t *data;

	(void)state;
	report__finish(r);
	page = render_html(r);
	assert_contains(page, "<h2>Bottlenecks</h2>\n<p class=\"note\">None:");
	assert_lacks(page, "id=\"time\"");
	assert_lacks(page, "flame-offcpu");
	assert_lacks(page, "id=\"latency\"");
	data = page_data(page);
	assert_int_equal(json_array_size(json_object_get(data, "flamegraphs")), 0);
	json_decref(data);
	free(page);
	r->sched_enabled = true;
	page = render_html(r);
	assert_contains(page, "No thread of the target was seen on a CPU.");
	assert_contains(page, "<p class=\"note empty\">No off-CPU stacks were recorded.</p>");
	assert_lacks(page, "data-graph=");
	free(page);
	report__free(r);
}

/*
 * A histogram is an SVG of bars whose counts (in their tooltips) add up to
 * the row's count; a single busy bucket is shown among empty neighbours.
 */
static void test_histogram_bars(void **state)
{
	struct report *r = report__new();
	struct report_syscall_io *s;
	char *page, *svg, *end;
	uint64_t sum = 0;
	size_t bars = 0;

	(void)state;
	r->io_enabled = true;
	s = report__add_syscall_io(r, 7, "one", "write", "file");
	fixture_syscall_add(s, 5, 10, 3000);
	s = report__add_syscall_io(r, 7, "one", "read", "file");
	fixture_syscall_add(s, 700, 10, 1000);
	fixture_syscall_add(s, 300, 10, 1000000);
	report__finish(r);
	page = render_html(r);
	svg = strstr(page, "<div class=\"htitle\" title=\"read on file\">");
	assert_non_null(svg);
	svg = strstr(svg, "<svg class=\"hist\"");
	assert_non_null(svg);
	end = strstr(svg, "</svg>");
	for (char *p = strstr(svg, "<rect class=\"bar\""); p && p < end;
	     p = strstr(p + 1, "<rect class=\"bar\"")) {
		unsigned long long n;
		char *colon = strstr(strstr(p, "<title>"), ": ");

		assert_int_equal(sscanf(colon, ": %llu", &n), 1);
		sum += n;
		bars++;
	}
	assert_int_equal(sum, 1000);
	assert_int_equal(bars, 2);
	assert_contains(svg, "<line class=\"mark p99\"");
	/* One bucket of 5 calls: one bar, narrower than the chart. */
	svg = strstr(strstr(page, "title=\"write on file\""), "<svg class=\"hist\"");
	end = strstr(svg, "</svg>");
	assert_int_equal(
	    count_of(svg, "<rect class=\"bar\"") - count_of(end, "<rect class=\"bar\""), 1);
	assert_contains(svg, "5 calls (100.0%)</title>");
	free(page);
	report__free(r);
}

/* The on-CPU flame graph (--cpu): each stack valued in sampled time, task frame first. */
static void test_oncpu_flamegraph_data(void **state)
{
	static const char *const kernel[] = {"copy_user"};
	static const char *const user[] = {"write_all", "main"};
	static const char *const spin[] = {"spin"};
	struct report *r = report__new();
	struct report_cpu *c;
	json_t *data, *g, *stacks;
	char *page;

	(void)state;
	assert_non_null(r);
	r->duration_ns = 1000000000;
	r->cpu_enabled = true;
	r->cpu_frequency_hz = 49;
	r->cpu_period_ns = 20408163;
	c = report__add_cpu(r, 7, 8, "app");
	c->samples = 30;
	assert_int_equal(report_stack__set(&c->kernel_stack, kernel, 1, false), 0);
	assert_int_equal(report_stack__set(&c->user_stack, user, 2, false), 0);
	c = report__add_cpu(r, 7, 9, "app");
	c->samples = 10;
	c->user_incomplete = true;
	assert_int_equal(report_stack__set(&c->user_stack, spin, 1, true), 0);
	c = report__add_cpu(r, 7, 10, "app"); /* no samples: no stack */
	report__finish(r);
	page = render_html(r);
	assert_contains(page, "<div class=\"flame\" id=\"flame-oncpu\" data-graph=\"oncpu\">");
	data = page_data(page);
	g = flamegraph(data, "oncpu");
	assert_int_equal(json_integer_value(json_object_get(g, "total")), 40 * 20408163LL);
	stacks = json_object_get(g, "stacks");
	assert_int_equal(json_array_size(stacks), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(stacks, 0), "value")),
			 30 * 20408163LL);
	assert_true(graph_has_frame(g, "app (pid 7)", "task"));
	assert_true(graph_has_frame(g, "write_all", "user"));
	assert_true(graph_has_frame(g, "copy_user", "kernel"));
	assert_true(graph_has_frame(g, "[callers unknown: no frame pointers]", "missing"));
	json_decref(data);
	free(page);
	report__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hostile_names_escaped),
	    cmocka_unit_test(test_no_external_resources),
	    cmocka_unit_test(test_assets),
	    cmocka_unit_test(test_sections),
	    cmocka_unit_test(test_time_breakdown),
	    cmocka_unit_test(test_flamegraph_data),
	    cmocka_unit_test(test_oncpu_flamegraph_data),
	    cmocka_unit_test(test_empty_reports),
	    cmocka_unit_test(test_histogram_bars),
	};

	return cmocka_run_group_tests_name("render_html", tests, NULL, NULL);
}
