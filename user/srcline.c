/* Source file and line of an address, from the DWARF line table (libdw), for on-CPU hot spots. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <elfutils/libdw.h>
#include "srcline.h"

struct srcline {
	int fd;
	Dwarf *dw;
};

struct srcline *srcline__open(const char *path)
{
	struct srcline *sl = calloc(1, sizeof(*sl));
	int err;

	if (!sl)
		return NULL;
	sl->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (sl->fd < 0) {
		err = errno;
		free(sl);
		errno = err;
		return NULL;
	}
	sl->dw = dwarf_begin(sl->fd, DWARF_C_READ);
	if (!sl->dw) {
		close(sl->fd);
		free(sl);
		errno = ENODATA;
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

int srcline__lookup(struct srcline *sl, uint64_t vaddr, const char **file, uint32_t *line)
{
	Dwarf_Line *row;
	Dwarf_Die cu;
	const char *src;
	int lineno;

	if (find_cu(sl->dw, vaddr, &cu))
		return -ENOENT;
	row = dwarf_getsrc_die(&cu, vaddr);
	if (!row || dwarf_lineno(row, &lineno) || lineno <= 0)
		return -ENOENT;
	src = dwarf_linesrc(row, NULL, NULL);
	if (!src)
		return -ENOENT;
	*file = src;
	*line = (uint32_t)lineno;
	return 0;
}

void srcline__free(struct srcline *sl)
{
	if (!sl)
		return;
	dwarf_end(sl->dw);
	close(sl->fd);
	free(sl);
}
