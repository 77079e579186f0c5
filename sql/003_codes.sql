-- 003: invite codes (paywall), intro codes and introduction notifications (§4.3, §4.5).

CREATE TABLE invite_codes (
	code            text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{16}$'),
	created_by      uuid REFERENCES users (user_id) ON DELETE SET NULL,
	created_by_name text NOT NULL DEFAULT '' CHECK (char_length(created_by_name) <= 200),
	created_at      timestamptz NOT NULL DEFAULT now(),
	type            text NOT NULL CHECK (type IN ('user', 'admin')),
	max_uses        integer NOT NULL,
	uses_remaining  integer NOT NULL,
	is_active       boolean NOT NULL DEFAULT true,
	-- admin codes are unlimited (-1); a user code can never be over-used
	CONSTRAINT invite_codes_uses CHECK (
	    (type = 'admin' AND max_uses = -1 AND uses_remaining = -1) OR
	    (type = 'user' AND max_uses >= 0 AND uses_remaining BETWEEN 0 AND max_uses))
);
CREATE INDEX invite_codes_created_by_idx ON invite_codes (created_by) WHERE created_by IS NOT NULL;
CREATE INDEX invite_codes_created_at_idx ON invite_codes (created_at DESC);

-- One row per (code, user): a user cannot redeem the same code twice.
CREATE TABLE invite_code_redemptions (
	code        text NOT NULL REFERENCES invite_codes (code) ON DELETE CASCADE,
	user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	redeemed_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (code, user_id)
);
CREATE INDEX invite_code_redemptions_user_idx ON invite_code_redemptions (user_id);

-- The user's own code must exist; deferred so the code and the user row may be written in
-- either order inside one transaction.
ALTER TABLE users ADD CONSTRAINT users_my_invite_code_fkey FOREIGN KEY (my_invite_code)
	REFERENCES invite_codes (code) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED;

-- Introduction links (the API calls them referral codes); no expiry.
CREATE TABLE intro_codes (
	code               text PRIMARY KEY CHECK (code ~ '^[A-Z0-9]{10}$'),
	target_user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	target_name        text NOT NULL,
	created_by_user_id uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	created_by_name    text NOT NULL,
	created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX intro_codes_target_idx ON intro_codes (target_user_id);
CREATE INDEX intro_codes_created_by_idx ON intro_codes (created_by_user_id);

ALTER TABLE users ADD CONSTRAINT users_introduced_via_code_fkey FOREIGN KEY (introduced_via_code)
	REFERENCES intro_codes (code) ON DELETE SET NULL;

-- "Someone signed up through your introduction" (§4.5).
CREATE TABLE referral_notifications (
	id                 uuid PRIMARY KEY,
	for_user_id        uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	referred_user_id   uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	referred_name      text NOT NULL,
	introduced_by      uuid REFERENCES users (user_id) ON DELETE SET NULL,
	introduced_by_name text,
	"timestamp"        timestamptz NOT NULL DEFAULT now(),
	read               boolean NOT NULL DEFAULT false
);
-- GET /referral/notifications, newest first; unread ones are replayed after socket auth.
CREATE INDEX referral_notifications_for_user_idx
	ON referral_notifications (for_user_id, "timestamp" DESC);
CREATE INDEX referral_notifications_unread_idx ON referral_notifications (for_user_id)
	WHERE NOT read;
CREATE INDEX referral_notifications_referred_idx ON referral_notifications (referred_user_id);
CREATE INDEX referral_notifications_introduced_by_idx ON referral_notifications (introduced_by)
	WHERE introduced_by IS NOT NULL;
