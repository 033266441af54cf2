/* HTML renderer: one self-contained page (inline CSS, SVG and script; nothing fetched) with the
 * summary, ranked bottlenecks, where each process's time went, flame graphs and latency
 * histograms. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>
#include "analysis.h"
#include "html_assets.h"
#include "render.h"

#define PERCENT		100.0
#define TOP_PROCESSES	30   /* bars in the time breakdown */
#define TOP_HISTOGRAMS	24   /* cards per latency section */
#define SEG_LABEL_SHARE 0.08 /* a bar segment at least this wide has its share written in it */
#define UNKNOWN_FRAME	"[unknown]"

/* Latency histogram geometry (SVG user units; CSS scales the whole chart). */
#define HIST_MAX_BARS 40
#define HIST_MIN_SPAN 16 /* buckets shown at least, so one busy bucket is not a wall of colour */
#define HIST_W	      320
#define HIST_H	      96
#define HIST_PAD      6 /* left and right */
#define HIST_TOP      6
#define HIST_BASE     76 /* the x axis */
#define HIST_LABEL_Y  92

/* ---- Escaping ---- */

/*
 * Length of the valid UTF-8 sequence at p (1 to 4), or 0 when the bytes
 * there are not one (overlong forms, surrogates and code points above
 * U+10FFFF are invalid). Never reads past a NUL.
 */
static size_t utf8_seq_len(const unsigned char *p)
{
	unsigned char c = p[0], lo, hi;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
		return p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80
			   ? 4
			   : 0;
	}
	return 0;
}

/* Whether byte c at the start of a sequence must not be shown: control characters. */
static bool is_control(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * Write s (NULL as "-") as HTML text, safe both between tags and inside a
 * double- or single-quoted attribute: & < > " ' become entities, and bytes
 * that are not valid UTF-8 or are control characters become '?'.
 */
static void html_text(FILE *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "-");

	while (*p) {
		size_t n = utf8_seq_len(p);

		if (!n || is_control(*p)) {
			fputc('?', out);
			p++;
			continue;
		}
		switch (*p) {
		case '&':
			fputs("&amp;", out);
			break;
		case '<':
			fputs("&lt;", out);
			break;
		case '>':
			fputs("&gt;", out);
			break;
		case '"':
			fputs("&quot;", out);
			break;
		case '\'':
			fputs("&#39;", out);
			break;
		default:
			fwrite(p, 1, n, out);
		}
		p += n;
	}
}

/*
 * A JSON string of s with html_text()'s replacements ('?' for invalid UTF-8
 * and control bytes), so a name reads the same in the markup and in the
 * flame graph. NULL becomes fallback. Returns a new reference or NULL.
 */
static json_t *json_clean(const char *s, const char *fallback)
{
	const unsigned char *p;
	json_t *v;
	char *copy, *c;

	if (!s || !*s)
		s = fallback;
	copy = malloc(strlen(s) + 1);
	if (!copy)
		return NULL;
	for (p = (const unsigned char *)s, c = copy; *p;) {
		size_t n = utf8_seq_len(p);

		if (!n || is_control(*p)) {
			*c++ = '?';
			p++;
			continue;
		}
		memcpy(c, p, n);
		c += n;
		p += n;
	}
	*c = '\0';
	v = json_string(copy);
	free(copy);
	return v;
}

/*
 * Write root as JSON that is safe inside a <script> element: besides
 * jansson's escaping ('/' as "\/", everything non-ASCII as \uXXXX, which
 * covers U+2028 and U+2029), '<', '>' and '&' are written as \u003c, \u003e
 * and \u0026, so no string can close the element ("</script>") or open a
 * comment ("<!--"). Those characters only occur inside JSON strings, where
 * the escapes mean the same thing. Returns 0 or -ENOMEM.
 */
static void script_text(FILE *out, const char *s)
{
	for (const char *p = s; *p; p++) {
		if (*p == '<')
			fputs("\\u003c", out);
		else if (*p == '>')
			fputs("\\u003e", out);
		else if (*p == '&')
			fputs("\\u0026", out);
		else
			fputc(*p, out);
	}
}

#define SCRIPT_JSON_FLAGS                                                                          \
	(JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | JSON_PRESERVE_ORDER |              \
	 JSON_REAL_PRECISION(10))

/* v (stolen) written as script_text() of its compact JSON. Returns 0 or -ENOMEM. */
static int script_json(FILE *out, json_t *v)
{
	char *s = v ? json_dumps(v, SCRIPT_JSON_FLAGS) : NULL;

	json_decref(v);
	if (!s)
		return -ENOMEM;
	script_text(out, s);
	free(s);
	return 0;
}

/* ---- Small formatting helpers ---- */

/* The last path component of path (path itself when it has none). */
static const char *base_name(const char *path)
{
	const char *slash;

	if (!path || !*path)
		return NULL;
	slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

/* A duration written as HTML (always ASCII). */
static void put_duration(FILE *out, uint64_t ns)
{
	char buf[ANALYSIS_DURATION_LEN];

	fputs(analysis__format_duration(ns, buf, sizeof(buf)), out);
}

static void put_count(FILE *out, uint64_t n)
{
	char buf[ANALYSIS_COUNT_LEN];

	fputs(analysis__format_count(n, buf, sizeof(buf)), out);
}

/* " calls", or " call" when count is 1: nouns here are regular plurals ("requests"). */
static void put_noun(FILE *out, const char *plural, uint64_t count)
{
	fprintf(out, " %.*s", (int)strlen(plural) - (count == 1), plural);
}

/* "2026-11-21 23:41:07 UTC" ("-" when unknown). */
static void put_start_time(FILE *out, int64_t ns)
{
	int64_t sec = ns / 1000000000 - (ns % 1000000000 < 0);
	time_t t = (time_t)sec;
	char buf[40];
	struct tm tm;

	if (!ns || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm))
		fputs("-", out);
	else
		fputs(buf, out);
}

