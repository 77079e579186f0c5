/* loadgen_flow: one worker process: connects its users (bounded concurrency, retries with
 * backoff), then runs the mode: holds (connect), call flows (contract §3.6-3.8) or queue
 * churn, until the parent says stop, and sends its figures back. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "loadgen.h"

#define FLOW_EVENTS_MAX 512		/* epoll events handled per wake-up */
#define FLOW_TICK_US 50000		/* timers and pacing checked this often (churn: every loop) */
#define FLOW_REST_US 500000		/* after a flow, its users rest: their queue:join lands first */
#define FLOW_SCAN_MAX 4096		/* candidate pairs looked at per tick */
#define FLOW_CHAT_MAX 256		/* one room:chat payload */

enum flow_state { F_INVITE, F_ACCEPT, F_JOIN, F_OFFER, F_ANSWER, F_ICE, F_CHAT, F_END };
static const char *const flow_state_names[] = {
	"invite", "accept", "join", "offer", "answer", "ice", "chat", "end",
};

struct lg_flow {
	struct lg_conn *side[2];	/* 0 caller, 1 callee */
	int state;
	int active;
	int cross;			/* the two users are on different URLs */
	unsigned got;			/* bit per side: awaited event seen */
	unsigned ice_rx[2];		/* rtc:ice received by each side */
	uint64_t t_sent;		/* when the awaited step's message was sent */
	uint64_t t_ice[2];		/* when each side sent its candidates */
	uint64_t deadline;
	char room[LG_ID_MAX];
};

struct flowstate {
	struct lg_flow *flows;
	int active;
	uint32_t *step;			/* per user: partners called so far (next_pair) */
	uint32_t i;			/* the caller looked at next */
	uint64_t toggles_at;		/* churn: toggles due are counted from here */
	uint64_t interval_at;		/* churn: start of the current interval */
	uint64_t last_tick;
	char *offer, *answer;		/* JSON text of the SDP objects */
};

static struct flowstate fs;

static char *
fake_sdp(const char *type)
{
	size_t n = LG_SDP_LEN + 64, len;
	char *s = malloc(n);
	int k = 0;

	if (!s)
		return NULL;
	len = (size_t)snprintf(s, n, "{\"type\":\"%s\",\"sdp\":\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n",
	    type);
	/* plausible attribute lines up to the size of a real offer */
	while (len + 48 < LG_SDP_LEN)
		len += (size_t)snprintf(s + len, n - len, "a=candidate:%d 1 udp 2122 10.0.0.%d 5%04d typ host\\r\\n",
		    k, k % 250, k), k++;
	snprintf(s + len, n - len, "\"}");
	return s;
}

int
lg_flow_init(struct lg_worker *w)
{
	memset(&fs, 0, sizeof(fs));
	if (!(fs.step = calloc(w->nusers ? w->nusers : 1, sizeof(*fs.step))))
		return -1;
	if (w->flows_max > 0 && !(fs.flows = calloc((size_t)w->flows_max, sizeof(*fs.flows))))
		return -1;
	fs.offer = fake_sdp("offer");
	fs.answer = fake_sdp("answer");
	return fs.offer && fs.answer ? 0 : -1;
}

static int
emit_room(struct lg_worker *w, struct lg_conn *c, const char *event, const char *room,
    const char *field, const char *json)
{
	char buf[LG_SDP_LEN + 256];
	int n;

	if (field)
		n = snprintf(buf, sizeof(buf), "{\"roomId\":\"%s\",\"%s\":%s}", room, field, json);
	else
		n = snprintf(buf, sizeof(buf), "{\"roomId\":\"%s\"}", room);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return lg_ws_emit_raw(w, c, event, buf);
}

static void
flow_sample(struct lg_worker *w, struct lg_flow *f, enum lg_step step, uint64_t since)
{
	lg_hist_add(&w->st.step[step][f->cross], lg_now_us() - since);
}

