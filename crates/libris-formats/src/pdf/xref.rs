//! Cross-reference data: classic tables and xref streams, newest section first along the
//! /Prev chain, into one map from object number to location.

use std::collections::HashMap;

use super::object::{Dict, Obj, ParseError, Parser};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loc {
    /// Byte offset of "N G obj".
    InFile(u64, u16),
    /// Inside object stream `.0`, at index `.1`.
    InStream(u32, u32),
}

/// Entries across all sections; a PDF with a million objects is already huge.
pub const MAX_ENTRIES: usize = 2_000_000;

#[derive(Default)]
pub struct Xref {
    pub map: HashMap<u32, Loc>,
    /// Root, Info and Encrypt from the newest trailer that has them.
    pub trailer: Dict,
}

impl Xref {
    /// Adds an entry unless a newer section already gave this object.
    pub fn add(&mut self, num: u32, loc: Loc) -> Result<(), String> {
        if self.map.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} cross-reference entries"));
        }
        self.map.entry(num).or_insert(loc);
        Ok(())
    }

    /// Adds a section parsed on its own; its entries are older than those already here.
    pub fn absorb(&mut self, older: Xref) -> Result<(), String> {
        for (num, loc) in older.map {
            self.add(num, loc)?;
        }
        Ok(())
    }

    pub fn merge_trailer(&mut self, trailer: &Dict) {
        for key in [b"Root".as_slice(), b"Info", b"Encrypt"] {
            if self.trailer.get(key).is_none() {
                if let Some(v) = trailer.get(key) {
                    self.trailer.0.push((key.to_vec(), v.clone()));
                }
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum SectionError {
    /// The bytes ran out: the caller may retry with more.
    CutOff,
    Bad(String),
}

impl From<String> for SectionError {
    fn from(s: String) -> Self {
        SectionError::Bad(s)
    }
}

impl From<&str> for SectionError {
    fn from(s: &str) -> Self {
        SectionError::Bad(s.to_string())
    }
}

/// Parses a classic table starting after the "xref" keyword; returns its trailer.
pub fn parse_table(p: &mut Parser<'_>, xref: &mut Xref) -> Result<Dict, SectionError> {
    let syntax = |e: ParseError| match e {
        ParseError::Eof => SectionError::CutOff,
        ParseError::Syntax(s) => SectionError::Bad(format!("bad cross-reference table: {s}")),
    };
    loop {
        if p.eat(b"trailer") {
            p.skip_ws();
            return match p.object().map_err(syntax)? {
                Obj::Dict(d) => Ok(d),
                _ => Err(SectionError::Bad("trailer is not a dictionary".into())),
            };
        }
        let start = p.uint().map_err(syntax)?;
        let count = p.uint().map_err(syntax)?;
        let mut first = start;
        for i in 0..count {
            let offset = p.uint().map_err(syntax)?;
            let gen = p.uint().map_err(syntax)?;
            let kind = p.keyword().map_err(syntax)?;
            // A common writer bug numbers the first subsection from 1 while listing
            // object 0 (the free-list head, generation 65535) first.
            if i == 0 && start == 1 && kind == b"f" && gen == 65535 {
                first = 0;
            }
            let num = first
                .checked_add(i)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("object number too large")?;
            match kind {
                b"n" => xref.add(num, Loc::InFile(offset, u16::try_from(gen).unwrap_or(0)))?,
                b"f" => {}
                _ => return Err(SectionError::Bad("bad cross-reference entry type".into())),
            }
        }
    }
}

/// Adds the entries of a decoded xref stream (PDF 1.5+).
pub fn parse_stream(dict: &Dict, data: &[u8], xref: &mut Xref) -> Result<(), String> {
    let widths: Vec<usize> = match dict.get(b"W") {
        Some(Obj::Array(a)) if a.len() == 3 => a
            .iter()
            .map(|w| match w {
                Obj::Int(i @ 0..=8) => Ok(*i as usize),
                _ => Err("bad /W in xref stream"),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err("xref stream without a valid /W".into()),
    };
    let entry_len: usize = widths.iter().sum();
    if entry_len == 0 {
        return Err("xref stream entries are empty".into());
    }
    let size = dict.int(b"Size").unwrap_or(0);
    let index: Vec<i64> = match dict.get(b"Index") {
        Some(Obj::Array(a)) => a
            .iter()
            .map(|v| match v {
                Obj::Int(i) if *i >= 0 => Ok(*i),
                _ => Err("bad /Index in xref stream"),
            })
            .collect::<Result<_, _>>()?,
        _ => vec![0, size],
    };
    let mut entries = data.chunks_exact(entry_len);
    for pair in index.chunks_exact(2) {
        for i in 0..pair[1] {
            let Some(entry) = entries.next() else {
                return Ok(()); // The data ran out before /Index did: keep what was there.
            };
            let (a, rest) = entry.split_at(widths[0]);
            let (b, c) = rest.split_at(widths[1]);
            let kind = if widths[0] == 0 { 1 } else { be(a) };
            let num = pair[0]
                .checked_add(i)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or("object number too large")?;
            match kind {
                1 => xref.add(num, Loc::InFile(be(b), u16::try_from(be(c)).unwrap_or(0)))?,
                2 => {
                    let stream = u32::try_from(be(b)).map_err(|_| "bad object stream number")?;
                    xref.add(
                        num,
                        Loc::InStream(stream, u32::try_from(be(c)).unwrap_or(u32::MAX)),
                    )?
                }
                _ => {}
            }
        }
    }
    Ok(())
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_with_off_by_one_start() {
        let data = b"1 3\n0000000000 65535 f \n0000000015 00000 n \n0000000079 00000 n \ntrailer\n<</Size 3/Root 1 0 R>>";
        let mut xref = Xref::default();
        let trailer = parse_table(&mut Parser::new(data, 0), &mut xref).expect("valid");
        assert_eq!(xref.map.get(&1), Some(&Loc::InFile(15, 0)));
        assert_eq!(xref.map.get(&2), Some(&Loc::InFile(79, 0)));
        assert_eq!(trailer.get(b"Root"), Some(&Obj::Ref(1, 0)));
    }

    #[test]
    fn truncated_table_is_an_error() {
        let mut xref = Xref::default();
        let cut = parse_table(
            &mut Parser::new(b"0 5\n0000000000 65535 f \n00000", 0),
            &mut xref,
        );
        assert_eq!(cut, Err(SectionError::CutOff));
    }

    #[test]
    fn stream_entries() {
        let dict = Dict(vec![
            (
                b"W".to_vec(),
                Obj::Array(vec![Obj::Int(1), Obj::Int(2), Obj::Int(1)]),
            ),
            (
                b"Index".to_vec(),
                Obj::Array(vec![Obj::Int(4), Obj::Int(2)]),
            ),
        ]);
        let data = [1, 0x01, 0x00, 0, 2, 0x00, 0x09, 3];
        let mut xref = Xref::default();
        parse_stream(&dict, &data, &mut xref).expect("valid");
        assert_eq!(xref.map.get(&4), Some(&Loc::InFile(256, 0)));
        assert_eq!(xref.map.get(&5), Some(&Loc::InStream(9, 3)));
    }
}
