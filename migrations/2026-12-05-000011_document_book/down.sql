DROP FUNCTION libris_document_book(text);
