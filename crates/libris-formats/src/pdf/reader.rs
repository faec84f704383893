//! Random access to a PDF's objects without loading the file: the tail, the xref
//! sections and the handful of objects metadata needs are read with seeks.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::rc::Rc;

use super::object::{indirect, Dict, Obj, ParseError, Parser};
use super::stream;
use super::xref::{self, Loc, SectionError, Xref};

/// Bytes searched at the end for "startxref"; the spec says 1024, writers add junk.
const TAIL_BYTES: u64 = 64 * 1024;
/// The largest non-stream object or xref table we are willing to parse.
const MAX_OBJECT_BYTES: u64 = 8 * 1024 * 1024;
const MAX_XREF_BYTES: u64 = 64 * 1024 * 1024;
/// Decoded object or xref streams; metadata-bearing ones are far smaller.
const MAX_STREAM_BYTES: usize = 32 * 1024 * 1024;
const MAX_XREF_SECTIONS: usize = 512;
/// How far from the xref offset an object header is looked for (files whose line ends
/// were converted or that gained a prefix are off by a few bytes).
const OFFSET_SLACK: u64 = 1024;
/// Total bytes read from one file, whatever the structure says.
const MAX_IO_BYTES: u64 = 256 * 1024 * 1024;

pub struct PdfReader {
    file: File,
    len: u64,
    /// Where "%PDF-" starts. Offsets in the file count from there when something (a mail
    /// header, a download wrapper) was put in front of a finished PDF.
    base: u64,
    /// Bytes left to read: a hostile file can point many xref sections or page-tree
    /// nodes at the same large region, and each read must still cost something.
    io_budget: u64,
    xref: Xref,
    objstm_cache: HashMap<u32, Rc<ObjStm>>,
}

pub type Res<T> = Result<T, String>;

/// A decoded object stream and where each of its objects starts.
struct ObjStm {
    data: Vec<u8>,
    table: Vec<(u32, usize)>,
}

/// Where a stream's data was found: the bytes read at `offset`, data from `data_start`.
struct StreamAt {
    offset: u64,
    window: Vec<u8>,
    data_start: usize,
}

impl PdfReader {
    /// `Ok(None)`: not a PDF at all (no "%PDF-" in the first kilobyte).
    pub fn open(mut file: File) -> Res<Option<PdfReader>> {
        let len = file.metadata().map_err(|e| e.to_string())?.len();
        let head = read_file_at(&mut file, 0, 1024)?;
        let Some(header_at) = find(&head, b"%PDF-").map(|at| at as u64) else {
            return Ok(None);
        };
        let mut reader = PdfReader {
            file,
            len,
            base: header_at,
            io_budget: MAX_IO_BYTES,
            xref: Xref::default(),
            objstm_cache: HashMap::new(),
        };
        let start = reader.find_startxref()?;
        let first_try = reader.read_xref_chain(start);
        if first_try.is_err() && header_at != 0 {
            // The prefix may have been there when the offsets were written.
            reader.base = 0;
            reader.xref = Xref::default();
            if reader.read_xref_chain(start).is_ok() {
                return Ok(Some(reader));
            }
        }
        first_try.map(|()| Some(reader))
    }

    pub fn trailer(&self) -> &Dict {
        &self.xref.trailer
    }

    fn find_startxref(&mut self) -> Res<u64> {
        let from = self.len.saturating_sub(TAIL_BYTES);
        let tail = self.read_at(from, TAIL_BYTES as usize)?;
        let at = rfind(&tail, b"startxref")
            .ok_or("no 'startxref' at the end of the file (truncated?)")?;
        let mut p = Parser::new(&tail, at + b"startxref".len());
        let offset = p
            .uint()
            .map_err(|_| "unreadable 'startxref' value".to_string())?;
        if offset.saturating_add(self.base) >= self.len {
            return Err(format!(
                "startxref {offset} points past the end of the file (truncated?)"
            ));
        }
        Ok(offset)
    }

