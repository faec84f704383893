use super::*;
use proptest::prelude::*;

const LIMIT: u32 = 3;

fn addr(n: u8) -> IpAddr {
    IpAddr::from([10, 0, 0, n])
}

/// `user` from `10.0.0.<at>` presenting the secret numbered `secret`.
fn login(at: u8, user: &str, secret: u128) -> Login {
    Login {
        addr: Some(addr(at)),
        account: Account::User("kosync", user.to_owned()),
        // Fingerprints cover the account: the same secret of two users is two secrets.
        secret: u128::from(fnv(user)) << 64 | secret,
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
    })
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn the_limit_holds_for_a_minute_per_address_and_per_username() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    for s in 0..2 {
        l.failed(&login(1, "ann", s), t);
    }
    assert_eq!(l.refused(&login(1, "ann", 9), t), None, "two of three");
    l.failed(&login(1, "ann", 2), t + secs(10));
    assert_eq!(l.refused(&login(1, "ann", 9), t + secs(10)), Some(secs(50)));
    // ann from elsewhere, and anyone from ann's address, are refused too.
    assert!(l.refused(&login(2, "ann", 9), t).is_some());
    assert!(l.refused(&login(1, "bob", 9), t).is_some());
    assert_eq!(l.refused(&login(2, "bob", 9), t), None);
    assert_eq!(
        l.refused(&login(1, "ann", 9), t + WINDOW),
        None,
        "a minute later"
    );
    l.failed(&login(1, "ann", 3), t + WINDOW);
    assert_eq!(
        l.refused(&login(1, "ann", 9), t + WINDOW),
        None,
        "a new window starts counting"
    );
}

#[test]
fn the_same_wrong_secret_counts_once() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    for i in 0..100 {
        l.failed(&login(1, "ann", 7), t + secs(i % 60));
    }
    assert_eq!(l.refused(&login(1, "ann", 8), t + secs(59)), None);
    // New secrets still count: one stale secret plus two guesses reach the limit.
    l.failed(&login(1, "ann", 8), t + secs(59));
    l.failed(&login(1, "ann", 9), t + secs(59));
    assert!(l.refused(&login(1, "ann", 10), t + secs(59)).is_some());
}

#[test]
fn one_password_tried_on_many_users_counts_for_each() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    for user in ["ann", "bob", "carol"] {
        l.failed(&login(1, user, 7), t);
    }
    assert!(l.refused(&login(1, "dave", 7), t).is_some());
}

#[test]
fn a_pair_that_signed_in_is_checked_while_others_guess() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    l.succeeded(&login(1, "ann", 0), t);
    // Someone at 10.0.0.9 guesses at ann; someone at 10.0.0.1 guesses at others.
    for s in 1..=3 {
        l.failed(&login(9, "ann", s), t);
        l.failed(&login(1, "bob", s), t);
    }
    assert!(
        l.refused(&login(2, "ann", 0), t).is_some(),
        "ann, new address"
    );
    assert!(
        l.refused(&login(1, "carol", 0), t).is_some(),
        "ann's address"
    );
    assert_eq!(l.refused(&login(1, "ann", 0), t), None, "ann, at home");
    // Its own wrong guesses still count, against its own window.
    for s in 11..=13 {
        assert_eq!(l.refused(&login(1, "ann", s), t), None);
        l.failed(&login(1, "ann", s), t);
    }
    assert_eq!(l.refused(&login(1, "ann", 0), t), Some(WINDOW));
}

#[test]
fn a_pair_is_remembered_for_30_days() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    l.succeeded(&login(1, "ann", 0), t);
    let later = t + REMEMBERED - secs(1);
    for s in 1..=3 {
        l.failed(&login(9, "ann", s), later);
    }
    assert_eq!(l.refused(&login(1, "ann", 0), later), None);
    let after = t + REMEMBERED;
    for s in 1..=3 {
        l.failed(&login(9, "ann", s), after);
    }
    assert!(l.refused(&login(1, "ann", 0), after).is_some());
    l.succeeded(&login(1, "ann", 0), t + REMEMBERED - secs(10));
    assert_eq!(l.refused(&login(1, "ann", 0), after), None, "renewed");
}

