/* Helpers every collector shares: the trace clock, feature probes, program run statistics. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "bpfutil.h"
#include "errors.h"
#include "report.h"

uint64_t bpfutil__monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

bool bpfutil__btf_has_tracepoint(const char *btf_path, const char *tp)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	char name[128];
	bool found;

	if (!btf)
		return false;
	snprintf(name, sizeof(name), "btf_trace_%s", tp);
	found = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}

/* Offset of member name in struct/union type id of btf, in bytes; -1 when absent. */
static long member_offset(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	const struct btf_member *m;

	if (!t || !btf_is_composite(t))
		return -1;
	m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);

		if (n && !strcmp(n, name))
			return (long)(btf_member_bit_offset(t, i) / 8);
	}
	return -1;
}

int bpfutil__preempt_count_from_rq_btf(const struct btf *btf, int64_t *delta)
{
	long rq = -1, pc = -1;
	__s32 id = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;

	if (id <= 0)
		return -ENOENT;
	sec = btf__type_by_id(btf, id);
	v = btf_var_secinfos(sec);
	for (__u16 i = 0; i < btf_vlen(sec); i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);
		const char *name = var ? btf__name_by_offset(btf, var->name_off) : NULL;
		long off;

		if (!name)
			continue;
		if (!strcmp(name, "runqueues"))
			rq = v->offset;
		else if (!strcmp(name, "__preempt_count"))
			pc = v->offset;
		else if (pc < 0 && !strcmp(name, "pcpu_hot") &&
			 (off = member_offset(btf, var->type, "preempt_count")) >= 0)
			pc = v->offset + off;
	}
	if (rq < 0 || pc < 0)
		return -ENOENT;
	*delta = (int64_t)pc - rq;
	return 0;
}

int bpfutil__preempt_count_from_rq(const char *btf_path, int64_t *delta)
{
	struct btf *btf = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	int err;

	if (!btf)
		return -errno;
	err = bpfutil__preempt_count_from_rq_btf(btf, delta);
	btf__free(btf);
	return err;
}

int bpfutil__add_prog_stats(struct bpf_object *obj, struct report *r)
{
	struct bpf_program *prog;
	uint64_t misses = 0;

	bpf_object__for_each_program (prog, obj) {
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		int err;

		if (bpf_program__fd(prog) < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
			return -errno;
		err =
		    report__add_program(r, bpf_program__name(prog), info.run_cnt, info.run_time_ns);
		if (err)
			return err;
		misses += info.recursion_misses;
	}
	/*
	 * A program that fires while the same program runs on that CPU (an
	 * interrupt over it) is skipped by the kernel: its event is lost.
	 */
	return report__add_drop(r, "bpf_recursion_misses", misses);
}

int bpfutil__fill_targets(int map_fd, const int *pids, size_t n)
{
	__u8 one = 1;

	for (size_t i = 0; i < n; i++) {
		__u32 tgid = (__u32)pids[i];

		if (bpf_map_update_elem(map_fd, &tgid, &one, BPF_ANY)) {
			int err = -errno;

			snag_set_error("cannot set the traced pids in the kernel filter: %s",
				       strerror(-err));
			return err;
		}
	}
	return 0;
}

void bpfutil__comm(char out[17], const char in[16])
{
	memcpy(out, in, 16);
	out[16] = '\0';
	for (char *c = out; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

const void *bpfutil__map_array(struct bpf_map *map, size_t *size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t len = (size_t)((bpf_map__value_size(map) + 7) & ~7u) * bpf_map__max_entries(map);
	void *p;

	*size = (len + page - 1) / page * page;
	p = mmap(NULL, *size, PROT_READ, MAP_SHARED, bpf_map__fd(map), 0);
	if (p == MAP_FAILED) {
		int err = errno;

		snag_set_error("cannot map the BPF map %s: %s", bpf_map__name(map), strerror(err));
		errno = err;
		return NULL;
	}
	return p;
}
