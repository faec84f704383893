//! The pages, one file per area. Handlers read the visitor and the request, call the domain in
//! `db::run`, and render with `super::layout`; none holds SQL.

mod account;
mod connect;
mod logins;
mod readers;
mod settings;
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
        )
        .route("/readers", web::get().to(readers::list))
        .route("/readers", web::post().to(readers::create))
        .route("/readers/{id}", web::get().to(readers::show))
        .route(
            "/readers/{id}/logins/{service}",
            web::post().to(readers::set_login),
        )
        .route(
            "/readers/{id}/logins/{service}/remove",
            web::post().to(readers::remove_login),
        )
        .route("/readers/{id}/revoke", web::get().to(readers::revoke_form))
        .route("/readers/{id}/revoke", web::post().to(readers::revoke))
        .route("/connect", web::get().to(connect::show))
        .route(
            "/connect/logins/{service}",
            web::post().to(connect::set_login),
        )
        .route(
            "/connect/logins/{service}/remove",
            web::post().to(connect::remove_login),
        )
        .route(
            "/connect/hardcover/token",
            web::post().to(connect::set_token),
        )
        .route(
            "/connect/hardcover/remove",
            web::post().to(connect::remove_token),
        )
        .route("/connect/hardcover/sync", web::post().to(connect::sync_now))
        .route("/settings", web::get().to(settings::show))
        .route("/settings", web::post().to(settings::save));
}
