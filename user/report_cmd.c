/* snag report: render a saved JSON report again, in any format. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "errors.h"
#include "outfile.h"
#include "report.h"
#include "report_read.h"

enum {
	OPT_FORMAT = 0x100,
	OPT_HISTOGRAM,
};

static const struct option long_opts[] = {
    {"format", required_argument, NULL, OPT_FORMAT},
    {"histogram", no_argument, NULL, OPT_HISTOGRAM},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snag report FILE.json [--format text|json|folded] [--histogram] [-o FILE]\n"
		"\n"
		"Render a report saved with 'snag ... --format json -o FILE.json' again, as if\n"
		"snag had just traced it: the numbers, their order and the bottlenecks are the\n"
		"ones in the file. FILE '-' reads standard input.\n"
		"\n"
		"      --format FMT        text (default), json, or folded (off-CPU stacks for\n"
		"                          flamegraph.pl, inferno, speedscope)\n"
		"      --histogram         text: print each function's latency distribution\n"
		"  -o, --output FILE       write to FILE (written whole, or not at all)\n"
		"  -h, --help              this help\n"
		"\n"
		"examples:\n"
		"  snag report run.json                      read a saved report\n"
		"  snag report run.json --format folded -o run.folded   flame graph input\n"
		"\n"
		"A file that is not a snag-report/1 document is refused with the place of the\n"
		"problem (e.g. functions[3].count) and exit status 2.\n");
}

struct report_cmd_opts {
	const char *input;
	const char *output;
	enum report_format format;
	bool histogram;
	bool help;
};

/* Parse argv (argv[0] is "report"). Returns 0 or -EINVAL with the message set. */
static int parse_opts(int argc, char **argv, struct report_cmd_opts *o)
{
	int c;

	*o = (struct report_cmd_opts){.format = FORMAT_TEXT};
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:h", long_opts, NULL)) != -1) {
		switch (c) {
		case OPT_FORMAT:
			if (report_format__parse(optarg, &o->format)) {
				snag_set_error("unknown format '%s': use --format text, json or "
					       "folded",
					       optarg);
				return -EINVAL;
			}
			break;
		case OPT_HISTOGRAM:
			o->histogram = true;
			break;
		case 'o':
			if (!*optarg) {
				snag_set_error("-o needs a file name (see 'snag report --help')");
				return -EINVAL;
			}
			o->output = optarg;
			break;
		case 'h':
			o->help = true;
			return 0;
		case ':':
			snag_set_error("option '%s' needs an argument (see 'snag report --help')",
				       argv[optind - 1]);
			return -EINVAL;
		default:
			snag_set_error("unknown option '%s' (see 'snag report --help')",
				       argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind >= argc) {
		snag_set_error("snag report needs a report file, e.g. snag report run.json (write "
			       "one with --format json -o run.json)");
		return -EINVAL;
	}
	if (argc - optind > 1) {
		snag_set_error("snag report reads one report; to compare two, use snag diff %s %s",
			       argv[optind], argv[optind + 1]);
		return -EINVAL;
	}
	o->input = argv[optind];
	return 0;
}

int cmd_report(int argc, char **argv)
{
	struct report_cmd_opts o;
	struct render_opts ro;
	struct outfile out = {0};
	struct report *r = NULL;
	int status = SNAG_EXIT_USAGE, err;

	snag_clear_error();
	err = parse_opts(argc, argv, &o);
	if (err)
		goto done;
	if (o.help) {
		usage(stdout);
		return SNAG_EXIT_OK;
	}
	err = report__read_file(o.input, &r);
	if (err) {
		status = err == -ENOMEM ? SNAG_EXIT_RUNTIME : SNAG_EXIT_USAGE;
		goto done;
	}
	err = outfile__open(&out, o.output, "report");
	if (err)
		goto done;
	/* Derived fields and bottlenecks are the file's own: the report is not finished again. */
	ro = (struct render_opts){.histogram = o.histogram};
	status = SNAG_EXIT_RUNTIME;
	err = report__render(r, o.format, &ro, out.f);
	if (err)
		snag_set_error("cannot write the report: %s", strerror(-err));
	else
		err = outfile__commit(&out);
	if (!err)
		status = SNAG_EXIT_OK;
done:
	if (status != SNAG_EXIT_OK)
		snag_print_error("failed");
	outfile__discard(&out);
	report__free(r);
	return status;
}
