//! The throttle's rules, as plain data and functions of the time they are handed: which
//! failed logins count, when a login is refused, and which address and account pairs are
//! trusted to try anyway. No clock, no lock, no HTTP: `Throttle` wraps one `Ledger` in a
//! mutex and hands it the time.
//!
//! - A failure counts against its client address, its username, and the pair of the two,
//!   each in a window of a minute from its first failure; a key with `limit` failures in its
//!   window refuses until the window ends.
//! - The same wrong secret again (same account, same secret) counts once per key and
//!   window: a device with a stale password is not a guesser, and a new secret always
//!   counts, so repeating one buys an attacker nothing.
//! - An address whose account signed in from it in the last 30 days is held to the pair's
//!   own window only: guessing at that account from elsewhere, or at other accounts from the
//!   same address, does not refuse it. Its own wrong guesses still count, so sharing an
//!   address with a reader gives no more guesses than anyone else has.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How long a key's failures are counted from its first.
pub const WINDOW: Duration = Duration::from_secs(60);
/// How long a successful sign-in keeps its address and account trusted.
pub const REMEMBERED: Duration = Duration::from_secs(30 * 24 * 3600);
/// Windows kept before the ended ones are swept out: a flood of addresses cannot grow the
/// ledger without bound.
const SWEEP_AT: usize = 100_000;
/// Address and account pairs remembered at most; past it the oldest quarter is forgotten
/// (they fall back to the plain limits, nothing worse).
const MAX_KNOWN: usize = 100_000;
/// Wrong secrets a window remembers at most: past it, repeats count again, which only makes
/// the limit stricter; limits above it are for machines, not households.
const MAX_SEEN: usize = 32;

/// A keyed hash of an account and a secret: tells one wrong secret from another without
/// keeping either.
pub type Fingerprint = u128;

/// Whose credentials a login presents.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Account {
    /// A username, in its protocol's namespace ("kosync", "opds").
    User(&'static str, String),
    /// Credentials that name nobody (a bearer key): the key is its own account, known by its
    /// fingerprint, so only that very key is trusted where it signed in before.
    Key(Fingerprint),
}

