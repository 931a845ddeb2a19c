# faultguard — build, test, demo, benchmark.
#
#   make            build everything into build/
#   make check      build and run every test (root + BPF for the collector tests)
#   make demo       one crash rescued end to end
#   make bench      benchmarks, as ratios to baselines measured in the same run
#   make torture N= long crash-torture run
#   make fuzz       long libFuzzer runs (FUZZ_SECONDS per target)
#   make deb        the Debian packages into build/deb (dpkg-buildpackage, lintian)
#
# V=1 shows the commands.

.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

BUILD    ?= build
OBJ      := $(BUILD)/obj
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0
SOVER    := 0

CC       ?= gcc
CLANG    ?= clang
BPFTOOL  ?= bpftool
PYTHON   ?= /usr/bin/python3

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH     := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

WARN     := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wstrict-prototypes \
	    -Wmissing-prototypes -Wformat=2
BASE_CFLAGS := -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -D_GNU_SOURCE \
	    -Iinclude -Iuserspace -Itests -Ibpf -I$(BUILD) -DFG_VERSION='"$(VERSION)"' $(WARN)
CFLAGS   ?=
SAN      ?=
ALL_CFLAGS := $(BASE_CFLAGS) $(SAN) $(CFLAGS)
LDFLAGS  ?=
ALL_LDFLAGS := $(SAN) $(LDFLAGS)

