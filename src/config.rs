//! Settings from the environment; `serve` flags may override them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Hardcover's GraphQL endpoint, unless LIBRIS_HARDCOVER_URL says otherwise.
pub const HARDCOVER_URL: &str = "https://api.hardcover.app/v1/graphql";
/// Hardcover allows 60 requests a minute per token.
pub const HARDCOVER_PACE: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind: SocketAddr,
    /// A second address serving only `/metrics`, without a key (LIBRIS_METRICS_BIND): for a
    /// Prometheus on a private network. `None`: `/metrics` on `bind`, for an admin key only.
    pub metrics_bind: Option<SocketAddr>,
    /// Lines for people or JSON for log collectors (LIBRIS_LOG_FORMAT: text, json).
    pub log_format: crate::telemetry::LogFormat,
    pub data_dir: PathBuf,
    pub kosync_registration: bool,
    pub kosync_strict_accept: bool,
    pub db_wait: Duration,
    pub db_pool_size: u32,
    /// HTTP worker threads; `None`: one per CPU core.
    pub workers: Option<usize>,
    /// The largest file an upload may carry.
    pub max_upload_bytes: u64,
    /// What one reader's WebDAV space may hold, in bytes (LIBRIS_DAV_QUOTA_MB).
    pub dav_quota_bytes: u64,
    /// A folder watched for new books, if any.
    pub inbox_dir: Option<PathBuf>,
    /// How often reading aggregates left alone are moved to paused; `None`: never.
    pub sweep_every: Option<Duration>,
    /// How long the KoSync write trusts the reading rules it read last (not from the
    /// environment: tests shorten it). A change made through this process applies at once.
    pub rules_cache: Duration,
    /// The scheme, host and path prefix under which clients reach libris (LIBRIS_PUBLIC_URL,
    /// no trailing '/'); feeds' absolute links start with it. `None`: taken from each request.
    pub public_url: Option<String>,
    /// Believe X-Forwarded-Proto and X-Forwarded-Host (LIBRIS_TRUST_PROXY): only behind a
    /// reverse proxy that sets them, or any client could point the feeds' links elsewhere.
    pub trust_proxy: bool,
    /// Hardcover's GraphQL endpoint (LIBRIS_HARDCOVER_URL).
    pub hardcover_url: String,
    /// The server secret as a passphrase (LIBRIS_SECRET_KEY); `None`: random bytes kept in
    /// `<data dir>/secret`.
    pub secret_key: Option<Passphrase>,
    /// When the daily Hardcover sync runs, local time (LIBRIS_HARDCOVER_SYNC_AT, "HH:MM";
    /// "off": never on its own).
    pub hardcover_sync_at: Option<chrono::NaiveTime>,
    /// Fetch proposed covers from loopback and private addresses too. Tests only (their fake
    /// Hardcover is local): no variable sets it, so a server never does.
    pub allow_private_cover_urls: bool,
    /// The least time between two Hardcover requests with one token: Hardcover's limit (one a
    /// second). Tests only shorten it; no variable sets it.
    pub hardcover_pace: Duration,
    /// How long POST /api/hardcover/sync waits for its run before answering 202 (20 s; tests
    /// shorten it).
    pub hardcover_sync_wait: Duration,
    /// Failed logins allowed per client address and per username in a minute before 429
    /// (LIBRIS_AUTH_FAILURES_PER_MINUTE; 0: no limit).
    pub auth_failures_per_minute: u32,
    /// How long a request body may take beyond one second per KiB it brings (30 s; tests
    /// shorten it). See [`crate::http::slow_body`].
    pub body_grace: Duration,
    /// How long a web session lasts unused (LIBRIS_SESSION_IDLE_DAYS, 30) and at most
    /// (LIBRIS_SESSION_MAX_DAYS, 180).
    pub session_idle: Duration,
    pub session_max: Duration,
}

/// A secret from the environment: never shown by `{:?}`, so it cannot reach a log.
#[derive(Clone)]
pub struct Passphrase(pub String);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(…)")
    }
}

