UPDATE reading_aggregate SET external_status = NULL,
    external_status_synced_at = now(), updated_at = now()
WHERE api_key_id = $1 AND book_id = ANY($2) AND external_status IS NOT NULL;
