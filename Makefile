# ebpftrace: BPF objects -> skeletons -> one binary.
#
#   make              build build/ebpftrace
#   make SAN=1        the same with ASan+UBSan, into build/asan/ (used by the tests)
#   make test         lint, unit tests, integration tests (root), VM tests, each also under ASan+UBSan
#   make deps         install build and test dependencies (Debian 12 / Ubuntu; needs root)
#   make install      PREFIX=/usr/local DESTDIR= (SYSTEMD_DIR=$(PREFIX)/lib/systemd/system)
#
# build/vmlinux.h is generated from the running kernel's BTF. On a machine without
# /sys/kernel/btf/vmlinux, point VMLINUX_BTF at any file with kernel BTF (a vmlinux image, or
# /sys/kernel/btf/vmlinux copied from another machine): make VMLINUX_BTF=/path/to/vmlinux

VERSION		:= 0.1.0
LIBBPF_MIN	:= 1.4.0
BPFTOOL_MIN	:= 7.5.0

PREFIX		?= /usr/local
SYSTEMD_DIR	?= $(PREFIX)/lib/systemd/system
DESTDIR		?=
CC		?= gcc
CLANG		?= clang
LLVM_READELF	?= llvm-readelf
BPFTOOL		?= bpftool
VMLINUX_BTF	?= /sys/kernel/btf/vmlinux

GEN		:= build
ifeq ($(SAN),1)
BUILD		:= build/asan
SANFLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD		:= build
SANFLAGS	:=
endif

ARCH		:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/;s/ppc64le/powerpc/;s/s390x/s390/')

