/* Unit tests for user/textsafe.c and the text outputs it guards: escape sequences, C1 controls and
 * invalid UTF-8 from traced processes and saved reports never reach a terminal raw. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>
#include <cmocka.h>
#include <jansson.h>
#include "diff.h"
#include "model_fixture.h"
#include "report.h"
#include "report_read.h"
#include "textsafe.h"

/* What the review named a JIT symbol: set the terminal title, clear the screen. */
#define TITLE_ATTACK "\x1b]0;TITLE\a\x1b[2J"

static char *clean(const char *in, size_t len, bool keep_newlines)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);

	assert_non_null(m);
	assert_int_equal(textsafe__write(m, in, len, keep_newlines, true), len);
	assert_int_equal(fclose(m), 0);
	return buf;
}

static void assert_clean(const char *in, size_t len, const char *want)
{
	char *got = clean(in, len, true);

	if (strcmp(got, want))
		fail_msg("cleaned '%s', want '%s'", got, want);
	free(got);
}

#define CLEAN(in, want) assert_clean(in, sizeof(in) - 1, want)

static void test_replacements(void **state)
{
	(void)state;
	CLEAN("plain ascii: a-z 0-9 ~!@#", "plain ascii: a-z 0-9 ~!@#");
	CLEAN(TITLE_ATTACK "x", "?]0;TITLE??[2Jx");
	CLEAN("a\tb\rc\x7f"
	      "d\n",
	      "a?b?c?d\n");
	/* C1 as raw bytes (not UTF-8) and as UTF-8 code points: CSI, OSC, NEL. */
	CLEAN("\x9b"
	      "31m \x9d"
	      "0;t\x07",
	      "?31m ?0;t?");
	CLEAN("\xc2\x9b"
	      "31m \xc2\x85"
	      "x",
	      "?31m ?x");
	/* Valid UTF-8 passes: accents, CJK, an emoji, U+00A0 (just after C1). */
	CLEAN("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x94\xa5 \xc2\xa0",
	      "caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x94\xa5 \xc2\xa0");
	/* Invalid UTF-8: lone continuation, overlong '/', a surrogate, above U+10FFFF, cut short.
	 */
	CLEAN("\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x9c", "?|??|???|????|??");
	/* Marks that reorder text or break lines: RLO, LRI, LINE SEPARATOR. */
	CLEAN("a\xe2\x80\xae"
	      "b\xe2\x81\xa6"
	      "c\xe2\x80\xa8"
	      "d",
	      "a?b?c?d");
	/* One line: newlines go too. */
	{
		char *got = clean("two\nlines", 9, false);

		assert_string_equal(got, "two?lines");
		free(got);
	}
}

/* Through the stream, a sequence split across writes is put back together, or replaced at close. */
static void test_stream_splits(void **state)
{
	static const char in[] =
	    "\xe6\x97\xa5 \xc2\x9b x\xf0\x9f\x94\xa5\n" TITLE_ATTACK "\xe2\x9c";
	char *want = clean(in, sizeof(in) - 1, true), *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n), *safe;

	(void)state;
	assert_non_null(m);
	safe = textsafe__open(m);
	assert_non_null(safe);
	setvbuf(safe, NULL, _IONBF, 0); /* every byte its own write */
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		fputc(in[i], safe);
	assert_int_equal(fclose(safe), 0);
	assert_int_equal(fclose(m), 0);
	assert_string_equal(buf, want);
	assert_string_equal(want, "\xe6\x97\xa5 ? x\xf0\x9f\x94\xa5\n?]0;TITLE??[2J??");
	free(buf);
	free(want);
}

/*
 * Checked independently of textsafe: the text is valid UTF-8 (mbrtowc in
 * C.UTF-8) with no control character but newlines (iswcntrl: C0, DEL, C1).
 */
static void assert_terminal_safe(const char *text)
{
	mbstate_t st = {0};
	const char *p = text;
	size_t left = strlen(text);

	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	while (left) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, p, left, &st);

		if (k == (size_t)-1 || k == (size_t)-2)
			fail_msg("invalid UTF-8 at byte %zu of:\n%s", (size_t)(p - text), text);
		if (wc != L'\n' && iswcntrl((wint_t)wc))
			fail_msg("control character U+%04X at byte %zu of:\n%s", (unsigned)wc,
				 (size_t)(p - text), text);
		p += k;
		left -= k;
	}
	setlocale(LC_CTYPE, "C");
}

