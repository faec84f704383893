//! Hardcover's GraphQL API: `Authorization: Bearer <token>`, a 10 s timeout, at most one
//! request a second per token, and a 429 waited out (Retry-After, else 60 s) and retried, at
//! most 5 times. The token never appears in an error or a log line.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const TIMEOUT: Duration = Duration::from_secs(10);
const RETRIES: u32 = 5;
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);
/// A Retry-After longer than this is not waited out.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HardcoverError {
    #[error("Hardcover refused the token")]
    InvalidToken,
    #[error("Hardcover kept answering 429 (too many requests)")]
    RateLimited,
    #[error("Hardcover could not be reached: {0}")]
    Unreachable(String),
    #[error("Hardcover answered: {0}")]
    Response(String),
}

/// The account a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    pub id: i64,
    pub username: String,
}

pub struct Hardcover {
    http: reqwest::Client,
    url: String,
    pace: Duration,
    /// When each token (by its SHA-256) may send its next request.
    next: Mutex<HashMap<[u8; 32], Instant>>,
    /// Wakes the metadata lookups (a book entered review).
    pub lookups: tokio::sync::Notify,
    /// Readers whose sync is under way.
    running: Mutex<HashSet<Uuid>>,
}

/// A reader's sync under way; ends when dropped.
pub struct RunGuard<'a> {
    running: &'a Mutex<HashSet<Uuid>>,
    key_id: Uuid,
}

impl Drop for RunGuard<'_> {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key_id);
    }
}

impl Hardcover {
    /// `pace`: the least time between two requests with one token (Hardcover allows one a
    /// second; tests use less).
    pub fn new(url: &str, pace: Duration) -> Hardcover {
        Hardcover {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .user_agent(concat!("libris/", env!("CARGO_PKG_VERSION")))
                .build()
                .expect("a client with rustls and a timeout builds"),
            url: url.to_owned(),
            pace,
            next: Mutex::new(HashMap::new()),
            lookups: tokio::sync::Notify::new(),
            running: Mutex::new(HashSet::new()),
        }
    }

    /// Marks a reader's sync as under way; None when one already is.
    pub fn begin_run(&self, key_id: Uuid) -> Option<RunGuard<'_>> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(key_id).then_some(RunGuard {
            running: &self.running,
            key_id,
        })
    }

    /// A book entered review: look it up soon.
    pub fn wake_lookups(&self) {
        self.lookups.notify_one();
    }

    /// Waits for this token's turn: one request per `pace`.
    async fn pace(&self, token: &str) {
        let id: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let wait = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let (wait, then) = slot(next.get(&id).copied(), Instant::now(), self.pace);
            next.insert(id, then);
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Runs a GraphQL operation; its `data`.
    pub async fn query(
        &self,
        token: &str,
        query: &str,
        variables: Value,
    ) -> Result<Value, HardcoverError> {
        let body = json!({ "query": query, "variables": variables });
        for attempt in 0..=RETRIES {
            self.pace(token).await;
            let resp = self
                .http
                .post(&self.url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .map_err(|e| HardcoverError::Unreachable(e.without_url().to_string()))?;
            let status = resp.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                if attempt == RETRIES {
                    return Err(HardcoverError::RateLimited);
                }
                let wait = retry_after(resp.headers()).unwrap_or(DEFAULT_RETRY_AFTER);
                if wait > MAX_RETRY_AFTER {
                    return Err(HardcoverError::RateLimited);
                }
                log::info!("Hardcover asked to wait {} s", wait.as_secs());
                tokio::time::sleep(wait).await;
                continue;
            }
            if matches!(status.as_u16(), 401 | 403) {
                return Err(HardcoverError::InvalidToken);
            }
            if !status.is_success() {
                return Err(HardcoverError::Response(format!("HTTP {status}")));
            }
            let answer: Value = resp
                .json()
                .await
                .map_err(|e| HardcoverError::Response(e.without_url().to_string()))?;
            return data(answer);
        }
        Err(HardcoverError::RateLimited)
    }

    /// Who the token belongs to; InvalidToken when Hardcover does not know it.
    pub async fn me(&self, token: &str) -> Result<Me, HardcoverError> {
        let data = self
            .query(token, "query { me { id username } }", json!({}))
            .await?;
        let me = super::graphql::me(&data);
        match (me["id"].as_i64(), me["username"].as_str()) {
            (Some(id), Some(username)) => Ok(Me {
                id,
                username: username.to_owned(),
            }),
            _ => Err(HardcoverError::InvalidToken),
        }
    }
}

