# fcgi/input.mk: request parsers (multipart, file sniffing, field validation, query string,
# If-None-Match, the queue cursor), their unit tests and fuzz targets. Pure code: no
# FastCGI, no I/O.

shared_libshared_a_SOURCES += shared/valid.c shared/valid.h

noinst_LIBRARIES += fcgi/libinput.a
fcgi_libinput_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
fcgi_libinput_a_SOURCES = \
	fcgi/multipart.c fcgi/multipart.h \
	fcgi/sniff.c fcgi/sniff.h \
	fcgi/query.c fcgi/request.h \
	fcgi/queue_cursor.c fcgi/queue.h

INPUT_TESTS = tests/unit/test_valid tests/unit/test_multipart tests/unit/test_sniff \
	tests/unit/test_query
check_PROGRAMS += $(INPUT_TESTS)
TESTS += $(INPUT_TESTS)
UNIT_TESTS += $(INPUT_TESTS)

tests_unit_test_valid_SOURCES = tests/unit/test_valid.c tests/unit/tap.h
tests_unit_test_valid_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_valid_LDADD = shared/libshared.a $(JSONC_LIBS)
tests_unit_test_multipart_SOURCES = tests/unit/test_multipart.c tests/unit/tap.h
tests_unit_test_multipart_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_multipart_LDADD = fcgi/libinput.a
tests_unit_test_sniff_SOURCES = tests/unit/test_sniff.c tests/unit/tap.h
tests_unit_test_sniff_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_sniff_LDADD = fcgi/libinput.a
tests_unit_test_query_SOURCES = tests/unit/test_query.c tests/unit/tap.h
tests_unit_test_query_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_unit_test_query_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_query_LDADD = fcgi/libinput.a shared/libshared.a

# libFuzzer targets: the code under test is compiled into each target so that it carries the
# fuzzer's coverage instrumentation. Run: tests/fuzz/fuzz_multipart $(srcdir)/tests/fuzz/corpus/multipart
INPUT_FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
EXTRA_DIST += tests/fuzz/corpus/multipart tests/fuzz/corpus/valid tests/fuzz/corpus/sniff \
	tests/fuzz/corpus/query
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_multipart tests/fuzz/fuzz_valid tests/fuzz/fuzz_sniff \
	tests/fuzz/fuzz_query
endif
tests_fuzz_fuzz_multipart_SOURCES = tests/fuzz/fuzz_multipart.c fcgi/multipart.c fcgi/multipart.h
tests_fuzz_fuzz_multipart_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_multipart_CFLAGS = $(AM_CFLAGS) $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_multipart_LDFLAGS = $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_sniff_SOURCES = tests/fuzz/fuzz_sniff.c fcgi/sniff.c fcgi/sniff.h
tests_fuzz_fuzz_sniff_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_sniff_CFLAGS = $(AM_CFLAGS) $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_sniff_LDFLAGS = $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_valid_SOURCES = tests/fuzz/fuzz_valid.c shared/valid.c shared/valid.h
tests_fuzz_fuzz_valid_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_valid_LDFLAGS = $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_valid_LDADD = shared/libshared.a $(JSONC_LIBS)
tests_fuzz_fuzz_query_SOURCES = tests/fuzz/fuzz_query.c fcgi/query.c fcgi/request.h \
	fcgi/queue_cursor.c fcgi/queue.h
tests_fuzz_fuzz_query_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_query_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_query_LDFLAGS = $(INPUT_FUZZ_FLAGS)
tests_fuzz_fuzz_query_LDADD = shared/libshared.a
