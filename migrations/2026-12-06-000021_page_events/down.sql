DROP TABLE reading_page_events;
DROP TABLE reading_stat_books;
