# shardroute: PGXS build of a C++17 PostgreSQL extension.
#
#   make            build          make install    install into the server
#   make test       install what is missing, build, install, run every suite
#   make demo       throwaway server showing shardroute at work
#   make installcheck   pg_regress against a server you already run

EXTENSION  = shardroute
MODULE_big = shardroute
DATA       = sql/shardroute--1.0.sql sql/shardroute--1.1.sql sql/shardroute--1.2.sql sql/shardroute--1.3.sql \
             sql/shardroute--1.0--1.1.sql sql/shardroute--1.1--1.2.sql sql/shardroute--1.2--1.3.sql
DOCS       = README.md
PGFILEDESC = "shardroute - shard lookup and read routing for sharded PostgreSQL"

SRCS = $(sort $(wildcard src/*/*.cpp))
OBJS = $(SRCS:.cpp=.o)
# Pure C++ sources (no PostgreSQL headers): unit tests, fuzzers and benchmarks link them.
CORE_SRCS = $(filter-out src/pg/%,$(SRCS))

# pg_regress suites: sql/<name>.sql vs expected/<name>.out
REGRESS = hash boundary plproxy_smoke topology lookup privileges django read_routing plproxy plproxy_privileges citus hardening fleet operators drop
# isolation specs: test/isolation/specs/<name>.spec
ISOLATION_SPECS = cache_invalidation concurrent_writers topology_notify

PG_CONFIG ?= pg_config

PG_CPPFLAGS = -I$(CURDIR)/src -isystem $(shell $(PG_CONFIG) --includedir-server) -I$(shell $(PG_CONFIG) --includedir)
PG_CXXFLAGS = -std=c++17 -Wall -Wextra -Werror -Wno-register -MMD -MP
# PGXS passes the flags PostgreSQL was built with (gcc's); -Werror is for our
# own warnings, not for clang not knowing a gcc-only option of theirs.
ifneq ($(findstring clang,$(CXX)),)
PG_CXXFLAGS += -Wno-unknown-warning-option
endif
SHLIB_LINK  = -lstdc++ -lfmt -lpq

# PostgreSQL's JIT wants LLVM bitcode of every object: compile .cpp files to
# bitcode with the same language level and include paths.
COMPILE.cxx.bc = $(CLANG) -xc++ -std=c++17 -Wno-ignored-attributes $(BITCODE_CXXFLAGS) $(CPPFLAGS) -flto=thin -emit-llvm -c

EXTRA_CLEAN = test/unit/unit_tests test/bench/siphash_bench $(SRCS:.cpp=.d) results regression.diffs regression.out

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

-include $(SRCS:.cpp=.d)

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

.PHONY: test unit demo bench format checkver fuzz
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
	echo "checkver: version $$ctl consistent"
