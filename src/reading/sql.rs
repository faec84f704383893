//! The SQL of the KoSync hot path, in one place: the handlers run it, and
//! `libris bench-sql` turns the same text into the pgbench scripts that measure its ceiling.

use crate::settings;

/// Progress reports, one or many, as one statement: the text of `sql/record_batch.sql`, whose
/// header lists its parameters ([`super::progress::BatchParams`] binds them in that order).
pub const RECORD_BATCH: &str = include_str!("sql/record_batch.sql");

/// The parameter names `sql/record_batch.sql`'s header lists, `$1` first.
pub fn record_batch_params() -> Vec<&'static str> {
    RECORD_BATCH
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
/// a pool of 1,000 documents; a `put` writes `batch` reports of distinct documents at once,
/// as the group commit does under load.
pub fn pgbench_script(request: &str, username: &str, password_hash: &str, batch: usize) -> String {
    let literal = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let (user, hash) = (literal(username), literal(password_hash));
    let statement = match request {
        "put" => {
            let n = batch.max(1);
            let each = |expr: &str| {
                format!("(SELECT array_agg({expr} ORDER BY g) FROM generate_series(1, {n}) g)")
            };
            let all = |value: &str, ty: &str| format!("array_fill({value}::{ty}, ARRAY[{n}])");
            let doc = "((:n + g * 37) % 1000 + 1)";
            let value = |name: &str| -> String {
                match name {
                    "documents" => each(&format!("'bench-doc-' || {doc}")),
                    "usernames" => all(&user, "text"),
                    "password_hashes" => all(&hash, "text"),
                    "devices" => all("'bench-device'", "text"),
                    "device_ids" => all("'bench-device-id'", "text"),
                    "progresses" => all("'/body/DocFragment[10]/body/p[22]/text().42'", "text"),
                    "percentages" => each(&format!("({doc} / 1000.0)::float8")),
                    "timestamps" => all("extract(epoch from now())", "int8"),
                    "raw_payloads" => all("'{\"document\":\"bench\",\"progress\":\"p\",\"percentage\":0.5,\"device\":\"bench\"}'", "jsonb"),
                    "titles" | "authors" => all("NULL", "text"),
                    "finished_threshold" => format!("{}::float8", settings::FINISHED_THRESHOLD),
                    "paused_after_days" => settings::PAUSED_AFTER_DAYS.to_string(),
                    other => panic!("record_batch.sql names a parameter {other} the bench does not know"),
                }
            };
            let args: Vec<String> = record_batch_params().into_iter().map(value).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            substitute(RECORD_BATCH, &args)
        }
        _ => substitute(AUTH_AND_LATEST_POSITION, &[&user, "('bench-doc-' || :n)"]),
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
    fn record_batch_lists_its_thirteen_parameters() {
        let names = record_batch_params();
        assert_eq!(names.len(), 13, "{names:?}");
        assert_eq!(names, super::super::progress::BatchParams::NAMES);
        for n in 1..=13 {
            assert!(RECORD_BATCH.contains(&format!("${n}")), "${n} unused");
        }
        assert!(!RECORD_BATCH.contains("$14"));
    }

    #[test]
    fn the_bench_script_is_one_statement_a_line() {
        let script = pgbench_script("put", "bench", "hash", 8);
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines.len(), 2, "{script}");
        assert!(lines[1].starts_with("WITH input AS ("), "{script}");
        assert!(lines[1].contains("generate_series(1, 8)"), "{script}");
        assert!(
            !lines[1].contains("--") && !lines[1].contains('$'),
            "{script}"
        );
        assert!(
            lines[1].ends_with("SELECT i, api_key_id, book_id FROM effective;"),
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
