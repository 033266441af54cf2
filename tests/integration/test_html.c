/* Integration tests: the HTML report of a real trace, opened in a real browser (headless
 * Chromium): its script runs without errors, draws the flame graph, and the page is not blank. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <png.h>
#include "itest.h"

#define CHROMIUM	  "/usr/bin/chromium"
#define BROWSER_TIMEOUT_S 90
#define SHOT_W		  1280
#define SHOT_H		  2000

/* Run headless Chromium on file:// path with extra arguments (NULL-terminated); expects exit 0. */
static void run_chromium(const char *path, struct test_run *r, ...)
{
	char url[4200], *argv[16];
	int argc = 0;
	va_list ap;
	char *a;

	if (access(CHROMIUM, X_OK))
		fail_msg("%s is missing: run 'make deps' (tools/install-deps.sh installs chromium)",
			 CHROMIUM);
	snprintf(url, sizeof(url), "file://%s", path);
	argv[argc++] = CHROMIUM;
	argv[argc++] = "--headless";
	argv[argc++] = "--no-sandbox"; /* root, in a container: the sandbox cannot start */
	argv[argc++] = "--disable-gpu";
	argv[argc++] = "--hide-scrollbars";
	va_start(ap, r);
	while ((a = va_arg(ap, char *)) && argc < 14)
		argv[argc++] = a;
	va_end(ap);
	argv[argc++] = url;
	argv[argc] = NULL;
	assert_int_equal(test_run(argv, BROWSER_TIMEOUT_S, r), 0);
	if (r->status != 0)
		fail_msg("chromium exited %d: %s", r->status, r->err);
}

/* The value of attribute attr in the tag that contains "id=\"<id>\"", or NULL. */
static char *tag_attr(const char *dom, const char *id, const char *attr)
{
	char needle[128];
	const char *at, *tag_end, *v;

	snprintf(needle, sizeof(needle), "id=\"%s\"", id);
	at = strstr(dom, needle);
	if (!at)
		return NULL;
	tag_end = strchr(at, '>');
	snprintf(needle, sizeof(needle), " %s=\"", attr);
	v = strstr(at, needle);
	if (!v || !tag_end || v > tag_end)
		return NULL;
	v += strlen(needle);
	return strndup(v, strcspn(v, "\""));
}

/*
 * How far the flame graph svg (its text up to </svg>) extends below its
 * deepest drawn frame: the svg's height minus the bottom of its lowest rect.
 */
static long svg_blank_below(const char *svg)
{
	const char *h = strstr(svg, " height=\"");
	long bottom = 0;

	assert_non_null(h);
	for (const char *r = strstr(svg, "<rect"); r; r = strstr(r + 1, "<rect")) {
		const char *y = strstr(r, " y=\""), *rh = strstr(r, " height=\"");

		assert_true(y && rh);
		if (atol(y + 4) + atol(rh + 9) > bottom)
			bottom = atol(y + 4) + atol(rh + 9);
	}
	return atol(h + 9) - bottom;
}

/*
 * How many pixels of the PNG differ from its most common colour, and how
 * many distinct colours (at 4 bits per channel) it has.
 */
static void png_variety(const char *path, double *off_share, size_t *colours)
{
	static size_t bins[1 << 12];
	png_image img;
	png_bytep px;
	size_t n, i, top = 0;

	memset(bins, 0, sizeof(bins));
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		fail_msg("%s is not a PNG: %s", path, img.message);
	img.format = PNG_FORMAT_RGB;
	n = (size_t)img.width * img.height;
	px = malloc(PNG_IMAGE_SIZE(img));
	assert_non_null(px);
	if (!png_image_finish_read(&img, NULL, px, 0, NULL))
		fail_msg("cannot decode %s: %s", path, img.message);
	assert_int_equal(img.width, SHOT_W);
	for (i = 0; i < n; i++)
		bins[(px[3 * i] >> 4) << 8 | (px[3 * i + 1] >> 4) << 4 | px[3 * i + 2] >> 4]++;
	*colours = 0;
	for (i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		*colours += bins[i] > 0;
		top = bins[i] > top ? bins[i] : top;
	}
	*off_share = (double)(n - top) / (double)n;
	test_drop(px);
}

