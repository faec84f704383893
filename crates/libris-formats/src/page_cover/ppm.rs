//! The renderers' output: a binary PPM (P6), 8 bits a channel. It comes from a program that
//! read a hostile file, so it is parsed as strictly as any input: the exact header the
//! renderers write, no side longer than was asked for, exactly the pixel bytes it declares.

use image::RgbImage;

/// The renderers round the fitted page outwards: a side may come out one pixel long.
const ROUNDING: u32 = 1;
/// "P6\n" + two sides of at most 10 digits + "255\n", with their separators.
const MAX_HEADER: u64 = 32;

/// The largest output a page rendered to fit `max_side` can be, in bytes.
pub fn max_len(max_side: u32) -> u64 {
    let side = u64::from(max_side + ROUNDING);
    side * side * 3 + MAX_HEADER
}

pub fn parse(bytes: &[u8], max_side: u32) -> Result<RgbImage, String> {
    let mut fields = Vec::with_capacity(4);
    let mut at = 0;
    while fields.len() < 4 {
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        if at == start || at >= bytes.len() || at - start > 10 {
            return Err("the output is not a PPM image".into());
        }
        fields.push(&bytes[start..at]);
        // One whitespace byte ends the header; between fields any run of it.
        at += 1;
        if fields.len() < 4 {
            while at < bytes.len() && bytes[at].is_ascii_whitespace() {
                at += 1;
            }
        }
    }
    if fields[0] != b"P6" || fields[3] != b"255" {
        return Err("the output is not an 8-bit binary PPM image".into());
    }
    let side = |field: &[u8]| -> Result<u32, String> {
        std::str::from_utf8(field)
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|n| (1..=max_side + ROUNDING).contains(n))
            .ok_or_else(|| {
                format!(
                    "the output declares a side of {:?} pixels (at most {max_side} asked for)",
                    String::from_utf8_lossy(field)
                )
            })
    };
    let (width, height) = (side(fields[1])?, side(fields[2])?);
    let pixels = &bytes[at..];
    let expected = width as usize * height as usize * 3;
    if pixels.len() != expected {
        return Err(format!(
            "the output holds {} bytes of pixels; {width}×{height} needs {expected}",
            pixels.len()
        ));
    }
    RgbImage::from_raw(width, height, pixels.to_vec())
        .ok_or_else(|| "the output's pixels do not fit its size".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ppm(header: &str, pixels: usize) -> Vec<u8> {
        let mut v = header.as_bytes().to_vec();
        v.extend((0..pixels).map(|i| i as u8));
        v
    }

    #[test]
    fn reads_what_the_renderers_write() {
        let image = parse(&ppm("P6\n2 3\n255\n", 18), 1600).unwrap();
        assert_eq!(image.dimensions(), (2, 3));
        assert_eq!(image.get_pixel(1, 0).0, [3, 4, 5]);
        // ddjvu's header; a pixel byte that looks like whitespace stays a pixel.
        let mut bytes = b"P6 1 1 255\n".to_vec();
        bytes.extend([b'\n', b' ', b'\t']);
        assert_eq!(parse(&bytes, 1600).unwrap().get_pixel(0, 0).0, [10, 32, 9]);
    }

    #[test]
    fn refuses_anything_else() {
        for (bytes, why) in [
            (ppm("P5\n2 3\n255\n", 6), "greyscale"),
            (ppm("P6\n2 3\n65535\n", 36), "16 bits"),
            (ppm("P6\n# comment\n2 3\n255\n", 18), "comment"),
            (ppm("P6\n2 3\n255\n", 17), "short"),
            (ppm("P6\n2 3\n255\n", 19), "long"),
            (ppm("P6\n0 3\n255\n", 0), "empty"),
            (ppm("P6\n1602 1\n255\n", 1602 * 3), "wider than asked"),
            (ppm("P6\n1 99999999999\n255\n", 3), "absurd"),
            (ppm("P6\n-1 1\n255\n", 3), "negative"),
            (ppm("P6\n2 3", 0), "cut header"),
            (Vec::new(), "nothing"),
        ] {
            assert!(parse(&bytes, 1600).is_err(), "{why}");
        }
        assert!(
            parse(&ppm("P6\n1601 1\n255\n", 1601 * 3), 1600).is_ok(),
            "rounding"
        );
    }

    #[test]
    fn the_largest_output_fits_its_bound() {
        let header = "P6\n1601 1601\n255\n";
        assert!(header.len() as u64 + 1601 * 1601 * 3 <= max_len(1600));
        assert!(max_len(1600) < 8 * 1024 * 1024);
    }
}
