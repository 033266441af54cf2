/* Integration tests: block, network and syscall I/O of real targets in the real kernel. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "itest.h"

static int setup(void **state)
{
	(void)state;
	return itest_setup("io");
}

static int teardown(void **state)
{
	(void)state;
	return itest_teardown();
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

/* Run snag -c 'io ARGS' [extra args] to a JSON report; returns the report, *pid the target's. */
static json_t *trace_io(const char *args, const char *report, long *pid, ...)
{
	char cmd[8300], *argv[32];
	int argc = 0;
	va_list ap;
	char *a;
	json_t *root;

	snprintf(cmd, sizeof(cmd), "%s %s", target_path, args);
	argv[argc++] = "-c";
	argv[argc++] = cmd;
	va_start(ap, pid);
	while ((a = va_arg(ap, char *)) && argc < 30)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	root = run_snag_jsonv(report, NULL, argv);
	*pid = (long)json_integer_value(
	    json_array_get(json_object_get(json_object_get(root, "target"), "pids"), 0));
	assert_true(*pid > 0);
	return root;
}

/* The syscall_io row of pid for syscall on fd_type, or NULL. */
static json_t *syscall_row(json_t *root, long pid, const char *syscall, const char *fd_type)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(root, "syscall_io"), i, row)
	{
		if ((long)num(row, "pid") == pid && !strcmp(str(row, "syscall"), syscall) &&
		    !strcmp(str(row, "fd_type"), fd_type))
			return row;
	}
	return NULL;
}

/* The net_io row of pid for protocol and direction, or NULL. */
static json_t *net_row(json_t *root, long pid, const char *protocol, const char *direction)
{
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(root, "net_io"), i, row)
	{
		if ((long)num(row, "pid") == pid && !strcmp(str(row, "protocol"), protocol) &&
		    !strcmp(str(row, "direction"), direction))
			return row;
	}
	return NULL;
}

/* Count of the size_histogram bucket whose le_bytes is le, 0 when absent. */
static double size_bucket(json_t *row, double le)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(row, "size_histogram"), i, b)
	{
		if (num(b, "le_bytes") == le)
			return num(b, "count");
	}
	return 0;
}

/* The bottleneck of kind about pid, or NULL. */
static json_t *finding(json_t *root, const char *kind, long pid)
{
	json_t *b;
	size_t i;

	json_array_foreach(json_object_get(root, "bottlenecks"), i, b)
	{
		if (!strcmp(str(b, "kind"), kind) && (long)num(b, "pid") == pid)
			return b;
	}
	return NULL;
}

/* N direct 4 KiB writes: at least N block writes, N x 4096 bytes, most in the 4 KiB bucket. */
static void test_direct_io_block_writes(void **state)
{
	char args[256];
	double count = 0, bytes = 0, in_4k = 0, unseen;
	json_t *root, *row, *sys;
	struct stat st;
	long pid;
	size_t i;

	(void)state;
	require_bpf();
	/* /var/tmp is on disk on Debian; O_DIRECT needs a real block device under the file. */
	snprintf(args, sizeof(args), "direct /var/tmp/snag-io-direct-%d.dat 300", getpid());
	assert_int_equal(stat("/var/tmp", &st), 0);
	root = trace_io(args, out_path("direct.json"), &pid, "--no-offcpu", NULL);
	json_array_foreach(json_object_get(root, "block_io"), i, row)
	{
		if ((long)num(row, "pid") != pid || strcmp(str(row, "op"), "write"))
			continue;
		/* The file system's own device: the partition, on a disk that has them. */
		if ((unsigned)num(row, "major") != major(st.st_dev) ||
		    (unsigned)num(row, "minor") != minor(st.st_dev))
			fail_msg("block writes on %.0f:%.0f (%s), the file is on %u:%u",
				 num(row, "major"), num(row, "minor"), str(row, "device"),
				 major(st.st_dev), minor(st.st_dev));
		count += num(row, "count");
		bytes += num(row, "bytes");
		in_4k += size_bucket(row, 4096);
		if (!*str(row, "device") || strchr(str(row, "device"), ':'))
			fail_msg("block device has no name: '%s'", str(row, "device"));
		if (num(row, "p50_ns") <= 0 || num(row, "p99_ns") < num(row, "p50_ns"))
			fail_msg("block latency percentiles missing: p50 %.0f p99 %.0f",
				 num(row, "p50_ns"), num(row, "p99_ns"));
	}
	/*
	 * The kernel's completion tracepoints miss about 1 in 2,000 requests here; snag counts
	 * those as block_completion_unseen, never silently.
	 */
	unseen = num(json_object_get(json_object_get(root, "overhead"), "dropped"),
		     "block_completion_unseen");
	if (count + unseen < 300 || bytes + unseen * 4096 < 300 * 4096.0 || unseen > 3)
		fail_msg(
		    "block writes of pid %ld: count %.0f (+%.0f unseen) bytes %.0f, want >= 300 "
		    "and >= %d",
		    pid, count, unseen, bytes, 300 * 4096);
	if (in_4k < 0.9 * count)
		fail_msg("4 KiB bucket holds %.0f of %.0f writes", in_4k, count);
	sys = syscall_row(root, pid, "write", "file");
	assert_non_null(sys);
	assert_int_equal((long)num(sys, "count"), 300);
	assert_int_equal((long)num(sys, "bytes"), 300 * 4096);
	json_decref(root);
}

