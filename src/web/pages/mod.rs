//! The pages, one file per area. Handlers read the visitor and the request, call the domain in
//! `db::run`, and render with `super::layout`; none holds SQL.

mod account;
mod inbox;
mod review;
mod review_form;
mod signin;
mod told;
mod upload;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(signin::setup_form))
        .route("/setup", web::post().to(signin::setup))
        .route("/signin", web::get().to(signin::signin_form))
        .route("/signin", web::post().to(signin::signin))
        .route("/signout", web::post().to(signin::signout))
        .route("/", web::get().to(account::home))
        .route("/account", web::get().to(account::show))
        .route(
            "/account/password",
            web::post().to(account::change_password),
        )
        .route("/account/sessions/revoke", web::post().to(account::revoke))
        .route(
            "/account/sessions/revoke-all",
            web::post().to(account::revoke_all),
        )
        .route("/inbox", web::get().to(inbox::show))
        .route("/inbox/upload", web::post().to(upload::upload))
        .route("/review/{id}", web::get().to(review::show))
        .route("/review/{id}/approve", web::post().to(review::approve))
        .route("/review/{id}/lookup", web::post().to(review::lookup))
        .route("/review/{id}/delete", web::post().to(review::delete))
        .route("/review/{id}/merge", web::post().to(review::merge))
        .route(
            "/review/{id}/covers/{candidate}",
            web::get().to(review::candidate_cover),
        );
}
