//! PDF objects and a parser for the subset of the syntax metadata needs: everything but
//! content streams. Recursion and sizes are bounded, so hostile input fails cleanly.

/// Nesting of arrays and dictionaries; real files stay below 10.
const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub enum Obj {
    Null,
    Bool(bool),
    Int(i64),
    Real(f64),
    Str(Vec<u8>),
    Name(Vec<u8>),
    Array(Vec<Obj>),
    Dict(Dict),
    Ref(u32, u16),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dict(pub Vec<(Vec<u8>, Obj)>);

impl Dict {
    pub fn get(&self, key: &[u8]) -> Option<&Obj> {
        // The last duplicate wins, as in most readers.
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub fn name(&self, key: &[u8]) -> Option<&[u8]> {
        match self.get(key)? {
            Obj::Name(n) => Some(n),
            _ => None,
        }
    }

    pub fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key)? {
            Obj::Int(i) => Some(*i),
            _ => None,
        }
    }
}

impl Obj {
    pub fn as_dict(&self) -> Option<&Dict> {
        match self {
            Obj::Dict(d) => Some(d),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Ran out of bytes: the caller may retry with a larger window.
    Eof,
    Syntax(&'static str),
}

pub type ParseResult<T> = Result<T, ParseError>;

pub struct Parser<'a> {
    data: &'a [u8],
    pub pos: usize,
}

fn is_white(b: u8) -> bool {
    matches!(b, b'\0' | b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(b: u8) -> bool {
    !is_white(b) && !is_delim(b)
}

impl<'a> Parser<'a> {
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Parser { data, pos }
    }

    pub fn rest(&self) -> &'a [u8] {
        self.data.get(self.pos..).unwrap_or(&[])
    }

    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    pub fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            if is_white(b) {
                self.pos += 1;
            } else if b == b'%' {
                while self.peek().is_some_and(|b| b != b'\n' && b != b'\r') {
                    self.pos += 1;
                }
            } else {
                break;
            }
        }
    }

