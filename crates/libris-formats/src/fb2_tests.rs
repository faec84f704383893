use super::*;

/// The assertions of the former hand-written decoder (formats/base64.rs), now the base64 crate.
#[test]
fn base64_decodes() {
    let decode = decode_base64;
    assert_eq!(decode(b"").unwrap(), b"");
    assert_eq!(decode(b"Zg==").unwrap(), b"f");
    assert_eq!(decode(b"Zm8=").unwrap(), b"fo");
    assert_eq!(decode(b"Zm9v").unwrap(), b"foo");
    assert_eq!(decode(b"Zm9vYg").unwrap(), b"foob");
    assert_eq!(decode(b"/9j/").unwrap(), [0xFF, 0xD8, 0xFF]);
    assert_eq!(decode(b"Zm9v!"), None);
    assert_eq!(decode(b"Z"), None);
    assert_eq!(decode(b"Zg=x"), None);
    assert_eq!(decode(b"Zg==="), None);
}

/// What the hand-written decoder also accepted: short or surplus padding, the URL-safe
/// alphabet, stray low bits in the last character.
#[test]
fn base64_stays_lenient() {
    assert_eq!(decode_base64(b"Zg=").unwrap(), b"f");
    assert_eq!(decode_base64(b"Zm9v=").unwrap(), b"foo");
    assert_eq!(decode_base64(b"Zm9v==").unwrap(), b"foo");
    assert_eq!(decode_base64(b"_9j-").unwrap(), [0xFF, 0xD8, 0xFE]);
    assert_eq!(decode_base64(b"Zh==").unwrap(), b"f");
    assert_eq!(decode_base64(b"Zm9").unwrap(), b"fo");
    assert_eq!(decode_base64(b"Zm9v YQ"), None);
}

fn doc(title_info: &str, rest: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<FictionBook xmlns="http://www.gribuser.ru/xml/fictionbook/2.0" xmlns:l="http://www.w3.org/1999/xlink">
<description><title-info>{title_info}</title-info>
<src-title-info><book-title>Original</book-title><author><nickname>Orig</nickname></author></src-title-info>
</description><body><section><p>Text &amp; more</p></section></body>{rest}</FictionBook>"#
    )
}

fn ok(s: &str) -> (Metadata, Option<RawCover>) {
    parse(s.as_bytes()).unwrap()
}

#[test]
fn title_info_fields() {
    let (m, cover) = ok(&doc(
        r##"<genre>sf_fantasy</genre><genre>antique</genre>
        <author><first-name>Лев</first-name><middle-name>Николаевич</middle-name><last-name>Толстой</last-name></author>
        <author><nickname>anon</nickname></author>
        <book-title>Война и мир</book-title>
        <annotation><p>First <emphasis>para</emphasis>.</p><empty-line/><p>Second.</p></annotation>
        <keywords>роман, классика</keywords><lang>RU</lang>
        <sequence name="Собрание" number="4"><sequence name="inner"/></sequence>
        <coverpage><image l:href="#c.jpg"/></coverpage>"##,
        r#"<binary id="other" content-type="image/png">iVBORw0KGgo=</binary>
        <binary id="c.jpg" content-type="image/jpeg">
        /9j/4A==
        </binary>"#,
    ));
    assert_eq!(m.title.as_deref(), Some("Война и мир"));
    assert_eq!(m.authors[0].name, "Лев Николаевич Толстой");
    assert_eq!(
        m.authors[0].file_as.as_deref(),
        Some("Толстой, Лев Николаевич")
    );
    assert_eq!(m.authors[1].name, "anon");
    assert_eq!(m.language.as_deref(), Some("ru"));
    assert_eq!(m.description.as_deref(), Some("First para.\n\nSecond."));
    // Not produced by calibre: "antique" is a real genre here.
    assert_eq!(m.genres, ["роман", "классика", "sf_fantasy", "antique"]);
    assert_eq!(m.series.as_deref(), Some("Собрание"));
    assert_eq!(m.series_index, Some(4.0));
    assert_eq!(cover.unwrap().bytes, [0xFF, 0xD8, 0xFF, 0xE0]);
}

#[test]
fn calibre_default_genre_is_dropped() {
    let s = doc("<genre>antique</genre><keywords>A</keywords>", "").replace(
        "</description>",
        "<document-info><program-used>calibre 6.13.0</program-used></document-info></description>",
    );
    assert_eq!(ok(&s).0.genres, ["A"]);
}

#[test]
fn publish_info() {
    let s = doc("<book-title>T</book-title>", "").replace(
        "</description>",
        "<publish-info><publisher>P &amp; Co</publisher><year>2019</year><isbn>978-0-306-40615-7</isbn>\
         <sequence name=\"S\" number=\"2\"/></publish-info></description>",
    );
    let m = ok(&s).0;
    assert_eq!(m.publisher.as_deref(), Some("P & Co"));
    assert_eq!(m.published_year, Some(2019));
    assert_eq!(m.isbn_13.as_deref(), Some("9780306406157"));
    assert_eq!(m.series.as_deref(), Some("S"));
}

#[test]
fn malformed_documents_are_refused() {
    let good = doc("<book-title>T</book-title>", "");
    for bad in [
        good.replace(
            "<book-title>",
            "<sequence name=\"a \"b\"\" number=\"3\"/><book-title>",
        ),
        good.replace("</FictionBook>", ""),
        good.replace("Text &amp; more", "Text & more"),
        good.replace("</section>", "</sectio>"),
        good.replace("<FictionBook", "<Other")
            .replace("</FictionBook>", "</Other>"),
        format!("{good}<FictionBook/>"),
        "<FictionBook>".repeat(1000),
    ] {
        assert!(parse(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn oversized_cover_is_dropped_not_fatal() {
    let big = "A".repeat(MAX_COVER_B64 + 8);
    let s = doc(
        r##"<book-title>T</book-title><coverpage><image l:href="#c"/></coverpage>"##,
        &format!(r#"<binary id="c" content-type="image/jpeg">{big}</binary>"#),
    );
    let (m, cover) = ok(&s);
    assert_eq!(m.title.as_deref(), Some("T"));
    assert!(cover.is_none());
}

#[test]
fn windows_1251_is_decoded() {
    let utf8 = doc("<book-title>Война</book-title>", "").replace("UTF-8", "windows-1251");
    // Encode the Cyrillic back to windows-1251 bytes.
    let bytes: Vec<u8> = utf8
        .chars()
        .map(|c| match c {
            'А'..='я' => (c as u32 - 0x410 + 0xC0) as u8,
            c => c as u8,
        })
        .collect();
    let cs = charset::declared(&bytes).unwrap();
    let (m, _) = parse(charset::to_utf8(&bytes, cs).as_bytes()).unwrap();
    assert_eq!(m.title.as_deref(), Some("Война"));
}

#[test]
fn utf8_bom_is_accepted() {
    let s = format!("\u{feff}{}", doc("<book-title>T</book-title>", ""));
    assert_eq!(ok(&s).0.title.as_deref(), Some("T"));
}
