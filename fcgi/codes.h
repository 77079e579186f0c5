/* codes: invite codes of contract §4.3, shared by signup (api_auth.c) and the payment routes
 * (api_payment.c): redemption, minting, and the code's read-only facts. Every function runs
 * inside the caller's transaction and leaves COMMIT or ROLLBACK to it. */
#ifndef API_CODES_H
#define API_CODES_H
#include "db.h"
#include "err.h"
#include "valid.h"

#define API_CODES_USER_USES 4	/* an own code's uses (§4.1) */

/* Redeem code for user_id: one conditional UPDATE (a code cannot be over-used under
 * concurrency) plus the unique (code, user) row. NS_E_FORBIDDEN with *reason, the contract's
 * string in its order, when the code cannot be used; the caller then rolls back. */
enum ns_err api_codes_redeem(struct ns_db *db, const char *code, const char *user_id,
    const char **reason);

/* Mint a fresh user code (4 uses, created by user_id under name) and make it the user's own:
 * users.my_invite_code and invite_code_uses_remaining. */
enum ns_err api_codes_mint_user(struct ns_db *db, const char *user_id, const char *name,
    char code[NS_VALID_INVITE_CODE_LEN + 1]);

/* Mint an admin code (unlimited); created_by may be NULL (an admin token). */
enum ns_err api_codes_mint_admin(struct ns_db *db, const char *created_by,
    const char *created_by_name, char code[NS_VALID_INVITE_CODE_LEN + 1]);

#endif