/* 10,000 x 16-byte writes get the small-I/O finding; 64 KiB writes do not. */
static void test_small_writes_finding(void **state)
{
	char args[256];
	json_t *root, *row, *b, *recs;
	long pid;

	(void)state;
	require_bpf();
	snprintf(args, sizeof(args), "small %s 10000 16", out_path("small.dat"));
	root = trace_io(args, out_path("small.json"), &pid, "--no-offcpu", NULL);
	row = syscall_row(root, pid, "write", "file");
	assert_non_null(row);
	assert_int_equal((long)num(row, "count"), 10000);
	assert_int_equal((long)num(row, "bytes"), 160000);
	assert_int_equal((long)num(row, "small_count"), 10000);
	assert_int_equal((long)num(row, "errors"), 0);
	assert_int_equal((long)size_bucket(row, 16), 10000);
	b = finding(root, "small_io", pid);
	if (!b)
		fail_msg("no small_io finding for pid %ld: %s", pid,
			 itest_dump(json_object_get(root, "bottlenecks"), 0));
	assert_true(json_array_size(json_object_get(b, "evidence")) > 0 ||
		    json_object_size(json_object_get(b, "evidence")) > 0);
	recs = json_object_get(b, "recommendations");
	assert_true(json_array_size(recs) > 0);
	if (!strstr(json_string_value(json_array_get(recs, 0)), "16"))
		fail_msg("recommendation does not name the typical size (16 B): %s",
			 json_string_value(json_array_get(recs, 0)));
	json_decref(root);

	snprintf(args, sizeof(args), "small %s 300 65536", out_path("big.dat"));
	root = trace_io(args, out_path("big.json"), &pid, "--no-offcpu", NULL);
	row = syscall_row(root, pid, "write", "file");
	assert_non_null(row);
	assert_int_equal((long)num(row, "count"), 300);
	assert_int_equal((long)num(row, "small_count"), 0);
	assert_int_equal((long)size_bucket(row, 65536), 300);
	if (finding(root, "small_io", pid))
		fail_msg("64 KiB writes were flagged as small I/O");
	json_decref(root);
}

/* Start the io target with args in the background and wait for the line it prints first. */
static void spawn_target(struct test_proc *p, const char *ready, char *const args[])
{
	char *argv[16];
	int n = 0;

	argv[n++] = target_path;
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	assert_int_equal(test_spawn(argv, p), 0);
	if (!test_wait_line(p->out_fd, ready, 5000))
		fail_msg("io target did not print '%s'", ready);
}

/* Read one line (without its newline) from fd within timeout_ms. Returns false on timeout/EOF. */
static bool read_line(int fd, char *buf, size_t size, int timeout_ms)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	size_t n = 0;
	char ch;

	buf[0] = '\0';
	while (n + 1 < size) {
		if (poll(&pfd, 1, timeout_ms) <= 0 || read(fd, &ch, 1) != 1)
			return false;
		if (ch == '\n')
			break;
		buf[n++] = ch;
		buf[n] = '\0';
	}
	return true;
}

