/* qfeed: coalesced, scoped presence and queue updates (see qfeed.h).
 *
 * Per kind (queue, presence) a change is one struct change per userId, found by hash:
 * pending (seq 0, in arrival order) until the next flush, then published into a ring of
 * QFEED_LOG_MAX slots indexed by sequence number. A newer change for the same user
 * empties the old slot (a tombstone), so every user's latest state is in the log once.
 * Local users hold a cursor per kind (the last seq handled); a slot leaves the ring once
 * every local user's cursor passed it, or as the oldest when the ring is full (counted). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "rand.h"
#include "bus.h"
#include "conn.h"
#include "gw.h"
#include "qfeed.h"
#include "sio.h"

#define QFEED_ID_LEN 16		/* binary UUID */
/* Each interval is cut into this many ticks, and each tick sends to the users of one slice
 * of the user index, so every user still gets at most one frame per kind per interval. One
 * flush to every socket at once made all of them writeable in the same loop turn: every
 * second the loop stalled for the length of thousands of sends (30-80 ms with 2,000 sockets
 * a gateway), and that stall was the tail of every other event's latency. 16 slices still
 * left bursts of about 125 sends a tick with 2,000 users watching the first page, and
 * relays that landed behind one made the light-load p99 (3-3.5 ms against 1.3 with 400
 * users); 64 keep a burst near 30. The next tick is scheduled when a flush is done, so a
 * user's visits are at least an interval apart. */
#define QFEED_SLICES 64
/* The first page is read, and pending changes published, on every QFEED_READ_EVERY-th
 * tick only: 16 reads an interval, as many as before the slices were cut finer. */
#define QFEED_READ_EVERY 4
#define QFEED_READS (QFEED_SLICES / QFEED_READ_EVERY)
#define QFEED_PAGES (QFEED_READS + 1)

enum { QF_QUEUE, QF_PRESENCE, QF_KINDS };
static const char *const kind_event[QF_KINDS] = { "queue:update", "presence:update" };

struct change {
	struct change *hnext;		/* hash chain */
	struct change *pnext;		/* pending list, while seq == 0 */
	uint64_t seq;			/* 0 while pending */
	unsigned char id[QFEED_ID_LEN];
	uint8_t first_page;		/* on the first page (current or previous) when published */
	uint8_t len;			/* of frame */
	char frame[QFEED_FRAME_MAX];
};

struct qlog {
	struct change *bucket[QFEED_CHANGE_BUCKETS];
	struct change *phead, **ptail;	/* pending, oldest first */
	unsigned npending;
	struct change *slot[QFEED_LOG_MAX];	/* seq s is at (head + s - base) % QFEED_LOG_MAX */
	uint64_t base;			/* seq of the oldest slot; the next one is base + count */
	unsigned head, count;
};

struct qfeed_user {
	struct qfeed_user *hnext;
	struct conn *socks;		/* this user's local sockets, through conn->qf_next */
	unsigned char *view;		/* nview sorted ids of its last queue page, or NULL */
	uint32_t nview;
	uint64_t cursor[QF_KINDS];	/* last seq handled */
	unsigned char id[QFEED_ID_LEN];
};

struct qfeed {
	struct gw *g;
	lws_sorted_usec_list_t sul;	/* the flush timer */
	int busy;			/* the first-page read is in flight */
	unsigned slice;			/* the slice of users the next flush sends to */
	unsigned ticks;			/* since the feed was made: every QFEED_READ_EVERY-th reads */
	/* The lowest cursor of each slice's users when it was last sent to. A tick visits its
	 * slice only, and a cursor moves only then, so the lowest of these is every local
	 * user's lowest cursor. 0 until a slice is visited: nothing is dropped before that. */
	uint64_t slice_min[QF_KINDS][QFEED_SLICES];
	unsigned cut[QF_KINDS];		/* pending changes older than that read: the ones to flush */
	unsigned nsocks;		/* bound sockets (the broadcast audience) */
	struct qfeed_user *users[QFEED_USER_BUCKETS];
	struct qlog log[QF_KINDS];
	/* The first page of ns:available (sorted ids) as read by the last QFEED_PAGES reads,
	 * newest first. A change counts as on the first page if any of them had it: a page read
	 * in the same tick can have been executed after the change, and one from a tick before
	 * too when the change's message came late, so a window of a whole interval is kept. */
	unsigned char *page[QFEED_PAGES];
	uint32_t npage[QFEED_PAGES];
};

