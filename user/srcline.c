/*
 * Source file and line of an address, from the DWARF line table (libdw), for on-CPU hot spots.
 * The DWARF is mapped, and the file may belong to the traced process's user: every libdw call
 * runs under a SIGBUS guard, so a file cut short under it only ends its own lookups.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include "srcline.h"

#define DEBUG_ROOT "/usr/lib/debug"

struct srcline {
	int fd;
	Dwarf *dw;
	bool faulted; /* the file was cut short under libdw: dw is never touched again */
	char **names; /* the file names lookups returned, copied out of the mapping */
	size_t n_names;
	struct srcline *next; /* in faulted, once freed after a fault */
};

/*
 * Handles whose file was cut short under libdw: libdw's state is unknown, so
 * it is not freed halfway (dwarf_end() might follow what a fault left half
 * built). They stay here, reachable, until snag exits: one per file an
 * attacker truncated.
 */
static struct srcline *faulted;

/*
 * The SIGBUS guard: a read of a mapped file past its (new) end raises SIGBUS
 * in the reading thread. guard_enter() puts this handler in place (keeping
 * the one there, which guard_leave() puts back), and while a guard is set on
 * the faulting thread the handler jumps back to it; any other SIGBUS takes
 * its default action, as without a guard.
 */
static __thread sigjmp_buf *bus_guard;

static void on_sigbus(int sig, siginfo_t *si, void *ctx)
{
	(void)si;
	(void)ctx;
	if (bus_guard)
		siglongjmp(*bus_guard, 1);
	signal(sig, SIG_DFL); /* not ours: the fault repeats and kills, as it would have */
}

static void guard_enter(sigjmp_buf *env, struct sigaction *old)
{
	struct sigaction sa = {.sa_sigaction = on_sigbus, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, old);
	bus_guard = env;
}

static void guard_leave(const struct sigaction *old)
{
	bus_guard = NULL;
	sigaction(SIGBUS, old, NULL);
}

/*
 * Whether libdw may look for the file's .gnu_debugaltlink (dwz) partner: it
 * tries /usr/lib/debug/.build-id/ first, then the path the file names, which
 * the file's owner chose (a FIFO there would block snag in open()). Only the
 * first is allowed: with an alt link and no such build-id file, the file's
 * DWARF is not read.
 */
static bool altlink_is_safe(Dwarf *dw)
{
	const char *name;
	const void *id;
	ssize_t len = dwelf_dwarf_gnu_debugaltlink(dw, &name, &id);
	char path[sizeof(DEBUG_ROOT) + 16 + 2 * 64 + 8];
	struct stat st;
	size_t off;

	if (len == 0)
		return true;
	if (len < 3 || len > 64)
		return false;
	off = (size_t)snprintf(path, sizeof(path), DEBUG_ROOT "/.build-id/%02x/",
			       ((const unsigned char *)id)[0]);
	for (ssize_t i = 1; i < len; i++)
		off += (size_t)snprintf(path + off, sizeof(path) - off, "%02x",
					((const unsigned char *)id)[i]);
	snprintf(path + off, sizeof(path) - off, ".debug");
	return !stat(path, &st) && S_ISREG(st.st_mode);
}

/* dwarf_begin() of sl->fd, under the guard. Returns 0 (sl->dw NULL: no usable DWARF) or -EIO. */
static int begin(struct srcline *sl)
{
	struct sigaction old;
	sigjmp_buf env;

	if (sigsetjmp(env, 1)) {
		guard_leave(&old);
		return -EIO; /* sl->dw, if set, is left as it is: its state is unknown */
	}
	guard_enter(&env, &old);
	sl->dw = dwarf_begin(sl->fd, DWARF_C_READ);
	if (sl->dw && !altlink_is_safe(sl->dw)) {
		dwarf_end(sl->dw);
		sl->dw = NULL;
	}
	guard_leave(&old);
	return 0;
}

struct srcline *srcline__open(const char *path)
{
	struct srcline *sl = calloc(1, sizeof(*sl));
	struct stat st;
	int err;

	if (!sl)
		return NULL;
	/* Whatever is at path, open() returns at once; only a regular file is read. */
	sl->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (sl->fd < 0) {
		err = errno;
		free(sl);
		errno = err;
		return NULL;
	}
	if (fstat(sl->fd, &st) || !S_ISREG(st.st_mode)) {
		close(sl->fd);
		free(sl);
		errno = ENODATA;
		return NULL;
	}
	err = begin(sl);
	if (err && sl->dw) {
		sl->faulted = true;
		srcline__free(sl);
		errno = EIO;
		return NULL;
	}
	if (err || !sl->dw) {
		close(sl->fd);
		free(sl);
		errno = err ? -err : ENODATA;
		return NULL;
	}
	return sl;
}

/*
 * The compile unit covering vaddr: by .debug_aranges first (gcc writes them),
 * else by asking each unit for its ranges (clang writes no aranges by default).
 */
static int find_cu(Dwarf *dw, uint64_t vaddr, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	if (dwarf_addrdie(dw, vaddr, cu))
		return 0;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		if (dwarf_offdie(dw, off + hsize, cu) && dwarf_haspc(cu, vaddr) > 0)
			return 0;
		off = next;
	}
	return -ENOENT;
}

/* srcline__lookup() inside the guard; the file name is copied out of the mapping here. */
static int lookup(struct srcline *sl, uint64_t vaddr, const char **file, uint32_t *line)
{
	Dwarf_Line *row;
	Dwarf_Die cu;
	const char *src;
	char **names, *copy;
	int lineno;

	if (find_cu(sl->dw, vaddr, &cu))
		return -ENOENT;
	row = dwarf_getsrc_die(&cu, vaddr);
	if (!row || dwarf_lineno(row, &lineno) || lineno <= 0)
		return -ENOENT;
	src = dwarf_linesrc(row, NULL, NULL);
	if (!src)
		return -ENOENT;
	for (size_t i = 0; i < sl->n_names; i++)
		if (!strcmp(sl->names[i], src)) {
			*file = sl->names[i];
			*line = (uint32_t)lineno;
			return 0;
		}
	names = realloc(sl->names, (sl->n_names + 1) * sizeof(*names));
	if (!names)
		return -ENOMEM;
	sl->names = names;
	copy = strdup(src);
	if (!copy)
		return -ENOMEM;
	sl->names[sl->n_names++] = copy;
	*file = copy;
	*line = (uint32_t)lineno;
	return 0;
}

int srcline__lookup(struct srcline *sl, uint64_t vaddr, const char **file, uint32_t *line)
{
	struct sigaction old;
	sigjmp_buf env;
	int err;

	if (sl->faulted)
		return -EIO;
	if (sigsetjmp(env, 1)) {
		guard_leave(&old);
		sl->faulted = true;
		return -EIO;
	}
	guard_enter(&env, &old);
	err = lookup(sl, vaddr, file, line);
	guard_leave(&old);
	return err;
}

void srcline__free(struct srcline *sl)
{
	if (!sl)
		return;
	close(sl->fd);
	for (size_t i = 0; i < sl->n_names; i++)
		free(sl->names[i]);
	free(sl->names);
	sl->names = NULL;
	sl->n_names = 0;
	if (sl->faulted) {
		sl->next = faulted;
		faulted = sl;
		return;
	}
	dwarf_end(sl->dw);
	free(sl);
}
