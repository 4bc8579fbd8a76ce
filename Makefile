# csibiz: build the nginx module against Debian's nginx-dev, run the local
# stack and the test suite.  See README.md.

NGX_SRC     ?= /usr/share/nginx/src
BUILD       := $(CURDIR)/build
MODULE      := $(BUILD)/ngx_http_csibiz_module.so
NGX_COPY    := $(BUILD)/nginx-src

MODULE_SRCS := $(wildcard ngx_csibiz_module/*.c ngx_csibiz_module/*.h \
                          lib/*.c lib/*.h)

.PHONY: all build deps deb demo stop test unit clean distclean

all: build

build: $(MODULE) keytool captcha-sample replay

# nginx's configure writes a Makefile into the source tree, so it runs in a
# private copy of nginx-dev's sources; the flags must be Debian's exactly or
# the packaged nginx refuses the module as not binary compatible.  The list
# of source files is part of the stamp, since config globs lib/*.c.
$(BUILD)/configure.stamp: config $(NGX_SRC)/conf_flags
	@rm -rf $(NGX_COPY) $(BUILD)/Makefile
	@mkdir -p $(BUILD)
	cp -a $(NGX_SRC) $(NGX_COPY)
	cd $(NGX_COPY) && . ./conf_flags \
	    && ./configure "$${NGX_CONF_FLAGS[@]}" \
	       --add-dynamic-module=$(CURDIR) --builddir=$(BUILD) \
	       > $(BUILD)/configure.log 2>&1 \
	    || { tail -30 $(BUILD)/configure.log; exit 1; }
	@touch $@

$(BUILD)/srclist: FORCE
	@mkdir -p $(BUILD)
	@echo $(sort $(wildcard lib/*.c ngx_csibiz_module/*.c)) > $@.new
	@cmp -s $@.new $@ 2>/dev/null || mv $@.new $@; rm -f $@.new

$(MODULE): $(BUILD)/configure.stamp $(BUILD)/srclist $(MODULE_SRCS)
	@if [ $(BUILD)/srclist -nt $(BUILD)/configure.stamp ]; then \
	    rm -f $(BUILD)/configure.stamp; $(MAKE) $(BUILD)/configure.stamp; fi
	$(MAKE) -f $(BUILD)/Makefile -C $(NGX_COPY) modules
	@touch $@

FORCE:

SHELL := /bin/bash

# Installs what is missing from Debian's packages (idempotent).
deps:
	tools/setup

# The Debian package, build/deb/libnginx-mod-http-csibiz_VERSION_ARCH.deb
# (VERSION: debian/changelog), built in a temporary copy of the tree and
# checked by lintian (tools/make-deb).
deb: deps
	tools/make-deb

demo: deps build
	tools/stack demo start

# The test files' own stacks (var/test/t/*) are stopped by the files
# themselves; these lines are for a run that was cut short.
stop:
	-tools/stack demo stop
	-for d in var/test/t/*; do \
	    [ -e "$$d/redis/redis.pid" ] || [ -e "$$d/pg/postmaster.pid" ] \
	        || continue; \
	    CSIBIZ_TEST_VAR=$(CURDIR)/$$d tools/stack test stop; done
	-tools/stack test stop

include mk/unit.mk
include mk/keytool.mk
include mk/fuzz.mk

# Two files at a time: each has its own nginx, Redis and database (see
# t/lib/README.md); the shared PostgreSQL cluster is started first.
TEST_JOBS ?= 2

test: deps build unit
	tools/stack test start-backends
	rc=0; prove -j$(TEST_JOBS) -r t || rc=$$?; tools/stack test stop; exit $$rc

clean:
	rm -rf $(BUILD) t/servroot t/servroot-*

distclean: stop clean
	rm -rf var
