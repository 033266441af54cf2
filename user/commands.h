/* The subcommands; each returns the process exit status (SNAG_EXIT_*). */
#ifndef SNAG_COMMANDS_H
#define SNAG_COMMANDS_H

/* snag [record] ...: trace and report. argv[0] is "record". */
int cmd_record(int argc, char **argv);

/* snag list (-p PID | BINARY) [GLOB]: list traceable functions. argv[0] is "list". */
int cmd_list(int argc, char **argv);

/* snag selftest: trace workloads with known answers and check the measurements. */
int cmd_selftest(int argc, char **argv);

/*
 * snag selftest-workload NAME ARGS: run one of those workloads (hidden: snag
 * selftest execs it, in its own binary, so it can be traced from exec). Once
 * the work is done it ends the process with _exit(0), running no exit
 * handlers; it returns only on failure.
 */
int cmd_selftest_workload(int argc, char **argv);

/* snag report FILE.json [--format ..] [-o FILE]: render a saved JSON report again. */
int cmd_report(int argc, char **argv);

/*
 * snag diff BASE.json NEW.json [..]: compare two saved reports. Returns 0
 * (no regression), 1 (at least one) or 2 (any error), not SNAG_EXIT_*.
 */
int cmd_diff(int argc, char **argv);

#endif