/// A request's turn: how long to wait, and when the next one may go. A token's next turn
/// is `pace` after this one; a token idle for longer goes at once.
fn slot(next: Option<Instant>, now: Instant, pace: Duration) -> (Duration, Instant) {
    let at = next.unwrap_or(now).max(now);
    (at - now, at + pace)
}

/// Seconds from a Retry-After header (the HTTP-date form counts as absent).
fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A GraphQL answer's data; its errors as an error (Hardcover reports a bad token there
/// too, as a JWT or authorization message).
fn data(answer: Value) -> Result<Value, HardcoverError> {
    if let Some(errors) = answer.get("errors").and_then(Value::as_array) {
        let messages: Vec<&str> = errors
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect();
        let text = messages.join("; ");
        // Hasura's codes for a token it does not take; older answers say so in the message.
        let refused = errors.iter().any(|e| {
            let code = e["extensions"]["code"].as_str().unwrap_or_default();
            let message = e["message"].as_str().unwrap_or_default().to_lowercase();
            matches!(
                code,
                "invalid-jwt" | "jwt-invalid-claims" | "invalid-headers" | "access-denied"
            ) || message.contains("jwt")
                || message.contains("unauthorized")
                || message.contains("not authorized")
        });
        if refused {
            return Err(HardcoverError::InvalidToken);
        }
        return Err(HardcoverError::Response(text.chars().take(500).collect()));
    }
    answer
        .get("data")
        .cloned()
        .ok_or_else(|| HardcoverError::Response("an answer without data".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graphql_errors() {
        assert_eq!(
            data(json!({"data": {"me": []}})).unwrap(),
            json!({"me": []})
        );
        assert_eq!(
            data(json!({"errors": [{"message": "Could not verify JWT: JWTExpired"}]})),
            Err(HardcoverError::InvalidToken)
        );
        assert_eq!(
            data(json!({"errors": [{"message": "field 'x' not found"}]})),
            Err(HardcoverError::Response("field 'x' not found".into()))
        );
        assert_eq!(
            data(
                json!({"errors": [{"message": "Malformed Authorization header",
                "extensions": {"code": "invalid-headers"}}]})
            ),
            Err(HardcoverError::InvalidToken)
        );
        assert!(
            matches!(
                data(json!({"errors": [{"message": "unexpected token at 1:7"}]})),
                Err(HardcoverError::Response(_))
            ),
            "a parse error is not a refused token"
        );
        assert!(data(json!({})).is_err());
    }

    #[test]
    fn one_request_per_pace_per_token() {
        let now = Instant::now();
        let pace = Duration::from_secs(1);
        let (wait, next) = slot(None, now, pace);
        assert_eq!(
            (wait, next),
            (Duration::ZERO, now + pace),
            "the first goes at once"
        );
        let (wait, next) = slot(Some(next), now, pace);
        assert_eq!(
            (wait, next),
            (pace, now + 2 * pace),
            "the second waits its turn"
        );
        let later = now + 5 * pace;
        let (wait, next) = slot(Some(next), later, pace);
        assert_eq!(
            (wait, next),
            (Duration::ZERO, later + pace),
            "an idle token goes at once"
        );
    }

    #[test]
    fn retry_after_seconds() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(reqwest::header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            reqwest::header::RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