    fn read_xref_chain(&mut self, start: u64) -> Res<()> {
        let mut pending = vec![start];
        let mut seen = HashSet::new();
        while let Some(offset) = pending.pop() {
            if !seen.insert(offset) {
                continue;
            }
            if seen.len() > MAX_XREF_SECTIONS {
                return Err("too many cross-reference sections".into());
            }
            let trailer = self.read_xref_section(offset.saturating_add(self.base))?;
            self.xref.merge_trailer(&trailer);
            let offset_of = |key: &[u8]| trailer.int(key).and_then(|o| u64::try_from(o).ok());
            // Push /Prev first so that a hybrid file's /XRefStm is read before it.
            if let Some(prev) = offset_of(b"Prev") {
                pending.push(prev);
            }
            if let Some(stm) = offset_of(b"XRefStm") {
                pending.push(stm);
            }
        }
        if self.xref.trailer.get(b"Root").is_none() {
            return Err("the trailer names no document catalog".into());
        }
        Ok(())
    }

    /// Reads one section, starting with a small window and growing it: the section at
    /// the start of a linearized file must not cost a huge read.
    fn read_xref_section(&mut self, offset: u64) -> Res<Dict> {
        let available = self.len.saturating_sub(offset);
        let mut size = 64 * 1024;
        loop {
            let window = self.read_at(offset, size as usize)?;
            let mut section = Xref::default();
            match self.parse_xref_section(&window, offset, &mut section) {
                Ok(trailer) => {
                    self.xref.absorb(section)?;
                    return Ok(trailer);
                }
                Err(SectionError::CutOff) if size < available && size < MAX_XREF_BYTES => size *= 4,
                Err(SectionError::CutOff) => {
                    return Err(format!(
                        "cross-reference data at offset {offset} is cut off"
                    ))
                }
                Err(SectionError::Bad(e)) => {
                    return match self.find_xref_near(offset)? {
                        Some(real) if real != offset => self.read_xref_section(real),
                        _ => Err(e),
                    };
                }
            }
        }
    }

    /// A "xref" keyword close to a wrong startxref/Prev offset (line ends converted, a
    /// byte dropped), nearest first.
    fn find_xref_near(&mut self, offset: u64) -> Res<Option<u64>> {
        let from = offset.saturating_sub(OFFSET_SLACK);
        let window = self.read_at(from, (2 * OFFSET_SLACK) as usize)?;
        let mut best: Option<u64> = None;
        for (i, w) in window.windows(6).enumerate() {
            let boundary = |b: u8| b.is_ascii_whitespace();
            let at_token = i == 0 || boundary(window[i - 1]);
            if at_token && &w[..4] == b"xref" && boundary(w[4]) {
                let candidate = from + i as u64;
                if best.is_none_or(|b| candidate.abs_diff(offset) < b.abs_diff(offset)) {
                    best = Some(candidate);
                }
            }
        }
        Ok(best)
    }

    fn parse_xref_section(
        &mut self,
        window: &[u8],
        offset: u64,
        section: &mut Xref,
    ) -> Result<Dict, SectionError> {
        let mut p = Parser::new(window, 0);
        if p.eat(b"xref") {
            return xref::parse_table(&mut p, section);
        }
        let (_, obj, data_start) = match indirect(&mut Parser::new(window, 0), None) {
            Ok(parsed) => parsed,
            Err(ParseError::Eof) => return Err(SectionError::CutOff),
            Err(ParseError::Syntax(_)) => {
                return Err(format!("no cross-reference data at offset {offset}").into())
            }
        };
        let (Obj::Dict(dict), Some(data_start)) = (obj, data_start) else {
            return Err(format!("no cross-reference stream at offset {offset}").into());
        };
        if dict.name(b"Type") != Some(b"XRef") {
            return Err(
                format!("object at offset {offset} is not a cross-reference stream").into(),
            );
        }
        let raw = self.stream_bytes(&dict, window, data_start, offset)?;
        let data = stream::decode(&dict, &raw, MAX_STREAM_BYTES)?;
        xref::parse_stream(&dict, &data, section)?;
        Ok(dict)
    }

