# deferprof build. Outputs go to $(OUT); `make V=1` shows full commands.
OUT ?= build
SHELL := /bin/bash
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH ?= x86
PKG_CONFIG ?= pkg-config

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

WERROR ?= $(if $(CI),-Werror,)
WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wundef
CFLAGS ?= -O2 -g
SAN ?=
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ALL_CFLAGS := $(CFLAGS) $(SANFLAGS) -std=gnu11 -D_GNU_SOURCE $(WARNINGS) $(WERROR) \
	-fno-omit-frame-pointer -mno-omit-leaf-frame-pointer -I$(OUT) -Iuser -Ibpf -MMD -MP
LIBS_CORE := $(shell $(PKG_CONFIG) --libs libdw libelf zlib 2>/dev/null || echo -ldw -lelf -lz) -liberty
LIBS_BPF := $(shell $(PKG_CONFIG) --libs libbpf 2>/dev/null || echo -lbpf)

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ivmlinux/$(ARCH) -Ibpf -Wall

# Pure modules: no libbpf, no kernel; unit tests link these.
CORE_SRCS := perf_abi record ring stacks join ksyms usyms profile report folded options
# Modules that talk to the kernel.
SYS_SRCS := probe session main
CORE_OBJS := $(CORE_SRCS:%=$(OUT)/user/%.o)
SYS_OBJS := $(SYS_SRCS:%=$(OUT)/user/%.o)

TEST_SRCS := $(wildcard tests/unit/*.c)
TEST_OBJS := $(TEST_SRCS:tests/unit/%.c=$(OUT)/tests/%.o)

.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.PHONY: all deps test unit-test live-test vmtest demo clean vmlinux asan-test check-build

all: $(OUT)/deferprof $(OUT)/deferprof-demo

# Installs every build and test dependency from Debian's archive (idempotent).
deps:
	$(Q)scripts/deps.sh

$(OUT)/bpf/deferprof.bpf.o: bpf/deferprof.bpf.c bpf/deferprof.h vmlinux/$(ARCH)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp.o
	$(Q)$(BPFTOOL) gen object $@ $@.tmp.o
	$(Q)rm -f $@.tmp.o

$(OUT)/deferprof.skel.h: $(OUT)/bpf/deferprof.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name deferprof_bpf > $@

$(OUT)/user/%.o: user/%.c | $(OUT)/deferprof.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUT)/libdpcore.a: $(CORE_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUT)/deferprof: $(SYS_OBJS) $(OUT)/libdpcore.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ $(LIBS_BPF) $(LIBS_CORE) -o $@

# The demo workload: named noinline functions, frame pointers, no sibling calls.
$(OUT)/deferprof-demo: user/demo/demo.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -Wall -Wextra $(WERROR) \
		-pthread $< -o $@

$(OUT)/tests/%.o: tests/unit/%.c | $(OUT)/deferprof.skel.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -c $< -o $@

$(OUT)/unit-tests: $(TEST_OBJS) $(OUT)/libdpcore.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $^ -lcriterion $(LIBS_CORE) -o $@

# Everything the README's test command runs.
test: all unit-test asan-test live-test vmtest

unit-test: $(OUT)/unit-tests $(OUT)/deferprof-demo
	$(Q)DP_DEMO=$(OUT)/deferprof-demo $(OUT)/unit-tests --jobs 2

# Unit tests again under AddressSanitizer and UBSan, in their own build folder.
# Criterion counts a test whose process reports a leak as passed: any
# sanitizer report in the output fails the run.
asan-test:
	$(Q)$(MAKE) --no-print-directory OUT=$(OUT)/asan SAN=1 $(OUT)/asan/unit-tests $(OUT)/asan/deferprof-demo
	$(Q)set -o pipefail; DP_DEMO=$(OUT)/asan/deferprof-demo $(OUT)/asan/unit-tests --jobs 2 2>&1 | \
		tee $(OUT)/asan/unit-tests.log
	$(Q)if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" $(OUT)/asan/unit-tests.log; then \
		echo "asan-test: sanitizer reports above" >&2; exit 1; fi

live-test: all
	$(Q)tests/live/run.sh $(OUT)

vmtest: all
	$(Q)tests/vm/vmtest.sh $(OUT)

# The README's first command: profile the bundled demo for a few seconds.
demo: all
	$(Q)$(OUT)/deferprof --demo -d 5

# Regenerate vmlinux.h from a kernel's BTF (VMLINUX_BTF=path, default: running kernel).
vmlinux:
	$(Q)scripts/gen-vmlinux.sh $(ARCH) $(VMLINUX_BTF)

clean:
	rm -rf $(OUT)

-include $(wildcard $(OUT)/user/*.d $(OUT)/tests/*.d)
