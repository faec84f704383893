SELECT h.book_id::text AS book, h.document, h."timestamp", h.percentage::float8 AS percentage,
       b.page_count
FROM reading_progress_history h LEFT JOIN books b ON b.id = h.book_id
WHERE h.api_key_id = $1 ORDER BY h."timestamp", h.created_at
