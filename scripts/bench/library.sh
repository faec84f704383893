# Sourced by the bench scripts: generate_library URL DATA_DIR BOOKS fills a migrated database
# with BOOKS organized books (about 20,000 authors named as people, 5,000 series, languages,
# publishers, genres; one small shared file and cover), the library of `make bench-opds` and
# `make bench-web`.
generate_library() {
    echo "generating $3 books..."
    mkdir -p "$2/library/bench" "$2/covers"
    head -c 2048 /dev/urandom > "$2/library/bench/book.epub"
    python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex('ffd8ffe000104a46494600010100000100010000ffd9'))" > "$2/covers/bench.jpg"
    cp "$2/covers/bench.jpg" "$2/covers/bench.thumb.jpg"
    psql -X "$1" -q <<SQL
CREATE TEMP TABLE words (w) AS SELECT unnest(string_to_array(
  'river night garden stone winter silver shadow glass empire storm harbor lantern mountain
   forest letter secret island machine summer paper kingdom ocean thunder crown voyage mirror
   orchard falcon ember compass tower valley desert meadow signal archive bridge candle', ' '));
CREATE TEMP TABLE w AS SELECT row_number() OVER () - 1 AS i, btrim(w) AS w FROM words WHERE btrim(w) <> '';
-- About 20,000 authors named as people are ("Clara Archive12"), so the authors list groups
-- them by surname as it does real names.
CREATE FUNCTION pg_temp.bench_author(a int) RETURNS text LANGUAGE sql AS \$\$
    SELECT (ARRAY['Anna','Ben','Clara','David','Elena','Farid','Grace','Hiro','Ines','Jonas',
                  'Kavya','Liam','Mei','Nils','Olga','Pedro','Quinn','Rosa','Sven','Tomas'])[1 + a % 20]
        || ' ' || initcap((SELECT w FROM w WHERE i = (a / 20) % 38)) || (a / 760)
\$\$;
INSERT INTO books (title, author, status, language, publisher, published_year, series, series_index,
                   genres, description, cover_path, created_at)
SELECT initcap((SELECT w FROM w WHERE i = g % 38)) || ' of the ' || initcap((SELECT w FROM w WHERE i = (g / 38) % 38))
           || ' ' || g,
       pg_temp.bench_author(g % 20000) || CASE WHEN g % 17 = 0 THEN ' & ' || pg_temp.bench_author((g + 7) % 20000) ELSE '' END,
       'organized',
       (ARRAY['en','en','en','de','fr','es','it','nl'])[1 + g % 8],
       'Publisher ' || (g % 300),
       1950 + g % 75,
       CASE WHEN g % 4 = 0 THEN 'Series ' || (g % 5000) END,
       CASE WHEN g % 4 = 0 THEN (g / 5000) + 1 END,
       ARRAY[(ARRAY['Fiction','Mystery','Science Fiction','Fantasy','History','Biography','Poetry','Travel'])[1 + g % 8]],
       'A story of ' || (SELECT w FROM w WHERE i = (g / 7) % 38) || ' and ' || (SELECT w FROM w WHERE i = (g / 11) % 38) || '.',
       CASE WHEN md5(g::text) < '8' THEN 'covers/bench.jpg' END,
       now() - make_interval(mins => g)
FROM generate_series(1, $3) g;
INSERT INTO book_files (book_id, format, original_name, storage_path, file_size, checksum)
SELECT id, 'epub', title || '.epub', 'library/bench/book.epub', 2048, md5(id::text) FROM books;
VACUUM ANALYZE;
CHECKPOINT;
SQL
}
