//! The layers of docs/architecture.md, checked over the source: core names no domain or face
//! module, domain names no face (nor the app's state), faces name no other face (only the
//! app's state, their request context), and
//! `library` and `reading` do not both import each other. Reads `use crate::…` and
//! `crate::…` paths; needs no database.

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
    ("auth", 1),
    ("reading", 1),
    ("library", 1),
    ("hardcover", 1),
    ("kosync", 2),
    ("opds", 2),
    ("api", 2),
    ("web", 2),
    ("state", 3),
    ("app", 3),
    ("background", 3),
    ("cli", 3),
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
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                names.insert(ident(item.trim()));
            }
        } else {
            names.insert(ident(rest));
        }
    }
    names.remove("");
    names
}

/// Every (file, module it names) that breaks the rules.
fn violations(src: &Path) -> Vec<String> {
    let mut files = vec![];
    sources(src, &mut files);
    let mut found = vec![];
    let mut imports: BTreeSet<(String, String)> = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
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

#[test]
fn dependencies_point_one_way() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    assert!(found.is_empty(), "layering broken:\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_a_violation() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("db")).unwrap();
    std::fs::write(
        src.join("db/mod.rs"),
        "use crate::{error::Error, reading::state};\n",
    )
    .unwrap();
    std::fs::write(src.join("opds.rs"), "fn f() { crate::api::x(); }\n").unwrap();
    std::fs::write(src.join("reading.rs"), "use crate::library::x;\n").unwrap();
    std::fs::write(src.join("library.rs"), "use crate::reading::y;\n").unwrap();
    std::fs::write(
        src.join("api.rs"),
        "use crate::{library, reading, db, AppState};\n",
    )
    .unwrap();
    std::fs::write(src.join("hardcover.rs"), "use crate::AppState;\n").unwrap();
    let found = violations(src);
    assert_eq!(
        found,
        [
            "db/mod.rs names reading",
            "hardcover.rs names AppState",
            "opds.rs names api",
            "library and reading import each other"
        ],
        "{found:?}"
    );
}
