/* JSON renderer of a diff: the "snag-diff/1" document described in docs/diff.md, for CI gates. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <jansson.h>
#include "render.h"

static const char *const list_keys[DIFF_N_VERDICTS] = {
    [DIFF_REGRESSION] = "regressions",
    [DIFF_IMPROVEMENT] = "improvements",
    [DIFF_CHANGE] = "changes",
};

static const char *unit_name(enum diff_unit u)
{
	switch (u) {
	case DIFF_UNIT_NS:
		return "ns";
	case DIFF_UNIT_NS_PER_S:
		return "ns/s";
	case DIFF_UNIT_SHARE:
		return "share";
	case DIFF_UNIT_PER_S:
		return "1/s";
	case DIFF_UNIT_BYTES_PER_S:
		return "bytes/s";
	}
	return "?";
}

/* A number that is written as an integer when it is integral; null when not finite. */
static json_t *json_number(double v)
{
	if (!isfinite(v))
		return json_null();
	if (v >= -9.2e18 && v <= 9.2e18 && (double)(json_int_t)v == v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Append v (stolen) to *arr; on failure release *arr and set it to NULL. */
static void append(json_t **arr, json_t *v)
{
	if (v && !json_array_append_new(*arr, v))
		return;
	json_decref(*arr);
	*arr = NULL;
}

static json_t *entry_json(const struct diff_entry *e)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:I, s:I}", "kind", e->kind,
			 "key", e->key, "label", e->label, "metric", e->metric, "unit",
			 unit_name(e->unit), "base", json_number(e->base), "new",
			 json_number(e->new), "change", json_number(e->change), "base_samples",
			 (json_int_t)e->base_samples, "new_samples", (json_int_t)e->new_samples);
}

static json_t *entries_json(const struct diff *d, enum diff_verdict v)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < d->n_entries[v]; i++)
		append(&arr, entry_json(&d->entries[v][i]));
	return arr;
}

static json_t *compared_json(const struct diff *d)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < DIFF_N_KINDS; i++) {
		const struct diff_kind_count *k = &d->kinds[i];

		append(&arr, json_pack("{s:s, s:I, s:I, s:I}", "kind", k->kind, "both",
				       (json_int_t)k->both, "only_base", (json_int_t)k->only_base,
				       "only_new", (json_int_t)k->only_new));
	}
	return arr;
}

int render__diff_json(const struct diff *d, const struct diff_names *names, FILE *out)
{
	json_t *root;
	int err = 0;

	root =
	    json_pack("{s:s, s:{s:s, s:I}, s:{s:s, s:I}, s:o, s:I, s:I, s:o, s:o, s:o, s:o}",
		      "schema", DIFF_SCHEMA, "base", "file", names->base, "duration_ns",
		      (json_int_t)d->base_duration_ns, "new", "file", names->new, "duration_ns",
		      (json_int_t)d->new_duration_ns, "threshold", json_number(d->opts.threshold),
		      "min_count", (json_int_t)d->opts.min_count, "regression_count",
		      (json_int_t)d->n_entries[DIFF_REGRESSION], list_keys[DIFF_REGRESSION],
		      entries_json(d, DIFF_REGRESSION), list_keys[DIFF_IMPROVEMENT],
		      entries_json(d, DIFF_IMPROVEMENT), list_keys[DIFF_CHANGE],
		      entries_json(d, DIFF_CHANGE), "compared", compared_json(d));
	if (!root)
		return -ENOMEM;
	if (json_dumpf(root, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10)) ||
	    fputc('\n', out) == EOF)
		err = ferror(out) ? (errno ? -errno : -EIO) : -ENOMEM;
	json_decref(root);
	return err;
}
