-- The book a KOReader document resolves to, from its document_links rows: the one manual
-- link if there is exactly one, else the only linked book, else NULL (KOReader's partial MD5
-- is not unique: a document tied to several books links to none rather than to a guess).
-- One rule for the KoSync report statement and for relinking. A set-returning SQL function
-- of one SELECT, STABLE and not STRICT, is inlined into the calling query as a subquery, so
-- the report pays no function call for it.
CREATE FUNCTION libris_document_book(doc text)
RETURNS TABLE (links bigint, book_id uuid, manual boolean)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT count(*),
        CASE
            WHEN count(*) FILTER (WHERE l.source = 'manual') = 1
                THEN min(l.book_id::text) FILTER (WHERE l.source = 'manual')
            WHEN count(*) FILTER (WHERE l.source = 'manual') = 0 AND count(DISTINCT l.book_id) = 1
                THEN min(l.book_id::text)
        END::uuid,
        count(*) FILTER (WHERE l.source = 'manual') = 1
    FROM document_links l WHERE l.document = doc
$$;
