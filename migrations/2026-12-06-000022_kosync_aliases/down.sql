DROP TABLE reading_aliases;
