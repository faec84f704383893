use super::*;

const EPUB3: &str = r##"<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0">
 <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
  <dc:title id="sub">A Subtitle</dc:title>
  <meta refines="#sub" property="title-type">subtitle</meta>
  <dc:title id="t">Main Title</dc:title>
  <meta refines="#t" property="title-type">main</meta>
  <dc:creator id="a">Ann Author</dc:creator>
  <meta refines="#a" property="role" scheme="marc:relators">aut</meta>
  <dc:creator id="i">Ivy Illustrator</dc:creator>
  <meta refines="#i" property="role">ill</meta>
  <dc:creator>No Role</dc:creator>
  <dc:identifier>urn:uuid:1234</dc:identifier>
  <dc:identifier id="x">978-0-306-40615-7</dc:identifier>
  <dc:date>2016</dc:date>
  <dc:language>de_de</dc:language>
  <meta property="belongs-to-collection" id="set">A Set</meta>
  <meta refines="#set" property="collection-type">set</meta>
  <meta property="belongs-to-collection" id="c">The Series</meta>
  <meta refines="#c" property="collection-type">series</meta>
  <meta refines="#c" property="group-position">2.5</meta>
  <meta name="calibre:series" content="Ignored"/>
 </metadata>
 <manifest>
  <item id="c1" href="text/c%201.xhtml" media-type="application/xhtml+xml"/>
  <item id="img" href="../OPS/img/front.jpg" media-type="image/jpeg" properties="cover-image"/>
  <item id="svg" href="img/x.svg" media-type="image/svg+xml" properties="cover-image"/>
 </manifest>
</package>"##;

#[test]
fn epub3_refinements() {
    let opf = parse(EPUB3.as_bytes(), "OPS/package.opf").unwrap();
    let m = &opf.metadata;
    assert_eq!(m.title.as_deref(), Some("Main Title"));
    let names: Vec<&str> = m.authors.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Ann Author", "No Role"]);
    assert_eq!(m.isbn_13.as_deref(), Some("9780306406157"));
    assert_eq!(m.published_year, Some(2016));
    assert_eq!(m.language.as_deref(), Some("de-DE"));
    assert_eq!(m.series.as_deref(), Some("The Series"));
    assert_eq!(m.series_index, Some(2.5));
    assert_eq!(opf.covers, [CoverRef::Image("OPS/img/front.jpg".into())]);
}

const EPUB2: &str = r#"<package version="2.0" xmlns:opf="http://www.idpf.org/2007/opf">
 <metadata>
  <dc:title xmlns:dc="x">T</dc:title>
  <dc:creator xmlns:dc="x" opf:role="aut" opf:file-as="Smith, A &amp; Jones, B">A Smith</dc:creator>
  <dc:creator xmlns:dc="x" opf:role="aut" opf:file-as="Smith, A &amp; Jones, B">B Jones</dc:creator>
  <dc:contributor xmlns:dc="x" opf:role="aut">Contributor</dc:contributor>
  <dc:identifier xmlns:dc="x" opf:scheme="ISBN">155860832X</dc:identifier>
  <dc:date xmlns:dc="x" opf:event="modification">2012-02-02</dc:date>
  <dc:date xmlns:dc="x" opf:event="publication">2005-08</dc:date>
  <dc:description xmlns:dc="x">&lt;p&gt;One &amp;amp; two&lt;/p&gt;</dc:description>
  <meta name="calibre:series" content="S"/>
  <meta name="calibre:series_index" content="1.0"/>
  <meta name="cover" content="Images/Cover.JPG"/>
 </metadata>
 <manifest>
  <item id="p" href="Text/cover.xhtml" media-type="application/xhtml+xml"/>
  <item id="ci" href="Images/Cover.JPG" media-type="image/jpeg"/>
 </manifest>
 <guide><reference type="cover" href="Text/cover.xhtml#top"/></guide>
</package>"#;

