/* Unit tests for user/procmaps.c: maps fixtures, library lookup in maps, the live /proc/self/maps.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include "errors.h"
#include "procmaps.h"

static int parse_fixture(const char *name, struct procmaps *m)
{
	char path[256];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "tests/fixtures/maps/%s", name);
	f = fopen(path, "r");
	assert_non_null(f);
	err = procmaps__parse(f, m);
	fclose(f);
	return err;
}

static void assert_map(const struct procmap *pm, uint64_t start, uint64_t end, uint64_t offset,
		       uint32_t major, uint32_t minor, uint64_t inode, bool deleted,
		       const char *path)
{
	assert_int_equal(pm->start, start);
	assert_int_equal(pm->end, end);
	assert_int_equal(pm->offset, offset);
	assert_int_equal(pm->dev_major, major);
	assert_int_equal(pm->dev_minor, minor);
	assert_int_equal(pm->inode, inode);
	assert_int_equal(pm->deleted, deleted);
	assert_string_equal(pm->path, path);
}

/*
 * Only executable file mappings stay: not [heap], [vsyscall], anonymous or
 * r--p ones. [vdso] is not a file: only its range is kept.
 */
static void test_parse_basic(void **state)
{
	struct procmaps m;

	(void)state;
	assert_int_equal(parse_fixture("basic.maps", &m), 0);
	assert_int_equal(m.n, 7);
	assert_map(&m.maps[0], 0x55d4c8a02000, 0x55d4c8a07000, 0x2000, 0xfd, 0x01, 1311001, false,
		   "/usr/bin/my app");
	assert_map(&m.maps[1], 0x7f3a20a04000, 0x7f3a20a08000, 0x4000, 0xfd, 0x01, 1054321, false,
		   "/usr/lib/x86_64-linux-gnu/libcap.so.2.66");
	assert_map(&m.maps[2], 0x7f3a20c28000, 0x7f3a20dbd000, 0x28000, 0xfd, 0x01, 1048913, false,
		   "/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_map(&m.maps[3], 0x7f3a20f00000, 0x7f3a20f60000, 0x40000, 0xfd, 0x01, 1060002, false,
		   "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	assert_map(&m.maps[4], 0x7f3a21000000, 0x7f3a21002000, 0, 0x00, 0x2a, 77, true,
		   "/app/plugin.so");
	assert_map(&m.maps[5], 0x7f3a21100000, 0x7f3a21101000, 0, 0x00, 0x01, 2049, true,
		   "/memfd:jit");
	assert_map(&m.maps[6], 0x7f3a21a7d000, 0x7f3a21aa2000, 0x1000, 0xfd, 0x01, 1048700, false,
		   "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2");
	assert_int_equal(m.vdso_start, 0x7ffd3b1f8000);
	assert_int_equal(m.vdso_end, 0x7ffd3b1fa000);
	procmaps__free(&m);
	procmaps__free(&m); /* idempotent */
}

static void test_parse_empty_and_malformed(void **state)
{
	struct procmaps m;

	(void)state;
	assert_int_equal(parse_fixture("empty.maps", &m), 0);
	assert_int_equal(m.n, 0);
	procmaps__free(&m);
	snag_clear_error();
	assert_int_equal(parse_fixture("malformed.maps", &m), -EINVAL);
	assert_int_equal(m.n, 0);
	assert_null(m.maps);
	assert_non_null(strstr(snag_last_error(), "line 2"));
}

