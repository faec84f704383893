ALTER TABLE books DROP COLUMN format_of;