/* ---- Page parts ---- */

static void put_head(const struct report *r, const char *target, FILE *out)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      /* Belt and braces for "nothing is fetched": the page's own inline style and
		 script are all it may use. */
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
	      "<meta name=\"generator\" content=\"snag ",
	      out);
	html_text(out, r->snag_version);
	fputs("\">\n<title>snag report: ", out);
	html_text(out, target);
	fputs("</title>\n<style>\n", out);
	fputs(snag_html_report_css, out);
	fputs("</style>\n</head>\n<body>\n", out);
}

/* One "label: value" box of the summary; value is written by the caller after this. */
static void stat_open(FILE *out, const char *label, const char *cls)
{
	fprintf(out, "<div class=\"stat%s%s\"><dt>%s</dt><dd>", cls ? " " : "", cls ? cls : "",
		label);
}

static void stat_close(FILE *out)
{
	fputs("</dd></div>\n", out);
}

/* Runs, run time and drops summed over the report's overhead. */
struct overhead_sums {
	uint64_t runs, run_ns, drops;
};

static struct overhead_sums overhead_sums(const struct report_overhead *oh)
{
	struct overhead_sums s = {0};
	size_t i;

	for (i = 0; oh->programs && i < oh->n_programs; i++) {
		s.runs += oh->programs[i].runs;
		s.run_ns += oh->programs[i].run_time_ns;
	}
	for (i = 0; oh->drops && i < oh->n_drops; i++)
		s.drops += oh->drops[i].count;
	return s;
}

/* "snag cost: 96 ns/event over 2,508 events (BPF run time)", as the text report says it. */
static void put_cost(const struct overhead_sums *s, FILE *out)
{
	if (!s->runs) {
		fputs("no BPF program runs recorded", out);
		return;
	}
	fprintf(out, "%" PRIu64 " ns/event over ", (s->run_ns + s->runs / 2) / s->runs);
	put_count(out, s->runs);
	fputs(" events (BPF run time)", out);
}

/* "0", or "12: 12 unmatched_return" with every non-zero cause. */
static void put_drops(const struct report_overhead *oh, uint64_t total, FILE *out)
{
	size_t i, listed = 0;

	put_count(out, total);
	for (i = 0; total && oh->drops && i < oh->n_drops; i++) {
		if (!oh->drops[i].count)
			continue;
		fputs(listed++ ? ", " : ": ", out);
		put_count(out, oh->drops[i].count);
		fputc(' ', out);
		html_text(out, oh->drops[i].cause);
	}
}

static void put_summary(const struct report *r, const char *target, size_t n_procs, FILE *out)
{
	struct overhead_sums s = overhead_sums(&r->overhead);
	size_t i;

	fputs("<header class=\"top\">\n<div class=\"brand\">snag report</div>\n<h1>", out);
	html_text(out, target);
	fputs("</h1>\n</header>\n<main>\n<section class=\"card\" id=\"summary\">\n"
	      "<h2>Summary</h2>\n<dl class=\"stats\">\n",
	      out);
	stat_open(out, "Target", "wide");
	html_text(out, target);
	stat_close(out);
	if (r->target.specs && r->target.n_specs) {
		stat_open(out, "Probes", "wide mono");
		for (i = 0; i < r->target.n_specs; i++) {
			fputs(i ? " " : "", out);
			fputs("-u '", out);
			html_text(out, r->target.specs[i]);
			fputc('\'', out);
		}
		stat_close(out);
	}
	stat_open(out, "Duration", NULL);
	put_duration(out, r->duration_ns);
	stat_close(out);
	stat_open(out, "Started", NULL);
	put_start_time(out, r->start_time_ns);
	stat_close(out);
	stat_open(out, "Host", NULL);
	html_text(out, r->hostname);
	stat_close(out);
	stat_open(out, "Kernel", NULL);
	html_text(out, r->kernel);
	stat_close(out);
	if (analysis__functions_wanted(r)) {
		stat_open(out, "Functions", NULL);
		fprintf(out, "%zu in %" PRIu64 " thread%s (", r->n_functions, r->traced_threads,
			r->traced_threads == 1 ? "" : "s");
		put_duration(out, r->traced_thread_ns);
		fputs(" of thread time)", out);
		stat_close(out);
	}
	if (r->sched_enabled) {
		stat_open(out, "Threads", NULL);
		fprintf(out, "%zu in %zu process%s (", r->n_sched, n_procs,
			n_procs == 1 ? "" : "es");
		put_duration(out, r->sched_thread_ns);
		fputs(" of thread time)", out);
		stat_close(out);
	}
	stat_open(out, "snag cost", NULL);
	put_cost(&s, out);
	stat_close(out);
	stat_open(out, "Dropped", s.drops ? "warn" : NULL);
	put_drops(&r->overhead, s.drops, out);
	stat_close(out);
	fputs("</dl>\n</section>\n", out);
}

