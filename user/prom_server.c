/* The --prometheus HTTP server: serves the latest published metrics text at /metrics. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>
#include "errors.h"
#include "prom_server.h"

/*
 * Connections: a Prometheus server scrapes over one at a time, and a few
 * servers (an HA pair, a federation) may scrape one snag. One client address
 * gets at most PROM_PER_CLIENT, so a client holding idle or slow connections
 * cannot take the others' places; a connection idle for PROM_IDLE_TIMEOUT_S
 * is closed (a scrape is answered at once, and Prometheus reconnects); each
 * has PROM_CONNECTION_MEMORY bytes for its request (the metrics text is sent
 * from the shared snapshot, not copied), a scrape request needs well under
 * 1 KiB, and a bigger one gets 431.
 */
#define PROM_CONNECTIONS       64
#define PROM_PER_CLIENT	       8
#define PROM_IDLE_TIMEOUT_S    5
#define PROM_CONNECTION_MEMORY (16 * 1024)

/* The text exposition format Prometheus scrapes (0.0.4); OpenMetrics scrapers accept it too. */
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* One published text, shared by the server and the responses still sending it. */
struct snapshot {
	char *text;
	size_t len;
	int refs;
};

struct prom_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock; /* guards current: held only to swap or take a reference */
	struct snapshot *current;
	char url[96];
};

static void snapshot_unref(void *cls)
{
	struct snapshot *s = cls;

	if (s && __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) == 0) {
		free(s->text);
		free(s);
	}
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	struct MHD_Response *resp =
	    MHD_create_response_from_buffer(strlen(msg), (void *)msg, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Runs on the server thread: never touches the trace, only the current snapshot. */
static enum MHD_Result handle_request(void *cls, struct MHD_Connection *c, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_data_size,
				      void **req_cls)
{
	struct prom_server *ps = cls;
	struct MHD_Response *resp;
	struct snapshot *s;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD\n");
	if (strcmp(url, "/metrics"))
		return respond_text(c, MHD_HTTP_NOT_FOUND, "snag serves its metrics at /metrics\n");
	pthread_mutex_lock(&ps->lock);
	s = ps->current;
	if (s)
		__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&ps->lock);
	if (!s)
		return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE,
				    "snag is starting: no metrics yet\n");
	/* The response holds its reference until the last byte is sent, however long that takes. */
	resp = MHD_create_response_from_buffer_with_free_callback_cls(s->len, s->text,
								      snapshot_unref, s);
	if (!resp) {
		snapshot_unref(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* "HOST:PORT" as a URL authority: IPv6 addresses in brackets. */
static void format_url(struct prom_server *ps, const struct sockaddr_storage *ss)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const void *)ss;

		inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof(addr));
		snprintf(ps->url, sizeof(ps->url), "http://[%s]:%u/metrics", addr,
			 ntohs(a->sin6_port));
	} else {
		const struct sockaddr_in *a = (const void *)ss;

		inet_ntop(AF_INET, &a->sin_addr, addr, sizeof(addr));
		snprintf(ps->url, sizeof(ps->url), "http://%s:%u/metrics", addr,
			 ntohs(a->sin_port));
	}
}

/* host as the user would write it back in --prometheus: an IPv6 address in brackets. */
static const char *display_host(const char *host, char *buf, size_t len)
{
	if (!strchr(host, ':'))
		return host;
	snprintf(buf, len, "[%s]", host);
	return buf;
}

/*
 * Say why the address cannot be served, and what to do, for errno err of
 * socket()/bind()/listen(). Returns -EINVAL when the address is at fault, or
 * -err for a runtime failure (out of memory or file descriptors).
 */
