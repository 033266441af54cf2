/* Internal interface between report__render() and the per-format renderers. */
#ifndef SNAG_RENDER_H
#define SNAG_RENDER_H

#include <stdio.h>
#include "diff.h"
#include "report.h"

/*
 * Each renderer writes the whole report to out and returns 0, or -ENOMEM if
 * building the output failed. Stream errors are checked by report__render().
 * o is never NULL.
 */
int render__text(const struct report *r, const struct render_opts *o, FILE *out);
int render__json(const struct report *r, FILE *out);
/* Off-CPU stacks as folded lines (nothing at all when there are none). */
int render__folded(const struct report *r, FILE *out);
/*
 * One self-contained HTML page (inline CSS, SVG and script; nothing is
 * fetched). Every string from the traced system is escaped, in the markup
 * and in the JSON the flame graphs are drawn from.
 */
int render__html(const struct report *r, FILE *out);

/*
 * Off-CPU stacks and function times as a gzip-compressed pprof profile
 * (docs/exports.md). Also -EIO if compressing failed.
 */
int render__pprof(const struct report *r, FILE *out);

/* A diff as text tables or as the snag-diff/1 JSON document; names is never NULL. */
int render__diff_text(const struct diff *d, const struct diff_names *names, FILE *out);
int render__diff_json(const struct diff *d, const struct diff_names *names, FILE *out);

#endif