static void test_find_lib(void **state)
{
	struct procmaps m;
	const struct procmap *pm;

	(void)state;
	assert_int_equal(parse_fixture("basic.maps", &m), 0);
	/* libcap.so.2.66 comes first but is not "libc". */
	pm = procmaps__find_lib(&m, "libc");
	assert_non_null(pm);
	assert_string_equal(pm->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	pm = procmaps__find_lib(&m, "libssl.so.3");
	assert_non_null(pm);
	assert_string_equal(pm->path, "/usr/lib/x86_64-linux-gnu/libssl.so.3");
	pm = procmaps__find_lib(&m, "libcap");
	assert_non_null(pm);
	assert_int_equal(pm->inode, 1054321);
	pm = procmaps__find_lib(&m, "ld-linux-x86-64");
	assert_non_null(pm);
	assert_int_equal(pm->inode, 1048700);
	pm = procmaps__find_lib(&m, "plugin");
	assert_non_null(pm);
	assert_true(pm->deleted);
	assert_null(procmaps__find_lib(&m, "libssl.so.1.1"));
	assert_null(procmaps__find_lib(&m, "libpthread"));
	assert_null(procmaps__find_lib(&m, "lib"));
	assert_null(procmaps__find_lib(&m, ""));
	procmaps__free(&m);
}

/* Our own maps hold our binary (readlink /proc/self/exe) and libc. */
static void test_load_self(void **state)
{
	char exe[PATH_MAX];
	struct procmaps m;
	bool found_exe = false;
	ssize_t n;

	(void)state;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_int_equal(procmaps__load_pid(getpid(), &m), 0);
	for (size_t i = 0; i < m.n; i++) {
		found_exe |= !strcmp(m.maps[i].path, exe);
		assert_true(m.maps[i].start < m.maps[i].end);
		assert_true(m.maps[i].inode != 0);
	}
	assert_true(found_exe);
	assert_non_null(procmaps__find_lib(&m, "libc"));
	procmaps__free(&m);
}

static void test_file_path(void **state)
{
	struct procmaps m;
	char buf[256], tiny[16];

	(void)state;
	assert_int_equal(parse_fixture("basic.maps", &m), 0);
	assert_int_equal(procmaps__file_path(42, &m.maps[2], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/proc/42/root/usr/lib/x86_64-linux-gnu/libc.so.6");
	/* A deleted file is only reachable through the mapping itself. */
	assert_int_equal(procmaps__file_path(42, &m.maps[4], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/proc/42/map_files/7f3a21000000-7f3a21002000");
	assert_int_equal(procmaps__file_path(42, &m.maps[2], tiny, sizeof(tiny)), -ENAMETOOLONG);
	/* Under another proc root (a fixture tree). */
	assert_int_equal(procmaps__file_path_at("/tmp/proc", 42, &m.maps[2], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/proc/42/root/usr/lib/x86_64-linux-gnu/libc.so.6");
	assert_int_equal(procmaps__file_path_at("/tmp/proc", 42, &m.maps[4], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/tmp/proc/42/map_files/7f3a21000000-7f3a21002000");
	procmaps__free(&m);
}

static void test_load_missing_pid(void **state)
{
	struct procmaps m;

	(void)state;
	snag_clear_error();
	assert_int_equal(procmaps__load_pid(INT_MAX, &m), -ENOENT);
	assert_non_null(strstr(snag_last_error(), "no process with pid"));
	assert_int_equal(procmaps__load_pid(-1, &m), -ENOENT);
	assert_int_equal(m.n, 0);
	assert_int_equal(procmaps__load_pid_at("/nonexistent-proc", getpid(), &m), -ENOENT);
	assert_int_equal(procmaps__load_pid_at("/proc", getpid(), &m), 0);
	assert_true(m.n > 0);
	procmaps__free(&m);
}

static void on_alarm(int sig)
{
	(void)sig;
	fail_msg("opening a mapped file blocked");
}

/* pm for path as maps would list it (its device and inode now), in a fake tree at root/PID. */
static struct procmap fake_mapping(const char *path)
{
	struct procmap pm = {.start = 0x1000, .end = 0x2000, .path = (char *)path};
	struct stat st;

	if (!lstat(path, &st)) {
		pm.dev_major = major(st.st_dev);
		pm.dev_minor = minor(st.st_dev);
		pm.inode = st.st_ino;
	}
	return pm;
}

/*
 * Attack 5: a user swapped its mapped library for a FIFO and snag, opening
 * the path as root after a stat, hung in open(). Now a mapped file opens only
 * as the regular file maps lists, never blocking, never through a last link.
 */
static void test_open_file(void **state)
{
	char dir[] = "/tmp/snag-test-openfile-XXXXXX", path[PATH_MAX], other[PATH_MAX];
	char link[PATH_MAX], fifo[PATH_MAX];
	struct procmap pm;
	struct stat st;
	FILE *f;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/1", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/1/root", dir);
	assert_int_equal(symlink("/", path), 0); /* no map_files: the path is what is left */
	snprintf(path, sizeof(path), "%s/lib.so", dir);
	snprintf(other, sizeof(other), "%s/other.so", dir);
	snprintf(link, sizeof(link), "%s/link.so", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.so", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("\177ELF", f);
	fclose(f);
	f = fopen(other, "w");
	assert_non_null(f);
	fclose(f);

	pm = fake_mapping(path);
	fd = procmaps__open_file(dir, 1, &pm, &st);
	assert_true(fd >= 0);
	assert_int_equal(st.st_ino, pm.inode);
	close(fd);
	/* Replaced on disk since it was mapped: another inode is not that file. */
	pm.inode++;
	assert_int_equal(procmaps__open_file(dir, 1, &pm, &st), -ESTALE);
	/* A link in its place (to a file that would be readable): not followed. */
	assert_int_equal(symlink(other, link), 0);
	pm = fake_mapping(link);
	assert_int_equal(procmaps__open_file(dir, 1, &pm, &st), -ENOEXEC);
	/* A FIFO in its place, even listed with its own inode: refused at once, no writer needed.
	 */
	assert_int_equal(mkfifo(fifo, 0600), 0);
	pm = fake_mapping(fifo);
	signal(SIGALRM, on_alarm);
	alarm(5);
	assert_int_equal(procmaps__open_file(dir, 1, &pm, &st), -ENOEXEC);
	pm = fake_mapping("/dev/null"); /* a device: the same */
	assert_int_equal(procmaps__open_file(dir, 1, &pm, &st), -ENOEXEC);
	alarm(0);
	/* Deleted: only map_files could open it, and this tree has none. */
	pm = fake_mapping(path);
	pm.deleted = true;
	assert_int_equal(procmaps__open_file(dir, 1, &pm, &st), -ENOENT);
	unlink(fifo);
	unlink(link);
	unlink(other);
	unlink(path);
	snprintf(path, sizeof(path), "%s/1/root", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/1", dir);
	rmdir(path);
	rmdir(dir);
}

/* This process's own mappings open through map_files as root, the exact files mapped. */
static void test_open_file_map_files(void **state)
{
	struct procmaps m;
	struct stat st;
	int fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	assert_int_equal(procmaps__load_pid(getpid(), &m), 0);
	assert_true(m.n > 0);
	fd = procmaps__open_file("/proc", getpid(), &m.maps[0], &st);
	assert_true(fd >= 0);
	assert_int_equal(st.st_ino, m.maps[0].inode);
	close(fd);
	procmaps__free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_basic), cmocka_unit_test(test_parse_empty_and_malformed),
	    cmocka_unit_test(test_find_lib),	cmocka_unit_test(test_load_self),
	    cmocka_unit_test(test_file_path),	cmocka_unit_test(test_load_missing_pid),
	    cmocka_unit_test(test_open_file),	cmocka_unit_test(test_open_file_map_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
