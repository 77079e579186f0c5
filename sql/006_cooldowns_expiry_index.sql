-- 006: cooldowns are only ever looked up by their pair (or by user_id_2); nothing scans them
-- by expiry. The expiry index was a trap: a plan made while the table was nearly empty (the
-- gateway prepares its invite check once per connection) filtered the index range
-- "expires_at > now()" instead of probing the pair, so every invite read every active
-- cooldown, and every cooldown upsert updated a third index instead of staying a HOT update.
DROP INDEX IF EXISTS cooldowns_expires_at_idx;