LIB_SRCS := $(wildcard userspace/dict/*.c userspace/snapshot/*.c userspace/lib/*.c \
	    userspace/common/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(OBJ)/%.o)
# Shared by faultguardctl and faultguardd, not part of the library.
TOOL_SRCS := $(wildcard userspace/auditlog/*.c userspace/spawn/*.c userspace/digest/*.c \
	     userspace/unwind/*.c)
CTL_SRCS := $(wildcard userspace/ctl/*.c) $(TOOL_SRCS)
CTL_OBJS := $(CTL_SRCS:%.c=$(OBJ)/%.o)
COL_SRCS := $(wildcard userspace/collector/*.c) $(TOOL_SRCS)
COL_OBJS := $(COL_SRCS:%.c=$(OBJ)/%.o)
TFW_OBJS := $(OBJ)/tests/framework/test_main.o

LIBS_LIB := -lz -lpthread
LIBS_CTL := -ljson-c -ldw -lelf -lcrypto -lz -lpthread
LIBS_COL := -lbpf -ldw -lelf -ljson-c -lcrypto -lz -lpthread

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
COLT_SRCS := $(wildcard tests/collector/test_*.c)
COLT_BINS := $(COLT_SRCS:tests/collector/%.c=$(BUILD)/tests/%)
# The collector tests' harness (tests/collector/collector_fixture.c), linked into each.
COLT_OBJS := $(OBJ)/tests/collector/collector_fixture.o $(OBJ)/userspace/digest/sha256.o
HELPER_SRCS := $(wildcard tests/helpers/*.c)
HELPER_BINS := $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/tests/helpers/%)
EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

PRODUCTS := $(BUILD)/libfaultguard.a $(BUILD)/libfaultguard.so $(BUILD)/faultguardctl \
	    $(if $(COL_SRCS),$(BUILD)/faultguardd)

.PHONY: all deps check test demo bench torture fuzz python install uninstall clean \
	tests examples deb

all: $(PRODUCTS) python

deps:
	$(Q)./scripts/deps.sh

$(BUILD)/.deps-ok: scripts/deps.sh
	$(Q)./scripts/deps.sh
	$(Q)mkdir -p $(@D) && touch $@

# --- BPF -------------------------------------------------------------------
$(BUILD)/vmlinux.h: | $(BUILD)/.deps-ok
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

$(BUILD)/faultguard.bpf.o: bpf/faultguard.bpf.c bpf/faultguard_event.h $(BUILD)/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ibpf \
		-Wall -Werror -c $< -o $@

$(BUILD)/faultguard.skel.h: $(BUILD)/faultguard.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(filter $(OBJ)/userspace/collector/%,$(COL_OBJS)): $(BUILD)/faultguard.skel.h

# --- C objects ---------------------------------------------------------------
$(OBJ)/%.o: %.c | $(BUILD)/.deps-ok
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

$(BUILD)/libfaultguard.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libfaultguard.so.$(VERSION): $(LIB_OBJS)
	$(call msg,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,libfaultguard.so.$(SOVER) -Wl,--no-undefined \
		$(ALL_LDFLAGS) -o $@ $^ $(LIBS_LIB)

$(BUILD)/libfaultguard.so: $(BUILD)/libfaultguard.so.$(VERSION)
	$(Q)ln -sf libfaultguard.so.$(VERSION) $(BUILD)/libfaultguard.so.$(SOVER)
	$(Q)ln -sf libfaultguard.so.$(VERSION) $@

$(BUILD)/faultguardctl: $(CTL_OBJS) $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CTL)

$(BUILD)/faultguardd: $(COL_OBJS) $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_COL)

# --- tests, examples, benchmarks -------------------------------------------
$(UNIT_BINS): $(BUILD)/tests/%: $(OBJ)/tests/unit/%.o $(TFW_OBJS) $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CTL)

$(COLT_BINS): $(BUILD)/tests/%: $(OBJ)/tests/collector/%.o $(COLT_OBJS) $(TFW_OBJS) \
		$(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIBS_CTL)
# Unit tests of pieces outside the library link those pieces.
$(BUILD)/tests/test_sha256: $(OBJ)/userspace/digest/sha256.o
$(BUILD)/tests/test_ops_syslog $(BUILD)/tests/test_ops_audit_chain: $(OBJ)/userspace/digest/sha256.o
# What one suite alone uses (hostile.o also sets the ASan options its forked apps need).
$(filter $(BUILD)/tests/test_collector_%,$(COLT_BINS)): $(OBJ)/tests/collector/crash_check.o
$(filter $(BUILD)/tests/test_hostile_%,$(COLT_BINS)): $(OBJ)/tests/collector/hostile.o
$(filter $(BUILD)/tests/test_ops_%,$(COLT_BINS)): $(OBJ)/tests/collector/ops.o
$(filter %_container %_claim,$(COLT_BINS)): $(OBJ)/tests/collector/container.o

$(BUILD)/tests/helpers/%: $(OBJ)/tests/helpers/%.o $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CTL)

# The misbehaving file system of the disk tests (FUSE); evaluated late: deps install it first.
FUSE_CFLAGS = $(shell pkg-config --cflags fuse3)
FUSE_LIBS = $(shell pkg-config --libs fuse3)
$(OBJ)/tests/helpers/faultyfs.o: ALL_CFLAGS += $(FUSE_CFLAGS)
$(BUILD)/tests/helpers/faultyfs: LIBS_CTL += $(FUSE_LIBS)
# The backtrace tests' app: without frame pointers (the point), no sibling
# calls (three frames stay three), its functions in .dynsym; and its plugin.
$(OBJ)/tests/helpers/bt_app.o: ALL_CFLAGS += -fomit-frame-pointer -fno-optimize-sibling-calls
$(BUILD)/tests/helpers/bt_app: ALL_LDFLAGS += -rdynamic
# A program whose first instruction faults: static, no C library, never sanitized.
$(BUILD)/tests/helpers/crash_at_start: tests/helpers/crash_at_start.S
	$(call msg,AS,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -nostdlib -static -Wl,--build-id -o $@ $<
$(BUILD)/tests/helpers/libbt_plugin.so: tests/helpers/plugin/bt_plugin.c | $(BUILD)/.deps-ok
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -std=gnu11 -O2 -g -fPIC -shared -fomit-frame-pointer -fno-optimize-sibling-calls \
		-Wall -Wextra -Werror -o $@ $<

$(BUILD)/examples/%: $(OBJ)/examples/%.o $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_LIB)

$(BUILD)/bench/%: $(OBJ)/bench/%.o $(BUILD)/libfaultguard.a
	$(call msg,LD,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS_CTL) -lm

tests: $(PRODUCTS) $(UNIT_BINS) $(COLT_BINS) $(HELPER_BINS) $(BUILD)/tests/helpers/libbt_plugin.so \
	$(BUILD)/tests/helpers/crash_at_start \
	$(EXAMPLE_BINS) python
examples: $(EXAMPLE_BINS)

# --- Python ------------------------------------------------------------------
PY_SRCS := $(wildcard bindings/python/faultguard/*.py)
python: $(if $(PY_SRCS),$(BUILD)/python/faultguard/__init__.py)
$(BUILD)/python/faultguard/__init__.py: $(PY_SRCS) $(BUILD)/libfaultguard.so
	$(call msg,PY,$(BUILD)/python)
	$(Q)mkdir -p $(BUILD)/python/faultguard
	$(Q)cp $(PY_SRCS) $(BUILD)/python/faultguard/
	$(Q)cp $(BUILD)/libfaultguard.so.$(VERSION) $(BUILD)/python/faultguard/libfaultguard.so
	$(Q)touch $@

# --- Debian packages ---------------------------------------------------------
# Built again only when a file of the tree changed: make check installs them
# into a throwaway root (tests/collector/test_ops_deb.c).
DEB_STAMP := $(BUILD)/deb/.built
DEB_INPUTS := $(wildcard $(shell git ls-files 2>/dev/null | grep -v '^tests/' || \
		find . -path ./build -prune -o -path './build-*' -prune -o -type f -print))
deb: $(DEB_STAMP)
$(DEB_STAMP): $(DEB_INPUTS) | $(BUILD)/.deps-ok
	$(Q)BUILD=$(BUILD) ./scripts/deb.sh
	$(Q)touch $@

# --- the README commands -----------------------------------------------------
check: tests deb
	$(Q)./scripts/run-checks.sh

test: check

demo: $(PRODUCTS) $(EXAMPLE_BINS)
	$(Q)./scripts/demo.sh

bench: $(PRODUCTS) $(BENCH_BINS) $(HELPER_BINS) python
	$(Q)./scripts/bench.sh

N ?= 100000
torture: tests
	$(Q)FG_TORTURE_KILLS=$(N) $(BUILD)/tests/test_torture

FUZZ_SECONDS ?= 600
fuzz: | $(BUILD)/.deps-ok
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

include mk/install.mk

clean:
	$(call msg,CLEAN,$(BUILD))
	$(Q)rm -rf $(BUILD)
