//! The SQL of the KoSync hot path, in one place: the handlers run it, and
//! `libris bench-sql` turns it into the pgbench scripts that measure its ceiling.

use std::sync::OnceLock;

/// The book a document resolves to, as an aggregate over its `document_links l` rows: the
/// one manual link if there is exactly one, else the only linked book, else NULL. The
/// KoSync write path and relinking both use this expression. (document_links belongs to
/// the library; reading only reads it, and the report statement records a metadata link.)
pub const RESOLVED_BOOK: &str = "CASE \
    WHEN count(*) FILTER (WHERE l.source = 'manual') = 1 \
        THEN min(l.book_id::text) FILTER (WHERE l.source = 'manual') \
    WHEN count(*) FILTER (WHERE l.source = 'manual') = 0 AND count(DISTINCT l.book_id) = 1 \
        THEN min(l.book_id::text) \
    END::uuid";

/// One progress report as one statement (one implicit transaction, one round trip):
/// authorise, resolve the book, upsert the current row, fold the report into the reading
/// aggregate, append history.
///
/// The reader is named by its kosync username ($2) and the password hash ($10) its key was
/// verified against: when the credential changed or went away since, the statement writes
/// nothing and returns no row, so a cached verification can never outlive the credential.
/// $1 document, $3 device, $4 device_id, $5 progress, $6 percentage, $7 timestamp,
/// $8 raw_payload, $9 and $13 the finished threshold and paused_after_days in force.
/// Returns the reader's api_key_id and the book the report was linked to.
///
/// The book comes from document_links (see [`RESOLVED_BOOK`]): a
/// document tied to several books (KOReader's partial MD5 is not unique) links to none
/// rather than to a guess. A document tied to no book, reported with metadata $11 title and
/// $12 authors, links to the one organized book with the same normalised title and author,
/// if exactly one exists, and that link is recorded.
pub fn record_progress() -> &'static str {
    static SQL: OnceLock<String> = OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            r#"WITH reader AS (
    SELECT api_key_id FROM service_credentials
    WHERE service = 'kosync' AND username = $2 AND password_hash = $10
), linked AS (
    SELECT count(*) AS links, {resolved} AS book_id FROM document_links l WHERE l.document = $1
), by_metadata AS (
    SELECT min(b.id::text)::uuid AS book_id FROM books b, linked
    WHERE $11::text IS NOT NULL AND linked.links = 0 AND b.status = 'organized'
      AND libris_norm(b.title) = libris_norm($11) AND libris_norm(b.author) = libris_norm($12)
    HAVING count(*) = 1
), metadata_link AS (
    INSERT INTO document_links (document, book_id, source)
    SELECT $1, by_metadata.book_id, 'metadata' FROM by_metadata, reader
    ON CONFLICT DO NOTHING
), book AS (
    SELECT coalesce((SELECT book_id FROM linked), (SELECT book_id FROM by_metadata)) AS book_id
), current AS (
    INSERT INTO reading_progress AS rp
        (book_id, api_key_id, document, device, device_id, progress, percentage, "timestamp", raw_payload, updated_at)
    SELECT (SELECT book_id FROM book), reader.api_key_id, $1, $3, $4, $5, $6, $7, $8, now() FROM reader
    ON CONFLICT (api_key_id, document, device) DO UPDATE SET
        book_id = coalesce(EXCLUDED.book_id, rp.book_id),
        device_id = coalesce(EXCLUDED.device_id, rp.device_id),
        progress = EXCLUDED.progress,
        percentage = EXCLUDED.percentage,
        "timestamp" = EXCLUDED."timestamp",
        raw_payload = EXCLUDED.raw_payload,
        updated_at = now()
    RETURNING api_key_id, book_id
), {aggregate}
INSERT INTO reading_progress_history (book_id, api_key_id, document, device, progress, percentage, "timestamp")
SELECT book_id, api_key_id, $1, $3, $5, $6, $7 FROM current
RETURNING api_key_id, book_id"#,
            aggregate = super::aggregate::ON_REPORT,
            resolved = RESOLVED_BOOK,
        )
    })
}

/// The kosync credential of user $1 and the newest position of document $2 across the
/// reader's devices, in one round trip. The position may be released only once the key is
/// verified against the returned hash.
pub const AUTH_AND_LATEST_POSITION: &str = r#"SELECT c.api_key_id, c.password_hash,
    p.document, p.progress, p.percentage, p.device, p.device_id, p."timestamp"
FROM service_credentials c
LEFT JOIN LATERAL (
    SELECT document, progress, percentage::float8 AS percentage, device, device_id, "timestamp"
    FROM reading_progress WHERE api_key_id = c.api_key_id AND document = $2
    ORDER BY "timestamp" DESC, updated_at DESC LIMIT 1
) p ON true
WHERE c.service = 'kosync' AND c.username = $1"#;

/// Replaces `$n` placeholders with the given expressions (for pgbench scripts), in one pass,
/// so an argument that itself contains `$2` stays as it is.
pub fn substitute(sql: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let digits = rest[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .count();
        let index = rest[at + 1..at + 1 + digits].parse::<usize>().ok();
        match index
            .and_then(|n| n.checked_sub(1))
            .and_then(|n| args.get(n))
        {
            Some(arg) => out.push_str(arg),
            None => out.push_str(&rest[at..at + 1 + digits]),
        }
        rest = &rest[at + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// A pgbench script doing the database work of one warm KoSync request of kind `request`
/// (`put` or `get`) for the kosync user `username` whose stored hash is `password_hash`, over
/// a pool of 1,000 documents.
pub fn pgbench_script(request: &str, username: &str, password_hash: &str) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let (user, hash) = (literal(username), literal(password_hash));
    let document = "('bench-doc-' || :n)";
    let statements = match request {
        "put" => vec![substitute(
                record_progress(),
                &[
                    document,
                    &user,
                    "'bench-device'",
                    "'bench-device-id'",
                    "'/body/DocFragment[10]/body/p[22]/text().42'",
                    "(:n / 1000.0)::float8",
                    "extract(epoch from now())::bigint",
                    "'{\"document\":\"bench\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"bench\"}'::jsonb",
                    "0.95::float8",
                    &hash,
                    "NULL",
                    "NULL",
                    "30",
                ],
            )],
        _ => vec![substitute(AUTH_AND_LATEST_POSITION, &[&user, document])],
    };
    // pgbench takes one statement per line.
    let mut script = String::from("\\set n random(1, 1000)\n");
    for sql in statements {
        script.push_str(&sql.split_whitespace().collect::<Vec<_>>().join(" "));
        script.push_str(";\n");
    }
    script
}

#[cfg(test)]
mod tests {
    use super::substitute;

    #[test]
    fn substitute_replaces_high_numbers_first() {
        let args: Vec<String> = (1..=10).map(|i| format!("a{i}")).collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_eq!(substitute("$1 $10 $2", &args), "a1 a10 a2");
        assert_eq!(
            substitute("x = $1, y = $2", &["'$2b$10$'", "z"]),
            "x = '$2b$10$', y = z"
        );
        assert_eq!(substitute("cost $ and $99", &["a"]), "cost $ and $99");
    }
}
