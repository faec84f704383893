//! Every write to the reading tables from outside the KoSync report itself goes through here:
//! `reading` owns `reading_progress`, `reading_progress_history` and `reading_aggregate`.
//! (The report is [`super::record`]; re-resolving after links change is [`super::relink`];
//! rebuilds and the sweep are [`super::state`].) The effective `status` is a generated column:
//! nothing here writes it.

use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use uuid::Uuid;

use super::derive::Manual;
use crate::db::models::ReadingStatus;
use crate::db::schema::reading_progress_history as rh;
use crate::db::schema::sql_types::ReadingStatus as SqlStatus;
use crate::db::schema::{reading_aggregate as ra, reading_progress as rp};
use crate::error::Error;

/// Sets a reader's status of a book by hand (already validated by the rules).
pub fn set_manual(
    conn: &mut PgConnection,
    reader: Uuid,
    book: Uuid,
    manual: &Manual,
) -> Result<(), Error> {
    diesel::insert_into(ra::table)
        .values((
            ra::api_key_id.eq(reader),
            ra::book_id.eq(book),
            ra::manual_status.eq(manual.status),
            ra::manual_started_at.eq(manual.started_at),
            ra::manual_finished_at.eq(manual.finished_at),
            ra::manual_paused_at.eq(manual.paused_at),
            ra::manual_set_at.eq(diesel::dsl::now),
        ))
        .on_conflict((ra::api_key_id, ra::book_id))
        .do_update()
        .set((
            ra::manual_status.eq(manual.status),
            ra::manual_started_at.eq(manual.started_at),
            ra::manual_finished_at.eq(manual.finished_at),
            ra::manual_paused_at.eq(manual.paused_at),
            ra::manual_set_at.eq(diesel::dsl::now),
            ra::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Clears a reader's manual status of a book: the history (or a sync service) decides again.
pub fn clear_manual(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<(), Error> {
    diesel::update(ra::table.filter(ra::api_key_id.eq(reader).and(ra::book_id.eq(book))))
        .set((
            ra::manual_status.eq(None::<ReadingStatus>),
            ra::manual_started_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ra::manual_finished_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ra::manual_paused_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ra::manual_set_at.eq(None::<chrono::DateTime<chrono::Utc>>),
            ra::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)?;
    Ok(())
}

/// A sync service's statuses of a reader's books, as pulled: `changed` books take the
/// status beside them, `seen` books only have their sync time moved, `cleared` books left the
/// reader's shelf there. One transaction, three statements however many books.
pub fn set_external(
    conn: &mut PgConnection,
    reader: Uuid,
    changed: &[(Uuid, ReadingStatus)],
    seen: &[Uuid],
    cleared: &[Uuid],
) -> Result<(), Error> {
    let (books, statuses): (Vec<Uuid>, Vec<ReadingStatus>) = changed.iter().copied().unzip();
    conn.transaction(|conn| {
        diesel::sql_query(include_str!("sql/external_set.sql"))
            .bind::<SqlUuid, _>(reader)
            .bind::<Array<SqlUuid>, _>(&books)
            .bind::<Array<SqlStatus>, _>(&statuses)
            .execute(conn)?;
        diesel::sql_query(include_str!("sql/external_seen.sql"))
            .bind::<SqlUuid, _>(reader)
            .bind::<Array<SqlUuid>, _>(seen)
            .execute(conn)?;
        diesel::sql_query(include_str!("sql/external_clear.sql"))
            .bind::<SqlUuid, _>(reader)
            .bind::<Array<SqlUuid>, _>(cleared)
            .execute(conn)?;
        Ok(())
    })
}

/// Forgets everything a reader read: current positions, history, aggregates, KoSync's
/// aliases of their documents, and the page
/// turns of KOReader's statistics (a later upload of the file brings those back: KOReader
/// keeps them).
pub fn forget_reader(conn: &mut PgConnection, reader: Uuid) -> Result<(), Error> {
    use crate::db::schema::{
        reading_aliases as al, reading_page_events as pe, reading_stat_books as sb,
    };
    conn.transaction(|conn| {
        diesel::delete(al::table.filter(al::api_key_id.eq(reader))).execute(conn)?;
        diesel::delete(rp::table.filter(rp::api_key_id.eq(reader))).execute(conn)?;
        diesel::delete(rh::table.filter(rh::api_key_id.eq(reader))).execute(conn)?;
        diesel::delete(ra::table.filter(ra::api_key_id.eq(reader))).execute(conn)?;
        diesel::delete(pe::table.filter(pe::api_key_id.eq(reader))).execute(conn)?;
        diesel::delete(sb::table.filter(sb::api_key_id.eq(reader))).execute(conn)?;
        Ok(())
    })
}

/// Forgets a reader's current positions and history of one book (the aggregate is then
/// rebuilt by [`super::state::rebuild`]).
pub fn forget_progress(conn: &mut PgConnection, reader: Uuid, book: Uuid) -> Result<(), Error> {
    use crate::db::schema::{document_links as dl, reading_page_events as pe};
    diesel::delete(rp::table.filter(rp::api_key_id.eq(reader).and(rp::book_id.eq(book))))
        .execute(conn)?;
    diesel::delete(rh::table.filter(rh::api_key_id.eq(reader).and(rh::book_id.eq(book))))
        .execute(conn)?;
    // The book's page turns too (its documents' links say which).
    let documents = dl::table.filter(dl::book_id.eq(book)).select(dl::document);
    diesel::delete(
        pe::table.filter(
            pe::api_key_id
                .eq(reader)
                .and(pe::document.eq_any(documents)),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// A book is going: its aggregates go with it (positions and history stay, unlinked by the
/// database's `ON DELETE SET NULL`).
pub fn forget_book(conn: &mut PgConnection, book: Uuid) -> Result<(), Error> {
    diesel::delete(ra::table.filter(ra::book_id.eq(book))).execute(conn)?;
    Ok(())
}

/// Books `from` are becoming part of book `into` (one work, several files): every reader's
/// positions and history move to it, each reader's manual and sync statuses too (the newest
/// decision wins), and the aggregates are rebuilt. Part of the caller's transaction.
pub fn merge_books(conn: &mut PgConnection, into: Uuid, from: &[Uuid]) -> Result<(), Error> {
    diesel::update(rp::table.filter(rp::book_id.eq_any(from)))
        .set(rp::book_id.eq(into))
        .execute(conn)?;
    diesel::update(rh::table.filter(rh::book_id.eq_any(from)))
        .set(rh::book_id.eq(into))
        .execute(conn)?;
    diesel::sql_query(include_str!("sql/merge_statuses.sql"))
        .bind::<SqlUuid, _>(into)
        .bind::<Array<SqlUuid>, _>(from)
        .execute(conn)?;
    diesel::delete(ra::table.filter(ra::book_id.eq_any(from))).execute(conn)?;
    let rules = super::state::rules(conn)?;
    super::state::rebuild(conn, &rules, None, Some(into))?;
    Ok(())
}

/// Forgets the page turns of a reader's statistics of a document that resolves to no book
/// (and the statistics' book row). Ok(false) when there were none.
fn forget_unmatched_statistics(
    conn: &mut PgConnection,
    reader: Uuid,
    document: &str,
) -> Result<bool, Error> {
    use crate::db::schema::{reading_page_events as pe, reading_stat_books as sb};
    if !super::devices::is_unmatched(conn, reader, document)? {
        return Ok(false);
    }
    diesel::delete(pe::table.filter(pe::api_key_id.eq(reader).and(pe::document.eq(document))))
        .execute(conn)?;
    let books =
        diesel::delete(sb::table.filter(sb::api_key_id.eq(reader).and(sb::document.eq(document))))
            .execute(conn)?;
    Ok(books > 0)
}

/// Forgets a reader's reports of a document that matched no book (its current rows and
/// history): a file they no longer read, or a test. Ok(false) when there was none; a document
/// of a book keeps its rows (they count for the book: forget the book's reading instead).
pub fn forget_unmatched(
    conn: &mut PgConnection,
    reader: Uuid,
    document: &str,
) -> Result<bool, Error> {
    conn.transaction(|conn| {
        let mine = rp::api_key_id.eq(reader).and(rp::document.eq(document));
        let current =
            diesel::delete(rp::table.filter(mine.and(rp::book_id.is_null()))).execute(conn)?;
        if current == 0 {
            return forget_unmatched_statistics(conn, reader, document);
        }
        diesel::delete(
            rh::table.filter(
                rh::api_key_id
                    .eq(reader)
                    .and(rh::document.eq(document))
                    .and(rh::book_id.is_null()),
            ),
        )
        .execute(conn)?;
        Ok(true)
    })
}