static int bind_error(const char *host, const char *port, int err)
{
	char buf[300];
	const char *h = display_host(host, buf, sizeof(buf));

	switch (err) {
	case EADDRINUSE:
		snag_set_error("cannot serve metrics on %s:%s: the port is in use (choose another "
			       "port, e.g. --prometheus %s:9465)",
			       h, port, h);
		return -EINVAL;
	case EADDRNOTAVAIL:
		snag_set_error("cannot serve metrics on %s:%s: %s is not an address of this "
			       "machine (give one of its addresses, or 0.0.0.0 for all of them)",
			       h, port, h);
		return -EINVAL;
	case EACCES:
		snag_set_error("cannot serve metrics on %s:%s: permission denied (ports below "
			       "1024 need CAP_NET_BIND_SERVICE: choose a port above 1023)",
			       h, port);
		return -EINVAL;
	case ENOMEM:
	case ENOBUFS:
	case EMFILE:
	case ENFILE:
		snag_set_error("cannot serve metrics on %s:%s: %s", h, port, strerror(err));
		return -err;
	default:
		snag_set_error("cannot serve metrics on %s:%s: %s (give another address)", h, port,
			       strerror(err));
		return -EINVAL;
	}
}

/* A listening socket on the first address of host that binds. Returns the fd or -errno. */
static int listen_on(const char *host, const char *port, struct sockaddr_storage *bound)
{
	struct addrinfo hints = {
	    .ai_socktype = SOCK_STREAM,
	    .ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *res, *ai;
	int rc, fd = -1, err = 0;

	rc = getaddrinfo(host, port, &hints, &res);
	if (rc) {
		char buf[300];
		const char *h = display_host(host, buf, sizeof(buf));

		snag_set_error("cannot serve metrics on %s:%s: cannot resolve '%s': %s (give an "
			       "address such as 127.0.0.1, or a host name this machine resolves)",
			       h, port, host,
			       rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return rc == EAI_MEMORY ? -ENOMEM : -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		int one = 1;
		socklen_t len = sizeof(*bound);

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			err = err ?: errno;
			continue;
		}
		/*
		 * A restarted snag can bind at once, while the last run's connections
		 * linger in TIME_WAIT; a port another process listens on still fails.
		 */
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 64) &&
		    !getsockname(fd, (struct sockaddr *)bound, &len))
			break;
		err = err ?: errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		return fd;
	return bind_error(host, port, err ?: EADDRNOTAVAIL);
}

struct prom_server *prom_server__start(const char *host, const char *port)
{
	struct prom_server *ps = calloc(1, sizeof(*ps));
	struct sockaddr_storage bound = {0};
	int fd;

	if (!ps)
		return NULL;
	pthread_mutex_init(&ps->lock, NULL);
	fd = listen_on(host, port, &bound);
	if (fd < 0) {
		prom_server__free(ps);
		errno = -fd;
		return NULL;
	}
	format_url(ps, &bound);
	/*
	 * One internal thread polls every connection; a scrape is one buffer
	 * handed over, so that is plenty. The limits keep a stuck or hostile
	 * client from starving the scrapers (docs/security.md): it holds at most
	 * PROM_PER_CLIENT of the PROM_CONNECTIONS connections, each dropped after
	 * PROM_IDLE_TIMEOUT_S idle, in PROM_CONNECTION_MEMORY bytes.
	 */
	ps->daemon =
	    MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, handle_request, ps,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd, MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned int)PROM_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
			     (unsigned int)PROM_PER_CLIENT, MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned int)PROM_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)PROM_CONNECTION_MEMORY, MHD_OPTION_END);
	if (!ps->daemon) {
		close(fd);
		snag_set_error("cannot start the metrics server on %s:%s", host, port);
		prom_server__free(ps);
		errno = EIO;
		return NULL;
	}
	return ps;
}

const char *prom_server__url(const struct prom_server *ps)
{
	return ps->url;
}

int prom_server__publish(struct prom_server *ps, char *text, size_t len)
{
	struct snapshot *s = malloc(sizeof(*s)), *old;

	if (!s) {
		free(text);
		return -ENOMEM;
	}
	*s = (struct snapshot){.text = text, .len = len, .refs = 1};
	pthread_mutex_lock(&ps->lock);
	old = ps->current;
	ps->current = s;
	pthread_mutex_unlock(&ps->lock);
	snapshot_unref(old);
	return 0;
}

void prom_server__free(struct prom_server *ps)
{
	if (!ps)
		return;
	/* Joins the server thread and closes its sockets, the listening one included. */
	if (ps->daemon)
		MHD_stop_daemon(ps->daemon);
	snapshot_unref(ps->current);
	pthread_mutex_destroy(&ps->lock);
	free(ps);
}
