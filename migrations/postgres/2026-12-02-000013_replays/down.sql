DROP INDEX deliveries_replay;
ALTER TABLE deliveries DROP COLUMN replay_after, DROP COLUMN replay_id;
DROP TABLE replays;
