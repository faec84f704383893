//! Stream filters metadata needs: FlateDecode with PNG predictors (xref and object
//! streams, XMP). Output is capped so a compression bomb costs at most `max` bytes.

use std::io::Read;

use super::object::{Dict, Obj};

pub fn decode(dict: &Dict, raw: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let filters: Vec<&[u8]> = match dict.get(b"Filter") {
        None | Some(Obj::Null) => Vec::new(),
        Some(Obj::Name(n)) => vec![n.as_slice()],
        Some(Obj::Array(a)) => a
            .iter()
            .map(|f| match f {
                Obj::Name(n) => Ok(n.as_slice()),
                _ => Err("stream filter is not a name".to_string()),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("stream filter is not a name".into()),
    };
    let parms = match dict.get(b"DecodeParms") {
        Some(Obj::Dict(d)) => Some(d),
        Some(Obj::Array(a)) => a.first().and_then(Obj::as_dict),
        _ => None,
    };
    match filters.as_slice() {
        [] => Ok(raw.iter().take(max).copied().collect()),
        [b"FlateDecode" | b"Fl"] => {
            let data = inflate(raw, max)?;
            unpredict(data, parms)
        }
        [other, ..] => Err(format!(
            "unsupported stream filter {}",
            String::from_utf8_lossy(other)
        )),
    }
}

fn inflate(raw: &[u8], max: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = max as u64 + 1;
    let read = flate2::read::ZlibDecoder::new(raw)
        .take(limit)
        .read_to_end(&mut out);
    match read {
        Ok(_) => {}
        // Writers often cut the stream short or drop the checksum; what came out is fine.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !out.is_empty() => {}
        Err(e) => return Err(format!("damaged compressed stream: {e}")),
    }
    if out.len() > max {
        return Err(format!("stream inflates past {max} bytes"));
    }
    Ok(out)
}

/// Undoes the PNG row filters (Predictor ≥ 10) that xref streams almost always use.
fn unpredict(data: Vec<u8>, parms: Option<&Dict>) -> Result<Vec<u8>, String> {
    let predictor = parms.and_then(|p| p.int(b"Predictor")).unwrap_or(1);
    if predictor < 10 {
        return if predictor <= 1 {
            Ok(data)
        } else {
            Err("TIFF predictor is not supported".into())
        };
    }
    let param = |key: &[u8], default: i64| parms.and_then(|p| p.int(key)).unwrap_or(default);
    let (colors, bpc, columns) = (
        param(b"Colors", 1),
        param(b"BitsPerComponent", 8),
        param(b"Columns", 1),
    );
    if !(1..=32).contains(&colors)
        || ![1, 2, 4, 8, 16].contains(&bpc)
        || !(1..=1 << 20).contains(&columns)
    {
        return Err("bad predictor parameters".into());
    }
    let bpp = ((colors * bpc + 7) / 8) as usize;
    let row_len = ((colors * bpc * columns + 7) / 8) as usize;
    let mut out = Vec::with_capacity(data.len());
    let mut prev = vec![0u8; row_len];
    for chunk in data.chunks(row_len + 1) {
        let (&kind, row) = chunk.split_first().ok_or("empty predictor row")?;
        let mut cur = row.to_vec();
        cur.resize(row_len, 0);
        for i in 0..row_len {
            let left = if i >= bpp { cur[i - bpp] } else { 0 };
            let up = prev[i];
            let up_left = if i >= bpp { prev[i - bpp] } else { 0 };
            let pred = match kind {
                0 => 0,
                1 => left,
                2 => up,
                3 => ((u16::from(left) + u16::from(up)) / 2) as u8,
                4 => paeth(left, up, up_left),
                _ => return Err(format!("bad PNG predictor row type {kind}")),
            };
            cur[i] = cur[i].wrapping_add(pred);
        }
        out.extend_from_slice(&cur);
        prev = cur;
    }
    Ok(out)
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("in memory");
        e.finish().expect("in memory")
    }

    fn flate_dict(parms: Option<Dict>) -> Dict {
        let mut d = vec![(b"Filter".to_vec(), Obj::Name(b"FlateDecode".to_vec()))];
        if let Some(p) = parms {
            d.push((b"DecodeParms".to_vec(), Obj::Dict(p)));
        }
        Dict(d)
    }

    #[test]
    fn inflates_with_png_up_predictor() {
        // Two rows of 3 columns, the second stored as "up" differences.
        let raw = zlib(&[2, 1, 2, 3, 2, 1, 1, 1]);
        let parms = Dict(vec![
            (b"Predictor".to_vec(), Obj::Int(12)),
            (b"Columns".to_vec(), Obj::Int(3)),
        ]);
        assert_eq!(
            decode(&flate_dict(Some(parms)), &raw, 100),
            Ok(vec![1, 2, 3, 2, 3, 4])
        );
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let bomb = zlib(&vec![0u8; 1 << 20]);
        assert!(decode(&flate_dict(None), &bomb, 1000).is_err());
        assert!(decode(&flate_dict(None), b"not zlib", 1000).is_err());
        let cut = zlib(b"a stream whose end is missing, as some writers leave it");
        let partial = decode(&flate_dict(None), &cut[..cut.len() - 6], 1000).expect("partial");
        assert!(b"a stream whose end".starts_with(&partial[..partial.len().min(18)]));
        let lzw = Dict(vec![(b"Filter".to_vec(), Obj::Name(b"LZWDecode".to_vec()))]);
        assert!(decode(&lzw, b"x", 10).is_err());
    }
}
