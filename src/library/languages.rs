//! What a book's language is called, for people: "English (United Kingdom)" for `en-GB`,
//! "Arabic" for `ar`. Books keep the BCP 47 tag (links, `dc:language` and OPDS 2's `language`
//! carry it); only displayed text uses the name. Language names come from ISO 639 (isolang);
//! scripts and regions from the short tables below, which cover what book metadata uses. A
//! part that cannot be named is shown as written, and a tag whose language is unknown is
//! shown as it is.

use isolang::Language;

/// The English name of a language tag, e.g. "Chinese (Traditional, Taiwan)" for zh-Hant-TW.
pub fn name(tag: &str) -> String {
    let tag = tag.trim();
    let mut subtags = tag.split(['-', '_']).filter(|s| !s.is_empty());
    let Some(language) = subtags.next().and_then(language_name) else {
        return tag.to_owned();
    };
    let details: Vec<String> = subtags
        .map(|s| {
            let named = match s.len() {
                4 if s.bytes().all(|b| b.is_ascii_alphabetic()) => script_name(s),
                2 | 3 => region_name(s),
                _ => None,
            };
            named.map_or_else(|| s.to_owned(), str::to_owned)
        })
        .collect();
    if details.is_empty() {
        language.to_owned()
    } else {
        format!("{language} ({})", details.join(", "))
    }
}

fn language_name(code: &str) -> Option<&'static str> {
    let code = code.to_ascii_lowercase();
    let language = match code.len() {
        2 => Language::from_639_1(&code),
        3 => Language::from_639_3(&code),
        _ => None,
    }?;
    // ISO 639-3 calls it "Modern Greek (1453-)" (isolang: "Modern Greek"); readers say Greek.
    Some(match language {
        Language::Ell => "Greek",
        other => other.to_name(),
    })
}

/// ISO 15924 scripts that tags of books carry.
fn script_name(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_lowercase().as_str() {
        "latn" => "Latin",
        "cyrl" => "Cyrillic",
        "arab" => "Arabic",
        "grek" => "Greek",
        "hebr" => "Hebrew",
        "deva" => "Devanagari",
        "beng" => "Bengali",
        "hans" => "Simplified",
        "hant" => "Traditional",
        "jpan" => "Japanese",
        "kore" => "Korean",
        "hang" => "Hangul",
        "thai" => "Thai",
        "geor" => "Georgian",
        "armn" => "Armenian",
        "ethi" => "Ethiopic",
        "taml" => "Tamil",
        "mong" => "Mongolian",
        _ => return None,
    })
}

/// ISO 3166 countries and UN M.49 areas that tags of books carry (CLDR's short English names).
fn region_name(code: &str) -> Option<&'static str> {
    Some(match code.to_ascii_uppercase().as_str() {
        "001" => "World",
        "150" => "Europe",
        "419" => "Latin America",
        "AE" => "United Arab Emirates",
        "AR" => "Argentina",
        "AT" => "Austria",
        "AU" => "Australia",
        "BA" => "Bosnia & Herzegovina",
        "BE" => "Belgium",
        "BG" => "Bulgaria",
        "BO" => "Bolivia",
        "BR" => "Brazil",
        "BY" => "Belarus",
        "CA" => "Canada",
        "CH" => "Switzerland",
        "CL" => "Chile",
        "CN" => "China",
        "CO" => "Colombia",
        "CR" => "Costa Rica",
        "CU" => "Cuba",
        "CZ" => "Czechia",
        "DE" => "Germany",
        "DK" => "Denmark",
        "DO" => "Dominican Republic",
        "DZ" => "Algeria",
        "EC" => "Ecuador",
        "EG" => "Egypt",
        "ES" => "Spain",
        "FI" => "Finland",
        "FR" => "France",
        "GB" => "United Kingdom",
        "GR" => "Greece",
        "GT" => "Guatemala",
        "HK" => "Hong Kong",
        "HN" => "Honduras",
        "HR" => "Croatia",
        "HU" => "Hungary",
        "ID" => "Indonesia",
        "IE" => "Ireland",
        "IL" => "Israel",
        "IN" => "India",
        "IQ" => "Iraq",
        "IR" => "Iran",
        "IT" => "Italy",
        "JO" => "Jordan",
        "JP" => "Japan",
        "KE" => "Kenya",
        "KR" => "South Korea",
        "KZ" => "Kazakhstan",
        "LB" => "Lebanon",
        "LU" => "Luxembourg",
        "MA" => "Morocco",
        "MO" => "Macao",
        "MX" => "Mexico",
        "MY" => "Malaysia",
        "NG" => "Nigeria",
        "NI" => "Nicaragua",
        "NL" => "Netherlands",
        "NO" => "Norway",
        "NZ" => "New Zealand",
        "PA" => "Panama",
        "PE" => "Peru",
        "PH" => "Philippines",
        "PK" => "Pakistan",
        "PL" => "Poland",
        "PR" => "Puerto Rico",
        "PT" => "Portugal",
        "PY" => "Paraguay",
        "RO" => "Romania",
        "RS" => "Serbia",
        "RU" => "Russia",
        "SA" => "Saudi Arabia",
        "SE" => "Sweden",
        "SG" => "Singapore",
        "SI" => "Slovenia",
        "SK" => "Slovakia",
        "SV" => "El Salvador",
        "SY" => "Syria",
        "TH" => "Thailand",
        "TN" => "Tunisia",
        "TR" => "Türkiye",
        "TW" => "Taiwan",
        "UA" => "Ukraine",
        "US" => "United States",
        "UY" => "Uruguay",
        "VE" => "Venezuela",
        "VN" => "Vietnam",
        "ZA" => "South Africa",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::name;

    #[test]
    fn languages_regions_and_scripts_are_named() {
        assert_eq!(name("en"), "English");
        assert_eq!(name("ar"), "Arabic");
        assert_eq!(name("en-GB"), "English (United Kingdom)");
        assert_eq!(name("pt_BR"), "Portuguese (Brazil)");
        assert_eq!(name("es-419"), "Spanish (Latin America)");
        assert_eq!(name("zh-Hant-TW"), "Chinese (Traditional, Taiwan)");
        assert_eq!(name("sr-Latn"), "Serbian (Latin)");
        assert_eq!(name("el"), "Greek");
        assert_eq!(name("haw"), "Hawaiian", "ISO 639-3");
        assert_eq!(name("EN-us"), "English (United States)");
    }

    #[test]
    fn what_cannot_be_named_is_shown_as_written() {
        assert_eq!(name("qx"), "qx");
        assert_eq!(name("English"), "English");
        assert_eq!(name(""), "");
        assert_eq!(name("en-XY"), "English (XY)");
        assert_eq!(name("de-1996"), "German (1996)");
    }

    proptest::proptest! {
        /// A known language leads the name; an unknown one leaves the tag as it is.
        #[test]
        fn a_name_for_every_tag(tag in "[a-zA-Z]{2,3}(-[a-zA-Z0-9]{1,8}){0,3}") {
            let named = name(&tag);
            let primary = tag.split('-').next().unwrap_or_default();
            match super::language_name(primary) {
                Some(language) => proptest::prop_assert!(named.starts_with(language), "{named}"),
                None => proptest::prop_assert_eq!(named, tag),
            }
        }
    }
}
