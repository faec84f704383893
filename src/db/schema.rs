// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "book_status"))]
    pub struct BookStatus;

    #[derive(diesel::query_builder::QueryId, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "reading_status"))]
    pub struct ReadingStatus;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    annotations (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        book_id -> Nullable<Uuid>,
        book_title -> Text,
        book_authors -> Text,
        chapter -> Nullable<Text>,
        page -> Nullable<Text>,
        text -> Text,
        note -> Nullable<Text>,
        drawer -> Nullable<Text>,
        color -> Nullable<Text>,
        highlighted_at -> Nullable<Timestamptz>,
        source -> Text,
        fingerprint -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        key_prefix -> Text,
        key_hash -> Text,
        label -> Text,
        is_admin -> Bool,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    author_sort_names (name) {
        name -> Text,
        sort_name -> Text,
    }
}

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Jsonb,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    book_files (id) {
        id -> Uuid,
        book_id -> Uuid,
        format -> Text,
        original_name -> Text,
        storage_path -> Nullable<Text>,
        inbox_path -> Nullable<Text>,
        file_size -> Int8,
        checksum -> Nullable<Text>,
        content_hash -> Nullable<Text>,
        original_content_hash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        filename_digest -> Nullable<Text>,
        page_cover_failures -> Int2,
    }
}

diesel::table! {
    collection_books (collection_id, book_id) {
        collection_id -> Uuid,
        book_id -> Uuid,
        position -> Int4,
        added_at -> Timestamptz,
    }
}

