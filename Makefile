# snag build: BPF objects -> skeletons -> userspace binary, tests, checks.
# `make V=1` shows full commands. `make SANITIZE=1` builds under build/asan with ASan+UBSan.

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD ?= build/asan
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
else
BUILD ?= build
SAN_FLAGS :=
endif

CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
CLANG_FORMAT ?= clang-format
PROTOC_C ?= protoc-c
SNAG_VERSION := 0.1.0

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -g -O2
override CFLAGS += -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -MMD -MP $(SAN_FLAGS) \
	-I$(BUILD)/bpf -I$(BUILD)/proto -Ibpf -iquote user -DSNAG_VERSION='"$(SNAG_VERSION)"'
override LDFLAGS += $(SAN_FLAGS)
LDLIBS := -lbpf -ldw -lelf -lz -ljansson -lprotobuf-c -lmicrohttpd -liberty -lpthread
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf -Wall -Werror -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/obj/%.o,$(USER_SRCS))
# The HTML report's stylesheet and script, compiled in as C arrays (user/html_assets.h).
HTML_ASSETS := user/html/report.css user/html/flamegraph.js
HTML_ASSETS_OBJ := $(BUILD)/obj/html_assets.o
USER_OBJS += $(HTML_ASSETS_OBJ)
# Wire formats snag writes (pprof's profile.proto): protoc-c generates their C
# into $(BUILD)/proto, so nothing generated is committed or clang-formatted.
PROTOS := $(wildcard proto/*.proto)
PROTO_SRCS := $(patsubst proto/%.proto,$(BUILD)/proto/%.pb-c.c,$(PROTOS))
PROTO_HDRS := $(PROTO_SRCS:.c=.h)
PROTO_OBJS := $(patsubst proto/%.proto,$(BUILD)/obj/proto/%.pb-c.o,$(PROTOS))
LIBSNAG := $(BUILD)/libsnag.a
SNAG := $(BUILD)/snag

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
INTEG_SRCS := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(patsubst tests/integration/%.c,$(BUILD)/tests/integration/%,$(INTEG_SRCS))
TEST_COMMON := $(BUILD)/tests/obj/testutil.o
INTEG_COMMON := $(BUILD)/tests/obj/integration/itest.o
TARGET_SRCS := $(wildcard tests/targets/*.c)
TARGET_BINS := $(patsubst tests/targets/%.c,$(BUILD)/tests/targets/%,$(TARGET_SRCS))
# Test ELFs for the symbol reader: PIE and non-PIE executables, shared library, stripped copy.
ELF_FIXTURES := $(BUILD)/tests/elf/fixture-pie $(BUILD)/tests/elf/libfixture.so \
	$(BUILD)/tests/elf/fixture-pie-stripped $(BUILD)/tests/elf/not-elf.txt \
	$(BUILD)/tests/elf/fixture-nopie
# Test ELFs for the unwind tables (docs/unwinding.md): hand-written CFI, .debug_frame only, a PLT
# call into libfixture.so, and no CFI at all.
ELF_FIXTURES += $(BUILD)/tests/elf/libframes.so $(BUILD)/tests/elf/libdframe.so \
	$(BUILD)/tests/elf/fixture-plt $(BUILD)/tests/elf/libnocfi.so

.DELETE_ON_ERROR:
.SECONDARY: $(BPF_OBJS) $(SKELS) $(TEST_COMMON) $(INTEG_COMMON) $(PROTO_SRCS) $(PROTO_HDRS)
.PHONY: all deps run test test-unit test-integration integration-bins stress-check test-asan bench format format-check clean

all: $(SNAG)

deps:
	tools/install-deps.sh

# The sched programs hand out slots with an atomic fetch-and-add, and the I/O programs claim block
# rows with compare-and-swap: both need BPF ISA v3.
$(BUILD)/bpf/sched.bpf.o $(BUILD)/bpf/io.bpf.o: BPF_CFLAGS += -mcpu=v3

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(BUILD)/obj/%.o: user/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/gen/html_assets.c: $(HTML_ASSETS) tools/embed-assets.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)tools/embed-assets.sh $(HTML_ASSETS) > $@

$(HTML_ASSETS_OBJ): $(BUILD)/gen/html_assets.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# protoc-c writes the .c and its .h in one run (a grouped pattern rule).
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: proto/%.proto
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(PROTOC_C) --proto_path=proto --c_out=$(@D) $<

$(BUILD)/obj/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBSNAG): $(USER_OBJS)
# The pprof renderer includes the generated header: generate it first.
$(BUILD)/obj/render_pprof.o: $(PROTO_HDRS)

$(LIBSNAG): $(USER_OBJS) $(PROTO_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# snag selftest probes this function in snag itself; in .dynsym it survives strip(1).
SELFTEST_LDFLAGS := -Wl,--export-dynamic-symbol=snag_selftest_sleep_2ms

$(SNAG): $(BUILD)/obj/main.o $(LIBSNAG)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) $(SELFTEST_LDFLAGS) $^ $(LDLIBS) -o $@

# Tests -----------------------------------------------------------------------
$(BUILD)/tests/obj/%.o: tests/%.c | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -Itests/integration -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(LIBSNAG) $(TEST_COMMON) | $(SKELS) $(PROTO_HDRS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests $(LDFLAGS) $< $(TEST_EXTRA_OBJS) $(TEST_COMMON) $(LIBSNAG) $(LDLIBS) -lcmocka -ldl -o $@

# The unwinder's known call chain, built without frame pointers and without sanitizers in every
# build: what Debian's binaries look like, walked by the test that links it.
UNWIND_CHAIN := $(BUILD)/tests/obj/unwind_chain.o
$(UNWIND_CHAIN): tests/fixtures/unwind/chain.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -g -O2 -fomit-frame-pointer -Wall -Wextra -Werror -MMD -MP -c $< -o $@
$(BUILD)/tests/unit/test_unwind_step $(BUILD)/tests/integration/test_unwind: $(UNWIND_CHAIN)
$(BUILD)/tests/unit/test_unwind_step $(BUILD)/tests/integration/test_unwind: TEST_EXTRA_OBJS := $(UNWIND_CHAIN)

$(BUILD)/tests/integration/%: tests/integration/%.c $(LIBSNAG) $(TEST_COMMON) $(INTEG_COMMON) | $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests -Itests/integration $(LDFLAGS) $< $(TEST_EXTRA_OBJS) $(TEST_COMMON) $(INTEG_COMMON) $(LIBSNAG) $(LDLIBS) -lcmocka -o $@

# The HTML report's browser test reads its screenshot back with libpng.
$(BUILD)/tests/integration/test_html: LDLIBS += -lpng

# Targets are what the tests trace: frame pointers on, no inlining or cloning of probed functions.
$(BUILD)/tests/targets/%: tests/targets/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fno-omit-frame-pointer -Wall -Wextra -Werror $< -o $@ -lpthread

# The one target built WITHOUT frame pointers (the -O2 default on x86-64), so the on-CPU tests see
# the truncated stacks snag must warn about.
$(BUILD)/tests/targets/nofp: tests/targets/nofp.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fomit-frame-pointer -Wall -Wextra -Werror $< -o $@

$(BUILD)/tests/elf/libfixture.so: tests/fixtures/elf/libfixture.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fPIC -shared $< -o $@
$(BUILD)/tests/elf/fixture-pie: tests/fixtures/elf/fixture.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fPIE -pie $< -o $@
$(BUILD)/tests/elf/fixture-nopie: tests/fixtures/elf/fixture.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fno-pie -no-pie $< -o $@
$(BUILD)/tests/elf/fixture-pie-stripped: $(BUILD)/tests/elf/fixture-pie
	$(Q)strip -s $< -o $@
$(BUILD)/tests/elf/not-elf.txt:
	$(Q)mkdir -p $(@D)
	$(Q)echo "this is not an ELF file" > $@
$(BUILD)/tests/elf/libframes.so: tests/fixtures/unwind/frames.S
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -nostdlib $< -o $@
# .debug_frame only (-fno-asynchronous-unwind-tables -g), plus one function in both sections.
$(BUILD)/tests/elf/libdframe.so: tests/fixtures/unwind/dframe.c tests/fixtures/unwind/both.S
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 -fPIC -shared -nostdlib -fno-asynchronous-unwind-tables -fno-exceptions $^ -o $@
$(BUILD)/tests/elf/libnocfi.so: tests/fixtures/unwind/dframe.c
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -fPIC -shared -nostdlib -fno-asynchronous-unwind-tables -fno-exceptions $< -o $@
# Calls libfixture.so through a lazy-binding PLT (never run).
$(BUILD)/tests/elf/fixture-plt: tests/fixtures/unwind/plt.c $(BUILD)/tests/elf/libfixture.so
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -g -O2 $< -L$(@D) -lfixture -Wl,-z,lazy -o $@

test-unit: $(UNIT_BINS) $(ELF_FIXTURES) $(TARGET_BINS)
	$(Q)tests/run-tests.sh unit $(BUILD) $(UNIT_BINS)

# What the integration suite runs, built without running it (tests/stress-check.sh builds first).
integration-bins: $(SNAG) $(INTEG_BINS) $(TARGET_BINS) $(ELF_FIXTURES)

test-integration: integration-bins
	$(Q)tests/run-tests.sh integration $(BUILD) $(INTEG_BINS)

# The integration suite N times with half of one core busy (tests/stress-check.sh N).
stress-check: deps
	$(Q)tests/stress-check.sh $(or $(N),3)

test-asan:
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 test-unit test-integration

# The README's test command: missing packages (make deps, as for make run), format check, unit
# and integration tests, then both again under ASan+UBSan; ends with one "N passed, N failed"
# line for everything.
test: deps format-check
	$(Q)tests/run-all.sh

run: deps all $(TARGET_BINS)
	$(Q)tools/demo.sh $(BUILD)

# Every benchmark (tools/bench-suite.sh); results in bench/results/, logs in $(BUILD)/bench/.
bench: all $(TARGET_BINS)
	$(Q)tools/bench-suite.sh $(BUILD)

FORMAT_FILES = $(wildcard bpf/*.c bpf/*.h user/*.c user/*.h tests/*.c tests/*.h tests/*/*.c tests/*/*.h tests/*/*/*.c)
format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_FILES)

format-check:
	$(Q)$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf build

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/proto/*.d $(BUILD)/bpf/*.d $(BUILD)/tests/obj/*.d $(BUILD)/tests/obj/*/*.d $(BUILD)/tests/*/*.d)
