//! Hostile files uploaded to libris (a separate process, so that its memory can be read):
//! every broken fixture, and generated bombs by ratio (declared and lying), by entry count, deep
//! nesting, billion laughs, images declaring 100,000 × 100,000 pixels, symlink entries. Each
//! gets a clear answer, none a 5xx; memory stays bounded; nothing is written outside the data
//! dir, and a refused file leaves nothing.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use crate::common::{files_under, TestDb};
use crate::process::{first_admin, multipart, ready, start};
use crate::Figures;

const RSS_LIMIT_MB: f64 = 300.0;

const CONTAINER: &str = r#"<?xml version="1.0"?><container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles><rootfile full-path="OPF" media-type="application/oebps-package+xml"/></rootfiles></container>"#;

fn opf(metadata_extra: &str, manifest_extra: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="2.0" unique-identifier="id">
<metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Hostile</dc:title>
<dc:identifier id="id">x</dc:identifier>{metadata_extra}</metadata>
<manifest><item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>{manifest_extra}</manifest>
<spine><itemref idref="c1"/></spine></package>"#
    )
}

enum Entry {
    File(String, Vec<u8>),
    /// A large run of one byte, deflated as it is written.
    Run(String, u8, u64),
    Symlink(String, String),
}

fn zip_of(entries: Vec<Entry>) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(false);
    for entry in entries {
        match entry {
            Entry::File(name, bytes) => {
                let options = if name == "mimetype" { stored } else { deflated };
                zip.start_file(name, options).unwrap();
                zip.write_all(&bytes).unwrap();
            }
            Entry::Run(name, byte, len) => {
                zip.start_file(name, deflated.large_file(len > u32::MAX as u64))
                    .unwrap();
                let chunk = vec![byte; 1 << 20];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len() as u64);
                    zip.write_all(&chunk[..n as usize]).unwrap();
                    left -= n;
                }
            }
            Entry::Symlink(name, target) => zip.add_symlink(name, target, stored).unwrap(),
        }
    }
    zip.finish().unwrap().into_inner()
}

/// An EPUB whose container names `opf_path`, with extra entries after the usual ones.
fn epub(opf_path: &str, opf: Entry, extra: Vec<Entry>) -> Vec<u8> {
    let mut entries = vec![
        Entry::File("mimetype".into(), b"application/epub+zip".to_vec()),
        Entry::File(
            "META-INF/container.xml".into(),
            CONTAINER.replace("OPF", opf_path).into_bytes(),
        ),
        opf,
    ];
    entries.extend(extra);
    zip_of(entries)
}

fn chapter() -> Entry {
    Entry::File(
        "c1.xhtml".into(),
        b"<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><p>x</p></body></html>".to_vec(),
    )
}

/// An EPUB whose OPF names `cover.png` as its cover, with `cover` as that entry.
fn epub_with_cover(cover: Entry) -> Vec<u8> {
    let manifest = r#"<item id="cover" href="cover.png" media-type="image/png"/>"#;
    let package = opf(r#"<meta name="cover" content="cover"/>"#, manifest);
    epub(
        "content.opf",
        Entry::File("content.opf".into(), package.into_bytes()),
        vec![chapter(), cover],
    )
}

/// Sets the uncompressed size the local and central headers declare for entry `name`.
fn lie_about_size(mut zip: Vec<u8>, name: &str, declared: u32) -> Vec<u8> {
    let mut patched = 0;
    for i in 0..zip.len().saturating_sub(46) {
        // (where the name starts, where the size is, where the name's length is)
        let (name_at, size_at, len_at) = match zip[i..i + 4] {
            [0x50, 0x4b, 0x03, 0x04] => (30, 22, 26),
            [0x50, 0x4b, 0x01, 0x02] => (46, 24, 28),
            _ => continue,
        };
        let name_len = u16::from_le_bytes([zip[i + len_at], zip[i + len_at + 1]]) as usize;
        if zip.get(i + name_at..i + name_at + name_len) == Some(name.as_bytes()) {
            zip[i + size_at..i + size_at + 4].copy_from_slice(&declared.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "both headers of {name} patched");
    zip
}

/// A PNG whose header declares `w` × `h` pixels, with a token of image data.
fn png_declaring(w: u32, h: u32) -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        c.extend_from_slice(&crc.sum().to_be_bytes());
        c
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &ihdr));
    png.extend(chunk(
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    ));
    png.extend(chunk(b"IEND", &[]));
    png
}

/// A JPEG whose frame header declares 65,535 × 65,535 pixels (JPEG's largest).
fn jpeg_declaring_max() -> Vec<u8> {
    let mut j = vec![
        0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03,
    ];
    for id in 1..=3u8 {
        j.extend_from_slice(&[id, 0x11, 0x00]);
    }
    j.extend_from_slice(&[0xFF, 0xD9]);
    j
}

