-- Keeps the sort names sources gave (library::author_sort::remember): $1 the names, $2 their
-- sort names, one row per name. A newer sort name replaces the one kept; an unchanged one is
-- not written, so it does not move the library version.
INSERT INTO author_sort_names AS a (name, sort_name)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (name) DO UPDATE SET sort_name = EXCLUDED.sort_name
WHERE a.sort_name IS DISTINCT FROM EXCLUDED.sort_name