static void
flow_state(struct lg_flow *f, int state, const struct lg_worker *w)
{
	f->state = state;
	f->got = 0;
	f->t_sent = lg_now_us();
	f->deadline = f->t_sent + (uint64_t)w->o->step_timeout_ms * 1000u;
}

/* Release both users. ok: they rest, then take part again; else they are retired (their
 * server-side state is unknown after a failure). */
static void
flow_finish(struct lg_worker *w, struct lg_flow *f, int ok)
{
	int k;

	for (k = 0; k < 2; k++) {
		struct lg_conn *c = f->side[k];

		c->flow = NULL;
		c->t_due_us = lg_now_us() + FLOW_REST_US;
		if (!ok)
			c->retired = 1;
	}
	f->active = 0;
	fs.active--;
}

static void
flow_fail(struct lg_worker *w, struct lg_flow *f, const char *what, const char *arg)
{
	lg_err(&w->st.errs, "%s: %s", what, arg);
	/* leave the room, so the server does not wait for the deadline */
	if (f->room[0] && f->side[0]->state == LG_C_READY)
		emit_room(w, f->side[0], "call:end", f->room, NULL, NULL);
	flow_finish(w, f, 0);
}

static int
idle(const struct lg_conn *c, uint64_t now)
{
	return c->state == LG_C_READY && !c->flow && !c->retired && c->queued &&
	    c->t_due_us <= now;
}

/* Next fresh pair, or 0 when none is free right now. Each unordered pair has exactly one
 * caller: user i calls i + d (mod N) for d = 1 .. (N - 1) / 2, and at d = N / 2 (N even)
 * only the first half calls. Every user walks its offsets once, starting at 1 or 2 by
 * parity, so that odd and even offsets (different and same URL, with two URLs) both come
 * early. A caller waits for its next partner rather than skip it: no pair is wasted. */
static int
next_pair(struct lg_worker *w, uint64_t now, uint32_t *a, uint32_t *b)
{
	uint32_t n = w->nusers, scanned, i, j, last, d;

	for (scanned = 0; scanned < n; scanned++) {
		i = fs.i;
		fs.i = (fs.i + 1) % n;
		last = n % 2 == 0 && i < n / 2 ? n / 2 : (n - 1) / 2;
		if (fs.step[i] >= last || !idle(&w->conns[i], now))
			continue;
		d = (i % 2 + fs.step[i]) % last + 1;
		j = (i + d) % n;
		if (!idle(&w->conns[j], now))
			continue;
		fs.step[i]++;
		*a = i;
		*b = j;
		return 1;
	}
	return 0;
}

static void
flow_start(struct lg_worker *w, uint64_t now)
{
	char body[LG_ID_MAX + 64];
	uint32_t a, b;
	int k;

	while (fs.active < w->flows_max && next_pair(w, now, &a, &b)) {
		struct lg_flow *f = NULL;

		for (k = 0; k < w->flows_max; k++)
			if (!fs.flows[k].active) {
				f = &fs.flows[k];
				break;
			}
		if (!f)
			return;
		memset(f, 0, sizeof(*f));
		f->active = 1;
		f->side[0] = &w->conns[a];
		f->side[1] = &w->conns[b];
		f->cross = w->conns[a].url != w->conns[b].url;
		w->conns[a].flow = w->conns[b].flow = f;
		fs.active++;
		w->st.flows_started++;
		snprintf(body, sizeof(body), "{\"toUserId\":\"%s\",\"requestedSeconds\":60}",
		    w->users[b].id);
		flow_state(f, F_INVITE, w);
		if (lg_ws_emit_raw(w, f->side[0], "call:invite", body) < 0 && f->active)
			flow_fail(w, f, "flow", "invite not sent");
	}
}

