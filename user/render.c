/* report__render(): dispatch to the renderer of a format and check the stream. */
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