const LAUGHS: &str = r#"<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"><!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"><!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"><!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"><!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"><!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"><!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>"#;

fn generated() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let plain_opf = || Entry::File("content.opf".into(), opf("", "").into_bytes());
    // Bombs by ratio: 1 GiB of zeros in a chapter; 200 MiB behind an OPF that declares 1 KiB.
    files.push((
        "bomb-ratio.epub".into(),
        epub(
            "content.opf",
            plain_opf(),
            vec![Entry::Run("c1.xhtml".into(), 0, 1 << 30)],
        ),
    ));
    let lying = epub(
        "content.opf",
        Entry::Run("content.opf".into(), b' ', 200 << 20),
        vec![chapter()],
    );
    files.push((
        "bomb-lying-size.epub".into(),
        lie_about_size(lying, "content.opf", 1024),
    ));
    // Bombs by count: 100,000 entries; 45,000 comic pages of 16 KiB zeros each (720 MiB).
    let mut many: Vec<Entry> = (0..100_000)
        .map(|i| Entry::File(format!("x/{i}.xhtml"), Vec::new()))
        .collect();
    many.push(chapter());
    files.push((
        "count-100k.epub".into(),
        epub("content.opf", plain_opf(), many),
    ));
    let pages: Vec<Entry> = (0..45_000)
        .map(|i| Entry::Run(format!("{i:05}.png"), 0, 16 << 10))
        .collect();
    files.push(("count-pages.cbz".into(), zip_of(pages)));
    // Deep nesting: an OPF 500 directories down, and 100,000 nested elements in an OPF
    // (under the 1 MiB below which expansion ratios are not judged).
    let deep_path = format!("{}content.opf", "d/".repeat(500));
    files.push((
        "deep-path.epub".into(),
        epub(
            &deep_path,
            Entry::File(deep_path.clone(), opf("", "").into_bytes()),
            vec![],
        ),
    ));
    let nested = format!("{}{}", "<x>".repeat(100_000), "</x>".repeat(100_000));
    files.push((
        "deep-elements.epub".into(),
        epub(
            "content.opf",
            Entry::File("content.opf".into(), opf(&nested, "").into_bytes()),
            vec![chapter()],
        ),
    ));
    // Billion laughs, in an OPF and in an FB2.
    let laughing_opf = opf("<dc:description>&lol9;</dc:description>", "").replacen(
        "?>\n",
        &format!("?>\n{LAUGHS}\n"),
        1,
    );
    files.push((
        "laughs.epub".into(),
        epub(
            "content.opf",
            Entry::File("content.opf".into(), laughing_opf.into_bytes()),
            vec![chapter()],
        ),
    ));
    files.push((
        "laughs.fb2".into(),
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{LAUGHS}\n<FictionBook xmlns=\"http://www.gribuser.ru/xml/fictionbook/2.0\"><description><title-info><book-title>&lol9;</book-title></title-info></description><body><section><p>&lol9;</p></section></body></FictionBook>"
        )
        .into_bytes(),
    ));
    // Images declaring 100,000 × 100,000 pixels (and JPEG's 65,535²): as cover, as page.
    files.push((
        "huge-cover.epub".into(),
        epub_with_cover(Entry::File(
            "cover.png".into(),
            png_declaring(100_000, 100_000),
        )),
    ));
    files.push((
        "huge-page.cbz".into(),
        zip_of(vec![
            Entry::File("001.png".into(), png_declaring(100_000, 100_000)),
            Entry::File("002.jpg".into(), jpeg_declaring_max()),
        ]),
    ));
    files.push((
        "huge-jpeg-page.cbz".into(),
        zip_of(vec![Entry::File("001.jpg".into(), jpeg_declaring_max())]),
    ));
    // Symbolic link entries: a cover and comic pages pointing at files of the machine.
    files.push((
        "symlink-cover.epub".into(),
        epub_with_cover(Entry::Symlink("cover.png".into(), "/etc/passwd".into())),
    ));
    files.push((
        "symlink-pages.cbz".into(),
        zip_of(vec![
            Entry::Symlink("001.jpg".into(), "/etc/passwd".into()),
            Entry::Symlink("002.jpg".into(), "../../../../etc/shadow".into()),
        ]),
    ));
    files.push((
        "symlink-opf.epub".into(),
        zip_of(vec![
            Entry::File("mimetype".into(), b"application/epub+zip".to_vec()),
            Entry::File(
                "META-INF/container.xml".into(),
                CONTAINER.replace("OPF", "content.opf").into_bytes(),
            ),
            Entry::Symlink("content.opf".into(), "/etc/passwd".into()),
        ]),
    ));
    files
}

