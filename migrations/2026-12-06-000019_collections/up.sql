-- Collections (issue "Web app, part 2"): a reader's own shelves of books in their order, or
-- library-wide ones an admin makes (no owner); a book may be in many. A collection may be
-- shared by a link: the link's random token is stored only as its SHA-256, with an optional
-- end; deleting the share row revokes every address of it at once.
CREATE TABLE collections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE,
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text NOT NULL DEFAULT '' CHECK (length(description) <= 5000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX collections_api_key_id_idx ON collections (api_key_id);

CREATE TABLE collection_books (
    collection_id uuid NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    position integer NOT NULL,
    added_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (collection_id, book_id)
);
CREATE INDEX collection_books_order_idx ON collection_books (collection_id, position);
CREATE INDEX collection_books_book_id_idx ON collection_books (book_id);

CREATE TABLE collection_shares (
    collection_id uuid PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz
);