static const char *
str_field(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Both awaited events seen? Records side k's arrival. */
static int
both(struct lg_flow *f, int k)
{
	f->got |= 1u << k;
	return f->got == 3;
}

static void
send_ice(struct lg_worker *w, struct lg_flow *f, int k)
{
	char cand[128];
	int i;

	f->t_ice[k] = lg_now_us();
	for (i = 0; i < LG_ICE_PER_SIDE; i++) {
		snprintf(cand, sizeof(cand), "{\"candidate\":\"candidate:%d 1 udp 2122 10.0.0.%d 5%04d typ host\","
		    "\"sdpMid\":\"0\",\"sdpMLineIndex\":0}", i, k + 1, i);
		emit_room(w, f->side[k], "rtc:ice", f->room, "candidate", cand);
	}
}

static void
flow_event(struct lg_worker *w, struct lg_conn *c, const char *name, json_object *p)
{
	struct lg_flow *f = c->flow;
	int k = f->side[0] == c ? 0 : 1;
	const char *s;
	char body[LG_ID_MAX + 64];

	if (strcmp(name, "call:declined") == 0 && k == 0 && f->state <= F_ACCEPT) {
		s = str_field(p, "reason");
		lg_err(&w->st.errs, "declined: %s", s ? s : "?");
		flow_finish(w, f, 1);
		return;
	}
	if (strcmp(name, "call:rescinded") == 0 || strcmp(name, "peer:disconnected") == 0) {
		flow_fail(w, f, "flow", name);
		return;
	}
	switch (f->state) {
	case F_INVITE:
		if (k != 1 || strcmp(name, "call:notify") != 0)
			return;
		if (!(s = str_field(json_object_object_get(p, "fromUser"), "userId")) ||
		    strcmp(s, w->users[f->side[0]->user].id) != 0)
			return;	/* another caller's invite */
		flow_sample(w, f, LG_STEP_NOTIFY, f->t_sent);
		if (!(s = str_field(p, "inviteId"))) {
			flow_fail(w, f, "flow", "call:notify without inviteId");
			return;
		}
		snprintf(body, sizeof(body), "{\"inviteId\":\"%s\",\"requestedSeconds\":60}", s);
		flow_state(f, F_ACCEPT, w);
		lg_ws_emit_raw(w, c, "call:accept", body);
		return;
	case F_ACCEPT:
		if (strcmp(name, "call:start") != 0 || (f->got & (1u << k)))
			return;
		if (!(s = str_field(p, "roomId")) || strlen(s) >= LG_ID_MAX) {
			flow_fail(w, f, "flow", "call:start without roomId");
			return;
		}
		if (f->room[0] && strcmp(f->room, s) != 0) {
			flow_fail(w, f, "flow", "call:start with two rooms");
			return;
		}
		snprintf(f->room, sizeof(f->room), "%s", s);
		flow_sample(w, f, LG_STEP_START, f->t_sent);
		if (!both(f, k))
			return;
		/* joined once each side hears its own chat line: only joined sockets get it */
		flow_state(f, F_JOIN, w);
		for (k = 0; k < 2; k++) {
			emit_room(w, f->side[k], "room:join", f->room, NULL, NULL);
			emit_room(w, f->side[k], "room:chat", f->room, "text", "\"joined\"");
		}
		return;
	case F_JOIN:
		if (strcmp(name, "room:chat") != 0 || (f->got & (1u << k)) ||
		    !(s = str_field(p, "from")) || strcmp(s, w->users[c->user].id) != 0)
			return;
		flow_sample(w, f, LG_STEP_JOIN, f->t_sent);
		if (!both(f, k))
			return;
		flow_state(f, F_OFFER, w);
		emit_room(w, f->side[0], "rtc:offer", f->room, "offer", fs.offer);
		return;
	case F_OFFER:
		if (k != 1 || strcmp(name, "rtc:offer") != 0)
			return;
		flow_sample(w, f, LG_STEP_OFFER, f->t_sent);
		flow_state(f, F_ANSWER, w);
		emit_room(w, c, "rtc:answer", f->room, "answer", fs.answer);
		send_ice(w, f, 1);
		return;
	case F_ANSWER:
	case F_ICE:
		if (strcmp(name, "rtc:ice") == 0 && f->t_ice[1 - k]) {
			flow_sample(w, f, LG_STEP_ICE, f->t_ice[1 - k]);
			f->ice_rx[k]++;
		} else if (f->state == F_ANSWER && k == 0 && strcmp(name, "rtc:answer") == 0) {
			flow_sample(w, f, LG_STEP_ANSWER, f->t_sent);
			flow_state(f, F_ICE, w);
			send_ice(w, f, 0);
		} else {
			return;
		}
		if (f->state == F_ICE && f->ice_rx[0] >= LG_ICE_PER_SIDE &&
		    f->ice_rx[1] >= LG_ICE_PER_SIDE) {
			flow_state(f, F_CHAT, w);
			emit_room(w, f->side[0], "room:chat", f->room, "text", "\"hello there\"");
		}
		return;
	case F_CHAT:
		if (k != 0 || strcmp(name, "room:chat") != 0 || !(s = str_field(p, "from")) ||
		    strcmp(s, w->users[c->user].id) != 0)
			return;
		flow_sample(w, f, LG_STEP_CHAT, f->t_sent);
		flow_state(f, F_END, w);
		emit_room(w, c, "call:end", f->room, NULL, NULL);
		return;
	case F_END:
		if (strcmp(name, "session:finalized") != 0 || (f->got & (1u << k)))
			return;
		flow_sample(w, f, LG_STEP_END, f->t_sent);
		if (!both(f, k))
			return;
		for (k = 0; k < 2; k++)
			lg_ws_emit_raw(w, f->side[k], "queue:join", NULL);
		w->st.flows_done++;
		if (f->cross)
			w->st.flows_cross++;
		else
			w->st.flows_same++;
		flow_finish(w, f, 1);
		return;
	}
}

void
lg_flow_on_event(struct lg_worker *w, struct lg_conn *c, const char *name, json_object *payload)
{
	if (strcmp(name, "error") == 0) {
		const char *m = str_field(payload, "message");

		lg_err(&w->st.errs, "error event: %s", m ? m : "?");
		return;
	}
	if (c->flow)
		flow_event(w, c, name, payload);
}

void
lg_flow_on_ready(struct lg_worker *w, struct lg_conn *c)
{
	c->t_due_us = 0;
}

void
lg_flow_on_lost(struct lg_worker *w, struct lg_conn *c)
{
	if (c->flow)
		flow_fail(w, c->flow, "flow", "socket lost");
}

static void
churn(struct lg_worker *w, uint64_t now)
{
	uint64_t due = (uint64_t)(w->rate * (double)(now - fs.toggles_at) / 1e6);
	uint32_t tries;

	while (w->st.toggles < due) {
		struct lg_conn *c = NULL;

		for (tries = 0; tries < 64 && !c; tries++) {
			c = &w->conns[(uint32_t)rand() % w->nusers];
			if (c->state != LG_C_READY || c->flow)
				c = NULL;
		}
		if (!c)
			return;
		if (lg_ws_emit_raw(w, c, c->queued ? "queue:leave" : "queue:join", NULL) == 0)
			c->queued = !c->queued;
		w->st.toggles++;
	}
}

/* Close the per-client counting interval: keep the largest count any client saw. */
static void
interval_roll(struct lg_worker *w)
{
	uint32_t i;

	for (i = 0; i < w->nusers; i++) {
		if (w->conns[i].q_interval > w->st.q_max_interval)
			w->st.q_max_interval = w->conns[i].q_interval;
		w->conns[i].q_interval = 0;
	}
}

void
lg_flow_tick(struct lg_worker *w, uint64_t now)
{
	uint32_t i;
	int k;

	/* connection attempts: new ones within the concurrency bound, due retries, timeouts */
	while (w->phase < 2 && w->next_connect < w->nusers &&
	    w->inflight < (uint32_t)w->o->concurrency)
		lg_ws_start(w, &w->conns[w->next_connect++]);
	if (now - fs.last_tick >= FLOW_TICK_US) {
		fs.last_tick = now;
		for (i = 0; i < w->nusers; i++) {
			struct lg_conn *c = &w->conns[i];

			if (c->state == LG_C_IDLE && c->attempts > 0 && c->t_due_us <= now &&
			    w->inflight < (uint32_t)w->o->concurrency && w->phase < 2)
				lg_ws_start(w, c);
			else if (c->state >= LG_C_CONNECTING && c->state <= LG_C_OPENING &&
			    c->t_due_us <= now)
				lg_ws_fail(w, c, "handshake timeout");
		}
		for (k = 0; k < w->flows_max; k++) {
			struct lg_flow *f = &fs.flows[k];

			if (f->active && f->deadline <= now)
				flow_fail(w, f, "timeout", flow_state_names[f->state]);
		}
	}
	if (w->phase != 1)
		return;
	if (w->o->mode == LG_MODE_FLOWS)
		flow_start(w, now);
	if (w->o->mode == LG_MODE_CHURN) {
		churn(w, now);
		if (now - fs.interval_at >= (uint64_t)w->o->interval_ms * 1000u) {
			interval_roll(w);
			fs.interval_at = now;
		}
	}
}

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* The parent's commands on ctl_fd: 'G' run the mode, 'S' stop. */
static int
on_ctl(struct lg_worker *w, int ctl_fd)
{
	char cmd;
	ssize_t n = read(ctl_fd, &cmd, 1);
	uint32_t i;

	if (n == 0 || (n == 1 && cmd == 'S'))
		return 1;
	if (n == 1 && cmd == 'G' && w->phase == 0) {
		w->phase = 1;
		w->phase_start_us = fs.toggles_at = fs.interval_at = lg_now_us();
		/* updates caused by the connect phase are not churn */
		w->st.q_frames = w->st.q_bytes = w->st.p_frames = w->st.p_bytes = 0;
		for (i = 0; i < w->nusers; i++)
			w->conns[i].q_interval = 0;
	}
	return 0;
}

int
lg_worker_run(struct lg_worker *w, int ctl_fd, int res_fd)
{
	struct epoll_event evs[FLOW_EVENTS_MAX], ev;
	uint64_t deadline, now;
	uint32_t i;
	int n, k, reported = 0, stop = 0;
	char tag;

	raise_nofile();
	srand((unsigned)(lg_now_us() ^ (uint64_t)getpid()));
	if ((w->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 || lg_flow_init(w) < 0)
		return 1;
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, ctl_fd, &ev) < 0)
		return 1;
	for (i = 0; i < w->nusers; i++) {
		w->conns[i].fd = -1;
		w->conns[i].user = i;
		w->conns[i].url = (uint8_t)((w->base + i) % (uint32_t)w->o->nurls);
	}
	w->st.users = w->nusers;
	deadline = lg_now_us() + (uint64_t)w->o->connect_timeout_s * 1000000u;
	while (!stop) {
		now = lg_now_us();
		lg_flow_tick(w, now);
		if (!reported && (w->settled >= w->nusers || now >= deadline)) {
			uint64_t r[2] = { w->st.authed - w->st.dropped, w->st.failed };

			tag = 'R';
			if (write_all(res_fd, &tag, 1) < 0 || write_all(res_fd, r, sizeof(r)) < 0)
				return 1;
			reported = 1;
		}
		n = epoll_wait(w->epfd, evs, FLOW_EVENTS_MAX, w->phase == 1 ? 5 : 20);
		for (k = 0; k < n; k++) {
			if (!evs[k].data.ptr) {
				stop = on_ctl(w, ctl_fd);
				continue;
			}
			lg_ws_io(w, evs[k].data.ptr, evs[k].events);
		}
	}
	w->phase = 2;
	if (w->o->mode == LG_MODE_CHURN)
		interval_roll(w);
	w->st.phase_ms = w->phase_start_us ? (lg_now_us() - w->phase_start_us) / 1000 : 0;
	for (i = 0; i < w->nusers; i++)
		if (w->conns[i].state == LG_C_READY)
			w->st.held++;
	tag = 'F';
	if (write_all(res_fd, &tag, 1) < 0 || write_all(res_fd, &w->st, sizeof(w->st)) < 0)
		return 1;
	return 0;
}
