/* report__render(), diff__render(): dispatch to the renderer of a format and check the stream. */
#include <errno.h>
#include "render.h"

int report__render(const struct report *r, enum report_format fmt, const struct render_opts *o,
		   FILE *out)
{
	static const struct render_opts defaults;
	int err;

	if (!r || !out)
		return -EINVAL;
	if (!o)
		o = &defaults;
	errno = 0;
	switch (fmt) {
	case FORMAT_TEXT:
		err = render__text(r, o, out);
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
	int err;

	if (!d || !out)
		return -EINVAL;
	if (!names || !names->base || !names->new)
		names = &defaults;
	errno = 0;
	switch (fmt) {
	case FORMAT_TEXT:
		err = render__diff_text(d, names, out);
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
