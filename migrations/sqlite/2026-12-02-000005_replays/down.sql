DROP INDEX deliveries_replay;
ALTER TABLE deliveries DROP COLUMN replay_after;
ALTER TABLE deliveries DROP COLUMN replay_id;
DROP TABLE replays;
