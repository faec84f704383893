//! The web app's middleware: works out the visitor once per request, refuses a cross-site
//! form post, and adds the security headers every page carries.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};

use super::error::WebError;
use super::session;
use crate::error::Error;
use crate::AppState;

/// No inline script or style anywhere: everything comes from /static. Covers are same-origin;
/// `data:` images are the QR code's and the cover previews' of a picked file (`blob:`).
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let headers = |res: &mut ServiceResponse<BoxBody>| {
        let h = res.headers_mut();
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    };
    if req.path().starts_with("/static/") {
        let mut res = next.call(req).await?.map_into_boxed_body();
        headers(&mut res);
        return Ok(res);
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Err(WebError::from(Error::Internal("no app state".into())).into());
    };
    if cross_site(&req, state.config.trust_proxy) {
        let resp = WebError::from(Error::Forbidden(
            "This form was sent from another site.".into(),
        ))
        .error_response();
        let mut res = req.into_response(resp).map_into_boxed_body();
        headers(&mut res);
        return Ok(res);
    }
    let visitor = match session::visitor(&state, req.request()).await {
        Ok(v) => v,
        Err(e) => {
            let mut res = req
                .into_response(WebError::from(e).error_response())
                .map_into_boxed_body();
            headers(&mut res);
            return Ok(res);
        }
    };
    let pre = visitor
        .new_pre
        .clone()
        .map(|v| session::pre_cookie(v, visitor.secure));
    req.extensions_mut().insert(visitor);
    let mut res = next.call(req).await?.map_into_boxed_body();
    headers(&mut res);
    let h = res.headers_mut();
    if !h.contains_key(header::CACHE_CONTROL) {
        // Pages show someone's reading and library: never kept by a shared cache, nor shown
        // again from history after signing out.
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if let Some(cookie) = pre {
        res.response_mut().add_cookie(&cookie).ok();
    }
    Ok(res)
}

/// A state-changing request whose `Origin` (or, lacking one, `Referer`) names another site:
/// the CSRF token would refuse it too, this refuses it before any body is read.
fn cross_site(req: &ServiceRequest, trust_proxy: bool) -> bool {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let Some(host) = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
    else {
        return false;
    };
    let named = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match named {
        // Some privacy settings send "null"; the CSRF token decides then.
        None | Some("null") => false,
        Some(url) => {
            let authority = url
                .split_once("://")
                .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
                .unwrap_or("");
            // Behind a proxy the Host may be rewritten; a trusted proxy sets X-Forwarded-Host
            // (believed only then, as everywhere else).
            let forwarded = trust_proxy
                .then(|| req.headers().get("x-forwarded-host"))
                .flatten()
                .and_then(|h| h.to_str().ok());
            !authority.eq_ignore_ascii_case(host)
                && !forwarded.is_some_and(|f| authority.eq_ignore_ascii_case(f.trim()))
        }
    }
}
