/* What a task's file descriptor refers to (file, socket, pipe, tty, other), from the inode. */
#ifndef SNAG_FD_TYPE_H
#define SNAG_FD_TYPE_H

#define S_IFMT	 00170000
#define S_IFSOCK 0140000
#define S_IFREG	 0100000
#define S_IFBLK	 0060000
#define S_IFDIR	 0040000
#define S_IFCHR	 0020000
#define S_IFIFO	 0010000

/* Character-device majors of terminals: TTY_MAJOR, TTYAUX_MAJOR (tty, console, ptmx), pty slaves.
 */
#define TTY_MAJOR	       4
#define TTYAUX_MAJOR	       5
#define UNIX98_PTY_SLAVE_MAJOR 136
#define UNIX98_PTY_MAJOR_COUNT 8
#define KDEV_MINORBITS	       20

/* Kernel 6.2+: a BTF-typed view of a kernel pointer, so loads through it need no helper call. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/* What fd of task t refers to: a few dependent loads through its file table. */
static __always_inline __u16 fd_type(struct task_struct *t, int fd)
{
	struct fdtable *fdt = t->files->fdt;
	struct file **fds, *f = NULL;
	__u32 mode, major;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return SNAG_FD_OTHER;
	fds = fdt->fd;
	bpf_core_read(&f, sizeof(f), &fds[fd]);
	if (!f)
		return SNAG_FD_OTHER;
	/* The slot was read as a plain value: make it a typed pointer again, for direct loads. */
	f = bpf_rdonly_cast(f, bpf_core_type_id_kernel(struct file));
	mode = f->f_inode->i_mode & S_IFMT;
	switch (mode) {
	case S_IFREG:
	case S_IFBLK:
	case S_IFDIR:
		return SNAG_FD_FILE;
	case S_IFSOCK:
		return SNAG_FD_SOCKET;
	case S_IFIFO:
		return SNAG_FD_PIPE;
	case S_IFCHR:
		major = f->f_inode->i_rdev >> KDEV_MINORBITS;
		if (major == TTY_MAJOR || major == TTYAUX_MAJOR ||
		    (major >= UNIX98_PTY_SLAVE_MAJOR &&
		     major < UNIX98_PTY_SLAVE_MAJOR + UNIX98_PTY_MAJOR_COUNT))
			return SNAG_FD_TTY;
		return SNAG_FD_OTHER;
	default:
		return SNAG_FD_OTHER;
	}
}

#endif /* SNAG_FD_TYPE_H */