static char *render(const struct report *r, enum report_format fmt)
{
	struct render_opts o = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	assert_non_null(m);
	assert_int_equal(report__render(r, fmt, &o, m), 0);
	assert_int_equal(fclose(m), 0);
	return buf;
}

/* A report whose every kind of outside string is hostile: symbols, binaries, process names. */
static struct report *hostile_model(uint64_t latency_ns)
{
	static const char *const kstack[] = {"schedule", NULL};
	static const char *const ustack[] = {TITLE_ATTACK,
					     "LazyCompile:\xc2\x9b"
					     "2J",
					     NULL};
	struct report *r = fixture_model();
	size_t i;

	assert_non_null(r);
	i = fixture_function(r,
			     "/tmp/\x9b"
			     "31mevil.so",
			     TITLE_ATTACK "handler", 0x42);
	fixture_add_series(&r->functions[i], 100, latency_ns, 1000);
	assert_non_null(
	    fixture_sched(r, 77, 77, "\x1b[2Jcomm\xc2\x9d", 100000000, 1000, 90000000, 0, 5, 0));
	assert_true(fixture_offcpu(r, 77, 77, "\x1b[2Jcomm\xc2\x9d", OFFCPU_BLOCKED, 5, 90000000,
				   20000000, kstack, ustack) != (size_t)-1);
	report__finish(r);
	assert_int_equal(analysis__build_bottlenecks(r), 0);
	return r;
}

/* Attack 4: text output wrote a JIT symbol's escape sequences raw to root's terminal. */
static void test_text_report_is_safe(void **state)
{
	struct report *r = hostile_model(1000000);
	char *text = render(r, FORMAT_TEXT);

	(void)state;
	assert_terminal_safe(text);
	assert_non_null(strstr(text, "?]0;TITLE??[2J")); /* shown, defanged */
	assert_non_null(strstr(text, "?[2Jcomm?"));
	free(text);
	report__free(r);
}

/*
 * Also `snag report` of a JSON file someone shared: the strings arrive JSON-
 * escaped and come out raw after reading, so they are cleaned on the way
 * out, while the JSON itself keeps them exactly.
 */
static void test_saved_report_is_safe(void **state)
{
	struct report *r = hostile_model(1000000), *back = NULL;
	char *json = render(r, FORMAT_JSON), *text;
	json_error_t jerr;
	json_t *root = json_loads(json, 0, &jerr);

	(void)state;
	assert_non_null(root);
	assert_non_null(strstr(json, "\\u001B]0;TITLE\\u0007\\u001B[2J")); /* JSON escaping, kept */
	assert_int_equal(report__read_json(root, "hostile.json", 0, &back), 0);
	text = render(back, FORMAT_TEXT);
	assert_terminal_safe(text);
	assert_non_null(strstr(text, "?]0;TITLE??[2J"));
	free(text);
	json_decref(root);
	free(json);
	report__free(back);
	report__free(r);
}

/* snag diff's text: the same. */
static void test_diff_text_is_safe(void **state)
{
	struct report *base = hostile_model(1000000), *new = hostile_model(5000000);
	struct diff *d = NULL;
	char *buf = NULL;
	size_t len = 0;
	FILE *m;

	(void)state;
	assert_int_equal(diff__compare(base, new, NULL, &d), 0);
	m = open_memstream(&buf, &len);
	assert_non_null(m);
	assert_int_equal(diff__render(d, NULL, FORMAT_TEXT, m), 0);
	assert_int_equal(fclose(m), 0);
	assert_terminal_safe(buf);
	assert_non_null(strstr(buf, "?]0;TITLE??[2J"));
	free(buf);
	diff__free(d);
	report__free(base);
	report__free(new);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_replacements),	cmocka_unit_test(test_stream_splits),
	    cmocka_unit_test(test_text_report_is_safe), cmocka_unit_test(test_saved_report_is_safe),
	    cmocka_unit_test(test_diff_text_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