static void put_bottleneck(const struct report_bottleneck *b, size_t rank, FILE *out)
{
	const char *sev = severity__name(b->severity);
	double impact = b->impact < 0 ? 0 : b->impact > 1 ? 1 : b->impact;
	size_t i;

	fprintf(out,
		"<tr><td class=\"rank\">%zu</td><td><span class=\"badge %s\">%s</span></td>"
		"<td class=\"impact\">%.1f%%<div class=\"meter\"><span class=\"%s\" "
		"style=\"width:%.1f%%\"></span></div></td>\n<td>",
		rank, sev, sev, b->impact * PERCENT, sev, impact * PERCENT);
	fputs("<div class=\"desc\">", out);
	html_text(out, b->description);
	fputs("</div>\n<div class=\"kind\">", out);
	html_text(out, b->kind);
	if (b->target) {
		fputs(" &middot; ", out);
		html_text(out, b->target);
	}
	fputs("</div>\n", out);
	if (b->evidence && b->n_evidence) {
		fputs("<ul class=\"evidence\">", out);
		for (i = 0; i < b->n_evidence; i++) {
			char label[ANALYSIS_EVIDENCE_LABEL_LEN], value[ANALYSIS_EVIDENCE_VALUE_LEN];

			analysis__format_evidence(&b->evidence[i], label, sizeof(label), value,
						  sizeof(value));
			fputs("<li><span>", out);
			html_text(out, label);
			fputs("</span> ", out);
			html_text(out, value);
			fputs("</li>", out);
		}
		fputs("</ul>\n", out);
	}
	if (b->recommendations && b->n_recommendations) {
		fputs("<ul class=\"recs\">", out);
		for (i = 0; i < b->n_recommendations; i++) {
			fputs("<li>", out);
			html_text(out, b->recommendations[i]);
			fputs("</li>", out);
		}
		fputs("</ul>\n", out);
	}
	fputs("</td></tr>\n", out);
}

static void put_bottlenecks(const struct report *r, FILE *out)
{
	size_t i;

	fputs("<section class=\"card\" id=\"bottlenecks\">\n<h2>Bottlenecks</h2>\n", out);
	if (!r->bottlenecks || !r->n_bottlenecks) {
		fprintf(
		    out,
		    "<p class=\"note\">None: nothing took more than %.0f%% of thread time%s.</p>\n"
		    "</section>\n",
		    ANALYSIS_BOTTLENECK_MIN_IMPACT * PERCENT,
		    r->io_enabled ? " and no I/O rule was met" : "");
		return;
	}
	fputs("<p class=\"note\">Ranked by impact: the share of the traced threads' time a finding "
	      "accounts for (<a href=\"#impact-note\">how</a>).</p>\n"
	      "<table class=\"findings\">\n<thead><tr><th>#</th><th>Severity</th><th>Impact</th>"
	      "<th>Finding, evidence and what to do</th></tr></thead>\n<tbody>\n",
	      out);
	for (i = 0; i < r->n_bottlenecks; i++)
		put_bottleneck(&r->bottlenecks[i], i + 1, out);
	fputs("</tbody>\n</table>\n</section>\n", out);
}

/*
 * The categories of a process's time in the breakdown chart, in bar order.
 * Each is one entry: a finer split of blocked time (block I/O, network,
 * locks, sleep) is more entries, with the blocked entry replaced by what it
 * leaves over.
 */
struct time_category {
	const char *label;
	const char *color;
	uint64_t (*ns)(const struct analysis_process *p);
};

static uint64_t oncpu_ns(const struct analysis_process *p)
{
	return p->oncpu_ns;
}

static uint64_t runq_ns(const struct analysis_process *p)
{
	return p->runq_total_ns;
}

static uint64_t disk_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_BLOCK_IO];
}

static uint64_t net_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_NET];
}

static uint64_t lock_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_LOCK];
}

static uint64_t sleep_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_SLEEP];
}

static uint64_t events_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_EVENTS];
}

static uint64_t other_blocked_ns(const struct analysis_process *p)
{
	return p->blocked_by[WAIT_OTHER];
}

/* Blocked time split by what it waited for (docs/offcpu.md); the parts sum to wall time. */
static const struct time_category time_categories[] = {
    {"on-CPU", "#3a8f5c", oncpu_ns},
    {"run queue", "#e0a030", runq_ns},
    {"disk I/O", "#b5533c", disk_ns},
    {"network", "#2f8fb3", net_ns},
    {"locks", "#c7433f", lock_ns},
    {"sleep", "#8a8fa3", sleep_ns},
    {"events (poll/epoll)", "#6fa8dc", events_ns},
    {"other blocked", "#5b7fc7", other_blocked_ns},
};

#define N_TIME_CATEGORIES (sizeof(time_categories) / sizeof(time_categories[0]))

/* Processes: summed thread wall time descending, then pid (as the text report orders them). */
static int cmp_process_wall(const void *a, const void *b)
{
	const struct analysis_process *pa = a, *pb = b;

	if (pa->wall_ns != pb->wall_ns)
		return pa->wall_ns > pb->wall_ns ? -1 : 1;
	return pa->pid < pb->pid ? -1 : pa->pid > pb->pid;
}

/* One process's stacked bar: each category's share of its summed thread time. */
static void put_process_bar(const struct analysis_process *p, FILE *out)
{
	uint64_t whole = p->wall_ns, sum = 0;
	size_t c;

	/* Rounding in the collector can make the parts exceed the whole: then they set the scale.
	 */
	for (c = 0; c < N_TIME_CATEGORIES; c++)
		sum += time_categories[c].ns(p);
	if (sum > whole)
		whole = sum;
	fputs("<div class=\"tb-row\"><div class=\"tb-label\"><span class=\"name\" title=\"", out);
	html_text(out, p->comm);
	fputs("\">", out);
	html_text(out, p->comm);
	fprintf(out, "</span><span class=\"sub\">pid %d &middot; %zu thread%s &middot; ", p->pid,
		p->threads, p->threads == 1 ? "" : "s");
	put_duration(out, p->wall_ns);
	fputs("</span></div><div class=\"tb-bar\">", out);
	for (c = 0; whole && c < N_TIME_CATEGORIES; c++) {
		const struct time_category *cat = &time_categories[c];
		uint64_t ns = cat->ns(p);
		double share = (double)ns / (double)whole;

		if (!ns)
			continue;
		fprintf(out,
			"<span class=\"seg\" style=\"width:%.3f%%;background:%s\" title=\"%s: ",
			share * PERCENT, cat->color, cat->label);
		put_duration(out, ns);
		fprintf(out, " (%.1f%%)\">", share * PERCENT);
		if (share >= SEG_LABEL_SHARE)
			fprintf(out, "%.1f%%", share * PERCENT);
		fputs("</span>", out);
	}
	fputs("</div></div>\n", out);
}

