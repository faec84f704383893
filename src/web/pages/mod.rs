//! The pages, one file per area. Handlers read the visitor and the request, call the domain in
//! `db::run`, and render with `super::layout`; none holds SQL.

mod account;
mod signin;

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
        );
}
