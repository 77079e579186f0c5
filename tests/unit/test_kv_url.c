/* test_kv_url: the Redis URL parser, good and bad inputs. */
#include "config.h"
#include "kv.h"
#include "tap.h"

static void
good(const char *url, const char *host, int port, const char *path, const char *pw, int db)
{
	struct ns_kv_addr a;
	enum ns_err e = ns_kv_parse_url(url, &a);

	tap_ok(e == NS_OK && strcmp(a.host, host) == 0 && a.port == port &&
	    strcmp(a.path, path) == 0 && strcmp(a.password, pw) == 0 && a.db == db,
	    "parses '%s'", url);
	if (e != NS_OK)
		printf("#   error %d\n", e);
	else
		printf("#   host '%s' port %d path '%s' password '%s' db %d\n", a.host, a.port,
		    a.path, a.password, a.db);
}

static void
bad(const char *url)
{
	struct ns_kv_addr a;

	tap_ok(ns_kv_parse_url(url, &a) != NS_OK, "rejects '%.40s'%s", url,
	    strlen(url) > 40 ? "..." : "");
}

int
main(void)
{
	char longhost[400];

	good("redis://127.0.0.1:6379/0", "127.0.0.1", 6379, "", "", 0);
	good("redis://localhost", "localhost", 6379, "", "", 0);
	good("redis://localhost/", "localhost", 6379, "", "", 0);
	good("redis://cache.internal:7000/3", "cache.internal", 7000, "", "", 3);
	good("redis://:s3cret@10.0.0.5:6380/2", "10.0.0.5", 6380, "", "s3cret", 2);
	good("redis://default:p%40ss@host", "host", 6379, "", "p@ss", 0);
	good("redis://:a:b@host", "host", 6379, "", "a:b", 0);
	good("redis://[::1]:6390/1", "::1", 6390, "", "", 1);
	good("redis://[::1]", "::1", 6379, "", "", 0);
	good("unix:/run/redis/redis.sock", "", 0, "/run/redis/redis.sock", "", 0);
	good("unix:/tmp/r.sock?db=4", "", 0, "/tmp/r.sock", "", 4);
	good("unix:///tmp/r.sock?password=pw&db=5", "", 0, "/tmp/r.sock", "pw", 5);
	good("redis+unix:///var/run/r.sock?db=1", "", 0, "/var/run/r.sock", "", 1);

	bad("");
	bad("http://localhost:6379");
	bad("redis://");
	bad("redis://:6379");
	bad("redis://host:0");
	bad("redis://host:65536");
	bad("redis://host:99999999999999999999");
	bad("redis://host:-1");
	bad("redis://host:12x");
	bad("redis://host:");
	bad("redis://host/abc");
	bad("redis://host/1/2");
	bad("redis://host/70000");
	bad("redis://ho st");
	bad("redis://host?x=1");
	bad("redis://user@host");
	bad("redis://:pw%zz@host");
	bad("redis://:pw%00@host");
	bad("redis://:pw%4@host");
	bad("redis://[::1");
	bad("redis://[]:1");
	bad("redis://[zz]");
	bad("unix:relative.sock");
	bad("unix:");
	bad("unix:/tmp/r.sock?db=");
	bad("unix:/tmp/r.sock?db=x");
	bad("unix:/tmp/r.sock?foo=1");
	bad("redis+unix://tmp/r.sock");
	memset(longhost, 'a', sizeof longhost);
	memcpy(longhost, "redis://", 8);
	longhost[sizeof longhost - 1] = '\0';
	bad(longhost);
	memcpy(longhost, "unix:/", 6);
	bad(longhost);
	tap_ok(ns_kv_parse_url(NULL, &(struct ns_kv_addr){ 0 }) != NS_OK, "rejects NULL");
	return tap_done();
}
