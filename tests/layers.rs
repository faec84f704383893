//! The layers of docs/architecture.md, checked over the source: core names no domain or face
//! module, domain names no face (nor the app's state), faces name no other face (only the
//! app's state, their request context), and
//! `library` and `reading` do not both import each other; and faces hold no SQL (the domain
//! module that owns a table runs its statements). Reads `use crate::…` and `crate::…` paths
//! and the faces' source; needs no database.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of src/ and its layer: 0 core, 1 domain, 2 face, 3 the app.
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("db", 0),
    ("config", 0),
    ("secret", 0),
    ("settings", 0),
    ("http", 0),
    ("telemetry", 0),
    ("auth", 1),
    ("reading", 1),
    ("library", 1),
    ("hardcover", 1),
    ("cloud", 1),
    ("kosync", 2),
    ("opds", 2),
    ("api", 2),
    ("web", 2),
    ("dav", 2),
    ("notes", 2),
    ("state", 3),
    ("app", 3),
    ("background", 3),
    ("cli", 3),
    ("ops", 3),
    ("AppState", 3),
    ("build_app", 3),
    ("migrate", 3),
];

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|(_, l)| *l)
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules `source` names through `crate::`, including `use crate::{a, b::c}`.
fn named(source: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut names = BTreeSet::new();
    for (at, _) in source.match_indices("crate::") {
        let rest = &source[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group only: `crate::{a, b::{c, d}, e}` names a, b and e.
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        names.insert(ident(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names
}

/// The top-level module a file under src/ belongs to (`opds/pages.rs` → `opds`).
fn top_module(rel: &Path) -> String {
    let first = rel.components().next().unwrap().as_os_str();
    first.to_string_lossy().trim_end_matches(".rs").to_owned()
}

/// Every (file, module it names) that breaks the rules.
fn violations(src: &Path) -> Vec<String> {
    let mut files = vec![];
    sources(src, &mut files);
    let mut found = vec![];
    let mut imports: BTreeSet<(String, String)> = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = top_module(rel);
        let Some(own) = layer(&top) else { continue };
        let source = std::fs::read_to_string(&file).unwrap();
        for name in named(&source) {
            if name == top {
                continue;
            }
            let Some(theirs) = layer(&name) else { continue };
            imports.insert((top.clone(), name.clone()));
            // Faces are handed the app's state (their request context); they name no other
            // face, nor the app's wiring.
            let bad = if own == 2 {
                theirs >= 2 && !matches!(name.as_str(), "AppState" | "state")
            } else {
                theirs > own
            };
            if bad {
                found.push(format!("{} names {name}", rel.display()));
            }
        }
    }
    found.sort();
    if imports.contains(&("library".into(), "reading".into()))
        && imports.contains(&("reading".into(), "library".into()))
    {
        found.push("library and reading import each other".into());
    }
    found
}

/// What a face must not hold: statements and the schema are the domains' (docs/architecture.md).
const SQL_IN_A_FACE: &[&str] = &[
    "sql_query",
    "insert_into",
    "diesel::update",
    "diesel::delete",
    "db::schema",
];

/// `source` with `a::{b, c::d}` groups spelled out (`a::b`, `a::c::d`), one level deep, so
/// `use diesel::{update, …}` and `use crate::db::{schema, …}` are seen as well.
fn ungrouped(source: &str) -> String {
    let mut out = String::from(source);
    for (at, _) in source.match_indices("::{") {
        let head_start = source[..at]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .map_or(0, |i| i + 1);
        let head = &source[head_start..at];
        let group = &source[at + 3..];
        let end = group.find('}').unwrap_or(group.len());
        for item in group[..end].split(',') {
            out.push_str(&format!("\n{head}::{}", item.trim()));
        }
    }
    out
}

/// Every (file under a face, what it holds that belongs to a domain).
fn sql_in_faces(src: &Path) -> Vec<String> {
    let mut files = vec![];
    sources(src, &mut files);
    let mut found = vec![];
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        if layer(&top_module(rel)) != Some(2) {
            continue;
        }
        let source = ungrouped(&std::fs::read_to_string(&file).unwrap());
        for bad in SQL_IN_A_FACE {
            if source.contains(bad) {
                found.push(format!("{} holds {bad}", rel.display()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn faces_hold_no_sql() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = sql_in_faces(&src);
    assert!(
        found.is_empty(),
        "SQL in a face (move it to the domain module that owns the table):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_sql_check_sees_a_violation() {
    let dir = tree(&[
        (
            "api/books.rs",
            "fn f(c: &mut C) { diesel::sql_query(\"SELECT 1\").execute(c); }\n",
        ),
        (
            "api/keys.rs",
            "use crate::db::{models, schema::api_keys};\nuse diesel::{delete, update};\n",
        ),
        ("kosync.rs", "fn f() { diesel::insert_into(t::table); }\n"),
        ("web/mod.rs", "use crate::db::schema::books;\n"),
        // Domains and the app may: only faces are looked at.
        ("library.rs", "fn f() { sql_query(\"\"); }\n"),
        ("opds.rs", "use crate::library::catalog;\n"),
    ]);
    let found = sql_in_faces(dir.path());
    assert_eq!(
        found,
        [
            "api/books.rs holds sql_query",
            "api/keys.rs holds db::schema",
            "api/keys.rs holds diesel::delete",
            "api/keys.rs holds diesel::update",
            "kosync.rs holds insert_into",
            "web/mod.rs holds db::schema",
        ],
        "{found:?}"
    );
}

/// A source tree of `files` (path, text) in a temporary directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_a_violation() {
    let dir = tree(&[
        ("db/mod.rs", "use crate::{error::Error, reading::state};\n"),
        ("opds.rs", "fn f() { crate::api::x(); }\n"),
        ("reading.rs", "use crate::library::x;\n"),
        ("library.rs", "use crate::reading::y;\n"),
        ("api.rs", "use crate::{library, reading, db, AppState};\n"),
        ("hardcover.rs", "use crate::AppState;\n"),
        (
            "settings.rs",
            "use crate::{db::{self, Conn}, library, error};\n",
        ),
    ]);
    let found = violations(dir.path());
    assert_eq!(
        found,
        [
            "db/mod.rs names reading",
            "hardcover.rs names AppState",
            "opds.rs names api",
            "settings.rs names library",
            "library and reading import each other"
        ],
        "{found:?}"
    );
}
