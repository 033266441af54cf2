/*
 * Test target with a known mix of bottlenecks, for the ranking test:
 *   - WORKERS threads contend for one mutex, each holding it for HOLD_MS of spinning, so
 *     most of their time is spent waiting for it (lock contention);
 *   - the main thread polls with 1 ms sleeps until SECONDS have passed (a sleep loop);
 *   - a logger thread writes WRITES x 16 bytes to a file with write(2) (small I/O).
 * Usage: mix SECONDS WORKERS HOLD_MS WRITES PATH
 *        mix idle SECONDS: threads with nothing to do (epoll_wait, a condition
 *        variable, long sleeps) for the no-findings-on-an-idle-system test.
 *        mix sleepy-holder SECONDS WORKERS HOLD_MS: WORKERS threads take one
 *        mutex in turn and sleep HOLD_MS while holding it, so contention is
 *        certain whatever the CPUs and their load; prints the time the
 *        workers spent in pthread_mutex_lock, measured by their own clock.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TRACED __attribute__((noipa, optimize("no-optimize-sibling-calls")))

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop;
static long hold_ms, writes;
static const char *path;

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

TRACED static void spin_for(long ms)
{
	long long end = now_ns() + ms * 1000000LL;

	while (now_ns() < end)
		;
}

TRACED static void update_shared_state(void)
{
	pthread_mutex_lock(&lock);
	spin_for(hold_ms);
	pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		update_shared_state();
	return NULL;
}

TRACED static void log_line(int fd)
{
	static const char line[16] = "event happened\n";

	if (write(fd, line, sizeof(line)) != sizeof(line))
		perror("write");
}

static void *logger(void *arg)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	(void)arg;
	if (fd < 0) {
		perror(path);
		return NULL;
	}
	for (long i = 0; i < writes; i++)
		log_line(fd);
	close(fd);
	unlink(path);
	return NULL;
}

TRACED static void wait_a_bit(void)
{
	usleep(1000);
}

static pthread_cond_t work = PTHREAD_COND_INITIALIZER;

/* An event loop with nothing to serve: epoll_wait on an empty set, 200 ms at a time. */
static void *event_loop(void *arg)
{
	struct epoll_event ev;
	int ep = epoll_create1(0);

	(void)arg;
	while (!atomic_load(&stop))
		epoll_wait(ep, &ev, 1, 200);
	close(ep);
	return NULL;
}

/* A pool worker with no work: a condition variable nobody signals, 200 ms at a time. */
static void *pool_worker(void *arg)
{
	struct timespec until;

	(void)arg;
	pthread_mutex_lock(&lock);
	while (!atomic_load(&stop)) {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&work, &lock, &until);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

static atomic_llong lock_wait_ns;

/* Waits for the lock, then sleeps holding it: the other workers can only wait. */
static void *sleepy_holder(void *arg)
{
	struct timespec hold = {hold_ms / 1000, (hold_ms % 1000) * 1000000};

	(void)arg;
	while (!atomic_load(&stop)) {
		long long t0 = now_ns();

		pthread_mutex_lock(&lock);
		atomic_fetch_add(&lock_wait_ns, now_ns() - t0);
		nanosleep(&hold, NULL);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static int sleepy(double seconds, int n, long ms)
{
	long long end = now_ns() + (long long)(seconds * 1e9);
	pthread_t w[64];

	if (n < 2 || n > 64 || ms < 1)
		return 2;
	hold_ms = ms;
	for (int i = 0; i < n; i++)
		pthread_create(&w[i], NULL, sleepy_holder, NULL);
	while (now_ns() < end)
		usleep(10000);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(w[i], NULL);
	printf("sleepy-holder pid=%d lock_wait_ns=%lld\n", getpid(), atomic_load(&lock_wait_ns));
	return 0;
}

static int idle(double seconds)
{
	pthread_t a, b;
	long long end = now_ns() + (long long)(seconds * 1e9);

	pthread_create(&a, NULL, event_loop, NULL);
	pthread_create(&b, NULL, pool_worker, NULL);
	while (now_ns() < end)
		usleep(500000);
	atomic_store(&stop, 1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("idle pid=%d done\n", getpid());
	return 0;
}

int main(int argc, char **argv)
{
	pthread_t w[64], l;
	long long end;
	int n;

	if (argc == 3 && !strcmp(argv[1], "idle"))
		return idle(atof(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "sleepy-holder"))
		return sleepy(atof(argv[2]), atoi(argv[3]), atol(argv[4]));
	if (argc != 6) {
		fprintf(stderr, "usage: mix SECONDS WORKERS HOLD_MS WRITES PATH\n");
		return 2;
	}
	end = now_ns() + (long long)(atof(argv[1]) * 1e9);
	n = atoi(argv[2]);
	hold_ms = atol(argv[3]);
	writes = atol(argv[4]);
	path = argv[5];
	if (n < 1 || n > 64)
		return 2;
	for (int i = 0; i < n; i++)
		pthread_create(&w[i], NULL, worker, NULL);
	pthread_create(&l, NULL, logger, NULL);
	/* The main thread polls for the deadline, as a naive service loop would. */
	while (now_ns() < end)
		wait_a_bit();
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(w[i], NULL);
	pthread_join(l, NULL);
	printf("mix pid=%d done\n", getpid());
	return 0;
}
