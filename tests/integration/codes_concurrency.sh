#!/usr/bin/env bash
# Invite-code redemption under contention (contract §4.3, §2.1 /auth/guest, §2.8 apply-code)
# through nginx with 4 workers, real PostgreSQL and Redis: 50 simultaneous redemptions of a
# 4-use user code succeed exactly 4 times, once through POST /auth/guest {inviteCode} and once
# through POST /payment/apply-code; the other 46 get 403 'This invite code has been fully used'
# and leave nothing behind.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
N=50		# simultaneous callers
USES=4		# uses of a user code (contract §4.3)
FULL='This invite code has been fully used'
command -v node >/dev/null 2>&1 || { echo "1..0 # SKIP node is needed to read JSON"; exit 0; }

export RL_AUTH_MAX=100000 RL_API_MAX=100000
t_start_stack 4

sql() { stack_psql -qtAc "$1"; }
guest() {	# NAME: sets G_ID and G_TOKEN
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"$1\",\"gender\":\"female\"}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
}
# user_code OWNER CODE: a fresh 4-use user code owned by OWNER (as minted after a payment).
user_code() {
	sql "INSERT INTO invite_codes (code, created_by, created_by_name, type, max_uses, uses_remaining)
	     VALUES ('$2', '$1', 'Owner', 'user', $USES, $USES);
	     UPDATE users SET my_invite_code = '$2', invite_code_uses_remaining = $USES, paid_status = 'paid'
	     WHERE user_id = '$1'" >/dev/null
}
# burst DIR: start the N requests prepared in DIR/req.K (one curl config
# each) at once; DIR/K.code holds the status, DIR/K.body the body.
burst() {
	local dir=$1 k pids=()
	for k in $(seq $N); do
		curl -sS -o "$dir/$k.body" -w '%{http_code}' --max-time 30 -K "$dir/req.$k" >"$dir/$k.code" 2>"$dir/$k.err" &
		pids+=($!)
	done
	wait "${pids[@]}"
}
# tally DIR: "COUNTxSTATUS,..." of the N answers, then "|" and how many were 403 with the
# used-up reason (one node run for all of them).
tally() {
	node -e '
		const fs = require("fs"), [dir, n, full] = process.argv.slice(1);
		const seen = {}; let fullN = 0;
		for (let k = 1; k <= +n; k++) {
			const code = fs.readFileSync(`${dir}/${k}.code`, "utf8").trim();
			seen[code] = (seen[code] || 0) + 1;
			let body = null;
			try { body = JSON.parse(fs.readFileSync(`${dir}/${k}.body`, "utf8")); } catch (e) {}
			if (code === "403" && body && body.error === full) fullN++;
		}
		console.log(Object.keys(seen).sort().map(c => `${seen[c]}x${c}`).join(",") + "|" + fullN);' "$1" "$N" "$FULL"
}

guest Owner1; O1=$G_ID O1_T=$G_TOKEN
guest Owner2; O2=$G_ID
C1=GUESTRACE0000001 C2=APPLYRACE0000002
user_code "$O1" "$C1"
user_code "$O2" "$C2"

# ---- POST /auth/guest with inviteCode ---------------------------------------------------------
D1=$T_TMP/guest; mkdir -p "$D1"
users0=$(sql 'SELECT count(*) FROM users')
for k in $(seq $N); do
	printf 'url = "%s/auth/guest"\nrequest = "POST"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"Racer%s\\",\\"gender\\":\\"male\\",\\"inviteCode\\":\\"%s\\"}"\n' \
		"$STACK_URL" "$k" "$(printf '%s' "$C1" | tr 'A-Z' 'a-z')" >"$D1/req.$k"
done
burst "$D1"
t_is "$(tally "$D1")" "${USES}x200,$((N - USES))x403|$((N - USES))" \
	"guest: $N simultaneous signups with a $USES-use code → $USES × 200, $((N - USES)) × 403 '$FULL'"
