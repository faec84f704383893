//! No user enumeration: a KoSync login for an unknown username and one with a wrong key for a
//! known username take the same time. Measured in interleaved pairs (so load on the machine
//! weighs on both alike), compared by their medians.

use std::time::Instant;

use crate::common::{TestApp, KEY};
use crate::Figures;

const PAIRS: usize = 200;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub async fn run(figures: &mut Figures) {
    let app = TestApp::start();
    assert_eq!(app.create_user("ann", KEY).await.status, 201);
    let (mut unknown, mut wrong) = (vec![], vec![]);
    for i in 0..PAIRS {
        // Each try a new wrong key: a cached verification would answer in microseconds.
        let key = format!("{:032x}", i + 1);
        let t = Instant::now();
        let a = app.auth(&format!("nobody-{i}"), &key).await.status;
        unknown.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let b = app.auth("ann", &key).await.status;
        wrong.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!((a, b), (401, 401), "the same answer for both");
    }
    let (u, w) = (median(unknown), median(wrong));
    let ratio = u / w;
    figures.row(
        &format!("{PAIRS} KoSync logins each: median ms, unknown user"),
        (u * 10.0).round() / 10.0,
        "",
        true,
    );
    figures.row(
        "  median ms, wrong key of a known user",
        (w * 10.0).round() / 10.0,
        "",
        true,
    );
    figures.row(
        "  unknown / wrong (user enumeration by timing)",
        (ratio * 100.0).round() / 100.0,
        "0.8 – 1.25",
        (0.8..=1.25).contains(&ratio),
    );
}
