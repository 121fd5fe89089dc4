ALTER TABLE events RESET (fillfactor);
ALTER TABLE delivery_attempts
    ADD CONSTRAINT delivery_attempts_message_id_fkey FOREIGN KEY (delivery_id)
        REFERENCES deliveries (id) ON DELETE CASCADE;
