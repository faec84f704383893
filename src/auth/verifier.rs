//! Password verification with a cache of successes.
//!
//! bcrypt costs tens of milliseconds; KOReader authenticates every request. A success is
//! remembered as (username, SHA-256 of the presented key) → the stored hash it opened. A
//! cached verification only counts while the database still holds that very hash: changing or
//! deleting the credential changes or removes it, so the very next request misses the cache.
//! Failures are never cached.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use lru::LruCache;
use sha2::{Digest, Sha256};

use super::credentials::hash_secret;
use super::md5_hex;

/// Bounds the cache; far above the number of readers of one server. When full, the
/// verification used least recently is forgotten.
const CACHE_CAPACITY: usize = 100_000;

pub struct Verifier {
    verified: Mutex<LruCache<[u8; 32], String>>,
    bcrypt_runs: AtomicU64,
    cache_hits: AtomicU64,
}

impl Default for Verifier {
    fn default() -> Verifier {
        Verifier::with_capacity(CACHE_CAPACITY)
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct VerifierStats {
    pub bcrypt_verifications: u64,
    pub cache_hits: u64,
}

impl Verifier {
    pub fn new() -> Verifier {
        Verifier::default()
    }

    fn with_capacity(capacity: usize) -> Verifier {
        // Sparse: room is made as entries come, not all at once.
        let verified = LruCache::sparse(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN));
        Verifier {
            verified: Mutex::new(verified),
            bcrypt_runs: AtomicU64::new(0),
            cache_hits: AtomicU64::new(0),
        }
    }

    fn cache_key(username: &str, presented: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(username.as_bytes());
        h.update([0]);
        h.update(Sha256::digest(presented.as_bytes()));
        h.finalize().into()
    }

    /// The stored hash this (username, key) opened when it was last verified, if any. The
    /// caller must still check that the database holds that hash now.
    pub fn verified_hash(&self, username: &str, presented: &str) -> Option<String> {
        let key = Self::cache_key(username, presented);
        let hash = self
            .verified
            .lock()
            .expect("verifier cache")
            .get(&key)
            .cloned();
        if hash.is_some() {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        hash
    }

    /// True when (username, key) was verified before against exactly `stored_hash`. Cheap.
    pub fn is_cached(&self, username: &str, stored_hash: &str, presented: &str) -> bool {
        let key = Self::cache_key(username, presented);
        let hit = self
            .verified
            .lock()
            .expect("verifier cache")
            .get(&key)
            .map(String::as_str)
            == Some(stored_hash);
        if hit {
            self.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// Drops a verification the database no longer backs.
    pub fn forget(&self, username: &str, presented: &str) {
        let key = Self::cache_key(username, presented);
        self.verified.lock().expect("verifier cache").pop(&key);
    }

    /// Verifies a KoSync key against the stored bcrypt(md5_hex(password)). The client may send
    /// the md5 key (KOReader) or the plain password (other clients). An unknown user costs
    /// the same bcrypt work as a wrong key, so timing does not reveal who exists.
    pub fn verify_kosync(
        &self,
        username: &str,
        stored_hash: Option<&str>,
        presented: &str,
    ) -> bool {
        let hash = stored_hash.unwrap_or_else(|| dummy_hash());
        let ok = self.bcrypt(presented, hash) || self.bcrypt(&md5_hex(presented), hash);
        let ok = ok && stored_hash.is_some();
        if ok {
            self.remember(username, hash, presented);
        }
        ok
    }

    /// Verifies a password against a stored bcrypt hash of it (OPDS). `cache_name` keeps one
    /// service's usernames apart from another's in the cache. An unknown user costs the same.
    pub fn verify_password(
        &self,
        cache_name: &str,
        stored_hash: Option<&str>,
        presented: &str,
    ) -> bool {
        let hash = stored_hash.unwrap_or_else(|| dummy_hash());
        let ok = self.bcrypt(presented, hash) && stored_hash.is_some();
        if ok {
            self.remember(cache_name, hash, presented);
        }
        ok
    }

    fn bcrypt(&self, secret: &str, hash: &str) -> bool {
        self.bcrypt_runs.fetch_add(1, Ordering::Relaxed);
        bcrypt::verify(secret, hash).unwrap_or(false)
    }

    /// Remembers that `presented` opened `username` as `verified` (a device password's
    /// "device:…" value, checked by KoSync's report statement like a stored hash).
    pub fn remember_opened(&self, username: &str, verified: &str, presented: &str) {
        self.remember(username, verified, presented);
    }

    fn remember(&self, username: &str, stored_hash: &str, presented: &str) {
        let key = Self::cache_key(username, presented);
        self.verified
            .lock()
            .expect("verifier cache")
            .put(key, stored_hash.to_owned());
    }

    pub fn stats(&self) -> VerifierStats {
        VerifierStats {
            bcrypt_verifications: self.bcrypt_runs.load(Ordering::Relaxed),
            cache_hits: self.cache_hits.load(Ordering::Relaxed),
        }
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_secret("libris-dummy-secret").expect("bcrypt of a constant"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(password: &str) -> String {
        hash_secret(&md5_hex(password)).unwrap()
    }

    #[test]
    fn accepts_md5_key_and_plain_password() {
        let v = Verifier::new();
        let hash = stored("secret");
        assert!(v.verify_kosync("ann", Some(&hash), &md5_hex("secret")));
        assert!(v.verify_kosync("ann", Some(&hash), "secret"));
        assert!(!v.verify_kosync("ann", Some(&hash), "wrong"));
        assert!(!v.verify_kosync("ann", None, &md5_hex("secret")));
    }

    #[test]
    fn caches_successes_only_and_keys_on_the_stored_hash() {
        let v = Verifier::new();
        let hash = stored("secret");
        assert!(!v.verify_kosync("ann", Some(&hash), "wrong"));
        assert!(!v.is_cached("ann", &hash, "wrong"));
        assert!(v.verify_kosync("ann", Some(&hash), "secret"));
        assert!(v.is_cached("ann", &hash, "secret"));
        let changed = stored("secret");
        assert!(
            !v.is_cached("ann", &changed, "secret"),
            "a new hash must miss the cache"
        );
        assert!(!v.is_cached("bob", &hash, "secret"));
        assert_eq!(v.verified_hash("ann", "secret"), Some(hash.clone()));
        v.forget("ann", "secret");
        assert!(!v.is_cached("ann", &hash, "secret"));
    }

    #[test]
    fn a_full_cache_forgets_the_least_recently_used() {
        let v = Verifier::with_capacity(3);
        let hash = stored("secret");
        for user in ["ann", "bob", "cy"] {
            v.remember(user, &hash, "secret");
        }
        assert!(v.is_cached("ann", &hash, "secret"), "ann used again");
        v.remember("dee", &hash, "secret");
        assert!(
            !v.is_cached("bob", &hash, "secret"),
            "the least recently used went"
        );
        for user in ["ann", "cy", "dee"] {
            assert!(v.is_cached(user, &hash, "secret"), "{user} kept");
        }
    }

    #[test]
    fn unknown_user_costs_as_much_bcrypt_as_a_wrong_key() {
        let v = Verifier::new();
        let hash = stored("secret");
        v.verify_kosync("ann", Some(&hash), "wrong");
        let wrong = v.stats().bcrypt_verifications;
        v.verify_kosync("nobody", None, "wrong");
        assert_eq!(v.stats().bcrypt_verifications - wrong, wrong);
    }
}
