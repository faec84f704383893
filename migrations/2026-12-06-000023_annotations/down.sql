DROP TABLE annotations;
DROP TABLE export_notes;