static void tick(lws_sorted_usec_list_t *sul);
static void schedule(struct qfeed *qf);

/* ---- ids ---- */

static int
hexval(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* A UUID in any case to 16 bytes (and its lowercase text, if text is given). */
static int
id_parse(const char *s, unsigned char id[QFEED_ID_LEN], char text[NS_UUID_LEN + 1])
{
	char canon[NS_UUID_LEN + 1];
	const char *p;
	int i;

	if (!s || !ns_rand_uuid_parse(s, canon))
		return 0;
	for (i = 0, p = canon; i < QFEED_ID_LEN; i++) {
		if (*p == '-')
			p++;
		id[i] = (unsigned char)(hexval(p[0]) << 4 | hexval(p[1]));
		p += 2;
	}
	if (text)
		memcpy(text, canon, sizeof(canon));
	return 1;
}

static unsigned
id_hash(const unsigned char *id)
{
	uint32_t h = 2166136261u;	/* FNV-1a */
	int i;

	for (i = 0; i < QFEED_ID_LEN; i++)
		h = (h ^ id[i]) * 16777619u;
	return h;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, QFEED_ID_LEN);
}

static int
id_in(const unsigned char *list, uint32_t n, const unsigned char *id)
{
	return list && bsearch(id, list, n, QFEED_ID_LEN, id_cmp) != NULL;
}

/* n parsed ids into a sorted array (taking out); NULL when none. */
static unsigned char *
ids_sorted(unsigned char *out, uint32_t n)
{
	if (n == 0) {
		free(out);
		return NULL;
	}
	qsort(out, n, QFEED_ID_LEN, id_cmp);
	return out;
}

/* The first QFEED_VIEW_MAX UUID strings of a JSON array, sorted; NULL when none. */
static unsigned char *
ids_from_json(json_object *arr, uint32_t *n)
{
	size_t i, len = json_object_array_length(arr);
	unsigned char *out;

	*n = 0;
	if (len > QFEED_VIEW_MAX)
		len = QFEED_VIEW_MAX;
	if (len == 0 || !(out = malloc(len * QFEED_ID_LEN)))
		return NULL;
	for (i = 0; i < len; i++) {
		json_object *s = json_object_array_get_idx(arr, i);

		if (json_object_is_type(s, json_type_string) &&
		    id_parse(json_object_get_string(s), out + *n * QFEED_ID_LEN, NULL))
			(*n)++;
	}
	return ids_sorted(out, *n);
}

/* The same for a Redis array reply. */
static unsigned char *
ids_from_reply(const redisReply *r, uint32_t *n)
{
	size_t i, len = r->elements;
	unsigned char *out;

	*n = 0;
	if (len > QFEED_VIEW_MAX)
		len = QFEED_VIEW_MAX;
	if (len == 0 || !(out = malloc(len * QFEED_ID_LEN)))
		return NULL;
	for (i = 0; i < len; i++)
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    id_parse(r->element[i]->str, out + *n * QFEED_ID_LEN, NULL))
			(*n)++;
	return ids_sorted(out, *n);
}

/* ---- state ---- */

static struct qfeed *
feed(struct gw *g)
{
	struct qfeed *qf = g->qfeed;
	int k;

	if (qf || g->cfg->queue_update_interval_ms == 0 || g->draining)
		return qf;
	if (!(qf = calloc(1, sizeof(*qf)))) {
		ns_log_err("gateway: queue feed: out of memory");
		return NULL;
	}
	qf->g = g;
	for (k = 0; k < QF_KINDS; k++) {
		qf->log[k].base = 1;	/* seq 0 marks a pending change */
		qf->log[k].ptail = &qf->log[k].phead;
	}
	g->qfeed = qf;
	schedule(qf);
	return qf;
}

