/* snag list: the functions that can be traced in a binary or in a process and its libraries. */
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "commands.h"
#include "elfsym.h"
#include "errors.h"
#include "procmaps.h"
#include "textsafe.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: snag list BINARY [GLOB]\n"
		"       snag list -p PID [GLOB]\n"
		"\n"
		"List the functions snag can trace with -u: those in the ELF symbol tables\n"
		"(.symtab, else a build-id debug file under /usr/lib/debug, plus .dynsym).\n"
		"One line per name, sorted by name: link-time address (hex), size in bytes,\n"
		"name. A function known under several names gets a line for each, the extra\n"
		"ones marked '(alias of NAME)'; any of them works in a -u glob.\n"
		"With -p, the process's main binary comes first, then each library it has\n"
		"mapped, each under a '# FILE' header line.\n"
		"\n"
		"  BINARY         an executable or shared library\n"
		"  GLOB           keep only names matching this fnmatch(3) pattern; quote it\n"
		"  -p, --pid PID  list a running process's binary and mapped libraries\n"
		"  -h, --help     show this help\n"
		"\n"
		"examples:\n"
		"  snag list /usr/bin/myapp 'handle_*'     what can I trace in myapp?\n"
		"  snag list -p 1234 'SSL_*'               which libssl functions does 1234 have?\n"
		"  snag -p 1234 -u 'libssl:SSL_read'       ...then trace one of them\n"
		"\n"
		"A stripped binary lists only its exported (.dynsym) functions: install its\n"
		"-dbgsym package or rebuild it without -s to see the rest.\n");
}

static int cmp_name(const void *a, const void *b)
{
	const struct elfsym_name *x = *(const struct elfsym_name *const *)a;
	const struct elfsym_name *y = *(const struct elfsym_name *const *)b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return (x->sym > y->sym) - (x->sym < y->sym);
}

/*
 * Print to out the names of tab matching glob (NULL: all), sorted by name, under
 * header when given (skipped when a glob matches nothing). Adds the count to *listed.
 * Returns 0 or -ENOMEM.
 */
static int print_tab(FILE *out, const struct elfsym_tab *tab, const char *header, const char *glob,
		     size_t *listed)
{
	const struct elfsym_name **v;
	size_t n = 0;

	v = calloc(tab->n_names ? tab->n_names : 1, sizeof(*v));
	if (!v) {
		snag_set_error("out of memory listing %s", tab->path);
		return -ENOMEM;
	}
	for (size_t i = 0; i < tab->n_names; i++)
		if (!glob || !fnmatch(glob, tab->names[i].name, 0))
			v[n++] = &tab->names[i];
	qsort(v, n, sizeof(*v), cmp_name);
	if (header && (n || !glob))
		fputs(header, out);
	for (size_t i = 0; i < n; i++) {
		const struct elfsym *s = &tab->syms[v[i]->sym];

		fprintf(out, "%016" PRIx64 " %8" PRIu64 " %s", s->addr, s->size, v[i]->name);
		if (v[i]->name != s->name)
			fprintf(out, "  (alias of %s)", s->name);
		fputc('\n', out);
	}
	*listed += n;
	free(v);
	return 0;
}

/* Say on stderr what the symbol caps (elfsym.h) left out of display's table, if anything. */
static void note_cut(const struct elfsym_tab *tab, const char *display)
{
	char msg[PATH_MAX + 200];

	if (!tab->cut)
		return;
	snprintf(msg, sizeof(msg),
		 "snag: note: %s: %zu function symbols left out (names over %d bytes, or past %u "
		 "functions or %u MiB of names)",
		 display, tab->cut, ELFSYM_MAX_NAME, ELFSYM_MAX_SYMS, ELFSYM_MAX_NAME_BYTES >> 20);
	textsafe__fputs(msg, stderr);
	fputc('\n', stderr);
}

/* "# PATH (N functions[, stripped...])\n" for the -p listing. */
static void make_header(char *buf, size_t len, const char *display, const struct elfsym_tab *tab)
{
	const char *note = "";

	if (tab->debug_path)
		note = ", symbols from its debug file";
	else if (tab->stripped)
		note = ", stripped: exported functions only";
	snprintf(buf, len, "# %s (%zu functions%s)\n", display, tab->n_syms, note);
}

static int list_binary(FILE *out, const char *path, const char *glob)
{
	struct elfsym_tab *tab;
	size_t listed = 0;
	int err;

	tab = elfsym__load(path, NULL);
	if (!tab)
		return -errno;
	if (!tab->n_syms && tab->stripped) {
		snag_set_error("%s is stripped (no .symtab and no debug file) and exports no "
			       "functions: rebuild without -s or install its -dbgsym package",
			       path);
		err = -ESRCH;
		goto cleanup;
	}
	if (tab->stripped && !tab->debug_path)
		fprintf(stderr,
			"snag: note: %s is stripped; listing only its exported functions (install "
			"its -dbgsym package for all)\n",
			path);
	note_cut(tab, path);
	err = print_tab(out, tab, NULL, glob, &listed);
	if (!err && !listed) {
		snag_set_error("no function matching '%s' in %s (%zu functions there; try without "
			       "GLOB)",
			       glob, path, tab->n_syms);
		err = -ESRCH;
	}
cleanup:
	elfsym__free(tab);
	return err;
}

