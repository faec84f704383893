//! Collections: a reader's own shelves of books in an order they choose, or library-wide ones
//! an admin makes (no owner), and sharing one by a link.
//!
//! Who sees what: a reader sees their own collections and the library-wide ones; they change
//! only their own; an admin also changes the library-wide ones. Another reader's collection
//! is NotFound, never Forbidden (its existence is theirs). Only organized books are listed.
//!
//! A share is a random 32-byte token (hex) given once; `collection_shares` keeps its SHA-256
//! and an optional end. [`shared`] answers for a token only while the share row exists and
//! has not ended, and then only the collection's own books: the token opens nothing else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use uuid::Uuid;

use crate::auth::sessions::new_token;
use crate::auth::sha256_hex;
use crate::db::models::{Book, BookStatus};
use crate::db::schema::{books, collection_books as cb, collection_shares as cs, collections as c};
use crate::error::Error;

pub const MAX_NAME: usize = 200;
pub const MAX_DESCRIPTION: usize = 5000;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, serde::Serialize, utoipa::ToSchema)]
#[diesel(table_name = c)]
pub struct Collection {
    pub id: Uuid,
    /// The reader it belongs to; None: library-wide.
    pub api_key_id: Option<Uuid>,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who is asking: a reader, admin or not.
#[derive(Debug, Clone, Copy)]
pub struct Asker {
    pub reader: Uuid,
    pub admin: bool,
}

impl Collection {
    pub fn library_wide(&self) -> bool {
        self.api_key_id.is_none()
    }

