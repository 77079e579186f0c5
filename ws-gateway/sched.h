/* sched: the timed actions of §3.6-§3.9 — invite expiry, call deadline, disconnect grace —
 * kept in Redis sorted sets (ns:sched:*) scored by due time. Every gateway claims due
 * entries every sched_tick_ms in one script (ZREM decides the owner), so each runs exactly
 * once even when the gateway that scheduled it has died. */
#ifndef NS_SCHED_H
#define NS_SCHED_H

#define SCHED_CLAIM_MAX "100"	/* entries of each kind claimed per tick */

struct gw;

void sched_start(struct gw *g);
void sched_stop(struct gw *g);

#endif
