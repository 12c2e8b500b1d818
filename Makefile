# lwquic build. `make` builds the libraries and tools, `make check` runs every test,
# `make check SAN=1` runs them under ASan+UBSan, `make fuzz` builds the libFuzzer targets.

PREFIX ?= /usr/local
DESTDIR ?=
SAN ?=
# The version lives in include/lwquic/common.h (LWQ_LIB_VERSION_*); docs/architecture.md, "ABI", has the policy.
VERSION := $(shell sed -n 's/^\#define LWQ_LIB_VERSION_STR "\(.*\)"/\1/p' include/lwquic/common.h)
VERSION_MAJOR := $(word 1,$(subst ., ,$(VERSION)))
VERSION_MINOR := $(word 2,$(subst ., ,$(VERSION)))
# 0.x: any minor release may change the ABI, so the soname carries it; from 1.0 on only the major does.
SONAME := liblwquic.so.$(if $(filter 0,$(VERSION_MAJOR)),0.$(VERSION_MINOR),$(VERSION_MAJOR))

ifeq ($(SAN),1)
BUILD ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT ?= -O1
else ifeq ($(SAN),thread)
BUILD ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT ?= -O1
else
BUILD ?= build
SANFLAGS :=
OPT ?= -O2
endif

CC ?= cc
CFLAGS ?= $(OPT) -g
WARN := -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter
# -fvisibility=hidden: liblwquic.so exports only what the headers mark LWQ_API (tests/tools/symbols.sh).
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(WARN) -Iinclude -Isrc $(SANFLAGS) $(CFLAGS)
LDLIBS := -lmbedcrypto -lsodium -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

