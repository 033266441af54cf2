/* snag diff: compare two saved reports; exit 1 when the new one has regressions (for CI gates). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "diff.h"
#include "errors.h"
#include "outfile.h"
#include "report.h"
#include "report_read.h"

/* Exit statuses of snag diff: 1 is kept for "regressions found", so every error is 2. */
#define DIFF_EXIT_CLEAN	     0
#define DIFF_EXIT_REGRESSION 1
#define DIFF_EXIT_ERROR	     2

enum {
	OPT_THRESHOLD = 0x100,
	OPT_MIN_COUNT,
	OPT_FORMAT,
};

static const struct option long_opts[] = {
    {"threshold", required_argument, NULL, OPT_THRESHOLD},
    {"min-count", required_argument, NULL, OPT_MIN_COUNT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {},
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: snag diff BASE.json NEW.json [--threshold PCT] [--min-count N]\n"
	    "                 [--format text|json] [-o FILE]\n"
	    "\n"
	    "Compare two reports saved with --format json: function latencies, off-CPU\n"
	    "stacks, each process's run-queue and blocked shares, and I/O rows, matched by\n"
	    "name (not pid) and with counts turned into rates, so runs of different length\n"
	    "compare. Lists what got worse (regressions), what got better, and what only\n"
	    "did more or less work. Exit status: 0 no regression, 1 at least one, 2 error.\n"
	    "\n"
	    "A change is flagged when both reports have at least --min-count samples, it\n"
	    "exceeds --threshold, and it is large in absolute terms too (at least 5us of\n"
	    "latency, 1 point of thread time, 10ms/s); docs/diff.md has the exact rules.\n"
	    "\n"
	    "      --threshold PCT     relative change to exceed, in percent (default 20)\n"
	    "      --min-count N       samples (calls, blocks, switches, I/Os) each report\n"
	    "                          needs before a change counts (default 20)\n"
	    "      --format FMT        text (default) or json (schema snag-diff/1)\n"
	    "  -o, --output FILE       write to FILE (written whole, or not at all)\n"
	    "  -h, --help              this help\n"
	    "\n"
	    "examples:\n"
	    "  snag diff before.json after.json\n"
	    "  snag diff main.json pr.json --threshold 10 --format json -o diff.json || exit 1\n");
}

struct diff_cmd_opts {
	const char *base, *new;
	const char *output;
	enum report_format format;
	struct diff_opts diff;
	bool help;
};

/* "20", "12.5" or "20%" percent into a fraction. Returns 0 or -EINVAL. */
static int parse_percent(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || (*end && strcmp(end, "%")) || !isfinite(v) || v < 0 || v > 1e6)
		return -EINVAL;
	*out = v / 100;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end || errno)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parse argv (argv[0] is "diff"). Returns 0 or -EINVAL with the message set. */
static int parse_opts(int argc, char **argv, struct diff_cmd_opts *o)
{
	int c;

	*o = (struct diff_cmd_opts){
	    .format = FORMAT_TEXT,
	    .diff = {DIFF_DEFAULT_THRESHOLD, DIFF_DEFAULT_MIN_COUNT},
	};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_THRESHOLD:
			if (parse_percent(optarg, &o->diff.threshold)) {
				snag_set_error("invalid --threshold '%s': give a percentage, e.g. "
					       "--threshold 20 or --threshold 12.5",
					       optarg);
				return -EINVAL;
			}
			break;
		case OPT_MIN_COUNT:
			if (parse_count(optarg, &o->diff.min_count)) {
				snag_set_error("invalid --min-count '%s': give a whole number of "
					       "samples, e.g. --min-count 20",
					       optarg);
				return -EINVAL;
			}
			break;
		case OPT_FORMAT:
			if (report_format__parse(optarg, &o->format) ||
			    o->format == FORMAT_FOLDED) {
				snag_set_error("unknown diff format '%s': use --format text or "
					       "--format json",
					       optarg);
				return -EINVAL;
			}
			break;
		case 'o':
			if (!*optarg) {
				snag_set_error("-o needs a file name (see 'snag diff --help')");
				return -EINVAL;
			}
			o->output = optarg;
			break;
		case 'h':
			o->help = true;
			return 0;
		case ':':
			snag_set_error("option '%s' needs an argument (see 'snag diff --help')",
				       argv[optind - 1]);
			return -EINVAL;
		default:
			snag_set_error("unknown option '%s' (see 'snag diff --help')",
				       argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (argc - optind != 2) {
		snag_set_error("snag diff compares two reports: snag diff BASE.json NEW.json (%s)",
			       argc - optind < 2 ? "give both" : "no more than two");
		return -EINVAL;
	}
	o->base = argv[optind];
	o->new = argv[optind + 1];
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_cmd_opts o;
	struct report *base = NULL, *new = NULL;
	struct diff *d = NULL;
	struct outfile out = {0};
	struct diff_names names;
	int status = DIFF_EXIT_ERROR, err;

	snag_clear_error();
	err = parse_opts(argc, argv, &o);
	if (err)
		goto done;
	if (o.help) {
		usage(stdout);
		return DIFF_EXIT_CLEAN;
	}
	err = report__read_file(o.base, &base);
	if (!err)
		err = report__read_file(o.new, &new);
	if (!err)
		err = diff__compare(base, new, &o.diff, &d);
	if (!err)
		err = outfile__open(&out, o.output, "diff");
	if (err)
		goto done;
	names = (struct diff_names){o.base, o.new};
	err = diff__render(d, &names, o.format, out.f);
	if (err)
		snag_set_error("cannot write the diff: %s", strerror(-err));
	else
		err = outfile__commit(&out);
	if (!err)
		status = d->n_entries[DIFF_REGRESSION] ? DIFF_EXIT_REGRESSION : DIFF_EXIT_CLEAN;
done:
	if (status == DIFF_EXIT_ERROR)
		snag_print_error("failed");
	outfile__discard(&out);
	diff__free(d);
	report__free(base);
	report__free(new);
	return status;
}
