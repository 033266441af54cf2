/*
 * Benchmark target for per-call tracing overhead (tools/bench-funclat.sh).
 *
 * Usage: callloop N push|lea
 *
 * Calls one trivial function N times in a tight loop and prints
 * "calls=N ns_per_call=X" (wall time of the loop, CLOCK_MONOTONIC).
 *
 * The two functions do the same work but start with different instructions,
 * because the cost of a uprobe depends on the instruction at the probe address:
 *   bench_push  starts with `push %rbp` (frame pointer), which the kernel emulates;
 *   bench_lea   starts with `lea 0x1(%rdi),%rax` (no frame), which the kernel
 *               must single-step out of line, about 10x slower.
 * tools/bench-funclat.sh checks the first instructions with objdump.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Written in assembly so the first instruction does not depend on the compiler:
 * GCC 12 drops the frame pointer of a trivial leaf function even with
 * -fno-omit-frame-pointer, so a C bench_push would start with `lea` too.
 * Both compute x + 1 (System V ABI: argument in %rdi, result in %rax).
 */
#ifdef __x86_64__
long bench_push(long x);
long bench_lea(long x);

__asm__(".text\n"
	".p2align 4\n"
	".globl bench_push\n"
	".type bench_push, @function\n"
	"bench_push:\n"
	"	push %rbp\n"
	"	mov %rsp, %rbp\n"
	"	lea 1(%rdi), %rax\n"
	"	pop %rbp\n"
	"	ret\n"
	".size bench_push, .-bench_push\n"
	".p2align 4\n"
	".globl bench_lea\n"
	".type bench_lea, @function\n"
	"bench_lea:\n"
	"	lea 1(%rdi), %rax\n"
	"	ret\n"
	".size bench_lea, .-bench_lea\n");
#else
/* Elsewhere the first instructions are whatever the compiler emits. */
__attribute__((noipa)) long bench_push(long x)
{
	return x + 1;
}

__attribute__((noipa)) long bench_lea(long x)
{
	return x + 1;
}
#endif

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: callloop N push|lea\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long (*fn)(long);
	long long n, i, t0, t1;
	volatile long sink;
	long acc = 0;
	char *end;

	if (argc != 3)
		usage();
	n = strtoll(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || n <= 0)
		usage();
	if (strcmp(argv[2], "push") == 0)
		fn = bench_push;
	else if (strcmp(argv[2], "lea") == 0)
		fn = bench_lea;
	else
		usage();

	t0 = now_ns();
	for (i = 0; i < n; i++)
		acc = fn(acc);
	t1 = now_ns();
	sink = acc;
	(void)sink;

	printf("calls=%lld ns_per_call=%.1f\n", n, (double)(t1 - t0) / (double)n);
	return acc == n ? 0 : 1;
}
