/* snag list: the functions that can be traced in a binary or process. (placeholder, being written) */
#include <stdio.h>
#include "commands.h"
#include "errors.h"

int cmd_list(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "snag: list is not implemented yet\n");
	return SNAG_EXIT_RUNTIME;
}
