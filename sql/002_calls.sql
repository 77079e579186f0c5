-- 002: what a call leaves behind (contract §3.8, §4.2, §4.3, §4.6).

-- One row per participant of a saved call (d >= 5 s).
CREATE TABLE chat_history (
	id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	session_id   text NOT NULL CHECK (session_id ~ '^session-[0-9]+(-disconnected)?$'),
	user_id      uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	partner_id   uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	partner_name text NOT NULL,
	room_id      uuid NOT NULL,
	started_at   timestamptz NOT NULL,
	duration     integer NOT NULL CHECK (duration >= 0),
	messages     jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(messages) = 'array'),
	created_at   timestamptz NOT NULL DEFAULT now(),
	UNIQUE (room_id, user_id),
	CHECK (partner_id <> user_id)
);
-- GET /room/history: the user's rows, newest first.
CREATE INDEX chat_history_user_created_idx ON chat_history (user_id, created_at DESC);
CREATE INDEX chat_history_partner_idx ON chat_history (partner_id);

-- Calls of >= 30 s, counted toward the QR unlock; once per user and room.
CREATE TABLE session_completions (
	id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	user_id          uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	partner_id       uuid REFERENCES users (user_id) ON DELETE SET NULL,
	room_id          uuid NOT NULL,
	duration_seconds integer NOT NULL CHECK (duration_seconds > 0),
	completed_at     timestamptz NOT NULL DEFAULT now(),
	UNIQUE (user_id, room_id)
);
CREATE INDEX session_completions_partner_idx ON session_completions (partner_id)
	WHERE partner_id IS NOT NULL;

-- Pairwise, symmetric cooldowns: the pair is stored smaller UUID first, so one row per pair.
CREATE TABLE cooldowns (
	user_id_1  uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	user_id_2  uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	expires_at timestamptz NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	CONSTRAINT cooldowns_pair_ordered CHECK (user_id_1 < user_id_2),
	CONSTRAINT cooldowns_pair_key UNIQUE (user_id_1, user_id_2)
);
-- The unique index serves lookups by user_id_1; this one serves "cooldowns involving me".
CREATE INDEX cooldowns_user_id_2_idx ON cooldowns (user_id_2);
CREATE INDEX cooldowns_expires_at_idx ON cooldowns (expires_at);
