DROP INDEX books_author_trgm_idx;
DROP INDEX books_title_trgm_idx;
DROP INDEX books_search_vector_idx;
DROP TRIGGER books_search_vector_refresh ON books;
DROP FUNCTION books_search_vector_refresh();
UPDATE books SET search_vector = NULL;
DROP EXTENSION IF EXISTS pg_trgm;