/// One request's credentials, as the rules see them.
#[derive(Debug, Clone)]
pub struct Login {
    /// The client's address, when there is one.
    pub addr: Option<IpAddr>,
    pub account: Account,
    /// The fingerprint of the account and the secret presented.
    pub secret: Fingerprint,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Addr(IpAddr),
    User(&'static str, String),
    /// A username from one address: what a trusted pair is held to.
    Pair(IpAddr, &'static str, String),
}

impl Key {
    /// The key as the shared counts name it (`auth::login_failures`).
    pub(super) fn name(&self) -> String {
        match self {
            Key::Addr(addr) => format!("addr {addr}"),
            Key::User(users, name) => format!("user {users} {name}"),
            Key::Pair(addr, users, name) => format!("pair {addr} {users} {name}"),
        }
    }
}

#[derive(Debug)]
struct Window {
    start: Instant,
    failures: u32,
    /// The wrong secrets counted in this window (at most `MAX_SEEN`).
    seen: Vec<Fingerprint>,
}

impl Window {
    fn new(start: Instant) -> Window {
        Window {
            start,
            failures: 0,
            seen: Vec::new(),
        }
    }

    fn over(&self, limit: u32, now: Instant) -> Option<Duration> {
        (self.failures >= limit && now < self.start + WINDOW).then(|| self.start + WINDOW - now)
    }
}

#[derive(Debug)]
pub struct Ledger {
    limit: u32,
    windows: HashMap<Key, Window>,
    /// When each address and account pair last signed in.
    known: HashMap<(IpAddr, Account), Instant>,
}

impl Ledger {
    /// `limit` failures allowed per key and window (at least 1).
    pub fn new(limit: u32) -> Ledger {
        Ledger {
            limit: limit.max(1),
            windows: HashMap::new(),
            known: HashMap::new(),
        }
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The keys a failure of `login` counts against.
    pub(super) fn keys(login: &Login) -> Vec<Key> {
        let mut keys = Vec::with_capacity(3);
        if let Some(addr) = login.addr {
            keys.push(Key::Addr(addr));
        }
        if let Account::User(users, name) = &login.account {
            keys.push(Key::User(users, name.clone()));
            if let Some(addr) = login.addr {
                keys.push(Key::Pair(addr, users, name.clone()));
            }
        }
        keys
    }

    /// Whether `login`'s address and account signed in together in the last 30 days.
    fn is_known(&self, login: &Login, now: Instant) -> bool {
        let Some(addr) = login.addr else {
            return false;
        };
        self.known
            .get(&(addr, login.account.clone()))
            .is_some_and(|at| now.saturating_duration_since(*at) < REMEMBERED)
    }

    /// How long `login` must wait before it is checked, or `None` when it may be checked now.
    pub fn refused(&self, login: &Login, now: Instant) -> Option<Duration> {
        let wait = |keys: &[Key]| {
            keys.iter()
                .filter_map(|k| self.windows.get(k))
                .filter_map(|w| w.over(self.limit, now))
                .max()
        };
        match (self.is_known(login, now), &login.account, login.addr) {
            // Only that very key signed in from here: there is nothing left to guess.
            (true, Account::Key(_), _) => None,
            (true, Account::User(users, name), Some(addr)) => {
                wait(&[Key::Pair(addr, users, name.clone())])
            }
            _ => wait(&Ledger::keys(login)),
        }
    }

    /// Counts a wrong `login` against its keys, once per key and window for the same secret.
    pub fn failed(&mut self, login: &Login, now: Instant) {
        if self.windows.len() >= SWEEP_AT {
            self.windows.retain(|_, w| now < w.start + WINDOW);
        }
        let limit = self.limit;
        for key in Ledger::keys(login) {
            let window = self.windows.entry(key).or_insert_with(|| Window::new(now));
            if now >= window.start + WINDOW {
                *window = Window::new(now);
            }
            if window.seen.contains(&login.secret) {
                continue;
            }
            window.failures = window.failures.saturating_add(1);
            if window.seen.len() < MAX_SEEN.min(limit as usize) {
                window.seen.push(login.secret);
            }
        }
    }

    /// Takes in a key's window as all instances together counted it: `failures` in a window
    /// that began `age` ago. A window counted here with more failures keeps its count.
    pub fn absorb(&mut self, key: Key, failures: u32, age: Duration, now: Instant) {
        if age >= WINDOW {
            return;
        }
        let start = now.checked_sub(age).unwrap_or(now);
        let window = self
            .windows
            .entry(key)
            .or_insert_with(|| Window::new(start));
        if now >= window.start + WINDOW {
            *window = Window::new(start);
        }
        if failures > window.failures {
            window.failures = failures;
            window.start = start;
        }
    }

    /// Remembers that `login`'s address and account signed in.
    pub fn succeeded(&mut self, login: &Login, now: Instant) {
        let Some(addr) = login.addr else {
            return;
        };
        let pair = (addr, login.account.clone());
        if self.known.len() >= MAX_KNOWN && !self.known.contains_key(&pair) {
            self.forget_oldest(now);
        }
        self.known.insert(pair, now);
    }

    /// Forgets pairs older than 30 days, and when that is not enough the oldest quarter.
    fn forget_oldest(&mut self, now: Instant) {
        self.known
            .retain(|_, at| now.saturating_duration_since(*at) < REMEMBERED);
        if self.known.len() < MAX_KNOWN {
            return;
        }
        let mut by_age: Vec<_> = self.known.iter().map(|(k, at)| (*at, k.clone())).collect();
        let quarter = by_age.len() / 4;
        by_age.select_nth_unstable_by_key(quarter, |(at, _)| *at);
        for (_, pair) in &by_age[..=quarter] {
            self.known.remove(pair);
        }
    }

    /// Pairs remembered (for the tests of the bound).
    #[cfg(test)]
    fn known_len(&self) -> usize {
        self.known.len()
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;
