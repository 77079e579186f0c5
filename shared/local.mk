# shared/: the library both daemons and the tools link.
noinst_LIBRARIES += shared/libshared.a
shared_libshared_a_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) $(XCRYPT_CFLAGS)
shared_libshared_a_SOURCES = \
	shared/err.c shared/err.h \
	shared/clock.c shared/clock.h \
	shared/rand.c shared/rand.h \
	shared/sha256.c shared/sha256.h \
	shared/dso.c shared/dso.h \
	shared/log.c shared/log.h \
	shared/nsconfig.c shared/nsconfig.h \
	shared/json.c shared/json.h \
	shared/db.c shared/db.h \
	shared/kv.c shared/kv.h \
	shared/cidr.c shared/cidr.h \
	shared/passwd.c shared/passwd.h \
	shared/script.c shared/script.h \
	shared/ratelimit.c shared/ratelimit.h \
	shared/keys.c shared/keys.h \
	shared/presence.c shared/presence.h
# presence_probe: sets and reads presence through shared/presence for the integration tests.
check_PROGRAMS += tests/integration/presence_probe
tests_integration_presence_probe_SOURCES = tests/integration/presence_probe.c
tests_integration_presence_probe_CFLAGS = $(AM_CFLAGS) $(SHARED_CFLAGS)
tests_integration_presence_probe_LDADD = $(SHARED_LDADD)
EXTRA_DIST += tests/lib/seed.sh

# What a program linking libshared.a needs (its own libraries go before these).
SHARED_CFLAGS = $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) $(XCRYPT_CFLAGS)
SHARED_LDADD = shared/libshared.a $(PQ_LIBS) $(HIREDIS_LIBS) $(JSONC_LIBS) $(XCRYPT_LIBS) $(PTHREAD_LIBS) $(DL_LIBS)

# libFuzzer targets compile the code under test themselves, so it is instrumented too.
if FUZZ
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
noinst_PROGRAMS += tests/fuzz/fuzz_config tests/fuzz/fuzz_json
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/fuzz_config.c \
	shared/nsconfig.c shared/log.c shared/kv.c shared/clock.c shared/err.c \
	shared/cidr.c
tests_fuzz_fuzz_config_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_config_LDADD = $(HIREDIS_LIBS)
tests_fuzz_fuzz_json_SOURCES = tests/fuzz/fuzz_json.c shared/json.c shared/err.c
tests_fuzz_fuzz_json_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_json_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_fuzz_json_LDADD = $(JSONC_LIBS)
noinst_PROGRAMS += tests/fuzz/fuzz_cidr
tests_fuzz_fuzz_cidr_SOURCES = tests/fuzz/fuzz_cidr.c shared/cidr.c shared/cidr.h
tests_fuzz_fuzz_cidr_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_cidr_LDFLAGS = $(FUZZ_FLAGS)
endif
EXTRA_DIST += tests/fuzz/corpus/cidr

# metrics_allow and trusted_proxies (shared/cidr.c)
check_PROGRAMS += tests/unit/test_cidr
TESTS += tests/unit/test_cidr
UNIT_TESTS += tests/unit/test_cidr
tests_unit_test_cidr_SOURCES = tests/unit/test_cidr.c tests/unit/tap.h shared/cidr.c \
	shared/cidr.h
