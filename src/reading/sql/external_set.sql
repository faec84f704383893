INSERT INTO reading_aggregate AS ra (api_key_id, book_id, external_status,
    external_status_synced_at)
SELECT $1, p.book_id, p.status, now()
FROM unnest($2::uuid[], $3::reading_status[]) AS p (book_id, status)
ON CONFLICT (api_key_id, book_id) DO UPDATE SET
    external_status = EXCLUDED.external_status,
    external_status_synced_at = now(),
    updated_at = now();
