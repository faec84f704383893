//! The pages, one file per area. Handlers read the visitor and the request, call the domain in
//! `db::run`, and render with `super::layout`; none holds SQL.

mod account;
mod book;
mod book_edit;
mod cards;
mod collections;
mod connect;
mod device_passwords;
mod devices;
mod files;
mod goals;
mod highlights;
mod home;
mod inbox;
mod library;
mod logins;
mod readers;
mod review;
mod review_form;
mod settings;
mod shared;
mod shelves;
mod signin;
mod stats;
mod told;
mod upload;
mod year;

use actix_web::web;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/setup", web::get().to(signin::setup_form))
        .route("/setup", web::post().to(signin::setup))
        .route("/signin", web::get().to(signin::signin_form))
        .route("/signin", web::post().to(signin::signin))
        .route("/signout", web::post().to(signin::signout))
        .route("/", web::get().to(home::show))
        .route("/reading", web::get().to(shelves::show))
        .route("/collections", web::get().to(collections::list))
        .route("/collections", web::post().to(collections::create))
        .route("/collections/add", web::post().to(collections::add))
        .route("/collections/{id}", web::get().to(collections::show))
        .route("/collections/{id}/edit", web::post().to(collections::edit))
        .route(
            "/collections/{id}/delete",
            web::post().to(collections::delete),
        )
        .route(
            "/collections/{id}/share",
            web::post().to(collections::share),
        )
        .route(
            "/collections/{id}/unshare",
            web::post().to(collections::unshare),
        )
        .route(
            "/collections/{id}/books/{book}/{what}",
            web::post().to(collections::book_action),
        )
        .route("/s/{token}", web::get().to(shared::show))
        .route(
            "/s/{token}/books/{id}/thumbnail",
            web::get().to(shared::thumbnail),
        )
        .route(
            "/s/{token}/books/{id}/files/{file}",
            web::get().to(shared::file),
        )
        .route("/stats", web::get().to(stats::show))
        .route("/year/{year}", web::get().to(year::show))
        .route("/stats/goals", web::post().to(goals::set))
        .route("/stats/goals/remove", web::post().to(goals::remove))
        .route("/library", web::get().to(library::show))
        .route("/authors/{name}", web::get().to(library::author))
        .route("/series/{name}", web::get().to(library::series))
        .route("/books/{id}", web::get().to(book::show))
        .route("/books/{id}/cover", web::get().to(files::cover))
        .route(
            "/books/{id}/cover",
            web::post().to(book_edit::replace_cover),
        )
        .route("/books/{id}/thumbnail", web::get().to(files::thumbnail))
        .route("/books/{id}/files/{file_id}", web::get().to(files::file))
        .route("/books/{id}/status", web::post().to(book::set_status))
        .route(
            "/books/{id}/status/clear",
            web::post().to(book::clear_status),
        )
        .route("/books/{id}/edit", web::get().to(book_edit::edit_form))
        .route("/books/{id}/edit", web::post().to(book_edit::edit))
        .route("/books/{id}/delete", web::get().to(book_edit::delete_form))
        .route("/books/{id}/delete", web::post().to(book_edit::delete))
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
        .route("/devices", web::get().to(devices::show))
        .route("/highlights", web::get().to(highlights::show))
        .route("/highlights/link", web::get().to(highlights::link_form))
        .route("/highlights/link", web::post().to(highlights::link))
        .route(
            "/books/{id}/highlights.md",
            web::get().to(highlights::markdown),
        )
        .route("/devices/link", web::get().to(devices::link_form))
        .route("/devices/link", web::post().to(devices::link))
        .route("/devices/forget", web::post().to(devices::forget))
        .route("/readers/{id}/devices", web::get().to(devices::show))
        .route(
            "/readers/{id}/devices/link",
            web::get().to(devices::link_form),
        )
        .route("/readers/{id}/devices/link", web::post().to(devices::link))
        .route(
            "/readers/{id}/devices/forget",
            web::post().to(devices::forget),
        )
        .route("/connect", web::get().to(connect::show))
        .route(
            "/connect/device-passwords",
            web::post().to(device_passwords::create),
        )
        .route(
            "/connect/device-passwords/{id}/revoke",
            web::post().to(device_passwords::revoke),
        )
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