/* List one file of process pid, opened through path_to_open; failures only note a header. */
static int list_process_file(FILE *out, const char *path_to_open, const char *display,
			     const char *glob, size_t *listed)
{
	struct elfsym_opts eo = {.display_path = display};
	char header[PATH_MAX + 128];
	struct elfsym_tab *tab;
	int err;

	tab = elfsym__load(path_to_open, &eo);
	if (!tab) {
		if (errno == ENOMEM)
			return -ENOMEM;
		if (!glob)
			fprintf(out, "# %s (cannot read: %s)\n", display, snag_last_error());
		snag_clear_error();
		return 0;
	}
	note_cut(tab, display);
	make_header(header, sizeof(header), display, tab);
	err = print_tab(out, tab, header, glob, listed);
	elfsym__free(tab);
	return err;
}

static bool seen_before(const struct procmaps *m, size_t i, const char *exe)
{
	if (!strcmp(m->maps[i].path, exe))
		return true;
	for (size_t j = 0; j < i; j++)
		if (!strcmp(m->maps[j].path, m->maps[i].path))
			return true;
	return false;
}

static int list_process(FILE *out, int pid, const char *glob)
{
	char link[64], exe[PATH_MAX], open_path[64];
	struct procmaps maps = {0};
	size_t listed = 0;
	struct stat st;
	ssize_t n;
	int err, fd;

	err = procmaps__load_pid(pid, &maps);
	if (err)
		return err;
	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0) {
		snag_set_error("process %d has no binary to list (a kernel thread?)", pid);
		err = -ENOENT;
		goto cleanup;
	}
	exe[n] = '\0';
	if (n > 10 && !strcmp(exe + n - 10, " (deleted)"))
		exe[n - 10] = '\0';
	err = list_process_file(out, link, exe, glob, &listed);
	for (size_t i = 0; !err && i < maps.n; i++) {
		if (seen_before(&maps, i, exe))
			continue;
		/* The mapped file itself, never a FIFO or another file swapped in at its path. */
		fd = procmaps__open_file("/proc", pid, &maps.maps[i], &st);
		if (fd < 0) {
			if (!glob)
				fprintf(out, "# %s (cannot read: %s)\n", maps.maps[i].path,
					fd == -ESTALE	 ? "replaced on disk since it was mapped"
					: fd == -ENOEXEC ? "not a regular file"
							 : strerror(-fd));
			continue;
		}
		snprintf(open_path, sizeof(open_path), "/proc/self/fd/%d", fd);
		err = list_process_file(out, open_path, maps.maps[i].path, glob, &listed);
		close(fd);
	}
	if (!err && !listed) {
		snag_set_error("no function matching '%s' in process %d or its libraries (try "
			       "without GLOB)",
			       glob ? glob : "*", pid);
		err = -ESRCH;
	}
cleanup:
	procmaps__free(&maps);
	return err;
}

static int parse_pid(const char *s, int *pid)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > INT_MAX) {
		snag_set_error(
		    "-p '%s' is not a process id (give a number, e.g. -p $(pidof myapp))", s);
		return -EINVAL;
	}
	*pid = (int)v;
	return 0;
}

int cmd_list(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"pid", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *target = NULL, *glob = NULL;
	int pid = 0, opt, err;
	FILE *out;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+p:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (parse_pid(optarg, &pid))
				goto usage_error;
			break;
		case 'h':
			usage(stdout);
			return SNAG_EXIT_OK;
		default:
			snag_set_error("list: unknown option or missing value '%s' (see 'snag list "
				       "--help')",
				       argv[optind - 1]);
			goto usage_error;
		}
	}
	if (!pid && optind < argc)
		target = argv[optind++];
	if (optind < argc)
		glob = argv[optind++];
	if (optind < argc || (!pid && !target)) {
		snag_set_error(optind < argc
				   ? "list: too many arguments (usage: snag list (-p PID | "
				     "BINARY) [GLOB])"
				   : "list: give a BINARY or -p PID (see 'snag list --help')");
		goto usage_error;
	}
	/* Names come from files anyone may have written: shown safe (user/textsafe.h). */
	out = textsafe__open(stdout);
	if (!out) {
		snag_set_error("out of memory");
		snag_print_error("list failed");
		return SNAG_EXIT_RUNTIME;
	}
	err = pid ? list_process(out, pid, glob) : list_binary(out, target, glob);
	if (fclose(out) && !err) {
		err = -EIO;
		snag_set_error("cannot write the list: %s", strerror(EIO));
	}
	if (!err)
		return SNAG_EXIT_OK;
	snag_print_error("list failed");
	/* A missing pid or file, a non-ELF file, nothing to list: all fixable by the user. */
	return err == -ENOMEM || err == -EIO ? SNAG_EXIT_RUNTIME : SNAG_EXIT_USAGE;
usage_error:
	snag_print_error("list: bad arguments (see 'snag list --help')");
	return SNAG_EXIT_USAGE;
}
