-- Browsing the catalog by author, genre, language and publisher: each leaf is an index
-- lookup. Several authors share the author field, joined by '&' (or ';' when typed by hand);
-- src/opds/catalog.rs splits the same way.
CREATE FUNCTION libris_authors(author text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(array_agg(btrim(a)) FILTER (WHERE btrim(a) <> ''), '{}')
    FROM regexp_split_to_table(coalesce(author, ''), '[&;]') a
$$;

CREATE INDEX books_opds_authors_idx ON books USING gin (libris_authors(author))
    WHERE status = 'organized';
CREATE INDEX books_opds_genres_idx ON books USING gin (genres) WHERE status = 'organized';
CREATE INDEX books_opds_language_idx ON books (language) WHERE status = 'organized';
CREATE INDEX books_opds_publisher_idx ON books (publisher) WHERE status = 'organized';
CREATE INDEX books_opds_series_idx ON books (series, series_index, id) WHERE status = 'organized';
