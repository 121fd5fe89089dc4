DROP TABLE batch_requests;
DROP TABLE dispatch_state;
DROP TABLE delivery_attempts;
DROP TABLE messages;
