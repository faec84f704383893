//! Request bodies must keep moving. actix answers a client that trickles its headers with 408
//! after 5 s, but reads a body for as long as the client cares to send it: a byte a second
//! would hold a connection, a staging file and a handler forever. Here a body may take
//! `grace` plus one second per `rate` bytes received: a 500 MB upload at 1 MB/s has all the
//! time it needs, a trickle of a byte a second is cut after about `grace`.

use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage};
use futures_util::StreamExt;
use tokio::time::Instant;

/// The time a body has before it must bring bytes (`Config::body_grace`), registered as app
/// data by the app.
#[derive(Debug, Clone, Copy)]
pub struct Grace(pub Duration);

/// Bytes a second that earn a body one more second.
const RATE: u64 = 1024;

/// When a body that began at `start` and has brought `received` bytes must have its next.
pub fn deadline(start: Instant, grace: Duration, received: u64) -> Instant {
    start + grace + Duration::from_secs(received / RATE)
}

/// The body length a request declares (`Content-Length`), if it declares one.
pub fn declared_length(headers: &actix_web::http::header::HeaderMap) -> Option<u64> {
    headers
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// A request body read whole, refused once it passes `limit` bytes (413, before reading when
/// the declared length says so already); a body cut off is a bad request.
pub async fn read_limited(
    headers: &actix_web::http::header::HeaderMap,
    mut payload: actix_web::web::Payload,
    limit: usize,
) -> Result<actix_web::web::BytesMut, crate::error::Error> {
    use crate::error::Error;
    use futures_util::StreamExt;
    if declared_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(Error::PayloadTooLarge);
    }
    let mut body = actix_web::web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => Error::PayloadTooLarge,
            other => Error::BadJson(other.to_string()),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(Error::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let headers = req.headers();
    let has_body = headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
        || declared_length(headers).is_some_and(|n| n > 0);
    if !has_body {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let grace = req
        .app_data::<web::Data<Grace>>()
        .map_or(Duration::from_secs(30), |g| g.0);
    let inner = req.take_payload();
    let start = Instant::now();
    let stream = futures_util::stream::unfold(
        (inner, 0u64, false),
        move |(mut inner, received, done)| async move {
            if done {
                return None;
            }
            match tokio::time::timeout_at(deadline(start, grace, received), inner.next()).await {
                Ok(Some(Ok(chunk))) => {
                    let received = received + chunk.len() as u64;
                    Some((Ok(chunk), (inner, received, false)))
                }
                Ok(Some(Err(e))) => Some((Err(e), (inner, received, true))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(PayloadError::Io(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the request body came too slowly",
                    ))),
                    (inner, received, true),
                )),
            }
        },
    );
    // Fused: multipart readers poll again after the end.
    req.set_payload(Payload::Stream {
        payload: Box::pin(stream.fuse()),
    });
    Ok(next.call(req).await?.map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_earn_time_by_the_bytes_they_bring() {
        let start = Instant::now();
        let grace = Duration::from_secs(30);
        assert_eq!(deadline(start, grace, 0), start + grace);
        assert_eq!(
            deadline(start, grace, 60),
            start + grace,
            "a trickle earns nothing"
        );
        assert_eq!(
            deadline(start, grace, 500 * 1024 * 1024),
            start + grace + Duration::from_secs(512_000),
            "a big upload at 1 KiB/s still fits"
        );
    }
}
