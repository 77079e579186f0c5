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
