//! The server's own secret: 32 random bytes in `<data dir>/secret` (mode 0600), made on first
//! use and kept for the life of the installation. Keys for each purpose are derived from it,
//! so one purpose's key says nothing about another's.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::Error;

const FILE: &str = "secret";

/// The secret of the installation at `data_dir`, created when there is none. Two processes
/// starting at once agree: the file appears whole or not at all (a hard link of a finished
/// temporary file), and the loser reads the winner's.
/// The server secret `config` names: LIBRIS_SECRET_KEY's passphrase, else the bytes kept in
/// `<data dir>/secret` (made on first use).
pub fn of(config: &crate::config::Config) -> Result<[u8; 32], Error> {
    match &config.secret_key {
        Some(passphrase) => Ok(from_passphrase(&passphrase.0)),
        None => load_or_create(&config.data_dir),
    }
}

pub fn load_or_create(data_dir: &Path) -> Result<[u8; 32], Error> {
    let path = data_dir.join(FILE);
    if let Some(secret) = read(&path)? {
        return Ok(secret);
    }
    std::fs::create_dir_all(data_dir).map_err(io("creating the data dir"))?;
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    let tmp = data_dir.join(format!(".{FILE}.{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(hex::encode(secret).as_bytes())
            .and_then(|_| f.sync_all())
    });
    let linked = written.and_then(|_| std::fs::hard_link(&tmp, &path));
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(secret),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&path)?.ok_or_else(|| Error::Internal("the server secret vanished".into()))
        }
        Err(e) => Err(io("writing the server secret")(e)),
    }
}

fn read(path: &Path) -> Result<Option<[u8; 32]>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mut secret = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut secret)
                .map_err(|_| Error::Internal(format!("{} is not 64 hex digits", path.display())))?;
            Ok(Some(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io("reading the server secret")(e)),
    }
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Internal(format!("{what}: {e}"))
}

/// The server secret from an operator's passphrase (LIBRIS_SECRET_KEY).
pub fn from_passphrase(passphrase: &str) -> [u8; 32] {
    derive(
        &Sha256::digest(passphrase.as_bytes()).into(),
        "libris server secret",
    )
}

/// The key for one purpose.
pub fn derive(secret: &[u8; 32], purpose: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(purpose.as_bytes());
    h.update([0]);
    h.update(secret);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(load_or_create(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_ne!(derive(&first, "a"), derive(&first, "b"));
    }
}
