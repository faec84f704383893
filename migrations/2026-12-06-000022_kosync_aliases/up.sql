-- The KoSync identifiers extension (koreader-sync-server PR #55, pid1/kosync-conformance
-- SPEC.md §5.8): a report may name a document by several identifiers (content, structure,
-- filename…); the ones that are not the document it was stored under become aliases of it.
--
-- Aliases are per reader, as the spec requires ([K-ID-10]: one account's aliases never
-- resolve for another), so they are not document_links (which say, for everyone, which book
-- a file is): an alias leads to the reader's own document, whose links then give the book.
-- Created, never repointed while the document it leads to still has a position ([K-ID-12]);
-- never made for a value that is a document of the reader's in its own right ([K-ID-7]).
CREATE TABLE reading_aliases (
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    alias text NOT NULL,
    -- The client's label for it (content, structure, filename…), as first registered.
    kind text NOT NULL,
    document text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (api_key_id, alias)
);