static int put_time_breakdown(const struct analysis_process *procs, size_t n, FILE *out)
{
	size_t *order, i, c, shown = n < TOP_PROCESSES ? n : TOP_PROCESSES;

	fputs("<section class=\"card\" id=\"time\">\n<h2>Where time went</h2>\n"
	      "<p class=\"note\">Each bar is one process's summed thread time within the trace "
	      "(its length is written on the left), split by what its threads were doing.</p>\n",
	      out);
	if (!n) {
		fputs("<p class=\"note\">No thread of the target was seen on a "
		      "CPU.</p>\n</section>\n",
		      out);
		return 0;
	}
	order = analysis__order(procs, n, sizeof(*procs), cmp_process_wall);
	if (!order)
		return -ENOMEM;
	fputs("<div class=\"legend\">", out);
	for (c = 0; c < N_TIME_CATEGORIES; c++)
		fprintf(out, "<span><i style=\"background:%s\"></i>%s</span>",
			time_categories[c].color, time_categories[c].label);
	fputs("<span><i class=\"rest\"></i>not accounted</span></div>\n<div class=\"tb\">\n", out);
	for (i = 0; i < shown; i++)
		put_process_bar(&procs[order[i]], out);
	fputs("</div>\n", out);
	if (n > shown)
		fprintf(out,
			"<p class=\"note\">&hellip; %zu more processes (--format json lists them "
			"all)</p>\n",
			n - shown);
	fputs("</section>\n", out);
	free(order);
	return 0;
}

/* ---- Flame graphs ---- */

/*
 * A flame graph's stacks, as the embedded JSON holds them:
 * {"value": ns, "frames": [[name, type], ...]}, frames outermost first.
 * Types: "reason" (why the time was spent off the CPU), "task" (the
 * thread's name and process), "user", "kernel", "missing" (a marker where
 * frames were not captured). The script merges the stacks into a tree.
 */
static void push_frame(json_t **frames, const char *name, const char *type)
{
	json_t *f = json_pack("[o, s]", json_clean(name, UNKNOWN_FRAME), type);

	if (*frames && f && !json_array_append_new(*frames, f))
		return;
	json_decref(f);
	json_decref(*frames);
	*frames = NULL;
}

/*
 * st's frames outermost first, unnamed ones one per module; a truncated stack
 * starts with a marker for what is missing.
 */
static void push_stack(json_t **frames, const struct report_stack *st, const char *type)
{
	size_t i;

	if (st->truncated)
		push_frame(frames, "[outer frames not captured]", "missing");
	for (i = st->frames ? st->n_frames : 0; *frames && i > 0; i--) {
		char buf[REPORT_FRAME_FUNCTION_MAX];

		push_frame(frames, report__frame_function(st->frames[i - 1], buf, sizeof(buf)),
			   type);
	}
}

static json_t *offcpu_stack_json(const struct report_offcpu *o)
{
	json_t *frames = json_array();
	char *task = NULL;

	if (asprintf(&task, "%s (pid %d)", o->comm && *o->comm ? o->comm : "?", o->pid) < 0) {
		json_decref(frames);
		return NULL;
	}
	push_frame(&frames, offcpu_reason__name(o->reason), "reason");
	push_frame(&frames, task, "task");
	free(task);
	if (frames && !o->kernel_stack.n_frames && !o->user_stack.n_frames)
		push_frame(&frames, "[no stack captured]", "missing");
	if (frames)
		push_stack(&frames, &o->user_stack, "user");
	if (frames)
		push_stack(&frames, &o->kernel_stack, "kernel");
	return json_pack("{s:I, s:o}", "value",
			 (json_int_t)(o->total_ns > INT64_MAX ? INT64_MAX : o->total_ns), "frames",
			 frames);
}

/* Off-CPU stacks: report.offcpu[], valued by their off-CPU time. */
static size_t offcpu_count(const struct report *r)
{
	return r->offcpu ? r->n_offcpu : 0;
}

static uint64_t offcpu_value(const struct report *r, size_t i)
{
	return r->offcpu[i].total_ns;
}

static json_t *offcpu_stack(const struct report *r, size_t i)
{
	return offcpu_stack_json(&r->offcpu[i]);
}

/* ---- On-CPU flame graph and hotspots (--cpu) ---- */

static json_t *cpu_stack_json(const struct report *r, const struct report_cpu *c)
{
	uint64_t ns = c->samples * r->cpu_period_ns;
	json_t *frames = json_array();
	char *task = NULL;

	if (asprintf(&task, "%s (pid %d)", c->comm && *c->comm ? c->comm : "?", c->pid) < 0) {
		json_decref(frames);
		return NULL;
	}
	push_frame(&frames, task, "task");
	free(task);
	if (frames && c->user_incomplete)
		push_frame(&frames, "[callers unknown: no frame pointers]", "missing");
	if (frames && !c->kernel_stack.n_frames && !c->user_stack.n_frames)
		push_frame(&frames, "[no stack captured]", "missing");
	if (frames)
		push_stack(&frames, &c->user_stack, "user");
	if (frames)
		push_stack(&frames, &c->kernel_stack, "kernel");
	return json_pack("{s:I, s:o}", "value", (json_int_t)(ns > INT64_MAX ? INT64_MAX : ns),
			 "frames", frames);
}

