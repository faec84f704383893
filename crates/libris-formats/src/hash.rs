//! File hashes: KOReader's partial MD5 (its document id in "binary" checksum mode) and a
//! streaming SHA-256 of the whole file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use md5::Md5;
use sha2::{Digest, Sha256};

const SAMPLE: u64 = 1024;

/// The offsets KOReader samples: 0, then 1024·4^k for k = 0..=10 (the last at 1 GiB).
/// (KOReader computes `lshift(1024, 2*i)` for i = -1..10; LuaJIT masks the shift -2 to 30,
/// which overflows 32 bits to 0.)
pub fn partial_md5_offsets() -> impl Iterator<Item = u64> {
    std::iter::once(0).chain((0..=10).map(|k| SAMPLE << (2 * k)))
}

/// KOReader's partial MD5 over any seekable reader: up to 1024 bytes at each sample
/// offset, stopping at the first offset at or past the end.
pub fn partial_md5<R: Read + Seek>(reader: &mut R) -> io::Result<String> {
    let len = reader.seek(SeekFrom::End(0))?;
    let mut md5 = Md5::new();
    let mut buf = [0u8; SAMPLE as usize];
    for offset in partial_md5_offsets() {
        if offset >= len {
            break;
        }
        reader.seek(SeekFrom::Start(offset))?;
        let want = SAMPLE.min(len - offset) as usize;
        reader.read_exact(&mut buf[..want])?;
        md5.update(&buf[..want]);
    }
    Ok(hex::encode(md5.finalize()))
}

pub fn partial_md5_file(path: &Path) -> io::Result<String> {
    partial_md5(&mut File::open(path)?)
}

/// SHA-256 of everything `reader` yields, in 64 KiB steps (never the whole file in memory).
pub fn sha256<R: Read>(reader: &mut R) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(hex::encode(hasher.finalize()))
}

pub fn sha256_file(path: &Path) -> io::Result<String> {
    sha256(&mut File::open(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// P(n): n bytes where byte i = (i·31 + (i >> 8)) mod 256.
    fn pattern(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| (i.wrapping_mul(31).wrapping_add(i >> 8) % 256) as u8)
            .collect()
    }

    fn pmd5(n: usize) -> String {
        partial_md5(&mut Cursor::new(pattern(n))).unwrap()
    }

    #[test]
    fn offsets_are_koreaders() {
        let offsets: Vec<u64> = partial_md5_offsets().collect();
        assert_eq!(offsets.len(), 12);
        assert_eq!(&offsets[..4], &[0, 1024, 4096, 16384]);
        assert_eq!(offsets[11], 1 << 30);
    }

    #[test]
    fn vectors() {
        assert_eq!(pmd5(500), "21f0df72cce9bc7da8dae2512ee5feed");
        assert_eq!(pmd5(1024), "f4cd1641040a17288bb6104d9e66bdb5");
        assert_eq!(pmd5(1025), "170a888db01c00d8fc3e5d8d84de5838");
        assert_eq!(pmd5(2048), "d0e59a0c7b893c3b8d6a9bddbd64e631");
        assert_eq!(pmd5(3000), "d0e59a0c7b893c3b8d6a9bddbd64e631");
        assert_eq!(pmd5(200_000), "1784b150454ef4cf6780ceb94af0386f");
        assert_eq!(pmd5(1_050_000), "0fca5c751677ecbc2dcfe80ea75ace32");
    }

    #[test]
    fn real_files_match_koreaders_own_hashes() {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/koreader");
        let hash = |name: &str| partial_md5_file(&fixtures.join(name)).unwrap();
        assert_eq!(hash("leaves.epub"), "59d481d168cca6267322f150c5f6a2a3");
        assert_eq!(hash("tall.pdf"), "41cce710f34e5ec21315e19c99821415");
    }

    #[test]
    fn empty_input_is_md5_of_nothing() {
        assert_eq!(pmd5(0), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn sha256_streams() {
        let data = pattern(200_000);
        let expected = hex::encode(Sha256::digest(&data));
        assert_eq!(sha256(&mut Cursor::new(data)).unwrap(), expected);
    }
}
