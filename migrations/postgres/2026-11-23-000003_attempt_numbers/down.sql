ALTER TABLE messages DROP COLUMN attempt_seq;