static struct qfeed_user *
user_find(struct qfeed *qf, const unsigned char *id)
{
	struct qfeed_user *u = qf->users[id_hash(id) & (QFEED_USER_BUCKETS - 1)];

	while (u && memcmp(u->id, id, QFEED_ID_LEN) != 0)
		u = u->hnext;
	return u;
}

static void
user_free(struct qfeed *qf, struct qfeed_user *u)
{
	struct qfeed_user **pp = &qf->users[id_hash(u->id) & (QFEED_USER_BUCKETS - 1)];

	while (*pp != u)
		pp = &(*pp)->hnext;
	*pp = u->hnext;
	free(u->view);
	free(u);
}

static struct change **
change_slot(struct qlog *l, const unsigned char *id)
{
	struct change **pp = &l->bucket[id_hash(id) & (QFEED_CHANGE_BUCKETS - 1)];

	while (*pp && memcmp((*pp)->id, id, QFEED_ID_LEN) != 0)
		pp = &(*pp)->hnext;
	return pp;
}

static void
change_free(struct qlog *l, struct change *e)
{
	struct change **pp = change_slot(l, e->id);

	if (*pp == e)
		*pp = e->hnext;
	free(e);
}

static struct change **
ring_at(struct qlog *l, uint64_t seq)
{
	return &l->slot[(l->head + (seq - l->base)) % QFEED_LOG_MAX];
}

/* Remove the oldest slot (freeing its change). */
static void
ring_pop(struct qlog *l)
{
	struct change *e = l->slot[l->head];

	if (e)
		change_free(l, e);
	l->slot[l->head] = NULL;
	l->head = (l->head + 1) % QFEED_LOG_MAX;
	l->base++;
	l->count--;
}

/* ---- recording ---- */

/* The latest state of one user, waiting for the next flush. */
static void
record(struct gw *g, int kind, const unsigned char *id, const char *frame, size_t len)
{
	struct qfeed *qf = g->qfeed;	/* made by the first bound socket */
	struct qlog *l;
	struct change **pp, *e;

	if (!qf)
		return;
	l = &qf->log[kind];
	pp = change_slot(l, id);
	e = *pp;
	if ((!e || e->seq) && l->npending >= QFEED_PENDING_MAX) {
		g->qfeed_dropped++;
		return;
	}
	if (!e) {
		if (!(e = calloc(1, sizeof(*e)))) {
			g->qfeed_dropped++;
			return;
		}
		memcpy(e->id, id, QFEED_ID_LEN);
		*pp = e;
	} else if (e->seq) {
		*ring_at(l, e->seq) = NULL;	/* superseded: a tombstone in the log */
		e->seq = 0;
	} else
		goto set;	/* already pending: last state wins */
	e->pnext = NULL;
	*l->ptail = e;
	l->ptail = &e->pnext;
	l->npending++;
set:
	memcpy(e->frame, frame, len);
	e->len = (uint8_t)len;
}

/* The old behaviour: every authenticated socket, at once. */
static void
send_all(struct gw *g, const char *event, json_object *data)
{
	struct lws_dll2 *d;
	size_t len;
	char *pkt = sio_encode_event(event, data, &len);

	if (!pkt)
		return;
	for (d = lws_dll2_get_head(&g->conns); d; d = d->next) {
		struct conn *c = lws_container_of(d, struct conn, list);

		if (c->authed && c->connected && conn_send(g, c, pkt, len) == 0) {
			g->qfeed_frames++;
			g->qfeed_bytes += len;
			g->qfeed_bcast_bytes += len;
		}
	}
	free(pkt);
}

static const char *
tf(int v)
{
	return v ? "true" : "false";
}

