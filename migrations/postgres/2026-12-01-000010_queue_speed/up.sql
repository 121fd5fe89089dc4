-- The finish statement writes each attempt row and updates its delivery in one statement,
-- guarded by the claim token, and deliveries are never deleted: the foreign key only cost time.
-- Its check looked the delivery up and key-share locked the row that statement had just
-- updated, for every attempt: about 20 % of PostgreSQL's CPU in a drain (BENCHMARKS.md,
-- 2026-12-01, issue 15).
ALTER TABLE delivery_attempts DROP CONSTRAINT delivery_attempts_message_id_fkey;
-- An event's row is updated once more when its last delivery ends. Free room on its page lets
-- that update be HOT (no new entry in any of its indexes); a full page made two thirds of them
-- not HOT in a drain of queued events.
ALTER TABLE events SET (fillfactor = 70);
