# floe — plain Makefile (no other build system).
#   make            build/floe (release, -O2)
#   make test       deps, build, unit tests under ASan+UBSan, integration tests
#   make bench      benchmarks against peers; see BENCHMARKS.md
#   make serve      deps, build, run floe on ./floe-data at 127.0.0.1:3030
#   make SANITIZE=address,undefined   any target with sanitizers
CC      ?= cc
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla -Werror
CFLAGS  := -std=c17 $(OPT) $(WARN) -D_GNU_SOURCE -pthread -Isrc -I/usr/include/postgresql -MMD -MP
LIBS    := -lmicrohttpd -ljansson -lzstd -lsnappy -lroaring -lz -lpq -lm -pthread
DUCKDB  := vendor/duckdb
DUCK_CFLAGS := -isystem $(DUCKDB)
DUCK_LIBS   := -L$(abspath $(DUCKDB)) -lduckdb -Wl,-rpath,$(abspath $(DUCKDB))

ifdef SANITIZE
CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
BUILD   ?= build/san
else
BUILD   ?= build/rel
endif

LIB_SRC   := $(filter-out src/main.c,$(wildcard src/*/*.c src/*/*/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

PRELOAD := $(BUILD)/preload/faultfs.so

.PHONY: all deps test unit integration bench serve clean format torture
all: $(BUILD)/floe build/floe

build/floe: $(BUILD)/floe
	@ln -sf $(notdir $(BUILD))/floe build/floe

$(BUILD)/floe: $(BUILD)/src/main.o $(BUILD)/libfloe.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/libfloe.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libfloe.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfloe.a $(LIBS) -lcmocka

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libfloe.a | $(DUCKDB)/libduckdb.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DUCK_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfloe.a $(LIBS) $(DUCK_LIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libfloe.a | $(DUCKDB)/libduckdb.so
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(DUCK_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libfloe.a $(LIBS) $(DUCK_LIBS) -lcurl

# Fault injection for tests: an LD_PRELOAD library (see its header).
$(BUILD)/preload/%.so: tests/preload/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -O1 -g -Wall -Wextra -Werror -fPIC -shared -o $@ $< -ldl

$(DUCKDB)/libduckdb.so:
	scripts/deps.sh

deps:
	scripts/deps.sh

unit-bins: $(UNIT_BIN) $(BUILD)/floe

# Unit tests run under ASan+UBSan; integration tests use the release binary
# (and its tools) so timings stay realistic.
test: deps
	$(MAKE) all $(TOOL_BIN) $(PRELOAD)
	$(MAKE) SANITIZE=address,undefined unit-bins
	tests/run.sh

# Long kill -9 runs (the test suite does 30 kills; this does 300).
torture: deps
	$(MAKE) all $(TOOL_BIN) $(PRELOAD)
	FLOE_TORTURE_KILLS=300 /usr/bin/python3 tests/integration/run.py -k kill9

bench: deps all $(BENCH_BIN)
	bench/run.sh

serve: deps all
	build/floe serve ./floe-data

format:
	clang-format -i $(wildcard src/*/*.c src/*/*.h src/*.c tests/*/*.c bench/*.c)

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/main.d
