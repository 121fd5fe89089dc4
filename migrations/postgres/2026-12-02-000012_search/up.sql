-- Search and replay evaluate the routing filter in SQL (src/db/search). Payloads are kept as
-- JSON text, which may hold what jsonb cannot: a NUL character (\u0000). Such a payload is read
-- with each NUL as U+FFFD, so that one odd payload never makes a search fail; every other
-- payload is read as it is.
CREATE FUNCTION herald_payload(p text) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF strpos(p, '\u0000') = 0 THEN
        RETURN p::jsonb;
    END IF;
    BEGIN
        RETURN p::jsonb;
    EXCEPTION WHEN untranslatable_character THEN
        RETURN replace(p, '\u0000', '\ufffd')::jsonb;
    END;
END $$;

-- The instant an RFC 3339 string names, as the router reads one (chrono's RFC 3339 parser:
-- four-digit year, 'T', 't' or ' ', optional fraction, 'Z', 'z' or an offset of at most 23:59),
-- or NULL. The filter compares two instants as instants and anything else as text.
CREATE FUNCTION herald_instant(s text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    IF s !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$' THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN s::timestamptz;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
END $$;