#[test]
fn a_bearer_key_that_signed_in_is_trusted_from_there_alone() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    let key = |at: u8, fp: u128| Login {
        addr: Some(addr(at)),
        account: Account::Key(fp),
        secret: fp,
    };
    l.succeeded(&key(1, 42), t);
    for fp in 1..=3 {
        l.failed(&key(1, fp), t);
    }
    assert!(l.refused(&key(1, 43), t).is_some(), "another key");
    assert!(l.refused(&key(2, 42), t).is_none(), "that address is fine");
    assert_eq!(l.refused(&key(1, 42), t), None, "that very key");
}

#[test]
fn the_pairs_remembered_are_bounded() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    let n = MAX_KNOWN + 1000;
    for i in 0..n {
        let who = Login {
            addr: Some(IpAddr::from((i as u32).to_be_bytes())),
            account: Account::User("opds", "ann".into()),
            secret: 0,
        };
        l.succeeded(&who, t + Duration::from_millis(i as u64));
    }
    assert!(l.known_len() <= MAX_KNOWN, "{}", l.known_len());
    assert!(l.known_len() >= MAX_KNOWN / 2, "{}", l.known_len());
    let newest = Login {
        addr: Some(IpAddr::from(((n - 1) as u32).to_be_bytes())),
        account: Account::User("opds", "ann".into()),
        secret: 0,
    };
    assert!(l.is_known(&newest, t + secs(200)));
}

#[test]
fn a_window_remembers_few_secrets() {
    let mut l = Ledger::new(1000);
    let t = Instant::now();
    for s in 0..500 {
        l.failed(&login(1, "ann", s), t);
    }
    assert!(l.windows.values().all(|w| w.seen.len() <= MAX_SEEN));
    assert!(l.windows.values().all(|w| w.failures == 500));
}

/// One attempt of a generated run: who, which secret, and how long after the previous one.
#[derive(Debug, Clone)]
struct Attempt {
    at: u8,
    user: u8,
    secret: u8,
    after_ms: u64,
    right: bool,
}

fn attempts() -> impl Strategy<Value = Vec<Attempt>> {
    prop::collection::vec(
        (
            0u8..4,
            0u8..3,
            0u8..12,
            // Mostly bursts, now and then a pause past a window.
            prop_oneof![9 => 0u64..3_000, 1 => 0u64..120_000],
            prop::bool::weighted(0.1),
        )
            .prop_map(|(at, user, secret, after_ms, right)| Attempt {
                at,
                user,
                secret,
                after_ms,
                right,
            }),
        0..300,
    )
}

fn name(user: u8) -> String {
    format!("user{user}")
}

/// Plays `run` as the middleware would (refused, else checked: right secrets sign in, others
/// fail); the attempts checked, with their times.
fn play(l: &mut Ledger, run: &[Attempt], t0: Instant) -> Vec<(Instant, Attempt)> {
    let mut now = t0;
    let mut checked = vec![];
    for a in run {
        now += Duration::from_millis(a.after_ms);
        let who = login(
            a.at,
            &name(a.user),
            if a.right { 0 } else { 1 + a.secret as u128 },
        );
        if l.refused(&who, now).is_some() {
            continue;
        }
        if a.right {
            l.succeeded(&who, now);
        } else {
            l.failed(&who, now);
        }
        checked.push((now, a.clone()));
    }
    checked
}

/// The most distinct wrong secrets `checked` holds within any minute for one `group`.
fn most_in_a_minute<K: PartialEq>(
    checked: &[(Instant, Attempt)],
    group: impl Fn(&Attempt) -> K,
) -> usize {
    let wrong: Vec<_> = checked.iter().filter(|(_, a)| !a.right).collect();
    let mut most = 0;
    for (i, (start, first)) in wrong.iter().enumerate() {
        let mut secrets = vec![];
        for (t, a) in &wrong[i..] {
            if *t >= *start + WINDOW {
                break;
            }
            if group(a) == group(first) && !secrets.contains(&(a.user, a.secret)) {
                secrets.push((a.user, a.secret));
            }
        }
        most = most.max(secrets.len());
    }
    most
}

