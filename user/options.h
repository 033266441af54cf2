/* Command-line options of `snag record`: parsing and validation, no side effects. */
#ifndef SNAG_OPTIONS_H
#define SNAG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "report.h"

#define DEFAULT_INTERVAL_NS    1000000000ull
#define DEFAULT_MAX_FUNCS      1000
#define DEFAULT_MIN_BLOCK_NS   100000ull
#define DEFAULT_SMALL_IO_BYTES 4096ull
/* --prometheus without a host: loopback only, so metrics never leave the machine unasked. */
#define DEFAULT_PROM_HOST "127.0.0.1"

struct record_opts {
	int *pids; /* -p, in order given, deduplicated */
	size_t n_pids;
	char *command; /* -c */
	char **specs;  /* -u, as given */
	size_t n_specs;
	uint64_t duration_ns; /* -d; 0 = until Ctrl-C (or the target exits) */
	uint64_t interval_ns; /* -i */
	char *output;	      /* -o, NULL = stdout */
	enum report_format format;
	bool histogram;
	size_t max_funcs;
	char *btf_path;
	bool offcpu;	       /* scheduler collector: on without -u, or with --offcpu */
	uint64_t min_block_ns; /* --min-block: blocks this long get stacks */
	bool kernel_threads;   /* --kernel-threads */
	bool exceptions_ok;    /* --exceptions-ok: -u on C++/Rust code despite the unwinding risk */
	char *cgroup;	       /* --cgroup PATH */
	bool io;	       /* I/O collector: on without -u, or with --io */
	uint64_t small_io_bytes; /* --small-io */
	bool mem;		 /* --mem: memory collector (needs -p or -c) */
	uint32_t mem_sample;	 /* --mem-sample: record one allocation call in this many */
	struct severity_thresholds severity; /* --severity, when severity_set */
	bool severity_set;
	char *prom_host; /* --prometheus: serve /metrics on this host and port; NULL = off */
	char *prom_port;
	bool help;
	/* On-CPU sampling (--cpu, -F). */
	bool cpu;	     /* --cpu: sample on-CPU stacks (opt-in, with or without -u) */
	unsigned int cpu_hz; /* -F: samples per second on each CPU (CPU_DEFAULT_HZ) */
	bool cpu_hz_set;
};

/*
 * Parse argv (argv[0] is the command name). Returns 0, or -EINVAL with
 * snag_set_error() naming the bad argument and the fix. Free with
 * record_opts__free() either way.
 */
int record_opts__parse(int argc, char **argv, struct record_opts *o);
void record_opts__free(struct record_opts *o);

/*
 * Check that the report can go where it is headed: a binary format (pprof)
 * needs -o, or a stdout that is not a terminal, where it would only garble
 * the screen. stdout_fd is where the report goes without -o. Returns 0, or
 * -EINVAL with snag_set_error() naming the fix.
 */
int record_opts__check_output(const struct record_opts *o, int stdout_fd);

/* The --help text of `snag record`. */
void record_opts__usage(FILE *f);

/*
 * Parse a positive duration into ns: seconds ("5", "0.5", "2s") or with a
 * unit ("250ms", "100us", "5000ns").
 * Returns 0 or -EINVAL.
 */
int parse_seconds(const char *s, uint64_t *ns);

/*
 * Parse a size in bytes: "4096", "4k", "64KiB", "1M", "1GiB" (binary units,
 * case-insensitive). Returns 0 or -EINVAL.
 */
int parse_size(const char *s, uint64_t *bytes);

/* Parse "C,H,M" severity thresholds in percent ("50,20,10"), decreasing. Returns 0 or -EINVAL. */
int parse_severity(const char *s, struct severity_thresholds *t);
/*
 * Split a listen address "HOST:PORT", ":PORT" or "PORT" (IPv6 as
 * "[ADDR]:PORT") into malloc'd *host and *port; a missing host is
 * default_host. The port must be a number from 1 to 65535. Only the syntax is
 * checked: the host is resolved when the server binds. Returns 0, -EINVAL
 * (nothing allocated), or -ENOMEM.
 */
int parse_listen_address(const char *s, const char *default_host, char **host, char **port);

#endif
