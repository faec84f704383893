//! A person replacing a book's cover with an image of their own (the web app's book page).
//! Stored as ingest stores one: `covers/<id>.<ext>` and its thumbnail, rendered and checked
//! by `libris_formats::covers::render` before anything is written.

use std::path::Path;

use diesel::prelude::*;
use libris_formats::covers::{self, Cover};
use uuid::Uuid;

use super::{paths, review, storage};
use crate::db::schema::books;
use crate::error::Error;

/// An uploaded image as a cover, or why it is not one (a form error on `field`).
pub fn read(bytes: &[u8], field: &'static str) -> Result<Cover, Error> {
    covers::render(bytes).map_err(|e| Error::invalid(field, e.to_string()))
}

/// Gives the book this cover in place of the one it has (if any). The files are written
/// under temporary names first and take their places while the row is locked, after it
/// names them; an old cover of another type is removed once the new one stands. The update
/// moves `updated_at` and the library version (their triggers): cover links change with it.
pub fn replace(
    conn: &mut PgConnection,
    data_dir: &Path,
    book_id: Uuid,
    cover: &Cover,
) -> Result<(), Error> {
    let (staged_image, staged_thumb) = review::stage_cover(data_dir, book_id, cover)?;
    let (image, thumb) = paths::cover_files(data_dir, book_id, cover.extension);
    let relative = storage::relative(data_dir, &image);
    let result = conn.transaction(|conn| {
        let old: Option<String> = books::table
            .find(book_id)
            .select(books::cover_path)
            .for_update()
            .first::<Option<String>>(conn)
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("no book {book_id}")))?;
        diesel::update(books::table.find(book_id))
            .set((
                books::cover_path.eq(&relative),
                // A cover of one's own is nobody's URL.
                books::cover_url.eq(None::<String>),
            ))
            .execute(conn)?;
        std::fs::rename(&staged_image, &image)
            .and_then(|_| std::fs::rename(&staged_thumb, &thumb))
            .map_err(|e| Error::Internal(format!("placing a cover: {e}")))?;
        Ok(old)
    });
    match result {
        Ok(old) => {
            if let Some(old) = old.filter(|o| *o != relative) {
                if let Some(path) = storage::resolve(data_dir, &old) {
                    storage::remove_and_prune(&path, data_dir);
                }
            }
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(&staged_image);
            let _ = std::fs::remove_file(&staged_thumb);
            Err(e)
        }
    }
}