/// A setting that could not be read: names the variable, so the operator can fix it at once.
#[derive(Debug, thiserror::Error)]
#[error("invalid {name}={value:?}: {expected}")]
pub struct ConfigError {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Config {
    /// Reads every setting through `get` (the process environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url = get("DATABASE_URL").unwrap_or_default();
        Ok(Config {
            database_url,
            bind: parse_or(&get, "LIBRIS_BIND", "127.0.0.1:8080", parse_bind)?,
            metrics_bind: parse_or(&get, "LIBRIS_METRICS_BIND", "", |v| {
                (!v.is_empty()).then(|| parse_bind(v)).transpose()
            })?,
            log_format: parse_or(&get, "LIBRIS_LOG_FORMAT", "text", |v| {
                v.parse().map_err(|_| "expected text or json")
            })?,
            data_dir: PathBuf::from(get("LIBRIS_DATA_DIR").unwrap_or_else(|| "./data".into())),
            kosync_registration: parse_or(&get, "LIBRIS_KOSYNC_REGISTRATION", "false", parse_bool)?,
            kosync_strict_accept: parse_or(
                &get,
                "LIBRIS_KOSYNC_STRICT_ACCEPT",
                "false",
                parse_bool,
            )?,
            db_wait: parse_or(&get, "LIBRIS_DB_WAIT", "30", parse_seconds)?,
            db_pool_size: parse_or(&get, "LIBRIS_DB_POOL_SIZE", "", parse_pool_size)?,
            workers: parse_or(&get, "LIBRIS_WORKERS", "", parse_workers)?,
            max_upload_bytes: parse_or(&get, "LIBRIS_MAX_UPLOAD_MB", "500", parse_megabytes)?,
            dav_quota_bytes: parse_or(&get, "LIBRIS_DAV_QUOTA_MB", "2048", parse_megabytes)?,
            sweep_every: parse_or(&get, "LIBRIS_SWEEP_MINUTES", "60", parse_minutes)?,
            inbox_dir: get("LIBRIS_INBOX_DIR")
                .filter(|d| !d.trim().is_empty())
                .map(PathBuf::from),
            rules_cache: Duration::from_secs(5),
            public_url: parse_or(&get, "LIBRIS_PUBLIC_URL", "", parse_public_url)?,
            trust_proxy: parse_or(&get, "LIBRIS_TRUST_PROXY", "false", parse_bool)?,
            hardcover_url: parse_or(&get, "LIBRIS_HARDCOVER_URL", HARDCOVER_URL, parse_http_url)?,
            secret_key: secret_key(&get)?,
            hardcover_sync_at: parse_or(
                &get,
                "LIBRIS_HARDCOVER_SYNC_AT",
                "04:00",
                parse_time_of_day,
            )?,
            allow_private_cover_urls: false,
            hardcover_pace: HARDCOVER_PACE,
            hardcover_sync_wait: Duration::from_secs(20),
            auth_failures_per_minute: parse_or(
                &get,
                "LIBRIS_AUTH_FAILURES_PER_MINUTE",
                "10",
                parse_failures,
            )?,
            body_grace: Duration::from_secs(30),
            session_idle: parse_or(&get, "LIBRIS_SESSION_IDLE_DAYS", "30", parse_days)?,
            session_max: parse_or(&get, "LIBRIS_SESSION_MAX_DAYS", "180", parse_days)?,
        })
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Settings for tests and tools: defaults, pointed at `database_url`.
    pub fn for_database(database_url: &str) -> Config {
        let mut config = Config::from_lookup(|_| None).expect("defaults are valid");
        config.database_url = database_url.to_owned();
        config
    }
}

/// The file in a data dir that says how to reach its database: written by `serve` (mode 0600),
/// read by every command when DATABASE_URL is unset, so that after `make run` the CLI works in
/// another terminal with nothing exported. One `DATABASE_URL=…` line (dotenv's shape).
pub const REMEMBERED: &str = "libris.env";

/// The database URL a data dir remembers, if it has one.
pub fn remembered_database(data_dir: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(data_dir.join(REMEMBERED)).ok()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("DATABASE_URL="))
        .map(|v| v.trim().trim_matches('\'').to_owned())
        .find(|v| !v.is_empty())
}

