//! End-to-end tests in a real browser: headless Chromium over WebDriver
//! (`libris_test_support::browser`, docs/testing.md). Without Chromium, chromedriver and
//! axe-core these tests are skipped, unless `CI` is set or `LIBRIS_REQUIRE_BROWSER=1`;
//! `make test` and `make browser` install them. Screenshots go to `target/screenshots/`.
//!
//! `harness` proves the harness on pages of its own, with no database: the web app's tests
//! sit beside it.

mod flows;
mod harness;
