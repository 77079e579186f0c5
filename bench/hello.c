/* bench-hello: the smallest useful FastCGI worker, the ceiling the real worker is measured
 * against. Same library, same accept loop shape as napalmsky-api (one request at a time on
 * fd 0, as spawn-fcgi hands it over), and a small JSON body; no routing, no I/O behind it.
 *
 * As written in libfcgi's examples it closes each connection lingeringly (libfcgi's
 * default). With HELLO_PLAIN_CLOSE=1 in its environment it closes as napalmsky-api does, plainly
 * once stdin has ended, so the benchmark can show that ceiling too. */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

#define HELLO_BODY "{\"status\":\"ok\",\"name\":\"hello\"}"
#define HELLO_RESPONSE_MAX 256	/* headers + body, built once */

static void
on_term(int sig)
{
	(void)sig;
	FCGX_ShutdownPending();
}

int
main(void)
{
	FCGX_Request req;
	struct sigaction sa;
	char resp[HELLO_RESPONSE_MAX];
	const char *plain = getenv("HELLO_PLAIN_CLOSE");
	int len, plain_close = plain && strcmp(plain, "1") == 0;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term;	/* no SA_RESTART: accept() must return so the loop ends */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a client gone mid-write is FCGX's error, not a crash */

	/* Built once with the C library's printf: FCGX_FPrintF has its own, which lacks %zu. */
	len = snprintf(resp, sizeof resp,
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n" HELLO_BODY, strlen(HELLO_BODY));
	if (len < 0 || (size_t)len >= sizeof resp)
		return 1;
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0) {
		fputs("bench-hello: FastCGI initialisation failed\n", stderr);
		return 1;
	}
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutStr(resp, len, req.out);
		if (plain_close && FCGX_GetChar(req.in) == EOF && FCGX_GetError(req.in) == 0)
			req.detached = 1;
		FCGX_Finish_r(&req);
		req.detached = 0;
	}
	return 0;
}
