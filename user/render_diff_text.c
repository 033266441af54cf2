/* Text renderer of a diff: what got worse, what got better, what changed, one table each. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "analysis.h"
#include "render.h"

#define LINE_WIDTH 100
#define VALUE_LEN  40
#define ELLIPSIS   "..."

/* Heading of each verdict's table. */
static const char *const headings[DIFF_N_VERDICTS] = {
    [DIFF_REGRESSION] = "Regressions (worse in the new report)",
    [DIFF_IMPROVEMENT] = "Improvements (better in the new report)",
    [DIFF_CHANGE] = "Changes in the amount of work (neither better nor worse by themselves)",
};

/* v in the metric's unit, for people: "2.06ms", "1.2%", "476/s", "1.5MiB/s", "950ms/s". */
static const char *format_value(enum diff_unit u, double v, char *buf, size_t size)
{
	char tmp[VALUE_LEN];
	uint64_t n = v > 0 ? (uint64_t)(v + 0.5) : 0;

	switch (u) {
	case DIFF_UNIT_NS:
		return analysis__format_duration(n, buf, size);
	case DIFF_UNIT_NS_PER_S:
		snprintf(buf, size, "%s/s", analysis__format_duration(n, tmp, sizeof(tmp)));
		return buf;
	case DIFF_UNIT_SHARE:
		snprintf(buf, size, "%.1f%%", v * 100);
		return buf;
	case DIFF_UNIT_PER_S:
		if (v >= 100)
			snprintf(buf, size, "%s/s", analysis__format_count(n, tmp, sizeof(tmp)));
		else
			snprintf(buf, size, "%.3g/s", v);
		return buf;
	case DIFF_UNIT_BYTES_PER_S:
		snprintf(buf, size, "%s/s", analysis__format_bytes(n, tmp, sizeof(tmp)));
		return buf;
	}
	return "?";
}

/* "+97.0%", "-48.7%", or "from 0" when the base was 0. */
static const char *format_change(double change, char *buf, size_t size)
{
	if (isinf(change))
		snprintf(buf, size, "from 0");
	else
		snprintf(buf, size, "%+.1f%%", change * 100);
	return buf;
}

/* s cut to width columns, ending in "..." when it was longer. */
static const char *fit(const char *s, size_t width, char *buf, size_t size)
{
	if (strlen(s) <= width || width <= strlen(ELLIPSIS))
		return s;
	snprintf(buf, size, "%.*s" ELLIPSIS, (int)(width - strlen(ELLIPSIS)), s);
	return buf;
}

/*
 * One verdict's entries, grouped by what they are about (they come in
 * kind, key, metric order): the label on its own line, then one line per
 * metric.
 */
static void print_list(const struct diff *d, enum diff_verdict v, FILE *out)
{
	char base[VALUE_LEN], new[VALUE_LEN], change[VALUE_LEN], what[LINE_WIDTH + 1];
	size_t n = d->n_entries[v];

	if (!n) {
		fprintf(out, "%s: none\n", headings[v]);
		return;
	}
	fprintf(out, "%s: %zu\n", headings[v], n);
	for (size_t i = 0; i < n; i++) {
		const struct diff_entry *e = &d->entries[v][i];

		if (!i || strcmp(e->kind, e[-1].kind) || strcmp(e->key, e[-1].key))
			fprintf(out, "  %s\n", fit(e->label, LINE_WIDTH - 2, what, sizeof(what)));
		fprintf(out, "      %-16s %10s -> %-10s %8s\n", e->metric_label,
			format_value(e->unit, e->base, base, sizeof(base)),
			format_value(e->unit, e->new, new, sizeof(new)),
			format_change(e->change, change, sizeof(change)));
	}
}

/* "1 function, 3 off-CPU stacks": what was compared, with what only one side had. */
static void print_compared(const struct diff *d, FILE *out)
{
	static const struct {
		const char *one, *many;
	} nouns[DIFF_N_KINDS] = {
	    {"function", "functions"},
	    {"off-CPU stack", "off-CPU stacks"},
	    {"process", "processes"},
	    {"syscall row", "syscall rows"},
	    {"block I/O row", "block I/O rows"},
	    {"network row", "network rows"},
	};
	bool any = false;

	fputs("Compared:", out);
	for (size_t i = 0; i < DIFF_N_KINDS; i++) {
		const struct diff_kind_count *k = &d->kinds[i];

		if (!k->both && !k->only_base && !k->only_new)
			continue;
		fprintf(out, "%s %zu %s", any ? "," : "", k->both,
			k->both == 1 ? nouns[i].one : nouns[i].many);
		if (k->only_base || k->only_new)
			fprintf(out, " (+%zu only in base, %zu only in new)", k->only_base,
				k->only_new);
		any = true;
	}
	fprintf(out, "%s\n", any ? "" : " nothing (both reports are empty)");
}

int render__diff_text(const struct diff *d, const struct diff_names *names, FILE *out)
{
	char bdur[ANALYSIS_DURATION_LEN], ndur[ANALYSIS_DURATION_LEN];
	char floor[ANALYSIS_DURATION_LEN], rate[ANALYSIS_DURATION_LEN];
	size_t regressions = d->n_entries[DIFF_REGRESSION];

	fprintf(out, "snag diff: %s (%s) -> %s (%s)\n", names->base,
		analysis__format_duration(d->base_duration_ns, bdur, sizeof(bdur)), names->new,
		analysis__format_duration(d->new_duration_ns, ndur, sizeof(ndur)));
	print_compared(d, out);
	fprintf(
	    out,
	    "Flagged: changes above %g%% over at least %" PRIu64
	    " samples in each report (%d for a p99),\n"
	    "  and of at least %s of latency, 1 point of thread time or %s/s (docs/diff.md)\n\n",
	    d->opts.threshold * 100, d->opts.min_count, DIFF_P99_MIN_SAMPLES,
	    analysis__format_duration((uint64_t)DIFF_MIN_NS, floor, sizeof(floor)),
	    analysis__format_duration((uint64_t)DIFF_MIN_NS_PER_S, rate, sizeof(rate)));
	for (int v = 0; v < DIFF_N_VERDICTS; v++) {
		print_list(d, (enum diff_verdict)v, out);
		fputc('\n', out);
	}
	if (regressions)
		fprintf(out, "%zu regression%s\n", regressions, regressions == 1 ? "" : "s");
	else
		fputs("No regressions\n", out);
	return 0;
}
