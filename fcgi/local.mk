# fcgi/: the REST worker napalmsky-api (FastCGI, own prefork supervisor, or CGI).
bin_PROGRAMS += fcgi/napalmsky-api
fcgi_napalmsky_api_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS)
fcgi_napalmsky_api_SOURCES = \
	fcgi/main.c \
	fcgi/supervisor.c fcgi/supervisor.h \
	fcgi/app.c fcgi/app.h \
	fcgi/request.c fcgi/request.h \
	fcgi/router.c fcgi/router.h \
	fcgi/respond.c fcgi/respond.h \
	fcgi/routes.c fcgi/routes.h \
	fcgi/guard.c fcgi/guard.h \
	fcgi/cache.c fcgi/cache.h \
	fcgi/metrics.c fcgi/metrics.h \
	fcgi/api_service.c \
	fcgi/api_auth.c \
	fcgi/api_user.c \
	fcgi/ctl.c fcgi/ctl.h \
	fcgi/api_media.c \
	fcgi/api_room.c
fcgi_napalmsky_api_LDADD = fcgi/libinput.a shared/libshared.a $(FCGI_LIBS) $(PQ_LIBS) $(HIREDIS_LIBS) \
	$(JSONC_LIBS) $(CRYPTO_LIBS) $(XCRYPT_LIBS) $(PTHREAD_LIBS)

dist_man_MANS += man/napalmsky-api.8

# Unit tests: the transport modules, driven through fcgi/memio (an in-memory struct api_io). The
# router calls the guard, which brings the cache and metrics (unused without storage: app NULL).
API_TRANSPORT = fcgi/request.c fcgi/router.c fcgi/respond.c fcgi/guard.c fcgi/cache.c \
	fcgi/metrics.c
API_TEST_LDADD = shared/libshared.a $(PQ_LIBS) $(HIREDIS_LIBS) $(JSONC_LIBS) \
	$(CRYPTO_LIBS) $(XCRYPT_LIBS) $(PTHREAD_LIBS)
API_TEST_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) -I$(top_srcdir)/fcgi

check_PROGRAMS += tests/unit/test_router tests/unit/test_request
UNIT_TESTS += tests/unit/test_router tests/unit/test_request
TESTS += tests/unit/test_router tests/unit/test_request
tests_unit_test_router_SOURCES = tests/unit/test_router.c fcgi/memio.c fcgi/memio.h $(API_TRANSPORT)
tests_unit_test_router_CFLAGS = $(API_TEST_CFLAGS)
tests_unit_test_router_LDADD = $(API_TEST_LDADD)
tests_unit_test_request_SOURCES = tests/unit/test_request.c fcgi/memio.c fcgi/memio.h $(API_TRANSPORT)
tests_unit_test_request_CFLAGS = $(API_TEST_CFLAGS)
tests_unit_test_request_LDADD = $(API_TEST_LDADD)
