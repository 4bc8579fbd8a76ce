# libFuzzer targets for lib/, included by the top-level Makefile.
#
# `make fuzz` builds $(BUILD)/fuzz/fuzz_NAME from fuzz/fuzz_NAME.c and
# every lib/*.c with clang's -fsanitize=fuzzer,address,undefined, then
# runs each for FUZZ_SECONDS (default 30) over a working corpus in
# $(BUILD)/fuzz/corpus/NAME seeded from fuzz/corpus/NAME (the repository's
# corpus is only read: `make fuzz-merge` adds what is new to it, minimised).
# A crash or an oracle failure stops the run and leaves the input in
# $(BUILD)/fuzz/artifacts/; turn it into a test in t/unit/.
# `make fuzz FUZZ_TARGETS=json FUZZ_SECONDS=600` runs one target longer.
# Everything here is prefixed FUZZ_.

FUZZ_CC       ?= clang
FUZZ_SECONDS  ?= 30
FUZZ_DIR      := $(BUILD)/fuzz
FUZZ_ALL      := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_BINS     := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_ALL))
FUZZ_CFLAGS   := -std=gnu99 -g -O1 -Wall -Wextra -Wpointer-arith \
                 -Wno-unused-parameter -Wstrict-prototypes -Werror -Ilib \
                 -fsanitize=fuzzer,address,undefined \
                 -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_LIBS     := -lgd -lsodium -lcrypto
FUZZ_OPTIONS  := -print_final_stats=1 -max_len=4096 -rss_limit_mb=1024 \
                 -timeout=10

.PHONY: fuzz fuzz-build fuzz-merge

fuzz-build:
	tools/setup fuzz
	$(MAKE) $(FUZZ_BINS)

$(FUZZ_DIR)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(wildcard lib/*.[ch]) \
                    mk/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(wildcard lib/*.c) $(FUZZ_LIBS)

# One line per target: executions, coverage (cov: edges, ft: features)
# and the corpus size, from libFuzzer's final stats and last status line.
fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/artifacts
	@set -e; for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t; \
	    dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
	    log=$(FUZZ_DIR)/$$t.log; \
	    if ! $(FUZZ_DIR)/fuzz_$$t $(FUZZ_OPTIONS) $$dict \
	        -max_total_time=$(FUZZ_SECONDS) \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	        $(FUZZ_DIR)/corpus/$$t fuzz/corpus/$$t > $$log 2>&1; then \
	        tail -40 $$log; echo "fuzz: $$t FAILED (log: $$log)"; exit 1; \
	    fi; \
	    runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	    last=$$(grep -E '^#[0-9]+' $$log | tail -1); \
	    cov=$$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$$last"); \
	    ft=$$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$$last"); \
	    corp=$$(sed -n 's/.* corp: \([0-9]*\/[^ ]*\).*/\1/p' <<<"$$last"); \
	    printf 'fuzz: %-9s ok  %9s runs in %ss  cov %s ft %s corpus %s\n' \
	        $$t "$$runs" $(FUZZ_SECONDS) "$$cov" "$$ft" "$$corp"; \
	done

# Adds the working corpus's new coverage to fuzz/corpus/NAME (minimised).
fuzz-merge: fuzz-build
	@set -e; for t in $(FUZZ_TARGETS); do \
	    [ -d $(FUZZ_DIR)/corpus/$$t ] || continue; \
	    $(FUZZ_DIR)/fuzz_$$t -merge=1 $(FUZZ_OPTIONS) fuzz/corpus/$$t \
	        $(FUZZ_DIR)/corpus/$$t > $(FUZZ_DIR)/$$t.merge.log 2>&1 \
	    || { tail -20 $(FUZZ_DIR)/$$t.merge.log; exit 1; }; \
	    echo "fuzz-merge: $$t: $$(ls fuzz/corpus/$$t | wc -l) files"; \
	done
