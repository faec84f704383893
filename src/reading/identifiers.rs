//! The KoSync identifiers extension (koreader-sync-server PR #55; pid1/kosync-conformance
//! SPEC.md §5.8, "identifiers"). A push may name its document by several identifiers
//! (`identifiers: [{type, value}]`), a pull by `?ids=type:value,…`; the answer then gains
//! `match` (the caller's label of the identifier that found the record) and, on a pull,
//! `progress_match` (the strongest identifier the caller shares with whoever wrote the
//! position). Requests without identifiers are answered exactly as before.
//!
//! The rules (pure functions below, each tested):
//! - a list holds 1–8 entries, types `^[a-z][a-z0-9-]*$` (≤ 32), values
//!   `^[A-Za-z0-9][A-Za-z0-9-_.]*$` (≤ 128), no type twice, and an entry whose value is the
//!   document (anywhere in the list) [K-ID-8, 8b, 9]; else 403 code 2003;
//! - resolution walks the list in the caller's order, each value as a document of the reader's
//!   first, as an alias second, and stops at the first hit [K-ID-4, 5, 7];
//! - nothing found: the record is created under `document`, and `match` is the type of the
//!   entry that is the document [K-ID-8b];
//! - aliases are per reader (`reading_aliases`), created never repointed (unless the document
//!   they lead to is gone) [K-ID-12], never for a value that is a document in its own right
//!   [K-ID-7], and only for entries ranked below the one that matched (all of them on a
//!   create) [K-ID-12b];
//! - an entry marked `"weak": true` is never used to find the record on a push (it cannot
//!   merge two books), but is registered and found on a pull.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Double, Nullable, Text, Uuid as SqlUuid};
use serde_json::Value;
use uuid::Uuid;

use super::derive::Rules;
use super::progress::{Position, Report};
use crate::error::Error;

pub const MAX_IDENTIFIERS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identifier {
    pub kind: String,
    pub value: String,
    /// Never used to find the record on a push.
    pub weak: bool,
}

fn invalid(why: &str) -> Error {
    Error::invalid("identifiers", why.to_owned())
}