void
qfeed_update(struct gw *g, const char *event, json_object *data)
{
	unsigned char id[QFEED_ID_LEN];
	char text[NS_UUID_LEN + 1], frame[QFEED_FRAME_MAX];
	int kind, online = 0, available = 0, n;

	if (g->cfg->queue_update_interval_ms == 0) {
		send_all(g, event, data);
		return;
	}
	kind = strcmp(event, kind_event[QF_QUEUE]) == 0 ? QF_QUEUE :
	    strcmp(event, kind_event[QF_PRESENCE]) == 0 ? QF_PRESENCE : -1;
	if (kind < 0 || !id_parse(ns_json_get_str(data, "userId"), id, text) ||
	    !ns_json_get_bool(data, "available", &available) ||
	    (kind == QF_PRESENCE && !ns_json_get_bool(data, "online", &online)))
		return;
	if (kind == QF_QUEUE)
		n = snprintf(frame, sizeof(frame), "42[\"%s\",{\"userId\":\"%s\",\"available\":%s}]",
		    kind_event[kind], text, tf(available));
	else
		n = snprintf(frame, sizeof(frame),
		    "42[\"%s\",{\"userId\":\"%s\",\"online\":%s,\"available\":%s}]",
		    kind_event[kind], text, tf(online), tf(available));
	if (n > 0 && (size_t)n < sizeof(frame))
		record(g, kind, id, frame, (size_t)n);
}

/* ---- flushing ---- */

static int
on_first_page(const struct qfeed *qf, const unsigned char *id)
{
	int i;

	for (i = 0; i < QFEED_PAGES; i++)
		if (id_in(qf->page[i], qf->npage[i], id))
			return 1;
	return 0;
}

/* The first n pending changes get their seqs, in arrival order; later ones stay pending. */
static void
publish(struct qfeed *qf, struct qlog *l, unsigned n)
{
	struct gw *g = qf->g;
	struct change *e;

	for (; n > 0 && (e = l->phead); n--) {
		if (!(l->phead = e->pnext))
			l->ptail = &l->phead;
		e->pnext = NULL;
		l->npending--;
		if (l->count == QFEED_LOG_MAX) {
			if (l->slot[l->head])
				g->qfeed_dropped++;	/* a carried change someone had not got yet */
			ring_pop(l);
		}
		e->seq = l->base + l->count;
		*ring_at(l, e->seq) = e;
		l->count++;
		e->first_page = on_first_page(qf, e->id);
		g->qfeed_bcast_bytes += (uint64_t)e->len * qf->nsocks;
	}
}

static int
visible(const struct qfeed_user *u, const struct change *e)
{
	if (memcmp(e->id, u->id, QFEED_ID_LEN) == 0)
		return 0;	/* one's own changes */
	return u->view ? id_in(u->view, u->nview, e->id) : e->first_page;
}

static int
sock_active(const struct conn *c)
{
	return c->qf_active && c->connected && !c->close_code && !c->flush_close;
}

/* At most one frame per kind to each active socket of u: the oldest visible change past
 * its cursor. Returns the cursor. */
static uint64_t
deliver(struct qfeed *qf, struct qfeed_user *u, int kind, int active)
{
	struct gw *g = qf->g;
	struct qlog *l = &qf->log[kind];
	uint64_t last = l->base + l->count - 1, s;
	struct change *e = NULL;
	struct conn *c;

	s = u->cursor[kind] + 1 > l->base ? u->cursor[kind] + 1 : l->base;
	if (active)
		for (; s <= last && !((e = *ring_at(l, s)) && visible(u, e)); s++)
			;
	if (!active || s > last)
		return u->cursor[kind] = last;
	for (c = u->socks; c; c = c->qf_next)
		if (sock_active(c) && conn_send(g, c, e->frame, e->len) == 0) {
			g->qfeed_frames++;
			g->qfeed_bytes += e->len;
		}
	return u->cursor[kind] = s;
}

/* Publish what arrived before the page read, send to this tick's slice of users, and drop
 * the changes every user's cursor has passed. */
