//! Language tags: books write `en_GB`, `eng`, `EN`, `en-gb`; libris stores BCP 47 (`en-GB`).

/// Normalizes a language code from a book to a BCP 47 tag, or `None` if it is not one
/// (or is `und`/`mul`/`zxx`/`mis`, which name no usable language). ISO 639-2 codes and the
/// English names of common languages ("English", as some MOBI writers put it) become
/// ISO 639-1.
pub fn normalize_language(s: &str) -> Option<String> {
    let s = s.trim().replace('_', "-");
    if s.is_empty() {
        return None;
    }
    let mut parts: Vec<String> = Vec::new();
    for (i, sub) in s.split('-').enumerate() {
        let lower = sub.to_ascii_lowercase();
        let norm = if i == 0 {
            iso639_2_to_1(&lower).map(str::to_string).unwrap_or(lower)
        } else if sub.len() == 2 && sub.bytes().all(|b| b.is_ascii_alphabetic()) {
            sub.to_ascii_uppercase()
        } else if sub.len() == 4 && sub.bytes().all(|b| b.is_ascii_alphabetic()) {
            let mut t = lower;
            t[..1].make_ascii_uppercase();
            t
        } else {
            lower
        };
        parts.push(norm);
    }
    let tag = parts.join("-");
    let primary = tag.split('-').next().unwrap_or("");
    if matches!(primary, "und" | "mul" | "zxx" | "mis") || !valid_language_tag(&tag) {
        return None;
    }
    Some(tag)
}

