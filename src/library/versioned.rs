//! A value computed from the library, kept per key and library version, computed once for
//! all who ask at the same time: the catalog's and the web app's caches of page starts,
//! facet values and pages are made of these.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use lru::LruCache;
use tokio::sync::watch;

use crate::error::Error;

/// A value computed from the library, kept per key and library version. One request
/// computes it while the others with the same key wait for that result (never sixteen
/// computations of the same thing at once). Waiting is asynchronous and happens before any
/// database work: a request waiting here holds no connection and no place in the pool's
/// queue, only the one computing does (it takes its connection inside `compute`).
pub struct Versioned<K: Hash + Eq, V> {
    /// At most `capacity` values; the least recently used goes when a new one comes.
    held: Mutex<LruCache<K, (i64, V)>>,
    /// Keys being computed, at which version; waiters are woken when that computation
    /// ends, however it ends (its sender is dropped).
    computing: Mutex<HashMap<K, (i64, watch::Receiver<()>)>>,
    /// Requests waiting for another's computation now.
    waiting: AtomicUsize,
}

impl<K: Hash + Eq, V> Versioned<K, V> {
    /// Holding at most `capacity` values (the least recently used is dropped to make room).
    pub fn with_capacity(capacity: usize) -> Self {
        // Sparse: room is made as entries come, not all at once.
        let held = LruCache::sparse(NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN));
        Versioned {
            held: Mutex::new(held),
            computing: Mutex::new(HashMap::new()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// How many requests are waiting for a computation of another (for tests and metrics).
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }
}

impl<K: Hash + Eq, V> Default for Versioned<K, V> {
    fn default() -> Self {
        Self::with_capacity(1024)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Takes the key out of the computing set however the computation ends (done, failed, or
/// its request gone), then wakes its waiters by dropping the sender.
struct Turn<'a, K: Hash + Eq, V> {
    cache: &'a Versioned<K, V>,
    key: Option<K>,
    _done: watch::Sender<()>,
}

impl<K: Hash + Eq, V> Drop for Turn<'_, K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.cache.computing).remove(&key);
        }
    }
}

/// Counts a request as waiting while it is.
pub struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    pub fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Versioned<K, V> {
    /// The value held for this key, computed at `version` or later, and its version.
    pub fn lookup(&self, key: &K, version: i64) -> Option<(V, i64)> {
        let mut held = lock(&self.held);
        let (v, value) = held.get(key)?;
        (*v >= version).then(|| (value.clone(), *v))
    }

    /// Keeps `value`, computed from the library at `version` (unless a newer one is held).
    pub fn store(&self, key: K, version: i64, value: V) {
        let mut held = lock(&self.held);
        if held.peek(&key).is_some_and(|(v, _)| *v > version) {
            return;
        }
        held.put(key, (version, value));
    }

    /// The value for this key at `version` or later, and the version it was computed at.
    /// One caller computes it while the others with the same key wait for that result —
    /// or, when the computation under way is for their version or a later one and a value of
    /// an earlier version is held, go on with that at once (so a library that keeps
    /// changing, as during an import, is not browsed at one computation per request).
    /// Different keys are computed at the same time. Only the caller that computes runs
    /// `compute`; the others wait without it, so `compute` is where a connection is taken.
    pub async fn get<F, Fut>(&self, key: K, version: i64, compute: F) -> Result<(V, i64), Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, Error>>,
    {
        let mut compute = Some(compute);
        loop {
            if let Some(found) = self.lookup(&key, version) {
                looked_up("hit");
                return Ok(found);
            }
            let next = {
                let mut computing = lock(&self.computing);
                match computing.get(&key) {
                    Some((running, done)) => {
                        let older = (*running >= version)
                            .then(|| lock(&self.held).get(&key).cloned())
                            .flatten();
                        match older {
                            Some((v, value)) => Next::Found(value, v),
                            None => Next::Wait(done.clone()),
                        }
                    }
                    // A computation that ended since the lookup above stored its value
                    // before leaving the computing set.
                    None => match self.lookup(&key, version) {
                        Some((value, v)) => Next::Found(value, v),
                        None => {
                            let (sender, done) = watch::channel(());
                            computing.insert(key.clone(), (version, done));
                            Next::Compute(sender)
                        }
                    },
                }
            };
            match next {
                Next::Found(value, v) => {
                    looked_up("shared");
                    return Ok((value, v));
                }
                Next::Wait(mut done) => {
                    let _waiting = Waiting::new(&self.waiting);
                    // Nothing is ever sent: this returns when the computation's sender is
                    // dropped.
                    let _ = done.changed().await;
                }
                Next::Compute(sender) => {
                    let _turn = Turn {
                        cache: self,
                        key: Some(key.clone()),
                        _done: sender,
                    };
                    looked_up("miss");
                    let compute = compute.take().expect("computed only once");
                    let value = compute().await?;
                    self.store(key, version, value.clone());
                    return Ok((value, version));
                }
            }
        }
    }
}

fn looked_up(result: &'static str) {
    metrics::counter!(crate::telemetry::CACHE_LOOKUPS, "result" => result).increment(1);
}

/// What a caller of `Versioned::get` does next.
enum Next<V> {
    Found(V, i64),
    Wait(watch::Receiver<()>),
    Compute(watch::Sender<()>),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    use futures_util::future::FutureExt;

    /// A computation that gives `value` at once.
    fn ready<V>(value: V) -> impl FnOnce() -> std::future::Ready<Result<V, Error>> {
        move || std::future::ready(Ok(value))
    }