    /// Whether `who` may change it: their own, or a library-wide one for an admin.
    pub fn editable_by(&self, who: Asker) -> bool {
        match self.api_key_id {
            Some(owner) => owner == who.reader,
            None => who.admin,
        }
    }
}

/// A collection with how many organized books it holds, and its share's end if it is shared.
#[derive(Debug, Clone)]
pub struct Listed {
    pub collection: Collection,
    pub books: i64,
    pub shared: Option<Share>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Checks a name and a description as given; returns them trimmed.
pub fn check(name: &str, description: &str) -> Result<(String, String), Error> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME {
        return Err(Error::invalid(
            "name",
            format!("must be 1–{MAX_NAME} characters"),
        ));
    }
    if name.contains('\0') {
        return Err(Error::invalid("name", "must not hold a NUL character"));
    }
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION || description.contains('\0') {
        return Err(Error::invalid(
            "description",
            format!("must be at most {MAX_DESCRIPTION} characters, without NUL"),
        ));
    }
    Ok((name.to_owned(), description.to_owned()))
}

/// The collections `who` sees: their own, then the library-wide ones, each by name.
pub fn list(conn: &mut PgConnection, who: Asker) -> Result<Vec<Listed>, Error> {
    let rows: Vec<Collection> = c::table
        .filter(c::api_key_id.eq(who.reader).or(c::api_key_id.is_null()))
        .order((c::api_key_id.is_null(), c::name, c::id))
        .select(Collection::as_select())
        .load(conn)?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let counts: Vec<(Uuid, i64)> = cb::table
        .inner_join(books::table)
        .filter(cb::collection_id.eq_any(&ids))
        .filter(books::status.eq(BookStatus::Organized))
        .group_by(cb::collection_id)
        .select((cb::collection_id, diesel::dsl::count_star()))
        .load(conn)?;
    let shares: Vec<(Uuid, DateTime<Utc>, Option<DateTime<Utc>>)> = cs::table
        .filter(cs::collection_id.eq_any(&ids))
        .select((cs::collection_id, cs::created_at, cs::expires_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|collection| Listed {
            books: counts
                .iter()
                .find(|(id, _)| *id == collection.id)
                .map_or(0, |(_, n)| *n),
            shared: shares.iter().find(|(id, ..)| *id == collection.id).map(
                |(_, created_at, expires_at)| Share {
                    created_at: *created_at,
                    expires_at: *expires_at,
                },
            ),
            collection,
        })
        .collect())
}

/// The collections `who` may add books to (their own; the library-wide ones for an admin),
/// by name.
pub fn editable_by(conn: &mut PgConnection, who: Asker) -> Result<Vec<Collection>, Error> {
    let mut query = c::table.into_boxed();
    query = if who.admin {
        query.filter(c::api_key_id.eq(who.reader).or(c::api_key_id.is_null()))
    } else {
        query.filter(c::api_key_id.eq(who.reader))
    };
    Ok(query
        .order((c::api_key_id.is_null(), c::name, c::id))
        .select(Collection::as_select())
        .load(conn)?)
}

/// A collection's share, if it has one.
pub fn share_of(conn: &mut PgConnection, id: Uuid) -> Result<Option<Share>, Error> {
    let row: Option<(DateTime<Utc>, Option<DateTime<Utc>>)> = cs::table
        .find(id)
        .select((cs::created_at, cs::expires_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(created_at, expires_at)| Share {
        created_at,
        expires_at,
    }))
}

/// A collection `who` sees; NotFound otherwise.
pub fn get(conn: &mut PgConnection, who: Asker, id: Uuid) -> Result<Collection, Error> {
    c::table
        .find(id)
        .filter(c::api_key_id.eq(who.reader).or(c::api_key_id.is_null()))
        .select(Collection::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| Error::NotFound("no such collection".into()))
}

/// A collection `who` may change; NotFound when they cannot see it, Forbidden when they see
/// it but may not change it (a library-wide one, for a reader).
fn editable(conn: &mut PgConnection, who: Asker, id: Uuid) -> Result<Collection, Error> {
    let found = get(conn, who, id)?;
    if !found.editable_by(who) {
        return Err(Error::Forbidden(
            "Only an admin changes a library-wide collection.".into(),
        ));
    }
    Ok(found)
}

/// Makes a collection: the reader's own, or library-wide (`library_wide`, admins only).
pub fn create(
    conn: &mut PgConnection,
    who: Asker,
    name: &str,
    description: &str,
    library_wide: bool,
) -> Result<Collection, Error> {
    let (name, description) = check(name, description)?;
    if library_wide && !who.admin {
        return Err(Error::Forbidden(
            "Only an admin makes a library-wide collection.".into(),
        ));
    }
    let owner = (!library_wide).then_some(who.reader);
    Ok(diesel::insert_into(c::table)
        .values((
            c::api_key_id.eq(owner),
            c::name.eq(name),
            c::description.eq(description),
        ))
        .returning(Collection::as_returning())
        .get_result(conn)?)
}

pub fn rename(
    conn: &mut PgConnection,
    who: Asker,
    id: Uuid,
    name: &str,
    description: &str,
) -> Result<Collection, Error> {
    let (name, description) = check(name, description)?;
    editable(conn, who, id)?;
    Ok(diesel::update(c::table.find(id))
        .set((
            c::name.eq(name),
            c::description.eq(description),
            c::updated_at.eq(diesel::dsl::now),
        ))
        .returning(Collection::as_returning())
        .get_result(conn)?)
}

pub fn delete(conn: &mut PgConnection, who: Asker, id: Uuid) -> Result<(), Error> {
    editable(conn, who, id)?;
    diesel::delete(c::table.find(id)).execute(conn)?;
    Ok(())
}

/// The collection's organized books in their order.
pub fn books_of(conn: &mut PgConnection, id: Uuid) -> Result<Vec<Book>, Error> {
    Ok(cb::table
        .inner_join(books::table)
        .filter(cb::collection_id.eq(id))
        .filter(books::status.eq(BookStatus::Organized))
        .order((cb::position, cb::added_at, books::id))
        .select(Book::as_select())
        .load(conn)?)
}

/// A page of a collection `who` sees, for the catalog: how many organized books it holds and
/// this page's ids in its order (NotFound for one they do not see).
pub fn page_of(
    conn: &mut PgConnection,
    who: Asker,
    id: Uuid,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    get(conn, who, id)?;
    page_ids(conn, id, page, size)
}

/// A page of the collection a share token opens (NotFound when it opens none).
pub fn shared_page_of(
    conn: &mut PgConnection,
    token: &str,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let c = shared(conn, token)?;
    page_ids(conn, c.id, page, size)
}

fn page_ids(
    conn: &mut PgConnection,
    id: Uuid,
    page: i64,
    size: i64,
) -> Result<(i64, Vec<Uuid>), Error> {
    let listed = || {
        cb::table
            .inner_join(books::table)
            .filter(cb::collection_id.eq(id))
            .filter(books::status.eq(BookStatus::Organized))
    };
    let total: i64 = listed().count().get_result(conn)?;
    let ids = listed()
        .order((cb::position, cb::added_at, books::id))
        .select(books::id)
        .limit(size)
        .offset((page - 1) * size)
        .load(conn)?;
    Ok((total, ids))
}

/// Adds an organized book at the end (already there: nothing changes).
pub fn add(conn: &mut PgConnection, who: Asker, id: Uuid, book: Uuid) -> Result<(), Error> {
    conn.transaction(|conn| {
        editable(conn, who, id)?;
        super::books::organized(conn, book)?;
        let last: Option<i32> = cb::table
            .filter(cb::collection_id.eq(id))
            .select(diesel::dsl::max(cb::position))
            .first(conn)?;
        diesel::insert_into(cb::table)
            .values((
                cb::collection_id.eq(id),
                cb::book_id.eq(book),
                cb::position.eq(last.unwrap_or(0) + 1),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        touch(conn, id)
    })
}

pub fn remove(conn: &mut PgConnection, who: Asker, id: Uuid, book: Uuid) -> Result<(), Error> {
    conn.transaction(|conn| {
        editable(conn, who, id)?;
        let n = diesel::delete(cb::table.find((id, book))).execute(conn)?;
        if n == 0 {
            return Err(Error::NotFound("the book is not in this collection".into()));
        }
        touch(conn, id)
    })
}

/// Moves a book one place up (`by` = -1) or down (1), swapping with its neighbour; at either
/// end nothing moves.
pub fn shift(
    conn: &mut PgConnection,
    who: Asker,
    id: Uuid,
    book: Uuid,
    by: i32,
) -> Result<(), Error> {
    conn.transaction(|conn| {
        editable(conn, who, id)?;
        let order: Vec<Uuid> = books_of(conn, id)?.into_iter().map(|b| b.id).collect();
        let at = order
            .iter()
            .position(|b| *b == book)
            .ok_or_else(|| Error::NotFound("the book is not in this collection".into()))?;
        let to = at as i64 + i64::from(by.signum());
        if to < 0 || to >= order.len() as i64 {
            return Ok(());
        }
        let mut order = order;
        order.swap(at, to as usize);
        // Positions rewritten 1..n: the order shown is the order stored, whatever came before.
        for (i, b) in order.iter().enumerate() {
            diesel::update(cb::table.find((id, *b)))
                .set(cb::position.eq(i as i32 + 1))
                .execute(conn)?;
        }
        touch(conn, id)
    })
}

/// Puts the collection's books in the order given: each of its books once, no other.
pub fn reorder(conn: &mut PgConnection, who: Asker, id: Uuid, order: &[Uuid]) -> Result<(), Error> {
    conn.transaction(|conn| {
        editable(conn, who, id)?;
        let mut held: Vec<Uuid> = cb::table
            .filter(cb::collection_id.eq(id))
            .select(cb::book_id)
            .load(conn)?;
        let mut given = order.to_vec();
        held.sort_unstable();
        given.sort_unstable();
        if held != given {
            return Err(Error::invalid(
                "books",
                "must name each book of the collection once, and no other",
            ));
        }
        for (i, b) in order.iter().enumerate() {
            diesel::update(cb::table.find((id, *b)))
                .set(cb::position.eq(i as i32 + 1))
                .execute(conn)?;
        }
        touch(conn, id)
    })
}

/// Books merged into one (`library::formats`): the merged book takes the others' places in
/// every collection (at the first of them where several were in one), before they go.
pub fn merge_into(conn: &mut PgConnection, into: Uuid, from: &[Uuid]) -> Result<(), Error> {
    diesel::sql_query(
        "INSERT INTO collection_books (collection_id, book_id, position, added_at)
         SELECT DISTINCT ON (collection_id) collection_id, $1, position, added_at
         FROM collection_books WHERE book_id = ANY($2)
         ORDER BY collection_id, position
         ON CONFLICT (collection_id, book_id) DO NOTHING",
    )
    .bind::<diesel::sql_types::Uuid, _>(into)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(from)
    .execute(conn)?;
    Ok(())
}

fn touch(conn: &mut PgConnection, id: Uuid) -> Result<(), Error> {
    diesel::update(c::table.find(id))
        .set(c::updated_at.eq(diesel::dsl::now))
        .execute(conn)?;
    Ok(())
}

/// Shares a collection by a new link (a share it had is replaced: its old link stops). The
/// token is answered once and kept only hashed.
pub fn share(
    conn: &mut PgConnection,
    who: Asker,
    id: Uuid,
    expires_at: Option<DateTime<Utc>>,
) -> Result<String, Error> {
    if expires_at.is_some_and(|e| e <= Utc::now()) {
        return Err(Error::invalid("expires_at", "must be in the future"));
    }
    conn.transaction(|conn| {
        editable(conn, who, id)?;
        let token = new_token();
        diesel::insert_into(cs::table)
            .values((
                cs::collection_id.eq(id),
                cs::token_hash.eq(sha256_hex(token.as_bytes())),
                cs::expires_at.eq(expires_at),
            ))
            .on_conflict(cs::collection_id)
            .do_update()
            .set((
                cs::token_hash.eq(sha256_hex(token.as_bytes())),
                cs::created_at.eq(diesel::dsl::now),
                cs::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(token)
    })
}

/// Revokes a collection's share: every address of it is gone at once.
pub fn unshare(conn: &mut PgConnection, who: Asker, id: Uuid) -> Result<(), Error> {
    editable(conn, who, id)?;
    let n = diesel::delete(cs::table.find(id)).execute(conn)?;
    if n == 0 {
        return Err(Error::NotFound("the collection is not shared".into()));
    }
    Ok(())
}

/// The collection a share token opens, while its share exists and has not ended; NotFound
/// otherwise (a wrong, revoked and an ended token look the same).
pub fn shared(conn: &mut PgConnection, token: &str) -> Result<Collection, Error> {
    let gone = || Error::NotFound("no such share".into());
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(gone());
    }
    c::table
        .inner_join(cs::table)
        .filter(cs::token_hash.eq(sha256_hex(token.to_ascii_lowercase().as_bytes())))
        .filter(
            cs::expires_at
                .is_null()
                .or(cs::expires_at.gt(diesel::dsl::now)),
        )
        .select(Collection::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(gone)
}

/// A book of the collection a share token opens (NotFound for any other book).
pub fn shared_book(conn: &mut PgConnection, token: &str, book: Uuid) -> Result<Book, Error> {
    let collection = shared(conn, token)?;
    books_of(conn, collection.id)?
        .into_iter()
        .find(|b| b.id == book)
        .ok_or_else(|| Error::NotFound("no such book in this share".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_descriptions_are_checked() {
        assert_eq!(
            check("  Summer  ", " beach reads ").unwrap(),
            ("Summer".into(), "beach reads".into())
        );
        assert!(check("", "").is_err());
        assert!(check("   ", "").is_err());
        assert!(check(&"x".repeat(201), "").is_err());
        assert!(check("ok\0", "").is_err());
        assert!(check("ok", &"y".repeat(5001)).is_err());
        assert!(check(&"é".repeat(200), "").is_ok(), "characters, not bytes");
    }

    #[test]
    fn who_may_change_what() {
        let (ann, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let of = |owner| Collection {
            id: Uuid::new_v4(),
            api_key_id: owner,
            name: "n".into(),
            description: String::new(),
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let reader = |r| Asker {
            reader: r,
            admin: false,
        };
        let admin = |r| Asker {
            reader: r,
            admin: true,
        };
        assert!(of(Some(ann)).editable_by(reader(ann)));
        assert!(!of(Some(ann)).editable_by(reader(bob)));
        assert!(
            !of(Some(ann)).editable_by(admin(bob)),
            "an admin does not edit a reader's own"
        );
        assert!(of(None).editable_by(admin(bob)));
        assert!(!of(None).editable_by(reader(ann)));
    }
}