    /// Resolves references (including chains of them) to a direct object; a missing
    /// object is null, as the spec says.
    pub fn resolve(&mut self, obj: &Obj) -> Res<Obj> {
        let mut current = obj.clone();
        for _ in 0..8 {
            match current {
                Obj::Ref(num, gen) => current = self.load(num, gen)?.0,
                other => return Ok(other),
            }
        }
        Err("reference chain too long".into())
    }

    /// The dictionary of a stream object and its decoded data.
    pub fn stream(&mut self, obj: &Obj, max: usize) -> Res<(Dict, Vec<u8>)> {
        let Obj::Ref(num, gen) = *obj else {
            return Err("stream is not an indirect object".into());
        };
        let (obj, start) = self.load(num, gen)?;
        let (Obj::Dict(dict), Some(at)) = (obj, start) else {
            return Err(format!("object {num} is not a stream"));
        };
        let raw = self.stream_bytes(&dict, &at.window, at.data_start, at.offset)?;
        let data = stream::decode(&dict, &raw, max)?;
        Ok((dict, data))
    }

    /// The raw bytes of a stream whose data starts at `window[data_start]`.
    fn stream_bytes(
        &mut self,
        dict: &Dict,
        window: &[u8],
        data_start: usize,
        window_offset: u64,
    ) -> Res<Vec<u8>> {
        let declared = match dict.get(b"Length") {
            Some(Obj::Int(n)) => Some(*n),
            Some(r @ Obj::Ref(..)) => match self.resolve(&r.clone()) {
                Ok(Obj::Int(n)) => Some(n),
                _ => None,
            },
            _ => None,
        };
        let abs_start = window_offset + data_start as u64;
        let available = self.len.saturating_sub(abs_start);
        let len = match declared.and_then(|n| u64::try_from(n).ok()) {
            Some(n) if n <= available => n,
            // A missing or wrong /Length: fall back to the "endstream" keyword.
            _ => {
                let rest = window.get(data_start..).unwrap_or(&[]);
                find(rest, b"endstream").ok_or("stream has no usable /Length and no 'endstream'")?
                    as u64
            }
        };
        if len > MAX_STREAM_BYTES as u64 {
            return Err(format!("stream of {len} bytes is too large for metadata"));
        }
        match window.get(data_start..data_start + len as usize) {
            Some(bytes) => Ok(bytes.to_vec()),
            None => self.read_at(abs_start, len as usize),
        }
    }

    /// Loads object `num`; for streams also returns (window offset, window, data start).
    fn load(&mut self, num: u32, gen: u16) -> Res<(Obj, Option<StreamAt>)> {
        match self.xref.map.get(&num).copied() {
            None => Ok((Obj::Null, None)),
            Some(Loc::InStream(stm, index)) => Ok((self.load_from_stream(stm, num, index)?, None)),
            Some(Loc::InFile(offset, _)) => {
                self.load_at(offset.saturating_add(self.base), num, gen, true)
            }
        }
    }

    /// `search_nearby`: on a syntax error, look for the header near `offset` (once: the
    /// object found there is not searched around again, or two damaged copies of one
    /// header would send the search back and forth until the stack overflows).
    fn load_at(
        &mut self,
        offset: u64,
        num: u32,
        gen: u16,
        search_nearby: bool,
    ) -> Res<(Obj, Option<StreamAt>)> {
        let mut size: u64 = 4 * 1024;
        loop {
            let window = self.read_at(offset, size as usize)?;
            match indirect(&mut Parser::new(&window, 0), Some((num, gen))) {
                Ok((_, obj, stream)) => {
                    let at = stream.map(|data_start| StreamAt {
                        offset,
                        window,
                        data_start,
                    });
                    return Ok((obj, at));
                }
                Err(ParseError::Eof) if size < MAX_OBJECT_BYTES && offset + size < self.len => {
                    size *= 4
                }
                Err(ParseError::Eof) => {
                    return Err(format!("object {num} is cut off or too large"))
                }
                Err(ParseError::Syntax(_)) if search_nearby => {
                    return self.load_near(offset, num, gen)
                }
                Err(ParseError::Syntax(e)) => return Err(format!("object {num} is damaged: {e}")),
            }
        }
    }

