//! The format readers against real files (fixtures/) and hostile ones: pure code, no
//! database. One binary, so it links once.

mod broken;
mod common;
mod covers;
mod manifest;
mod mutations;
mod page_covers;
mod pdf_synthetic;
