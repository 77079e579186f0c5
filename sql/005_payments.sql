-- 005: Stripe webhook idempotency (§2.8): the event id is inserted in the same transaction
-- as its effect, so a redelivered event has none. Rows older than 30 days are purged.
CREATE TABLE stripe_events (
	event_id     text PRIMARY KEY CHECK (char_length(event_id) BETWEEN 1 AND 255),
	type         text NOT NULL CHECK (char_length(type) <= 255),
	processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX stripe_events_processed_at_idx ON stripe_events (processed_at);
