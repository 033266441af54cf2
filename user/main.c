/* snag's entry point: the command table. Each command parses its own options. */
#include <stdio.h>
#include <string.h>
#include "commands.h"
#include "errors.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* NULL: hidden from the usage text */
} commands[] = {
    {"record", cmd_record, "time functions, and see where threads wait off the CPU (default)"},
    {"list", cmd_list, "list the functions that can be traced in a binary or process"},
    {"selftest", cmd_selftest, "check snag's measurements against workloads with known answers"},
    /* What `snag selftest` execs, in this binary, to have workloads to trace. */
    {"selftest-workload", cmd_selftest_workload, NULL},
    {"report", cmd_report, "render a saved JSON report again, in any format"},
    {"diff", cmd_diff, "compare two saved JSON reports; exit status 1 on a regression"},
};

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: snag [record] [-p PID[,PID..] | -c 'CMD ARGS' | --cgroup PATH] [-u SPEC]..\n"
	       "                     [--offcpu] [-d SECONDS] [-o FILE]\n"
	       "                     [--format text|json|folded|html|pprof]\n"
	       "       snag list (-p PID | BINARY) [GLOB]\n"
	       "       snag report FILE.json [--format FMT] [--histogram] [-o FILE]\n"
	       "       snag diff BASE.json NEW.json [--threshold PCT] [--min-count N]\n"
	       "                 [--format text|json] [-o FILE]\n"
	       "       snag selftest [--format text|json]\n\n"
	       "commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'snag COMMAND --help' explains each command and its options.\n");
}

int main(int argc, char **argv)
{
	if (argc >= 2) {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (!strcmp(argv[1], commands[i].name))
				return commands[i].run(argc - 1, argv + 1);
		if (!strcmp(argv[1], "help")) {
			usage(stdout);
			return SNAG_EXIT_OK;
		}
		if (!strcmp(argv[1], "--version")) {
			printf("snag %s\n", SNAG_VERSION);
			return SNAG_EXIT_OK;
		}
		if (argv[1][0] != '-') {
			/* The list comes from the table (hidden commands left out), so it cannot go
			 * stale. */
			fprintf(stderr, "snag: unknown command '%s' (commands:", argv[1]);
			for (size_t i = 0, n = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
				if (commands[i].summary)
					fprintf(stderr, "%s %s", n++ ? "," : "", commands[i].name);
			fprintf(stderr, "; see 'snag --help')\n");
			return SNAG_EXIT_USAGE;
		}
	}
	/* No command word: options go to record, which also answers --help. */
	return cmd_record(argc, argv);
}
