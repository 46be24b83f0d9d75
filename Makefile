# shardroute: PGXS build of a C++17 PostgreSQL extension.
#
#   make            build          make install    install into the server
#   make test       install what is missing, build, install, run every suite
#   make demo       throwaway server showing shardroute at work
#   make installcheck   pg_regress against a server you already run
#   make sanitize   unit tests and fuzz regressions under ASan+UBSan (part of make test)
#   make clang-check    every object compiled by clang++, warnings as errors (part of make test)
#   make soak       8 clients and a topology changer for SOAK_SECONDS (default 60)

EXTENSION  = shardroute
MODULE_big = shardroute
DATA       = sql/shardroute--1.0.sql sql/shardroute--1.1.sql sql/shardroute--1.2.sql sql/shardroute--1.3.sql sql/shardroute--1.4.sql \
             sql/shardroute--1.0--1.1.sql sql/shardroute--1.1--1.2.sql sql/shardroute--1.2--1.3.sql \
             sql/shardroute--1.3--1.4.sql
# installed as share/doc/.../extension/README.shardroute.md, not a bare README.md
DOCS       = README.shardroute.md
PGFILEDESC = "shardroute - shard lookup and read routing for sharded PostgreSQL"

SRCS = $(sort $(wildcard src/*/*.cpp))
OBJS = $(SRCS:.cpp=.o)
# Pure C++ sources (no PostgreSQL headers): unit tests, fuzzers and benchmarks link them.
CORE_SRCS = $(filter-out src/pg/%,$(SRCS))

# pg_regress suites: sql/<name>.sql vs expected/<name>.out
REGRESS = hash boundary plproxy_smoke topology lookup privileges django read_routing plproxy plproxy_privileges citus hardening fleet operators drop
# isolation specs: test/isolation/specs/<name>.spec
ISOLATION_SPECS = cache_invalidation concurrent_writers topology_notify notify_savepoint_lock

PG_CONFIG ?= pg_config

PG_CPPFLAGS = -I$(CURDIR)/src -isystem $(shell $(PG_CONFIG) --includedir-server) -I$(shell $(PG_CONFIG) --includedir)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-register -MMD -MP
SHLIB_LINK  = -lstdc++ -lfmt -lpq

# PostgreSQL's JIT wants LLVM bitcode of every object: compile .cpp files to
# bitcode with the same language level and include paths.
COMPILE.cxx.bc = $(CLANG) -xc++ -std=c++17 -Wno-ignored-attributes $(BITCODE_CXXFLAGS) $(CPPFLAGS) -flto=thin -emit-llvm -c

EXTRA_CLEAN = README.shardroute.md test/unit/unit_tests test/bench/siphash_bench $(SRCS:.cpp=.d) results regression.diffs regression.out test/.build

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(SRCS:.cpp=.d)

all: README.shardroute.md
README.shardroute.md: README.md
	cp $< $@

# PGXS passes the flags PostgreSQL was built with (gcc's: -Wimplicit-fallthrough=3,
# -Wno-format-truncation, ...). With another compiler (clang), each -W/-f flag of
# theirs that this compiler refuses under -Werror is dropped, so that -Werror
# applies to our own flags (PG_CXXFLAGS, never probed) and not to theirs.
ifneq ($(findstring clang,$(CXX)),)
PGXS_FOREIGN_FLAGS := $(foreach f,$(filter-out $(PG_CXXFLAGS),$(filter -W% -f%,$(CXXFLAGS))),\
    $(if $(shell $(CXX) -Werror $(f) -fsyntax-only -xc++ /dev/null >/dev/null 2>&1 && echo ok),,$(f)))
override CXXFLAGS := $(filter-out $(PGXS_FOREIGN_FLAGS),$(CXXFLAGS))
endif

# The unit tests are built from the cores with no PostgreSQL include path: a
# core file (anything outside src/pg/) that includes a PostgreSQL header fails
# this build. That is what keeps the cores pure C++ (docs/ARCHITECTURE.md).
UNIT_SRCS = $(sort $(wildcard test/unit/*.cpp))
UNIT_CXXFLAGS = -std=c++17 -O2 -g -Wall -Wextra -Werror -Isrc

test/unit/unit_tests: $(UNIT_SRCS) $(CORE_SRCS) $(wildcard src/*/*.hpp test/unit/*.hpp) test/fuzz/fuzz_django.cpp
	$(CXX) $(UNIT_CXXFLAGS) -o $@ $(UNIT_SRCS) $(CORE_SRCS) -lfmt

test/bench/siphash_bench: test/bench/siphash_bench.cpp $(CORE_SRCS)
	$(CXX) -std=c++17 -O2 -Wall -Wextra -Werror -Isrc -o $@ $^ -lfmt

# libFuzzer on the Django settings format, for FUZZ_SECONDS (test/fuzz/README.md); seeds: test/fixtures/django
FUZZ_SECONDS ?= 120
fuzz:
	clang++-14 -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc test/fuzz/fuzz_django.cpp $(CORE_SRCS) -lfmt -o /tmp/fuzz_django
	mkdir -p /tmp/fuzz_django_corpus
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 /tmp/fuzz_django -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 /tmp/fuzz_django_corpus test/fixtures/django

# --- sanitizers: the unit tests and the fuzz regressions under ASan + UBSan -----
# Objects in test/.build/san (one per source, so make -j builds them in
# parallel; -O0: on this code gcc -O1 with sanitizers compiles 3.5x slower),
# any report aborts the run (-fno-sanitize-recover=all).
SAN_DIR = test/.build/san
SAN_FLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_CXXFLAGS = -std=c++17 -O0 -g -Wall -Wextra -Werror -Isrc -MMD -MP $(SAN_FLAGS)
SAN_CORE_OBJS = $(patsubst %.cpp,$(SAN_DIR)/%.o,$(CORE_SRCS))
SAN_UNIT_OBJS = $(patsubst %.cpp,$(SAN_DIR)/%.o,$(UNIT_SRCS))
SAN_FUZZ_OBJS = $(SAN_DIR)/test/fuzz/fuzz_django.o $(SAN_DIR)/test/fuzz/replay_main.o
# What the fuzz target replays: the seeds, the regressions, and FUZZ_CORPUS
# (e.g. /tmp/fuzz_django_corpus from make fuzz) when set.
FUZZ_INPUTS = $(wildcard test/fixtures/django/* test/fuzz/regressions/*) $(if $(FUZZ_CORPUS),$(wildcard $(FUZZ_CORPUS)/*))
SAN_ENV = ASAN_OPTIONS=detect_leaks=1:halt_on_error=1:abort_on_error=0:exitcode=23 \
          UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

$(SAN_DIR)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) $(SAN_CXXFLAGS) -c -o $@ $<

$(SAN_DIR)/unit_tests: $(SAN_UNIT_OBJS) $(SAN_CORE_OBJS)
	$(CXX) $(SAN_FLAGS) -o $@ $^ -lfmt

$(SAN_DIR)/fuzz_replay: $(SAN_FUZZ_OBJS) $(SAN_CORE_OBJS)
	$(CXX) $(SAN_FLAGS) -o $@ $^ -lfmt

-include $(wildcard $(SAN_DIR)/*/*.d $(SAN_DIR)/*/*/*.d)

sanitize: $(SAN_DIR)/unit_tests $(SAN_DIR)/fuzz_replay
	$(SAN_ENV) $(SAN_DIR)/unit_tests
	$(SAN_ENV) $(SAN_DIR)/fuzz_replay $(FUZZ_INPUTS)

# --- clang: every object compiled by clang++ with PGXS's flags and ours --------
# into test/.build/clang, without touching the real build; -Werror is ours
# (see PGXS_FOREIGN_FLAGS). -O0: clang's warnings come from its front end.
CLANG_CXX ?= clang++
CLANG_CC ?= clang
CLANG_DIR = test/.build/clang
CLANG_OPT ?= -O0
clang-check:
	$(MAKE) --no-print-directory CXX=$(CLANG_CXX) CC=$(CLANG_CC) clang-objs

clang-objs: $(patsubst %.cpp,$(CLANG_DIR)/%.o,$(SRCS))

$(CLANG_DIR)/%.o: %.cpp
	@mkdir -p $(@D)
	$(COMPILE.cc) $(CLANG_OPT) -o $@ $<

-include $(wildcard $(CLANG_DIR)/*/*.d)

soak:
	bash test/soak/soak.sh

.PHONY: test unit demo bench format checkver fuzz sanitize clang-check clang-objs soak
unit: test/unit/unit_tests
	test/unit/unit_tests

test:
	REGRESS="$(REGRESS)" ISOLATION_SPECS="$(ISOLATION_SPECS)" bash test/run_tests.sh

demo:
	bash test/demo.sh

bench:
	bash test/bench/run.sh

format:
	clang-format -i $(wildcard src/*/*.cpp src/*/*.hpp test/unit/*.cpp test/unit/*.hpp test/bench/*.cpp)

# The control file, META.json and the install script must name the same version.
checkver:
	@ctl=$$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" shardroute.control); \
	meta=$$(sed -n 's/^ *"version": *"\([0-9.]*\)".*/\1/p' META.json | head -1); \
	test -f sql/shardroute--$$ctl.sql || { echo "checkver: sql/shardroute--$$ctl.sql missing"; exit 1; }; \
	case "$$meta" in $$ctl|$$ctl.*) ;; *) echo "checkver: META.json $$meta vs control $$ctl"; exit 1;; esac; \
	file=$$(sed -n 's/^ *"file": *"\(.*\)".*/\1/p' META.json); \
	test "$$file" = sql/shardroute--$$ctl.sql || { echo "checkver: META.json names $$file, not sql/shardroute--$$ctl.sql"; exit 1; }; \
	for f in sql/shardroute--*.sql; do case " $(DATA) " in *" $$f "*) ;; *) echo "checkver: $$f is not in DATA"; exit 1;; esac; done; \
	echo "checkver: version $$ctl consistent"