fn valid_kind(kind: &str) -> bool {
    let b = kind.as_bytes();
    !b.is_empty()
        && b.len() <= 32
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

fn valid_value(value: &str) -> bool {
    let b = value.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The rules every list meets, whichever way it came.
fn check(list: Vec<Identifier>, document: &str) -> Result<Vec<Identifier>, Error> {
    if list.is_empty() {
        return Err(invalid("empty"));
    }
    if list.len() > MAX_IDENTIFIERS {
        return Err(invalid("too many identifiers"));
    }
    let mut kinds = HashSet::new();
    for id in &list {
        if !valid_kind(&id.kind) {
            return Err(invalid("invalid type"));
        }
        if !valid_value(&id.value) {
            return Err(invalid("invalid value"));
        }
        if !kinds.insert(id.kind.as_str()) {
            return Err(invalid("duplicate type"));
        }
    }
    if !list.iter().any(|id| id.value == document) {
        return Err(invalid("no identifier is the document"));
    }
    Ok(list)
}

/// The `identifiers` of a push body; `None` when the body names none.
pub fn from_body(value: Option<&Value>, document: &str) -> Result<Option<Vec<Identifier>>, Error> {
    let Some(value) = value.filter(|v| !v.is_null()) else {
        return Ok(None);
    };
    let Value::Array(items) = value else {
        return Err(invalid("not a list"));
    };
    if items.len() > MAX_IDENTIFIERS {
        return Err(invalid("too many identifiers"));
    }
    let mut list = vec![];
    for item in items {
        let Value::Object(o) = item else {
            return Err(invalid("entry is not an object"));
        };
        let text = |key: &str| o.get(key).and_then(Value::as_str).map(str::to_owned);
        list.push(Identifier {
            kind: text("type").ok_or_else(|| invalid("invalid type"))?,
            value: text("value").ok_or_else(|| invalid("invalid value"))?,
            weak: o.get("weak") == Some(&Value::Bool(true)),
        });
    }
    check(list, document).map(Some)
}

/// The `ids` of a pull's query (`type:value,type:value`); `None` when it names none.
pub fn from_query(ids: Option<&str>, document: &str) -> Result<Option<Vec<Identifier>>, Error> {
    let Some(ids) = ids else { return Ok(None) };
    if ids.is_empty() {
        return Err(invalid("not a list"));
    }
    let entries: Vec<&str> = ids.split(',').collect();
    if entries.len() > MAX_IDENTIFIERS {
        return Err(invalid("too many identifiers"));
    }
    let mut list = vec![];
    for entry in entries {
        let parts: Vec<&str> = entry.split(':').collect();
        let [kind, value] = parts[..] else {
            return Err(invalid("malformed entry"));
        };
        list.push(Identifier {
            kind: kind.to_owned(),
            value: value.to_owned(),
            weak: false,
        });
    }
    check(list, document).map(Some)
}

/// What the reader holds of a list's values: the values that are documents of theirs, and the
/// aliases among them with the document each leads to (and whether it still has a position).
#[derive(Debug, Default, Clone)]
pub struct Known {
    pub documents: HashSet<String>,
    pub aliases: HashMap<String, (String, bool)>,
}

/// Where a list led.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The document the record is stored under.
    pub document: String,
    /// The entry that found it (or, on a create, the entry that is the document).
    pub matched: usize,
    pub created: bool,
}

/// The walk [K-ID-4, 5, 7]: each entry in order, as a document first, as a live alias second.
/// On a push (`push`), weak entries are passed over, and nothing found creates the record
/// under `document`; on a pull nothing found is `None`.
pub fn resolve(list: &[Identifier], document: &str, known: &Known, push: bool) -> Option<Resolved> {
    for (i, id) in list.iter().enumerate() {
        if push && id.weak {
            continue;
        }
        if known.documents.contains(&id.value) {
            return Some(Resolved {
                document: id.value.clone(),
                matched: i,
                created: false,
            });
        }
        if let Some((target, true)) = known.aliases.get(&id.value) {
            return Some(Resolved {
                document: target.clone(),
                matched: i,
                created: false,
            });
        }
    }
    push.then(|| Resolved {
        document: document.to_owned(),
        matched: list.iter().position(|id| id.value == document).unwrap_or(0),
        created: true,
    })
}

/// The aliases a push registers [K-ID-7, 12, 12b]: on a create every entry, else only those
/// ranked below the match; never the record's own document, a value that is a document of
/// the reader's, or a value whose alias still leads somewhere. (value, kind) pairs.
pub fn to_register<'a>(
    list: &'a [Identifier],
    resolved: &Resolved,
    known: &Known,
) -> Vec<(&'a str, &'a str)> {
    let from = if resolved.created {
        0
    } else {
        resolved.matched + 1
    };
    list.iter()
        .skip(from)
        .filter(|id| id.value != resolved.document)
        .filter(|id| !known.documents.contains(&id.value))
        .filter(|id| !matches!(known.aliases.get(&id.value), Some((_, true))))
        .map(|id| (id.value.as_str(), id.kind.as_str()))
        .collect()
}

/// `progress_match` [K-ID-6, 6b, 6c]: the caller's label of the first of its entries whose
/// value the writer of the position also named; "none" when they share none. A position
/// written without identifiers counts as written by the document it is stored under, so the
/// answer is `match`.
pub fn progress_match(list: &[Identifier], matched: usize, writer: Option<&[String]>) -> String {
    let Some(writer) = writer else {
        return list[matched].kind.clone();
    };
    list.iter()
        .find(|id| writer.contains(&id.value))
        .map_or_else(|| "none".to_owned(), |id| id.kind.clone())
}

/// The values a stored report named as its identifiers, if it named any.
fn writer_values(raw: Option<&Value>) -> Option<Vec<String>> {
    let Value::Array(items) = raw?.get("identifiers")? else {
        return None;
    };
    Some(
        items
            .iter()
            .filter_map(|i| i.get("value")?.as_str().map(str::to_owned))
            .collect(),
    )
}

