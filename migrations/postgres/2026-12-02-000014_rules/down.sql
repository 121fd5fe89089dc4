DROP TABLE rule_notes;
DROP TABLE reminders;
DROP TABLE rules;
