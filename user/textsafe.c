/* Text that is safe to show on a terminal: controls, C1, invalid UTF-8 and bidi marks become '?'.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "textsafe.h"

/* A valid UTF-8 sequence is at most this long; a cut one waits with at most MAX_SEQ - 1 bytes. */
#define MAX_SEQ 4

/*
 * The length of the valid UTF-8 sequence at p (n >= 1 bytes there, p[0] >=
 * 0x80): 2 to 4; 0 if p[0] starts no valid sequence (overlong forms,
 * surrogates and code points above U+10FFFF are invalid); -1 if the n bytes
 * are a valid start cut short.
 */
static int seq_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	int len;

	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		lo = c == 0xe0 ? 0xa0 : 0x80;
		hi = c == 0xed ? 0x9f : 0xbf;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		lo = c == 0xf0 ? 0x90 : 0x80;
		hi = c == 0xf4 ? 0x8f : 0xbf;
	} else {
		return 0;
	}
	for (int i = 1; i < len; i++) {
		if ((size_t)i >= n)
			return -1;
		if (i == 1 ? p[i] < lo || p[i] > hi : (p[i] & 0xc0) != 0x80)
			return 0;
	}
	return len;
}

static uint32_t decode(const unsigned char *p, int len)
{
	uint32_t cp = p[0] & (0xff >> (len + 1));

	for (int i = 1; i < len; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/* Code points that are valid but not shown: C1 controls, and marks that reorder or break lines. */
static int unsafe_code_point(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

static int safe_ascii(unsigned char c, bool keep_newlines)
{
	return (c >= 0x20 && c < 0x7f) || (c == '\n' && keep_newlines);
}

size_t textsafe__write(FILE *out, const char *s, size_t len, bool keep_newlines, bool final)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		size_t run = 0;
		int n;

		while (i + run < len && safe_ascii(p[i + run], keep_newlines))
			run++;
		if (run) {
			fwrite(p + i, 1, run, out);
			i += run;
			continue;
		}
		if (p[i] < 0x80) {
			fputc(TEXTSAFE_REPLACEMENT, out);
			i++;
			continue;
		}
		n = seq_len(p + i, len - i);
		if (n < 0 && !final)
			break; /* the rest comes with the next write */
		if (n <= 0 || unsafe_code_point(decode(p + i, n))) {
			fputc(TEXTSAFE_REPLACEMENT, out);
			i += n > 0 ? (size_t)n : 1;
			continue;
		}
		fwrite(p + i, 1, (size_t)n, out);
		i += (size_t)n;
	}
	return i;
}

void textsafe__fputs(const char *s, FILE *out)
{
	textsafe__write(out, s, strlen(s), false, true);
}

/* The stream's state: where the text goes, and the start of a sequence cut by the last write. */
struct textsafe {
	FILE *out;
	unsigned char pending[MAX_SEQ];
	size_t n_pending;
};

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	struct textsafe *ts = cookie;
	size_t used = 0, k;

	/* Complete (or give up on) a sequence the last write cut, a byte at a time. */
	while (ts->n_pending && used < size) {
		ts->pending[ts->n_pending++] = (unsigned char)buf[used++];
		k = textsafe__write(ts->out, (const char *)ts->pending, ts->n_pending, true, false);
		memmove(ts->pending, ts->pending + k, ts->n_pending - k);
		ts->n_pending -= k;
	}
	if (used < size) {
		k = textsafe__write(ts->out, buf + used, size - used, true, false);
		ts->n_pending = size - used - k; /* < MAX_SEQ: a cut sequence */
		memcpy(ts->pending, buf + used + k, ts->n_pending);
	}
	return ferror(ts->out) ? -1 : (ssize_t)size;
}

static int stream_close(void *cookie)
{
	struct textsafe *ts = cookie;
	int err;

	textsafe__write(ts->out, (const char *)ts->pending, ts->n_pending, true, true);
	err = ferror(ts->out) ? -1 : 0;
	free(ts);
	return err;
}

FILE *textsafe__open(FILE *out)
{
	cookie_io_functions_t io = {.write = stream_write, .close = stream_close};
	struct textsafe *ts = calloc(1, sizeof(*ts));
	FILE *f;

	if (!ts)
		return NULL;
	ts->out = out;
	f = fopencookie(ts, "w", io);
	if (!f) {
		free(ts);
		errno = ENOMEM;
		return NULL;
	}
	return f;
}
