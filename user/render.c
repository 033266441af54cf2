/* report__render(), diff__render(): dispatch to the renderer of a format and check the stream. */
#include <errno.h>
#include "render.h"
#include "textsafe.h"

/*
 * Text goes to terminals, and its strings come from the traced system and
 * from saved reports, so every text renderer writes to a textsafe stream
 * (user/textsafe.h) over out: no escape sequence reaches the terminal,
 * whichever way a string took into the text. This closes that stream (NULL
 * when it could not be opened) and returns err, or -EIO if flushing failed.
 */
static int safe_text_close(FILE *safe, int err)
{
	if (safe && fclose(safe) && !err)
		err = -EIO;
	return err;
}

int report__render(const struct report *r, enum report_format fmt, const struct render_opts *o,
		   FILE *out)
{
	static const struct render_opts defaults;
	FILE *safe;
	int err;

	if (!r || !out)
		return -EINVAL;
	if (!o)
		o = &defaults;
	errno = 0;
	switch (fmt) {
	case FORMAT_TEXT:
		safe = textsafe__open(out);
		err = safe_text_close(safe, safe ? render__text(r, o, safe) : -ENOMEM);
		break;
	case FORMAT_JSON:
		err = render__json(r, out);
		break;
	case FORMAT_FOLDED:
		err = render__folded(r, out);
		break;
	case FORMAT_HTML:
		err = render__html(r, out);
		break;
	case FORMAT_PPROF:
		err = render__pprof(r, out);
		break;
	default:
		return -EINVAL;
	}
	/* Buffered writes fail late: flush so a full disk or closed pipe is reported here. */
	if (fflush(out) == EOF || ferror(out))
		return errno ? -errno : -EIO;
	return err;
}

int diff__render(const struct diff *d, const struct diff_names *names, enum report_format fmt,
		 FILE *out)
{
	static const struct diff_names defaults = {"base", "new"};
	FILE *safe;
	int err;

	if (!d || !out)
		return -EINVAL;
	if (!names || !names->base || !names->new)
		names = &defaults;
	errno = 0;
	switch (fmt) {
	case FORMAT_TEXT:
		safe = textsafe__open(out);
		err = safe_text_close(safe, safe ? render__diff_text(d, names, safe) : -ENOMEM);
		break;
	case FORMAT_JSON:
		err = render__diff_json(d, names, out);
		break;
	default:
		return -EINVAL;
	}
	if (fflush(out) == EOF || ferror(out))
		return errno ? -errno : -EIO;
	return err;
}
