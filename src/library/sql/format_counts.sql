SELECT f.format AS value, count(DISTINCT f.book_id) AS n
FROM book_files f JOIN books b ON b.id = f.book_id AND b.status = 'organized'
GROUP BY f.format ORDER BY f.format
