//! Fast thumbnail scaling. A general filter over a 5-megapixel cover costs ~35 ms;
//! an integer-factor box average (what JPEG DCT scaling does, but after decoding) brings
//! the image to within 2× of the target in one cache-friendly pass, and a triangle filter
//! on that small image gives the exact size.

use image::imageops::{self, FilterType};
use image::{DynamicImage, RgbImage};

/// Flattens alpha on white and scales to fit `max_w`×`max_h`, never up.
pub fn thumbnail(image: DynamicImage, max_w: u32, max_h: u32) -> RgbImage {
    let rgb = flatten(image);
    let (w, h) = rgb.dimensions();
    let (tw, th) = fit(w, h, max_w, max_h);
    if (tw, th) == (w, h) {
        return rgb;
    }
    let k = (w / tw).min(h / th).max(1);
    let shrunk = if k >= 2 { box_shrink(&rgb, k) } else { rgb };
    if shrunk.dimensions() == (tw, th) {
        return shrunk;
    }
    imageops::resize(&shrunk, tw, th, FilterType::Triangle)
}

/// Target size keeping the aspect ratio; at least 1×1.
pub fn fit(w: u32, h: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if w <= max_w && h <= max_h {
        return (w, h);
    }
    let scale = f64::min(
        f64::from(max_w) / f64::from(w),
        f64::from(max_h) / f64::from(h),
    );
    let tw = (f64::from(w) * scale).round().clamp(1.0, f64::from(max_w)) as u32;
    let th = (f64::from(h) * scale).round().clamp(1.0, f64::from(max_h)) as u32;
    (tw, th)
}

fn flatten(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = Vec::with_capacity(w as usize * h as usize * 3);
    for px in rgba.as_raw().chunks_exact(4) {
        let a = u32::from(px[3]);
        for &c in &px[..3] {
            // Composite over white: c·a + 255·(1 − a), rounded.
            out.push(((u32::from(c) * a + 255 * (255 - a) + 127) / 255) as u8);
        }
    }
    RgbImage::from_raw(w, h, out).unwrap_or_else(|| RgbImage::new(w, h))
}

/// Averages k×k blocks; the last partial row/column of blocks is dropped (< k pixels).
/// Rows are summed first over contiguous memory (vectorizes), then each block's columns.
fn box_shrink(src: &RgbImage, k: u32) -> RgbImage {
    let (w, h) = src.dimensions();
    let (ow, oh) = ((w / k).max(1), (h / k).max(1));
    let (k, stride) = (k as usize, w as usize * 3);
    // A block sum is at most 255·k², within u32 for k < 4096. With w·h ≤ MAX_PIXELS and
    // the thumbnail box, k = min(w/tw, h/th) stays below ~60.
    let area = (k * k) as u32;
    let raw = src.as_raw();
    let mut out = Vec::with_capacity(ow as usize * oh as usize * 3);
    let mut columns = vec![0u32; stride];
    for rows in raw.chunks_exact(k * stride).take(oh as usize) {
        columns.fill(0);
        for row in rows.chunks_exact(stride) {
            for (sum, &v) in columns.iter_mut().zip(row) {
                *sum += u32::from(v);
            }
        }
        for block in columns.chunks_exact(k * 3).take(ow as usize) {
            let mut rgb = [0u32; 3];
            for px in block.chunks_exact(3) {
                rgb[0] += px[0];
                rgb[1] += px[1];
                rgb[2] += px[2];
            }
            out.extend(rgb.iter().map(|&s| ((s + area / 2) / area) as u8));
        }
    }
    RgbImage::from_raw(ow, oh, out).unwrap_or_else(|| RgbImage::new(ow, oh))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_upscales() {
        assert_eq!(fit(600, 900, 600, 300), (200, 300));
        assert_eq!(fit(1800, 2700, 600, 300), (200, 300));
        assert_eq!(fit(200, 300, 600, 300), (200, 300));
        assert_eq!(fit(100, 50, 600, 300), (100, 50));
        assert_eq!(fit(10_000, 100, 600, 300), (600, 6));
        assert_eq!(fit(1, 60_000, 600, 300), (1, 300));
    }

    #[test]
    fn box_shrink_averages() {
        let img = RgbImage::from_fn(4, 2, |x, _| {
            image::Rgb([if x < 2 { 0 } else { 255 }, 10, 20])
        });
        let out = box_shrink(&img, 2);
        assert_eq!(out.dimensions(), (2, 1));
        assert_eq!(out.as_raw(), &[0, 10, 20, 255, 10, 20]);
    }

    #[test]
    fn alpha_is_flattened_on_white() {
        let img = image::RgbaImage::from_pixel(2, 2, image::Rgba([0, 0, 0, 0]));
        let out = thumbnail(DynamicImage::ImageRgba8(img), 600, 300);
        assert!(out.pixels().all(|p| p.0 == [255, 255, 255]));
    }
}
