# shared/: the library both daemons and the tools link.
noinst_LIBRARIES += shared/libshared.a
shared_libshared_a_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS) $(HIREDIS_CFLAGS) $(JSONC_CFLAGS) $(XCRYPT_CFLAGS)
shared_libshared_a_SOURCES = \
	shared/err.c shared/err.h \
	shared/clock.c shared/clock.h \
	shared/rand.c shared/rand.h \
	shared/log.c shared/log.h \
	shared/config.c shared/config.h \
	shared/json.c shared/json.h \
	shared/db.c shared/db.h \
	shared/kv.c shared/kv.h \
	shared/passwd.c shared/passwd.h