/// Records `url` as the data dir's database (mode 0600: it may hold a password), unless it
/// says so already.
pub fn remember_database(data_dir: &std::path::Path, url: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if remembered_database(data_dir).as_deref() == Some(url) || url.contains(['\n', '\r']) {
        return Ok(());
    }
    let path = data_dir.join(REMEMBERED);
    let temp = data_dir.join(format!(".{REMEMBERED}.tmp"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temp)?;
    writeln!(
        f,
        "# Written by `libris serve`: how the commands reach this data dir's database when\n\
         # DATABASE_URL is unset (`libris --data-dir {} keys list`).\nDATABASE_URL='{url}'",
        data_dir.display()
    )?;
    f.sync_all()?;
    std::fs::rename(temp, path)
}

type Parser<T> = fn(&str) -> Result<T, &'static str>;

fn parse_or<T>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: &str,
    parse: Parser<T>,
) -> Result<T, ConfigError> {
    let value = get(name).unwrap_or_else(|| default.to_owned());
    parse(value.trim()).map_err(|expected| ConfigError {
        name,
        value,
        expected,
    })
}

fn parse_days(value: &str) -> Result<Duration, &'static str> {
    match value.parse::<u64>() {
        Ok(days @ 1..=3650) => Ok(Duration::from_secs(days * 86_400)),
        _ => Err("expected a whole number of days from 1 to 3650"),
    }
}

pub fn parse_bind(value: &str) -> Result<SocketAddr, &'static str> {
    value
        .parse()
        .map_err(|_| "expected an address and port such as 127.0.0.1:8080 or [::]:8080")
}

pub fn parse_public_url(value: &str) -> Result<Option<String>, &'static str> {
    if value.is_empty() {
        return Ok(None);
    }
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
        .ok_or("expected an http:// or https:// URL such as https://books.example.org")?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("expected an http:// or https:// URL such as https://books.example.org");
    }
    Ok(Some(value.trim_end_matches('/').to_owned()))
}

pub fn parse_bool(value: &str) -> Result<bool, &'static str> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "" | "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or 1 (on), false or 0 (off)"),
    }
}

fn parse_seconds(value: &str) -> Result<Duration, &'static str> {
    value
        .parse::<u64>()
        .map(Duration::from_secs)
        .map_err(|_| "expected a whole number of seconds")
}

/// Unset: twice the cores, plus one. More connections than PostgreSQL can run at once
/// only queue inside it: on 2 cores, 5 connections served catalog pages and KoSync reports
/// as fast as 16 did, with a p99 latency a third to a tenth of theirs.
fn parse_http_url(value: &str) -> Result<String, &'static str> {
    parse_public_url(value)?.ok_or("expected an http:// or https:// URL")
}

/// LIBRIS_SECRET_KEY, or the passphrase in the file LIBRIS_SECRET_KEY_FILE names (a compose or
/// systemd credential: kept out of the environment that `inspect` shows). Never both.
fn secret_key(get: &impl Fn(&str) -> Option<String>) -> Result<Option<Passphrase>, ConfigError> {
    const NAME: &str = "LIBRIS_SECRET_KEY_FILE";
    let inline = parse_or(get, "LIBRIS_SECRET_KEY", "", parse_passphrase)?;
    let Some(path) = get(NAME).filter(|p| !p.trim().is_empty()) else {
        return Ok(inline);
    };
    // The error names the file, never what it holds.
    let refused = |expected| ConfigError {
        name: NAME,
        value: path.clone(),
        expected,
    };
    if inline.is_some() {
        return Err(refused(
            "unset while LIBRIS_SECRET_KEY is set: one or the other",
        ));
    }
    let text = std::fs::read_to_string(path.trim())
        .map_err(|_| refused("a readable file holding the passphrase"))?;
    match parse_passphrase(text.trim_end_matches(['\n', '\r'])).map_err(refused)? {
        Some(p) => Ok(Some(p)),
        None => Err(refused("a file holding the passphrase, not an empty one")),
    }
}

