-- Routing cannot be folded back into single messages without losing events and endpoints.
SELECT 1;
