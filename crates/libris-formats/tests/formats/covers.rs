//! Cover rendering: corpus covers, every colour layout, hostile headers and garbage.

use std::io::Cursor;

use crate::common::books;
use image::{DynamicImage, ImageFormat};
use libris_formats::covers::{render, Cover, CoverError, THUMB_MAX_HEIGHT};
use libris_formats::{extract, limits};

/// The raw cover of a fixture book, read through the public `extract`.
fn book_cover(name: &str) -> Option<Vec<u8>> {
    extract(&books().join(name), name)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .cover
        .map(|c| c.bytes)
}

fn decode_thumb(cover: &Cover) -> DynamicImage {
    image::load_from_memory_with_format(&cover.thumbnail, ImageFormat::Jpeg)
        .expect("thumbnail is a JPEG")
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode test image");
    out.into_inner()
}

/// The covers of every MOBI/AZW3 fixture that has one.
fn corpus_covers() -> Vec<(String, Vec<u8>)> {
    let mut covers = Vec::new();
    for entry in std::fs::read_dir(books()).expect("fixtures") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string();
        if !(name.ends_with(".mobi") || name.ends_with(".azw3")) || name.starts_with("broken") {
            continue;
        }
        if let Some(cover) = book_cover(&name) {
            covers.push((name, cover));
        }
    }
    covers.sort();
    covers
}

#[test]
fn every_corpus_cover_renders() {
    let covers = corpus_covers();
    assert!(covers.len() >= 14, "only {} covers found", covers.len());
    for (name, bytes) in covers {
        let cover = render(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cover.image, bytes, "{name}: original bytes kept");
        assert_eq!((cover.extension, cover.media_type), ("jpg", "image/jpeg"));
        let thumb = decode_thumb(&cover);
        assert!(
            thumb.height() <= THUMB_MAX_HEIGHT,
            "{name}: thumb {}px high",
            thumb.height()
        );
        assert!(thumb.height() <= cover.height, "{name}: upscaled");
        let (want, got) = (
            cover.width as f64 / cover.height as f64,
            thumb.width() as f64 / thumb.height() as f64,
        );
        assert!(
            (want - got).abs() < 0.02,
            "{name}: aspect {want} became {got}"
        );
    }
}

#[test]
fn corpus_sizes() {
    let cover = |name: &str| book_cover(name).expect("cover");
    let big = render(&cover("multi-author.azw3")).expect("renders");
    assert_eq!((big.width, big.height), (1800, 2700));
    assert_eq!(decode_thumb(&big).height(), 300);
    let small = render(&cover("hebrew-rtl.mobi")).expect("r");
    assert_eq!((small.width, small.height), (200, 300));
    assert_eq!(
        decode_thumb(&small).height(),
        300,
        "exactly 300 high is kept"
    );
}

fn gradient(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 255 / w) as u8, (y * 255 / h) as u8, 128])
    })
}

#[test]
fn colour_layouts_render() {
    let rgb = DynamicImage::ImageRgb8(gradient(120, 180));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "grey jpeg",
            encode(&DynamicImage::ImageLuma8(rgb.to_luma8()), ImageFormat::Jpeg),
            "jpg",
        ),
        (
            "rgba png",
            encode(&DynamicImage::ImageRgba8(rgb.to_rgba8()), ImageFormat::Png),
            "png",
        ),
        (
            "grey+alpha png",
            encode(
                &DynamicImage::ImageLumaA8(rgb.to_luma_alpha8()),
                ImageFormat::Png,
            ),
            "png",
        ),
        (
            "16-bit png",
            encode(&DynamicImage::ImageRgb16(rgb.to_rgb16()), ImageFormat::Png),
            "png",
        ),
        ("palette png", palette_png(), "png"),
        ("gif", encode(&rgb, ImageFormat::Gif), "gif"),
        (
            "webp",
            encode(&DynamicImage::ImageRgba8(rgb.to_rgba8()), ImageFormat::WebP),
            "webp",
        ),
        ("cmyk jpeg", cmyk_jpeg(), "jpg"),
    ];
    for (name, bytes, ext) in cases {
        let cover = render(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(cover.extension, ext, "{name}");
        assert_eq!(
            cover.media_type,
            format!("image/{}", if ext == "jpg" { "jpeg" } else { ext })
        );
        assert_eq!(cover.image, bytes, "{name}: kept as is");
        let thumb = decode_thumb(&cover);
        assert_eq!(
            (thumb.width(), thumb.height()),
            (cover.width, cover.height),
            "{name}: no upscaling"
        );
    }
}