/// Every broken fixture, and truncated copies of real MOBI/AZW3/FB2/CBZ files.
fn from_fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/books");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("broken-") {
            files.push((name, std::fs::read(entry.path()).unwrap()));
        }
    }
    files.sort();
    for name in [
        "cyrillic.azw3",
        "hebrew-rtl.mobi",
        "greek.fb2",
        "comic-with-comicinfo.cbz",
    ] {
        let bytes = std::fs::read(dir.join(name)).unwrap();
        for (cut, label) in [(3, "third"), (2, "half")] {
            let n = bytes.len() / cut;
            files.push((format!("truncated-{label}-{name}"), bytes[..n].to_vec()));
        }
    }
    files
}

fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map(|kb| (kb / 1024.0 * 10.0).round() / 10.0)
        .unwrap_or(f64::NAN)
}

pub async fn run(figures: &mut Figures) {
    let db = TestDb::new();
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    let log = root.path().join("server.log");
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(120))
        .finish();
    let mut files = actix_web::rt::task::spawn_blocking(generated)
        .await
        .unwrap();
    files.extend(from_fixtures());
    let generated_bytes: usize = files.iter().map(|f| f.1.len()).sum();

    let mut server = start(&db, &data, &log);
    ready(&client, &server).await;
    let admin = first_admin(&client, &server).await;

    let (mut refused, mut accepted, mut server_errors, mut unclear) = (0, 0, 0, 0);
    let mut slowest = (0.0f64, String::new());
    for (name, bytes) in &files {
        let (content_type, body) = multipart(name, bytes);
        let at = Instant::now();
        let sent = client
            .post(format!("{}/api/uploads", server.url))
            .insert_header(("authorization", format!("Bearer {admin}")))
            .insert_header(("content-type", content_type))
            .send_body(body)
            .await;
        let took = at.elapsed().as_secs_f64();
        if took > slowest.0 {
            slowest = (took, name.clone());
        }
        let Ok(mut resp) = sent else {
            eprintln!("{name}: no answer");
            server_errors += 1;
            continue;
        };
        let status = resp.status().as_u16();
        let v: Value =
            serde_json::from_slice(&resp.body().limit(1 << 20).await.unwrap_or_default())
                .unwrap_or(Value::Null);
        let message = v["files"][0]["error"]["message"].as_str().unwrap_or("");
        match status {
            200 | 201 => accepted += 1,
            400..=499 if !message.is_empty() => refused += 1,
            400..=499 => {
                eprintln!("{name}: {status} without a message: {v}");
                unclear += 1;
            }
            _ => {
                eprintln!("{name}: {status} {v}");
                server_errors += 1;
            }
        }
        if std::env::var("RELIABILITY_VERBOSE").is_ok() {
            eprintln!("{name}: {status} in {took:.2} s: {message}");
        }
    }
    let rss = peak_rss_mb(server.child.id());
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let books = db.count("SELECT count(*) FROM books");
    let file_rows = db.count("SELECT count(*) FROM book_files");
    // The data dir holds the secret, the accepted books' files and covers; nothing else.
    let outside: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "data" && n != "server.log")
        .collect();
    let in_tmp = files_under(&data.join("tmp")).len();
    let stored = files_under(&data.join("inbox")).len() + files_under(&data.join("library")).len();
    let leaked = files_under(&data.join("covers"))
        .iter()
        .chain(files_under(&data.join("inbox")).iter())
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.windows(5).any(|w| w == b"root:")))
        .count();

    figures.row(
        &format!(
            "hostile files uploaded (fixtures and generated, {:.0} MB)",
            generated_bytes as f64 / 1e6
        ),
        files.len() as f64,
        "",
        !files.is_empty(),
    );
    figures.row(
        "  refused with a clear error (4xx and a message)",
        refused as f64,
        "",
        true,
    );
    figures.row(
        "  accepted without their hostile part (e.g. no cover)",
        accepted as f64,
        "",
        true,
    );
    figures.row(
        "  answered 5xx or not at all",
        server_errors as f64,
        "0",
        server_errors == 0,
    );
    figures.row("  4xx without a message", unclear as f64, "0", unclear == 0);
    figures.row(
        &format!("  slowest answer, s ({})", slowest.1),
        (slowest.0 * 100.0).round() / 100.0,
        "< 60",
        slowest.0 < 60.0,
    );
    figures.row("  libris peak RSS, MB", rss, "< 300", rss < RSS_LIMIT_MB);
    figures.row(
        "  books / files stored (only the accepted)",
        books as f64,
        "= accepted",
        books == accepted && file_rows == accepted && stored as i64 == accepted,
    );
    figures.row("  files left in tmp", in_tmp as f64, "0", in_tmp == 0);
    figures.row(
        "  files written outside the data dir",
        outside.len() as f64,
        "0",
        outside.is_empty(),
    );
    figures.row(
        "  stored files holding /etc/passwd",
        leaked as f64,
        "0",
        leaked == 0,
    );
}
