# ws-gateway/: the Socket.IO gateway (libwebsockets, single-threaded poll loop).
bin_PROGRAMS += ws-gateway/napalmsky-gateway
ws_gateway_napalmsky_gateway_SOURCES = \
	ws-gateway/main.c ws-gateway/gw.h \
	ws-gateway/conn.c ws-gateway/conn.h \
	ws-gateway/http.c ws-gateway/http.h \
	ws-gateway/bus.c ws-gateway/bus.h \
	ws-gateway/pg.c ws-gateway/pg.h \
	ws-gateway/auth.c ws-gateway/auth.h \
	ws-gateway/live.c ws-gateway/live.h \
	ws-gateway/ctl.c ws-gateway/ctl.h \
	ws-gateway/qfeed.c ws-gateway/qfeed.h \
	ws-gateway/events.c ws-gateway/events.h \
	ws-gateway/gwlua.c ws-gateway/gwlua.h ws-gateway/sha1.c ws-gateway/sha1.h \
	ws-gateway/invite.c ws-gateway/invite.h \
	ws-gateway/room.c ws-gateway/room.h \
	ws-gateway/payload.c ws-gateway/payload.h \
	ws-gateway/callend.c ws-gateway/callend.h \
	ws-gateway/sched.c ws-gateway/sched.h \
	ws-gateway/eio.c ws-gateway/eio.h \
	ws-gateway/pmd.c ws-gateway/pmd.h \
	ws-gateway/metrics.c ws-gateway/metrics.h \
	ws-gateway/sio.c ws-gateway/sio.h
ws_gateway_napalmsky_gateway_CFLAGS = $(AM_CFLAGS) $(LWS_CFLAGS) $(SHARED_CFLAGS)
ws_gateway_napalmsky_gateway_LDADD = $(LWS_LIBS) $(EV_LIBS) $(SHARED_LDADD)
dist_man_MANS += man/napalmsky-gateway.8

# The Engine.IO/Socket.IO codecs are pure and tested on their own.
check_PROGRAMS += tests/unit/test_sha1
TESTS += tests/unit/test_sha1
UNIT_TESTS += tests/unit/test_sha1
tests_unit_test_sha1_SOURCES = tests/unit/test_sha1.c tests/unit/tap.h ws-gateway/sha1.c \
	ws-gateway/sha1.h
tests_unit_test_sha1_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/ws-gateway

check_PROGRAMS += tests/unit/test_eio_sio
TESTS += tests/unit/test_eio_sio
UNIT_TESTS += tests/unit/test_eio_sio
tests_unit_test_eio_sio_SOURCES = tests/unit/test_eio_sio.c tests/unit/tap.h \
	ws-gateway/eio.c ws-gateway/sio.c ws-gateway/payload.c shared/json.c shared/err.c \
	shared/rand.c shared/valid.c
tests_unit_test_eio_sio_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/ws-gateway
tests_unit_test_eio_sio_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
tests_unit_test_eio_sio_LDADD = $(JSONC_LIBS)

if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_sio
tests_fuzz_fuzz_sio_SOURCES = tests/fuzz/fuzz_sio.c ws-gateway/eio.c ws-gateway/sio.c \
	ws-gateway/payload.c shared/json.c shared/err.c shared/rand.c shared/valid.c
tests_fuzz_fuzz_sio_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/ws-gateway
tests_fuzz_fuzz_sio_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -g -O1
tests_fuzz_fuzz_sio_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_sio_LDADD = $(JSONC_LIBS)
endif
# tests/fuzz/corpus/sio/ is distributed with the whole corpus directory (tests/local.mk).