    /// A bare word ("obj", "true", "trailer"); does not consume anything else.
    pub fn keyword(&mut self) -> ParseResult<&'a [u8]> {
        self.skip_ws();
        let start = self.pos;
        while self.peek().is_some_and(is_regular) {
            self.pos += 1;
        }
        if self.pos == start {
            return Err(if self.peek().is_none() {
                ParseError::Eof
            } else {
                ParseError::Syntax("expected a keyword")
            });
        }
        Ok(&self.data[start..self.pos])
    }

    /// Consumes `word` if it comes next (after whitespace).
    pub fn eat(&mut self, word: &[u8]) -> bool {
        let save = self.pos;
        match self.keyword() {
            Ok(k) if k == word => true,
            _ => {
                self.pos = save;
                false
            }
        }
    }

    pub fn uint(&mut self) -> ParseResult<u64> {
        let word = self.keyword()?;
        std::str::from_utf8(word)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(ParseError::Syntax("expected an unsigned integer"))
    }

    pub fn object(&mut self) -> ParseResult<Obj> {
        self.object_at(0)
    }

    fn object_at(&mut self, depth: usize) -> ParseResult<Obj> {
        if depth > MAX_DEPTH {
            return Err(ParseError::Syntax("objects nested too deeply"));
        }
        self.skip_ws();
        let b = self.peek().ok_or(ParseError::Eof)?;
        match b {
            b'/' => {
                self.pos += 1;
                Ok(Obj::Name(self.name()))
            }
            b'(' => {
                self.pos += 1;
                self.literal_string().map(Obj::Str)
            }
            b'<' if self.data.get(self.pos + 1) == Some(&b'<') => {
                self.pos += 2;
                self.dict_body(depth).map(Obj::Dict)
            }
            b'<' => {
                self.pos += 1;
                self.hex_string().map(Obj::Str)
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    match self.peek() {
                        None => return Err(ParseError::Eof),
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Obj::Array(items));
                        }
                        Some(_) => items.push(self.object_at(depth + 1)?),
                    }
                }
            }
            b'+' | b'-' | b'.' | b'0'..=b'9' => self.number_or_ref(),
            _ => match self.keyword()? {
                b"true" => Ok(Obj::Bool(true)),
                b"false" => Ok(Obj::Bool(false)),
                b"null" => Ok(Obj::Null),
                _ => Err(ParseError::Syntax("unexpected token")),
            },
        }
    }

    /// After "<<": entries up to ">>".
    pub fn dict_body(&mut self, depth: usize) -> ParseResult<Dict> {
        let mut entries = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Err(ParseError::Eof),
                Some(b'>') => {
                    if self.data.get(self.pos + 1).is_none() {
                        return Err(ParseError::Eof);
                    }
                    self.pos += 2;
                    return Ok(Dict(entries));
                }
                Some(b'/') => {
                    self.pos += 1;
                    let key = self.name();
                    let value = self.object_at(depth + 1)?;
                    entries.push((key, value));
                }
                Some(_) => return Err(ParseError::Syntax("dictionary key is not a name")),
            }
        }
    }

    fn name(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(b) = self.peek().filter(|&b| is_regular(b)) {
            self.pos += 1;
            let hex = self.data.get(self.pos..self.pos + 2).and_then(|h| {
                std::str::from_utf8(h)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            });
            match (b, hex) {
                (b'#', Some(v)) => {
                    out.push(v);
                    self.pos += 2;
                }
                _ => out.push(b),
            }
        }
        out
    }

    fn literal_string(&mut self) -> ParseResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut depth = 0usize;
        loop {
            let b = self.peek().ok_or(ParseError::Eof)?;
            self.pos += 1;
            match b {
                b'(' => {
                    depth += 1;
                    out.push(b);
                }
                b')' if depth == 0 => return Ok(out),
                b')' => {
                    depth -= 1;
                    out.push(b);
                }
                b'\\' => {
                    let e = self.peek().ok_or(ParseError::Eof)?;
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'0'..=b'7' => {
                            let mut v = u32::from(e - b'0');
                            for _ in 0..2 {
                                match self.peek() {
                                    Some(d @ b'0'..=b'7') => {
                                        v = v * 8 + u32::from(d - b'0');
                                        self.pos += 1;
                                    }
                                    _ => break,
                                }
                            }
                            out.push((v & 0xFF) as u8);
                        }
                        // A backslash before a line break continues the string.
                        b'\r' => {
                            if self.peek() == Some(b'\n') {
                                self.pos += 1;
                            }
                        }
                        b'\n' => {}
                        other => out.push(other),
                    }
                }
                _ => out.push(b),
            }
        }
    }

    fn hex_string(&mut self) -> ParseResult<Vec<u8>> {
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            let b = self.peek().ok_or(ParseError::Eof)?;
            self.pos += 1;
            let v = match b {
                b'>' => break,
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => b - b'A' + 10,
                _ if is_white(b) => continue,
                _ => return Err(ParseError::Syntax("bad hex string")),
            };
            match high.take() {
                Some(h) => out.push(h << 4 | v),
                None => high = Some(v),
            }
        }
        // An odd final digit is followed by an implied 0.
        if let Some(h) = high {
            out.push(h << 4);
        }
        Ok(out)
    }

    fn number_or_ref(&mut self) -> ParseResult<Obj> {
        let word = self.keyword()?;
        let text = std::str::from_utf8(word).map_err(|_| ParseError::Syntax("bad number"))?;
        if let Ok(i) = text.parse::<i64>() {
            // "12 0 R" is a reference; look ahead without committing.
            let save = self.pos;
            if let (Ok(num), Ok(gen)) = (u32::try_from(i), self.uint()) {
                if self.eat(b"R") {
                    if let Ok(gen) = u16::try_from(gen) {
                        return Ok(Obj::Ref(num, gen));
                    }
                }
            }
            self.pos = save;
            return Ok(Obj::Int(i));
        }
        text.parse::<f64>()
            .map(Obj::Real)
            .map_err(|_| ParseError::Syntax("bad number"))
    }
}

