//! Cover images: validate what a book carries, keep it byte for byte, and make a small
//! JPEG thumbnail for listings. Decoding is the dangerous part (a 100 KB file can declare
//! 10 gigapixels), so dimensions are checked from the header before any pixel buffer
//! exists, and the decoder runs under an allocation limit too.

mod resize;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Limits};

use super::limits;

/// Thumbnails are at most this high; wide images are also capped in width so a
/// panorama cannot make a huge "thumbnail".
pub const THUMB_MAX_HEIGHT: u32 = 300;
pub const THUMB_MAX_WIDTH: u32 = 600;
const THUMB_QUALITY: u8 = 85;
/// Decoder allocations: an RGBA8 buffer of the largest allowed image.
const MAX_DECODE_ALLOC: u64 = limits::MAX_PIXELS * 4;

#[derive(Debug, Clone, PartialEq)]
pub struct Cover {
    /// The original bytes: re-encoding a fine JPEG only loses quality.
    pub image: Vec<u8>,
    /// "jpg" | "png" | "gif" | "webp"
    pub extension: &'static str,
    pub media_type: &'static str,
    pub width: u32,
    pub height: u32,
    /// JPEG, at most THUMB_MAX_HEIGHT high, aspect kept, never upscaled.
    pub thumbnail: Vec<u8>,
}

/// Why a cover was refused; the message is shown to whoever uploaded the book.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoverError {
    #[error("unsupported cover image type (only JPEG, PNG, GIF and WebP are accepted)")]
    Unsupported,
    #[error("cover image file is too large ({0} bytes; the limit is {max} bytes)", max = limits::MAX_COVER_BYTES)]
    FileTooLarge(usize),
    #[error("cover image is too large ({width}×{height} pixels; the limit is {max} pixels)", max = limits::MAX_PIXELS)]
    TooLarge { width: u32, height: u32 },
    #[error("damaged cover image: {0}")]
    Damaged(String),
}

pub fn render(bytes: &[u8]) -> Result<Cover, CoverError> {
    if bytes.len() > limits::MAX_COVER_BYTES {
        return Err(CoverError::FileTooLarge(bytes.len()));
    }
    let (format, extension, media_type) = sniff(bytes).ok_or(CoverError::Unsupported)?;
    let (width, height) = dimensions(bytes, format)?;
    let (image, orientation) = decode(reader(bytes, format), width, height)?;

    let mut thumb =
        DynamicImage::ImageRgb8(resize::thumbnail(image, THUMB_MAX_WIDTH, THUMB_MAX_HEIGHT));
    // Rotating the thumbnail is cheap; the original keeps its EXIF tag for viewers.
    if let Some(o) = orientation {
        thumb.apply_orientation(o);
    }
    let (width, height) = match orientation {
        Some(o) if swaps_axes(o) => (height, width),
        _ => (width, height),
    };
    Ok(Cover {
        image: bytes.to_vec(),
        extension,
        media_type,
        width,
        height,
        thumbnail: encode_jpeg(&thumb)?,
    })
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    ImageReader::with_format(Cursor::new(bytes), format)
}

/// The dimensions the header declares, refused when empty or too many pixels to decode:
/// no pixel buffer is allocated before this check.
fn dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), CoverError> {
    let (width, height) = reader(bytes, format)
        .into_dimensions()
        .map_err(from_image_error)?;
    if width == 0 || height == 0 {
        return Err(CoverError::Damaged(format!(
            "image declares {width}×{height} pixels"
        )));
    }
    if u64::from(width) * u64::from(height) > limits::MAX_PIXELS {
        return Err(CoverError::TooLarge { width, height });
    }
    Ok((width, height))
}

/// Decodes under an allocation limit sized for the dimensions the header declared.
fn decode(
    mut limited: ImageReader<Cursor<&[u8]>>,
    width: u32,
    height: u32,
) -> Result<(DynamicImage, Option<image::metadata::Orientation>), CoverError> {
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(width);
    decode_limits.max_image_height = Some(height);
    decode_limits.max_alloc = Some(MAX_DECODE_ALLOC);
    limited.limits(decode_limits);
    let mut decoder = limited.into_decoder().map_err(from_image_error)?;
    let orientation = decoder.orientation().ok();
    let image = DynamicImage::from_decoder(decoder).map_err(from_image_error)?;
    Ok((image, orientation))
}

/// An image (a comic page) no wider than `max_width`: `None` when it already fits and is
/// served as it is, else a JPEG scaled down with its aspect kept. Same limits as covers.
pub fn fit_width(bytes: &[u8], max_width: u32) -> Result<Option<Vec<u8>>, CoverError> {
    let (format, _, _) = sniff(bytes).ok_or(CoverError::Unsupported)?;
    let (width, height) = dimensions(bytes, format)?;
    if width <= max_width.max(1) {
        return Ok(None);
    }
    let (image, orientation) = decode(reader(bytes, format), width, height)?;
    let mut scaled = DynamicImage::ImageRgb8(resize::thumbnail(image, max_width.max(1), u32::MAX));
    if let Some(o) = orientation {
        scaled.apply_orientation(o);
    }
    encode_jpeg(&scaled).map(Some)
}

/// The media type of an image libris accepts, from its first bytes.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    sniff(bytes).map(|(_, _, media_type)| media_type)
}

fn sniff(b: &[u8]) -> Option<(ImageFormat, &'static str, &'static str)> {
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some((ImageFormat::Jpeg, "jpg", "image/jpeg"))
    } else if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some((ImageFormat::Png, "png", "image/png"))
    } else if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        Some((ImageFormat::Gif, "gif", "image/gif"))
    } else if b.len() >= 12 && &b[..4] == b"RIFF" && &b[8..12] == b"WEBP" {
        Some((ImageFormat::WebP, "webp", "image/webp"))
    } else {
        None
    }
}

fn swaps_axes(o: image::metadata::Orientation) -> bool {
    use image::metadata::Orientation::*;
    matches!(o, Rotate90 | Rotate270 | Rotate90FlipH | Rotate270FlipH)
}

fn encode_jpeg(thumb: &DynamicImage) -> Result<Vec<u8>, CoverError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, THUMB_QUALITY)
        .encode_image(thumb)
        .map_err(|e| CoverError::Damaged(format!("could not encode the scaled image: {e}")))?;
    Ok(out)
}

fn from_image_error(e: ImageError) -> CoverError {
    match e {
        ImageError::Unsupported(e) => {
            CoverError::Damaged(format!("unsupported image variant: {e}"))
        }
        ImageError::Limits(_) => {
            CoverError::Damaged("decoding needs more memory than allowed".into())
        }
        other => CoverError::Damaged(other.to_string()),
    }
}