    /// The xref offset did not point at "num gen obj": look for the header nearby, nearest
    /// first. Candidates are tried without searching around them again.
    fn load_near(&mut self, offset: u64, num: u32, gen: u16) -> Res<(Obj, Option<StreamAt>)> {
        let from = offset.saturating_sub(OFFSET_SLACK);
        let window = self.read_at(from, (2 * OFFSET_SLACK) as usize)?;
        let header = format!("{num} {gen} obj");
        let mut candidates = Vec::new();
        let mut at = 0;
        while let Some(i) = find(&window[at..], header.as_bytes()) {
            let pos = at + i;
            let starts_token = pos == 0 || !window[pos - 1].is_ascii_digit();
            let candidate = from + pos as u64;
            if starts_token && candidate != offset {
                candidates.push(candidate);
            }
            at = pos + 1;
        }
        candidates.sort_by_key(|c| c.abs_diff(offset));
        let mut last_err = None;
        for real in candidates {
            match self.load_at(real, num, gen, false) {
                Ok(found) => return Ok(found),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err
            .unwrap_or_else(|| format!("object {num} is not where the cross-reference table says")))
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Res<Vec<u8>> {
        let bytes = read_file_at(&mut self.file, offset, len)?;
        self.io_budget = self
            .io_budget
            .checked_sub(bytes.len() as u64)
            .ok_or("the file's structure makes it read far more data than it holds")?;
        Ok(bytes)
    }

    fn load_from_stream(&mut self, stm: u32, num: u32, index: u32) -> Res<Obj> {
        let parsed = match self.objstm_cache.get(&stm) {
            Some(p) => Rc::clone(p),
            None => {
                if !matches!(self.xref.map.get(&stm), Some(Loc::InFile(..))) {
                    return Err(format!("object stream {stm} is not in the file"));
                }
                let (dict, data) = self.stream(&Obj::Ref(stm, 0), MAX_STREAM_BYTES)?;
                let table = object_stream_table(&dict, &data)?;
                let parsed = Rc::new(ObjStm { data, table });
                if self.objstm_cache.len() >= 4 {
                    self.objstm_cache.clear();
                }
                self.objstm_cache.insert(stm, Rc::clone(&parsed));
                parsed
            }
        };
        let ObjStm { data, table } = &*parsed;
        // The index is a hint; the number in the stream's own table is what counts.
        let pos = table
            .get(index as usize)
            .filter(|(n, _)| *n == num)
            .or_else(|| table.iter().find(|(n, _)| *n == num))
            .map(|(_, pos)| *pos)
            .ok_or_else(|| format!("object {num} is missing from object stream {stm}"))?;
        Parser::new(data, pos)
            .object()
            .map_err(|_| format!("object {num} in object stream {stm} is damaged"))
    }
}

/// (object number, absolute offset in the decoded data) for each object in the stream.
fn object_stream_table(dict: &Dict, data: &[u8]) -> Res<Vec<(u32, usize)>> {
    let n = dict
        .int(b"N")
        .filter(|&n| n >= 0)
        .ok_or("object stream without /N")?;
    let first = dict
        .int(b"First")
        .and_then(|f| usize::try_from(f).ok())
        .filter(|&f| f <= data.len())
        .ok_or("object stream with a bad /First")?;
    let header = &data[..first];
    let mut p = Parser::new(header, 0);
    let mut table = Vec::new();
    for _ in 0..n {
        let (Ok(num), Ok(off)) = (p.uint(), p.uint()) else {
            break; // /N larger than the header: keep what is there.
        };
        let pos = usize::try_from(off).ok().and_then(|o| o.checked_add(first));
        if let (Ok(num), Some(pos)) = (u32::try_from(num), pos) {
            table.push((num, pos));
        }
    }
    Ok(table)
}

/// Up to `len` bytes at `offset` (fewer at the end of the file).
fn read_file_at(file: &mut File, offset: u64, len: usize) -> Res<Vec<u8>> {
    file.seek(SeekFrom::Start(offset))
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::with_capacity(len.min(1 << 20));
    file.take(len as u64)
        .read_to_end(&mut buf)
        .map_err(|e| e.to_string())?;
    Ok(buf)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}
