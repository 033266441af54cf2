/*
 * Test target with known allocations, for snag --mem (tests/integration/test_mem.c and
 * tools/bench-mem.sh). Each allocation site is its own noipa function, so its stack is known.
 *
 * Usage:
 *   mem leak SECONDS        every 10 ms (absolute deadlines, so the rate holds under load):
 *                           leak_block() mallocs 1 KiB and keeps it, scratch_work() mallocs
 *                           and frees 8 blocks: 100 KiB/s leak from one stack, none from the other
 * *   mem churn N [SIZE] [--time] [--wait] N malloc+free pairs of SIZE bytes (default 64) in
 * churn_once();
 *                           --time prints ns_per_pair of the loop alone; --wait waits for
 *                           SIGUSR1 after "ready", so a tracer can attach first
 *   mem exact N             N of each: malloc(100) in exact_malloc, calloc(10, 20) in
 *                           exact_calloc, realloc(malloc, 300) in exact_realloc (the malloc in
 *                           exact_realloc_first), posix_memalign(64, 400) in exact_memalign,
 *                           aligned_alloc(256, 512) in exact_aligned; frees the first half of
 *                           each kind and exits 300 ms later without freeing the rest
 *   mem mmap N              N anonymous 64 KiB mmaps in exact_mmap; munmaps the first half
 *   mem checksum ROUNDS [PAUSE_US]
 *                           two threads allocate with every entry point (malloc, calloc,
 *                           realloc, posix_memalign, aligned_alloc), fill and check the
 *                           blocks (calloc zeroed, realloc kept the contents), keep a window
 *                           of live blocks; PAUSE_US (default 0) between rounds. Prints the
 *                           checksums: the same with and without tracing. Exit 1 on a mismatch.
 * Every mode prints "ready pid=N" first.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define SITE __attribute__((noipa, noinline))

/* Keep p alive: the compiler may not drop a malloc/free pair whose pointer escapes here. */
#define ESCAPE(p) __asm__ volatile("" : : "r"(p) : "memory")

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(long long t)
{
	struct timespec ts = {t / 1000000000LL, t % 1000000000LL};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void die(const char *what)
{
	fprintf(stderr, "mem: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- leak ---- */

struct node {
	struct node *next;
	char payload[1024 - sizeof(struct node *)];
};

static struct node *leaked;

SITE void leak_block(void)
{
	struct node *n = malloc(sizeof(*n));

	if (!n)
		die("malloc");
	memset(n->payload, 0x5a, sizeof(n->payload));
	n->next = leaked;
	leaked = n;
}

SITE void scratch_work(void)
{
	void *blocks[8];

	for (int i = 0; i < 8; i++) {
		blocks[i] = malloc(256);
		if (!blocks[i])
			die("malloc");
		memset(blocks[i], i, 256);
	}
	for (int i = 0; i < 8; i++)
		free(blocks[i]);
}

static int leak(double seconds)
{
	long long start = now_ns(), end = start + (long long)(seconds * 1e9), t = start;
	long blocks = 0;

	while (t < end) {
		leak_block();
		scratch_work();
		blocks++;
		t += 10000000;
		sleep_until(t);
	}
	printf("leak blocks=%ld bytes=%ld\n", blocks, blocks * 1024);
	return 0;
}

/* ---- churn ---- */

SITE void churn_once(size_t size)
{
	char *p = malloc(size);

	if (!p)
		die("malloc");
	p[0] = 1;
	ESCAPE(p);
	free(p);
}

/* Block until SIGUSR1. */
static void wait_for_go(void)
{
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigwait(&set, &sig);
}

static int churn(long n, size_t size, int timed, int wait)
{
	long long t0, t1;

	if (wait)
		wait_for_go();
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		churn_once(size);
	t1 = now_ns();
	printf("churn pairs=%ld size=%zu\n", n, size);
	if (timed)
		printf("ns_per_pair=%.1f\n", (double)(t1 - t0) / (double)n);
	return 0;
}

/* ---- exact ---- */

/* Not tail calls: the allocation site must be the caller's frame, not its caller's. */
SITE void *exact_malloc(void)
{
	void *p = malloc(100);

	ESCAPE(p);
	return p;
}

SITE void *exact_calloc(void)
{
	void *p = calloc(10, 20);

	ESCAPE(p);
	return p;
}

SITE void *exact_realloc_first(void)
{
	void *p = malloc(50);

	ESCAPE(p);
	return p;
}

SITE void *exact_realloc(void *p)
{
	p = realloc(p, 300);
	ESCAPE(p);
	return p;
}

SITE void *exact_memalign(void)
{
	void *p = NULL;

	return posix_memalign(&p, 64, 400) ? NULL : p;
}

SITE void *exact_aligned(void)
{
	void *p = aligned_alloc(256, 512);

	ESCAPE(p);
	return p;
}

static int exact(long n)
{
	void **kept = calloc(5 * (size_t)n, sizeof(*kept));

	if (!kept)
		die("calloc");
	for (long i = 0; i < n; i++) {
		void *b[5] = {exact_malloc(), exact_calloc(), exact_realloc(exact_realloc_first()),
			      exact_memalign(), exact_aligned()};

		for (int k = 0; k < 5; k++) {
			if (!b[k])
				die("allocation");
			memset(b[k], k, 16);
			if (i < n / 2)
				free(b[k]);
			else
				kept[i * 5 + k] = b[k];
		}
	}
	printf("exact n=%ld freed=%ld kept=%ld\n", n, n / 2, n - n / 2);
	fflush(stdout);
	/* The survivors stay allocated to the end: outstanding when the process exits. */
	sleep_until(now_ns() + 300000000);
	return 0;
}

/* ---- mmap ---- */

SITE void *exact_mmap(void)
{
	void *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ESCAPE(p);
	return p;
}

SITE int map_regions(long n)
{
	void **maps = calloc((size_t)n, sizeof(*maps));

	if (!maps)
		die("calloc");
	for (long i = 0; i < n; i++) {
		maps[i] = exact_mmap();
		if (maps[i] == MAP_FAILED)
			die("mmap");
		memset(maps[i], 1, 4096);
	}
	for (long i = 0; i < n / 2; i++)
		if (munmap(maps[i], 65536))
			die("munmap");
	printf("mmap n=%ld unmapped=%ld\n", n, n / 2);
	fflush(stdout);
	sleep_until(now_ns() + 300000000);
	return 0;
}

/* ---- checksum ---- */

struct worker {
	unsigned seed;
	long rounds;
	long pause_us;
	uint64_t sum;
	int bad;
};

static uint32_t next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static uint64_t fill(unsigned char *p, size_t n, unsigned *s)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		p[i] = (unsigned char)next_rand(s);
		sum = sum * 31 + p[i];
	}
	return sum;
}

static uint64_t sum_of(const unsigned char *p, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + p[i];
	return sum;
}

#define WINDOW 64

static void *checksum_thread(void *arg)
{
	struct worker *w = arg;
	unsigned char *live[WINDOW] = {0};
	size_t sizes[WINDOW] = {0};

	for (long r = 0; r < w->rounds; r++) {
		unsigned kind = next_rand(&w->seed) % 5, slot = next_rand(&w->seed) % WINDOW;
		size_t n = 1 + next_rand(&w->seed) % 3000;
		unsigned char *p = NULL;

		switch (kind) {
		case 0:
			p = malloc(n);
			break;
		case 1:
			p = calloc(n, 1);
			for (size_t i = 0; p && i < n; i++)
				w->bad |= p[i] != 0;
			break;
		case 2:
			if (live[slot]) {
				size_t keep = sizes[slot] < n ? sizes[slot] : n;
				uint64_t before = sum_of(live[slot], keep);

				p = realloc(live[slot], n);
				if (!p)
					die("realloc");
				w->bad |= sum_of(p, keep) != before;
				live[slot] = NULL;
			} else {
				p = realloc(NULL, n);
			}
			break;
		case 3:
			if (posix_memalign((void **)&p, 32, n))
				p = NULL;
			w->bad |= ((uintptr_t)p & 31) != 0;
			break;
		default:
			p = aligned_alloc(128, (n + 127) & ~(size_t)127);
			w->bad |= ((uintptr_t)p & 127) != 0;
			break;
		}
		if (!p)
			die("allocation");
		w->sum = w->sum * 1000003 + fill(p, n, &w->seed);
		w->sum = w->sum * 1000003 + sum_of(p, n);
		free(live[slot]);
		live[slot] = p;
		sizes[slot] = n;
		if (w->pause_us) {
			struct timespec ts = {0, w->pause_us * 1000};

			nanosleep(&ts, NULL);
		}
	}
	for (int i = 0; i < WINDOW; i++) {
		if (live[i])
			w->sum = w->sum * 1000003 + sum_of(live[i], sizes[i]);
		free(live[i]);
	}
	return NULL;
}

static int checksum(long rounds, long pause_us)
{
	struct worker w[2] = {{.seed = 1, .rounds = rounds, .pause_us = pause_us},
			      {.seed = 2, .rounds = rounds, .pause_us = pause_us}};
	pthread_t t;

	if (pthread_create(&t, NULL, checksum_thread, &w[1]))
		die("pthread_create");
	checksum_thread(&w[0]);
	pthread_join(t, NULL);
	printf("checksum rounds=%ld a=%016llx b=%016llx bad=%d\n", rounds,
	       (unsigned long long)w[0].sum, (unsigned long long)w[1].sum, w[0].bad | w[1].bad);
	return w[0].bad | w[1].bad;
}

static void usage(void)
{
	fprintf(stderr, "usage: mem leak SECONDS | churn N [SIZE] [--time] [--wait] | exact N | "
			"mmap N | checksum ROUNDS [PAUSE_US]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	sigset_t usr1;

	if (argc < 3)
		usage();
	/* Blocked before "ready": a SIGUSR1 sent right after it waits for sigwait(). */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	printf("ready pid=%d\n", getpid());
	fflush(stdout);
	if (!strcmp(argv[1], "leak"))
		return leak(atof(argv[2]));
	if (!strcmp(argv[1], "churn")) {
		int timed = 0, wait = 0;
		size_t size = 64;

		for (int i = 3; i < argc; i++) {
			if (!strcmp(argv[i], "--time"))
				timed = 1;
			else if (!strcmp(argv[i], "--wait"))
				wait = 1;
			else
				size = strtoul(argv[i], NULL, 10);
		}
		return churn(atol(argv[2]), size ? size : 64, timed, wait);
	}
	if (!strcmp(argv[1], "exact"))
		return exact(atol(argv[2]));
	if (!strcmp(argv[1], "mmap"))
		return map_regions(atol(argv[2]));
	if (!strcmp(argv[1], "checksum"))
		return checksum(atol(argv[2]), argc > 3 ? atol(argv[3]) : 0);
	usage();
	return 2;
}
