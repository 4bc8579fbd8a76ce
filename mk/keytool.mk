# tools/csibiz-keytool, included by the top-level Makefile; it also runs
# alone (`make -f mk/keytool.mk keytool`, as tools/roster-add does when
# the tool is missing).  Built from the lib/ sources it needs, with the
# warnings the nginx build turns into errors.  Prefixed KEYTOOL_.

BUILD           ?= $(CURDIR)/build
KEYTOOL         := $(BUILD)/csibiz-keytool
KEYTOOL_SRCS    := tools/csibiz-keytool.c lib/csibiz_crypto.c lib/csibiz_csv.c \
                   lib/csibiz_validate.c lib/csibiz_utf8.c lib/csibiz_bank.c
KEYTOOL_CFLAGS  := -std=gnu99 -O2 -Wall -Wextra -Wpointer-arith \
                   -Wno-unused-parameter -Wstrict-prototypes -Werror -Ilib

.PHONY: keytool

keytool: $(KEYTOOL)

$(KEYTOOL): $(KEYTOOL_SRCS) $(wildcard lib/*.h) mk/keytool.mk
	@mkdir -p $(dir $@)
	$(CC) $(KEYTOOL_CFLAGS) -o $@ $(KEYTOOL_SRCS) -lsodium