k=$(grep -l 403 "$D1"/*.code | head -1); k=${k%.code}
t_is "$(json_get "$k.body" requiresPayment)" true "guest: the 403 says requiresPayment"
t_is "$(sql "SELECT uses_remaining, max_uses, is_active FROM invite_codes WHERE code = '$C1'")" "0|$USES|t" \
	"guest: uses_remaining 0"
t_is "$(sql "SELECT count(*) FROM invite_code_redemptions WHERE code = '$C1'")" "$USES" "guest: $USES redemption rows"
t_is "$(sql 'SELECT count(*) FROM users')" "$((users0 + USES))" "guest: only the $USES winners were created"
t_is "$(sql "SELECT count(*) FROM users u JOIN invite_code_redemptions r ON r.user_id = u.user_id AND r.code = '$C1'
	WHERE u.paid_status = 'qr_grace_period' AND u.invite_code_used = '$C1'")" "$USES" \
	"guest: each winner is in its grace period with the code recorded"
winners=$(for k in $(seq $N); do [ "$(cat "$D1/$k.code")" = 200 ] && printf '%s\n' "$(sed -n 's/.*"userId":"\([^"]*\)".*/\1/p' "$D1/$k.body")"; done | sort | tr '\n' ' ')
t_is "$winners" "$(sql "SELECT user_id FROM invite_code_redemptions WHERE code = '$C1' ORDER BY 1" | tr '\n' ' ')" \
	"guest: the redemption rows are the 200s' users"
http GET "$STACK_URL/payment/status" -H "Authorization: Bearer $O1_T"
t_is "$HTTP_STATUS|$(json_get "$B" myCodeInfo.usesRemaining)|$(json_get "$B" myCodeInfo.totalUsed)" "200|0|$USES" \
	"guest: the owner's status shows the code used up"

# ---- POST /payment/apply-code ---------------------------------------------------------------------
D2=$T_TMP/apply; mkdir -p "$D2"
for k in $(seq $N); do
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"Applier$k\",\"gender\":\"female\"}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
	G_ID=$(sed -n 's/.*"userId":"\([^"]*\)".*/\1/p' "$B") G_TOKEN=$(sed -n 's/.*"sessionToken":"\([^"]*\)".*/\1/p' "$B")
	printf '%s\n' "$G_ID" >"$D2/user.$k"
	printf 'url = "%s/payment/apply-code"\nrequest = "POST"\nheader = "Content-Type: application/json"\nheader = "Authorization: Bearer %s"\ndata = "{\\"inviteCode\\":\\"%s\\"}"\n' \
		"$STACK_URL" "$G_TOKEN" "$C2" >"$D2/req.$k"
done
burst "$D2"
t_is "$(tally "$D2")" "${USES}x200,$((N - USES))x403|$((N - USES))" \
	"apply-code: $N simultaneous redemptions of a $USES-use code → $USES × 200, $((N - USES)) × 403 '$FULL'"
t_is "$(sql "SELECT uses_remaining FROM invite_codes WHERE code = '$C2'")" 0 "apply-code: uses_remaining 0"
t_is "$(sql "SELECT count(*) FROM invite_code_redemptions WHERE code = '$C2'")" "$USES" "apply-code: $USES redemption rows"
ok_users=$(for k in $(seq $N); do [ "$(cat "$D2/$k.code")" = 200 ] && cat "$D2/user.$k"; done | sort | tr '\n' ' ')
t_is "$ok_users" "$(sql "SELECT user_id FROM invite_code_redemptions WHERE code = '$C2' ORDER BY 1" | tr '\n' ' ')" \
	"apply-code: the redemption rows are the 200s' users"
t_is "$(sql "SELECT paid_status || ':' || count(*) FROM users WHERE name LIKE 'Applier%' GROUP BY paid_status ORDER BY 1" | tr '\n' ' ')" \
	"qr_grace_period:$USES unpaid:$((N - USES)) " "apply-code: $USES in their grace period, the losers still unpaid"
t_is "$(sql "SELECT count(*) FROM users WHERE name LIKE 'Applier%' AND paid_status = 'unpaid' AND invite_code_used IS NOT NULL")" 0 \
	"apply-code: no loser has the code recorded"
t_done
