# tools/: napalmsky-admin, the operator command line (migrations, admin accounts).
bin_PROGRAMS += tools/napalmsky-admin
tools_napalmsky_admin_SOURCES = \
	tools/admin.h \
	tools/admin_main.c \
	tools/admin_db.c \
	tools/admin_migrate.c \
	tools/admin_accounts.c \
	tools/admin_roles.c
tools_napalmsky_admin_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS)
tools_napalmsky_admin_LDADD = shared/libshared.a $(PQ_LIBS) $(HIREDIS_LIBS) $(JSONC_LIBS) \
	$(XCRYPT_LIBS) $(CRYPTO_LIBS) $(PTHREAD_LIBS)

dist_man_MANS += man/napalmsky-admin.8

TESTS += tests/integration/admin_migrate.sh
EXTRA_DIST += tests/integration/admin_migrate.sh

# napalmsky-loadgen: the gateway capacity tool (epoll, its own WebSocket client; bench/gateway.sh).
bin_PROGRAMS += tools/napalmsky-loadgen
tools_napalmsky_loadgen_SOURCES = \
	tools/loadgen.h \
	tools/loadgen_main.c \
	tools/loadgen_ws.c \
	tools/loadgen_flow.c \
	tools/loadgen_stats.c
tools_napalmsky_loadgen_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(CURL_CFLAGS) $(CRYPTO_CFLAGS)
tools_napalmsky_loadgen_LDADD = $(JSONC_LIBS) $(CURL_LIBS) $(CRYPTO_LIBS)

dist_man_MANS += man/napalmsky-loadgen.1
