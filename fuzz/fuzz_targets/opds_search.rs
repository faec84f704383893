//! OPDS search: the query string of `/opds/search?q=…` (or OPDS 2.0's `query=`) and
//! `catalog::search_query`, which turns the user's words into a PostgreSQL tsquery. The
//! result goes to to_tsquery(), so it must be exactly `'w1' & … & 'wn':*` with no quote,
//! backslash or tsquery operator inside a word, at most 16 words.
#![no_main]

use std::collections::HashMap;

use actix_web::web::Query;
use libfuzzer_sys::fuzz_target;
use libris::opds::catalog::search_query;
use libris::opds::handlers::SearchQuery;

fn check(terms: &str) {
    let Some(q) = search_query(terms) else {
        assert!(!terms.chars().any(char::is_alphanumeric), "{terms:?}");
        return;
    };
    let body = q.strip_suffix(":*").unwrap_or_else(|| panic!("{q:?}"));
    let words: Vec<&str> = body.split(" & ").collect();
    assert!(!words.is_empty() && words.len() <= 16, "{q:?}");
    for w in words {
        let inner = w
            .strip_prefix('\'')
            .and_then(|w| w.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{q:?}"));
        assert!(!inner.is_empty(), "{q:?}");
        assert!(
            !inner.contains(['\'', '\\', '&', '|', '!', ':', '(', ')', '<', '>', '*', ' ']),
            "{q:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text);
    let _ = Query::<SearchQuery>::from_query(&text);
    if let Ok(params) = Query::<HashMap<String, String>>::from_query(&text) {
        for key in ["q", "query"] {
            if let Some(terms) = params.get(key) {
                check(terms);
            }
        }
    }
});