#[test]
fn epub2_attributes_and_events() {
    let opf = parse(EPUB2.as_bytes(), "content.opf").unwrap();
    let m = &opf.metadata;
    assert_eq!(m.authors.len(), 2);
    assert_eq!(m.authors[0].file_as.as_deref(), Some("Smith, A"));
    assert_eq!(m.authors[1].file_as.as_deref(), Some("Jones, B"));
    assert_eq!(m.isbn_10.as_deref(), Some("155860832X"));
    assert_eq!(m.published_year, Some(2005));
    assert_eq!(m.description.as_deref(), Some("One & two"));
    assert_eq!(m.series.as_deref(), Some("S"));
    assert_eq!(m.series_index, Some(1.0));
    assert_eq!(
        opf.covers,
        [
            CoverRef::Image("Images/Cover.JPG".into()),
            CoverRef::Page("Text/cover.xhtml".into()),
        ]
    );
}

#[test]
fn malformed_and_wrong_root() {
    let err = parse(
        b"<package><metadata><dc:title>x</metadata></package>",
        "a.opf",
    );
    assert!(matches!(err, Err(FormatError::Broken(m)) if m.starts_with("malformed OPF")));
    assert!(parse(b"<html/>", "a.opf").is_err());
}

#[test]
fn hrefs() {
    assert_eq!(
        resolve_href("OEBPS", "Text/a.xhtml#x").as_deref(),
        Some("OEBPS/Text/a.xhtml")
    );
    assert_eq!(
        resolve_href("OEBPS/Text", "../Images/a%20b.jpg").as_deref(),
        Some("OEBPS/Images/a b.jpg")
    );
    assert_eq!(
        resolve_href("", "./cover.jpg").as_deref(),
        Some("cover.jpg")
    );
    assert_eq!(resolve_href("a", "/root.jpg").as_deref(), Some("root.jpg"));
    assert_eq!(resolve_href("", "../../etc/passwd"), None);
    assert_eq!(resolve_href("a", "http://x/y.jpg"), None);
    assert_eq!(resolve_href("a", "data:image/png;base64,xx"), None);
    assert_eq!(resolve_href("a", "#frag"), None);
    assert_eq!(
        resolve_href("a", "b%zz%e9.jpg").as_deref(),
        Some("a/b%zz%e9.jpg")
    );
}

#[test]
fn shared_file_as_only_split_when_it_fits() {
    let p = |n: &str, f: &str| Person {
        name: n.into(),
        file_as: Some(f.into()),
    };
    let mut three = vec![
        p("A", "X, A & Y, B"),
        p("B", "X, A & Y, B"),
        p("C", "X, A & Y, B"),
    ];
    split_shared_file_as(&mut three);
    assert_eq!(three[0].file_as.as_deref(), Some("X, A & Y, B"));
}

#[test]
fn hostile_sizes_stay_linear() {
    let n = 20_000;
    let mut md = String::new();
    let mut manifest = String::new();
    for i in 0..n {
        md.push_str(&format!(
            "<dc:creator id=\"c{i}\">Person {i}</dc:creator><meta refines=\"#c{i}\" property=\"role\">aut</meta>\
             <dc:subject>S{i}</dc:subject><meta name=\"cover\" content=\"x{i}\"/>"
        ));
        manifest.push_str(&format!(
            "<item id=\"cover{i}\" href=\"c{i}.jpg\" media-type=\"image/jpeg\"/>"
        ));
    }
    let doc = format!(
        "<package><metadata>{md}</metadata><manifest>{manifest}</manifest><guide>{}</guide></package>",
        "<reference type=\"cover\" href=\"p.xhtml\"/>".repeat(n)
    );
    let start = std::time::Instant::now();
    let opf = parse(doc.as_bytes(), "a.opf").unwrap();
    assert_eq!(opf.metadata.authors.len(), n);
    assert!(opf.covers.len() <= MAX_COVER_CANDIDATES);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}
