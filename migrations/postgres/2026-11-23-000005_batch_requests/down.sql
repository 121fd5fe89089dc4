DROP TABLE batch_requests;
