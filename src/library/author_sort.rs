//! How authors sort: "Jane Doe" as "Doe, Jane", so lists group her under D as every library
//! does. A sort name some source gave (an EPUB's `file-as`, calibre's author_sort, a person)
//! is kept in `author_sort_names` (migration 12) by [`remember`] and wins; every other name
//! sorts as [`derive`] makes it. Derived names are computed when read, never stored: a better
//! rule reaches every author at once, and there is nothing to backfill.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use libris_formats::Person;

use super::catalog::authors_of;
use crate::error::Error;

/// The longest sort name kept; longer ones are not a name.
const LONGEST: usize = 1000;

/// Words that end a name without being its surname (calibre's list, with the dots and case
/// any way round): "Martin Luther King Jr." sorts as "King, Martin Luther, Jr.".
const SUFFIXES: &[&str] = &[
    "jr", "sr", "junior", "senior", "ii", "iii", "iv", "phd", "ph.d", "md", "m.d", "esq",
];

/// Words that mark an organisation rather than a person: such names sort as written.
const ORGANISATIONS: &[&str] = &[
    "agency",
    "association",
    "club",
    "co.",
    "committee",
    "company",
    "corporation",
    "council",
    "foundation",
    "group",
    "inc",
    "inc.",
    "institute",
    "ltd",
    "ltd.",
    "press",
    "publishing",
    "society",
    "team",
    "university",
];

/// Particles that, with nothing before them, are part of the surname rather than given names:
/// "van Gogh" alone has no given name to move.
const PARTICLES: &[&str] = &[
    "al", "bin", "da", "das", "de", "del", "della", "den", "der", "des", "di", "do", "dos", "du",
    "el", "ibn", "la", "le", "ten", "ter", "van", "von", "y", "zu",
];

/// The sort name of an author nobody gave one for: the last word first ("Jane Doe" →
/// "Doe, Jane"), as calibre and library catalogues do. Particles stay with the given names
/// ("Ludwig van Beethoven" → "Beethoven, Ludwig van", calibre's default); a suffix goes last
/// ("Martin Luther King Jr." → "King, Martin Luther, Jr."). Kept as written: a single name, a
/// name that already has a comma ("Doe, Jane"), an organisation ("Oxford University Press"),
/// a surname with its particle and no given name ("van Gogh"), and names in scripts written
/// family name first or sorted by given name (Chinese, Japanese, Korean, Thai, …). Spacing is
/// made single either way.
pub fn derive(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    let written = words.join(" ");
    if words.len() < 2 || written.chars().any(keeps_written_order) {
        return written;
    }
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    if lower.iter().any(|w| ORGANISATIONS.contains(&w.as_str())) {
        return written;
    }
    let mut end = words.len();
    while end > 1 && is_suffix(words[end - 1]) {
        end -= 1;
    }
    let suffix = words[end..].join(" ");
    let mut names: Vec<&str> = words[..end].to_vec();
    // "King, Jr.": the comma only set the suffix apart.
    if !suffix.is_empty() {
        if let Some(last) = names.last_mut() {
            *last = last.trim_end_matches(',');
        }
    }
    if names.iter().any(|w| w.contains(',')) {
        return written;
    }
    let Some((surname, given)) = names.split_last() else {
        return written;
    };
    let given_names = given
        .iter()
        .any(|w| !PARTICLES.contains(&w.to_lowercase().as_str()));
    if !given_names || surname.is_empty() {
        return written;
    }
    let mut sorted = format!("{surname}, {}", given.join(" "));
    if !suffix.is_empty() {
        sorted.push_str(", ");
        sorted.push_str(&suffix);
    }
    sorted
}

fn is_suffix(word: &str) -> bool {
    let bare = word.trim_end_matches([',', '.']).to_lowercase();
    SUFFIXES.contains(&bare.as_str())
}

/// Characters of scripts whose names are written family name first (Chinese, Japanese,
/// Korean), or whose readers sort by given name (Thai, Lao, Burmese, Khmer, Tibetan,
/// Mongolian, Ethiopic, Yi): inverting them would be wrong.
fn keeps_written_order(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0FFF     // Thai, Lao, Tibetan
        | 0x1000..=0x109F   // Myanmar
        | 0x1100..=0x11FF   // Hangul Jamo
        | 0x1200..=0x139F   // Ethiopic
        | 0x1780..=0x18AF   // Khmer, Mongolian
        | 0x2E80..=0x2FDF   // CJK radicals
        | 0x3040..=0x31FF   // Hiragana, Katakana, Bopomofo, Hangul compatibility jamo
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xA000..=0xA4CF   // Yi
        | 0xA960..=0xA97F   // Hangul Jamo extended A
        | 0xAC00..=0xD7FF   // Hangul syllables, Jamo extended B
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF65..=0xFFDC   // half-width Katakana and Hangul
        | 0x20000..=0x3134F // CJK extensions B–G
    )
}

/// The sort names an EPUB (or other file) gives its authors, as `(name, sort name)` to
/// [`remember`]: those with a `file-as` that says more than the name itself (some tools copy
/// the display name there, which would undo the derived "Doe, Jane"), and only names that stay
/// one author in the books' author field (no `&` or `;` in them).
pub fn given_by_file(people: &[Person]) -> Vec<(&str, &str)> {
    people
        .iter()
        .filter_map(|p| {
            let name = p.name.trim();
            let sort = p.file_as.as_deref()?.trim();
            let one_author = authors_of(name).len() == 1;
            (one_author && !sort.is_empty() && sort != name).then_some((name, sort))
        })
        .collect()
}