static void
flush(struct qfeed *qf)
{
	uint64_t min[QF_KINDS] = { UINT64_MAX, UINT64_MAX }, cur;
	unsigned b, s = qf->slice, from = s * (QFEED_USER_BUCKETS / QFEED_SLICES),
	    to = from + QFEED_USER_BUCKETS / QFEED_SLICES;
	struct qfeed_user *u;
	struct conn *c;
	int k, active;

	for (k = 0; k < QF_KINDS; k++)
		publish(qf, &qf->log[k], qf->cut[k]);
	qf->slice = (qf->slice + 1) % QFEED_SLICES;
	for (b = from; b < to; b++)
		for (u = qf->users[b]; u; u = u->hnext) {
			for (active = 0, c = u->socks; c && !active; c = c->qf_next)
				active = sock_active(c);
			for (k = 0; k < QF_KINDS; k++) {
				cur = deliver(qf, u, k, active);
				if (cur < min[k])
					min[k] = cur;
			}
		}
	for (k = 0; k < QF_KINDS; k++) {
		struct qlog *l = &qf->log[k];
		unsigned i;

		qf->slice_min[k][s] = min[k];
		for (i = 0; i < QFEED_SLICES; i++)
			if (qf->slice_min[k][i] < min[k])
				min[k] = qf->slice_min[k][i];
		while (l->count > 0 && (!l->slot[l->head] || l->base <= min[k]))
			ring_pop(l);
	}
}

static void
schedule(struct qfeed *qf)
{
	lws_sul_schedule(qf->g->ctx, 0, &qf->sul, tick,
	    (lws_usec_t)qf->g->cfg->queue_update_interval_ms * LWS_US_PER_MS / QFEED_SLICES);
}

/* The first page as it is now; the pages of the last interval stay (struct qfeed), so a user
 * who just left the first page is still reported to the users who saw it there. */
static void
on_page(struct gw *g, redisReply *reply, void *arg)
{
	struct qfeed *qf = g->qfeed;

	/* The feed may have been freed meanwhile (its last socket left), even made again:
	 * only the read it is waiting for counts (the address is compared, never followed). */
	if (!qf || arg != qf || !qf->busy)
		return;
	qf->busy = 0;
	if (reply && reply->type == REDIS_REPLY_ARRAY) {
		free(qf->page[QFEED_PAGES - 1]);
		memmove(&qf->page[1], &qf->page[0], sizeof(qf->page[0]) * (QFEED_PAGES - 1));
		memmove(&qf->npage[1], &qf->npage[0], sizeof(qf->npage[0]) * (QFEED_PAGES - 1));
		qf->page[0] = ids_from_reply(reply, &qf->npage[0]);
	}
	flush(qf);
	schedule(qf);
}

/* Every QFEED_READ_EVERY-th tick: read the first page (for users without a view; one extra
 * member, since a user's own place is not on its page), then flush the changes that arrived
 * before the read was sent, so the page is at least as new as each of them. Later ones
 * wait. The other ticks only send to their slice what is already published. */
static void
tick(lws_sorted_usec_list_t *sul)
{
	struct qfeed *qf = lws_container_of(sul, struct qfeed, sul);
	struct gw *g = qf->g;
	int k, read = qf->ticks++ % QFEED_READ_EVERY == 0;

	if (qf->busy)
		return;	/* on_page reschedules */
	for (k = 0; k < QF_KINDS; k++)
		qf->cut[k] = read ? qf->log[k].npending : 0;
	if (read && qf->nsocks > 0 && g->bus &&
	    bus_cmd(g->bus, on_page, qf, "ZRANGE %s 0 %d", NS_KEY_AVAILABLE,
	    g->cfg->queue_page_default) == 0) {
		qf->busy = 1;
		return;
	}
	flush(qf);
	schedule(qf);
}

/* ---- local users and their views ---- */

static void
on_view(struct gw *g, redisReply *reply, void *arg)
{
	struct qfeed_user *u = g->qfeed ? user_find(g->qfeed, arg) : NULL;
	json_object *arr;

	free(arg);
	if (!u || !reply)
		return;
	if (reply->type == REDIS_REPLY_NIL) {
		free(u->view);
		u->view = NULL;
		u->nview = 0;
		return;
	}
	if (reply->type != REDIS_REPLY_STRING || reply->len > QFEED_VIEW_TEXT_MAX)
		return;
	arr = json_tokener_parse(reply->str);
	if (arr && json_object_is_type(arr, json_type_array)) {
		free(u->view);
		/* An empty page is no view: its user sees the first page again. */
		u->view = ids_from_json(arr, &u->nview);
	}
	json_object_put(arr);
}

