//! First pages rendered as covers by the real programs (mutool, ddjvu: `make deps` installs
//! them) from real files, hand-built hostile PDFs, and the limits that stop them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{GenericImageView, ImageFormat};
use libris_formats::covers::{Cover, THUMB_MAX_HEIGHT};
use libris_formats::page_cover::{render, Limits, PageError, Tool};

use crate::common::{books, fixtures, temp_file};

fn program(tool: Tool) -> PathBuf {
    tool.locate().unwrap_or_else(|| {
        panic!(
            "{} not found: install {} (scripts/deps.sh does)",
            tool.program(),
            tool.package()
        )
    })
}

/// A work directory of its own per test, which must be left empty.
fn work_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("page-covers-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn left_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

fn render_with(tool: Tool, file: &Path, test: &str, limits: &Limits) -> Result<Cover, PageError> {
    let dir = work_dir(test);
    let result = render(&program(tool), tool, file, &dir, limits);
    assert_eq!(
        left_in(&dir),
        Vec::<PathBuf>::new(),
        "{test}: nothing left behind"
    );
    result
}

/// A PDF of the given objects (1 is the catalog), with its xref table.
fn pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend(body);
        out.extend(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// One page of `width`×`height` points drawing `content`, in a tree that claims `count` pages.
fn one_page(width: u32, height: u32, count: &str, content: &[u8]) -> Vec<u8> {
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend(content);
    stream.extend(b"\nendstream");
    pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [3 0 R] /Count {count} >>").into_bytes(),
        format!("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R >>")
            .into_bytes(),
        stream,
    ])
}

