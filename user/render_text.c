/* Text renderer: a header, the function table (optionally with histograms), where threads' time
 * went (processes, off-CPU stacks, threads), I/O (block, network, TCP connections, syscalls),
 * bottlenecks and snag's own cost. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analysis.h"
#include "render.h"

#define LINE_WIDTH	 100
#define NAME_MIN_WIDTH	 8 /* "FUNCTION" */
#define BINARY_MIN_WIDTH 6 /* "BINARY" */
#define BINARY_MAX_WIDTH 12
#define COUNT_WIDTH	 8
#define TIME_WIDTH	 6 /* "2.05ms"; rare longer values widen their cell */
#define IMPACT_WIDTH	 6
#define SEVERITY_WIDTH	 8
#define N_TIME_COLUMNS	 6 /* AVG P50 P90 P99 MAX TOTAL */
#define HIST_MAX_ROWS	 20
#define HIST_BAR_WIDTH	 50
#define PID_WIDTH	 7
#define COMM_WIDTH	 15 /* TASK_COMM_LEN - 1 */
#define SCHED_TIME_WIDTH 7  /* "OFF-CPU" */
#define SHARE_WIDTH	 7  /* "BLOCKED", "100.0%" */
#define SWITCH_WIDTH	 9  /* "INVOL-SW", "1,234,567" */
#define BREAKDOWN_WIDTH	 6  /* "100.0%", "EVENTS" */
#define TOP_PROCESSES	 20
#define TOP_STACKS	 10
#define TOP_THREADS	 20
#define MAX_FRAMES	 12 /* per stack */
#define TOP_IO_ROWS	 20 /* per I/O section; rows arrive sorted by importance */
#define IO_COUNT_WIDTH	 9  /* "1,234,567" */
#define BYTES_WIDTH	 7  /* "1023KiB", "99.9MiB" */
#define BYTES_LEN	 16
#define AVG_SIZE_WIDTH	 8  /* "AVG-SIZE" */
#define DEVICE_WIDTH	 10 /* "nvme0n1p1" */
#define OP_WIDTH	 12 /* "write_zeroes" */
#define PROTO_WIDTH	 14 /* "unix/seqpacket" */
#define DIR_WIDTH	 4
#define SMALL_WIDTH	 6 /* "SMALL%", "100.0%" */
#define ERRORS_WIDTH	 7
#define SYSCALL_WIDTH	 8 /* "pwrite64" */
#define FD_WIDTH	 6 /* "socket" */
#define RETRANS_WIDTH	 9
#define SIZE_LABEL_WIDTH 10 /* "<= 1023KiB" */
#define FRAME_INDENT	 "       "
#define ELLIPSIS	 "..."
#define PERCENT		 100.0

static const char *str_or_dash(const char *s)
{
	return s && *s ? s : "-";
}

