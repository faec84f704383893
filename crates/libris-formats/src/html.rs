//! HTML fragments (book descriptions) to plain text, and HTML entity decoding.

use super::clean::clean_paragraphs;

/// Converts an HTML fragment (a book description) to plain text: tags removed, block elements
/// become paragraph breaks, `<br>` a line break, entities decoded, whitespace collapsed.
/// A `<` that does not start a tag ("1 < 2") is kept as text. In markup, source line breaks
/// are ordinary whitespace; a plain-text description (no tags at all) keeps its lines.
pub fn html_to_text(html: &str) -> String {
    let markup = has_markup(html);
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    let push_text = |out: &mut String, text: &str| {
        if markup {
            out.extend(
                text.chars()
                    .map(|c| if c == '\n' || c == '\r' { ' ' } else { c }),
            );
        } else {
            out.push_str(text);
        }
    };
    while let Some(pos) = rest.find(['<', '&']) {
        push_text(&mut out, &rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('&') {
            let (decoded, used) = decode_entity(rest);
            out.push_str(decoded.as_deref().unwrap_or("&"));
            rest = &rest[used..];
        } else {
            rest = skip_markup(rest, &mut out);
        }
    }
    push_text(&mut out, rest);
    clean_paragraphs(&out).unwrap_or_default()
}

/// Whether the text contains something shaped like a tag or comment ("<p", "</", "<!").
fn has_markup(s: &str) -> bool {
    s.as_bytes()
        .windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'/' | b'!')))
}

/// Handles `rest`, which starts with `<`; returns what follows the markup.
fn skip_markup<'a>(rest: &'a str, out: &mut String) -> &'a str {
    if let Some(body) = rest.strip_prefix("<!--") {
        return body.find("-->").map_or("", |e| &body[e + 3..]);
    }
    if let Some(body) = rest.strip_prefix("<![CDATA[") {
        let end = body.find("]]>").unwrap_or(body.len());
        out.push_str(&body[..end]);
        return body.get(end + 3..).unwrap_or("");
    }
    let after = &rest[1..];
    let starts_tag = match after.chars().next() {
        Some(c) if c.is_ascii_alphabetic() || c == '!' || c == '?' => true,
        Some('/') => after[1..].starts_with(|c: char| c.is_ascii_alphabetic()),
        _ => false,
    };
    let Some(end) = starts_tag.then(|| tag_end(after)).flatten() else {
        out.push('<');
        return after;
    };
    let tag = &after[..end];
    let closing = tag.starts_with('/');
    let name: String = tag
        .trim_start_matches('/')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let after_tag = &after[end + 1..];
    if !closing && matches!(name.as_str(), "script" | "style") && !tag.ends_with('/') {
        // Their content is code, not text.
        let close = format!("</{name}");
        return match find_ascii_ci(after_tag, &close) {
            Some(i) => {
                let tail = &after_tag[i..];
                tail.find('>').map_or("", |e| &tail[e + 1..])
            }
            None => "",
        };
    }
    match name.as_str() {
        "br" => out.push('\n'),
        "p" | "div" | "li" | "ul" | "ol" | "dl" | "dt" | "dd" | "h1" | "h2" | "h3" | "h4"
        | "h5" | "h6" | "blockquote" | "pre" | "tr" | "table" | "section" | "article" | "hr"
        | "header" | "footer" | "aside" | "figure" | "figcaption" | "address" => {
            out.push_str("\n\n")
        }
        "td" | "th" => out.push(' '),
        _ => {}
    }
    after_tag
}

/// Index of the `>` closing a tag, skipping quoted attribute values.
fn tag_end(s: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in s.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, '>') => return Some(i),
            (None, '<') => return None,
            _ => {}
        }
    }
    None
}

fn find_ascii_ci(hay: &str, needle: &str) -> Option<usize> {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    (0..h.len().saturating_sub(n.len()) + 1)
        .find(|&i| h.len() >= n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n))
}

/// Decodes HTML entities (named, decimal, hex) in plain text; unknown ones stay as written.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        let (decoded, used) = decode_entity(rest);
        out.push_str(decoded.as_deref().unwrap_or("&"));
        rest = &rest[used..];
    }
    out.push_str(rest);
    out
}

/// `s` starts with `&`. Returns the decoded text (None: not an entity, keep the `&`) and the
/// number of bytes consumed.
fn decode_entity(s: &str) -> (Option<String>, usize) {
    let Some(semi) = s[1..].find(';').filter(|&i| i <= 32) else {
        return (None, 1);
    };
    let name = &s[1..1 + semi];
    let decoded = if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok(),
            None => num.parse::<u32>().ok(),
        };
        code.and_then(char::from_u32)
            .filter(|&c| c != '\0')
            .map(String::from)
    } else {
        named_entity(name).map(String::from)
    };
    match decoded {
        Some(d) => (Some(d), semi + 2),
        None => (None, 1),
    }
}