proptest! {
    /// Without any sign-in, no username and no address gets more than the limit of distinct
    /// wrong secrets checked in a window: twice the limit in any minute, as two windows can
    /// meet in one.
    #[test]
    fn guesses_are_bounded_per_user_and_address(run in attempts(), limit in 1u32..6) {
        let run: Vec<_> = run.into_iter().map(|a| Attempt { right: false, ..a }).collect();
        let checked = play(&mut Ledger::new(limit), &run, Instant::now());
        let bound = 2 * limit as usize;
        prop_assert!(most_in_a_minute(&checked, |a| a.user) <= bound);
        prop_assert!(most_in_a_minute(&checked, |a| a.at) <= bound);
    }

    /// With sign-ins, each address and username pair still gets no more than that.
    #[test]
    fn guesses_are_bounded_per_pair(run in attempts(), limit in 1u32..6) {
        let checked = play(&mut Ledger::new(limit), &run, Instant::now());
        prop_assert!(most_in_a_minute(&checked, |a| (a.at, a.user)) <= 2 * limit as usize);
    }

    /// A pair that signed in, and guessed nothing itself, is checked whatever others did.
    #[test]
    fn a_known_pair_is_never_refused_for_others_guesses(run in attempts(), limit in 1u32..6) {
        let mut l = Ledger::new(limit);
        let t0 = Instant::now();
        // 10.0.0.9 is not among the generated addresses (0–3).
        let home = |secret| Login { addr: Some(addr(9)), ..login(0, "user0", secret) };
        l.succeeded(&home(0), t0);
        let checked = play(&mut l, &run, t0);
        let end = checked.last().map_or(t0, |(t, _)| *t);
        prop_assert_eq!(l.refused(&home(0), end), None);
    }

    /// Repeating a failed attempt at once changes nothing for anyone afterwards.
    #[test]
    fn a_repeat_costs_nothing(run in attempts(), limit in 1u32..6, every in 1usize..4) {
        let repeated: Vec<_> = run
            .iter()
            .enumerate()
            .flat_map(|(i, a)| {
                let again = Attempt { after_ms: 0, ..a.clone() };
                if i % every == 0 { vec![a.clone(), again] } else { vec![a.clone()] }
            })
            .collect();
        let t0 = Instant::now();
        // A repeat is checked when its first was: compare what is left without them.
        let firsts = |mut c: Vec<(Instant, Attempt)>| {
            c.dedup_by(|b, a| {
                (a.0, a.1.at, a.1.user, a.1.secret, a.1.right)
                    == (b.0, b.1.at, b.1.user, b.1.secret, b.1.right)
            });
            c
        };
        let plain = firsts(play(&mut Ledger::new(limit), &run, t0));
        let with_repeats = firsts(play(&mut Ledger::new(limit), &repeated, t0));
        let key = |c: &[(Instant, Attempt)]| {
            c.iter().map(|(t, a)| (*t, a.at, a.user, a.secret, a.right)).collect::<Vec<_>>()
        };
        prop_assert_eq!(key(&plain), key(&with_repeats));
    }
}

#[test]
fn a_count_from_another_instance_refuses_here_until_its_window_ends() {
    let mut l = Ledger::new(LIMIT);
    let t = Instant::now();
    let ann = login(1, "ann", 1);
    for key in Ledger::keys(&ann) {
        l.absorb(key, LIMIT, secs(20), t);
    }
    assert_eq!(
        l.refused(&ann, t),
        Some(secs(40)),
        "the shared window's end"
    );
    assert_eq!(l.refused(&ann, t + secs(40)), None);
    // A shared count that is lower, or a window already over, changes nothing.
    let mut l = Ledger::new(LIMIT);
    for s in 0..3 {
        l.failed(&login(2, "bob", s), t);
    }
    for key in Ledger::keys(&login(2, "bob", 0)) {
        l.absorb(key.clone(), 1, secs(1), t);
        l.absorb(key, 9, secs(61), t);
    }
    assert_eq!(l.refused(&login(2, "bob", 9), t), Some(secs(60)));
}

#[test]
fn keys_have_names_that_tell_them_apart() {
    let names: Vec<String> = Ledger::keys(&login(1, "ann", 0))
        .iter()
        .map(Key::name)
        .collect();
    assert_eq!(
        names,
        [
            "addr 10.0.0.1",
            "user kosync ann",
            "pair 10.0.0.1 kosync ann"
        ]
    );
}