/// Syntactic BCP 47 (RFC 5646) check: language, optional extlangs, script, region, variants,
/// extensions and private use, in that order. Registry membership is not checked.
pub fn valid_language_tag(s: &str) -> bool {
    if s.is_empty() || s.len() > 64 || !s.is_ascii() {
        return false;
    }
    let subs: Vec<&str> = s.split('-').collect();
    if subs.iter().any(|p| p.is_empty() || p.len() > 8) {
        return false;
    }
    let alpha = |p: &str| p.bytes().all(|b| b.is_ascii_alphabetic());
    let digit = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    let alnum = |p: &str| p.bytes().all(|b| b.is_ascii_alphanumeric());
    let first = subs[0];
    if first.eq_ignore_ascii_case("x") || first.eq_ignore_ascii_case("i") {
        // Private-use-only tag, or a grandfathered irregular one such as i-klingon.
        return subs.len() > 1 && subs[1..].iter().all(|p| alnum(p));
    }
    if !(alpha(first) && (2..=8).contains(&first.len())) {
        return false;
    }
    let mut i = 1;
    // Up to three extended language subtags, only after a 2-3 letter language.
    let mut ext = 0;
    while first.len() <= 3 && ext < 3 && i < subs.len() && subs[i].len() == 3 && alpha(subs[i]) {
        i += 1;
        ext += 1;
    }
    if i < subs.len() && subs[i].len() == 4 && alpha(subs[i]) {
        i += 1; // script
    }
    if i < subs.len()
        && ((subs[i].len() == 2 && alpha(subs[i])) || (subs[i].len() == 3 && digit(subs[i])))
    {
        i += 1; // region
    }
    while i < subs.len() {
        let p = subs[i];
        let variant = (p.len() >= 5 && alnum(p))
            || (p.len() == 4 && p.as_bytes()[0].is_ascii_digit() && alnum(p));
        if !variant {
            break;
        }
        i += 1;
    }
    while i < subs.len() {
        let p = subs[i];
        if p.len() != 1 || !alnum(p) {
            return false;
        }
        i += 1;
        if p.eq_ignore_ascii_case("x") {
            // Private use: one or more 1-8 character subtags, up to the end of the tag.
            return i < subs.len() && subs[i..].iter().all(|p| alnum(p));
        }
        let start = i;
        while i < subs.len() && subs[i].len() >= 2 && alnum(subs[i]) {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    true
}

/// The ISO 639-2 (bibliographic and terminology) codes of languages books are commonly in,
/// and the English names of the most common ones.
fn iso639_2_to_1(code: &str) -> Option<&'static str> {
    Some(match code {
        "english" => "en",
        "french" => "fr",
        "german" => "de",
        "spanish" => "es",
        "italian" => "it",
        "portuguese" => "pt",
        "russian" => "ru",
        "japanese" => "ja",
        "chinese" => "zh",
        "korean" => "ko",
        "arabic" => "ar",
        "hebrew" => "he",
        "greek" => "el",
        "dutch" => "nl",
        "polish" => "pl",
        "swedish" => "sv",
        "norwegian" => "no",
        "danish" => "da",
        "finnish" => "fi",
        "turkish" => "tr",
        "ukrainian" => "uk",
        "czech" => "cs",
        "hungarian" => "hu",
        "romanian" => "ro",
        "bulgarian" => "bg",
        "catalan" => "ca",
        "vietnamese" => "vi",
        "thai" => "th",
        "hindi" => "hi",
        "indonesian" => "id",
        "persian" => "fa",
        "latin" => "la",
        "eng" => "en",
        "fre" | "fra" => "fr",
        "ger" | "deu" => "de",
        "spa" => "es",
        "ita" => "it",
        "por" => "pt",
        "rus" => "ru",
        "jpn" => "ja",
        "chi" | "zho" => "zh",
        "kor" => "ko",
        "ara" => "ar",
        "heb" => "he",
        "gre" | "ell" => "el",
        "dut" | "nld" => "nl",
        "pol" => "pl",
        "swe" => "sv",
        "nor" => "no",
        "nob" => "nb",
        "nno" => "nn",
        "dan" => "da",
        "fin" => "fi",
        "tur" => "tr",
        "ukr" => "uk",
        "cze" | "ces" => "cs",
        "slo" | "slk" => "sk",
        "hun" => "hu",
        "rum" | "ron" => "ro",
        "bul" => "bg",
        "hrv" => "hr",
        "srp" => "sr",
        "slv" => "sl",
        "est" => "et",
        "lav" => "lv",
        "lit" => "lt",
        "cat" => "ca",
        "baq" | "eus" => "eu",
        "glg" => "gl",
        "vie" => "vi",
        "tha" => "th",
        "hin" => "hi",
        "ben" => "bn",
        "urd" => "ur",
        "tam" => "ta",
        "ind" => "id",
        "may" | "msa" => "ms",
        "per" | "fas" => "fa",
        "ice" | "isl" => "is",
        "gle" => "ga",
        "wel" | "cym" => "cy",
        "lat" => "la",
        "epo" => "eo",
        "bel" => "be",
        "afr" => "af",
        "swa" => "sw",
        "tgl" => "tl",
        "kaz" => "kk",
        "geo" | "kat" => "ka",
        "arm" | "hye" => "hy",
        "alb" | "sqi" => "sq",
        "mac" | "mkd" => "mk",
        "bos" => "bs",
        "ltz" => "lb",
        "mlt" => "mt",
        "tel" => "te",
        "mar" => "mr",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize_language("en_GB").as_deref(), Some("en-GB"));
        assert_eq!(normalize_language("eng").as_deref(), Some("en"));
        assert_eq!(normalize_language("EN").as_deref(), Some("en"));
        assert_eq!(normalize_language(" en-gb ").as_deref(), Some("en-GB"));
        assert_eq!(
            normalize_language("zh_hant_tw").as_deref(),
            Some("zh-Hant-TW")
        );
        assert_eq!(normalize_language("ger").as_deref(), Some("de"));
        assert_eq!(normalize_language("es-419").as_deref(), Some("es-419"));
        assert_eq!(normalize_language("haw").as_deref(), Some("haw"));
        assert_eq!(normalize_language("und"), None);
        assert_eq!(normalize_language(""), None);
        assert_eq!(normalize_language("English language"), None);
        assert_eq!(normalize_language("12"), None);
        assert_eq!(normalize_language(" English ").as_deref(), Some("en"));
        assert_eq!(normalize_language("fre").as_deref(), Some("fr"));
        assert_eq!(normalize_language("jpn").as_deref(), Some("ja"));
        assert_eq!(normalize_language("tel").as_deref(), Some("te"));
        for none in ["mul", "zxx", "mis", "x", "e1"] {
            assert_eq!(normalize_language(none), None, "{none}");
        }
    }

    #[test]
    fn validates() {
        for ok in [
            "en",
            "en-GB",
            "zh-Hant-TW",
            "es-419",
            "sl-rozaj-biske",
            "de-CH-1901",
            "x-private",
            "en-x-klingon",
            "en-a-bbb-x-a-ccc",
            "i-klingon",
            "zh-yue-HK",
            "tlh",
        ] {
            assert!(valid_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "e",
            "en-",
            "-en",
            "en--GB",
            "en_GB",
            "123",
            "en-GB-a",
            "en-a-x",
            "toolonglanguage",
            "en-x-",
            "é",
            "en-abcdefghi",
        ] {
            assert!(!valid_language_tag(bad), "{bad}");
        }
    }
}