/* Trace pids a and b with snag in the background until both exit; go() starts their work. */
static json_t *trace_pair(struct test_proc *a, struct test_proc *b, const char *report,
			  void (*go)(struct test_proc *, struct test_proc *), const char *extra)
{
	char pids[64];
	struct test_proc snag;
	json_error_t jerr;
	json_t *root;

	snprintf(pids, sizeof(pids), "%d,%d", a->pid, b->pid);
	char *argv[] = {snag_path,	"-p",	    pids,   "-d",	   "30", "-o",
			(char *)report, "--format", "json", (char *)extra, NULL};
	assert_int_equal(test_spawn(argv, &snag), 0);
	wait_tracing(&snag);
	go(a, b);
	assert_int_equal(test_proc_wait(a, 20), 0);
	assert_int_equal(test_proc_wait(b, 20), 0);
	/* snag stops by itself when every -p target has exited. */
	assert_int_equal(test_proc_wait(&snag, 20), 0);
	root = itest_load_json(report, &jerr);
	if (!root)
		fail_msg("report %s is not JSON: %s", report, jerr.text);
	return root;
}

static void go_second(struct test_proc *a, struct test_proc *b)
{
	(void)a;
	kill(b->pid, SIGUSR1);
}

static void go_both(struct test_proc *a, struct test_proc *b)
{
	kill(a->pid, SIGUSR1);
	kill(b->pid, SIGUSR1);
}

static json_t *conn_row(json_t *root, long pid, int remote_port, int local_port)
{
	char want[32];
	json_t *row;
	size_t i;

	json_array_foreach(json_object_get(root, "net_connections"), i, row)
	{
		const char *addr = remote_port ? str(row, "remote") : str(row, "local");

		snprintf(want, sizeof(want), "127.0.0.1:%d",
			 remote_port ? remote_port : local_port);
		if ((long)num(row, "pid") == pid && !strcmp(addr, want))
			return row;
	}
	return NULL;
}

/* 1,000 x 100-byte messages from a client process to a server process over loopback TCP. */
static void test_tcp_small_messages(void **state)
{
	struct test_proc server, client;
	char port_s[16], line[128];
	json_t *root, *send, *recv, *c;
	int port = 0;

	(void)state;
	require_bpf();
	assert_int_equal(test_spawn((char *[]){target_path, "tcp-server", NULL}, &server), 0);
	if (!read_line(server.out_fd, line, sizeof(line), 5000) ||
	    sscanf(line, "listening port=%d", &port) != 1)
		fail_msg("tcp-server said '%s'", line);
	snprintf(port_s, sizeof(port_s), "%d", port);
	spawn_target(&client, "ready",
		     (char *[]){"--wait", "tcp-client", port_s, "1000", "100", NULL});
	root = trace_pair(&server, &client, out_path("tcp.json"), go_second, "--no-offcpu");
	send = net_row(root, client.pid, "tcp", "send");
	if (!send)
		fail_msg("no tcp send row for the client (pid %d): %s", client.pid,
			 itest_dump(json_object_get(root, "net_io"), 0));
	assert_true(num(send, "count") >= 1000);
	assert_near(num(send, "bytes"), 100000, 0.01, "client bytes sent");
	assert_true(num(send, "small_count") >= 1000);
	recv = net_row(root, server.pid, "tcp", "recv");
	if (!recv)
		fail_msg("no tcp recv row for the server (pid %d)", server.pid);
	assert_true(num(recv, "count") >= 1);
	assert_near(num(recv, "bytes"), 100000, 0.01, "server bytes received");
	/* Nothing of one process is attributed to the other. */
	assert_null(net_row(root, server.pid, "tcp", "send"));
	assert_null(net_row(root, client.pid, "tcp", "recv"));
	/* Per-connection totals, with addresses and ports. */
	c = conn_row(root, client.pid, port, 0);
	if (!c)
		fail_msg("no connection row of the client to port %d: %s", port,
			 itest_dump(json_object_get(root, "net_connections"), 0));
	assert_int_equal((long)num(c, "send_bytes"), 100000);
	assert_int_equal((long)num(c, "sends"), 1000);
	c = conn_row(root, server.pid, 0, port);
	assert_non_null(c);
	assert_int_equal((long)num(c, "recv_bytes"), 100000);
	/* send(2) is the sendto syscall, on a socket. */
	c = syscall_row(root, client.pid, "sendto", "socket");
	assert_non_null(c);
	assert_int_equal((long)num(c, "count"), 1000);
	assert_no_drops(root);
	json_decref(root);
}

