/* The --prometheus HTTP server: serves the latest published metrics text at /metrics. */
#ifndef SNAG_PROM_SERVER_H
#define SNAG_PROM_SERVER_H

#include <stddef.h>

struct prom_server;

/*
 * Resolve host, bind and listen on host:port (a numeric port; "0" picks a
 * free one), and serve GET /metrics from a libmicrohttpd thread: 503 until
 * the first prom_server__publish(), then the latest text. The thread inherits
 * the caller's signal mask, so start it after blocking the signals the caller
 * reads with signalfd. Connections are limited in number (8 per client
 * address, 64 in all), idle time (5 s) and memory (16 KiB each), so one
 * client cannot starve the others. Returns NULL with errno set and snag_set_error()
 * naming the problem: EINVAL when the address cannot be served as given (host
 * unknown, port in use, not an address of this machine, a privileged port),
 * anything else for a runtime failure. Free with prom_server__free().
 */
struct prom_server *prom_server__start(const char *host, const char *port);

/* Where scrapes go, e.g. "http://127.0.0.1:9464/metrics" or "http://[::1]:9464/metrics". */
const char *prom_server__url(const struct prom_server *ps);

/*
 * Serve text (len bytes, malloc'd; the server takes ownership) from now on.
 * Swapped in whole under a lock held for a pointer swap: a scrape gets either
 * the old text or the new one, and one in flight keeps the text it started
 * with. Returns 0 or -ENOMEM (text is freed either way).
 */
int prom_server__publish(struct prom_server *ps, char *text, size_t len);

/* Stop serving (waits for the server thread) and free. NULL is a no-op. */
void prom_server__free(struct prom_server *ps);

#endif
