DROP TABLE author_sort_names;