BPF_SRCS	:= $(wildcard bpf/*.bpf.c)
SKELS		:= $(BPF_SRCS:bpf/%.bpf.c=$(GEN)/%.skel.h)
BPF_OBJS	:= $(BPF_SRCS:bpf/%.bpf.c=$(GEN)/%.bpf.o)
COMMON_SRCS	:= $(wildcard common/*.c)
CMD_SRCS	:= $(wildcard cmd/*.c)
COMMON_OBJS	:= $(COMMON_SRCS:%.c=$(BUILD)/obj/%.o)
CMD_OBJS	:= $(CMD_SRCS:%.c=$(BUILD)/obj/%.o)
UNIT_SRCS	:= $(wildcard tests/unit/*.c)
UNIT_OBJS	:= $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o)
HELPER_SRCS	:= $(wildcard tests/helpers/*.c)
HELPERS		:= $(HELPER_SRCS:tests/helpers/%.c=$(BUILD)/helpers/%)

# Deferred (=), so that `make deps all` sees the libbpf that deps has just installed.
LIBBPF_STATIC	= $(wildcard $(shell pkg-config --variable=libdir libbpf 2>/dev/null)/libbpf.a)
STATIC_LIBBPF	:= -Wl,-Bstatic -lbpf -Wl,-Bdynamic
LIBBPF_LIBS	= $(if $(LIBBPF_STATIC),$(STATIC_LIBBPF),-lbpf) -lelf -lz
# elfutils' libdw (memleak's user stacks), libpcap (tc -w files) and libmicrohttpd (--metrics)
# are opened only by the runs that use them (common/dynlib.h); libm is not used at all.
LDLIBS		:= -lpthread
FEATURES	= $(if $(LIBBPF_STATIC),libbpf-static,libbpf-shared)

CFLAGS		?= -O2 -g
ALL_CFLAGS	= -std=gnu11 $(CFLAGS) -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
		   -I$(GEN) -Icommon -Ibpf -Icmd \
		   -DEBPFTRACE_VERSION='"$(VERSION)"' -DEBPFTRACE_FEATURES='"$(FEATURES)"' $(SANFLAGS)
LDFLAGS		+= $(SANFLAGS)
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I$(GEN) -Ibpf -MMD -MP

.PHONY: all unit helpers test test-vm lint format install clean deps check-versions fuzz fuzzers
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BUILD)/ebpftrace

$(BUILD)/ebpftrace: $(CMD_OBJS) $(COMMON_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBBPF_LIBS) $(LDLIBS)

# Skeletons exist before the first compile; afterwards the .d files track which object uses which.
$(BUILD)/obj/%.o: %.c | $(SKELS) $(GEN)/core_types.h $(GEN)/core_attach.h $(GEN)/versions.ok
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(GEN)/vmlinux.h: | $(GEN)/versions.ok
	@test -r $(VMLINUX_BTF) || { echo "error: $(VMLINUX_BTF) not found: build with VMLINUX_BTF=<file with kernel BTF>" >&2; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@

# Embedded as bpftool's linker writes it: without the DWARF (most of clang's object; CO-RE needs
# only .BTF and .BTF.ext) and without the relocations of .BTF.ext, 20-30 KB of each object.
$(GEN)/%.bpf.o: bpf/%.bpf.c $(GEN)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -MF $(@:.o=.d) -MT $@ -c $< -o $@.unlinked
	$(BPFTOOL) gen object $@ $@.unlinked
	rm -f $@.unlinked

# Each embedded object goes to a section of its own, bpf_objects: in .rodata it would sit among
# its subcommand's strings, and the kernel maps file pages in 64 KB windows around each fault, so
# looking the subcommands' names up made every object before the chosen one resident (~0.4 MB).
$(GEN)/%.skel.h: $(GEN)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp
	sed -i '/^\tstatic const char data\[\]/s/((__aligned__(8)))/((__aligned__(8), __section__("bpf_objects")))/' $@.tmp
	grep -q '__section__("bpf_objects")' $@.tmp || { echo "error: $@: bpftool's object array not found" >&2; exit 1; }
	mv $@.tmp $@

# The kernel types our objects name, for the cut-down kernel BTF of common/corebtf.c: every
# struct, union, enum and typedef, without CO-RE's ___flavour suffix, sorted for bsearch().
$(GEN)/core_types.h: $(BPF_OBJS)
	for o in $^; do $(BPFTOOL) btf dump file $$o format raw; done | \
	 sed -n "s/^\[[0-9]*\] \(STRUCT\|UNION\|ENUM\|ENUM64\|TYPEDEF\) '\([^']*\)'.*/\2/p" | \
	 sed -e 's/___.*//' -e '/^(anon)$$/d' | LC_ALL=C sort -u | sed 's/.*/"&",/' > $@

# The sections of our programs that attach by the kernel's BTF id of their target, for the ids
# common/corebtf.c keeps beside the cut-down BTF: "tp_btf/sys_exit", "fentry/tcp_v4_connect"...
# A raw_tp/X section counts as tp_btf/X: the same prototype, which tracepoint_btf_args() reads.
$(GEN)/core_attach.h: $(BPF_OBJS)
	for o in $^; do $(LLVM_READELF) -SW $$o; done | \
	 sed -n 's/.*\] \(\(tp_btf\|raw_tp\|fentry\|fexit\|lsm\)\/[^ ]*\) .*/\1/p' | \
	 sed 's/^raw_tp\//tp_btf\//' | LC_ALL=C sort -u | sed 's/.*/"&",/' > $@

# Fail early, with a message that says what to do, when libbpf or bpftool are too old.
$(GEN)/versions.ok:
	@mkdir -p $(@D)
	@v=$$(pkg-config --modversion libbpf 2>/dev/null) || { echo "error: libbpf development files not found (run: sudo make deps)" >&2; exit 1; }; \
	 pkg-config --atleast-version=$(LIBBPF_MIN) libbpf || { echo "error: libbpf $$v is older than $(LIBBPF_MIN) (run: sudo make deps)" >&2; exit 1; }
	@v=$$($(BPFTOOL) version 2>/dev/null | sed -n '1s/.* v\([0-9.]*\).*/\1/p'); \
	 [ -n "$$v" ] || { echo "error: bpftool not found (run: sudo make deps)" >&2; exit 1; }; \
	 [ "$$(printf '%s\n%s\n' $(BPFTOOL_MIN) $$v | sort -V | head -1)" = $(BPFTOOL_MIN) ] || \
	 { echo "error: bpftool $$v is older than $(BPFTOOL_MIN) (run: sudo make deps)" >&2; exit 1; }
	@touch $@

unit: $(BUILD)/unit-tests helpers

# The pcap tests read back what they wrote with libpcap itself; test_hist checks against libm.
$(BUILD)/unit-tests: $(UNIT_OBJS) $(filter-out $(BUILD)/obj/common/main.o,$(COMMON_OBJS))
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBBPF_LIBS) $(LDLIBS) -lpcap -lm

helpers: $(HELPERS)

# Test fixtures: small programs the integration tests run; -O0 -g so their frames and lines are exact.
$(BUILD)/helpers/%: tests/helpers/%.c
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O0 -g -Wall -Wextra -Werror -D_GNU_SOURCE -o $@ $< -lpthread $(HELPER_LIBS)

# lsm-block's fixture submits IORING_OP_CONNECT through liburing.
$(BUILD)/helpers/lsmprobe: HELPER_LIBS := -luring
# The tc tests' other tool attaches with libbpf, as tools other than ours do.
$(BUILD)/helpers/tc_counter: HELPER_LIBS = $(LIBBPF_LIBS)