/* On-CPU stacks: report.cpu[], valued in sampled time. */
static size_t cpu_count(const struct report *r)
{
	return r->cpu ? r->n_cpu : 0;
}

static uint64_t cpu_value(const struct report *r, size_t i)
{
	return r->cpu[i].samples * r->cpu_period_ns;
}

static json_t *cpu_stack(const struct report *r, size_t i)
{
	return cpu_stack_json(r, &r->cpu[i]);
}

static bool cpu_enabled(const struct report *r)
{
	return r->cpu_enabled;
}

static void cpu_intro(const struct report *r, FILE *out)
{
	fprintf(out,
		"Where threads ran, by stack, sampled %llu times a second on every CPU: each "
		"frame's width is its sampled CPU time (one sample stands for ",
		(unsigned long long)r->cpu_frequency_hz);
	put_duration(out, r->cpu_period_ns);
	fputs("). A grey <i>[callers unknown]</i> frame marks a stack whose callers the "
	      "frame-pointer walk lost.",
	      out);
}

#define TOP_CPU_FUNCTIONS 20

/* The hottest functions by self samples, with their hottest line, and the frame-pointer warnings.
 */
static void put_cpu_hotspots(const struct report *r, FILE *out)
{
	uint64_t all = analysis__cpu_samples(r);
	size_t shown =
	    r->n_cpu_functions < TOP_CPU_FUNCTIONS ? r->n_cpu_functions : TOP_CPU_FUNCTIONS;

	fputs("<section class=\"card\" id=\"cpu\">\n<h2>On-CPU hotspots</h2>\n", out);
	for (size_t i = 0; r->cpu_warnings && i < r->n_cpu_warnings; i++) {
		const struct report_cpu_warning *w = &r->cpu_warnings[i];

		fputs("<p class=\"note warn\"><b>No frame pointers in ", out);
		html_text(out, w->binary);
		fputs("</b>: the user stacks of ", out);
		put_count(out, w->incomplete_samples);
		fputs(" of its ", out);
		put_count(out, w->samples);
		fputs(" samples lost their callers. Rebuild it with "
		      "<code>-fno-omit-frame-pointer</code>, "
		      "or use a distribution build with frame pointers.</p>\n",
		      out);
	}
	if (!all) {
		fputs(
		    "<p class=\"note empty\">No traced thread was seen running.</p>\n</section>\n",
		    out);
		return;
	}
	fputs("<p class=\"note\">Self: samples that found the function running; total: running or "
	      "calling what ran. Impact is the self share of all traced thread time.</p>\n"
	      "<table class=\"findings\">\n<thead><tr><th>Function</th><th>Self</th><th>Total</th>"
	      "<th>Impact</th><th>Hottest line</th></tr></thead>\n<tbody>\n",
	      out);
	for (size_t i = 0; i < shown; i++) {
		const struct report_cpu_function *f = &r->cpu_functions[i];
		const struct report_cpu_line *best = NULL;

		for (size_t j = 0; !f->kernel && r->cpu_lines && j < r->n_cpu_lines; j++)
			if (r->cpu_lines[j].function &&
			    !strcmp(r->cpu_lines[j].function, f->name) &&
			    (!best || r->cpu_lines[j].samples > best->samples))
				best = &r->cpu_lines[j];
		fputs("<tr><td>", out);
		if (f->kernel)
			fputs("[k] ", out);
		html_text(out, f->name);
		fprintf(out, "</td><td>%.1f%%</td><td>%.1f%%</td><td>%.1f%%</td><td>",
			(double)f->self_samples * PERCENT / (double)all,
			(double)f->total_samples * PERCENT / (double)all, f->self_impact * PERCENT);
		if (best) {
			html_text(out, base_name(best->file));
			fprintf(out, ":%u", best->line);
		}
		fputs("</td></tr>\n", out);
	}
	fputs("</tbody>\n</table>\n</section>\n", out);
}

/*
 * The flame graphs of the page. Each is one entry: on-CPU stacks, when the
 * model has them, are a second entry with their own id and palette (the
 * script colours "oncpu" warm and "offcpu" cool, so the two never look
 * alike).
 */
struct flame_graph {
	const char *id; /* element ids and the JSON's "id" */
	const char *title;
	const char *palette;
	const char *empty; /* said when there are no stacks */
	bool (*enabled)(const struct report *r);
	size_t (*count)(const struct report *r);	     /* stacks, some maybe of value 0 */
	uint64_t (*value)(const struct report *r, size_t i); /* stack i's width, in ns */
	json_t *(*stack)(const struct report *r, size_t i);  /* {"value", "frames"}; NULL: ENOMEM */
	void (*put_intro)(const struct report *r, FILE *out); /* what the widths mean */
};

static bool sched_enabled(const struct report *r)
{
	return r->sched_enabled;
}

static void offcpu_intro(const struct report *r, FILE *out)
{
	fputs("Where threads waited off the CPU, by stack: each frame's width is its off-CPU "
	      "time",
	      out);
	if (r->min_block_ns) {
		fputs(" (blocks of at least ", out);
		put_duration(out, r->min_block_ns);
		fputs("; shorter ones count only in the chart above)", out);
	}
	fputc('.', out);
}

static const struct flame_graph flame_graphs[] = {
    {"offcpu", "Off-CPU flame graph", "offcpu", "No off-CPU stacks were recorded.", sched_enabled,
     offcpu_count, offcpu_value, offcpu_stack, offcpu_intro},
    {"oncpu", "On-CPU flame graph", "oncpu", "No on-CPU samples were taken.", cpu_enabled,
     cpu_count, cpu_value, cpu_stack, cpu_intro},
};

