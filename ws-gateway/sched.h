/* sched: the timed actions of §3.6-§3.9 — invite expiry, call deadline, disconnect grace —
 * kept in Redis sorted sets (ns:sched:*) scored by due time. Every gateway claims due
 * entries every sched_tick_ms in one script (ZREM decides the owner), so each runs exactly
 * once even when the gateway that scheduled it has died.
 *
 * Dead gateways (§3.9): every gateway_check_ms each gateway looks for gateways listed in
 * ns:gateways whose heartbeat (bus.c) has expired and treats their registered sockets
 * (ns:gwsocks:<id>) as transport losses, so the grace above cleans their users up. The
 * same sweep registers our sockets again when Redis holds fewer of them than we have, and
 * removes those of sockets already closed when it holds more. */
#ifndef NS_SCHED_H
#define NS_SCHED_H

#define SCHED_CLAIM_MAX "100"	/* entries of each kind claimed per tick */
#define SCHED_REAP_MAX "500"	/* sockets of dead gateways handled per sweep */
#define SCHED_FIRST_CHECK_MS 200	/* first dead-gateway sweep after start */

struct gw;

void sched_start(struct gw *g);
void sched_stop(struct gw *g);

#endif
