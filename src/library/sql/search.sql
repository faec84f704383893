WITH q AS (SELECT to_tsquery('simple', $1) AS q)
SELECT id, count(*) OVER () AS total FROM books, q
WHERE status = 'organized' AND search_vector @@ q.q
ORDER BY ts_rank(search_vector, q.q) DESC, lower(title), id
LIMIT $2 OFFSET $3