#define N_FLAME_GRAPHS (sizeof(flame_graphs) / sizeof(flame_graphs[0]))

/* The sum of graph g's stack values: its "total". */
static uint64_t graph_total(const struct report *r, const struct flame_graph *g)
{
	uint64_t total = 0;

	for (size_t i = 0; i < g->count(r); i++)
		total += g->value(r, i);
	return total;
}

/*
 * The page's data for the script, {"flamegraphs": [...]}, written a stack at
 * a time: as one jansson tree, the stacks of 10,000 threads' blocks took most
 * of the 169 MB snag peaked at writing this page. The text is what
 * json_dumps() of that tree would be. Returns 0 or -ENOMEM.
 */
static int put_page_data(const struct report *r, FILE *out)
{
	bool first_graph = true;

	fputs("{\"flamegraphs\":[", out);
	for (size_t i = 0; i < N_FLAME_GRAPHS; i++) {
		const struct flame_graph *g = &flame_graphs[i];
		uint64_t total;
		bool first = true;
		json_t *head;
		char *text;
		size_t len;

		if (!g->enabled(r))
			continue;
		total = graph_total(r, g);
		/* The graph's own keys, "stacks" last: its "[]}" is cut off and the stacks follow.
		 */
		head = json_pack("{s:s, s:s, s:s, s:s, s:I, s:[]}", "id", g->id, "title", g->title,
				 "palette", g->palette, "unit", "ns", "total",
				 (json_int_t)(total > INT64_MAX ? INT64_MAX : total), "stacks");
		text = head ? json_dumps(head, SCRIPT_JSON_FLAGS) : NULL;
		json_decref(head);
		if (!text)
			return -ENOMEM;
		len = strlen(text);
		if (len < 3 || strcmp(text + len - 3, "[]}")) {
			free(text);
			return -EINVAL;
		}
		text[len - 2] = '\0';
		if (!first_graph)
			fputc(',', out);
		first_graph = false;
		script_text(out, text);
		free(text);
		for (size_t k = 0; k < g->count(r); k++) {
			if (!g->value(r, k))
				continue;
			if (!first)
				fputc(',', out);
			first = false;
			if (script_json(out, g->stack(r, k)))
				return -ENOMEM;
		}
		fputs("]}", out);
	}
	fputs("]}", out);
	return 0;
}

/* The section of one flame graph: the script draws into its .flame element. */
static void put_flame_section(const struct report *r, const struct flame_graph *g, FILE *out)
{
	fprintf(out, "<section class=\"card\" id=\"flame-%s-section\">\n<h2>%s</h2>\n", g->id,
		g->title);
	fputs("<p class=\"note\">", out);
	g->put_intro(r, out);
	fputs(" The root is at the top. Click a frame to zoom in, click <i>all</i> or <i>Reset "
	      "zoom</i> to zoom out; hover for its time and share.</p>\n",
	      out);
	if (!graph_total(r, g)) {
		fprintf(out, "<p class=\"note empty\">%s</p>\n</section>\n", g->empty);
		return;
	}
	fprintf(out,
		"<div class=\"flame\" id=\"flame-%s\" data-graph=\"%s\">\n"
		"<div class=\"flame-bar\"><button type=\"button\" class=\"flame-reset\">Reset "
		"zoom</button><input type=\"search\" class=\"flame-search\" placeholder=\"Search "
		"frames\" aria-label=\"Search frames\"><span class=\"flame-status\"></span>"
		"<span class=\"flame-legend\"></span></div>\n"
		"<svg class=\"flame-svg\" role=\"img\" aria-label=\"%s\"></svg>\n"
		"<noscript><p class=\"note\">The flame graph is drawn by the page's script; "
		"--format folded gives the same stacks for flamegraph.pl.</p></noscript>\n"
		"</div>\n</section>\n",
		g->id, g->id, g->title);
}

/* ---- Latency histograms ---- */

/* A bpf/hist.h bucket layout. */
struct hist_layout {
	__u32 n;
	__u32 (*bucket)(__u64 v);
	__u64 (*lower)(__u32 i);
	__u64 (*upper)(__u32 i);
};

static const struct hist_layout func_layout = {SNAG_HIST_BUCKETS, snag_hist_bucket, snag_hist_lower,
					       snag_hist_upper};
static const struct hist_layout sched_layout = {SNAG_SCHED_HIST_BUCKETS, snag_sched_hist_bucket,
						snag_sched_hist_lower, snag_sched_hist_upper};

/*
 * A dashed vertical line at value v over bars of per_bar buckets from first.
 * Its colour (class "p50" or "p99") is the one of the matching figure in the
 * card's stats line, which labels it: text on the chart would collide at the
 * edges and when the two are close.
 */
static void put_marker(FILE *out, const struct hist_layout *l, __u32 first, __u32 last,
		       __u32 per_bar, double bar_w, uint64_t v, const char *name)
{
	__u32 b = l->bucket(v);
	double x;

	if (!v)
		return;
	b = b < first ? first : b > last ? last : b;
	x = HIST_PAD + ((b - first) / per_bar + 0.5) * bar_w;
	fprintf(out,
		"<line class=\"mark %s\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" "
		"y2=\"%d\"><title>%s ",
		name, x, x, HIST_TOP, HIST_BASE, name);
	put_duration(out, v);
	fputs("</title></line>", out);
}

/*
 * A latency histogram as an inline SVG bar chart: the non-empty bucket
 * range merged into at most HIST_MAX_BARS bars (log-linear buckets, so the
 * x axis is roughly logarithmic), each with a tooltip, and p50/p99 markers.
 */