diesel::table! {
    collection_shares (collection_id) {
        collection_id -> Uuid,
        token_hash -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    collections (id) {
        id -> Uuid,
        api_key_id -> Nullable<Uuid>,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    device_passwords (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        label -> Text,
        key_sha256 -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        last_used_by -> Nullable<Text>,
        last_device -> Nullable<Text>,
        last_device_id -> Nullable<Text>,
    }
}

diesel::table! {
    document_links (document, book_id) {
        document -> Text,
        book_id -> Uuid,
        source -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    book_metadata_candidates (id) {
        id -> Uuid,
        book_id -> Uuid,
        source -> Text,
        raw_response -> Nullable<Jsonb>,
        normalized -> Jsonb,
        confidence -> Numeric,
        selected_fields -> Array<Nullable<Text>>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::BookStatus;
    use super::sql_types::Tsvector;

    books (id) {
        id -> Uuid,
        status -> BookStatus,
        title -> Nullable<Text>,
        author -> Nullable<Text>,
        isbn_10 -> Nullable<Text>,
        isbn_13 -> Nullable<Text>,
        publisher -> Nullable<Text>,
        published_year -> Nullable<Int4>,
        language -> Nullable<Text>,
        description -> Nullable<Text>,
        cover_url -> Nullable<Text>,
        cover_path -> Nullable<Text>,
        page_count -> Nullable<Int4>,
        series -> Nullable<Text>,
        series_index -> Nullable<Float4>,
        genres -> Array<Nullable<Text>>,
        tags -> Array<Nullable<Text>>,
        hardcover_book_id -> Nullable<Int4>,
        hardcover_edition_id -> Nullable<Int4>,
        created_by -> Nullable<Uuid>,
        possible_duplicate_of -> Nullable<Uuid>,
        approved_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search_vector -> Nullable<Tsvector>,
        hardcover_searched_at -> Nullable<Timestamptz>,
        format_of -> Nullable<Uuid>,
    }
}

diesel::table! {
    export_notes (id) {
        id -> Int8,
        api_key_id -> Uuid,
        title -> Text,
        content -> Text,
        category -> Text,
        favorite -> Bool,
        modified -> Timestamptz,
    }
}

diesel::table! {
    hardcover_sync_log (id) {
        id -> Uuid,
        book_id -> Uuid,
        api_key_id -> Uuid,
        hardcover_user_book_id -> Nullable<Int4>,
        hardcover_read_id -> Nullable<Int4>,
        last_status -> Nullable<Text>,
        last_progress -> Nullable<Numeric>,
        last_rating -> Nullable<Numeric>,
        last_synced_at -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;

    hardcover_sync_runs (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        trigger -> Text,
        started_at -> Timestamptz,
        heartbeat_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        linked -> Int4,
        pulled -> Int4,
        pushed -> Int4,
        unchanged -> Int4,
        failed -> Int4,
        error -> Nullable<Text>,
        failures -> Jsonb,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::ReadingStatus;

    reading_aggregate (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        book_id -> Nullable<Uuid>,
        started_at -> Nullable<Timestamptz>,
        finished_at -> Nullable<Timestamptz>,
        manual_status -> Nullable<ReadingStatus>,
        manual_started_at -> Nullable<Timestamptz>,
        manual_finished_at -> Nullable<Timestamptz>,
        manual_paused_at -> Nullable<Timestamptz>,
        manual_set_at -> Nullable<Timestamptz>,
        external_status -> Nullable<ReadingStatus>,
        external_status_synced_at -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
        percentage -> Nullable<Numeric>,
        max_percentage -> Nullable<Numeric>,
        last_read_at -> Nullable<Timestamptz>,
        paused_at -> Nullable<Timestamptz>,
        derived_status -> ReadingStatus,
        status -> ReadingStatus,
    }
}

diesel::table! {
    library_state (id) {
        id -> Bool,
        version -> Int8,
        changed_at -> Timestamptz,
    }
}

diesel::table! {
    reading_forgotten (api_key_id) {
        api_key_id -> Uuid,
        forgotten_at -> Timestamptz,
    }
}

diesel::table! {
    reading_page_events (api_key_id, start_time, document, page) {
        api_key_id -> Uuid,
        start_time -> Timestamptz,
        document -> Text,
        page -> Int4,
        duration -> Int4,
        total_pages -> Int4,
    }
}

diesel::table! {
    reading_progress (id) {
        id -> Uuid,
        book_id -> Nullable<Uuid>,
        api_key_id -> Uuid,
        document -> Text,
        device -> Text,
        device_id -> Nullable<Text>,
        progress -> Text,
        percentage -> Numeric,
        timestamp -> Int8,
        raw_payload -> Nullable<Jsonb>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reading_aliases (api_key_id, alias) {
        api_key_id -> Uuid,
        alias -> Text,
        kind -> Text,
        document -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reading_goals (id) {
        id -> Uuid,
        api_key_id -> Uuid,
        kind -> Text,
        target -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    reading_progress_history (id) {
        id -> Uuid,
        book_id -> Nullable<Uuid>,
        api_key_id -> Nullable<Uuid>,
        document -> Text,
        device -> Text,
        progress -> Text,
        percentage -> Numeric,
        timestamp -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    reading_stat_books (api_key_id, document) {
        api_key_id -> Uuid,
        document -> Text,
        title -> Text,
        authors -> Text,
        pages -> Nullable<Int4>,
        last_open -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    service_credentials (id) {
        id -> Uuid,
        service -> Text,
        api_key_id -> Uuid,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    upload_registry (id) {
        id -> Uuid,
        checksum -> Text,
        api_key_id -> Uuid,
        filename -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    web_sessions (id) {
        id -> Uuid,
        token_hash -> Text,
        api_key_id -> Uuid,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        expires_at -> Timestamptz,
        user_agent -> Text,
    }
}

diesel::joinable!(annotations -> api_keys (api_key_id));
diesel::joinable!(annotations -> books (book_id));
diesel::joinable!(book_files -> books (book_id));
diesel::joinable!(book_metadata_candidates -> books (book_id));
diesel::joinable!(collection_books -> books (book_id));
diesel::joinable!(collection_books -> collections (collection_id));
diesel::joinable!(collection_shares -> collections (collection_id));
diesel::joinable!(collections -> api_keys (api_key_id));
diesel::joinable!(document_links -> books (book_id));
diesel::joinable!(books -> api_keys (created_by));
diesel::joinable!(hardcover_sync_log -> api_keys (api_key_id));
diesel::joinable!(hardcover_sync_log -> books (book_id));
diesel::joinable!(hardcover_sync_runs -> api_keys (api_key_id));
diesel::joinable!(reading_aggregate -> api_keys (api_key_id));
diesel::joinable!(reading_aggregate -> books (book_id));
diesel::joinable!(reading_forgotten -> api_keys (api_key_id));
diesel::joinable!(device_passwords -> api_keys (api_key_id));
diesel::joinable!(export_notes -> api_keys (api_key_id));
diesel::joinable!(reading_aliases -> api_keys (api_key_id));
diesel::joinable!(reading_goals -> api_keys (api_key_id));
diesel::joinable!(reading_page_events -> api_keys (api_key_id));
diesel::joinable!(reading_progress -> api_keys (api_key_id));
diesel::joinable!(reading_progress -> books (book_id));
diesel::joinable!(reading_progress_history -> api_keys (api_key_id));
diesel::joinable!(reading_progress_history -> books (book_id));
diesel::joinable!(reading_stat_books -> api_keys (api_key_id));
diesel::joinable!(service_credentials -> api_keys (api_key_id));
diesel::joinable!(upload_registry -> api_keys (api_key_id));
diesel::joinable!(web_sessions -> api_keys (api_key_id));

diesel::allow_tables_to_appear_in_same_query!(
    annotations,
    api_keys,
    app_settings,
    author_sort_names,
    book_files,
    book_metadata_candidates,
    books,
    collection_books,
    collection_shares,
    collections,
    device_passwords,
    document_links,
    export_notes,
    hardcover_sync_log,
    hardcover_sync_runs,
    library_state,
    reading_aggregate,
    reading_forgotten,
    reading_aliases,
    reading_goals,
    reading_page_events,
    reading_progress,
    reading_progress_history,
    reading_stat_books,
    service_credentials,
    upload_registry,
    web_sessions,
);