#[derive(QueryableByName)]
struct DocumentRow {
    #[diesel(sql_type = Text)]
    document: String,
}

#[derive(QueryableByName)]
struct AliasRow {
    #[diesel(sql_type = Text)]
    alias: String,
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    live: bool,
}

/// What the reader holds of `list`'s values (two index probes).
pub fn known(conn: &mut PgConnection, reader: Uuid, list: &[Identifier]) -> Result<Known, Error> {
    let values: Vec<&str> = list.iter().map(|i| i.value.as_str()).collect();
    let documents = diesel::sql_query(
        "SELECT DISTINCT document FROM reading_progress WHERE api_key_id = $1 AND document = ANY($2)",
    )
    .bind::<SqlUuid, _>(reader)
    .bind::<Array<Text>, _>(&values)
    .load::<DocumentRow>(conn)?
    .into_iter()
    .map(|r| r.document)
    .collect();
    let aliases = diesel::sql_query(
        "SELECT a.alias, a.document, EXISTS (SELECT 1 FROM reading_progress p
             WHERE p.api_key_id = a.api_key_id AND p.document = a.document) AS live
         FROM reading_aliases a WHERE a.api_key_id = $1 AND a.alias = ANY($2)",
    )
    .bind::<SqlUuid, _>(reader)
    .bind::<Array<Text>, _>(&values)
    .load::<AliasRow>(conn)?
    .into_iter()
    .map(|r| (r.alias, (r.document, r.live)))
    .collect();
    Ok(Known { documents, aliases })
}

/// A push that names identifiers: resolves, registers its aliases and records the report under
/// the record's document, in one transaction. `None`: the credential no longer holds
/// `password_hash` (nothing written). Answers where it went and the `match`.
#[allow(clippy::too_many_arguments)]
pub fn push(
    conn: &mut PgConnection,
    rules: &Rules,
    reader: Uuid,
    username: &str,
    password_hash: &str,
    report: &Report,
    list: &[Identifier],
    timestamp: i64,
) -> Result<Option<(String, String)>, Error> {
    conn.transaction(|conn| {
        let known = known(conn, reader, list)?;
        let resolved = resolve(list, &report.document, &known, true)
            .ok_or_else(|| Error::Internal("a push always resolves".into()))?;
        let mut stored = report.clone();
        stored.document = resolved.document.clone();
        if super::record(conn, rules, username, password_hash, &stored, timestamp)?.is_none() {
            return Ok(None);
        }
        for (alias, kind) in to_register(list, &resolved, &known) {
            // A dead alias (its document has no position) is repointed; a live one never,
            // even when another push made it since `known` was read.
            diesel::sql_query(
                "INSERT INTO reading_aliases (api_key_id, alias, kind, document) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (api_key_id, alias) DO UPDATE SET document = excluded.document, kind = excluded.kind
                 WHERE NOT EXISTS (SELECT 1 FROM reading_progress p
                     WHERE p.api_key_id = reading_aliases.api_key_id AND p.document = reading_aliases.document)",
            )
            .bind::<SqlUuid, _>(reader)
            .bind::<Text, _>(alias)
            .bind::<Text, _>(kind)
            .bind::<Text, _>(&resolved.document)
            .execute(conn)?;
        }
        Ok(Some((
            resolved.document,
            list[resolved.matched].kind.clone(),
        )))
    })
}

#[derive(QueryableByName)]
struct LatestRow {
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = Text)]
    progress: String,
    #[diesel(sql_type = Double)]
    percentage: f64,
    #[diesel(sql_type = Text)]
    device: String,
    #[diesel(sql_type = Nullable<Text>)]
    device_id: Option<String>,
    #[diesel(sql_type = BigInt)]
    timestamp: i64,
    #[diesel(sql_type = Nullable<diesel::sql_types::Jsonb>)]
    raw_payload: Option<Value>,
}

/// A pull's answer: the position, `match` and `progress_match`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pulled {
    pub position: Position,
    pub matched: String,
    pub progress_match: String,
}