    #[tokio::test]
    async fn kept_per_version() {
        let cache: Versioned<u8, u32> = Versioned::default();
        let mut runs = 0;
        let mut get = async |version| {
            cache
                .get(1, version, || {
                    runs += 1;
                    std::future::ready(Ok(runs))
                })
                .await
                .unwrap()
                .0
        };
        assert_eq!(get(7).await, 1);
        assert_eq!(get(7).await, 1, "held");
        assert_eq!(get(8).await, 2, "the library changed");
    }

    #[tokio::test]
    async fn one_computation_per_key_however_many_ask() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let cache: Arc<Versioned<u8, usize>> = Arc::default();
        let runs = Arc::new(AtomicUsize::new(0));
        let askers: Vec<_> = (0..8)
            .map(|_| {
                let (cache, runs) = (cache.clone(), runs.clone());
                tokio::spawn(async move {
                    cache
                        .get(1, 7, || async {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Ok(runs.fetch_add(1, Ordering::SeqCst) + 1)
                        })
                        .await
                        .unwrap()
                        .0
                })
            })
            .collect();
        for asker in askers {
            assert_eq!(asker.await.unwrap(), 1, "everyone gets the one result");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn different_keys_are_computed_at_once() {
        let cache: Arc<Versioned<u8, u8>> = Arc::default();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let other = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get(2, 7, || async {
                        tx.send(()).unwrap();
                        Ok(2)
                    })
                    .await
            })
        };
        // Key 1's computation waits for key 2's to start: were keys computed one at a
        // time, it would give up.
        let got = cache
            .get(1, 7, || async {
                tokio::time::timeout(Duration::from_secs(30), rx)
                    .await
                    .map_err(|_| Error::Internal("key 2 never started".into()))?
                    .map_err(|_| Error::Internal("key 2 never started".into()))?;
                Ok(1)
            })
            .await;
        assert_eq!(got.unwrap(), (1, 7));
        assert_eq!(other.await.unwrap().unwrap(), (2, 7));
    }

    #[tokio::test]
    async fn while_a_change_is_computed_others_go_on_with_the_older_value() {
        let cache: Arc<Versioned<u8, &str>> = Arc::default();
        assert_eq!(cache.get(1, 7, ready("old")).await.unwrap(), ("old", 7));
        let (entered_tx, entered) = tokio::sync::oneshot::channel();
        let (finish, finish_rx) = tokio::sync::oneshot::channel::<()>();
        let first = {
            let cache = cache.clone();
            tokio::spawn(async move {
                cache
                    .get(1, 8, || async {
                        entered_tx.send(()).unwrap();
                        finish_rx.await.unwrap();
                        Ok("new")
                    })
                    .await
            })
        };
        entered.await.unwrap();
        let meanwhile = cache.get(1, 8, ready("unexpected")).await.unwrap();
        assert_eq!(
            meanwhile,
            ("old", 7),
            "the same change under way: not waiting, and saying which version it is"
        );
        // A later change than the one under way is never answered from before it.
        let later = {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get(1, 9, ready("nine")).await.unwrap() })
        };
        while cache.waiting() == 0 {
            tokio::task::yield_now().await;
        }
        finish.send(()).unwrap();
        assert_eq!(
            first.await.unwrap().unwrap(),
            ("new", 8),
            "who met the change computes"
        );
        assert_eq!(later.await.unwrap(), ("nine", 9));
        assert_eq!(
            cache.get(1, 8, ready("unexpected")).await.unwrap(),
            ("nine", 9),
            "newer will do"
        );
    }

    #[tokio::test]
    async fn a_failed_computation_lets_the_next_caller_try() {
        let cache: Versioned<u8, u8> = Versioned::default();
        assert!(cache
            .get(1, 7, || async { Err(Error::Internal("down".into())) })
            .await
            .is_err());
        assert_eq!(cache.get(1, 7, ready(3)).await.unwrap(), (3, 7));
    }

    #[tokio::test]
    async fn a_computation_given_up_lets_a_waiter_compute() {
        let cache: Versioned<u8, u8> = Versioned::default();
        // The computing request goes away (its client hung up) while another waits.
        let (_keep, never) = tokio::sync::oneshot::channel::<()>();
        let mut abandoned = Box::pin(cache.get(1, 7, || async {
            let _ = never.await;
            Ok(1)
        }));
        assert!((&mut abandoned).now_or_never().is_none(), "computing");
        let mut waiter = Box::pin(cache.get(1, 7, ready(2)));
        assert!((&mut waiter).now_or_never().is_none(), "waiting");
        assert_eq!(cache.waiting(), 1);
        drop(abandoned);
        assert_eq!(waiter.await.unwrap(), (2, 7));
        assert_eq!(cache.waiting(), 0);
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used() {
        let cache: Versioned<u8, u8> = Versioned::with_capacity(3);
        for key in 1..=3 {
            cache.store(key, 7, key);
        }
        assert_eq!(cache.lookup(&1, 7), Some((1, 7)), "1 used again");
        cache.store(4, 7, 4);
        assert_eq!(cache.lookup(&2, 7), None, "the least recently used went");
        for key in [1, 3, 4] {
            assert_eq!(cache.lookup(&key, 7), Some((key, 7)), "{key} kept");
        }
        cache.store(1, 6, 0);
        assert_eq!(
            cache.lookup(&1, 7),
            Some((1, 7)),
            "an older value never replaces"
        );
    }
}
