-- Full-text search over books, kept by a trigger so every writer gets it right.
-- 'simple' (no stemming) because a home library mixes languages; fuzzy matching comes
-- from the trigram indexes instead.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE FUNCTION books_search_vector_refresh() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('simple', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(NEW.author, '')), 'A') ||
        setweight(to_tsvector('simple', coalesce(NEW.series, '')), 'B') ||
        setweight(to_tsvector('simple', coalesce(NEW.description, '')), 'B') ||
        setweight(to_tsvector('simple', array_to_string(NEW.genres, ' ')), 'C');
    RETURN NEW;
END
$$;

CREATE TRIGGER books_search_vector_refresh
    BEFORE INSERT OR UPDATE OF title, author, series, description, genres ON books
    FOR EACH ROW EXECUTE FUNCTION books_search_vector_refresh();

UPDATE books SET title = title;

CREATE INDEX books_search_vector_idx ON books USING gin (search_vector);
CREATE INDEX books_title_trgm_idx ON books USING gin (title gin_trgm_ops);
CREATE INDEX books_author_trgm_idx ON books USING gin (author gin_trgm_ops);
