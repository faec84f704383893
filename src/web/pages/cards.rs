//! What the library's pages share: a book as a card of the cover grid or a row of the list,
//! the addresses of its cover (versioned: cached for good), sizes and dates for people.

use chrono::{DateTime, Utc};
use maud::{html, Markup};

use crate::db::models::Book;

/// Width and height a thumbnail is laid out at (the image itself is at most 300 px high).
pub const THUMB: (u32, u32) = (200, 300);

/// A book's title for people (the file had none: "Untitled").
pub fn title(book: &Book) -> &str {
    book.title
        .as_deref()
        .filter(|t| !t.is_empty())
        .unwrap_or("Untitled")
}

/// The version a cover's address carries: the book's last change, so a new cover is a new
/// address and the old one may be kept for good.
pub fn version(book: &Book) -> i64 {
    book.updated_at.timestamp_micros()
}

pub fn thumbnail_url(book: &Book) -> String {
    format!("/books/{}/thumbnail?v={}", book.id, version(book))
}

pub fn cover_url(book: &Book) -> String {
    format!("/books/{}/cover?v={}", book.id, version(book))
}

/// The thumbnail, lazily loaded, or a plain box for a book without a cover.
pub fn thumbnail(book: &Book) -> Markup {
    html! {
        @if book.cover_path.is_some() {
            img.cover src=(thumbnail_url(book)) alt="" loading="lazy" decoding="async"
                width=(THUMB.0) height=(THUMB.1);
        } @else {
            span.cover.placeholder aria-hidden="true" { (title(book)) }
        }
    }
}

/// A book of the cover grid, with how far the reader is when given (0–100).
pub fn card(book: &Book, progress: Option<u8>) -> Markup {
    html! {
        a.card href={ "/books/" (book.id) } {
            (thumbnail(book))
            span.title { (title(book)) }
            @if let Some(author) = &book.author { span.author { (author) } }
            @if let Some(p) = progress {
                progress max="100" value=(p) aria-label={ (p) "% read" } { (p) "%" }
            }
        }
    }
}

/// A grid of cards.
pub fn grid<'a>(books: impl IntoIterator<Item = (&'a Book, Option<u8>)>) -> Markup {
    html! {
        div.covers {
            @for (book, progress) in books { (card(book, progress)) }
        }
    }
}

/// One row of cards, scrolled sideways (the home page's).
pub fn row<'a>(books: impl IntoIterator<Item = (&'a Book, Option<u8>)>) -> Markup {
    html! {
        div.covers.row {
            @for (book, progress) in books { (card(book, progress)) }
        }
    }
}

/// A fraction read (0–1) as a whole percentage.
pub fn percent(fraction: f64) -> u8 {
    if fraction.is_finite() {
        (fraction.clamp(0.0, 1.0) * 100.0).round() as u8
    } else {
        0
    }
}

/// A file size for people: 1.4 MB, 312 KB, 900 bytes.
pub fn size(bytes: i64) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if value < 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A moment, as the pages write it.
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// How long before `now` a moment was, as people say it ("3 hours ago"); a moment in the
/// future (a clock ahead) is "just now".
pub fn ago(t: DateTime<Utc>, now: DateTime<Utc>) -> String {
    match (now - t).to_std() {
        Ok(d) if d.as_secs() >= 60 => timeago::Formatter::new().convert(d),
        _ => "just now".to_owned(),
    }
}

/// A moment both ways: relative, with the exact time beside it and in `datetime`.
pub fn moment(t: DateTime<Utc>, now: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) title=(when(t)) {
            (ago(t, now))
        }
        " " span.exact { "(" (when(t)) ")" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(size(900), "900 bytes");
        assert_eq!(size(1_400_000), "1.4 MB");
        assert_eq!(size(312_000), "312 KB");
        assert_eq!(size(25_000_000_000), "25 GB");
    }

    #[test]
    fn moments_read_relative_to_now() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .to_utc();
        let before = |secs: i64| now - chrono::Duration::seconds(secs);
        assert_eq!(ago(before(5), now), "just now");
        assert_eq!(ago(now + chrono::Duration::hours(1), now), "just now");
        assert_eq!(ago(before(3 * 3600 + 60), now), "3 hours ago");
        assert_eq!(ago(before(2 * 86400), now), "2 days ago");
        let shown = moment(before(3600), now).into_string();
        assert!(
            shown.contains("datetime=\"2026-12-06T11:00:00Z\""),
            "{shown}"
        );
        assert!(
            shown.contains("1 hour ago") && shown.contains("2026-12-06 11:00 UTC"),
            "{shown}"
        );
    }

    #[test]
    fn percentages_stay_in_range() {
        assert_eq!(percent(0.456), 46);
        assert_eq!(percent(1.7), 100);
        assert_eq!(percent(f64::NAN), 0);
    }
}
