//! Where each kind of file goes under the data dir (see [`super::storage`]).

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::storage::{sanitize, COVERS, INBOX, LIBRARY};

/// `<data>/covers/<id>.<ext>` and its thumbnail `<data>/covers/<id>.thumb.jpg`.
pub fn cover_files(data_dir: &Path, book_id: Uuid, extension: &str) -> (PathBuf, PathBuf) {
    let dir = data_dir.join(COVERS);
    (
        dir.join(format!("{book_id}.{extension}")),
        dir.join(format!("{book_id}.thumb.jpg")),
    )
}

/// The thumbnail beside a stored cover path (relative or absolute).
pub fn thumbnail_of(cover: &str) -> Option<String> {
    let (stem, _) = cover.rsplit_once('.')?;
    Some(format!("{stem}.thumb.jpg"))
}

pub fn inbox_dir(data_dir: &Path, book_id: Uuid) -> PathBuf {
    data_dir.join(INBOX).join(book_id.to_string())
}

/// `<data>/library/<Author>/<Title>/`, where an organized book's files go (named with
/// [`storage::place`], which numbers a taken name). Never outside the library root: every
/// part is sanitised to a single path component.
pub fn library_dir(data_dir: &Path, title: Option<&str>, author: &Option<String>) -> PathBuf {
    let author = sanitize(author.as_deref().unwrap_or("Unknown Author"), 100);
    let title = sanitize(title.unwrap_or("Untitled"), 120);
    data_dir.join(LIBRARY).join(author).join(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn library_paths_stay_in_the_library() {
        let data = Path::new("/data");
        let p = library_dir(data, Some("../../etc"), &Some("/root".into()));
        assert!(p.starts_with("/data/library"), "{p:?}");
        assert_eq!(
            p.components().count(),
            Path::new("/data/library/a/b").components().count()
        );
        let p = library_dir(data, None, &None);
        assert_eq!(p, Path::new("/data/library/Unknown Author/Untitled"));
    }

    #[test]
    fn thumbnails_sit_beside_covers() {
        assert_eq!(
            thumbnail_of("covers/ab.png").unwrap(),
            "covers/ab.thumb.jpg"
        );
    }
}