static void
view_load(struct gw *g, const char *text, const unsigned char *id)
{
	char key[NS_KEY_MAX];
	unsigned char *arg;

	if (!g->bus || !ns_keys_queue_view(key, text) || !(arg = malloc(QFEED_ID_LEN)))
		return;
	memcpy(arg, id, QFEED_ID_LEN);
	if (bus_cmd(g->bus, on_view, arg, "GET %s", key) < 0)
		free(arg);
}

void
qfeed_view_changed(struct gw *g, const char *user_id)
{
	unsigned char id[QFEED_ID_LEN];
	char text[NS_UUID_LEN + 1];

	if (g->qfeed && id_parse(user_id, id, text) && user_find(g->qfeed, id))
		view_load(g, text, id);
}

void
qfeed_bind(struct gw *g, struct conn *c)
{
	unsigned char id[QFEED_ID_LEN];
	char text[NS_UUID_LEN + 1];
	struct qfeed *qf;
	struct qfeed_user *u;
	int k;

	if (!id_parse(c->user_id, id, text))
		return;
	if (c->qf_user) {
		if (memcmp(c->qf_user->id, id, QFEED_ID_LEN) == 0)
			return;	/* registered again */
		qfeed_unbind(g, c);
	}
	if (!(qf = feed(g)))
		return;
	if (!(u = user_find(qf, id))) {
		unsigned b = id_hash(id) & (QFEED_USER_BUCKETS - 1);

		if (!(u = calloc(1, sizeof(*u))))
			return;
		memcpy(u->id, id, QFEED_ID_LEN);
		for (k = 0; k < QF_KINDS; k++)	/* nothing from before it came */
			u->cursor[k] = qf->log[k].base + qf->log[k].count - 1;
		u->hnext = qf->users[b];
		qf->users[b] = u;
		view_load(g, text, id);
	}
	c->qf_next = u->socks;
	u->socks = c;
	c->qf_user = u;
	qf->nsocks++;
}

void
qfeed_unbind(struct gw *g, struct conn *c)
{
	struct qfeed_user *u = c->qf_user;
	struct conn **pp;

	if (!u || !g->qfeed)
		return;
	for (pp = &u->socks; *pp && *pp != c; pp = &(*pp)->qf_next)
		;
	if (*pp)
		*pp = c->qf_next;
	c->qf_next = NULL;
	c->qf_user = NULL;
	g->qfeed->nsocks--;
	if (!u->socks)
		user_free(g->qfeed, u);
	if (g->qfeed->nsocks == 0)
		qfeed_free(g);	/* nobody left to feed: an idle gateway holds nothing */
}

void
qfeed_active(struct conn *c, int on)
{
	c->qf_active = on ? 1 : 0;
}

void
qfeed_stats(const struct gw *g, struct qfeed_stats *out)
{
	out->frames = g->qfeed_frames;
	out->bytes = g->qfeed_bytes;
	out->bcast_bytes = g->qfeed_bcast_bytes;
	out->dropped = g->qfeed_dropped;
}

void
qfeed_free(struct gw *g)
{
	struct qfeed *qf = g->qfeed;
	struct lws_dll2 *d;
	struct change *e, *next;
	struct qfeed_user *u, *unext;
	unsigned b;
	int k;

	if (!qf)
		return;
	lws_sul_cancel(&qf->sul);
	for (d = lws_dll2_get_head(&g->conns); d; d = d->next) {
		struct conn *c = lws_container_of(d, struct conn, list);

		c->qf_user = NULL;
		c->qf_next = NULL;
	}
	for (b = 0; b < QFEED_USER_BUCKETS; b++)
		for (u = qf->users[b]; u; u = unext) {
			unext = u->hnext;
			free(u->view);
			free(u);
		}
	for (k = 0; k < QF_KINDS; k++)
		for (b = 0; b < QFEED_CHANGE_BUCKETS; b++)
			for (e = qf->log[k].bucket[b]; e; e = next) {
				next = e->hnext;
				free(e);
			}
	for (k = 0; k < QFEED_PAGES; k++)
		free(qf->page[k]);
	free(qf);
	g->qfeed = NULL;
}