fn parse_passphrase(value: &str) -> Result<Option<Passphrase>, &'static str> {
    match value.len() {
        0 => Ok(None),
        1..16 => {
            Err("expected at least 16 characters (or nothing: a random secret in the data dir)")
        }
        _ => Ok(Some(Passphrase(value.to_owned()))),
    }
}

fn parse_pool_size(value: &str) -> Result<u32, &'static str> {
    if value.is_empty() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        return Ok((2 * cores as u32 + 1).clamp(3, 64));
    }
    match value.parse::<u32>() {
        Ok(n) if (1..=256).contains(&n) => Ok(n),
        _ => Err("expected a number of connections from 1 to 256"),
    }
}

fn parse_workers(value: &str) -> Result<Option<usize>, &'static str> {
    match value.parse::<usize>() {
        _ if value.is_empty() => Ok(None),
        Ok(n) if (1..=64).contains(&n) => Ok(Some(n)),
        _ => Err("expected a number of worker threads from 1 to 64"),
    }
}

fn parse_minutes(value: &str) -> Result<Option<Duration>, &'static str> {
    match value.parse::<u64>() {
        Ok(0) => Ok(None),
        Ok(n) if n <= 7 * 24 * 60 => Ok(Some(Duration::from_secs(n * 60))),
        _ => Err("expected minutes from 0 (off) to 10080"),
    }
}

fn parse_failures(value: &str) -> Result<u32, &'static str> {
    match value.parse::<u32>() {
        Ok(n) if n <= 100_000 => Ok(n),
        _ => Err("expected a whole number of failed logins a minute, 0 (no limit) to 100000"),
    }
}

fn parse_time_of_day(value: &str) -> Result<Option<chrono::NaiveTime>, &'static str> {
    if value.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    chrono::NaiveTime::parse_from_str(value, "%H:%M")
        .map(Some)
        .map_err(|_| "expected a time of day as HH:MM (24-hour, local time) or \"off\"")
}

