DROP FUNCTION herald_instant(text);
DROP FUNCTION herald_payload(text);
