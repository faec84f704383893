//! The format readers against real files (fixtures/) and hostile ones: pure code, no
//! database. One binary, so it links once.

mod broken;
mod common;
mod covers;
mod manifest;
mod mutations;
mod pdf_synthetic;
