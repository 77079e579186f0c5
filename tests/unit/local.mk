# tests/unit/: shared/ modules, one TAP program each; test_db_kv.sh drives dbkv_probe
# against real PostgreSQL and Redis servers.
UNIT_SHARED_TESTS = \
	tests/unit/test_err \
	tests/unit/test_clock \
	tests/unit/test_config \
	tests/unit/test_log \
	tests/unit/test_rand \
	tests/unit/test_json \
	tests/unit/test_kv_url \
	tests/unit/test_passwd \
	tests/unit/test_sha256
check_PROGRAMS += $(UNIT_SHARED_TESTS) tests/unit/dbkv_probe
TESTS += $(UNIT_SHARED_TESTS) tests/unit/test_db_kv.sh
UNIT_TESTS += $(UNIT_SHARED_TESTS)
EXTRA_DIST += tests/unit/test_db_kv.sh

UNIT_CFLAGS = $(AM_CFLAGS) $(SHARED_CFLAGS)
tests_unit_test_err_SOURCES = tests/unit/test_err.c tests/unit/tap.h
tests_unit_test_err_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_err_LDADD = $(SHARED_LDADD)
tests_unit_test_clock_SOURCES = tests/unit/test_clock.c tests/unit/tap.h
tests_unit_test_clock_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_clock_LDADD = $(SHARED_LDADD)
tests_unit_test_config_SOURCES = tests/unit/test_config.c tests/unit/tap.h
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(SHARED_LDADD)
tests_unit_test_log_SOURCES = tests/unit/test_log.c tests/unit/tap.h
tests_unit_test_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(SHARED_LDADD)
tests_unit_test_sha256_SOURCES = tests/unit/test_sha256.c tests/unit/tap.h
tests_unit_test_sha256_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sha256_LDADD = $(SHARED_LDADD)
tests_unit_test_rand_SOURCES = tests/unit/test_rand.c tests/unit/tap.h
tests_unit_test_rand_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rand_LDADD = $(SHARED_LDADD)
tests_unit_test_json_SOURCES = tests/unit/test_json.c tests/unit/tap.h
tests_unit_test_json_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_json_LDADD = $(SHARED_LDADD)
tests_unit_test_kv_url_SOURCES = tests/unit/test_kv_url.c tests/unit/tap.h
tests_unit_test_kv_url_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_kv_url_LDADD = $(SHARED_LDADD)
tests_unit_test_passwd_SOURCES = tests/unit/test_passwd.c tests/unit/tap.h
tests_unit_test_passwd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_passwd_LDADD = $(SHARED_LDADD)
tests_unit_dbkv_probe_SOURCES = tests/unit/dbkv_probe.c tests/unit/tap.h
tests_unit_dbkv_probe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_dbkv_probe_LDADD = $(SHARED_LDADD)
