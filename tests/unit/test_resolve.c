/* Unit tests for user/resolve.c and library lookup: spec parsing, name rules, ld.so.conf, probe
 * points. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include "elfsym.h"
#include "errors.h"
#include "procmaps.h"
#include "resolve.h"
#include "testutil.h"

#if defined(__x86_64__)
#define LIB_FIXTURE_FUNCS 5 /* add, local, mul, sum, endbr: see tests/fixtures/elf/libfixture.c */
#define PIE_FIXTURE_FUNCS 6
#else
#define LIB_FIXTURE_FUNCS 4
#define PIE_FIXTURE_FUNCS 5
#endif

/* spec__parse ------------------------------------------------------------- */

static void assert_spec(const char *arg, enum spec_kind kind, const char *where, const char *glob)
{
	struct spec s;

	assert_int_equal(spec__parse(arg, &s), 0);
	assert_int_equal(s.kind, kind);
	if (where)
		assert_string_equal(s.where, where);
	else
		assert_null(s.where);
	assert_string_equal(s.glob, glob);
	spec__free(&s);
}

static void test_spec_parse(void **state)
{
	(void)state;
	assert_spec("malloc", SPEC_MAIN, NULL, "malloc");
	assert_spec("handle_*", SPEC_MAIN, NULL, "handle_*");
	assert_spec("libc:malloc", SPEC_LIB, "libc", "malloc");
	assert_spec("libssl.so.3:SSL_*", SPEC_LIB, "libssl.so.3", "SSL_*");
	assert_spec("libstdc++:_ZNSt*", SPEC_LIB, "libstdc++", "_ZNSt*");
	assert_spec("/usr/bin/app:main", SPEC_PATH, "/usr/bin/app", "main");
	assert_spec("./app:f", SPEC_PATH, "./app", "f");
	assert_spec("bin/app:f", SPEC_PATH, "bin/app", "f");
	/* "::" is C++ scope, never the separator; a path splits at its last single ':'. */
	assert_spec("ns::f*", SPEC_MAIN, NULL, "ns::f*");
	assert_spec("libfoo:ns::f*", SPEC_LIB, "libfoo", "ns::f*");
	assert_spec("/opt/a:b/app:ns::run", SPEC_PATH, "/opt/a:b/app", "ns::run");
	/* Only the first single ':' splits a library spec. */
	assert_spec("libc:a:b", SPEC_LIB, "libc", "a:b");
}

static void assert_spec_invalid(const char *arg, const char *in_message)
{
	struct spec s;

	snag_clear_error();
	assert_int_equal(spec__parse(arg, &s), -EINVAL);
	assert_null(s.where);
	assert_null(s.glob);
	assert_non_null(strstr(snag_last_error(), in_message));
}

static void test_spec_parse_invalid(void **state)
{
	(void)state;
	assert_spec_invalid("", "empty -u spec");
	assert_spec_invalid(NULL, "empty -u spec");
	assert_spec_invalid("libc:", "no function glob");
	assert_spec_invalid("/usr/bin/app:", "no function glob");
	assert_spec_invalid(":malloc", "nothing before ':'");
	spec__free(NULL);
}

/* Library names ------------------------------------------------------------ */

static void test_lib_name_rules(void **state)
{
	(void)state;
	assert_true(procmaps__lib_matches("libc.so.6", "libc"));
	assert_true(procmaps__lib_matches("libc.so", "libc"));
	assert_true(procmaps__lib_matches("libc-2.31.so", "libc"));
	assert_true(procmaps__lib_matches("libssl.so.3", "libssl.so.3"));
	assert_true(procmaps__lib_matches("libssl.so.3", "libssl"));
	assert_true(procmaps__lib_matches("libz.so.1.2.13", "libz.so"));
	assert_true(procmaps__lib_matches("libpython3.11.so.1.0", "libpython3.11"));
	assert_true(procmaps__lib_matches("ld-linux-x86-64.so.2", "ld-linux-x86-64"));
	assert_false(procmaps__lib_matches("libcap.so.2", "libc"));
	assert_false(procmaps__lib_matches("libc.so.6", "libc.so.7"));
	assert_false(procmaps__lib_matches("libssl.so.1.1", "libssl.so.3"));
	assert_false(procmaps__lib_matches("libc.a", "libc"));
	assert_false(procmaps__lib_matches("libc-dev.txt", "libc"));
	assert_false(procmaps__lib_matches("libc.sox", "libc"));
	assert_false(procmaps__lib_matches("libc.so.6", ""));
	assert_false(procmaps__lib_matches("lib", "libc"));
}