/// 4 × 4 palette PNG with a fully transparent entry.
fn palette_png() -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, 4, 4);
    enc.set_color(png::ColorType::Indexed);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_palette(vec![255, 0, 0, 0, 0, 255]);
    enc.set_trns(vec![255, 0]);
    let mut w = enc.write_header().expect("header");
    w.write_image_data(&[0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0])
        .expect("data");
    w.finish().expect("finish");
    out
}

/// Pure cyan, written as Adobe-style CMYK.
fn cmyk_jpeg() -> Vec<u8> {
    let mut out = Vec::new();
    let pixels: Vec<u8> = (0..64 * 64).flat_map(|_| [255u8, 0, 0, 0]).collect();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&pixels, 64, 64, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk");
    out
}

#[test]
fn cmyk_and_transparency_colours() {
    let cyan = decode_thumb(&render(&cmyk_jpeg()).expect("cmyk renders")).to_rgb8();
    let p = cyan.get_pixel(32, 32).0;
    assert!(
        p[0] < 60 && p[1] > 190 && p[2] > 190,
        "cyan came out as {p:?}"
    );
    let pal = decode_thumb(&render(&palette_png()).expect("palette renders")).to_rgb8();
    let transparent = pal.get_pixel(1, 0).0; // palette index 1 is transparent → white
    assert!(
        transparent.iter().all(|&c| c > 235),
        "transparent became {transparent:?}"
    );
}

#[test]
fn small_images_are_not_upscaled_and_wide_ones_are_bounded() {
    let small = render(&encode(
        &DynamicImage::ImageRgb8(gradient(100, 50)),
        ImageFormat::Png,
    ))
    .expect("ok");
    assert_eq!(
        (decode_thumb(&small).width(), decode_thumb(&small).height()),
        (100, 50)
    );
    let wide = render(&encode(
        &DynamicImage::ImageRgb8(gradient(4000, 100)),
        ImageFormat::Png,
    ))
    .expect("ok");
    let t = decode_thumb(&wide);
    assert!(
        t.width() <= 600 && t.height() <= 300,
        "{}x{}",
        t.width(),
        t.height()
    );
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A PNG whose IHDR declares `w`×`h` and whose IDAT holds almost nothing.
fn huge_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]);
    chunk(b"IEND", &[]);
    out
}

/// A real small JPEG with its SOF dimensions patched to `w`×`h`.
fn huge_jpeg(w: u16, h: u16) -> Vec<u8> {
    let mut bytes = encode(
        &DynamicImage::ImageRgb8(gradient(16, 16)),
        ImageFormat::Jpeg,
    );
    let sof = bytes
        .windows(2)
        .position(|m| m == [0xFF, 0xC0])
        .expect("baseline SOF");
    bytes[sof + 5..sof + 7].copy_from_slice(&h.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&w.to_be_bytes());
    bytes
}

#[test]
fn huge_declared_dimensions_are_refused() {
    for (name, bytes) in [
        ("png", huge_png(100_000, 100_000)),
        ("jpeg", huge_jpeg(65_000, 65_000)),
    ] {
        // Refused from the header alone, before any pixel buffer is allocated.
        let err = render(&bytes).expect_err(name);
        assert!(matches!(err, CoverError::TooLarge { .. }), "{name}: {err}");
    }
    // Just under the pixel limit in the header, but the data is missing: damaged.
    assert!(render(&huge_png(8000, 8000)).is_err());
}

#[test]
fn garbage_is_refused() {
    assert_eq!(render(b""), Err(CoverError::Unsupported));
    assert_eq!(render(b"hello, not an image"), Err(CoverError::Unsupported));
    assert_eq!(render(b"BM\x00\x00 a bitmap"), Err(CoverError::Unsupported));
    let jpeg = encode(
        &DynamicImage::ImageRgb8(gradient(64, 64)),
        ImageFormat::Jpeg,
    );
    for damaged in [
        &jpeg[..20],
        b"\xFF\xD8\xFFgarbage".as_slice(),
        b"\x89PNG\r\n\x1a\nIHDR",
        b"GIF89a",
        b"RIFF\0\0\0\0WEBPVP8 ",
    ] {
        assert!(
            matches!(render(damaged), Err(CoverError::Damaged(_))),
            "{damaged:?}"
        );
    }
    let too_big = vec![0xFFu8; limits::MAX_COVER_BYTES + 1];
    assert!(matches!(render(&too_big), Err(CoverError::FileTooLarge(_))));
    let msg = render(&huge_png(100_000, 100_000))
        .expect_err("huge")
        .to_string();
    assert!(msg.contains("100000×100000"), "{msg}");
}