/// The entities book descriptions use, some deliberately flattened for metadata (`&shy;`,
/// `&zwj;` → nothing, `&thinsp;` → a space). Not quick-xml's `resolve_html5_entity`: in
/// quick-xml 0.37 it gives wrong code points for about a fifth of its names (`&oelig;`,
/// `&scaron;`, `&Yuml;` come out as U+0015, U+0016, U+0017), and its `escape-html` feature
/// would also make every `unescape()` of the strict XML readers (FB2, OPF, XMP) accept HTML
/// entities.
fn named_entity(name: &str) -> Option<&'static str> {
    Some(match name {
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "nbsp" => "\u{a0}",
        "shy" => "",
        "ndash" => "–",
        "mdash" => "—",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "sbquo" => "‚",
        "ldquo" => "“",
        "rdquo" => "”",
        "bdquo" => "„",
        "laquo" => "«",
        "raquo" => "»",
        "lsaquo" => "‹",
        "rsaquo" => "›",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "deg" => "°",
        "middot" => "·",
        "bull" => "•",
        "times" => "×",
        "divide" => "÷",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "sect" => "§",
        "para" => "¶",
        "iexcl" => "¡",
        "iquest" => "¿",
        "szlig" => "ß",
        "thinsp" | "ensp" | "emsp" => " ",
        "zwj" | "zwnj" => "",
        _ => return accented_letter(name),
    })
}

/// Latin-1 letters such as `&eacute;` / `&Eacute;`.
fn accented_letter(name: &str) -> Option<&'static str> {
    const LETTERS: &[(&str, &str, &str)] = &[
        ("agrave", "à", "À"),
        ("aacute", "á", "Á"),
        ("acirc", "â", "Â"),
        ("atilde", "ã", "Ã"),
        ("auml", "ä", "Ä"),
        ("aring", "å", "Å"),
        ("aelig", "æ", "Æ"),
        ("ccedil", "ç", "Ç"),
        ("egrave", "è", "È"),
        ("eacute", "é", "É"),
        ("ecirc", "ê", "Ê"),
        ("euml", "ë", "Ë"),
        ("igrave", "ì", "Ì"),
        ("iacute", "í", "Í"),
        ("icirc", "î", "Î"),
        ("iuml", "ï", "Ï"),
        ("ntilde", "ñ", "Ñ"),
        ("ograve", "ò", "Ò"),
        ("oacute", "ó", "Ó"),
        ("ocirc", "ô", "Ô"),
        ("otilde", "õ", "Õ"),
        ("ouml", "ö", "Ö"),
        ("oslash", "ø", "Ø"),
        ("ugrave", "ù", "Ù"),
        ("uacute", "ú", "Ú"),
        ("ucirc", "û", "Û"),
        ("uuml", "ü", "Ü"),
        ("yacute", "ý", "Ý"),
        ("yuml", "ÿ", "Ÿ"),
        ("oelig", "œ", "Œ"),
        ("scaron", "š", "Š"),
        ("eth", "ð", "Ð"),
        ("thorn", "þ", "Þ"),
    ];
    let lower = name.to_ascii_lowercase();
    let upper = name.starts_with(|c: char| c.is_ascii_uppercase());
    LETTERS
        .iter()
        .find(|(n, _, _)| *n == lower)
        .map(|(_, l, u)| if upper { *u } else { *l })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html() {
        assert_eq!(
            html_to_text("<p>Recipes for &lt;fish&gt; &amp; chips</p><p>Two<br/>lines</p>"),
            "Recipes for <fish> & chips\n\nTwo\nlines"
        );
        assert_eq!(html_to_text("1 < 2 > 0 & done"), "1 < 2 > 0 & done");
        assert_eq!(html_to_text("<div class=\"a>b\">x</div>"), "x");
        assert_eq!(
            html_to_text("a<script>var x = '<p>';</script>b<!-- <p>c</p> -->d"),
            "abd"
        );
        assert_eq!(
            html_to_text("caf&eacute; &Eacute;t&eacute; &#x41;&#66; &bogus;"),
            "café Été AB &bogus;"
        );
        assert_eq!(html_to_text("  <p>  \n </p>  "), "");
        assert_eq!(html_to_text("<b>bold</b> <i>it</i>"), "bold it");
        assert_eq!(html_to_text("x<![CDATA[<raw>]]>y"), "x<raw>y");
        assert_eq!(
            html_to_text("unterminated <a href='x"),
            "unterminated <a href='x"
        );
        assert_eq!(
            html_to_text("&#0; &#xD800; &#99999999999;"),
            "&#0; &#xD800; &#99999999999;"
        );
    }

    /// The cases of the MOBI/PDF half's former copy of this function.
    #[test]
    fn descriptions_from_mobi_and_xmp() {
        assert_eq!(
            html_to_text("<p>A quiet <b>novella</b> about\n the sea.</p><p>Second&nbsp;para.</p>"),
            "A quiet novella about the sea.\n\nSecond para."
        );
        assert_eq!(
            html_to_text(
                "<p>Recipes for &lt;fish&gt; &amp; chips &#8212; &#x1F370; &bogus; AT&T</p>"
            ),
            "Recipes for <fish> & chips — 🍰 &bogus; AT&T"
        );
        assert_eq!(html_to_text("a<br/>b<!-- x -->c"), "a\nbc");
        assert_eq!(html_to_text("<style>p{}</style>x<script>y</SCRIPT>z"), "xz");
        // The other copy dropped an unclosed tag ("unclosed"); this one keeps the text.
        assert_eq!(html_to_text("unclosed <b"), "unclosed <b");
        // Plain text keeps its paragraphs.
        assert_eq!(
            html_to_text("First line\nsecond.\n\nNext & last"),
            "First line\nsecond.\n\nNext & last"
        );
    }
}
