//! The SQL of the KoSync hot path, in one place: the handlers run it, and
//! `libris bench-sql` turns the same text into the pgbench scripts that measure its ceiling.

use crate::settings;

/// One progress report as one statement: the text of `sql/record_progress.sql`, whose
/// header lists its parameters ([`super::progress::ReportParams`] binds them in that order).
pub const RECORD_PROGRESS: &str = include_str!("sql/record_progress.sql");

/// The parameter names `sql/record_progress.sql`'s header lists, `$1` first.
pub fn record_progress_params() -> Vec<&'static str> {
    RECORD_PROGRESS
        .lines()
        .take_while(|l| l.starts_with("--"))
        .filter_map(|l| {
            let rest = l.strip_prefix("-- $")?;
            let (n, name) = rest.split_once(' ')?;
            n.parse::<usize>().ok().map(|_| name.trim())
        })
        .collect()
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
    let statement = match request {
        "put" => {
            let value = |name: &str| -> String {
                match name {
                    "document" => document.into(),
                    "username" => user.clone(),
                    "device" => "'bench-device'".into(),
                    "device_id" => "'bench-device-id'".into(),
                    "progress" => "'/body/DocFragment[10]/body/p[22]/text().42'".into(),
                    "percentage" => "(:n / 1000.0)::float8".into(),
                    "timestamp" => "extract(epoch from now())::bigint".into(),
                    "raw_payload" => "'{\"document\":\"bench\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"bench\"}'::jsonb".into(),
                    "finished_threshold" => format!("{}::float8", settings::FINISHED_THRESHOLD),
                    "password_hash" => hash.clone(),
                    "title" | "authors" => "NULL".into(),
                    "paused_after_days" => settings::PAUSED_AFTER_DAYS.to_string(),
                    other => panic!("record_progress.sql names a parameter {other} the bench does not know"),
                }
            };
            let args: Vec<String> = record_progress_params().into_iter().map(value).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            substitute(RECORD_PROGRESS, &args)
        }
        _ => substitute(AUTH_AND_LATEST_POSITION, &[&user, document]),
    };
    // pgbench takes one statement per line: comments dropped, lines joined.
    let sql: Vec<&str> = statement
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .flat_map(str::split_whitespace)
        .collect();
    format!(
        "\\set n random(1, 1000)\n{};\n",
        sql.join(" ").trim_end_matches(';')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_progress_lists_its_thirteen_parameters() {
        let names = record_progress_params();
        assert_eq!(names.len(), 13, "{names:?}");
        assert_eq!(names, super::super::progress::ReportParams::NAMES);
        for n in 1..=13 {
            assert!(RECORD_PROGRESS.contains(&format!("${n}")), "${n} unused");
        }
        assert!(!RECORD_PROGRESS.contains("$14"));
    }

    #[test]
    fn the_bench_script_is_one_statement_a_line() {
        let script = pgbench_script("put", "bench", "hash");
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines.len(), 2, "{script}");
        assert!(lines[1].starts_with("WITH reader AS ("), "{script}");
        assert!(
            !lines[1].contains("--") && !lines[1].contains('$'),
            "{script}"
        );
        assert!(
            lines[1].ends_with("RETURNING api_key_id, book_id;"),
            "{script}"
        );
    }

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