/* The last path component of path ("-" for NULL or empty). */
static const char *base_name(const char *path)
{
	const char *slash;

	if (!path || !*path)
		return "-";
	slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

/* Copy s into buf, cut to width columns with a trailing ellipsis when longer. */
static const char *fit(const char *s, size_t width, char *buf, size_t size)
{
	size_t len = strlen(s);

	if (len <= width || width <= strlen(ELLIPSIS)) {
		snprintf(buf, size, "%.*s", (int)width, s);
		return buf;
	}
	snprintf(buf, size, "%.*s" ELLIPSIS, (int)(width - strlen(ELLIPSIS)), s);
	return buf;
}

/* Like fit(), but keep the end of s (e.g. an address's port): "...:db8::1]:443". */
static const char *fit_tail(const char *s, size_t width, char *buf, size_t size)
{
	size_t len = strlen(s);

	if (len <= width || width <= strlen(ELLIPSIS))
		return fit(s, width, buf, size);
	snprintf(buf, size, ELLIPSIS "%s", s + len - (width - strlen(ELLIPSIS)));
	return buf;
}

/*
 * A size in bytes for people: "0B", "100B", "4.0KiB", "97.7KiB", "400KiB",
 * "1.2MiB" (binary units, one decimal below 100, at most 7 columns).
 */
static const char *format_bytes(uint64_t bytes, char *buf, size_t size)
{
	return analysis__format_bytes(bytes, buf, size);
}

/*
 * Print text word-wrapped to LINE_WIDTH: first line after first_prefix, the
 * others after rest_prefix. Words longer than a line are printed whole.
 */
static void print_wrapped(FILE *out, const char *first_prefix, const char *rest_prefix,
			  const char *text)
{
	const char *prefix = first_prefix, *p = text ? text : "-";
	size_t col;

	fputs(prefix, out);
	col = strlen(prefix);
	while (*p) {
		size_t word, indent;

		while (*p == ' ')
			p++;
		word = strcspn(p, " ");
		if (!word)
			break;
		indent = strlen(prefix);
		if (col > indent && col + 1 + word > LINE_WIDTH) {
			prefix = rest_prefix;
			fprintf(out, "\n%s", prefix);
			col = strlen(prefix);
		} else if (col > indent) {
			fputc(' ', out);
			col++;
		}
		fwrite(p, 1, word, out);
		col += word;
		p += word;
	}
	fputc('\n', out);
}

/* Close a memstream opened on *s; returns *s, or NULL (freed) if it failed. */
static char *memstream_finish(FILE *m, char **s)
{
	if (fclose(m)) {
		free(*s);
		*s = NULL;
	}
	return *s;
}

/* A table cell for a time: "-" when the function was never called. */
static const char *time_cell(uint64_t count, uint64_t ns, char *buf, size_t size)
{
	if (!count)
		return "-";
	return analysis__format_duration(ns, buf, size);
}

/* The header: what was traced, for how long, and how much thread time each collector saw. */
static int print_header(const struct report *r, size_t n_procs, FILE *out)
{
	char dur[ANALYSIS_DURATION_LEN], thr[ANALYSIS_DURATION_LEN], *target, *line = NULL;
	size_t i, len = 0;
	FILE *m;

	target = analysis__describe_target(r);
	m = target ? open_memstream(&line, &len) : NULL;
	if (!m) {
		free(target);
		return -ENOMEM;
	}
	fprintf(m, "Traced %s for %s", target,
		analysis__format_duration(r->duration_ns, dur, sizeof(dur)));
	free(target);
	if (analysis__functions_wanted(r))
		fprintf(m, ": %zu function%s in %" PRIu64 " thread%s (%s of thread time)",
			r->n_functions, r->n_functions == 1 ? "" : "s", r->traced_threads,
			r->traced_threads == 1 ? "" : "s",
			analysis__format_duration(r->traced_thread_ns, thr, sizeof(thr)));
	if (r->sched_enabled)
		fprintf(m, "%s%zu thread%s in %zu process%s (%s of thread time)",
			r->n_functions ? "; scheduler: " : ": ", r->n_sched,
			r->n_sched == 1 ? "" : "s", n_procs, n_procs == 1 ? "" : "es",
			analysis__format_duration(r->sched_thread_ns, thr, sizeof(thr)));
	if (r->cpu_enabled) {
		char n[ANALYSIS_COUNT_LEN];

		fprintf(m, "%s%s on-CPU samples at %llu Hz",
			r->n_functions || r->sched_enabled ? "; " : ": ",
			analysis__format_count(analysis__cpu_samples(r), n, sizeof(n)),
			(unsigned long long)r->cpu_frequency_hz);
	}
	if (r->mem_enabled)
		fprintf(m, "%smemory of %zu process%s",
			r->n_functions || r->sched_enabled ? "; " : ": ", r->n_memory,
			r->n_memory == 1 ? "" : "es");
	if (!memstream_finish(m, &line))
		return -ENOMEM;
	print_wrapped(out, "", "  ", line);
	free(line);
	if (r->target.specs && r->target.n_specs) {
		fputs("Probes:", out);
		for (i = 0; i < r->target.n_specs; i++)
			fprintf(out, " -u '%s'", str_or_dash(r->target.specs[i]));
		fputc('\n', out);
	}
	fputc('\n', out);
	return 0;
}

/* The label of a histogram row that covers buckets first..last. */
typedef const char *(*hist_label_fn)(__u32 first, __u32 last, char *buf, size_t size);

/* "1.97ms .. 2.03ms" (bounds padded to TIME_WIDTH) for the function histogram layout. */
static const char *duration_label(__u32 first, __u32 last, char *buf, size_t size)
{
	char lo[ANALYSIS_DURATION_LEN], hi[ANALYSIS_DURATION_LEN];

	snprintf(buf, size, "%*s .. %-*s", TIME_WIDTH,
		 analysis__format_duration(snag_hist_lower(first), lo, sizeof(lo)), TIME_WIDTH,
		 analysis__format_duration(snag_hist_upper(last), hi, sizeof(hi)));
	return buf;
}

/*
 * "  <= 4.0KiB" for the I/O size layout: rows are contiguous and start at the
 * first non-empty bucket, so an upper bound says it all. A row that holds the
 * open-ended last bucket has only a lower bound: "> 2.0GiB".
 */
static const char *size_label(__u32 first, __u32 last, char *buf, size_t size)
{
	char b[BYTES_LEN], label[BYTES_LEN + 4];

	if (last == SNAG_SIZE_HIST_BUCKETS - 1 && first > 0)
		snprintf(label, sizeof(label), "> %s",
			 format_bytes(snag_size_hist_upper(first - 1), b, sizeof(b)));
	else
		snprintf(label, sizeof(label), "<= %s",
			 format_bytes(snag_size_hist_upper(last), b, sizeof(b)));
	snprintf(buf, size, "%*s", SIZE_LABEL_WIDTH, label);
	return buf;
}

/*
 * A histogram's non-empty bucket range (n buckets) as at most HIST_MAX_ROWS
 * rows, merging runs of adjacent buckets, with '#' bars scaled to the largest
 * row. Returns whether it printed anything (not for an empty histogram).
 */
static bool print_histogram(const uint64_t *hist, __u32 n, hist_label_fn label, FILE *out)
{
	char label_s[2 * ANALYSIS_DURATION_LEN + 8], bar[HIST_BAR_WIDTH + 1];
	__u32 first = n, last = 0, i, b, per_row;
	uint64_t max_row = 0;

	for (i = 0; i < n; i++) {
		if (!hist[i])
			continue;
		if (first == n)
			first = i;
		last = i;
	}
	if (first == n)
		return false;
	per_row = (last - first + HIST_MAX_ROWS) / HIST_MAX_ROWS;
	/* Two passes over the same rows: find the largest, then print scaled bars. */
	for (int pass = 0; pass < 2; pass++) {
		for (b = first; b <= last; b += per_row) {
			__u32 end = b + per_row - 1 > last ? last : b + per_row - 1;
			uint64_t sum = 0;
			size_t len;

			for (i = b; i <= end; i++)
				sum += hist[i];
			if (!pass) {
				if (sum > max_row)
					max_row = sum;
				continue;
			}
			len = (size_t)((double)sum / (double)max_row * HIST_BAR_WIDTH + 0.5);
			if (sum && !len)
				len = 1;
			memset(bar, '#', len);
			bar[len] = '\0';
			fprintf(out, "    %s |%-*s %" PRIu64 "\n",
				label(b, end, label_s, sizeof(label_s)), HIST_BAR_WIDTH, bar, sum);
		}
	}
	return true;
}

static void print_functions(const struct report *r, const struct render_opts *o, FILE *out)
{
	size_t name_w = NAME_MIN_WIDTH, bin_w = BINARY_MIN_WIDTH, fixed, i;
	char name[LINE_WIDTH + 1], bin[LINE_WIDTH + 1];
	char t[N_TIME_COLUMNS][ANALYSIS_DURATION_LEN];

	if (!r->functions || !r->n_functions) {
		/* A scheduler or I/O trace has its own sections: no need to say it. */
		if (analysis__functions_wanted(r))
			fputs("No functions were traced.\n", out);
		return;
	}
	for (i = 0; i < r->n_functions; i++) {
		size_t nl = strlen(str_or_dash(r->functions[i].name));
		size_t bl = strlen(base_name(r->functions[i].binary));

		name_w = nl > name_w ? nl : name_w;
		bin_w = bl > bin_w ? bl : bin_w;
	}
	/* The numeric columns are fixed; names get what is left of the line. */
	fixed = 1 + COUNT_WIDTH + N_TIME_COLUMNS * (1 + TIME_WIDTH) + 1 + IMPACT_WIDTH + 1 +
		SEVERITY_WIDTH + 1;
	if (bin_w > BINARY_MAX_WIDTH)
		bin_w = BINARY_MAX_WIDTH;
	if (name_w > LINE_WIDTH - fixed - bin_w)
		name_w = LINE_WIDTH - fixed - bin_w;

	fprintf(out, "%-*s %-*s %*s %*s %*s %*s %*s %*s %*s %*s %s\n", (int)name_w, "FUNCTION",
		(int)bin_w, "BINARY", COUNT_WIDTH, "COUNT", TIME_WIDTH, "AVG", TIME_WIDTH, "P50",
		TIME_WIDTH, "P90", TIME_WIDTH, "P99", TIME_WIDTH, "MAX", TIME_WIDTH, "TOTAL",
		IMPACT_WIDTH, "IMPACT", "SEVERITY");
	for (i = 0; i < r->n_functions; i++) {
		const struct report_function *f = &r->functions[i];
		char impact[16];

		snprintf(impact, sizeof(impact), "%.1f%%", f->impact * PERCENT);
		fprintf(out, "%-*s %-*s %*" PRIu64 " %*s %*s %*s %*s %*s %*s %*s %s\n", (int)name_w,
			fit(str_or_dash(f->name), name_w, name, sizeof(name)), (int)bin_w,
			fit(base_name(f->binary), bin_w, bin, sizeof(bin)), COUNT_WIDTH, f->count,
			TIME_WIDTH, time_cell(f->count, f->avg_ns, t[0], sizeof(t[0])), TIME_WIDTH,
			time_cell(f->count, f->p50_ns, t[1], sizeof(t[1])), TIME_WIDTH,
			time_cell(f->count, f->p90_ns, t[2], sizeof(t[2])), TIME_WIDTH,
			time_cell(f->count, f->p99_ns, t[3], sizeof(t[3])), TIME_WIDTH,
			time_cell(f->count, f->max_ns, t[4], sizeof(t[4])), TIME_WIDTH,
			time_cell(f->count, f->total_ns, t[5], sizeof(t[5])), IMPACT_WIDTH, impact,
			severity__name(f->severity));
		if (o->histogram &&
		    print_histogram(f->hist, SNAG_HIST_BUCKETS, duration_label, out))
			fputc('\n', out);
	}
	fputs("IMPACT is the share of traced thread time spent in the function; nested functions "
	      "overlap.\n",
	      out);
}

/* A share of a whole as "12.3%" ("-" when the whole is 0). */
static const char *pct_cell(uint64_t part, uint64_t whole, char *buf, size_t size)
{
	if (!whole)
		return "-";
	snprintf(buf, size, "%.1f%%", (double)part / (double)whole * PERCENT);
	return buf;
}

/* "... N more <what> (...)" under a table that shows only the top rows. */
static void print_more(size_t shown, size_t total, const char *what, FILE *out)
{
	if (total > shown)
		fprintf(out, "... %zu more %s (--format json lists them all)\n", total - shown,
			what);
}

/* Processes: summed thread wall time, then pid. */
static int cmp_process_wall(const void *a, const void *b)
{
	const struct analysis_process *pa = a, *pb = b;

	if (pa->wall_ns != pb->wall_ns)
		return pa->wall_ns > pb->wall_ns ? -1 : 1;
	return pa->pid < pb->pid ? -1 : pa->pid > pb->pid;
}

/*
 * "Where time went": per process, the shares of its summed thread time:
 * on-CPU, run queue, and blocked time by what it waited for (they sum to
 * 100% within ANALYSIS_BREAKDOWN_TOLERANCE). lead separates it from what
 * came before ("" right after the header).
 */
static int print_processes(const struct analysis_process *procs, size_t n, const char *lead,
			   FILE *out)
{
	/* Blocked columns, in the order shown, and their headers. */
	static const struct {
		enum wait_kind w;
		const char *head;
	} cols[] = {
	    {WAIT_BLOCK_IO, "DISK"}, {WAIT_NET, "NET"},	      {WAIT_LOCK, "LOCK"},
	    {WAIT_SLEEP, "SLEEP"},   {WAIT_EVENTS, "EVENTS"}, {WAIT_OTHER, "OTHER"},
	};
	char comm[COMM_WIDTH + 1], wall[ANALYSIS_DURATION_LEN], sh[16];
	size_t *order, i, shown = n < TOP_PROCESSES ? n : TOP_PROCESSES;

	fprintf(out, "%sWhere time went (shares of each process's summed thread time)\n", lead);
	if (!n) {
		fputs("No thread of the target was seen on a CPU.\n", out);
		return 0;
	}
	order = analysis__order(procs, n, sizeof(*procs), cmp_process_wall);
	if (!order)
		return -ENOMEM;
	fprintf(out, "%*s %-*s %*s %*s %*s %*s", PID_WIDTH, "PID", COMM_WIDTH, "COMM", PID_WIDTH,
		"THREADS", SCHED_TIME_WIDTH, "WALL", BREAKDOWN_WIDTH, "ON-CPU", BREAKDOWN_WIDTH,
		"RUNQ");
	for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
		fprintf(out, " %*s", BREAKDOWN_WIDTH, cols[c].head);
	fputc('\n', out);
	for (i = 0; i < shown; i++) {
		const struct analysis_process *p = &procs[order[i]];

		fprintf(out, "%*d %-*s %*zu %*s", PID_WIDTH, p->pid, COMM_WIDTH,
			fit(str_or_dash(p->comm), COMM_WIDTH, comm, sizeof(comm)), PID_WIDTH,
			p->threads, SCHED_TIME_WIDTH,
			analysis__format_duration(p->wall_ns, wall, sizeof(wall)));
		fprintf(out, " %*s", BREAKDOWN_WIDTH,
			pct_cell(p->oncpu_ns, p->wall_ns, sh, sizeof(sh)));
		fprintf(out, " %*s", BREAKDOWN_WIDTH,
			pct_cell(p->runq_total_ns, p->wall_ns, sh, sizeof(sh)));
		for (size_t c = 0; c < sizeof(cols) / sizeof(cols[0]); c++)
			fprintf(out, " %*s", BREAKDOWN_WIDTH,
				pct_cell(p->blocked_by[cols[c].w], p->wall_ns, sh, sizeof(sh)));
		fputc('\n', out);
	}
	free(order);
	print_more(shown, n, "processes", out);
	fputs("DISK..OTHER split blocked time by what it waited for: disk I/O, network, locks\n"
	      "(futex), sleep, poll/epoll/select, anything else (docs/offcpu.md).\n",
	      out);
	return 0;
}

/* Up to MAX_FRAMES frames of st, innermost first, one per line; kernel ones marked "[k]". */
static void print_frames(const struct report_stack *st, bool kernel, FILE *out)
{
	size_t i, n = st->frames ? st->n_frames : 0, shown = n < MAX_FRAMES ? n : MAX_FRAMES;
	size_t width = LINE_WIDTH - strlen(FRAME_INDENT "[k] ");
	char frame[LINE_WIDTH + 1];

	for (i = 0; i < shown; i++)
		fprintf(out, FRAME_INDENT "%s%s\n", kernel ? "[k] " : "    ",
			fit(str_or_dash(st->frames[i]), width, frame, sizeof(frame)));
	if (n > shown)
		fprintf(out, FRAME_INDENT "    ... %zu more\n", n - shown);
	if (st->truncated)
		fputs(FRAME_INDENT "    ... (truncated: the outermost frames were not captured)\n",
		      out);
}

/* A thread as "1234/1240 (writer)", or "1234" when the tid is the pid or unknown. */
static const char *thread_name(int pid, int tid, const char *comm, char *buf, size_t size)
{
	char comm_s[COMM_WIDTH + 4] = "";

	if (comm)
		snprintf(comm_s, sizeof(comm_s), " (%.*s)", COMM_WIDTH, comm);
	if (tid && tid != pid)
		snprintf(buf, size, "%d/%d%s", pid, tid, comm_s);
	else
		snprintf(buf, size, "%d%s", pid, comm_s);
	return buf;
}

/* "Top off-CPU stacks": the TOP_STACKS entries of highest impact (the report's order). */
static void print_offcpu(const struct report *r, FILE *out)
{
	char total[ANALYSIS_DURATION_LEN], max[ANALYSIS_DURATION_LEN], count[ANALYSIS_COUNT_LEN];
	char thread[64], waker[64], min_block[ANALYSIS_DURATION_LEN];
	size_t i, n = r->offcpu ? r->n_offcpu : 0, shown = n < TOP_STACKS ? n : TOP_STACKS;

	fputs("\nTop off-CPU stacks (by impact: share of all traced thread time)\n", out);
	if (r->min_block_ns)
		fprintf(out,
			"Note: stacks for blocks >= %s; shorter ones count in the tables only.\n",
			analysis__format_duration(r->min_block_ns, min_block, sizeof(min_block)));
	if (r->overhead.offcpu_user_stacks && strcmp(r->overhead.offcpu_user_stacks, "task_work"))
		fprintf(out,
			"Note: this kernel refuses BPF task work: user stacks taken %s "
			"(docs/offcpu.md).\n",
			!strcmp(r->overhead.offcpu_user_stacks, "rseq")
			    ? "on return to user space (rseq), or at switch-out without rseq"
			    : "at every switch-out");
	if (!n) {
		fputs("None recorded.\n", out);
		return;
	}
	for (i = 0; i < shown; i++) {
		const struct report_offcpu *o = &r->offcpu[i];

		fprintf(out, "%3zu. %-9s total %s  count %s  max %s  impact %.1f%% (%s)\n", i + 1,
			offcpu_reason__name(o->reason),
			analysis__format_duration(o->total_ns, total, sizeof(total)),
			analysis__format_count(o->count, count, sizeof(count)),
			analysis__format_duration(o->max_ns, max, sizeof(max)), o->impact * PERCENT,
			severity__name(o->severity));
		fprintf(out, "     thread %s",
			thread_name(o->pid, o->tid, o->comm, thread, sizeof(thread)));
		if (o->waker_pid || o->waker_tid)
			fprintf(out, ", woken by %s",
				thread_name(o->waker_pid, o->waker_tid, o->waker_comm, waker,
					    sizeof(waker)));
		fputc('\n', out);
		print_frames(&o->kernel_stack, true, out);
		print_frames(&o->user_stack, false, out);
		if (!o->kernel_stack.n_frames && !o->user_stack.n_frames)
			fputs(FRAME_INDENT "(no stack captured)\n", out);
		if (o->waker_kernel_stack.n_frames || o->waker_user_stack.n_frames) {
			fputs("     waker's stack:\n", out);
			print_frames(&o->waker_kernel_stack, true, out);
			print_frames(&o->waker_user_stack, false, out);
		}
	}
	print_more(shown, n, "off-CPU stacks", out);
}

/* Threads: off-CPU time descending, then pid and tid. */
static int cmp_thread_offcpu(const void *a, const void *b)
{
	const struct report_thread_sched *ta = a, *tb = b;

	if (ta->offcpu_ns != tb->offcpu_ns)
		return ta->offcpu_ns > tb->offcpu_ns ? -1 : 1;
	if (ta->pid != tb->pid)
		return ta->pid < tb->pid ? -1 : 1;
	return ta->tid < tb->tid ? -1 : ta->tid > tb->tid;
}

/*
 * "Threads": the TOP_THREADS threads with the most off-CPU time. RUNQ-P99 is
 * "-" when the run-queue histogram is empty (a real wait is never 0 ns).
 */
static int print_threads(const struct report *r, FILE *out)
{
	char comm[COMM_WIDTH + 1], t[5][ANALYSIS_DURATION_LEN];
	char vol[ANALYSIS_COUNT_LEN], invol[ANALYSIS_COUNT_LEN];
	size_t *order, i, n = r->sched ? r->n_sched : 0, shown = n < TOP_THREADS ? n : TOP_THREADS;

	if (!n)
		return 0;
	order = analysis__order(r->sched, n, sizeof(*r->sched), cmp_thread_offcpu);
	if (!order)
		return -ENOMEM;
	fprintf(out, "\nThreads (by off-CPU time)\n");
	fprintf(out, "%*s %*s %-*s %*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, "PID", PID_WIDTH,
		"TID", COMM_WIDTH, "COMM", SCHED_TIME_WIDTH, "ON-CPU", SCHED_TIME_WIDTH, "OFF-CPU",
		SCHED_TIME_WIDTH, "BLOCKED", SCHED_TIME_WIDTH, "RUNQ", SCHED_TIME_WIDTH + 1,
		"RUNQ-P99", SWITCH_WIDTH, "VOL-SW", SWITCH_WIDTH, "INVOL-SW");
	for (i = 0; i < shown; i++) {
		const struct report_thread_sched *th = &r->sched[order[i]];

		fprintf(
		    out, "%*d %*d %-*s %*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, th->pid,
		    PID_WIDTH, th->tid, COMM_WIDTH,
		    fit(str_or_dash(th->comm), COMM_WIDTH, comm, sizeof(comm)), SCHED_TIME_WIDTH,
		    analysis__format_duration(th->oncpu_ns, t[0], sizeof(t[0])), SCHED_TIME_WIDTH,
		    analysis__format_duration(th->offcpu_ns, t[1], sizeof(t[1])), SCHED_TIME_WIDTH,
		    analysis__format_duration(th->blocked_ns, t[2], sizeof(t[2])), SCHED_TIME_WIDTH,
		    analysis__format_duration(th->runq_total_ns, t[3], sizeof(t[3])),
		    SCHED_TIME_WIDTH + 1,
		    time_cell(th->runq_p99_ns, th->runq_p99_ns, t[4], sizeof(t[4])), SWITCH_WIDTH,
		    analysis__format_count(th->voluntary_switches, vol, sizeof(vol)), SWITCH_WIDTH,
		    analysis__format_count(th->involuntary_switches, invol, sizeof(invol)));
	}
	free(order);
	print_more(shown, n, "threads", out);
	return 0;
}

/* The scheduler sections: where time went, top off-CPU stacks, threads. */
static int print_sched(const struct report *r, const struct analysis_process *procs, size_t n_procs,
		       FILE *out)
{
	int err = print_processes(procs, n_procs, r->n_functions ? "\n" : "", out);

	if (err)
		return err;
	print_offcpu(r, out);
	return print_threads(r, out);
}

/* The average size of count I/Os of bytes in all ("-" when there were none). */
static const char *avg_size_cell(uint64_t bytes, uint64_t count, char *buf, size_t size)
{
	if (!count)
		return "-";
	return format_bytes(bytes / count, buf, size);
}

/* "; small = below 4.0KiB" for a section title ("" when unknown). */
static const char *small_note(const struct report *r, char *buf, size_t size)
{
	char b[BYTES_LEN];

	if (!r->small_io_bytes)
		return "";
	snprintf(buf, size, "; small = below %s", format_bytes(r->small_io_bytes, b, sizeof(b)));
	return buf;
}

/* Block requests by issuing process, device and operation (the report's order). */
static void print_block_io(const struct report *r, const struct render_opts *o, const char *lead,
			   FILE *out)
{
	char comm[COMM_WIDTH + 1], dev[DEVICE_WIDTH + 1], op[OP_WIDTH + 1], maj_min[24];
	char count[ANALYSIS_COUNT_LEN], bytes[BYTES_LEN], avg[BYTES_LEN];
	char t[3][ANALYSIS_DURATION_LEN];
	size_t i, n = r->block_io ? r->n_block_io : 0, shown = n < TOP_IO_ROWS ? n : TOP_IO_ROWS;

	fprintf(out,
		"%sBlock I/O (by issuing process; buffered writes appear under the kernel "
		"flusher)\n",
		lead);
	if (!n) {
		fputs("None seen.\n", out);
		return;
	}
	fprintf(out, "%*s %-*s %-*s %-*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, "PID", COMM_WIDTH,
		"COMM", DEVICE_WIDTH, "DEVICE", OP_WIDTH, "OP", IO_COUNT_WIDTH, "COUNT",
		BYTES_WIDTH, "BYTES", AVG_SIZE_WIDTH, "AVG-SIZE", TIME_WIDTH, "P50", TIME_WIDTH,
		"P99", TIME_WIDTH, "MAX");
	for (i = 0; i < shown; i++) {
		const struct report_block_io *b = &r->block_io[i];
		const char *device = b->device;

		if (!device) {
			snprintf(maj_min, sizeof(maj_min), "%u:%u", b->major, b->minor);
			device = maj_min;
		}
		fprintf(out, "%*d %-*s %-*s %-*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, b->pid,
			COMM_WIDTH, fit(str_or_dash(b->comm), COMM_WIDTH, comm, sizeof(comm)),
			DEVICE_WIDTH, fit(device, DEVICE_WIDTH, dev, sizeof(dev)), OP_WIDTH,
			fit(str_or_dash(b->op), OP_WIDTH, op, sizeof(op)), IO_COUNT_WIDTH,
			analysis__format_count(b->count, count, sizeof(count)), BYTES_WIDTH,
			format_bytes(b->bytes, bytes, sizeof(bytes)), AVG_SIZE_WIDTH,
			avg_size_cell(b->bytes, b->count, avg, sizeof(avg)), TIME_WIDTH,
			time_cell(b->count, b->p50_ns, t[0], sizeof(t[0])), TIME_WIDTH,
			time_cell(b->count, b->p99_ns, t[1], sizeof(t[1])), TIME_WIDTH,
			time_cell(b->count, b->max_ns, t[2], sizeof(t[2])));
		/* A blank line between a row's histogram and the next row. */
		if (o->histogram &&
		    print_histogram(b->size_hist, SNAG_SIZE_HIST_BUCKETS, size_label, out) &&
		    i + 1 < shown)
			fputc('\n', out);
	}
	print_more(shown, n, "block I/O rows", out);
	fputs("Latency is from request start to completion, time queued in the I/O scheduler "
	      "included.\n",
	      out);
}

/*
 * A socket's kind in one cell: the protocol with its family ("tcp/ipv6"), or
 * with its type when the family says nothing more ("unix/stream").
 */
static const char *proto_cell(const struct report_net_io *n, char *buf, size_t size)
{
	const char *proto = str_or_dash(n->protocol);

	if (n->family && *n->family && strcmp(n->family, proto))
		snprintf(buf, size, "%s/%s", proto, n->family);
	else if (n->type && *n->type)
		snprintf(buf, size, "%s/%s", proto, n->type);
	else
		snprintf(buf, size, "%s", proto);
	return buf;
}

/* Socket sends and receives by process, protocol and direction (the report's order). */
static void print_net_io(const struct report *r, FILE *out)
{
	char comm[COMM_WIDTH + 1], kind[LINE_WIDTH + 1], proto[PROTO_WIDTH + 1], note[48];
	char count[ANALYSIS_COUNT_LEN], errors[ANALYSIS_COUNT_LEN], bytes[BYTES_LEN];
	char avg[BYTES_LEN], small[16];
	size_t i, n = r->net_io ? r->n_net_io : 0, shown = n < TOP_IO_ROWS ? n : TOP_IO_ROWS;

	fprintf(out, "\nNetwork I/O (socket sends and receives%s)\n",
		small_note(r, note, sizeof(note)));
	if (!n) {
		fputs("None seen.\n", out);
		return;
	}
	fprintf(out, "%*s %-*s %-*s %-*s %*s %*s %*s %*s %*s\n", PID_WIDTH, "PID", COMM_WIDTH,
		"COMM", PROTO_WIDTH, "PROTO", DIR_WIDTH, "DIR", IO_COUNT_WIDTH, "COUNT",
		BYTES_WIDTH, "BYTES", AVG_SIZE_WIDTH, "AVG-SIZE", SMALL_WIDTH, "SMALL%",
		ERRORS_WIDTH, "ERRORS");
	for (i = 0; i < shown; i++) {
		const struct report_net_io *ni = &r->net_io[i];

		fprintf(out, "%*d %-*s %-*s %-*s %*s %*s %*s %*s %*s\n", PID_WIDTH, ni->pid,
			COMM_WIDTH, fit(str_or_dash(ni->comm), COMM_WIDTH, comm, sizeof(comm)),
			PROTO_WIDTH,
			fit(proto_cell(ni, kind, sizeof(kind)), PROTO_WIDTH, proto, sizeof(proto)),
			DIR_WIDTH, net_direction__name(ni->direction), IO_COUNT_WIDTH,
			analysis__format_count(ni->count, count, sizeof(count)), BYTES_WIDTH,
			format_bytes(ni->bytes, bytes, sizeof(bytes)), AVG_SIZE_WIDTH,
			avg_size_cell(ni->bytes, ni->count, avg, sizeof(avg)), SMALL_WIDTH,
			pct_cell(ni->small_count, ni->count, small, sizeof(small)), ERRORS_WIDTH,
			analysis__format_count(ni->errors, errors, sizeof(errors)));
	}
	print_more(shown, n, "network I/O rows", out);
}

/*
 * TCP connections (the report's order): the address columns share what the
 * fixed ones leave of the line; a longer address keeps its end (the port).
 */
static void print_net_conns(const struct report *r, FILE *out)
{
	char comm[COMM_WIDTH + 1], local[LINE_WIDTH + 1], remote[LINE_WIDTH + 1], pid[16];
	char sent[BYTES_LEN], recv[BYTES_LEN], retrans[ANALYSIS_COUNT_LEN];
	size_t i, n = r->net_conns ? r->n_net_conns : 0, shown = n < TOP_IO_ROWS ? n : TOP_IO_ROWS;
	size_t lw = strlen("LOCAL"), rw = strlen("REMOTE"), avail;

	fputs("\nTCP connections (bytes sent and received; PID - when only retransmits were "
	      "seen)\n",
	      out);
	if (!n) {
		fputs("None seen.\n", out);
		return;
	}
	for (i = 0; i < shown; i++) {
		size_t ll = strlen(str_or_dash(r->net_conns[i].local));
		size_t rl = strlen(str_or_dash(r->net_conns[i].remote));

		lw = ll > lw ? ll : lw;
		rw = rl > rw ? rl : rw;
	}
	avail = LINE_WIDTH - (PID_WIDTH + 1 + COMM_WIDTH + 1 + 1 + 1 + BYTES_WIDTH + 1 +
			      BYTES_WIDTH + 1 + RETRANS_WIDTH);
	if (lw + rw > avail) {
		if (lw <= avail / 2)
			rw = avail - lw;
		else if (rw <= avail - avail / 2)
			lw = avail - rw;
		else {
			lw = avail / 2;
			rw = avail - lw;
		}
	}
	fprintf(out, "%*s %-*s %-*s %-*s %*s %*s %*s\n", PID_WIDTH, "PID", COMM_WIDTH, "COMM",
		(int)lw, "LOCAL", (int)rw, "REMOTE", BYTES_WIDTH, "SENT", BYTES_WIDTH, "RECV",
		RETRANS_WIDTH, "RETRANS");
	for (i = 0; i < shown; i++) {
		const struct report_net_conn *c = &r->net_conns[i];

		if (c->pid)
			snprintf(pid, sizeof(pid), "%d", c->pid);
		else
			snprintf(pid, sizeof(pid), "-");
		fprintf(out, "%*s %-*s %-*s %-*s %*s %*s %*s\n", PID_WIDTH, pid, COMM_WIDTH,
			fit(str_or_dash(c->comm), COMM_WIDTH, comm, sizeof(comm)), (int)lw,
			fit_tail(str_or_dash(c->local), lw, local, sizeof(local)), (int)rw,
			fit_tail(str_or_dash(c->remote), rw, remote, sizeof(remote)), BYTES_WIDTH,
			format_bytes(c->send_bytes, sent, sizeof(sent)), BYTES_WIDTH,
			format_bytes(c->recv_bytes, recv, sizeof(recv)), RETRANS_WIDTH,
			analysis__format_count(c->retransmits, retrans, sizeof(retrans)));
	}
	print_more(shown, n, "TCP connections", out);
}

/* read/write-family syscalls by process, syscall and fd type (the report's order). */
static void print_syscall_io(const struct report *r, const struct render_opts *o, FILE *out)
{
	char comm[COMM_WIDTH + 1], sc[SYSCALL_WIDTH + 1], fd[FD_WIDTH + 1], note[48];
	char count[ANALYSIS_COUNT_LEN], errors[ANALYSIS_COUNT_LEN], bytes[BYTES_LEN];
	char avg[BYTES_LEN], small[16], t[2][ANALYSIS_DURATION_LEN];
	size_t i, n = r->syscall_io ? r->n_syscall_io : 0,
		  shown = n < TOP_IO_ROWS ? n : TOP_IO_ROWS;

	fprintf(out, "\nSyscall I/O (read/write family, by process and fd type%s)\n",
		small_note(r, note, sizeof(note)));
	if (!n) {
		fputs("None seen.\n", out);
		return;
	}
	fprintf(out, "%*s %-*s %-*s %-*s %*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, "PID",
		COMM_WIDTH, "COMM", SYSCALL_WIDTH, "SYSCALL", FD_WIDTH, "FD", IO_COUNT_WIDTH,
		"COUNT", BYTES_WIDTH, "BYTES", AVG_SIZE_WIDTH, "AVG-SIZE", SMALL_WIDTH, "SMALL%",
		ERRORS_WIDTH, "ERRORS", TIME_WIDTH, "P50", TIME_WIDTH, "P99");
	for (i = 0; i < shown; i++) {
		const struct report_syscall_io *s = &r->syscall_io[i];
		/* Latencies include failed calls. */
		uint64_t calls = s->count + s->errors;

		fprintf(out, "%*d %-*s %-*s %-*s %*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, s->pid,
			COMM_WIDTH, fit(str_or_dash(s->comm), COMM_WIDTH, comm, sizeof(comm)),
			SYSCALL_WIDTH, fit(str_or_dash(s->syscall), SYSCALL_WIDTH, sc, sizeof(sc)),
			FD_WIDTH, fit(str_or_dash(s->fd_type), FD_WIDTH, fd, sizeof(fd)),
			IO_COUNT_WIDTH, analysis__format_count(s->count, count, sizeof(count)),
			BYTES_WIDTH, format_bytes(s->bytes, bytes, sizeof(bytes)), AVG_SIZE_WIDTH,
			avg_size_cell(s->bytes, s->count, avg, sizeof(avg)), SMALL_WIDTH,
			pct_cell(s->small_count, s->count, small, sizeof(small)), ERRORS_WIDTH,
			analysis__format_count(s->errors, errors, sizeof(errors)), TIME_WIDTH,
			time_cell(calls, s->p50_ns, t[0], sizeof(t[0])), TIME_WIDTH,
			time_cell(calls, s->p99_ns, t[1], sizeof(t[1])));
		/* A blank line between a row's histogram and the next row. */
		if (o->histogram &&
		    print_histogram(s->size_hist, SNAG_SIZE_HIST_BUCKETS, size_label, out) &&
		    i + 1 < shown)
			fputc('\n', out);
	}
	print_more(shown, n, "syscall I/O rows", out);
}

/* The I/O collector's sections: block, network, TCP connections, syscalls. */
static void print_io(const struct report *r, const struct render_opts *o, const char *lead,
		     FILE *out)
{
	print_block_io(r, o, lead, out);
	print_net_io(r, out);
	print_net_conns(r, out);
	print_syscall_io(r, o, out);
}

/* ---- On-CPU sampling (--cpu) ---- */

#define TOP_CPU_FUNCTIONS 15
#define CPU_NAME_WIDTH	  34
#define SAMPLES_WIDTH	  9 /* "1,234,567" */
#define SOURCE_WIDTH	  24
#define INCOMPLETE_FRAME  "[callers unknown: the stack walk lost them (no frame pointers)]"

/* Processes: on-CPU samples, then scheduler on-CPU time, descending, then pid. */
static int cmp_process_samples(const void *a, const void *b)
{
	const struct analysis_process *pa = a, *pb = b;

	if (pa->cpu_samples != pb->cpu_samples)
		return pa->cpu_samples > pb->cpu_samples ? -1 : 1;
	if (pa->oncpu_ns != pb->oncpu_ns)
		return pa->oncpu_ns > pb->oncpu_ns ? -1 : 1;
	return pa->pid < pb->pid ? -1 : pa->pid > pb->pid;
}

/* Per process: samples, the time they stand for, and the scheduler's on-CPU time when it ran. */
static int print_cpu_processes(const struct report *r, FILE *out)
{
	struct analysis_process *procs = NULL;
	char comm[COMM_WIDTH + 1], count[ANALYSIS_COUNT_LEN], t[2][ANALYSIS_DURATION_LEN];
	size_t n = 0, shown, *order;
	int err;

	/* The scheduler's processes when it ran; else one row per pid of the samples. */
	err = analysis__processes(r, &procs, &n);
	if (err)
		return err;
	fprintf(out, "%*s %-*s %*s %*s %*s\n", PID_WIDTH, "PID", COMM_WIDTH, "COMM", SAMPLES_WIDTH,
		"SAMPLES", SCHED_TIME_WIDTH + 1, "SAMPLED", SCHED_TIME_WIDTH + 1, "ON-CPU");
	if (!n) {
		/* No scheduler rows: sum the entries per pid (they are few processes, usually one).
		 */
		for (size_t i = 0; r->cpu && i < r->n_cpu; i++) {
			uint64_t samples = 0;
			bool seen = false;

			for (size_t j = 0; j < i && !seen; j++)
				seen = r->cpu[j].pid == r->cpu[i].pid;
			if (seen)
				continue;
			for (size_t j = i; j < r->n_cpu; j++)
				if (r->cpu[j].pid == r->cpu[i].pid)
					samples += r->cpu[j].samples;
			fprintf(out, "%*d %-*s %*s %*s %*s\n", PID_WIDTH, r->cpu[i].pid, COMM_WIDTH,
				fit(str_or_dash(r->cpu[i].comm), COMM_WIDTH, comm, sizeof(comm)),
				SAMPLES_WIDTH,
				analysis__format_count(samples, count, sizeof(count)),
				SCHED_TIME_WIDTH + 1,
				analysis__format_duration(samples * r->cpu_period_ns, t[0],
							  sizeof(t[0])),
				SCHED_TIME_WIDTH + 1, "-");
		}
		return 0;
	}
	order = analysis__order(procs, n, sizeof(*procs), cmp_process_samples);
	if (!order) {
		free(procs);
		return -ENOMEM;
	}
	shown = n < TOP_PROCESSES ? n : TOP_PROCESSES;
	for (size_t i = 0; i < shown; i++) {
		const struct analysis_process *p = &procs[order[i]];

		fprintf(out, "%*d %-*s %*s %*s %*s\n", PID_WIDTH, p->pid, COMM_WIDTH,
			fit(str_or_dash(p->comm), COMM_WIDTH, comm, sizeof(comm)), SAMPLES_WIDTH,
			analysis__format_count(p->cpu_samples, count, sizeof(count)),
			SCHED_TIME_WIDTH + 1,
			analysis__format_duration(p->oncpu_sampled_ns, t[0], sizeof(t[0])),
			SCHED_TIME_WIDTH + 1,
			analysis__format_duration(p->oncpu_ns, t[1], sizeof(t[1])));
	}
	print_more(shown, n, "processes", out);
	fputs("SAMPLED is samples x period; ON-CPU is the scheduler's exact count of the same "
	      "time.\n",
	      out);
	free(order);
	free(procs);
	return 0;
}

/* The hottest line of function f, as "cpu.c:36 (92%)", or "" (buf). */
static const char *source_cell(const struct report *r, const struct report_cpu_function *f,
			       char *buf, size_t size)
{
	const struct report_cpu_line *best = NULL;
	const char *file;

	buf[0] = '\0';
	for (size_t i = 0; !f->kernel && r->cpu_lines && i < r->n_cpu_lines; i++)
		if (r->cpu_lines[i].function && !strcmp(r->cpu_lines[i].function, f->name) &&
		    (!best || r->cpu_lines[i].samples > best->samples))
			best = &r->cpu_lines[i];
	if (!best || !f->self_samples)
		return buf;
	file = base_name(best->file);
	snprintf(buf, size, "%s:%u (%.0f%%)", file, best->line,
		 (double)best->samples * PERCENT / (double)f->self_samples);
	return buf;
}

static int cmp_cpu_total(const void *a, const void *b)
{
	const struct report_cpu_function *x = a, *y = b;

	if (x->total_samples != y->total_samples)
		return x->total_samples > y->total_samples ? -1 : 1;
	return x->self_samples > y->self_samples ? -1 : x->self_samples < y->self_samples;
}

/* A table of functions in order (indices into r->cpu_functions), self or total first. */
static void print_cpu_functions(const struct report *r, const size_t *order, size_t n, FILE *out)
{
	char name[CPU_NAME_WIDTH + 8], self[ANALYSIS_COUNT_LEN], total[ANALYSIS_COUNT_LEN];
	char src[LINE_WIDTH], src_fit[SOURCE_WIDTH + 1], sh[2][16];
	uint64_t all = analysis__cpu_samples(r);
	size_t shown = n < TOP_CPU_FUNCTIONS ? n : TOP_CPU_FUNCTIONS;

	fprintf(out, "%-*s %*s %*s %*s %*s %*s  %s\n", CPU_NAME_WIDTH, "FUNCTION", SAMPLES_WIDTH,
		"SELF", SHARE_WIDTH - 1, "SELF%", SAMPLES_WIDTH, "TOTAL", SHARE_WIDTH - 1, "TOTAL%",
		IMPACT_WIDTH, "IMPACT", "HOTTEST LINE");
	for (size_t i = 0; i < shown; i++) {
		const struct report_cpu_function *f = &r->cpu_functions[order ? order[i] : i];
		char label[LINE_WIDTH + 8], impact[16];

		snprintf(label, sizeof(label), "%s%s", f->kernel ? "[k] " : "", f->name);
		snprintf(impact, sizeof(impact), "%.1f%%", f->self_impact * PERCENT);
		fprintf(
		    out, "%-*s %*s %*s %*s %*s %*s  %s\n", CPU_NAME_WIDTH,
		    fit(label, CPU_NAME_WIDTH, name, sizeof(name)), SAMPLES_WIDTH,
		    analysis__format_count(f->self_samples, self, sizeof(self)), SHARE_WIDTH - 1,
		    pct_cell(f->self_samples, all, sh[0], sizeof(sh[0])), SAMPLES_WIDTH,
		    analysis__format_count(f->total_samples, total, sizeof(total)), SHARE_WIDTH - 1,
		    pct_cell(f->total_samples, all, sh[1], sizeof(sh[1])), IMPACT_WIDTH, impact,
		    fit(source_cell(r, f, src, sizeof(src)), SOURCE_WIDTH, src_fit,
			sizeof(src_fit)));
	}
	print_more(shown, n, "functions", out);
}

/* The top on-CPU stacks (the report's order: most samples first). */
static void print_cpu_stacks(const struct report *r, FILE *out)
{
	char count[ANALYSIS_COUNT_LEN], t[ANALYSIS_DURATION_LEN], thread[64];
	size_t n = r->cpu ? r->n_cpu : 0, shown = n < TOP_STACKS ? n : TOP_STACKS;

	fputs("\nTop on-CPU stacks (by samples)\n", out);
	for (size_t i = 0; i < shown; i++) {
		const struct report_cpu *c = &r->cpu[i];

		fprintf(out, "%3zu. samples %s  time %s  impact %.1f%% (%s)\n", i + 1,
			analysis__format_count(c->samples, count, sizeof(count)),
			analysis__format_duration(c->oncpu_ns, t, sizeof(t)), c->impact * PERCENT,
			severity__name(c->severity));
		fprintf(out, "     thread %s\n",
			thread_name(c->pid, c->tid, c->comm, thread, sizeof(thread)));
		print_frames(&c->kernel_stack, true, out);
		print_frames(&c->user_stack, false, out);
		if (c->user_incomplete)
			fputs(FRAME_INDENT "    " INCOMPLETE_FRAME "\n", out);
		if (!c->kernel_stack.n_frames && !c->user_stack.n_frames)
			fputs(FRAME_INDENT "(no stack captured)\n", out);
	}
	print_more(shown, n, "on-CPU stacks", out);
}

/* One warning per binary whose stacks lose their callers, with the fix. */
static int print_cpu_warnings(const struct report *r, FILE *out)
{
	for (size_t i = 0; r->cpu_warnings && i < r->n_cpu_warnings; i++) {
		const struct report_cpu_warning *w = &r->cpu_warnings[i];
		char inc[ANALYSIS_COUNT_LEN], all[ANALYSIS_COUNT_LEN], checked[64] = "";
		char *line = NULL;

		if (w->functions_checked)
			snprintf(checked, sizeof(checked),
				 " (%llu of %llu functions set up a frame pointer)",
				 (unsigned long long)w->fp_functions,
				 (unsigned long long)w->functions_checked);
		if (asprintf(
			&line,
			"Warning: %s has no frame pointers%s: the user stacks of %s of its %s "
			"samples stop in it or skip frames, so their callers are unknown. "
			"Rebuild it with -fno-omit-frame-pointer (gcc, clang; also "
			"-mno-omit-leaf-frame-pointer), or use a distribution build with frame "
			"pointers.",
			str_or_dash(w->binary), checked,
			analysis__format_count(w->incomplete_samples, inc, sizeof(inc)),
			analysis__format_count(w->samples, all, sizeof(all))) < 0)
			return -ENOMEM;
		print_wrapped(out, "", "  ", line);
		free(line);
	}
	return 0;
}

/* The on-CPU sections: per process, top functions (self, total), top stacks, warnings. */
static int print_cpu(const struct report *r, const char *lead, FILE *out)
{
	char period[ANALYSIS_DURATION_LEN], total[ANALYSIS_DURATION_LEN], count[ANALYSIS_COUNT_LEN];
	uint64_t all = analysis__cpu_samples(r);
	size_t *order;
	int err;

	fprintf(out, "%sOn-CPU samples (%llu Hz: one sample per %s of CPU time; %s samples = %s)\n",
		lead, (unsigned long long)r->cpu_frequency_hz,
		analysis__format_duration(r->cpu_period_ns, period, sizeof(period)),
		analysis__format_count(all, count, sizeof(count)),
		analysis__format_duration(all * r->cpu_period_ns, total, sizeof(total)));
	if (!all) {
		fputs("None: no traced thread was seen running.\n", out);
		return print_cpu_warnings(r, out);
	}
	err = print_cpu_processes(r, out);
	if (err)
		return err;
	fputs("\nTop functions by self samples (running when sampled; IMPACT: share of thread "
	      "time)\n",
	      out);
	print_cpu_functions(r, NULL, r->n_cpu_functions, out);
	order = analysis__order(r->cpu_functions, r->n_cpu_functions, sizeof(*r->cpu_functions),
				cmp_cpu_total);
	if (!order)
		return -ENOMEM;
	fputs("\nTop functions by total samples (running, or calling what ran)\n", out);
	print_cpu_functions(r, order, r->n_cpu_functions, out);
	free(order);
	print_cpu_stacks(r, out);
	if (r->n_cpu_warnings)
		fputc('\n', out);
	return print_cpu_warnings(r, out);
}

/* ---- Memory collector (--mem) ---- */

#define RSS_WIDTH	 8 /* "1023KiB", "99.9MiB" */
#define FAULTS_WIDTH	 9
#define MEM_SOURCE_WIDTH 4 /* "heap", "mmap" */
#define SITE_MIN	 12
#define TOP_MEM_STACK	 10

/* A signed byte count ("-" for an unmeasured value). */
static const char *sbytes_cell(int64_t v, char *buf, size_t size)
{
	char tmp[BYTES_LEN];

	if (v == REPORT_SERIES_NONE)
		return "-";
	if (v >= 0)
		return format_bytes((uint64_t)v, buf, size);
	snprintf(buf, size, "-%s", format_bytes((uint64_t)-v, tmp, sizeof(tmp)));
	return buf;
}

/* A growth rate as "+97.7KiB/s" ("-" when not fitted). */
static const char *rate_cell(bool fitted, double v, char *buf, size_t size)
{
	char b[BYTES_LEN];

	if (!fitted)
		return "-";
	snprintf(buf, size, "%s%s/s", v < 0 ? "-" : "+",
		 format_bytes((uint64_t)(v < 0 ? -v : v), b, sizeof(b)));
	return buf;
}

/* The last measured value of a series, or REPORT_SERIES_NONE. */
static int64_t last_value(const int64_t *v, size_t n)
{
	while (v && n--)
		if (v[n] != REPORT_SERIES_NONE)
			return v[n];
	return REPORT_SERIES_NONE;
}

/* "Memory": per process, RSS at the end, its peak, its growth, page faults. */
static void print_memory(const struct report *r, FILE *out)
{
	char comm[COMM_WIDTH + 1], c[5][BYTES_LEN + 4], minflt[ANALYSIS_COUNT_LEN];
	char majflt[ANALYSIS_COUNT_LEN];

	fputs("Memory (per process: RSS at the end of the trace, its peak sampled at interval "
	      "ends and the\nkernel's high-water mark, growth fitted over the intervals, page "
	      "faults)\n",
	      out);
	if (!r->memory || !r->n_memory) {
		fputs("No process was sampled.\n", out);
		return;
	}
	fprintf(out, "%*s %-*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, "PID", COMM_WIDTH, "COMM",
		RSS_WIDTH, "RSS", RSS_WIDTH, "PEAK", RSS_WIDTH, "HWM", RSS_WIDTH + 4, "GROWTH",
		FAULTS_WIDTH, "MINFLT", FAULTS_WIDTH, "MAJFLT");
	for (size_t i = 0; i < r->n_memory; i++) {
		const struct report_memory *m = &r->memory[i];

		fprintf(out, "%*d %-*s %*s %*s %*s %*s %*s %*s\n", PID_WIDTH, m->pid, COMM_WIDTH,
			fit(str_or_dash(m->comm), COMM_WIDTH, comm, sizeof(comm)), RSS_WIDTH,
			sbytes_cell(last_value(m->rss_bytes, m->n), c[0], sizeof(c[0])), RSS_WIDTH,
			m->peak_rss_bytes ? format_bytes(m->peak_rss_bytes, c[1], sizeof(c[1]))
					  : "-",
			RSS_WIDTH,
			m->hwm_rss_bytes ? format_bytes(m->hwm_rss_bytes, c[2], sizeof(c[2])) : "-",
			RSS_WIDTH + 4,
			rate_cell(m->growth_fitted, m->rss_growth_bytes_per_s, c[3], sizeof(c[3])),
			FAULTS_WIDTH,
			analysis__format_count(m->minor_faults_total, minflt, sizeof(minflt)),
			FAULTS_WIDTH,
			analysis__format_count(m->major_faults_total, majflt, sizeof(majflt)));
	}
}

/* "Outstanding allocations": the stacks holding the most bytes at the end, with their frames. */
static void print_outstanding(const struct report *r, FILE *out)
{
	char b[4][BYTES_LEN + 4], n[3][ANALYSIS_COUNT_LEN], r2[16], thread[64];
	size_t shown = 0, total = 0;

	fputs("\nOutstanding allocations by stack (allocated since the trace began, not freed at "
	      "its end)\n",
	      out);
	for (size_t i = 0; r->allocations && i < r->n_allocations; i++)
		total += r->allocations[i].outstanding_bytes > 0;
	if (!total) {
		fputs("None: every block allocated during the trace was freed.\n", out);
		return;
	}
	for (size_t i = 0; i < r->n_allocations && shown < TOP_MEM_STACK; i++) {
		const struct report_allocation *a = &r->allocations[i];

		if (a->outstanding_bytes <= 0)
			continue;
		snprintf(r2, sizeof(r2), a->growth_fitted ? " (R^2 %.2f)" : "", a->growth_r2);
		fprintf(out,
			"%3zu. %s %s in %s block%s, growth %s%s; allocated %s (%s), freed %s\n",
			++shown, str_or_dash(a->source),
			sbytes_cell(a->outstanding_bytes, b[0], sizeof(b[0])),
			analysis__format_count((uint64_t)a->outstanding_count, n[0], sizeof(n[0])),
			a->outstanding_count == 1 ? "" : "s",
			rate_cell(a->growth_fitted, a->growth_bytes_per_s, b[1], sizeof(b[1])), r2,
			analysis__format_count(a->total_allocs, n[1], sizeof(n[1])),
			format_bytes(a->total_bytes, b[2], sizeof(b[2])),
			analysis__format_count(a->freed_allocs, n[2], sizeof(n[2])));
		fprintf(out, "     process %s\n",
			thread_name(a->pid, 0, a->comm, thread, sizeof(thread)));
		if (a->stack.n_frames)
			print_frames(&a->stack, false, out);
		else
			fputs(FRAME_INDENT "    (no stack: see mem_no_user_stack)\n", out);
	}
	print_more(shown, total, "stacks with outstanding bytes", out);
}

/* Allocation rows: allocations, then bytes, both descending. */
static int cmp_alloc_count(const void *a, const void *b)
{
	const struct report_allocation *x = a, *y = b;

	if (x->total_allocs != y->total_allocs)
		return x->total_allocs > y->total_allocs ? -1 : 1;
	if (x->total_bytes != y->total_bytes)
		return x->total_bytes > y->total_bytes ? -1 : 1;
	return 0;
}

/* "Allocation hotspots": the stacks that allocate most often, with their blocks' lifetimes. */
static int print_hotspots(const struct report *r, FILE *out)
{
	char comm[COMM_WIDTH + 1], cnt[2][ANALYSIS_COUNT_LEN], b[2][BYTES_LEN], life[16], fr[16];
	char site[LINE_WIDTH + 1];
	size_t n = r->allocations ? r->n_allocations : 0, shown = n < TOP_IO_ROWS ? n : TOP_IO_ROWS;
	double secs = (double)r->duration_ns / 1e9;
	size_t fixed = PID_WIDTH + 1 + COMM_WIDTH + 1 + MEM_SOURCE_WIDTH + 1 + IO_COUNT_WIDTH + 1 +
		       IO_COUNT_WIDTH + 1 + BYTES_WIDTH + 1 + AVG_SIZE_WIDTH + 1 + SMALL_WIDTH + 1 +
		       TIME_WIDTH + 2 + 1;
	size_t site_w = LINE_WIDTH > fixed + SITE_MIN ? LINE_WIDTH - fixed : SITE_MIN;
	size_t *order;

	fputs("\nAllocation hotspots (by allocations; FREED% of them freed within the trace, after "
	      "LIFETIME\non average)\n",
	      out);
	if (!n) {
		fputs("No allocation was recorded.\n", out);
		return 0;
	}
	order = analysis__order(r->allocations, n, sizeof(*r->allocations), cmp_alloc_count);
	if (!order)
		return -ENOMEM;
	fprintf(out, "%*s %-*s %-*s %*s %*s %*s %*s %*s %*s  %s\n", PID_WIDTH, "PID", COMM_WIDTH,
		"COMM", MEM_SOURCE_WIDTH, "KIND", IO_COUNT_WIDTH, "ALLOCS", IO_COUNT_WIDTH,
		"PER-SEC", BYTES_WIDTH, "BYTES", AVG_SIZE_WIDTH, "AVG-SIZE", SMALL_WIDTH, "FREED%",
		TIME_WIDTH + 2, "LIFETIME", "SITE");
	for (size_t i = 0; i < shown; i++) {
		const struct report_allocation *a = &r->allocations[order[i]];
		const char *where = analysis__allocation_site(a);

		fprintf(
		    out, "%*d %-*s %-*s %*s %*s %*s %*s %*s %*s  %s\n", PID_WIDTH, a->pid,
		    COMM_WIDTH, fit(str_or_dash(a->comm), COMM_WIDTH, comm, sizeof(comm)),
		    MEM_SOURCE_WIDTH, str_or_dash(a->source), IO_COUNT_WIDTH,
		    analysis__format_count(a->total_allocs, cnt[0], sizeof(cnt[0])), IO_COUNT_WIDTH,
		    secs > 0 ? analysis__format_count((uint64_t)((double)a->total_allocs / secs),
						      cnt[1], sizeof(cnt[1]))
			     : "-",
		    BYTES_WIDTH, format_bytes(a->total_bytes, b[0], sizeof(b[0])), AVG_SIZE_WIDTH,
		    avg_size_cell(a->total_bytes, a->total_allocs, b[1], sizeof(b[1])), SMALL_WIDTH,
		    pct_cell(a->freed_allocs, a->total_allocs, fr, sizeof(fr)), TIME_WIDTH + 2,
		    a->freed_allocs ? analysis__format_duration(a->lifetime_ns / a->freed_allocs,
								life, sizeof(life))
				    : "-",
		    fit(where ? where : "(no stack)", site_w, site, sizeof(site)));
	}
	free(order);
	print_more(shown, n, "allocation stacks", out);
	return 0;
}

/* The memory collector's sections, and what sampling means for their numbers. */
static int print_mem(const struct report *r, const char *lead, FILE *out)
{
	fputs(lead, out);
	print_memory(r, out);
	print_outstanding(r, out);
	if (r->mem_sample > 1)
		fprintf(out,
			"Sampled: one allocation call in %" PRIu64
			" was recorded; allocation counts and bytes are\nscaled by %" PRIu64
			" (estimates).\n",
			r->mem_sample, r->mem_sample);
	return print_hotspots(r, out);
}

/* What --mem cost beyond the BPF run time: every probed call also takes a uprobe trap. */
static int print_mem_overhead(const struct report *r, FILE *out)
{
	char allocs[ANALYSIS_COUNT_LEN], frees[ANALYSIS_COUNT_LEN], untracked[ANALYSIS_COUNT_LEN];
	char sampled[64] = "every allocation recorded", *line = NULL;
	uint64_t n = 0;
	size_t len = 0;
	FILE *m;

	if (!r->mem_enabled)
		return 0;
	if (r->mem_sample > 1)
		snprintf(sampled, sizeof(sampled), "one allocation in %" PRIu64 " recorded",
			 r->mem_sample);
	for (size_t i = 0; i + 1 < REPORT_MEM_FUNCS; i++)
		n += r->mem_calls[i];
	m = open_memstream(&line, &len);
	if (!m)
		return -ENOMEM;
	fprintf(m,
		"memory: %s allocation and %s free() calls probed; %s; %s frees of blocks not "
		"recorded (allocated before the trace%s). Each probed call also paid the kernel's "
		"uprobe trap: 0.2-0.4 us measured here, not in the BPF run time.",
		analysis__format_count(n, allocs, sizeof(allocs)),
		analysis__format_count(r->mem_calls[REPORT_MEM_FUNCS - 1], frees, sizeof(frees)),
		sampled,
		analysis__format_count(r->mem_untracked_frees, untracked, sizeof(untracked)),
		r->mem_sample > 1 ? ", or not sampled" : "");
	if (!n && !r->mem_calls[REPORT_MEM_FUNCS - 1])
		fputs(" No allocator call was seen: is the program statically linked, or does it "
		      "use another allocator (jemalloc, tcmalloc, its own)? snag probes glibc's.",
		      m);
	if (!memstream_finish(m, &line))
		return -ENOMEM;
	print_wrapped(out, "", "  ", line);
	free(line);
	return 0;
}

/* ---- end of the memory collector's part ---- */

static int print_bottlenecks(const struct report *r, FILE *out)
{
	size_t i, j;

	if (!r->bottlenecks || !r->n_bottlenecks) {
		char runq[80] = "";

		if (r->sched_enabled)
			snprintf(runq, sizeof(runq),
				 ", no process waiting for a CPU above %.0f%% of its time",
				 ANALYSIS_RUNQ_MIN_SHARE * PERCENT);
		fprintf(out,
			"\nBottlenecks: none (no function%s above %.0f%% of %sthread time%s%s)\n",
			r->sched_enabled ? " or off-CPU stack" : "",
			ANALYSIS_BOTTLENECK_MIN_IMPACT * PERCENT, r->sched_enabled ? "" : "traced ",
			runq,
			r->io_enabled	 ? ", no I/O rule met"
			: r->mem_enabled ? ", no memory rule met"
					 : "");
		return 0;
	}
	fputs("\nBottlenecks\n", out);
	for (i = 0; i < r->n_bottlenecks; i++) {
		const struct report_bottleneck *b = &r->bottlenecks[i];
		char prefix[48], *evidence = NULL;
		size_t len = 0;
		FILE *m;

		snprintf(prefix, sizeof(prefix), "%3zu. [%s] ", i + 1, severity__name(b->severity));
		print_wrapped(out, prefix, "      ", b->description);
		if (b->evidence && b->n_evidence) {
			m = open_memstream(&evidence, &len);
			if (!m)
				return -ENOMEM;
			fputs("evidence:", m);
			for (j = 0; j < b->n_evidence; j++) {
				char label[ANALYSIS_EVIDENCE_LABEL_LEN];
				char value[ANALYSIS_EVIDENCE_VALUE_LEN];

				analysis__format_evidence(&b->evidence[j], label, sizeof(label),
							  value, sizeof(value));
				fprintf(m, "%s%s %s", j ? ", " : " ", label, value);
			}
			if (!memstream_finish(m, &evidence))
				return -ENOMEM;
			print_wrapped(out, "      ", "        ", evidence);
			free(evidence);
		}
		for (j = 0; b->recommendations && j < b->n_recommendations; j++)
			print_wrapped(out, "      -> ", "         ", b->recommendations[j]);
	}
	return 0;
}

/* "LABEL: N cause, N cause" for the non-zero counts, wrapped; nothing if all are zero. */
static int print_counts(FILE *out, const char *label, const struct report_drop *list, size_t n)
{
	char item[ANALYSIS_COUNT_LEN], *line = NULL;
	size_t i, len = 0, listed = 0;
	FILE *m;

	for (i = 0; list && i < n && !list[i].count; i++)
		;
	if (!list || i == n)
		return 0;
	m = open_memstream(&line, &len);
	if (!m)
		return -ENOMEM;
	fprintf(m, "%s:", label);
	for (i = 0; i < n; i++) {
		if (!list[i].count)
			continue;
		fprintf(m, "%s %s %s", listed++ ? "," : "",
			analysis__format_count(list[i].count, item, sizeof(item)),
			str_or_dash(list[i].cause));
	}
	if (!memstream_finish(m, &line))
		return -ENOMEM;
	print_wrapped(out, "", "  ", line);
	free(line);
	return 0;
}

/*
 * "snag cost: ..." from the BPF run-time stats, every non-zero drop cause,
 * and the events the kernel did not report that snag rebuilt.
 */
static int print_overhead(const struct report_overhead *oh, FILE *out)
{
	char events[ANALYSIS_COUNT_LEN], dropped[ANALYSIS_COUNT_LEN];
	uint64_t runs = 0, run_ns = 0, drops = 0;
	size_t i;
	int err;

	for (i = 0; oh->programs && i < oh->n_programs; i++) {
		runs += oh->programs[i].runs;
		run_ns += oh->programs[i].run_time_ns;
	}
	for (i = 0; oh->drops && i < oh->n_drops; i++)
		drops += oh->drops[i].count;
	analysis__format_count(runs, events, sizeof(events));
	analysis__format_count(drops, dropped, sizeof(dropped));
	if (runs)
		fprintf(out,
			"\nsnag cost: %" PRIu64
			" ns/event over %s events (BPF run time), %s dropped\n",
			(run_ns + runs / 2) / runs, events, dropped);
	else
		fprintf(out, "\nsnag cost: no BPF program runs recorded, %s dropped\n", dropped);
	err = print_counts(out, "dropped", oh->drops, oh->n_drops);
	if (!err)
		err = print_counts(out, "rebuilt (the kernel did not report them)", oh->recovered,
				   oh->n_recovered);
	return err;
}

int render__text(const struct report *r, const struct render_opts *o, FILE *out)
{
	struct analysis_process *procs = NULL;
	size_t n_procs = 0;
	int err;

	if (r->sched_enabled) {
		err = analysis__processes(r, &procs, &n_procs);
		if (err)
			return err;
	}
	err = print_header(r, n_procs, out);
	if (err)
		goto cleanup;
	print_functions(r, o, out);
	if (r->sched_enabled) {
		err = print_sched(r, procs, n_procs, out);
		if (err)
			goto cleanup;
	}
	if (r->io_enabled)
		print_io(r, o, r->n_functions || r->sched_enabled ? "\n" : "", out);
	if (r->cpu_enabled) {
		err = print_cpu(r, r->n_functions || r->sched_enabled || r->io_enabled ? "\n" : "",
				out);
		if (err)
			goto cleanup;
	}
	if (r->mem_enabled) {
		err = print_mem(r, r->n_functions || r->sched_enabled || r->io_enabled ? "\n" : "",
				out);
		if (err)
			goto cleanup;
	}
	err = print_bottlenecks(r, out);
	if (err)
		goto cleanup;
	err = print_overhead(&r->overhead, out);
	if (!err)
		err = print_mem_overhead(r, out);
cleanup:
	free(procs);
	return err;
}
