# C unit tests for lib/, included by the top-level Makefile.
#
# `make unit` builds $(BUILD)/unit/test_NAME from t/unit/test_NAME.c and
# every lib/*.c (as a static archive, so a test pulls in only the objects
# it uses), with the warnings the nginx build turns into errors, plus
# AddressSanitizer and UBSan where the compiler and the system support
# them.  `prove -r t/unit` (or `make test`) runs them through t/unit/*.t.
# Everything here is prefixed UNIT_ so as not to clash with the Makefile.

UNIT_DIR     := $(BUILD)/unit
UNIT_LIB_SRC := $(wildcard lib/*.c)
UNIT_LIB_HDR := $(wildcard lib/*.h)
UNIT_LIB_OBJ := $(patsubst lib/%.c,$(UNIT_DIR)/obj/%.o,$(UNIT_LIB_SRC))
UNIT_LIB     := $(UNIT_DIR)/libcsibiz.a
UNIT_BINS    := $(patsubst t/unit/%.c,$(UNIT_DIR)/%,\
                    $(wildcard t/unit/test_*.c))
UNIT_SANFILE := $(UNIT_DIR)/sanitize.flags

UNIT_CFLAGS  := -std=gnu99 -g -O2 -Wall -Wextra -Wpointer-arith \
                -Wno-unused-parameter -Wstrict-prototypes -Werror -Ilib
UNIT_LIBS    := -lgd -lsodium -lcrypto

# Read when a recipe runs, after the probe below has written the file.
UNIT_SAN      = $(shell cat $(UNIT_SANFILE))

unit: $(UNIT_BINS)

# The first flag set that compiles, links and runs a trivial program (so
# a missing libasan, or LeakSanitizer failing under ptrace, falls back
# instead of failing every test).  Errors from UBSan abort the test.
$(UNIT_SANFILE): mk/unit.mk
	@mkdir -p $(UNIT_DIR)
	@for flags in "-fsanitize=address,undefined" "-fsanitize=undefined"; do \
	    printf 'int main(void) { return 0; }\n' \
	        | $(CC) -x c $$flags -o $(UNIT_DIR)/probe - 2>/dev/null \
	    && $(UNIT_DIR)/probe 2>/dev/null \
	    && { echo "$$flags -fno-sanitize-recover=all" \
	              "-fno-omit-frame-pointer" > $@; rm -f $(UNIT_DIR)/probe; \
	         exit 0; }; \
	done; \
	echo "unit: no sanitizer available, building without" >&2; \
	: > $@; rm -f $(UNIT_DIR)/probe

$(UNIT_DIR)/obj/%.o: lib/%.c $(UNIT_LIB_HDR) $(UNIT_SANFILE)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) -c -o $@ $<

# Rebuilt from scratch so that a lib/*.c removed leaves no stale object.
$(UNIT_LIB): $(UNIT_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(UNIT_DIR)/test_%: t/unit/test_%.c t/unit/tap.h $(UNIT_LIB) $(UNIT_LIB_HDR)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ $< $(UNIT_LIB) $(UNIT_LIBS)
