/* pmd: see pmd.h. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "pmd.h"

#define PMD_RX_WINDOW_BITS "15"	/* the most a client may use: never smaller */
#define PMD_TX_WINDOW_BITS "9"	/* our deflate window: 512 bytes */
#define PMD_TX_MEM_LEVEL "1"	/* zlib's smallest hash tables */

static void
pmd_set(struct lws_context *ctx, const struct lws_extension *ext, struct lws *wsi,
    void *user, const char *name, const char *value)
{
	struct lws_ext_option_arg oa = { .option_name = name, .start = value,
	    .len = value ? (int)strlen(value) : 0 };

	lws_extension_callback_pm_deflate(ctx, ext, wsi, LWS_EXT_CB_NAMED_OPTION_SET, user,
	    &oa, 0);
}

static int
pmd_callback(struct lws_context *ctx, const struct lws_extension *ext, struct lws *wsi,
    enum lws_extension_callback_reasons reason, void *user, void *in, size_t len)
{
	switch (reason) {
	case LWS_EXT_CB_PAYLOAD_RX:
		/* Only takes effect when the inflater is created, on the first message. */
		pmd_set(ctx, ext, wsi, user, "server_max_window_bits", PMD_RX_WINDOW_BITS);
		break;
	case LWS_EXT_CB_PAYLOAD_TX:
		pmd_set(ctx, ext, wsi, user, "server_max_window_bits", PMD_TX_WINDOW_BITS);
		pmd_set(ctx, ext, wsi, user, "mem_level", PMD_TX_MEM_LEVEL);
		/* lws frees its deflater after each message when this is set. The answer to
		 * the client is already sent, so only that effect remains. */
		pmd_set(ctx, ext, wsi, user, "client_no_context_takeover", NULL);
		break;
	default:
		break;
	}
	return lws_extension_callback_pm_deflate(ctx, ext, wsi, reason, user, in, len);
}

const struct lws_extension pmd_extensions[] = {
	{ "permessage-deflate", pmd_callback,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};
