//! Covers of books whose cover is their first page (PDF, DjVu): the page rendered by an
//! outside program, MuPDF's `mutool` or DjVuLibre's `ddjvu`, then made a [`Cover`] as any
//! other. Rendering a page means running a large parser over a file anyone may have uploaded,
//! so it never happens in this process: the program runs confined ([`confined`]: a time limit,
//! a memory limit, a cap on what it may write, a private directory) and reads the book from
//! its standard input, so it is handed no path into the library. Its output is a bare PPM
//! of bounded size that this module checks ([`ppm`]) before encoding it as PNG.
//!
//! Blocking: seconds of CPU at worst. Callers run it off the request path.

mod confined;
mod ppm;

use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use image::{ExtendedColorType, ImageEncoder};

use super::covers::{self, Cover, CoverError};
use super::Format;

/// What one rendering may use. The defaults are the server's; tests shorten them.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock time before the program is killed (and CPU time, as a backstop).
    pub timeout: Duration,
    /// Address space of the program (RLIMIT_AS).
    pub memory: u64,
    /// The page is rendered to fit a square of this side, aspect kept: a cover as large as
    /// the ones books carry, and a bound on the output whatever the page size claims.
    pub max_side: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            // A real first page takes 50–150 ms (the fixtures); a page that needs more than
            // this is hostile or absurd, and the next passes do not wait on it.
            timeout: Duration::from_secs(20),
            memory: 512 * 1024 * 1024,
            max_side: 1600,
        }
    }
}

/// The program that renders a format's first page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tool {
    /// MuPDF (Debian: mupdf-tools), for PDF.
    Mutool,
    /// DjVuLibre (Debian: djvulibre-bin), for DjVu.
    Ddjvu,
}

impl Tool {
    pub const ALL: [Tool; 2] = [Tool::Mutool, Tool::Ddjvu];

    pub fn for_format(format: Format) -> Option<Tool> {
        match format {
            Format::Pdf => Some(Tool::Mutool),
            Format::Djvu => Some(Tool::Ddjvu),
            _ => None,
        }
    }

    pub fn format(self) -> Format {
        match self {
            Tool::Mutool => Format::Pdf,
            Tool::Ddjvu => Format::Djvu,
        }
    }

    pub fn program(self) -> &'static str {
        match self {
            Tool::Mutool => "mutool",
            Tool::Ddjvu => "ddjvu",
        }
    }

    /// The Debian package that installs it, for the message when it is missing.
    pub fn package(self) -> &'static str {
        match self {
            Tool::Mutool => "mupdf-tools",
            Tool::Ddjvu => "djvulibre-bin",
        }
    }

    /// The program's path, looked up on PATH now (it may be installed while libris runs).
    pub fn locate(self) -> Option<PathBuf> {
        locate_in(self.program(), &std::env::var_os("PATH")?)
    }

    /// Arguments rendering page 1 of the document on standard input to `out` (a PPM, P6).
    fn args(self, out: &str, max_side: u32) -> Vec<OsString> {
        let side = max_side.to_string();
        let args: Vec<String> = match self {
            // Standard input has no extension, so mutool opens it as a PDF whatever it is:
            // MuPDF's other engines (EPUB, XPS, HTML) are never reached.
            Tool::Mutool => [
                "draw",
                "-q",
                "-c",
                "rgb",
                "-F",
                "pnm",
                "-w",
                &side,
                "-h",
                &side,
                "-o",
                out,
                "/dev/stdin",
                "1",
            ]
            .map(str::to_owned)
            .to_vec(),
            Tool::Ddjvu => vec![
                "-format=ppm".into(),
                "-page=1".into(),
                format!("-size={side}x{side}"),
                "/dev/stdin".into(),
                out.into(),
            ],
        };
        args.into_iter().map(OsString::from).collect()
    }
}

/// An executable file named `program` in one of the `path` directories.
pub fn locate_in(program: &str, path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Why no cover came of a page.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("{} is not installed (Debian package {})", .0.program(), .0.package())]
    ToolMissing(Tool),
    #[error("the book's file cannot be read: {0}")]
    Input(io::Error),
    /// Trouble on this side (the work directory): says nothing about the book.
    #[error("rendering could not run: {0}")]
    Local(String),
    #[error("rendering the first page took longer than {0:?}")]
    TimedOut(Duration),
    #[error("rendering the first page failed: {0}")]
    Failed(String),
    #[error("the rendered page is not a usable cover: {0}")]
    Cover(#[from] CoverError),
}

impl PageError {
    /// Whether the book's file is to blame, so that trying it again would fail again.
    pub fn blames_the_file(&self) -> bool {
        matches!(
            self,
            PageError::TimedOut(_) | PageError::Failed(_) | PageError::Cover(_)
        )
    }
}

/// Renders the first page of `file` (a `tool.format()` file) with the program at `program`,
/// in a private directory made under `work_dir` and removed after.
pub fn render(
    program: &Path,
    tool: Tool,
    file: &Path,
    work_dir: &Path,
    limits: &Limits,
) -> Result<Cover, PageError> {
    let input = File::open(file).map_err(PageError::Input)?;
    let dir = confined::WorkDir::create(work_dir).map_err(|e| {
        PageError::Local(format!("making a directory in {}: {e}", work_dir.display()))
    })?;
    const OUT: &str = "page.ppm";
    let max_bytes = ppm::max_len(limits.max_side);
    confined::run(
        program,
        &tool.args(OUT, limits.max_side),
        input,
        &dir,
        limits,
        max_bytes,
    )
    .map_err(|e| match e {
        confined::RunError::NotFound => PageError::ToolMissing(tool),
        confined::RunError::Local(why) => PageError::Local(why),
        confined::RunError::TimedOut => PageError::TimedOut(limits.timeout),
        confined::RunError::Failed(why) => PageError::Failed(why),
    })?;
    let bytes = dir
        .read(OUT, max_bytes)
        .map_err(|e| PageError::Failed(format!("reading its output: {e}")))?;
    let page = ppm::parse(&bytes, limits.max_side).map_err(PageError::Failed)?;
    drop(bytes);
    covers::render(&encode_png(&page)?).map_err(PageError::from)
}

/// Lossless: first pages are mostly type and line art, which JPEG blurs.
fn encode_png(page: &image::RgbImage) -> Result<Vec<u8>, PageError> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            page.as_raw(),
            page.width(),
            page.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| PageError::Local(format!("encoding the page as PNG: {e}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_tool_renders_its_own_format() {
        for tool in Tool::ALL {
            assert_eq!(Tool::for_format(tool.format()), Some(tool));
        }
        assert_eq!(Tool::for_format(Format::Epub), None);
    }

    #[test]
    fn programs_are_found_only_where_path_says() {
        let bin = std::env::temp_dir().join(format!("libris-locate-{}", std::process::id()));
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join("mutool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        let path = std::env::join_paths(["/nonexistent", bin.to_str().unwrap()]).unwrap();
        assert_eq!(locate_in("mutool", &path), None, "not executable yet");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(locate_in("mutool", &path), Some(tool));
        assert_eq!(locate_in("ddjvu", &path), None);
        // A relative PATH entry would depend on the server's working directory.
        assert_eq!(locate_in("mutool", std::ffi::OsStr::new(".")), None);
        std::fs::remove_dir_all(&bin).unwrap();
    }
}