/* ld.so.conf --------------------------------------------------------------- */

static void test_ld_so_conf(void **state)
{
	static const char *const want[] = {
	    "/opt/first", "/opt/a1", "/opt/a2", "/opt/nested", "/opt/b", "/opt/last",
	};
	char **dirs;
	size_t n;

	(void)state;
	assert_int_equal(libsearch__conf_dirs("tests/fixtures/ldconf/ld.so.conf", &dirs, &n), 0);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(dirs[i], want[i]);
	libsearch__free_dirs(dirs, n);
	assert_int_equal(libsearch__conf_dirs("tests/fixtures/ldconf/missing.conf", &dirs, &n),
			 -ENOENT);
	assert_null(dirs);
	assert_int_equal(n, 0);
}

/* A scratch tree for the loader search: <root>/{lib1,lib2,conf}. */
struct scratch {
	char root[64];
	char lib1[128];
	char lib2[128];
	char conf[128];
	char files[8][256];
	size_t n_files;
};

static const char *scratch_file(struct scratch *s, const char *dir, const char *name,
				const char *copy_of, const char *text)
{
	char *path = s->files[s->n_files++];
	FILE *f;

	snprintf(path, sizeof(s->files[0]), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (copy_of) {
		size_t len;
		char *buf = test_read_file(copy_of, &len);

		assert_non_null(buf);
		assert_int_equal(fwrite(buf, 1, len, f), len);
		free(buf);
	} else {
		fputs(text, f);
	}
	fclose(f);
	return path;
}

static void scratch_remove(struct scratch *s)
{
	for (size_t i = 0; i < s->n_files; i++)
		unlink(s->files[i]);
	rmdir(s->lib1);
	rmdir(s->lib2);
	rmdir(s->root);
}

static void test_libsearch(void **state)
{
	struct scratch s = {.root = "/tmp/snag-test-lib-XXXXXX"};
	const char *const no_dirs[] = {NULL};
	char elf[4096], text[256], *path;
	const char *dirs[2];

	(void)state;
	snprintf(elf, sizeof(elf), "%s", test_build_path("tests/elf/libfixture.so"));
	assert_non_null(mkdtemp(s.root));
	snprintf(s.lib1, sizeof(s.lib1), "%s/lib1", s.root);
	snprintf(s.lib2, sizeof(s.lib2), "%s/lib2", s.root);
	assert_int_equal(mkdir(s.lib1, 0700), 0);
	assert_int_equal(mkdir(s.lib2, 0700), 0);
	/* lib1: a linker script named like the library (skipped), the real one, a longer alias. */
	scratch_file(&s, s.lib1, "libfix.so", NULL, "INPUT(libfix.so.1)\n");
	scratch_file(&s, s.lib1, "libfix.so.1", elf, NULL);
	scratch_file(&s, s.lib1, "libfix.so.1.0.0", elf, NULL);
	scratch_file(&s, s.lib2, "libfix.so.2", elf, NULL);
	snprintf(text, sizeof(text), "# scratch\n%s\n", s.lib1);
	snprintf(s.conf, sizeof(s.conf), "%s", scratch_file(&s, s.root, "ld.so.conf", NULL, text));

	/* Through ld.so.conf. */
	assert_int_equal(libsearch__find_in("libfix", NULL, s.conf, no_dirs, &path), 0);
	assert_string_equal(path, s.files[1]);
	free(path);
	/* LD_LIBRARY_PATH comes first (empty entries skipped). */
	snprintf(text, sizeof(text), "::%s", s.lib2);
	assert_int_equal(libsearch__find_in("libfix", text, s.conf, no_dirs, &path), 0);
	assert_string_equal(path, s.files[3]);
	free(path);
	/* An exact name wins; the default dirs are searched last. */
	dirs[0] = s.lib1;
	dirs[1] = NULL;
	assert_int_equal(libsearch__find_in("libfix.so.1.0.0", NULL, NULL, dirs, &path), 0);
	assert_string_equal(path, s.files[2]);
	free(path);
	assert_int_equal(libsearch__find_in("libfix.so.3", text, s.conf, dirs, &path), -ENOENT);
	assert_null(path);
	assert_int_equal(libsearch__find_in("libfix", NULL, "/nonexistent.conf", NULL, &path),
			 -ENOENT);
	scratch_remove(&s);
}

/* resolve__specs ----------------------------------------------------------- */

/* Resolve specs given as strings. Returns resolve__specs()'s result. */
static int resolve_strs(const char *const *args, size_t n, const struct resolve_opts *o,
			struct probe_set *ps)
{
	struct spec specs[8];
	int err;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(spec__parse(args[i], &specs[i]), 0);
	snag_clear_error();
	err = resolve__specs(specs, n, o, ps);
	for (size_t i = 0; i < n; i++)
		spec__free(&specs[i]);
	return err;
}

static int resolve_one_str(const char *arg, const struct resolve_opts *o, struct probe_set *ps)
{
	return resolve_strs(&arg, 1, o, ps);
}

static const struct probe_point *point_named(const struct probe_set *ps, const char *name)
{
	for (size_t i = 0; i < ps->n_points; i++)
		if (!strcmp(ps->points[i].name, name))
			return &ps->points[i];
	return NULL;
}

static char *abs_build_path(const char *rel)
{
	char *p = realpath(test_build_path(rel), NULL);

	assert_non_null(p);
	return p;
}

/* A path spec system-wide: every function once, pid -1, offsets from the file, ids 0..n-1. */
static void test_resolve_path_system_wide(void **state)
{
	char *lib = abs_build_path("tests/elf/libfixture.so"), spec[4200];
	const struct resolve_opts o = {.max_funcs = 100};
	struct elfsym_tab *tab = elfsym__load(lib, NULL);
	struct probe_set ps;
	uint32_t seen = 0;

	(void)state;
	assert_non_null(tab);
	snprintf(spec, sizeof(spec), "%s:libfixture_*", lib);
	assert_int_equal(resolve_one_str(spec, &o, &ps), 0);
	assert_int_equal(ps.n_points, LIB_FIXTURE_FUNCS);
	assert_int_equal(ps.n_funcs, LIB_FIXTURE_FUNCS);
	for (size_t i = 0; i < ps.n_points; i++) {
		const struct probe_point *p = &ps.points[i];
		const struct elfsym *s = elfsym__lookup(tab, p->address);
		unsigned char insn[4];

		assert_string_equal(p->binary, lib);
		assert_string_equal(p->attach_path, lib);
		assert_int_equal(p->pid, -1);
		assert_true(p->func_id < ps.n_funcs);
		assert_false(seen & (1u << p->func_id));
		seen |= 1u << p->func_id;
		assert_non_null(s);
		assert_int_equal(s->addr, p->address);
		assert_int_equal(elfsym__read(tab, s->offset, insn, sizeof(insn)), 0);
		if (!memcmp(insn, "\xf3\x0f\x1e\xfa", 4))
			assert_int_equal(p->offset, s->offset + 4); /* endbr64 skipped */
		else
			assert_int_equal(p->offset, s->offset);
	}
#if defined(__x86_64__)
	{
		const struct probe_point *endbr = point_named(&ps, "libfixture_endbr");
		const struct probe_point *add = point_named(&ps, "libfixture_add");

		assert_non_null(endbr);
		assert_non_null(add);
		assert_int_equal(endbr->offset, elfsym__lookup(tab, endbr->address)->offset + 4);
		assert_int_equal(add->offset, elfsym__lookup(tab, add->address)->offset);
	}
#endif
	probe_set__free(&ps);
	probe_set__free(&ps);
	elfsym__free(tab);
	free(lib);
}

/* An alias finds its function; two specs naming one function give one point. */
static void test_resolve_aliases_dedupe(void **state)
{
	char *lib = abs_build_path("tests/elf/libfixture.so"), a[4200], b[4200], c[4200];
	const char *const specs[] = {a, b, c};
	struct probe_set ps;

	(void)state;
	snprintf(a, sizeof(a), "%s:__libfixture_sum", lib);
	snprintf(b, sizeof(b), "%s:libfixture_sum", lib);
	snprintf(c, sizeof(c), "%s:libfixture_sum_weak", lib);
	assert_int_equal(resolve_one_str(a, NULL, &ps), 0);
	assert_int_equal(ps.n_points, 1);
	assert_string_equal(ps.points[0].name, "__libfixture_sum");
	probe_set__free(&ps);
	assert_int_equal(resolve_strs(specs, 3, NULL, &ps), 0);
	assert_int_equal(ps.n_points, 1);
	assert_int_equal(ps.n_funcs, 1);
	assert_int_equal(ps.points[0].func_id, 0);
	probe_set__free(&ps);
	free(lib);
}

static void assert_resolve_fails(const char *spec, const struct resolve_opts *o, int err,
				 const char *in_message)
{
	struct probe_set ps;

	assert_int_equal(resolve_one_str(spec, o, &ps), err);
	assert_int_equal(ps.n_points, 0);
	assert_null(ps.points);
	if (!strstr(snag_last_error(), in_message))
		fail_msg("message '%s' lacks '%s'", snag_last_error(), in_message);
}

static void test_resolve_errors(void **state)
{
	char *lib = abs_build_path("tests/elf/libfixture.so");
	char *stripped = abs_build_path("tests/elf/fixture-pie-stripped");
	char *not_elf = abs_build_path("tests/elf/not-elf.txt");
	const int gone = INT_MAX;
	const struct resolve_opts small = {.max_funcs = 2};
	const struct resolve_opts dead = {.pids = &gone, .n_pids = 1};
	char spec[4200], spec2[4200];
	const char *const two[] = {spec, spec2};
	const struct resolve_opts three = {.max_funcs = 3};
	struct probe_set ps;

	(void)state;
	snprintf(spec, sizeof(spec), "%s:nothing_like_this*", lib);
	assert_resolve_fails(spec, NULL, -ESRCH, "try 'snag list");
	snprintf(spec, sizeof(spec), "%s:fixture_*", stripped);
	assert_resolve_fails(spec, NULL, -ESRCH, "is stripped (no .symtab and no debug file)");
	snprintf(spec, sizeof(spec), "%s:x", not_elf);
	assert_resolve_fails(spec, NULL, -ENOEXEC, "not an ELF file");
	assert_resolve_fails("/nonexistent/snag-bin:x", NULL, -ENOENT, "/nonexistent/snag-bin");
	snprintf(spec, sizeof(spec), "%s:libfixture_*", lib);
	assert_resolve_fails(spec, &small, -E2BIG, "more than the limit of 2");
	/* Each spec is under the limit; together they are over it. */
	snprintf(spec, sizeof(spec), "%s:libfixture_[am]*", lib);
	snprintf(spec2, sizeof(spec2), "%s:libfixture_[ls]*", lib);
	assert_int_equal(resolve_strs(two, 2, &three, &ps), -E2BIG);
	assert_non_null(strstr(snag_last_error(), "--max-funcs"));
	assert_int_equal(ps.n_points, 0);
	assert_resolve_fails("main", NULL, -EINVAL, "needs -p or -c");
	assert_resolve_fails("libc:malloc", &dead, -ENOENT, "no process with pid");
	assert_resolve_fails("libno_such_lib_here:f", NULL, -ENOENT, "not found");
	free(lib);
	free(stripped);
	free(not_elf);
}

/* The function -p tests probe in the test binary itself. */
__attribute__((noipa, used)) int resolve_test_target(int x)
{
	return x * 5 + 3;
}

static int first_object_bias(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	*(uintptr_t *)data = info->dlpi_addr;
	return 1;
}

/* -p PID: the main binary through /proc/PID/exe, a library through the process's maps. */
static void test_resolve_pid(void **state)
{
	char *lib = abs_build_path("tests/elf/libfixture.so"), exe[PATH_MAX], attach[PATH_MAX + 64];
	int pid = getpid();
	const struct resolve_opts o = {.pids = &pid, .n_pids = 1};
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	struct link_map *lm = NULL;
	uintptr_t bias = 0;
	struct probe_set ps;
	ssize_t n;

	(void)state;
	assert_non_null(h);
	assert_int_equal(dlinfo(h, RTLD_DI_LINKMAP, &lm), 0);
	assert_int_equal(resolve_one_str("libfixture:libfixture_add", &o, &ps), 0);
	assert_int_equal(ps.n_points, 1);
	assert_string_equal(ps.points[0].binary, lib);
	snprintf(attach, sizeof(attach), "/proc/%d/root%s", pid, lib);
	assert_string_equal(ps.points[0].attach_path, attach);
	assert_int_equal(ps.points[0].pid, pid);
	assert_int_equal(ps.points[0].address, (uintptr_t)dlsym(h, "libfixture_add") - lm->l_addr);
	probe_set__free(&ps);

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	dl_iterate_phdr(first_object_bias, &bias);
	assert_int_equal(resolve_one_str("resolve_test_targe?", &o, &ps), 0);
	assert_int_equal(ps.n_points, 1);
	assert_string_equal(ps.points[0].binary, exe);
	snprintf(attach, sizeof(attach), "/proc/%d/exe", pid);
	assert_string_equal(ps.points[0].attach_path, attach);
	assert_string_equal(ps.points[0].name, "resolve_test_target");
	assert_int_equal(ps.points[0].address, (uintptr_t)resolve_test_target - bias);
	probe_set__free(&ps);

	assert_resolve_fails("libnot_loaded_here:f", &o, -ENOENT, "snag list -p");
	dlclose(h);
	free(lib);
}

/* Two processes running one library: one func_id, a point per pid. */
static void test_resolve_two_pids_share_func_id(void **state)
{
	char *lib = abs_build_path("tests/elf/libfixture.so");
	void *h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	int pids[2] = {getpid(), 0};
	const struct resolve_opts o = {.pids = pids, .n_pids = 2};
	struct probe_set ps;

	(void)state;
	assert_non_null(h);
	pids[1] = fork();
	assert_true(pids[1] >= 0);
	if (pids[1] == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(resolve_one_str("libfixture:libfixture_[am]*", &o, &ps), 0);
	kill(pids[1], SIGKILL);
	waitpid(pids[1], NULL, 0);
	assert_int_equal(ps.n_funcs, 2);
	assert_int_equal(ps.n_points, 4);
	for (size_t i = 0; i < ps.n_points; i++) {
		const struct probe_point *p = &ps.points[i];

		assert_int_equal(p->func_id, i / 2); /* sorted by (func_id, pid) */
		assert_int_equal(p->pid, i % 2 ? (pids[0] > pids[1] ? pids[0] : pids[1])
					       : (pids[0] < pids[1] ? pids[0] : pids[1]));
		assert_int_equal(p->address, ps.points[i - i % 2].address);
	}
	probe_set__free(&ps);
	dlclose(h);
	free(lib);
}

/* -c: the main binary is the command's program; libraries come from the loader search. */
static void test_resolve_command(void **state)
{
	char *pie = abs_build_path("tests/elf/fixture-pie");
	const struct resolve_opts o = {.command_pid = 4242, .command_path = pie};
	struct probe_set ps;

	(void)state;
	assert_int_equal(resolve_one_str("fixture_*", &o, &ps), 0);
	assert_int_equal(ps.n_points, PIE_FIXTURE_FUNCS);
	for (size_t i = 0; i < ps.n_points; i++) {
		assert_int_equal(ps.points[i].pid, 4242);
		assert_string_equal(ps.points[i].binary, pie);
		assert_string_equal(ps.points[i].attach_path, pie);
	}
	probe_set__free(&ps);
	/* The system's libc, found without a process. */
	assert_int_equal(resolve_one_str("libc:malloc", &o, &ps), 0);
	assert_int_equal(ps.n_points, 1);
	assert_non_null(strstr(ps.points[0].binary, "libc.so"));
	assert_int_equal(ps.points[0].pid, 4242);
	probe_set__free(&ps);
	free(pie);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_parse),
	    cmocka_unit_test(test_spec_parse_invalid),
	    cmocka_unit_test(test_lib_name_rules),
	    cmocka_unit_test(test_ld_so_conf),
	    cmocka_unit_test(test_libsearch),
	    cmocka_unit_test(test_resolve_path_system_wide),
	    cmocka_unit_test(test_resolve_aliases_dedupe),
	    cmocka_unit_test(test_resolve_errors),
	    cmocka_unit_test(test_resolve_pid),
	    cmocka_unit_test(test_resolve_two_pids_share_func_id),
	    cmocka_unit_test(test_resolve_command),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
