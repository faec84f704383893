SELECT ra.book_id AS id, count(*) OVER () AS total
FROM reading_aggregate ra JOIN books b ON b.id = ra.book_id AND b.status = 'organized'
WHERE ra.api_key_id = $1 AND ra.status = ANY($2::text[]::reading_status[])
ORDER BY ra.last_read_at DESC NULLS LAST, ra.book_id
LIMIT $3 OFFSET $4
