/* One-line error messages: set where a failure is understood, printed once by the command. */
#ifndef SNAG_ERRORS_H
#define SNAG_ERRORS_H

/* Exit statuses: bad input (the user can fix the command line) vs runtime failure. */
#define SNAG_EXIT_OK	  0
#define SNAG_EXIT_RUNTIME 1
#define SNAG_EXIT_USAGE	  2

/*
 * Record the message for the current failure, replacing any earlier one. The
 * message names the problem and the fix, with no "snag:" prefix and no newline.
 */
void snag_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last message set, or "" if none. Owned by this module, valid until the next set. */
const char *snag_last_error(void);

/* Forget the last message. */
void snag_clear_error(void);

/* Print "snag: <last message>" (or "snag: <fallback>" if none was set) to stderr. */
void snag_print_error(const char *fallback);

#endif
