/*
 * Text that is safe to show on a terminal: every string snag prints as text may come from a traced
 * process or a file (process names, symbols, paths), so control characters, C1 controls, invalid
 * UTF-8 and the Unicode marks that reorder or break lines are shown as '?'.
 */
#ifndef SNAG_TEXTSAFE_H
#define SNAG_TEXTSAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* What takes the place of each byte or character that is not shown as it is. */
#define TEXTSAFE_REPLACEMENT '?'

/*
 * Write the len bytes of s to out with every unsafe character replaced by
 * TEXTSAFE_REPLACEMENT: C0 controls (newline too, unless keep_newlines), DEL,
 * C1 controls both as raw bytes 0x80-0x9f and as their UTF-8 encoding
 * (U+0080..U+009F), bytes that are not valid UTF-8 (overlong forms and
 * surrogates included, one '?' per byte), and the Unicode controls that
 * reorder or break lines (U+061C, U+200E, U+200F, U+2028..U+202E,
 * U+2066..U+2069). Valid UTF-8 otherwise passes as it is. When final is
 * false, a valid but incomplete sequence at the end is left unwritten (for
 * the next call); the count of bytes consumed is returned. This is the one
 * place where that rule lives.
 */
size_t textsafe__write(FILE *out, const char *s, size_t len, bool keep_newlines, bool final);

/* textsafe__write() of a whole NUL-terminated string, newlines replaced too (one line). */
void textsafe__fputs(const char *s, FILE *out);

/*
 * A stream that writes what it is given to out through textsafe__write(),
 * newlines kept: the renderers of text write to it, so no string reaches the
 * terminal raw whatever path it took into the text. A UTF-8 sequence split
 * across writes is put back together. fclose() it to flush it (out stays
 * open; its errors show in out's error flag). Returns NULL with errno set.
 */
FILE *textsafe__open(FILE *out);

#endif
