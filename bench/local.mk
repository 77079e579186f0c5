# bench/: the benchmark harness (bench/run). bench-hello is the ceiling: a minimal libfcgi
# worker behind the same nginx as napalmsky-api. Built by "make", never installed.
noinst_PROGRAMS += bench/bench-hello
bench_bench_hello_SOURCES = bench/hello.c
bench_bench_hello_CFLAGS = $(AM_CFLAGS) $(FCGI_CFLAGS)
bench_bench_hello_LDADD = $(FCGI_LIBS)

EXTRA_DIST += bench/run bench/gateway.sh bench/seed.sh bench/wrk.lua bench/gwmem.js