/// A pull that names identifiers: the record the list leads to, if any.
pub fn pull(
    conn: &mut PgConnection,
    reader: Uuid,
    document: &str,
    list: &[Identifier],
) -> Result<Option<Pulled>, Error> {
    let known = known(conn, reader, list)?;
    let Some(resolved) = resolve(list, document, &known, false) else {
        return Ok(None);
    };
    let row: Option<LatestRow> = diesel::sql_query(
        r#"SELECT document, progress, percentage::float8 AS percentage, device, device_id,
               "timestamp", raw_payload
           FROM reading_progress WHERE api_key_id = $1 AND document = $2
           ORDER BY "timestamp" DESC, updated_at DESC LIMIT 1"#,
    )
    .bind::<SqlUuid, _>(reader)
    .bind::<Text, _>(&resolved.document)
    .get_result(conn)
    .optional()?;
    Ok(row.map(|r| {
        let writer = writer_values(r.raw_payload.as_ref());
        Pulled {
            progress_match: progress_match(list, resolved.matched, writer.as_deref()),
            matched: list[resolved.matched].kind.clone(),
            position: Position {
                document: r.document,
                progress: r.progress,
                percentage: r.percentage,
                device: r.device,
                device_id: r.device_id,
                timestamp: r.timestamp,
            },
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn id(kind: &str, value: &str) -> Identifier {
        Identifier {
            kind: kind.into(),
            value: value.into(),
            weak: false,
        }
    }

    fn known(documents: &[&str], aliases: &[(&str, &str, bool)]) -> Known {
        Known {
            documents: documents.iter().map(|d| d.to_string()).collect(),
            aliases: aliases
                .iter()
                .map(|(a, d, live)| (a.to_string(), (d.to_string(), *live)))
                .collect(),
        }
    }

    #[test]
    fn lists_are_checked_whichever_way_they_come() {
        let ok = json!([{"type": "content", "value": "C1"}, {"type": "structure", "value": "S1"}]);
        assert_eq!(from_body(Some(&ok), "C1").unwrap().unwrap().len(), 2);
        assert_eq!(from_body(None, "C1").unwrap(), None);
        assert_eq!(
            from_body(Some(&Value::Null), "C1").unwrap(),
            None,
            "null is none"
        );
        // The document may be any entry [K-ID-8b]; it must be one [K-ID-8].
        assert!(from_body(Some(&ok), "S1").is_ok());
        assert!(from_body(Some(&ok), "X").is_err());
        for bad in [
            json!([]),
            json!("content:C1"),
            json!([1]),
            json!([{"type": "Content", "value": "C1"}]),
            json!([{"type": "content", "value": "-C1"}]),
            json!([{"type": "content", "value": "C1"}, {"type": "content", "value": "C2"}]),
            json!([{"type": "content"}]),
        ] {
            assert!(from_body(Some(&bad), "C1").is_err(), "{bad}");
        }
        let nine: Vec<Value> = (0..9)
            .map(|i| json!({"type": format!("t{i}"), "value": if i == 0 { "C1".to_owned() } else { format!("v{i}") }}))
            .collect();
        assert!(from_body(Some(&Value::Array(nine[..8].to_vec())), "C1").is_ok());
        assert!(from_body(Some(&Value::Array(nine)), "C1").is_err());
        assert_eq!(
            from_query(Some("content:C1,structure:S1,filename:F"), "C1")
                .unwrap()
                .unwrap()[2],
            id("filename", "F")
        );
        for bad in [
            "",
            "C1",
            "content:C1:x",
            "content:C1,content:C2",
            "structure:S1",
        ] {
            assert!(from_query(Some(bad), "C1").is_err(), "{bad:?}");
        }
        assert!(from_query(Some(&"x".repeat(129).replace('x', "content:C1,")), "C1").is_err());
    }

    #[test]
    fn the_walk_goes_in_the_callers_order_documents_before_aliases() {
        let list = [
            id("content", "C2"),
            id("structure", "S1"),
            id("filename", "F"),
        ];
        // Nothing known: a push creates under the document; a pull finds nothing [K-ID-11].
        let none = Known::default();
        assert_eq!(
            resolve(&list, "C2", &none, true),
            Some(Resolved {
                document: "C2".into(),
                matched: 0,
                created: true
            })
        );
        assert_eq!(resolve(&list, "C2", &none, false), None);
        // S1 is an alias of C1 [K-ID-4].
        let k = known(&["C1"], &[("S1", "C1", true), ("F", "C1", true)]);
        assert_eq!(
            resolve(&list, "C2", &k, false),
            Some(Resolved {
                document: "C1".into(),
                matched: 1,
                created: false
            })
        );
        // Weakest first finds it through the weakest [K-ID-5].
        let reversed = [
            id("filename", "F"),
            id("structure", "S1"),
            id("content", "C2"),
        ];
        assert_eq!(resolve(&reversed, "C2", &k, false).unwrap().matched, 0);
        // A document in its own right wins over an alias of the same value [K-ID-7].
        let own = known(&["C1", "S1"], &[("S1", "C1", true)]);
        assert_eq!(resolve(&list, "C2", &own, false).unwrap().document, "S1");
        // A dead alias leads nowhere.
        let dead = known(&[], &[("S1", "C1", false)]);
        assert_eq!(resolve(&list, "C2", &dead, false), None);
        // The created record is the document's, not the first entry's [K-ID-8b].
        let filename_doc = [
            id("content", "WC"),
            id("structure", "WS"),
            id("filename", "W1"),
        ];
        assert_eq!(
            resolve(&filename_doc, "W1", &none, true),
            Some(Resolved {
                document: "W1".into(),
                matched: 2,
                created: true
            })
        );
        // A weak entry never finds the record on a push, but does on a pull.
        let weak = [
            id("content", "K2"),
            Identifier {
                weak: true,
                ..id("metadata", "M")
            },
        ];
        let k = known(&["K1"], &[("M", "K1", true)]);
        assert!(resolve(&weak, "K2", &k, true).unwrap().created);
        assert_eq!(resolve(&weak, "K2", &k, false).unwrap().document, "K1");
    }

    #[test]
    fn aliases_are_registered_below_the_match_only_and_never_over_a_document() {
        let list = [
            id("content", "C2"),
            id("structure", "S1"),
            id("filename", "F"),
        ];
        let created = Resolved {
            document: "C2".into(),
            matched: 0,
            created: true,
        };
        assert_eq!(
            to_register(&list, &created, &Known::default()),
            [("S1", "structure"), ("F", "filename")]
        );
        // Matched on structure: content (above) is not registered [K-ID-12b].
        let matched = Resolved {
            document: "C1".into(),
            matched: 1,
            created: false,
        };
        let k = known(&["C1"], &[("S1", "C1", true)]);
        assert_eq!(to_register(&list, &matched, &k), [("F", "filename")]);
        // A live alias is not repointed, a dead one is; a document is never shadowed.
        let k = known(&["C1", "F"], &[]);
        assert!(to_register(&list, &matched, &k).is_empty());
        let k = known(&[], &[("S1", "OLD", true), ("F", "GONE", false)]);
        assert_eq!(to_register(&list, &created, &k), [("F", "filename")]);
    }

    #[test]
    fn progress_match_names_the_strongest_identifier_shared_with_the_writer() {
        let list = [
            id("content", "C1"),
            id("structure", "S1"),
            id("filename", "F"),
        ];
        let writer: Vec<String> = vec!["C3".into(), "S3".into(), "F".into()];
        assert_eq!(progress_match(&list, 0, Some(&writer)), "filename");
        let same: Vec<String> = vec!["C1".into(), "S1".into()];
        assert_eq!(progress_match(&list, 0, Some(&same)), "content");
        let other: Vec<String> = vec!["X".into()];
        assert_eq!(progress_match(&list, 0, Some(&other)), "none");
        // Written without identifiers: as if by the stored document, so `match` [K-ID-6c].
        assert_eq!(progress_match(&list, 1, None), "structure");
        assert_eq!(
            writer_values(Some(
                &json!({"identifiers": [{"type": "content", "value": "A"}]})
            )),
            Some(vec!["A".to_owned()])
        );
        assert_eq!(writer_values(Some(&json!({"document": "A"}))), None);
    }
}
