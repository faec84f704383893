//! Renders docs/database.md from the live schema, so the document cannot drift from the
//! migrations (a test compares the two).

use std::collections::BTreeMap;
use std::fmt::Write;

use diesel::pg::PgConnection;
use diesel::sql_types::{Bool, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

#[derive(QueryableByName)]
struct EnumRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    labels: String,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    data_type: String,
    #[diesel(sql_type = Bool)]
    nullable: bool,
    #[diesel(sql_type = Text)]
    default_expr: String,
    #[diesel(sql_type = Text)]
    notes: String,
}

#[derive(QueryableByName)]
struct DefinitionRow {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    definition: String,
}

const ENUMS: &str = "
SELECT t.typname::text AS name, string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) AS labels
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
GROUP BY t.typname ORDER BY t.typname";

const COLUMNS: &str = "
SELECT c.relname::text AS table_name, a.attname::text AS column_name,
       replace(format_type(a.atttypid, a.atttypmod), 'timestamp with time zone', 'timestamptz') AS data_type,
       NOT a.attnotnull AS nullable,
       coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS default_expr,
       concat_ws('; ',
         CASE WHEN EXISTS (SELECT 1 FROM pg_constraint p WHERE p.conrelid = c.oid AND p.contype = 'p'
                           AND a.attnum = ANY (p.conkey)) THEN 'PK' END,
         (SELECT string_agg(format('FK → %s.%s, on delete %s', f.confrelid::regclass,
                   (SELECT attname FROM pg_attribute WHERE attrelid = f.confrelid AND attnum = f.confkey[1]),
                   CASE f.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null'
                        WHEN 'r' THEN 'restrict' WHEN 'd' THEN 'set default' ELSE 'no action' END), '; ')
          FROM pg_constraint f WHERE f.conrelid = c.oid AND f.contype = 'f' AND f.conkey = ARRAY[a.attnum])
       ) AS notes
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE c.relkind = 'r' AND c.relname NOT LIKE '\\_\\_%'
ORDER BY c.relname, a.attnum";

const INDEXES: &str = "
SELECT tablename::text AS table_name,
       regexp_replace(indexdef, ' ON public\\.', ' ON ') AS definition
FROM pg_indexes
WHERE schemaname = 'public' AND tablename NOT LIKE '\\_\\_%'
ORDER BY tablename, indexname";

const CHECKS_AND_TRIGGERS: &str = "
SELECT c.conrelid::regclass::text AS table_name,
       format('CHECK %s: %s', c.conname, pg_get_constraintdef(c.oid)) AS definition
FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace AND n.nspname = 'public'
WHERE c.contype = 'c'
UNION ALL
SELECT t.tgrelid::regclass::text,
       format('TRIGGER %s → %s()', t.tgname, p.proname)
FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid
JOIN pg_class r ON r.oid = t.tgrelid
JOIN pg_namespace n ON n.oid = r.relnamespace AND n.nspname = 'public'
WHERE NOT t.tgisinternal
ORDER BY 1, 2";

/// The whole document, as `docs/database.md` holds it.
pub fn render(conn: &mut PgConnection) -> diesel::QueryResult<String> {
    let enums: Vec<EnumRow> = sql_query(ENUMS).load(conn)?;
    let columns: Vec<ColumnRow> = sql_query(COLUMNS).load(conn)?;
    let mut extras: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in sql_query(INDEXES).load::<DefinitionRow>(conn)? {
        extras
            .entry(row.table_name)
            .or_default()
            .push(row.definition);
    }
    for row in sql_query(CHECKS_AND_TRIGGERS).load::<DefinitionRow>(conn)? {
        extras
            .entry(row.table_name)
            .or_default()
            .push(row.definition);
    }

    let mut out = String::from(
        "# Database schema\n\n\
         Generated from the live schema after all migrations \
         (`make docs` rewrites it; a test fails when it is stale). Do not edit by hand.\n\n\
         ## Enums\n\n| enum | values |\n|---|---|\n",
    );
    for e in &enums {
        let _ = writeln!(out, "| {} | {} |", e.name, e.labels);
    }
    let mut current = "";
    for c in &columns {
        if c.table_name != current {
            if !current.is_empty() {
                write_extras(&mut out, extras.get(current));
            }
            current = &c.table_name;
            let _ = write!(
                out,
                "\n## {current}\n\n| column | type | null | default | notes |\n|---|---|---|---|---|\n"
            );
        }
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.column_name,
            c.data_type,
            if c.nullable { "yes" } else { "no" },
            display_default(&c.default_expr),
            c.notes
        );
    }
    if !current.is_empty() {
        write_extras(&mut out, extras.get(current));
    }
    Ok(out)
}

fn write_extras(out: &mut String, lines: Option<&Vec<String>>) {
    if let Some(lines) = lines {
        out.push('\n');
        for line in lines {
            let _ = writeln!(out, "- `{line}`");
        }
    }
}

/// `'inbox'::book_status` → `'inbox'`: the cast only repeats the column's type.
pub fn display_default(expr: &str) -> String {
    match expr.rfind("::") {
        Some(i) if expr.starts_with('\'') && expr[..i].ends_with('\'') => expr[..i].to_owned(),
        _ => expr.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::display_default;

    #[test]
    fn defaults_lose_their_casts() {
        assert_eq!(display_default("'inbox'::book_status"), "'inbox'");
        assert_eq!(display_default("'{}'::text[]"), "'{}'");
        assert_eq!(display_default("gen_random_uuid()"), "gen_random_uuid()");
        assert_eq!(display_default("0"), "0");
    }
}