/*
 * snag records a sleeper (20 x 50 ms in wait_for_timer, then a deep and
 * narrow block) as HTML; Chromium loads the page: no console errors, the
 * script drew the off-CPU flame graph with the sleeper's frames and no blank
 * rows for the narrow stack, and a screenshot shows a page, not a blank.
 */
static void test_html_report_in_browser(void **state)
{
	char cmd[8300], html[4200], png[4200], *dom, *frames, *svg, *svg_end;
	double off_share;
	size_t colours;
	struct test_run r;

	(void)state;
	require_bpf();
	snprintf(html, sizeof(html), "%s", out_path("report.html"));
	snprintf(png, sizeof(png), "%s", out_path("report.png"));
	/* 20 x 50 ms, then one 150 us block 40 frames down: too narrow to draw. */
	snprintf(cmd, sizeof(cmd), "%s sleeper 20 50 40", target_path);
	char *argv[] = {snag_path, "-c", cmd, "--format", "html", "-o", html, NULL};
	assert_int_equal(test_run(argv, 60, &r), 0);
	if (r.status != 0)
		fail_msg("snag exited %d: %s", r.status, r.err);
	test_run__free(&r);

	/* Chromium wants a writable home for its profile. */
	setenv("HOME", out_path(""), 1);
	run_chromium(html, &r, "--enable-logging=stderr", "--v=0", "--dump-dom", NULL);
	/* Console messages (uncaught exceptions included) are logged as "...:CONSOLE...". */
	if (strstr(r.err, "CONSOLE") || strstr(r.err, "Uncaught"))
		fail_msg("the page logged to the console:\n%s", r.err);
	dom = r.out;
	frames = tag_attr(dom, "flame-offcpu", "data-frames");
	if (!frames || atoi(frames) <= 0)
		fail_msg("the script drew no flame graph frames (data-frames=%s)",
			 frames ? frames : "missing");
	test_drop(frames);
	svg = strstr(dom, "<svg class=\"flame-svg\"");
	assert_non_null(svg);
	svg_end = strstr(svg, "</svg>");
	assert_non_null(svg_end);
	*svg_end = '\0';
	if (!strstr(svg, "data-name=\"wait_for_timer\" data-type=\"user\"") ||
	    !strstr(svg, "data-type=\"kernel\"") || !strstr(svg, "<text"))
		fail_msg("the flame graph lacks the sleeper's frames: %.2000s", svg);
	/* As tall as what it drew: stacks too narrow to draw leave no blank rows. */
	if (svg_blank_below(svg) > 4)
		fail_msg("the flame graph has %ld px of blank rows below its frames",
			 svg_blank_below(svg));
	test_run__free(&r);

	snprintf(cmd, sizeof(cmd), "--screenshot=%s", png);
	run_chromium(html, &r, cmd, "--window-size=1280,2000", NULL);
	test_run__free(&r);
	png_variety(png, &off_share, &colours);
	/* A blank page is one colour; the report has cards, text, bars and frames. */
	if (off_share < 0.10 || colours < 40)
		fail_msg("the screenshot looks blank: %.1f%% of pixels off the main colour, %zu "
			 "colours",
			 off_share * 100, colours);
	/* Keep a copy to look at (SNAG_HTML_SHOT=path). */
	if (getenv("SNAG_HTML_SHOT")) {
		char *copy[] = {"/bin/cp", png, getenv("SNAG_HTML_SHOT"), NULL};

		assert_int_equal(test_run(copy, 10, &r), 0);
		test_run__free(&r);
	}
}

static int setup(void **state)
{
	(void)state;
	return itest_setup("offcpu");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_html_report_in_browser),
	};

	return cmocka_run_group_tests_name("html", tests, setup, teardown);
}
