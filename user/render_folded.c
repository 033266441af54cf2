/* Folded renderer: off- and on-CPU stacks as "frame;frame;... VALUE" lines for flame graph tools.
 */
#include <inttypes.h>
#include <stdio.h>
#include "render.h"

#define NS_PER_US     1000
#define KERNEL_SUFFIX "_[k]" /* flamegraph.pl's mark (and colour) for kernel frames */
#define UNKNOWN_FRAME "[unknown]"
/* Where an incomplete on-CPU user stack's callers would be: the walk lost them. */
#define CALLERS_UNKNOWN_FRAME "[callers unknown: no frame pointers]"

/*
 * Write one frame name so that it stays one frame: ';' (the separator) and
 * control characters (newlines) become '_', and so do trailing spaces, which
 * the tools would take for the separator before the value.
 */
static void put_frame(const char *name, const char *suffix, FILE *out)
{
	const char *p, *end;

	if (!name || !*name)
		name = UNKNOWN_FRAME;
	for (end = name; *end; end++)
		;
	while (end > name && end[-1] == ' ')
		end--;
	for (p = name; *p; p++) {
		unsigned char c = (unsigned char)*p;

		fputc(p >= end || c == ';' || c < 0x20 || c == 0x7f ? '_' : c, out);
	}
	fputs(suffix, out);
}

/* The frames of st, outermost first, each after a ';'; unnamed ones one per module. */
static void put_stack(const struct report_stack *st, const char *suffix, FILE *out)
{
	size_t i;

	for (i = st->frames ? st->n_frames : 0; i > 0; i--) {
		char buf[REPORT_FRAME_FUNCTION_MAX];

		fputc(';', out);
		put_frame(report__frame_function(st->frames[i - 1], buf, sizeof(buf)), suffix, out);
	}
}

/*
 * On-CPU entries (--cpu), after the off-CPU ones and in the same unit: root
 * frame "oncpu", the thread's comm, a marker where an incomplete user stack
 * lost its callers, the user then kernel frames, and the sampled time
 * (samples x period) in microseconds, at least 1.
 */
static int render_oncpu(const struct report *r, FILE *out)
{
	for (size_t i = 0; r->cpu && i < r->n_cpu; i++) {
		const struct report_cpu *c = &r->cpu[i];
		uint64_t ns = c->samples * r->cpu_period_ns;
		uint64_t us = ns / NS_PER_US + (ns % NS_PER_US >= NS_PER_US / 2);

		fputs("oncpu;", out);
		put_frame(c->comm, "", out);
		if (c->user_incomplete)
			fputs(";" CALLERS_UNKNOWN_FRAME, out);
		put_stack(&c->user_stack, "", out);
		put_stack(&c->kernel_stack, KERNEL_SUFFIX, out);
		fprintf(out, " %" PRIu64 "\n", us ? us : 1);
	}
	return 0;
}

/*
 * One line per off-CPU entry, in report order: a root frame for the kind of
 * time ("offcpu-blocked", "offcpu-preempted"), the thread's comm, the user
 * frames and then the kernel frames (outermost first, kernel ones suffixed
 * "_[k]"), and the off-CPU time in microseconds, rounded, at least 1 so that
 * no entry disappears; then the on-CPU entries (render_oncpu()). The tools
 * sum lines with the same stack.
 */
int render__folded(const struct report *r, FILE *out)
{
	size_t i;

	for (i = 0; r->offcpu && i < r->n_offcpu; i++) {
		const struct report_offcpu *o = &r->offcpu[i];
		uint64_t us = o->total_ns / NS_PER_US + (o->total_ns % NS_PER_US >= NS_PER_US / 2);

		fprintf(out, "offcpu-%s;", offcpu_reason__name(o->reason));
		put_frame(o->comm, "", out);
		put_stack(&o->user_stack, "", out);
		put_stack(&o->kernel_stack, KERNEL_SUFFIX, out);
		fprintf(out, " %" PRIu64 "\n", us ? us : 1);
	}
	return render_oncpu(r, out);
}
