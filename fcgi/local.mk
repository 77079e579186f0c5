# fcgi/: the REST worker napalmsky-api (FastCGI, own prefork supervisor, or CGI).
bin_PROGRAMS += fcgi/napalmsky-api
fcgi_napalmsky_api_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) \
	$(CURL_CFLAGS) $(QRENCODE_CFLAGS) $(PNG_CFLAGS)
fcgi_napalmsky_api_SOURCES = \
	fcgi/main.c \
	fcgi/supervisor.c fcgi/supervisor.h \
	fcgi/app.c fcgi/app.h \
	fcgi/request.c fcgi/request.h \
	fcgi/router.c fcgi/router.h \
	fcgi/respond.c fcgi/respond.h \
	fcgi/routes.c fcgi/routes.h \
	fcgi/guard.c fcgi/guard.h \
	fcgi/cache.c fcgi/cache_entry.c fcgi/cache.h \
	fcgi/excl.c fcgi/excl_entry.c fcgi/excl.h \
	fcgi/metrics.c fcgi/metrics.h \
	fcgi/api_service.c \
	fcgi/api_auth.c \
	fcgi/api_user.c \
	fcgi/ctl.c fcgi/ctl.h \
	fcgi/api_media.c \
	fcgi/api_room.c fcgi/api_queue.c fcgi/api_reel.c fcgi/cache_cards.c \
	fcgi/api_referral.c fcgi/api_report.c fcgi/api_admin.c \
	fcgi/api_payment.c fcgi/api_turn.c fcgi/codes.c fcgi/codes.h fcgi/qr.c fcgi/qr.h \
	fcgi/stripe.c fcgi/stripe.h
fcgi_napalmsky_api_LDADD = fcgi/libinput.a shared/libshared.a $(FCGI_LIBS) $(PQ_LIBS) $(HIREDIS_LIBS) \
	$(JSONC_LIBS) $(QRENCODE_LIBS) $(CRYPTO_LIBS) $(XCRYPT_LIBS) \
	$(PTHREAD_LIBS) $(DL_LIBS)

dist_man_MANS += man/napalmsky-api.8

# Unit tests: the transport modules, driven through fcgi/memio (an in-memory struct api_io). The
# router calls the guard, which brings the cache and metrics (unused without storage: app NULL)
# and the Stripe signature check (stripe.c, which opens libcurl only for a checkout call).
API_TRANSPORT = fcgi/request.c fcgi/router.c fcgi/respond.c fcgi/guard.c fcgi/cache.c \
	fcgi/cache_entry.c fcgi/metrics.c fcgi/stripe.c fcgi/stripe.h
API_TEST_LDADD = fcgi/libinput.a shared/libshared.a $(PQ_LIBS) $(HIREDIS_LIBS) $(JSONC_LIBS) \
	$(CRYPTO_LIBS) $(XCRYPT_LIBS) $(PTHREAD_LIBS) $(DL_LIBS)
API_TEST_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) \
	-I$(top_srcdir)/fcgi

check_PROGRAMS += tests/unit/test_router tests/unit/test_request
UNIT_TESTS += tests/unit/test_router tests/unit/test_request
TESTS += tests/unit/test_router tests/unit/test_request
tests_unit_test_router_SOURCES = tests/unit/test_router.c fcgi/memio.c fcgi/memio.h $(API_TRANSPORT)
tests_unit_test_router_CFLAGS = $(API_TEST_CFLAGS)
tests_unit_test_router_LDADD = $(API_TEST_LDADD)
tests_unit_test_request_SOURCES = tests/unit/test_request.c fcgi/memio.c fcgi/memio.h $(API_TRANSPORT)
tests_unit_test_request_CFLAGS = $(API_TEST_CFLAGS)
tests_unit_test_request_LDADD = $(API_TEST_LDADD)

# libFuzzer target for the excl cache entry's text. Run:
# tests/fuzz/fuzz_excl $(srcdir)/tests/fuzz/corpus/excl
EXTRA_DIST += tests/fuzz/corpus/excl
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_excl
endif
tests_fuzz_fuzz_excl_SOURCES = tests/fuzz/fuzz_excl.c fcgi/excl_entry.c fcgi/excl.h
tests_fuzz_fuzz_excl_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_excl_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
tests_fuzz_fuzz_excl_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_excl_LDADD = shared/libshared.a $(CRYPTO_LIBS)

# libFuzzer target for the Stripe-Signature parser and check (stripe.c compiled in, so it is
# instrumented). Run: tests/fuzz/fuzz_stripe_sig $(srcdir)/tests/fuzz/corpus/stripe_sig
EXTRA_DIST += tests/fuzz/corpus/stripe_sig
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_stripe_sig
endif
tests_fuzz_fuzz_stripe_sig_SOURCES = tests/fuzz/fuzz_stripe_sig.c fcgi/stripe.c fcgi/stripe.h
tests_fuzz_fuzz_stripe_sig_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_stripe_sig_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
tests_fuzz_fuzz_stripe_sig_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_stripe_sig_LDADD = shared/libshared.a $(JSONC_LIBS) $(DL_LIBS) $(CRYPTO_LIBS) \
	$(PQ_LIBS) $(HIREDIS_LIBS) $(PTHREAD_LIBS)

# libFuzzer target for the cache's session and user entries and IP-ban values (cache_entry.c).
# Run: tests/fuzz/fuzz_cache_entry $(srcdir)/tests/fuzz/corpus/cache_entry
EXTRA_DIST += tests/fuzz/corpus/cache_entry
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_cache_entry
endif
tests_fuzz_fuzz_cache_entry_SOURCES = tests/fuzz/fuzz_cache_entry.c fcgi/cache_entry.c fcgi/cache.h
tests_fuzz_fuzz_cache_entry_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_cache_entry_CFLAGS = $(AM_CFLAGS) $(HIREDIS_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
tests_fuzz_fuzz_cache_entry_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_cache_entry_LDADD = shared/libshared.a

# libFuzzer target for CONTENT_LENGTH and the Content-Type checks (request.c, through memio).
# Run: tests/fuzz/fuzz_request $(srcdir)/tests/fuzz/corpus/request
EXTRA_DIST += tests/fuzz/corpus/request
if FUZZ
noinst_PROGRAMS += tests/fuzz/fuzz_request
endif
tests_fuzz_fuzz_request_SOURCES = tests/fuzz/fuzz_request.c fcgi/request.c fcgi/request.h \
	fcgi/memio.c fcgi/memio.h
tests_fuzz_fuzz_request_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fcgi
tests_fuzz_fuzz_request_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1
tests_fuzz_fuzz_request_LDFLAGS = -fsanitize=fuzzer,address,undefined
tests_fuzz_fuzz_request_LDADD = shared/libshared.a $(JSONC_LIBS)