/// Keeps sort names a source gave, `(display name, sort name)`: an EPUB's `file-as`
/// ([`given_by_file`]), calibre's author_sort, a person's choice. The latest given for a name
/// wins (later in the slice, or a later call). Names are the ones books carry in their author
/// field (split on `&` and `;`): a name that is several authors there, an empty name or sort
/// name, or a sort name over 1000 characters is left out. Authors nobody gave a sort name for
/// need no call: they sort by [`derive`]. Moves the library version (lists sort anew). Returns
/// how many sort names were new or changed.
///
/// `sql/remember_author_sort.sql`: $1 the names, $2 their sort names.
pub fn remember(conn: &mut PgConnection, given: &[(&str, &str)]) -> Result<usize, Error> {
    let mut names: Vec<String> = Vec::new();
    let mut sorts: Vec<String> = Vec::new();
    for (name, sort) in given {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let sort = sort.split_whitespace().collect::<Vec<_>>().join(" ");
        if authors_of(&name).len() != 1 || sort.is_empty() || sort.chars().count() > LONGEST {
            continue;
        }
        // One row per name in a statement: the latest given wins.
        match names.iter().position(|n| *n == name) {
            Some(i) => sorts[i] = sort,
            None => {
                names.push(name);
                sorts.push(sort);
            }
        }
    }
    if names.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::sql_query(include_str!("sql/remember_author_sort.sql"))
            .bind::<Array<Text>, _>(&names)
            .bind::<Array<Text>, _>(&sorts)
            .execute(conn)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_surname_goes_first() {
        assert_eq!(derive("Jane Doe"), "Doe, Jane");
        assert_eq!(derive("  Jane   Doe "), "Doe, Jane");
        assert_eq!(derive("J. R. R. Tolkien"), "Tolkien, J. R. R.");
        assert_eq!(derive("Dr. Seuss"), "Seuss, Dr.");
    }

    #[test]
    fn particles_stay_with_the_given_names() {
        assert_eq!(derive("Ludwig van Beethoven"), "Beethoven, Ludwig van");
        assert_eq!(
            derive("Antoine de Saint-Exupéry"),
            "Saint-Exupéry, Antoine de"
        );
        assert_eq!(
            derive("Johann Wolfgang von Goethe"),
            "Goethe, Johann Wolfgang von"
        );
        assert_eq!(derive("van Gogh"), "van Gogh", "no given name to move");
        assert_eq!(derive("de la Cruz"), "de la Cruz");
    }

    #[test]
    fn suffixes_go_last() {
        assert_eq!(derive("Martin Luther King Jr."), "King, Martin Luther, Jr.");
        assert_eq!(
            derive("Martin Luther King, Jr."),
            "King, Martin Luther, Jr."
        );
        assert_eq!(derive("John Smith III"), "Smith, John, III");
        assert_eq!(derive("Kenneth Jones Sr. PhD"), "Jones, Kenneth, Sr. PhD");
        assert_eq!(derive("Jr."), "Jr.");
    }

    #[test]
    fn some_names_keep_their_order() {
        for name in [
            "Plato",
            "Doe, Jane",
            "Oxford University Press",
            "The Chicago Manual Committee",
            "山田 花子",
            "村上春樹",
            "한 강",
            "김영하",
            "ชาติ กอบจิตติ",
        ] {
            assert_eq!(derive(name), name, "{name}");
        }
        assert_eq!(derive(""), "");
        assert_eq!(derive(" \t "), "");
    }

    #[test]
    fn a_file_as_that_adds_nothing_is_not_given() {
        let person = |name: &str, file_as: Option<&str>| Person {
            name: name.into(),
            file_as: file_as.map(Into::into),
        };
        let people = [
            person("Jane Doe", Some("Doe, Jane")),
            person("John Roe", Some("John Roe")),
            person("Ann Poe", None),
            person("Tom & Jerry", Some("Tom, Jerry")),
            person("Ben Hoe", Some("  ")),
        ];
        assert_eq!(given_by_file(&people), [("Jane Doe", "Doe, Jane")]);
    }

    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            4 => "[A-Z][a-zé']{1,9}",
            1 => "[A-Z]\\.",
            1 => prop::sample::select(vec!["van", "de", "von", "la", "Jr.", "III", "PhD"])
                .prop_map(str::to_owned),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        (prop::collection::vec(word(), 1..6), "[ \t]{1,3}").prop_map(|(w, gap)| w.join(&gap))
    }

    /// The words of a name, its commas aside, in order.
    fn words(name: &str) -> Vec<String> {
        let mut w: Vec<String> = name
            .split_whitespace()
            .map(|w| w.trim_end_matches(',').to_owned())
            .collect();
        w.sort();
        w
    }

    proptest! {
        #[test]
        fn derived_names_keep_every_word(name in name()) {
            prop_assert_eq!(words(&derive(&name)), words(&name));
        }

        #[test]
        fn deriving_twice_changes_nothing(name in name()) {
            let once = derive(&name);
            prop_assert_eq!(derive(&once), once.clone());
        }

        #[test]
        fn a_name_of_several_words_sorts_by_one_of_them(name in name()) {
            let sorted = derive(&name);
            prop_assert!(!sorted.starts_with(' ') && !sorted.ends_with(' '));
            prop_assert!(!sorted.contains("  "));
            if sorted != name.split_whitespace().collect::<Vec<_>>().join(" ") {
                prop_assert!(sorted.contains(", "), "{}", sorted);
            }
        }

        #[test]
        fn cjk_names_are_kept_as_written(name in "[\u{4E00}-\u{9FFF}\u{AC00}-\u{D7A3}]{1,4}( [\u{4E00}-\u{9FFF}\u{AC00}-\u{D7A3}]{1,4})?") {
            prop_assert_eq!(derive(&name), name);
        }
    }
}