# Parallel work can build one slice: make BUILD=build-x SRC_GLOB='src/base/*.c src/qpack/*.c' TEST_GLOB='tests/unit/test_qpack*.c' FUZZ_GLOB='fuzz/fuzz_qpack*.c' TOOL_GLOB='tools/lwquic-qpack/*.c'
SRC_GLOB ?= src/*/*.c
TEST_GLOB ?= tests/unit/*.c tests/vectors/*.c tests/io/*.c tests/sim/*.c tests/attack/*.c
FUZZ_GLOB ?= fuzz/fuzz_*.c
TOOL_GLOB ?= tools/*/*.c
# ---- issue 15 (src/app, python/lwquic): begin ----
TEST_GLOB += tests/app/*.c
# ---- issue 15: end ----
SRC := $(sort $(wildcard $(SRC_GLOB)))
OBJ := $(SRC:%.c=$(BUILD)/obj/%.o)
TOOL_NAMES := $(filter-out common,$(notdir $(patsubst %/,%,$(sort $(dir $(wildcard $(TOOL_GLOB)))))))
TOOL_COMMON := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/common/*.c))
TOOLS := $(TOOL_NAMES:%=$(BUILD)/bin/%)
TEST_SRC := $(sort $(wildcard $(TEST_GLOB)))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/testutil.o $(BUILD)/obj/tests/runner.o
FUZZ_SRC := $(sort $(wildcard $(FUZZ_GLOB)))
FUZZ_NAMES := $(FUZZ_SRC:fuzz/fuzz_%.c=%)
HEADERS := $(sort $(wildcard include/lwquic/*.h))
DEPS_STAMP := $(BUILD)/.deps-ok

# `make check-thread`: the threaded tests (tests/io) under ThreadSanitizer.
.DEFAULT_GOAL := all
FORCE:
.PHONY: FORCE check-thread check-interop check-verify check-scaleout interop all lib tools check check-unit check-fuzz check-headers fuzz \
  install clean demo deps bench check-attack check-load fuzz-long check-tools walkthrough check-walkthrough
all: lib tools

deps: $(DEPS_STAMP)
$(DEPS_STAMP): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p $(@D) && touch $@

lib: $(BUILD)/lib/liblwquic.a $(BUILD)/lib/liblwquic.so
tools: $(TOOLS)

$(BUILD)/obj/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests -Itools -I$(BUILD)/gen -MMD -MP -c $< -o $@

$(BUILD)/lib/liblwquic.a: $(OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/lib/liblwquic.so: $(OBJ)
	@mkdir -p $(@D)
	$(CC) -shared $(SANFLAGS) -Wl,-soname,$(SONAME) -o $@ $^ $(LDLIBS)
	ln -sf liblwquic.so $(BUILD)/lib/$(SONAME)

# ---- examples/ (shared by everyone who adds one): every examples/NAME.c is one program,
# $(BUILD)/examples/NAME, built by `make examples` against liblwquic.so (the public API only: the library
# exports nothing else). Each group of examples brings its own runner, examples/run*.sh BUILD, which
# `make check-examples` runs in turn.
EXAMPLE_SRC := $(sort $(wildcard examples/*.c))
EXAMPLES := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(BUILD)/lib/liblwquic.so
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $< -L$(BUILD)/lib -llwquic -Wl,-rpath,'$$ORIGIN/../lib' -lpthread
.PRECIOUS: $(BUILD)/obj/examples/%.o
.PHONY: examples check-examples
examples: $(EXAMPLES)
check-examples: examples tools
	@for r in $(sort $(wildcard examples/run*.sh)); do sh $$r $(BUILD) || exit 1; done
# ---- end of examples/

# One binary per tools/<name>/ directory; tools/common/ is linked into each.
define TOOL_RULE
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/$(1)/*.c)) $(TOOL_COMMON) $(BUILD)/lib/liblwquic.a
	@mkdir -p $$(@D)
	$$(CC) $$(SANFLAGS) -o $$@ $$^ $$(LDLIBS)
endef
$(foreach t,$(TOOL_NAMES),$(eval $(call TOOL_RULE,$(t))))

# The test runner registers every `Suite *suite_NAME(void)` it finds.
$(BUILD)/gen/suites.h: FORCE | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@grep -ho '^Suite \*suite_[a-z0-9_]*(void)' $(TEST_SRC) | sed 's/^Suite \*suite_\([a-z0-9_]*\)(void)/X(\1)/' > $@.tmp
	@cmp -s $@.tmp $@ || mv $@.tmp $@; rm -f $@.tmp
$(BUILD)/obj/tests/runner.o: $(BUILD)/gen/suites.h

$(BUILD)/tests/unit-tests: $(TEST_OBJ) $(BUILD)/lib/liblwquic.a
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

# Fuzz targets are also built with the compiler in use and replay their checked-in corpus.
$(BUILD)/fuzz-replay/%: $(BUILD)/obj/fuzz/fuzz_%.o $(BUILD)/obj/fuzz/replay_main.o $(BUILD)/lib/liblwquic.a
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# Debian's interpreter where there is one (the harness and verifier need only the standard library).
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
check: check-headers check-unit check-fuzz check-verify check-interop check-tools check-walkthrough check-examples check-load
# The interop verifier's checks on crafted traces and the harness's bookkeeping (no tshark, no peers).
check-verify:
	$(PYTHON) tests/interop/runner/test_verify.py -q
	$(PYTHON) tests/interop/runner/test_harness.py -q
check-unit: $(BUILD)/tests/unit-tests all
	$(BUILD)/tests/unit-tests
# On loopback, byte-exact (tests/interop/): hq-interop lwquic <-> lwquic and quic-go (run.sh); HTTP/3 against
# ngtcp2 and quic-go (h3.sh); resumption and 0-RTT (resume.sh); migration (migrate.sh); the runner's quick subset
# through lwquic-netsim (runner/harness.py --quick). Skipped in slice builds without tools.
check-interop: tools
	@if [ -x $(BUILD)/bin/lwquic-server ] && [ -x $(BUILD)/bin/lwquic-client ]; then \
	  sh scripts/deps.sh interop && sh tests/interop/run.sh $(BUILD) && sh tests/interop/h3.sh $(BUILD) && \
	  sh tests/interop/resume.sh $(BUILD) && \
	  if [ -x $(BUILD)/bin/lwquic-netsim ]; then sh tests/interop/migrate.sh $(BUILD) && \
	    $(PYTHON) tests/interop/runner/harness.py --build $(BUILD) --quick; fi; \
	else echo "check-interop: lwquic-server/lwquic-client not in this build, skipped"; fi
# A handshake flood from 16 loopback addresses while a legitimate client fetches 10 MB (tests/load/).
$(BUILD)/tests/initial-flood: $(BUILD)/obj/tests/load/initial_flood.o $(BUILD)/lib/liblwquic.a
	@mkdir -p $(@D)
	$(CC) $(SANFLAGS) -o $@ $^ $(LDLIBS)
check-load: tools $(BUILD)/tests/initial-flood
	@if [ -x $(BUILD)/bin/lwquic-server ] && [ -x $(BUILD)/bin/lwquic-client ]; then \
	  RSS_LIMIT_MB=$(if $(SAN),1024,256) sh tests/load/initial_flood.sh $(BUILD); \
	else echo "check-load: lwquic-server/lwquic-client not in this build, skipped"; fi

# The QUIC-LB lab (tests/scaleout/lab.sh, docs/scale-out.md): three servers behind an nftables balancer in
# network namespaces, about a minute; needs root (ip netns, nft) and says it skipped otherwise.
check-scaleout: tools
	@if [ "$$(id -u)" = 0 ]; then sh scripts/deps.sh scaleout; fi
	sh tests/scaleout/lab.sh $(BUILD)
# The tools' command-line conventions on loopback (tests/tools/cli.sh): lwquic-server's refusals (port held by
# another process, key not matching the certificate), content types, 304; lwquic-client's curl conventions and
# exit codes; the learning tools (tests/tools/run.sh): a loopback fetch with --explain checked against both
# qlogs, and the qlogs against the fields qvis reads. Skipped in slice builds without the tools.
.PHONY: check-tools
check-tools: tools $(BUILD)/lwquic.pc
	@sh tests/tools/symbols.sh $(BUILD)
	@rm -rf $(BUILD)/install-test && $(MAKE) -s --no-print-directory install DESTDIR=$(CURDIR)/$(BUILD)/install-test \
	  PREFIX=/usr > /dev/null && sh tests/tools/install.sh $(BUILD)/install-test/usr
	@if [ -x $(BUILD)/bin/lwquic-server ] && [ -x $(BUILD)/bin/lwquic-client ]; then sh tests/tools/cli.sh $(BUILD) && \
	  sh tests/tools/run.sh $(BUILD); \
	else echo "check-tools: lwquic-server/lwquic-client not in this build, skipped"; fi
# The interop runner's test cases on loopback for every pairing (tests/interop/runner): $(BUILD)/interop/results.tsv
# and the matrix in docs/interop.md.
interop: tools
	@sh scripts/deps.sh interop
	$(PYTHON) tests/interop/runner/harness.py --build $(BUILD) --docs docs/interop.md
# docs/walkthrough.md: one recorded connection (tests/data/walkthrough: its datagrams and published keys,
# scripts/walkthrough-record.sh) decrypted and explained again by lwquic-walkthrough. `make walkthrough`
# regenerates it; check-walkthrough fails when the checked-in file differs by a byte.
walkthrough: tools
	$(BUILD)/bin/lwquic-walkthrough tests/data/walkthrough > docs/walkthrough.md
check-walkthrough: tools
	@if [ -x $(BUILD)/bin/lwquic-walkthrough ]; then \
	  $(BUILD)/bin/lwquic-walkthrough tests/data/walkthrough > $(BUILD)/walkthrough.md && \
	  cmp $(BUILD)/walkthrough.md docs/walkthrough.md && echo "walkthrough: docs/walkthrough.md regenerates byte for byte"; \
	else echo "check-walkthrough: lwquic-walkthrough not in this build, skipped"; fi
check-fuzz: $(FUZZ_NAMES:%=$(BUILD)/fuzz-replay/%)
	@for n in $(FUZZ_NAMES); do $(BUILD)/fuzz-replay/$$n fuzz/corpus/$$n || exit 1; done
check-headers: | $(DEPS_STAMP)
	@for h in $(HEADERS); do \
	  echo "#include \"$$h\"" | $(CC) -std=c99 -Wall -Wextra -Werror -pedantic -Iinclude -fsyntax-only -x c - || exit 1; \
	  echo "#include \"$$h\"" | c++ -Wall -Wextra -Werror -Iinclude -fsyntax-only -x c++ - || exit 1; \
	done; echo "public headers compile as C99 and C++: $(words $(HEADERS)) headers"

# `make check-long`: every connection scenario of tests/sim (conn_bulk, conn_sim) over 200 seeds
# (LWQ_SIM_LONG=N for another count), the bulk loss transfers at 16 MiB each way and split in LONG_PARTS
# processes each (LWQ_SIM_PART: Check cannot report a test longer than ~35 min), as many processes at a time
# as there are cores; logs in $(BUILD)/check-long/, the per-process lines and a total per scenario at the end.
LONG_BULK := bulk_0 bulk_1 bulk_5 bulk_10 bulk_20
LONG_CASES := conn_bulk:thousand_streams conn_bulk:resets conn_bulk:tiny_windows conn_bulk:app_close \
  conn_bulk:idle_timeout conn_bulk:stateless_reset conn_sim:sim_loss_5 conn_sim:sim_loss_10_reorder \
  conn_sim:sim_loss_20 conn_sim:sim_duplicate_corrupt conn_sim:sim_handshake conn_sim:sim_many_seeds conn_sim:sim_cubic
LONG_PARTS ?= 8
.PHONY: check-long
check-long: $(BUILD)/tests/unit-tests
	@rm -rf $(BUILD)/check-long; mkdir -p $(BUILD)/check-long; \
	{ for c in $(LONG_BULK); do k=0; while [ $$k -lt $(LONG_PARTS) ]; do echo "conn_bulk $$c $$k/$(LONG_PARTS)"; \
	    k=$$((k+1)); done; done; for sc in $(LONG_CASES); do echo "$${sc%%:*} $${sc#*:} 0/1"; done; } | \
	xargs -P $$(nproc) -L 1 sh -c 'LWQ_SIM_LONG=$${LWQ_SIM_LONG:-1} LWQ_SIM_PART=$$2 CK_RUN_SUITE=$$0 CK_RUN_CASE=$$1 \
	  $(BUILD)/tests/unit-tests > $(BUILD)/check-long/$$0.$$1.$$(echo $$2 | tr / _).log 2>&1'; rc=$$?; \
	grep -h 'seeds, .* passed' $(BUILD)/check-long/*.log | sort; echo "-- per scenario:"; \
	grep -h 'seeds, .* passed' $(BUILD)/check-long/*.log | awk -F': ' '{ n = $$1; sub(/ [(]part [0-9]+[/][0-9]+[)]/, "", n); \
	  split($$2, a, /[ ,]+/); s[n] += a[1]; p[n] += a[3]; w[n] += a[5] } \
	  END { for (k in s) printf "%s: %d seeds, %d passed, %.0f s wall summed over its processes\n", k, s[k], p[k], w[k] }' | sort; \
	grep -h 'goodput' $(BUILD)/check-long/*.log; \
	grep -h -A3 'Failures: [1-9]\|Errors: [1-9]' $(BUILD)/check-long/*.log; exit $$rc

# `make check-attack`: the hostile-peer suites of tests/attack at full size (LWQ_ATTACK_FULL=20 multiplies every
# flood; `make check` runs them at factor 1), conn_hostile at the size of the original reproductions, and the
# Initial flood for 30 s. LWQ_ATTACK_DEBUG=1 prints what each case measured.
ATTACK_SUITES := attack_quic attack_conn attack_reflect attack_h3 conn_hostile
check-attack: $(BUILD)/tests/unit-tests tools $(BUILD)/tests/initial-flood
	@for s in $(ATTACK_SUITES); do \
	  LWQ_ATTACK_FULL=$${LWQ_ATTACK_FULL:-20} CK_RUN_SUITE=$$s $(BUILD)/tests/unit-tests || exit 1; done
	FLOOD_SECONDS=30 RSS_LIMIT_MB=$(if $(SAN),1024,256) sh tests/load/initial_flood.sh $(BUILD)

check-thread:
	$(MAKE) SAN=thread BUILD=build-tsan TEST_GLOB='tests/unit/test_base.c tests/io/*.c' FUZZ_GLOB=none TOOL_GLOB=none check-unit

# libFuzzer builds (clang): build-fuzz/bin/NAME, run as `build-fuzz/bin/NAME fuzz/corpus/NAME`.
FUZZ_BUILD := build-fuzz
fuzz: | $(DEPS_STAMP)
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SAN= OPT="-O1" \
	  CFLAGS="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer" \
	  $(FUZZ_NAMES:%=$(FUZZ_BUILD)/bin-fuzz/%)
$(FUZZ_BUILD)/bin-fuzz/%: $(FUZZ_BUILD)/obj/fuzz/fuzz_%.o $(FUZZ_BUILD)/lib/liblwquic.a
	@mkdir -p $(@D)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# `make fuzz-long`: every libFuzzer target for FUZZ_SECONDS each (FUZZ_TARGETS to pick some), from its seeds plus a
# working corpus in build-fuzz/fuzz-long/corpus/; executions, exec/s and coverage per target in
# build-fuzz/fuzz-long.tsv (scripts/fuzz_long.sh), a summary on stdout.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz-long: fuzz
	@sh scripts/fuzz_long.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

bench: all
	@for b in bench/*.sh; do [ -x "$$b" ] && "$$b" $(BUILD); done; true

$(BUILD)/lwquic.pc: Makefile
	@mkdir -p $(@D)
	printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: lwquic\nDescription: QUIC, HTTP/3 and QPACK in C\nVersion: %s\nLicense: BSD-2-Clause\nLibs: -L$${libdir} -llwquic\nLibs.private: %s\nCflags: -I$${includedir}\n' \
	  '$(PREFIX)' '$(VERSION)' '$(LDLIBS)' > $@

MAN_PAGES := $(wildcard docs/man/*.1)
install: lib tools $(BUILD)/lwquic.pc
	install -d $(DESTDIR)$(PREFIX)/include/lwquic $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin \
	  $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/doc/lwquic
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include/lwquic/
	install -m 644 $(BUILD)/lib/liblwquic.a $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(BUILD)/lib/liblwquic.so $(DESTDIR)$(PREFIX)/lib/liblwquic.so.$(VERSION)
	ln -sf liblwquic.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/liblwquic.so
	install -m 644 $(BUILD)/lwquic.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	$(if $(TOOLS),install -m 755 $(TOOLS) $(DESTDIR)$(PREFIX)/bin/)
	$(if $(MAN_PAGES),install -m 644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/)
	install -m 644 LICENSE $(DESTDIR)$(PREFIX)/share/doc/lwquic/

demo: | $(DEPS_STAMP)
	@echo "== building lwquic"
	@$(MAKE) -s --no-print-directory all
	@sh scripts/demo.sh $(BUILD)

clean:
	rm -rf build build-san build-tsan build-fuzz build-*

# ---- src/app and python/lwquic ----
# `make check` also runs the Python package's tests (pytest, Debian's /usr/bin/python3) and
# tests/app/examples.sh, which runs the app layer's C examples (examples/echo_server.c, echo_client.c, get.c,
# built with the others) and the Python ones (examples/python) against local servers, and
# tests/interop/echo.sh (check-app-interop). The Python parts are skipped in SAN builds:
# an ASan library cannot be loaded into an uninstrumented Python.
PY_SITE = $(shell $(PYTHON) -c 'import sys; print("lib/python%d.%d/dist-packages" % sys.version_info[:2])')
.PHONY: check-python check-app-examples check-app-interop install-python
check: check-python check-app-examples check-app-interop
check-python: lib tools | $(DEPS_STAMP)
	@if [ -n "$(SANFLAGS)" ]; then echo "check-python: skipped in sanitizer builds"; else \
	  LWQUIC_BUILD=$(abspath $(BUILD)) LWQUIC_LIB=$(abspath $(BUILD))/lib/liblwquic.so $(PYTHON) -m pytest -q python/tests; fi
check-app-examples: examples lib tools
	@if [ -n "$(SANFLAGS)" ]; then echo "check-app-examples: skipped in sanitizer builds"; else \
	  PYTHON=$(PYTHON) sh tests/app/examples.sh $(BUILD); fi
# The message protocol against quic-go both ways, the blocking HTTP/3 client against gtlsserver and quic-go.
check-app-interop: examples tools
	@sh scripts/deps.sh interop && sh tests/interop/echo.sh $(BUILD)
install: install-python
install-python: lib
	install -d $(DESTDIR)$(PREFIX)/$(PY_SITE)/lwquic
	install -m 644 python/lwquic/*.py $(DESTDIR)$(PREFIX)/$(PY_SITE)/lwquic/
	printf 'PATH = "%s"\n' '$(PREFIX)/lib/$(SONAME)' > $(DESTDIR)$(PREFIX)/$(PY_SITE)/lwquic/_libpath.py
# ---- end of src/app and python/lwquic ----

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