/*
 * A cgroup ingress filter that drops about one in eight of the data-carrying
 * packets (longer than 120 bytes: not SYNs or pure ACKs) its processes'
 * sockets receive, so the sender must retransmit (a drop on egress is seen
 * by TCP at once and re-sent as new data, not retransmitted). Built from raw instructions: a test
 * needs no BPF object file for six instructions.
 */
static int load_dropper(void)
{
	const struct bpf_insn insns[] = {
	    /* r6 = ctx; r2 = skb->len */
	    {.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1},
	    {.code = BPF_LDX | BPF_MEM | BPF_W,
	     .dst_reg = BPF_REG_2,
	     .src_reg = BPF_REG_1,
	     .off = offsetof(struct __sk_buff, len)},
	    /* if r2 < 120 goto pass */
	    {.code = BPF_JMP | BPF_JLT | BPF_K, .dst_reg = BPF_REG_2, .off = 5, .imm = 120},
	    /* r0 = bpf_get_prandom_u32() & 7; if r0 != 0 goto pass */
	    {.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_prandom_u32},
	    {.code = BPF_ALU64 | BPF_AND | BPF_K, .dst_reg = BPF_REG_0, .imm = 7},
	    {.code = BPF_JMP | BPF_JNE | BPF_K, .dst_reg = BPF_REG_0, .off = 2, .imm = 0},
	    /* drop */
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
	    {.code = BPF_JMP | BPF_EXIT},
	    /* pass: */
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 1},
	    {.code = BPF_JMP | BPF_EXIT},
	};

	return bpf_prog_load(BPF_PROG_TYPE_CGROUP_SKB, "snag_test_drop", "GPL", insns,
			     sizeof(insns) / sizeof(insns[0]), NULL);
}

/* Lossy sends: the client's connection shows retransmits, and a tcp_retransmits finding. */
static void test_tcp_retransmits(void **state)
{
	char mount[4096], cg[4200], procs[4300], pidbuf[16], port_s[16], line[128];
	struct test_proc server, client;
	json_t *root, *c, *b;
	int port = 0, prog, cgfd, fd;

	(void)state;
	require_bpf();
	if (!itest_cgroup2_mount(mount, sizeof(mount)))
		fail_msg("no cgroup2 mount on this machine");
	snprintf(cg, sizeof(cg), "%s/snag-test-lossy-%d", mount, getpid());
	if (mkdir(cg, 0755) && errno != EEXIST)
		fail_msg("cannot create cgroup %s: %s", cg, strerror(errno));
	prog = load_dropper();
	if (prog < 0)
		fail_msg("cannot load the packet-dropping filter: %s", strerror(-prog));
	cgfd = open(cg, O_RDONLY | O_DIRECTORY);
	assert_true(cgfd >= 0);
	if (bpf_prog_attach(prog, cgfd, BPF_CGROUP_INET_INGRESS, 0))
		fail_msg("cannot attach the packet-dropping filter: %s", strerror(errno));
	/* The server joins the lossy cgroup before it opens its socket (sockets keep theirs). */
	spawn_target(&server, "ready", (char *[]){"--wait", "tcp-server", NULL});
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	snprintf(pidbuf, sizeof(pidbuf), "%d", server.pid);
	fd = open(procs, O_WRONLY);
	assert_true(fd >= 0);
	assert_true(write(fd, pidbuf, strlen(pidbuf)) > 0);
	close(fd);
	kill(server.pid, SIGUSR1);
	if (!read_line(server.out_fd, line, sizeof(line), 5000) ||
	    sscanf(line, "listening port=%d", &port) != 1)
		fail_msg("tcp-server said '%s'", line);
	snprintf(port_s, sizeof(port_s), "%d", port);
	/*
	 * Each message a packet of its own the filter may drop: without a pause
	 * between them, sends coalesced into a few large segments (400 messages
	 * with 1 drop in 8 gave 3 to 34 retransmits, and once none).
	 */
	spawn_target(&client, "ready",
		     (char *[]){"--wait", "tcp-client", port_s, "400", "1000", "200", NULL});
	root = trace_pair(&server, &client, out_path("retrans.json"), go_second, "--no-offcpu");

	bpf_prog_detach2(prog, cgfd, BPF_CGROUP_INET_INGRESS);
	close(cgfd);
	close(prog);
	rmdir(cg);

	c = conn_row(root, client.pid, port, 0);
	if (!c)
		fail_msg("no connection row of the client: %s",
			 itest_dump(json_object_get(root, "net_connections"), 0));
	assert_int_equal((long)num(c, "send_bytes"), 400000);
	print_message("client connection: %.0f retransmits\n", num(c, "retransmits"));
	if (num(c, "retransmits") < 1)
		fail_msg("no retransmits seen on a connection losing 1/8 of its packets: %s",
			 itest_dump(c, 0));
	/* Every byte still arrived. */
	c = conn_row(root, server.pid, 0, port);
	assert_non_null(c);
	assert_int_equal((long)num(c, "recv_bytes"), 400000);
	b = finding(root, "tcp_retransmits", client.pid);
	if (!b)
		fail_msg("no tcp_retransmits finding for the client: %s",
			 itest_dump(json_object_get(root, "bottlenecks"), 0));
	assert_true(json_array_size(json_object_get(b, "recommendations")) > 0);
	/* The per-process count, on the client's TCP send row, is its connections' sum. */
	assert_int_equal((long)num(net_row(root, client.pid, "tcp", "send"), "retransmits"),
			 (long)num(conn_row(root, client.pid, port, 0), "retransmits"));
	json_decref(root);
}

