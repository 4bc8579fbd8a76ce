# tools/csibiz-keytool, tools/csibiz-gen, tools/csibiz-captcha-sample and
# tools/csibiz-replay,
# included by the top-level Makefile; it also runs alone (`make -f
# mk/keytool.mk keytool`, as tools/roster-add does when the tool is
# missing).  Built from the lib/ sources they need, with the
# warnings the nginx build turns into errors.  Prefixed KEYTOOL_.

BUILD           ?= $(CURDIR)/build
KEYTOOL         := $(BUILD)/csibiz-keytool
KEYTOOL_SRCS    := tools/csibiz-keytool.c tools/csibiz-keyfile.c \
                   tools/csibiz-keytool-db.c \
                   lib/csibiz_crypto.c lib/csibiz_csv.c \
                   lib/csibiz_validate.c lib/csibiz_utf8.c lib/csibiz_bank.c
KEYTOOL_CFLAGS  := -std=gnu99 -O2 -Wall -Wextra -Wpointer-arith \
                   -Wno-unused-parameter -Wstrict-prototypes -Werror \
                   -Ilib -Itools
# libpq (rotate, verify): its headers have their own directory on Debian
KEYTOOL_PQ_INC  := $(shell pg_config --includedir 2>/dev/null \
                           || echo /usr/include/postgresql)

# tools/csibiz-gen: the synthetic data of tools/gen-dataset
GEN             := $(BUILD)/csibiz-gen
GEN_SRCS        := tools/csibiz-gen.c tools/csibiz-keyfile.c \
                   lib/csibiz_crypto.c lib/csibiz_validate.c \
                   lib/csibiz_utf8.c

# tools/csibiz-captcha-sample: fresh captchas for tools/captcha-ocr
CAPTCHA_SAMPLE  := $(BUILD)/csibiz-captcha-sample
CAPTCHA_SRCS    := tools/csibiz-captcha-sample.c lib/csibiz_captcha.c

# tools/csibiz-replay: the open-loop engine of tools/replay
REPLAY          := $(BUILD)/csibiz-replay

.PHONY: keytool gen captcha-sample replay

replay: $(REPLAY)

$(REPLAY): tools/csibiz-replay.c mk/keytool.mk
	@mkdir -p $(dir $@)
	$(CC) $(KEYTOOL_CFLAGS) -o $@ tools/csibiz-replay.c -lm

keytool: $(KEYTOOL)

gen: $(GEN)

captcha-sample: $(CAPTCHA_SAMPLE)

$(CAPTCHA_SAMPLE): $(CAPTCHA_SRCS) lib/csibiz_captcha.h mk/keytool.mk
	@mkdir -p $(dir $@)
	$(CC) $(KEYTOOL_CFLAGS) -o $@ $(CAPTCHA_SRCS) -lgd -lsodium

$(GEN): $(GEN_SRCS) $(wildcard lib/*.h) tools/csibiz-keyfile.h \
        mk/keytool.mk
	@mkdir -p $(dir $@)
	$(CC) $(KEYTOOL_CFLAGS) -o $@ $(GEN_SRCS) -lsodium

$(KEYTOOL): $(KEYTOOL_SRCS) $(wildcard lib/*.h) tools/csibiz-keyfile.h \
            tools/csibiz-keytool-db.h mk/keytool.mk
	@mkdir -p $(dir $@)
	$(CC) $(KEYTOOL_CFLAGS) -I$(KEYTOOL_PQ_INC) -o $@ $(KEYTOOL_SRCS) \
	    -lpq -lsodium
