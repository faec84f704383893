DROP TABLE collection_shares;
DROP TABLE collection_books;
DROP TABLE collections;