fn parse_megabytes(value: &str) -> Result<u64, &'static str> {
    match value.parse::<u64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n * 1024 * 1024),
        _ => Err("expected a size in megabytes from 1 to 1000000"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_data_dir_remembers_its_database_privately() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("libris-remember-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(remembered_database(&dir), None);
        let url = "postgresql:///libris?host=/tmp/libris-pg-run-1&user=postgres";
        remember_database(&dir, url).unwrap();
        assert_eq!(remembered_database(&dir).as_deref(), Some(url));
        let mode = std::fs::metadata(dir.join(REMEMBERED))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        remember_database(&dir, "postgresql://other/db").unwrap();
        assert_eq!(
            remembered_database(&dir).as_deref(),
            Some("postgresql://other/db")
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    use super::*;

    fn with(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults() {
        let c = with(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(!c.kosync_registration);
        assert!(!c.kosync_strict_accept);
        assert_eq!(c.db_wait, Duration::from_secs(30));
        assert_eq!(c.max_upload_bytes, 500 * 1024 * 1024);
        assert_eq!(c.dav_quota_bytes, 2048 * 1024 * 1024);
        assert_eq!(c.inbox_dir, None);
        assert_eq!(
            with(&[("LIBRIS_MAX_UPLOAD_MB", "big")]).unwrap_err().name,
            "LIBRIS_MAX_UPLOAD_MB"
        );
    }

    #[test]
    fn public_url_is_an_http_url_without_its_trailing_slash() {
        assert_eq!(with(&[]).unwrap().public_url, None);
        assert_eq!(
            with(&[("LIBRIS_PUBLIC_URL", "https://books.example.org/libris/")])
                .unwrap()
                .public_url
                .as_deref(),
            Some("https://books.example.org/libris")
        );
        for bad in ["books.example.org", "ftp://x", "https://", "https://a b"] {
            assert_eq!(
                with(&[("LIBRIS_PUBLIC_URL", bad)]).unwrap_err().name,
                "LIBRIS_PUBLIC_URL",
                "{bad}"
            );
        }
    }

    #[test]
    fn registration_accepts_true_and_one() {
        assert!(
            with(&[("LIBRIS_KOSYNC_REGISTRATION", "true")])
                .unwrap()
                .kosync_registration
        );
        assert!(
            with(&[("LIBRIS_KOSYNC_REGISTRATION", "1")])
                .unwrap()
                .kosync_registration
        );
        assert!(
            !with(&[("LIBRIS_KOSYNC_REGISTRATION", "0")])
                .unwrap()
                .kosync_registration
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_eq!(
            with(&[("LIBRIS_METRICS_BIND", "10.0.0.2:9090")])
                .unwrap()
                .metrics_bind,
            Some("10.0.0.2:9090".parse().unwrap())
        );
        assert_eq!(with(&[]).unwrap().metrics_bind, None);
        assert!(with(&[("LIBRIS_METRICS_BIND", "9090")]).is_err());
        assert_eq!(
            with(&[("LIBRIS_LOG_FORMAT", "json")]).unwrap().log_format,
            crate::telemetry::LogFormat::Json
        );
        assert_eq!(
            with(&[("LIBRIS_LOG_FORMAT", "xml")]).unwrap_err().name,
            "LIBRIS_LOG_FORMAT"
        );
        let err = with(&[("LIBRIS_BIND", "localhost")]).unwrap_err();
        assert_eq!(err.name, "LIBRIS_BIND");
        assert!(err
            .to_string()
            .starts_with("invalid LIBRIS_BIND=\"localhost\""));
        assert_eq!(
            with(&[("LIBRIS_DB_WAIT", "soon")]).unwrap_err().name,
            "LIBRIS_DB_WAIT"
        );
        assert_eq!(
            with(&[("LIBRIS_WORKERS", "0")]).unwrap_err().name,
            "LIBRIS_WORKERS"
        );
        assert_eq!(with(&[("LIBRIS_WORKERS", "3")]).unwrap().workers, Some(3));
        let err = with(&[("LIBRIS_KOSYNC_STRICT_ACCEPT", "maybe")]).unwrap_err();
        assert_eq!(err.name, "LIBRIS_KOSYNC_STRICT_ACCEPT");
    }

    #[test]
    fn the_secret_passphrase_is_long_enough_and_never_shown() {
        assert!(with(&[("LIBRIS_SECRET_KEY", "")])
            .unwrap()
            .secret_key
            .is_none());
        assert!(with(&[("LIBRIS_SECRET_KEY", "too short")]).is_err());
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "correct horse battery staple\n").unwrap();
        let path = file.to_str().unwrap();
        let from_file = with(&[("LIBRIS_SECRET_KEY_FILE", path)]).unwrap();
        assert_eq!(
            from_file.secret_key.unwrap().0,
            "correct horse battery staple",
            "the file's line, without its newline"
        );
        let both = [
            ("LIBRIS_SECRET_KEY", "correct horse battery staple"),
            ("LIBRIS_SECRET_KEY_FILE", path),
        ];
        assert_eq!(with(&both).unwrap_err().name, "LIBRIS_SECRET_KEY_FILE");
        let missing = dir.path().join("nope");
        let err = with(&[("LIBRIS_SECRET_KEY_FILE", missing.to_str().unwrap())]).unwrap_err();
        assert_eq!(err.name, "LIBRIS_SECRET_KEY_FILE");
        std::fs::write(&file, "short\n").unwrap();
        let err = with(&[("LIBRIS_SECRET_KEY_FILE", path)]).unwrap_err();
        assert!(
            !err.to_string().contains("short"),
            "never what the file holds: {err}"
        );
        let config = with(&[("LIBRIS_SECRET_KEY", "correct horse battery staple")]).unwrap();
        assert!(config.secret_key.is_some());
        assert!(!format!("{config:?}").contains("horse"));
        assert!(with(&[("LIBRIS_HARDCOVER_URL", "ftp://x")]).is_err());
        assert_eq!(
            with(&[("LIBRIS_HARDCOVER_URL", "http://127.0.0.1:9/graphql")])
                .unwrap()
                .hardcover_url,
            "http://127.0.0.1:9/graphql"
        );
    }
}