static void put_histogram(FILE *out, const uint64_t *hist, const struct hist_layout *l,
			  const char *noun, uint64_t p50, uint64_t p99)
{
	__u32 first = l->n, last = 0, i, b, per_bar, n_bars;
	uint64_t max_bar = 0, total = 0;
	double bar_w, plot_h = HIST_BASE - HIST_TOP;

	for (i = 0; i < l->n; i++) {
		if (!hist[i])
			continue;
		if (first == l->n)
			first = i;
		last = i;
		total += hist[i];
	}
	if (first == l->n) {
		fputs("<p class=\"note\">No samples.</p>\n", out);
		return;
	}
	/* Widen a narrow range with empty buckets on both sides, within the layout. */
	while (last - first + 1 < HIST_MIN_SPAN && (first > 0 || last + 1 < l->n)) {
		if (first > 0)
			first--;
		if (last + 1 < l->n && last - first + 1 < HIST_MIN_SPAN)
			last++;
	}
	per_bar = (last - first + HIST_MAX_BARS) / HIST_MAX_BARS;
	n_bars = (last - first) / per_bar + 1;
	bar_w = (double)(HIST_W - 2 * HIST_PAD) / n_bars;
	for (b = first; b <= last; b += per_bar) {
		uint64_t sum = 0;

		for (i = b; i <= last && i < b + per_bar; i++)
			sum += hist[i];
		max_bar = sum > max_bar ? sum : max_bar;
	}
	fprintf(out,
		"<svg class=\"hist\" viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"latency "
		"histogram\">",
		HIST_W, HIST_H);
	for (b = first; b <= last; b += per_bar) {
		__u32 end = b + per_bar - 1 > last ? last : b + per_bar - 1;
		uint64_t sum = 0;
		double h, x = HIST_PAD + (b - first) / per_bar * bar_w;

		for (i = b; i <= end; i++)
			sum += hist[i];
		if (!sum)
			continue;
		h = (double)sum / (double)max_bar * plot_h;
		h = h < 1 ? 1 : h;
		fprintf(out,
			"<rect class=\"bar\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" "
			"height=\"%.2f\"><title>",
			x + (bar_w > 3 ? 0.5 : 0), HIST_BASE - h, bar_w > 3 ? bar_w - 1 : bar_w, h);
		put_duration(out, l->lower(b));
		fputs(" to ", out);
		put_duration(out, l->upper(end));
		fputs(": ", out);
		put_count(out, sum);
		put_noun(out, noun, sum);
		fprintf(out, " (%.1f%%)</title></rect>", (double)sum / (double)total * PERCENT);
	}
	fprintf(out, "<line class=\"axis\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>", HIST_PAD,
		HIST_W - HIST_PAD, HIST_BASE, HIST_BASE);
	put_marker(out, l, first, last, per_bar, bar_w, p50, "p50");
	put_marker(out, l, first, last, per_bar, bar_w, p99, "p99");
	fprintf(out, "<text class=\"tick\" x=\"%d\" y=\"%d\">", HIST_PAD, HIST_LABEL_Y);
	put_duration(out, l->lower(first));
	fprintf(out, "</text><text class=\"tick\" x=\"%d\" y=\"%d\" text-anchor=\"end\">",
		HIST_W - HIST_PAD, HIST_LABEL_Y);
	put_duration(out, l->upper(last));
	fputs("</text></svg>\n", out);
}

/* A histogram card's head: title (with the full text as a tooltip) and subtitle. */
static void card_head(FILE *out, const char *title, const char *sub_a, const char *sub_b)
{
	fputs("<div class=\"hcard\"><div class=\"htitle\" title=\"", out);
	html_text(out, title);
	fputs("\">", out);
	html_text(out, title);
	fputs("</div><div class=\"hsub\">", out);
	html_text(out, sub_a);
	if (sub_b) {
		fputs(" ", out);
		html_text(out, sub_b);
	}
	fputs("</div>", out);
}

/* "300 calls · p50 88.9us · p99 3.16ms · max 3.16ms" */
static void card_stats(FILE *out, uint64_t count, const char *noun, uint64_t p50, uint64_t p99,
		       uint64_t max)
{
	fputs("<div class=\"hstats\">", out);
	put_count(out, count);
	put_noun(out, noun, count);
	fputs(" &middot; <span class=\"p50\">p50 ", out);
	put_duration(out, p50);
	fputs("</span> &middot; <span class=\"p99\">p99 ", out);
	put_duration(out, p99);
	fputs("</span> &middot; max ", out);
	put_duration(out, max);
	fputs("</div>", out);
}

static void put_function_histograms(const struct report *r, FILE *out)
{
	size_t i, shown = 0;

	for (i = 0; r->functions && i < r->n_functions && shown < TOP_HISTOGRAMS; i++) {
		const struct report_function *f = &r->functions[i];
		char impact[32];

		if (!f->count)
			continue;
		if (!shown++)
			fputs("<h3>Functions</h3>\n<div class=\"hgrid\">\n", out);
		snprintf(impact, sizeof(impact), "(impact %.1f%%)", f->impact * PERCENT);
		card_head(out, f->name, base_name(f->binary), impact);
		card_stats(out, f->count, "calls", f->p50_ns, f->p99_ns, f->max_ns);
		put_histogram(out, f->hist, &func_layout, "calls", f->p50_ns, f->p99_ns);
		fputs("</div>\n", out);
	}
	if (shown)
		fputs("</div>\n", out);
}

/* "app (pid 1234)" as a card subtitle. */
static char *process_label(const char *comm, int pid)
{
	char *s = NULL;

	return asprintf(&s, "%s (pid %d)", comm && *comm ? comm : "?", pid) < 0 ? NULL : s;
}

