-- Deliveries keep their event's id without a foreign key. An event and its deliveries are
-- written by one statement and events are never deleted, so the check only cost time: a lookup
-- and a share lock on the event's row for every delivery inserted (about 5 % of PostgreSQL's
-- CPU under single-POST ingest, 10 % of batch ingest; BENCHMARKS.md, 2026-12-01).
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event;
