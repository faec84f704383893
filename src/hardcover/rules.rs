//! How reading states map to and from Hardcover, and when a reader's state is worth sending:
//! pure, so the sync's decisions are tested without Hardcover or a database.

use crate::db::models::ReadingStatus;

/// A Hardcover `user_books.status_id` as a libris reading status: 1 want to read → unread,
/// 2 reading, 3 read → finished, 4 paused, 5 did not finish → paused. None: an id Hardcover
/// may add later, which is left alone.
pub fn from_hardcover(status_id: i64) -> Option<ReadingStatus> {
    match status_id {
        1 => Some(ReadingStatus::Unread),
        2 => Some(ReadingStatus::Reading),
        3 => Some(ReadingStatus::Finished),
        4 | 5 => Some(ReadingStatus::Paused),
        _ => None,
    }
}

/// The status to send for a reader's book: their manual override, else what their own
/// reading says. Never the status that came from Hardcover (that would echo it back, and
/// a change made on Hardcover would loop), and never unread (not having read a book in
/// libris says nothing about the shelf it has on Hardcover).
pub fn to_push(manual: Option<ReadingStatus>, derived: ReadingStatus) -> Option<i64> {
    match manual.unwrap_or(derived) {
        ReadingStatus::Unread => None,
        ReadingStatus::Reading => Some(2),
        ReadingStatus::Finished => Some(3),
        ReadingStatus::Paused => Some(4),
    }
}

/// Pages read in an edition of `pages` pages at `percentage` (0–1); None when the edition
/// has no page count.
pub fn progress_pages(percentage: f64, pages: Option<i32>) -> Option<i32> {
    let pages = pages.filter(|p| *p > 0)?;
    let fraction = if percentage.is_finite() {
        percentage.clamp(0.0, 1.0)
    } else {
        0.0
    };
    Some((fraction * f64::from(pages)).round() as i32)
}

/// What was last sent for a book (hardcover_sync_log), or is about to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub status: i64,
    pub progress_pages: Option<i32>,
}

/// Whether `now` differs from what was sent last, so that an unchanged book costs Hardcover
/// no request.
pub fn changed(last: Option<&Sent>, now: &Sent) -> bool {
    last != Some(now)
}

/// Whether Hardcover's status (None: not on the shelf) must change to show `to_send`: not
/// when both mean the same in libris (did not finish and paused are both paused, so a
/// paused reading never turns a did-not-finish into paused).
pub fn status_differs(on_hardcover: Option<i64>, to_send: i64) -> bool {
    match on_hardcover {
        None => true,
        Some(h) => h != to_send && from_hardcover(h) != from_hardcover(to_send),
    }
}

/// Whether a first sync of a book (nothing logged yet) leaves Hardcover's status alone: a
/// book Hardcover has as read (3) or did not finish (5) is not moved back to reading or
/// paused by an older or partial reading in libris. Later local changes are sent as usual.
pub fn keeps_hardcover(logged: bool, on_hardcover: Option<i64>, to_send: i64) -> bool {
    !logged && matches!(on_hardcover, Some(3 | 5)) && to_send != 3
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReadingStatus::*;

    #[test]
    fn hardcover_statuses() {
        let mapped: Vec<_> = (0..=6).map(from_hardcover).collect();
        assert_eq!(
            mapped,
            [
                None,
                Some(Unread),
                Some(Reading),
                Some(Finished),
                Some(Paused),
                Some(Paused),
                None
            ]
        );
    }

    #[test]
    fn what_is_pushed_is_the_readers_own() {
        assert_eq!(to_push(None, Reading), Some(2));
        assert_eq!(to_push(None, Finished), Some(3));
        assert_eq!(to_push(None, Paused), Some(4));
        assert_eq!(to_push(None, Unread), None, "never unread");
        assert_eq!(
            to_push(Some(Finished), Reading),
            Some(3),
            "the override wins"
        );
        assert_eq!(to_push(Some(Unread), Reading), None);
    }

    #[test]
    fn pages() {
        assert_eq!(progress_pages(0.5, Some(300)), Some(150));
        assert_eq!(progress_pages(0.3333, Some(100)), Some(33));
        assert_eq!(progress_pages(1.2, Some(100)), Some(100));
        assert_eq!(progress_pages(f64::NAN, Some(100)), Some(0));
        assert_eq!(progress_pages(0.5, None), None);
        assert_eq!(progress_pages(0.5, Some(0)), None);
    }

    #[test]
    fn a_first_look_never_undoes_read() {
        assert!(keeps_hardcover(false, Some(3), 2));
        assert!(keeps_hardcover(false, Some(3), 4));
        assert!(!keeps_hardcover(false, Some(3), 3));
        assert!(
            !keeps_hardcover(true, Some(3), 2),
            "a later local change is sent"
        );
        assert!(!keeps_hardcover(false, Some(1), 2));
        assert!(!keeps_hardcover(false, None, 2));
        assert!(keeps_hardcover(false, Some(5), 4), "did not finish stays");
    }

    #[test]
    fn did_not_finish_and_paused_are_the_same_status() {
        assert!(!status_differs(Some(5), 4));
        assert!(!status_differs(Some(4), 4));
        assert!(status_differs(Some(5), 2));
        assert!(status_differs(Some(1), 2));
        assert!(status_differs(None, 4));
    }

    #[test]
    fn only_changes_are_sent() {
        let sent = Sent {
            status: 2,
            progress_pages: Some(40),
        };
        assert!(changed(None, &sent));
        assert!(!changed(Some(&sent), &sent.clone()));
        let further = Sent {
            progress_pages: Some(41),
            ..sent.clone()
        };
        assert!(changed(Some(&sent), &further));
        let done = Sent {
            status: 3,
            ..sent.clone()
        };
        assert!(changed(Some(&sent), &done));
    }
}
