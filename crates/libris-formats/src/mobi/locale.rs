//! The MOBI header's locale field: a Windows LANGID (primary language in the low byte,
//! sub-language in bits 10..). Only used when EXTH 524 is missing.

const PRIMARY: &[(u32, &str)] = &[
    (0x01, "ar"),
    (0x02, "bg"),
    (0x03, "ca"),
    (0x04, "zh"),
    (0x05, "cs"),
    (0x06, "da"),
    (0x07, "de"),
    (0x08, "el"),
    (0x09, "en"),
    (0x0A, "es"),
    (0x0B, "fi"),
    (0x0C, "fr"),
    (0x0D, "he"),
    (0x0E, "hu"),
    (0x0F, "is"),
    (0x10, "it"),
    (0x11, "ja"),
    (0x12, "ko"),
    (0x13, "nl"),
    (0x14, "no"),
    (0x15, "pl"),
    (0x16, "pt"),
    (0x17, "rm"),
    (0x18, "ro"),
    (0x19, "ru"),
    (0x1A, "hr"),
    (0x1B, "sk"),
    (0x1C, "sq"),
    (0x1D, "sv"),
    (0x1E, "th"),
    (0x1F, "tr"),
    (0x20, "ur"),
    (0x21, "id"),
    (0x22, "uk"),
    (0x23, "be"),
    (0x24, "sl"),
    (0x25, "et"),
    (0x26, "lv"),
    (0x27, "lt"),
    (0x29, "fa"),
    (0x2A, "vi"),
    (0x2B, "hy"),
    (0x2C, "az"),
    (0x2D, "eu"),
    (0x2F, "mk"),
    (0x36, "af"),
    (0x37, "ka"),
    (0x38, "fo"),
    (0x39, "hi"),
    (0x3E, "ms"),
    (0x3F, "kk"),
    (0x41, "sw"),
    (0x43, "uz"),
    (0x44, "tt"),
    (0x45, "bn"),
    (0x46, "pa"),
    (0x47, "gu"),
    (0x49, "ta"),
    (0x4A, "te"),
    (0x4B, "kn"),
    (0x4C, "ml"),
    (0x4E, "mr"),
    (0x4F, "sa"),
];

/// Regions worth keeping: the ones where spelling or script differs for readers.
const REGIONS: &[(&str, u32, &str)] = &[
    ("en", 1, "US"),
    ("en", 2, "GB"),
    ("en", 3, "AU"),
    ("en", 4, "CA"),
    ("en", 5, "NZ"),
    ("en", 6, "IE"),
    ("pt", 1, "BR"),
    ("pt", 2, "PT"),
    ("zh", 1, "TW"),
    ("zh", 2, "CN"),
    ("zh", 3, "HK"),
    ("zh", 4, "SG"),
    ("fr", 2, "BE"),
    ("fr", 3, "CA"),
    ("fr", 4, "CH"),
    ("de", 2, "CH"),
    ("de", 3, "AT"),
    ("es", 2, "MX"),
    ("nl", 2, "BE"),
];

pub fn locale_to_language(locale: u32) -> Option<String> {
    let primary = locale & 0x3FF;
    let sub = (locale >> 10) & 0x3F;
    let lang = PRIMARY.iter().find(|(id, _)| *id == primary)?.1;
    match REGIONS.iter().find(|(l, s, _)| *l == lang && *s == sub) {
        Some((_, _, region)) => Some(format!("{lang}-{region}")),
        None => Some(lang.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::locale_to_language;

    #[test]
    fn locales() {
        assert_eq!(locale_to_language(0x09).as_deref(), Some("en"));
        assert_eq!(locale_to_language(0x0809).as_deref(), Some("en-GB"));
        assert_eq!(locale_to_language(0x0C).as_deref(), Some("fr"));
        assert_eq!(locale_to_language(0x11).as_deref(), Some("ja"));
        assert_eq!(locale_to_language(0x0416).as_deref(), Some("pt-BR"));
        assert_eq!(locale_to_language(0), None);
        assert_eq!(locale_to_language(0xFFFF_FFFF), None);
    }
}