/* Datagrams: 500 x 200 bytes sent and received by one process. */
static void test_udp_datagrams(void **state)
{
	json_t *root, *send, *recv;
	long pid;

	(void)state;
	require_bpf();
	root = trace_io("udp 500 200", out_path("udp.json"), &pid, "--no-offcpu", NULL);
	send = net_row(root, pid, "udp", "send");
	recv = net_row(root, pid, "udp", "recv");
	assert_non_null(send);
	assert_non_null(recv);
	assert_int_equal((long)num(send, "count"), 500);
	assert_int_equal((long)num(send, "bytes"), 100000);
	assert_int_equal((long)num(recv, "count"), 500);
	assert_int_equal((long)num(recv, "bytes"), 100000);
	assert_int_equal((long)size_bucket(send, 256), 500);
	assert_non_null(syscall_row(root, pid, "sendto", "socket"));
	assert_non_null(syscall_row(root, pid, "recvfrom", "socket"));
	json_decref(root);
}

/* Two targets at once under one -p: each pid gets exactly its own writes. */
static void test_two_targets_attribution(void **state)
{
	struct test_proc a, b;
	char pa[256], pb[256];
	json_t *root, *ra, *rb;

	(void)state;
	require_bpf();
	snprintf(pa, sizeof(pa), "%s", out_path("a.dat"));
	snprintf(pb, sizeof(pb), "%s", out_path("b.dat"));
	spawn_target(&a, "ready", (char *[]){"--wait", "small", pa, "3000", "100", NULL});
	spawn_target(&b, "ready", (char *[]){"--wait", "small", pb, "1000", "1000", NULL});
	root = trace_pair(&a, &b, out_path("pair.json"), go_both, "--min-block=1ms");
	ra = syscall_row(root, a.pid, "write", "file");
	rb = syscall_row(root, b.pid, "write", "file");
	assert_non_null(ra);
	assert_non_null(rb);
	assert_int_equal((long)num(ra, "count"), 3000);
	assert_int_equal((long)num(ra, "bytes"), 300000);
	assert_int_equal((long)num(rb, "count"), 1000);
	assert_int_equal((long)num(rb, "bytes"), 1000000);
	/* The scheduler collector honours several -p pids too. */
	{
		bool seen_a = false, seen_b = false;
		json_t *row;
		size_t i;

		json_array_foreach(json_object_get(root, "sched"), i, row)
		{
			seen_a |= (long)num(row, "pid") == a.pid;
			seen_b |= (long)num(row, "pid") == b.pid;
			if ((long)num(row, "pid") != a.pid && (long)num(row, "pid") != b.pid)
				fail_msg("sched row of untraced pid %ld", (long)num(row, "pid"));
		}
		if (!seen_a || !seen_b)
			fail_msg("sched rows missing: pid %d %s, pid %d %s", a.pid,
				 seen_a ? "seen" : "missing", b.pid, seen_b ? "seen" : "missing");
	}
	json_decref(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    itest_case(test_direct_io_block_writes), itest_case(test_small_writes_finding),
	    itest_case(test_tcp_small_messages),     itest_case(test_tcp_retransmits),
	    itest_case(test_udp_datagrams),	     itest_case(test_two_targets_attribution),
	};

	return cmocka_run_group_tests_name("io", tests, setup, teardown);
}