# libFuzzer targets, one per parser (tests/fuzz/fuzz_*.c), over common/ built for them with clang:
# `make fuzz` runs each for FUZZ_SECONDS from its seed corpus; the test command runs each briefly.
FUZZ_SECONDS	?= 60
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS	= -std=gnu11 -g -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP \
		   -I$(GEN) -Icommon -Ibpf -Icmd -Itests/fuzz \
		   -DEBPFTRACE_VERSION='"$(VERSION)"' -DEBPFTRACE_FEATURES='"$(FEATURES)"' $(FUZZ_SAN)
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS		:= $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/obj/common/%.o: common/%.c | $(SKELS) $(GEN)/core_types.h $(GEN)/core_attach.h $(GEN)/versions.ok
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/obj/tests/fuzz/%.o: tests/fuzz/%.c | $(SKELS) $(GEN)/core_types.h $(GEN)/core_attach.h $(GEN)/versions.ok
	@mkdir -p $(@D)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

# An archive, so that each target links only the parts of common/ it reaches.
build/fuzz/libcommon.a: $(COMMON_SRCS:%.c=build/fuzz/obj/%.o)
	rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: build/fuzz/obj/tests/fuzz/fuzz_%.o build/fuzz/libcommon.a
	$(CLANG) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $(filter %.o,$^) $(filter %.a,$^) \
		$(LIBBPF_LIBS) $(LDLIBS)

# The JSON target reads back what the writer wrote with a strict reader of its own.
build/fuzz/fuzz_json: build/fuzz/obj/tests/fuzz/json_check.o

fuzzers: $(FUZZERS)

fuzz: fuzzers
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS)

test:
	tests/run

# The integration tests inside Debian's 6.1 kernel under qemu (kprobe, fentry and LSM paths).
test-vm: all unit
	tests/vm/run-tests.sh

# Overhead, delivery, start-up, memory and size, next to the untraced loop and bpftrace (root).
.PHONY: bench
bench: all
	bench/run

lint:
	clang-format --dry-run -Werror $(wildcard cmd/*.[ch] common/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/helpers/*.c tests/harness/*.c bench/*.c)

format:
	clang-format -i $(wildcard cmd/*.[ch] common/*.[ch] bpf/*.[ch] tests/unit/*.[ch] tests/fuzz/*.[ch] tests/helpers/*.c tests/harness/*.c bench/*.c)

install: $(BUILD)/ebpftrace
	install -D -m 0755 $(BUILD)/ebpftrace $(DESTDIR)$(PREFIX)/sbin/ebpftrace
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 man/*.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -D -m 0644 completions/ebpftrace.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/ebpftrace
	install -d $(DESTDIR)$(SYSTEMD_DIR)/ebpftrace@memleak.service.d
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' dist/ebpftrace@.service > $(DESTDIR)$(SYSTEMD_DIR)/ebpftrace@.service
	install -m 0644 dist/ebpftrace@memleak.service.d/capabilities.conf \
		$(DESTDIR)$(SYSTEMD_DIR)/ebpftrace@memleak.service.d/

clean:
	rm -rf build/ebpftrace build/asan build/obj build/helpers build/unit-tests build/*.o build/*.d \
		build/*.skel.h build/vmlinux.h build/versions.ok build/fuzz

# Debian 12 has libbpf 1.1 and bpftool 7.1 in main: take both from bookworm-backports (and the
# elfutils libraries that libbpf-dev there depends on), from the mirror the machine's own bookworm
# source uses (scripts/backports-source).
BACKPORTS_PKGS	:= libbpf-dev bpftool libelf-dev libdw-dev
# bpftrace and libbpf-tools (/usr/sbin/opensnoop...) are what bench/run compares with.
DEPS_PKGS	:= clang llvm make gcc pkg-config zlib1g-dev python3 clang-format iproute2 \
		   qemu-system-x86 busybox-static cpio kmod xz-utils bpftrace \
		   libc6-dbg mandoc groff-base liburing-dev libpcap-dev tcpdump iperf3 iputils-ping \
		   libmicrohttpd-dev prometheus libclang-rt-dev valgrind libbpf-tools jq
deps:
	@missing=$$(for p in $(BACKPORTS_PKGS) $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	 if [ -z "$$missing" ] && pkg-config --atleast-version=$(LIBBPF_MIN) libbpf; then \
		echo "deps: all installed"; exit 0; \
	 fi; \
	 . /etc/os-release; bp=; \
	 if [ "$$VERSION_CODENAME" = bookworm ]; then \
		bp="-t bookworm-backports"; \
		scripts/backports-source /etc/apt bookworm || exit 1; \
	 fi; \
	 export DEBIAN_FRONTEND=noninteractive; \
	 apt-get update -qq && \
	 apt-get install -y -qq $$bp $(BACKPORTS_PKGS) && \
	 apt-get install -y -qq $(DEPS_PKGS)

-include $(wildcard $(BUILD)/obj/*/*.d $(BUILD)/obj/tests/*/*.d $(GEN)/*.bpf.d \
	build/fuzz/obj/*/*.d build/fuzz/obj/tests/*/*.d)
