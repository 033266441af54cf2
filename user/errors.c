/* One-line error messages: set where a failure is understood, printed once by the command. */
#include <stdarg.h>
#include <stdio.h>
#include "errors.h"
#include "textsafe.h"

static char last_error[1024];

void snag_set_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
}

const char *snag_last_error(void)
{
	return last_error;
}

void snag_clear_error(void)
{
	last_error[0] = '\0';
}

void snag_print_error(const char *fallback)
{
	/* Messages name paths and symbols from traced processes: shown safe, on one line. */
	fputs("snag: ", stderr);
	textsafe__fputs(last_error[0] ? last_error : fallback, stderr);
	fputc('\n', stderr);
}
