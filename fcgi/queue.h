/* queue: the matchmaking queue's page position and its cursor (contract §2.5, GET
 * /room/queue). A cursor is base64url (no padding) of "<score>:<userId>", the last
 * candidate of a page as ns:available orders it; the next page starts after it. The route
 * itself is api_queue.c; the codec is queue_cursor.c, which the fuzz target links alone. */
#ifndef API_QUEUE_H
#define API_QUEUE_H
#include "rand.h"

#define API_QUEUE_SCORE_MAX 32	/* a zset score as Redis prints it */
#define API_QUEUE_CURSOR_RAW_MAX (API_QUEUE_SCORE_MAX + 1 + NS_UUID_LEN)	/* "score:userId" */
#define API_QUEUE_CURSOR_MAX ((API_QUEUE_CURSOR_RAW_MAX * 4 + 2) / 3)	/* base64url of it */

struct api_queue_pos {
	char score[API_QUEUE_SCORE_MAX + 1];
	char user_id[NS_UUID_LEN + 1];
};

/* 1 when s is a score as Redis prints a double: [-]digits[.digits][e[+-]digits], finite. */
int api_queue_score_valid(const char *s);
/* The cursor after pos into out: 1, or 0 when pos has no score. */
int api_queue_cursor_encode(const struct api_queue_pos *pos,
    char out[API_QUEUE_CURSOR_MAX + 1]);
/* Strict: 1 only for what api_queue_cursor_encode can produce (pos filled), else 0. */
int api_queue_cursor_decode(const char *text, struct api_queue_pos *pos);

#endif
