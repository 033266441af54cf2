/* The bundled demo for `make run`: a toy request handler with a cache that sometimes misses to a
 * slow "database". */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TRACED __attribute__((noipa))

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void spin_us(long us)
{
	long long end = now_ns() + us * 1000;

	while (now_ns() < end)
		;
}

TRACED int parse_request(int id)
{
	spin_us(20);
	return id % 100;
}

/* A slow backend: 3 ms per query. */
TRACED void db_query(int key)
{
	struct timespec ts = {0, 3000000};

	(void)key;
	nanosleep(&ts, NULL);
}

/* One key in ten misses the cache and goes to the database. */
TRACED int cache_lookup(int key)
{
	spin_us(5);
	if (key % 10 == 0) {
		db_query(key);
		return 0;
	}
	return 1;
}

TRACED void render_response(int key)
{
	(void)key;
	spin_us(60);
}

TRACED void handle_request(int id)
{
	int key = parse_request(id);

	cache_lookup(key);
	render_response(key);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;

	for (int i = 0; i < n; i++)
		handle_request(i);
	return 0;
}