/// An indirect object's header and body at the parser's position: "N G obj <object>".
/// Returns the object and, when a stream follows, the offset of its first data byte.
pub fn indirect(
    p: &mut Parser<'_>,
    want: Option<(u32, u16)>,
) -> ParseResult<(u32, Obj, Option<usize>)> {
    let num = p.uint()?;
    let gen = p.uint()?;
    if !p.eat(b"obj") {
        return Err(ParseError::Syntax("expected 'obj'"));
    }
    let num = u32::try_from(num).map_err(|_| ParseError::Syntax("object number too large"))?;
    if want.is_some_and(|(n, g)| n != num || u64::from(g) != gen) {
        return Err(ParseError::Syntax(
            "object number differs from the cross-reference table",
        ));
    }
    let obj = p.object()?;
    let save = p.pos;
    if matches!(obj, Obj::Dict(_)) && p.eat(b"stream") {
        // The keyword is followed by CRLF or LF (a lone CR is tolerated).
        let rest = p.rest();
        let skip = if rest.starts_with(b"\r\n") {
            2
        } else if rest.starts_with(b"\n") || rest.starts_with(b"\r") {
            1
        } else {
            0
        };
        return Ok((num, obj, Some(p.pos + skip)));
    }
    p.pos = save;
    Ok((num, obj, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &[u8]) -> ParseResult<Obj> {
        Parser::new(s, 0).object()
    }

    #[test]
    fn objects() {
        let obj =
            parse(b"<</Title(A \\(b\\) \\101\\\nc)/N 12 0 R/A[1 -2.5 /x#20y <4142 4>]/T true>>");
        let Ok(Obj::Dict(d)) = obj else {
            panic!("{obj:?}")
        };
        assert_eq!(d.get(b"Title"), Some(&Obj::Str(b"A (b) Ac".to_vec())));
        assert_eq!(d.get(b"N"), Some(&Obj::Ref(12, 0)));
        assert_eq!(
            d.get(b"A"),
            Some(&Obj::Array(vec![
                Obj::Int(1),
                Obj::Real(-2.5),
                Obj::Name(b"x y".to_vec()),
                Obj::Str(b"AB@".to_vec())
            ]))
        );
        assert_eq!(d.get(b"T"), Some(&Obj::Bool(true)));
    }

    #[test]
    fn numbers_that_are_not_refs() {
        let mut p = Parser::new(b"[1 2 3]", 0);
        assert_eq!(
            p.object(),
            Ok(Obj::Array(vec![Obj::Int(1), Obj::Int(2), Obj::Int(3)]))
        );
    }

    #[test]
    fn hostile_input_fails_cleanly() {
        let deep = vec![b'['; 100_000];
        assert!(parse(&deep).is_err());
        assert_eq!(parse(b"<</A (unterminated"), Err(ParseError::Eof));
        assert!(parse(b"<</A 1 2>>").is_err(), "value without key");
        assert!(parse(b"<<1 2>>").is_err());
        assert!(parse(b"}").is_err());
        assert!(parse(b"").is_err());
        assert_eq!(parse(b"99999999999999999999999 0 R"), Ok(Obj::Real(1e23)));
    }

    #[test]
    fn indirect_with_stream() {
        let data = b"7 0 obj\n<</Length 3>>\nstream\r\nabc\nendstream endobj";
        let (num, obj, start) = indirect(&mut Parser::new(data, 0), Some((7, 0))).expect("valid");
        assert_eq!(num, 7);
        assert_eq!(obj.as_dict().and_then(|d| d.int(b"Length")), Some(3));
        assert_eq!(&data[start.expect("stream")..][..3], b"abc");
        assert!(indirect(&mut Parser::new(data, 0), Some((8, 0))).is_err());
    }
}
