/* Reading a saved "snag-report/1" JSON document back into the report model, validating it. */
#ifndef SNAG_REPORT_READ_H
#define SNAG_REPORT_READ_H

#include <jansson.h>
#include "report.h"

/*
 * report__read_json() flags. STRICT also refuses keys the reader does not
 * know: the round-trip tests use it so that a field added to the JSON
 * renderer but not to the reader fails them. Without it, unknown keys are
 * ignored, as docs/report-json.md promises consumers.
 */
#define REPORT_READ_STRICT 0x1u

/*
 * Read the JSON report at path ("-" for standard input) into a new report.
 * Derived fields (avg/percentiles, impact, severity), row order and
 * bottlenecks are kept exactly as written: the report is not finished again.
 * Returns 0 with *out set (free it with report__free()), or on failure
 * *out NULL, snag_set_error() set to one line naming path (and, for a bad
 * field, its JSON path, e.g. "functions[3].count", and what was expected),
 * and: -EINVAL for a file that is not a valid snag-report/1 document
 * (malformed or truncated JSON, empty, wrong schema, missing field or wrong
 * type), -ENOENT, -EISDIR, -EACCES, ... when it cannot be read, -ENOMEM.
 */
int report__read_file(const char *path, struct report **out);

/*
 * The same for a parsed document; source names it in messages (a path).
 * flags: 0 or REPORT_READ_STRICT. root is not modified or released.
 */
int report__read_json(json_t *root, const char *source, unsigned flags, struct report **out);

#endif
