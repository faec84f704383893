use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::*;

fn build(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn open(bytes: Vec<u8>) -> Result<SafeZip<Cursor<Vec<u8>>>, FormatError> {
    SafeZip::new(Cursor::new(bytes))
}

fn broken_msg(r: Result<SafeZip<Cursor<Vec<u8>>>, FormatError>) -> String {
    match r {
        Err(FormatError::Broken(m)) => m,
        Err(e) => panic!("expected Broken, got {e:?}"),
        Ok(_) => panic!("expected Broken, got Ok"),
    }
}

#[test]
fn reads_and_finds_case_insensitively() {
    let bytes = build(
        &[
            ("META-INF/container.xml", b"<c/>"),
            ("Images/Cover.JPG", b"jpg"),
        ],
        CompressionMethod::Deflated,
    );
    let mut z = open(bytes).unwrap();
    assert_eq!(z.entries().len(), 2);
    assert_eq!(z.find("images/cover.jpg"), Some(1));
    assert_eq!(z.find("/META-INF/container.xml"), Some(0));
    assert_eq!(z.find("missing"), None);
    let bytes = build(&[("OEBPS\\Content.opf", b"x")], CompressionMethod::Stored);
    assert_eq!(open(bytes).unwrap().find("oebps/content.opf"), Some(0));
    assert_eq!(z.read(1, 100).unwrap(), b"jpg");
    assert_eq!(z.read_named("nope", 100).unwrap(), None);
    assert!(matches!(z.read(1, 2), Err(FormatError::Broken(_))));
}

#[test]
fn declared_ratio_bomb_is_refused_at_open() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let bytes = build(&[("big.xhtml", &zeros)], CompressionMethod::Deflated);
    assert!(broken_msg(open(bytes)).contains("zip bomb"));
}

#[test]
fn small_compressible_entries_are_fine() {
    let spaces = vec![b' '; 200 * 1024];
    let bytes = build(&[("a.xhtml", &spaces)], CompressionMethod::Deflated);
    let mut z = open(bytes).unwrap();
    assert_eq!(z.read(0, 1 << 20).unwrap().len(), spaces.len());
}

#[test]
fn lying_sizes_are_caught_while_inflating() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let mut bytes = build(&[("big.xhtml", &zeros)], CompressionMethod::Deflated);
    // Make the central directory claim the entry is 1000 bytes: it passes the open checks.
    let cd = bytes
        .windows(4)
        .rposition(|w| w == CDFH_SIG.to_le_bytes())
        .unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&1000u32.to_le_bytes());
    let mut z = open(bytes).unwrap();
    let err = z.read(0, 32 * 1024 * 1024).unwrap_err();
    assert!(
        matches!(err, FormatError::Broken(ref m) if m.contains("zip bomb")),
        "{err:?}"
    );
}

#[test]
fn too_many_entries() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for i in 0..=MAX_ENTRIES {
        w.start_file(format!("{i}"), opts).unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    assert!(broken_msg(open(bytes)).contains("too many entries"));
}

#[test]
fn traversal_names_are_refused() {
    for name in [
        "../../evil.txt",
        "OEBPS/../../../evil2.txt",
        "a\\..\\..\\evil.txt",
        "/etc/passwd",
        "\\evil",
        "C:/evil",
    ] {
        let bytes = build(
            &[("mimetype", b"application/epub+zip"), (name, b"x")],
            CompressionMethod::Stored,
        );
        assert!(
            broken_msg(open(bytes)).contains("unsafe entry name"),
            "{name}"
        );
    }
}

#[test]
fn unsafe_name_rules() {
    assert_eq!(unsafe_name(b"a\0b"), Some("NUL byte"));
    assert_eq!(unsafe_name(b"OEBPS/..foo/x..y/.hidden"), None);
    assert_eq!(unsafe_name(b"OEBPS/./a.xhtml"), None);
    assert!(unsafe_name(b"..").is_some());
}

#[test]
fn truncated_and_garbage_are_damaged() {
    let bytes = build(&[("a.txt", &[7u8; 5000][..])], CompressionMethod::Stored);
    let half = bytes[..bytes.len() / 2].to_vec();
    assert!(broken_msg(open(half)).contains("truncated"));
    assert!(broken_msg(open(b"PK\x03\x04not really".to_vec())).contains("truncated"));
    assert!(broken_msg(open(Vec::new())).contains("truncated"));
}

#[test]
fn huge_declared_count_is_refused_before_allocating() {
    let mut bytes = build(&[("a", b"x")], CompressionMethod::Stored);
    let eocd = bytes.len() - 22;
    bytes[eocd + 8..eocd + 10].copy_from_slice(&0xFFFEu16.to_le_bytes());
    bytes[eocd + 10..eocd + 12].copy_from_slice(&0xFFFEu16.to_le_bytes());
    assert!(broken_msg(open(bytes)).contains("too many entries"));
}
