/* A process's memory from /proc/PID/stat, statm and status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "procmem.h"

int procmem__parse_stat(const char *text, struct procmem_sample *s)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	unsigned long long minflt, majflt;
	size_t n;
	char state;

	if (!open || !close || close < open)
		return -EINVAL;
	/* state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt */
	if (sscanf(close + 1, " %c %*d %*d %*d %*d %*d %*u %llu %*u %llu", &state, &minflt,
		   &majflt) != 3)
		return -EINVAL;
	n = (size_t)(close - open - 1);
	if (n > sizeof(s->comm) - 1)
		n = sizeof(s->comm) - 1;
	memcpy(s->comm, open + 1, n);
	s->comm[n] = '\0';
	for (char *c = s->comm; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	s->state = state;
	s->minor_faults = minflt;
	s->major_faults = majflt;
	return 0;
}

int procmem__parse_statm(const char *text, uint64_t page_size, struct procmem_sample *s)
{
	unsigned long long size, resident;

	if (sscanf(text, "%llu %llu", &size, &resident) != 2)
		return -EINVAL;
	s->vsz_bytes = size * page_size;
	s->rss_bytes = resident * page_size;
	return 0;
}

int procmem__parse_hwm(const char *text, uint64_t *bytes)
{
	const char *line = strstr(text, "VmHWM:");
	unsigned long long kb;

	if (!line || (line != text && line[-1] != '\n') || sscanf(line + 6, "%llu", &kb) != 1)
		return -ENOENT;
	*bytes = kb * 1024;
	return 0;
}

/* The whole of a small /proc file into buf (NUL-terminated). Returns 0 or -errno. */
static int read_text(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

int procmem__read(const char *proc_root, int pid, struct procmem_sample *s)
{
	char path[256], buf[4096];
	long page = sysconf(_SC_PAGESIZE);
	const char *root = proc_root ? proc_root : "/proc";
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(path, sizeof(path), "%s/%d/stat", root, pid);
	err = read_text(path, buf, sizeof(buf));
	if (err)
		return err == -ENOENT || err == -ESRCH ? -ESRCH : err;
	err = procmem__parse_stat(buf, s);
	if (err)
		return err;
	if (s->state == 'Z' || s->state == 'X')
		return 0; /* its memory is gone; its faults are final */
	snprintf(path, sizeof(path), "%s/%d/statm", root, pid);
	err = read_text(path, buf, sizeof(buf));
	if (!err)
		err = procmem__parse_statm(buf, page > 0 ? (uint64_t)page : 4096, s);
	if (err)
		return err == -ENOENT ? -ESRCH : err;
	snprintf(path, sizeof(path), "%s/%d/status", root, pid);
	/* A kernel thread has no VmHWM; the sample stands without it. */
	if (!read_text(path, buf, sizeof(buf)))
		procmem__parse_hwm(buf, &s->hwm_bytes);
	s->has_memory = true;
	return 0;
}
