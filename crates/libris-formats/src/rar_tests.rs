use std::io::Cursor;

use super::*;

fn rar4_file(name: &str, data: &[u8], flags: u16) -> Vec<u8> {
    let size = 32 + name.len() as u16;
    let mut h = vec![0, 0, 0x74];
    h.extend((flags | 0x8000).to_le_bytes());
    h.extend(size.to_le_bytes());
    h.extend((data.len() as u32).to_le_bytes()); // packed
    h.extend((data.len() as u32).to_le_bytes()); // unpacked
    h.push(2); // host OS
    h.extend([0; 4]); // CRC
    h.extend([0; 4]); // time
    h.push(29); // version
    h.push(0x30); // method: store
    h.extend((name.len() as u16).to_le_bytes());
    h.extend([0x20, 0, 0, 0]); // attributes
    h.extend(name.as_bytes());
    h.extend(data);
    h
}

fn rar4(files: &[Vec<u8>], end: bool) -> Vec<u8> {
    let mut v = RAR4_SIG.to_vec();
    v.extend([0, 0, 0x73, 0, 0, 13, 0, 0, 0, 0, 0, 0, 0]); // main header
    for f in files {
        v.extend(f);
    }
    if end {
        v.extend([0, 0, 0x7b, 0, 0x40, 7, 0]);
    }
    v
}

fn names(v: &[RarEntry]) -> Vec<&str> {
    v.iter().map(|e| e.name.as_str()).collect()
}

#[test]
fn rar4_lists_files_and_dirs() {
    let bytes = rar4(
        &[
            rar4_file("Comic", b"", 0x00E0),
            rar4_file("Comic\\002.jpg", b"JPEGDATA", 0),
            rar4_file("Comic\\001.jpg", b"JPG", 0),
        ],
        true,
    );
    let list = list(&mut Cursor::new(bytes)).unwrap();
    assert_eq!(names(&list), ["Comic", "Comic/002.jpg", "Comic/001.jpg"]);
    assert!(list[0].is_dir && !list[1].is_dir);
}

#[test]
fn rar4_unicode_name_and_no_end_block() {
    let bytes = rar4(&[rar4_file("page.png\0\x01\x02", b"x", 0x0200)], false);
    let list = list(&mut Cursor::new(bytes)).unwrap();
    assert_eq!(names(&list), ["page.png"]);
}

#[test]
fn rar4_refuses_nonsense() {
    // Data claimed past the end of the file.
    let mut f = rar4_file("a.jpg", b"xx", 0);
    f[7..11].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(list(&mut Cursor::new(rar4(&[f], true))).is_err());
    // Header size below the minimum.
    let mut bad = rar4(&[], false);
    bad.extend([0, 0, 0x74, 0, 0, 3, 0]);
    assert!(list(&mut Cursor::new(bad)).is_err());
    // Name longer than the header.
    let mut f = rar4_file("a.jpg", b"", 0);
    f[26..28].copy_from_slice(&200u16.to_le_bytes());
    assert!(list(&mut Cursor::new(rar4(&[f], true))).is_err());
    // Cut in the middle of a header.
    let whole = rar4(&[rar4_file("a.jpg", b"", 0)], true);
    assert!(list(&mut Cursor::new(whole[..25].to_vec())).is_err());
    // Encrypted headers.
    let mut enc = RAR4_SIG.to_vec();
    enc.extend([0, 0, 0x73, 0x80, 0, 13, 0, 0, 0, 0, 0, 0, 0]);
    assert!(list(&mut Cursor::new(enc)).is_err());
}

fn v(mut x: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (x & 0x7f) as u8;
        x >>= 7;
        if x == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

fn rar5_block(fields: &[u8], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 0]; // CRC32 (not checked)
    b.extend(v(fields.len() as u64));
    b.extend(fields);
    b.extend(data);
    b
}

fn rar5_file(name: &str, data: &[u8], dir: bool) -> Vec<u8> {
    let mut f = v(2); // type: file
    f.extend(v(0x02)); // header flags: data area present
    f.extend(v(data.len() as u64));
    f.extend(v(if dir { 0x01 } else { 0x06 })); // file flags: dir / mtime + CRC
    f.extend(v(data.len() as u64)); // unpacked size
    f.extend(v(0x20)); // attributes
    if !dir {
        f.extend([1, 2, 3, 4, 5, 6, 7, 8]); // mtime, CRC
    }
    f.extend(v(0)); // compression
    f.extend(v(1)); // host OS
    f.extend(v(name.len() as u64));
    f.extend(name.as_bytes());
    rar5_block(&f, data)
}

fn rar5(files: &[Vec<u8>]) -> Vec<u8> {
    let mut out = RAR5_SIG.to_vec();
    out.extend(rar5_block(&[1, 0, 0], b"")); // main header
    for f in files {
        out.extend(f);
    }
    out.extend(rar5_block(&[5, 0, 0], b"")); // end of archive
    out
}

#[test]
fn rar5_lists_files() {
    let bytes = rar5(&[
        rar5_file("漫画", b"", true),
        rar5_file("漫画/010.webp", &[9; 300], false),
        rar5_file("漫画/002.webp", b"abc", false),
    ]);
    let list = list(&mut Cursor::new(bytes)).unwrap();
    assert_eq!(names(&list), ["漫画", "漫画/010.webp", "漫画/002.webp"]);
    assert!(list[0].is_dir && !list[2].is_dir);
}

#[test]
fn rar5_refuses_nonsense() {
    // Huge data size.
    let mut bad = RAR5_SIG.to_vec();
    let mut f = v(1);
    f.extend(v(0x02));
    f.extend(v(u64::MAX));
    bad.extend(rar5_block(&f, b""));
    assert!(list(&mut Cursor::new(bad)).is_err());
    // Header size beyond the 2 MiB limit.
    let mut bad = RAR5_SIG.to_vec();
    bad.extend([0, 0, 0, 0]);
    bad.extend(v(3 * 1024 * 1024));
    assert!(list(&mut Cursor::new(bad)).is_err());
    // Name length past the header.
    let mut f = rar5_file("a.jpg", b"", false);
    let last = f.len() - 6; // the name length vint
    f[last] = 100;
    assert!(list(&mut Cursor::new(rar5(&[f]))).is_err());
    // Encryption header.
    let mut enc = RAR5_SIG.to_vec();
    enc.extend(rar5_block(&[4, 0, 0, 0], b""));
    assert!(list(&mut Cursor::new(enc)).is_err());
    // Not RAR at all.
    assert!(list(&mut Cursor::new(b"Rar!".to_vec())).is_err());
}

#[test]
fn vints() {
    assert_eq!(vint(&[0x05]), Some((5, 1)));
    assert_eq!(vint(&[0x80 | 0x01, 0x02]), Some((0x101, 2)));
    assert_eq!(vint(&[0x80]), None);
    assert_eq!(vint(&v(u64::MAX)), Some((u64::MAX, 10)));
    assert_eq!(vint(&[0xFF; 10]), None);
    assert_eq!(
        vint(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02]),
        None
    );
}