static int put_block_histograms(const struct report *r, FILE *out)
{
	size_t i, shown = 0;

	for (i = 0; r->block_io && i < r->n_block_io && shown < TOP_HISTOGRAMS; i++) {
		const struct report_block_io *b = &r->block_io[i];
		char *title = NULL, *proc;
		char dev[24];

		if (!b->count)
			continue;
		if (!b->device)
			snprintf(dev, sizeof(dev), "%u:%u", b->major, b->minor);
		if (asprintf(&title, "%s %s", b->device ? b->device : dev, b->op ? b->op : "?") < 0)
			return -ENOMEM;
		proc = process_label(b->comm, b->pid);
		if (!proc) {
			free(title);
			return -ENOMEM;
		}
		if (!shown++)
			fputs("<h3>Block I/O (request start to completion)</h3>\n<div "
			      "class=\"hgrid\">\n",
			      out);
		card_head(out, title, proc, NULL);
		card_stats(out, b->count, "requests", b->p50_ns, b->p99_ns, b->max_ns);
		put_histogram(out, b->lat_hist, &sched_layout, "requests", b->p50_ns, b->p99_ns);
		fputs("</div>\n", out);
		free(title);
		free(proc);
	}
	if (shown)
		fputs("</div>\n", out);
	return 0;
}

static int put_syscall_histograms(const struct report *r, FILE *out)
{
	size_t i, shown = 0;

	for (i = 0; r->syscall_io && i < r->n_syscall_io && shown < TOP_HISTOGRAMS; i++) {
		const struct report_syscall_io *s = &r->syscall_io[i];
		char *title = NULL, *proc;

		if (!s->count && !s->errors)
			continue;
		if (asprintf(&title, "%s on %s", s->syscall ? s->syscall : "?",
			     s->fd_type ? s->fd_type : "?") < 0)
			return -ENOMEM;
		proc = process_label(s->comm, s->pid);
		if (!proc) {
			free(title);
			return -ENOMEM;
		}
		if (!shown++)
			fputs("<h3>Syscall I/O (entry to exit, failed calls included)</h3>\n<div "
			      "class=\"hgrid\">\n",
			      out);
		card_head(out, title, proc, NULL);
		card_stats(out, s->count + s->errors, "calls", s->p50_ns, s->p99_ns, s->max_ns);
		put_histogram(out, s->lat_hist, &sched_layout, "calls", s->p50_ns, s->p99_ns);
		fputs("</div>\n", out);
		free(title);
		free(proc);
	}
	if (shown)
		fputs("</div>\n", out);
	return 0;
}

static int put_latency(const struct report *r, FILE *out)
{
	bool any_funcs = false, any_io = false;
	size_t i;
	int err;

	for (i = 0; r->functions && i < r->n_functions; i++)
		any_funcs |= r->functions[i].count > 0;
	for (i = 0; r->block_io && i < r->n_block_io; i++)
		any_io |= r->block_io[i].count > 0;
	for (i = 0; r->syscall_io && i < r->n_syscall_io; i++)
		any_io |= r->syscall_io[i].count + r->syscall_io[i].errors > 0;
	if (!any_funcs && !any_io)
		return 0;
	fputs("<section class=\"card\" id=\"latency\">\n<h2>Latency histograms</h2>\n"
	      "<p class=\"note\">Bars are latency buckets on a log scale (fastest on the left); "
	      "hover a bar for its range and count. The dashed lines mark p50 (green) and p99 "
	      "(red).</p>\n",
	      out);
	put_function_histograms(r, out);
	err = put_block_histograms(r, out) ?: put_syscall_histograms(r, out);
	fputs("</section>\n", out);
	return err;
}

static void put_footer(const struct report *r, FILE *out)
{
	fputs("<footer id=\"impact-note\">\n<p><b>Impact</b> is the share of the traced threads' "
	      "time a function or stack accounts for; severity is critical above 50%, high above "
	      "20%, medium above 10%. Nested functions overlap.</p>\n"
	      "<p>Written by snag ",
	      out);
	html_text(out, r->snag_version);
	fputs(". This page is self-contained: it loads nothing from the network.</p>\n"
	      "</footer>\n</main>\n",
	      out);
}

int render__html(const struct report *r, FILE *out)
{
	struct analysis_process *procs = NULL;
	size_t n_procs = 0, i;
	char *target = NULL;
	int err;

	if (r->sched_enabled) {
		err = analysis__processes(r, &procs, &n_procs);
		if (err)
			return err;
	}
	target = analysis__describe_target(r);
	if (!target) {
		err = -ENOMEM;
		goto cleanup;
	}
	put_head(r, target, out);
	put_summary(r, target, n_procs, out);
	put_bottlenecks(r, out);
	if (r->sched_enabled) {
		err = put_time_breakdown(procs, n_procs, out);
		if (err)
			goto cleanup;
	}
	if (r->cpu_enabled)
		put_cpu_hotspots(r, out);
	for (i = 0; i < N_FLAME_GRAPHS; i++)
		if (flame_graphs[i].enabled(r))
			put_flame_section(r, &flame_graphs[i], out);
	err = put_latency(r, out);
	if (err)
		goto cleanup;
	put_footer(r, out);
	fputs("<script type=\"application/json\" id=\"snag-data\">", out);
	err = put_page_data(r, out);
	if (err)
		goto cleanup;
	fputs("</script>\n<script>\n", out);
	fputs(snag_html_flamegraph_js, out);
	fputs("</script>\n</body>\n</html>\n", out);
cleanup:
	free(target);
	free(procs);
	return err;
}