/// The rendered image and its thumbnail, checked to be what a cover should be.
fn check(cover: &Cover, name: &str, limits: &Limits) -> image::DynamicImage {
    assert_eq!(
        (cover.extension, cover.media_type),
        ("png", "image/png"),
        "{name}"
    );
    let image = image::load_from_memory_with_format(&cover.image, ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{name}: the image is a PNG: {e}"));
    assert_eq!(image.dimensions(), (cover.width, cover.height), "{name}");
    assert_eq!(
        cover.width.max(cover.height),
        limits.max_side,
        "{name}: fitted to the square asked for"
    );
    let thumb = image::load_from_memory_with_format(&cover.thumbnail, ImageFormat::Jpeg)
        .unwrap_or_else(|e| panic!("{name}: the thumbnail is a JPEG: {e}"));
    assert!(thumb.height() <= THUMB_MAX_HEIGHT, "{name}");
    image
}

/// The average colour of an image, per channel.
fn mean(image: &image::DynamicImage) -> [u32; 3] {
    let rgb = image.to_rgb8();
    let n = u64::from(rgb.width()) * u64::from(rgb.height());
    let mut sum = [0u64; 3];
    for p in rgb.pixels() {
        for (total, &c) in sum.iter_mut().zip(&p.0) {
            *total += u64::from(c);
        }
    }
    sum.map(|s| (s / n) as u32)
}

/// The share of pixels that are dark.
fn ink(image: &image::DynamicImage) -> f64 {
    let rgb = image.to_rgb8();
    let dark = rgb
        .pixels()
        .filter(|p| p.0.iter().any(|&c| c < 128))
        .count();
    dark as f64 / (f64::from(rgb.width()) * f64::from(rgb.height()))
}

#[test]
fn real_pdfs_render_their_first_page() {
    let limits = Limits::default();
    let lighthouse = books().join("lighthouse.pdf");
    let cover = render_with(Tool::Mutool, &lighthouse, "lighthouse", &limits).unwrap();
    let image = check(&cover, "lighthouse.pdf", &limits);
    // A US Letter page, upright; its cover is dark blue.
    assert_eq!(cover.height, 1600);
    assert!((1230..=1240).contains(&cover.width), "{}", cover.width);
    let [r, g, b] = mean(&image);
    assert!(
        b > r + 30 && b > g + 20 && r < 100,
        "dark blue: {r} {g} {b}"
    );

    // Pages of type: mostly white, some ink. (sample.pdf's first page is blank: poppler
    // renders it blank too.)
    for (name, inked) in [
        ("tall.pdf", true),
        ("paper.pdf", true),
        ("2col.pdf", true),
        ("sample.pdf", false),
    ] {
        let file = fixtures().join("koreader").join(name);
        let cover = render_with(Tool::Mutool, &file, name, &limits)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let image = check(&cover, name, &limits);
        let [r, g, b] = mean(&image);
        assert!(r > 150 && g > 150 && b > 150, "{name}: {r} {g} {b}");
        let ink = ink(&image);
        assert_eq!(ink > 0.005, inked, "{name}: {ink} of the page is ink");
    }
}

#[test]
fn a_djvu_renders_its_first_page() {
    let limits = Limits::default();
    let file = fixtures().join("koreader/djvu3spec.djvu");
    let cover = render_with(Tool::Ddjvu, &file, "djvu", &limits).unwrap();
    let image = check(&cover, "djvu3spec.djvu", &limits);
    assert_eq!(cover.height, 1600, "a portrait page");
    let [r, g, b] = mean(&image);
    assert!(r > 150 && g > 150 && b > 150, "a page of text: {r} {g} {b}");
    assert!(ink(&image) > 0.005, "with text on it");
}

#[test]
fn what_is_not_the_format_fails_and_blames_the_file() {
    let limits = Limits::default();
    let epub = books().join("lighthouse-epub3.epub");
    let truncated = {
        let bytes = std::fs::read(fixtures().join("koreader/paper.pdf")).unwrap();
        temp_file("page-cover-cut.pdf", &bytes[..4000])
    };
    let empty = temp_file("page-cover-empty.pdf", b"");
    for (tool, file, name) in [
        (Tool::Mutool, epub.as_path(), "an EPUB"),
        (Tool::Mutool, truncated.as_path(), "a PDF cut short"),
        (Tool::Mutool, empty.as_path(), "nothing"),
        (
            Tool::Ddjvu,
            books().join("lighthouse.pdf").as_path(),
            "a PDF as DjVu",
        ),
        (Tool::Ddjvu, empty.as_path(), "an empty DjVu"),
    ] {
        match render_with(tool, file, "refused", &limits) {
            Err(e @ PageError::Failed(_)) => {
                assert!(e.blames_the_file(), "{name}");
                assert!(
                    !e.to_string().contains("ICC"),
                    "{name}: noise left out: {e}"
                );
            }
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn a_page_of_absurd_size_in_an_absurd_page_tree_comes_out_bounded() {
    // The largest page PDF allows (200 inches square), red, in a tree claiming 2³¹−1 pages.
    let file = temp_file(
        "page-cover-huge.pdf",
        &one_page(14400, 14400, "2147483647", b"1 0 0 rg 0 0 14400 14400 re f"),
    );
    let limits = Limits {
        max_side: 300,
        ..Limits::default()
    };
    let cover = render_with(Tool::Mutool, &file, "huge", &limits).unwrap();
    let image = check(&cover, "huge page", &limits);
    assert_eq!((cover.width, cover.height), (300, 300));
    let [r, g, b] = mean(&image);
    assert!(r > 240 && g < 15 && b < 15, "red: {r} {g} {b}");
}

#[test]
fn a_page_that_renders_too_long_is_killed() {
    // Ten thousand fills of most of the page: about a minute of mutool's time.
    let content = b"0 0 m 500 700 l 10 600 l 300 0 l f\n".repeat(10_000);
    let file = temp_file("page-cover-slow.pdf", &one_page(612, 792, "1", &content));
    let limits = Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    };
    match render_with(Tool::Mutool, &file, "slow", &limits) {
        Err(e @ PageError::TimedOut(_)) => assert!(e.blames_the_file()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_memory_limit_holds() {
    // 32 MB of address space does not even map mutool's libraries: with the limit applied,
    // a page that renders in 20 MB fails.
    let limits = Limits {
        memory: 32 * 1024 * 1024,
        ..Limits::default()
    };
    let file = books().join("lighthouse.pdf");
    match render_with(Tool::Mutool, &file, "memory", &limits) {
        Err(PageError::Failed(why)) => assert!(!why.is_empty()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_program_or_file_blames_nothing() {
    let limits = Limits::default();
    let dir = work_dir("missing");
    let file = books().join("lighthouse.pdf");
    let missing = render(
        Path::new("/nonexistent/mutool"),
        Tool::Mutool,
        &file,
        &dir,
        &limits,
    );
    match missing {
        Err(e @ PageError::ToolMissing(Tool::Mutool)) => {
            assert!(!e.blames_the_file());
            assert!(e.to_string().contains("mupdf-tools"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let gone = render(
        &program(Tool::Mutool),
        Tool::Mutool,
        Path::new("/nonexistent/book.pdf"),
        &dir,
        &limits,
    );
    assert!(
        matches!(&gone, Err(e @ PageError::Input(_)) if !e.blames_the_file()),
        "{gone:?}"
    );
    assert_eq!(left_in(&dir), Vec::<PathBuf>::new());
}
