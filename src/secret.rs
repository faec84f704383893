//! The server's own secret: 32 random bytes in `<data dir>/secret` (mode 0600), made on first
//! use and kept for the life of the installation. Keys for each purpose are derived from it,
//! so one purpose's key says nothing about another's.

use std::io::Write;
use std::path::Path;

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::error::Error;

const FILE: &str = "secret";

/// The server secret `config` names: LIBRIS_SECRET_KEY's passphrase, else the bytes kept in
/// `<data dir>/secret` (made on first use).
pub fn of(config: &crate::config::Config) -> Result<[u8; 32], Error> {
    match &config.secret_key {
        Some(passphrase) => Ok(from_passphrase(&passphrase.0)),
        None => load_or_create(&config.data_dir),
    }
}

/// The secret of the installation at `data_dir`, created when there is none. Two processes
/// starting at once agree: the file appears whole or not at all (a hard link of a finished
/// temporary file), and the loser reads the winner's.
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

/// What the passphrase is stretched with: Argon2id, 64 MiB, three passes, one lane (RFC 9106's
/// second recommended setting, with one lane as libris computes it on one thread). A signed
/// cover link or a sealed token lets anyone who holds one test guesses at the passphrase
/// offline: each guess costs this. About a quarter of a second, once, when the secret is first
/// needed.
const KDF_MEMORY_KIB: u32 = 64 * 1024;
const KDF_PASSES: u32 = 3;
const KDF_LANES: u32 = 1;
/// The salt is fixed: a passphrase from the environment has no place to keep a random one
/// beside it, and the secret must come out the same at every start. It keeps libris's secret
/// apart from any other use of the same passphrase; a good passphrase is still what makes the
/// secret unguessable.
const KDF_SALT: &[u8] = b"libris server secret v1";

/// The server secret from an operator's passphrase (LIBRIS_SECRET_KEY), stretched with
/// Argon2id.
pub fn from_passphrase(passphrase: &str) -> [u8; 32] {
    let params = argon2::Params::new(KDF_MEMORY_KIB, KDF_PASSES, KDF_LANES, Some(32))
        .expect("valid Argon2 parameters");
    let mut secret = [0u8; 32];
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password_into(passphrase.as_bytes(), KDF_SALT, &mut secret)
        .expect("Argon2 takes any passphrase of LIBRIS_SECRET_KEY's length");
    secret
}

/// The server secret a passphrase gave before it was stretched (one SHA-256): kept only to
/// open Hardcover tokens sealed under it, which are then sealed again under the new one.
pub fn legacy_from_passphrase(passphrase: &str) -> [u8; 32] {
    derive(
        &Sha256::digest(passphrase.as_bytes()).into(),
        "libris server secret",
    )
}

/// The one-time setup token: whoever claims a fresh server (no key yet) must show it, so the
/// first to reach it over the network does not become its admin. Derived from the secret, so
/// `serve`'s log and `libris setup-token` print the same one with nothing stored; it opens
/// nothing once a key exists. Twenty hex digits in groups of four, for pasting and reading.
pub fn setup_token(secret: &[u8; 32]) -> String {
    let key = derive(secret, "setup token");
    let digits = hex::encode(&key[..10]);
    digits
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).expect("hex is ASCII"))
        .collect::<Vec<_>>()
        .join("-")
}

/// Whether `given` is the setup token, ignoring case, spaces and dashes; compared in constant
/// time.
pub fn is_setup_token(secret: &[u8; 32], given: &str) -> bool {
    use subtle::ConstantTimeEq;
    let normal = |s: &str| -> Vec<u8> {
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
            .into_bytes()
    };
    let want = normal(&setup_token(secret));
    let got = normal(given);
    want.len() == got.len() && bool::from(want.ct_eq(&got))
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
    fn the_setup_token_is_read_forgivingly_and_only_whole() {
        let secret = [7u8; 32];
        let token = setup_token(&secret);
        assert_eq!(token.len(), 24, "{token}");
        assert!(is_setup_token(&secret, &token));
        assert!(is_setup_token(
            &secret,
            &format!(" {} ", token.to_uppercase().replace('-', " "))
        ));
        assert!(!is_setup_token(&secret, &token[..23]));
        assert!(!is_setup_token(&secret, ""));
        assert!(!is_setup_token(&[8u8; 32], &token));
    }

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

    #[test]
    fn a_passphrase_is_stretched_with_argon2id() {
        let passphrase = "correct horse battery staple";
        let secret = from_passphrase(passphrase);
        assert_eq!(
            hex::encode(secret),
            "323ca8708797c415e20be4c8bf047e11673de404ef21b1137c0bc62eac6fb701",
            "as the reference implementation gives it (argon2 -id -t 3 -m 16 -p 1 -l 32)"
        );
        assert_ne!(from_passphrase("correct horse battery stapler"), secret);
        assert_ne!(legacy_from_passphrase(passphrase), secret);
    }
}
