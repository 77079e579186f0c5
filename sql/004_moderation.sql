-- 004: reports, ban records and IP bans (§2.7, §4.4).

CREATE TABLE reports (
	report_id            uuid PRIMARY KEY,
	reported_user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	reported_user_name   text NOT NULL,
	reported_user_selfie text,
	reported_user_video  text,
	reporter_user_id     uuid NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
	reporter_name        text NOT NULL,
	reporter_ip          inet,
	reason               text NOT NULL DEFAULT 'No reason provided'
	    CHECK (char_length(reason) <= 500),
	room_id              uuid,
	"timestamp"          timestamptz NOT NULL DEFAULT now(),
	-- one report per pair: the duplicate check is this constraint
	CONSTRAINT reports_pair_key UNIQUE (reporter_user_id, reported_user_id),
	CONSTRAINT reports_not_self CHECK (reporter_user_id <> reported_user_id)
);
-- Report count = distinct reporters of a user; listings are newest first.
CREATE INDEX reports_reported_idx ON reports (reported_user_id);
CREATE INDEX reports_timestamp_idx ON reports ("timestamp" DESC);

CREATE TABLE ban_records (
	user_id       uuid PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
	user_name     text NOT NULL,
	user_selfie   text,
	user_video    text,
	ban_status    text NOT NULL CHECK (ban_status IN ('temporary', 'permanent', 'vindicated')),
	banned_at     timestamptz NOT NULL DEFAULT now(),
	banned_reason text,
	report_count  integer NOT NULL DEFAULT 0 CHECK (report_count >= 0),
	review_status text NOT NULL DEFAULT 'pending'
	    CHECK (review_status IN ('pending', 'reviewed_ban', 'reviewed_vindicate')),
	reviewed_at   timestamptz,
	reviewed_by   text,
	ip_addresses  jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(ip_addresses) = 'array')
);
CREATE INDEX ban_records_pending_idx ON ban_records (banned_at DESC) WHERE review_status = 'pending';
CREATE INDEX ban_records_status_idx ON ban_records (ban_status, banned_at DESC);
-- Vindication keeps an IP banned while another active record lists it: ip_addresses @> '["ip"]'.
CREATE INDEX ban_records_ips_idx ON ban_records USING gin (ip_addresses jsonb_path_ops);

-- Read on every request and socket handshake.
CREATE TABLE ip_bans (
	ip_address inet PRIMARY KEY,
	banned_at  timestamptz NOT NULL DEFAULT now(),
	user_id    uuid REFERENCES users (user_id) ON DELETE SET NULL,
	reason     text
);
CREATE INDEX ip_bans_user_idx ON ip_bans (user_id) WHERE user_id IS NOT NULL;
