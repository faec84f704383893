//! The web app through HTTP: set-up with the token, sign-in, sessions, CSRF, the security
//! headers, and the error pages. (Real-browser flows are in tests/browser.)

use crate::common::web::WebClient;
use crate::common::TestApp;

#[actix_web::test]
async fn a_fresh_server_leads_every_page_to_set_up() {
    let app = TestApp::start();
    let mut w = WebClient::new(&app);
    for path in ["/", "/account", "/signin"] {
        let page = w.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(
            page.location().starts_with("/setup") || page.location().starts_with("/signin"),
            "{path}: {}",
            page.location()
        );
    }
    let setup = w.get("/setup").await;
    assert_eq!(setup.status, 200);
    assert!(
        setup.has("Setup token") && setup.csrf().is_some(),
        "{}",
        setup.html
    );
    // An app that asks for JSON at / still gets KoSync's and OPDS's answers, not a page.
    let kosync = app.call("GET", "/healthcheck", None, None).await;
    assert_eq!(kosync.status, 200);
}

#[actix_web::test]
async fn set_up_needs_the_token_and_makes_nothing_without_it() {
    let app = TestApp::start();
    let mut w = WebClient::new(&app);
    w.get("/setup").await;
    let token = app.state.setup_token();
    for (fields, field) in [
        (
            vec![
                ("setup_token", "0000-0000-0000-0000-0000"),
                ("username", "me"),
                ("password", "long enough"),
                ("confirm", "long enough"),
            ],
            "setup_token",
        ),
        (
            vec![
                ("setup_token", ""),
                ("username", "me"),
                ("password", "long enough"),
                ("confirm", "long enough"),
            ],
            "setup_token",
        ),
        (
            vec![
                ("setup_token", token.as_str()),
                ("username", "a:b"),
                ("password", "long enough"),
                ("confirm", "long enough"),
            ],
            "username",
        ),
        (
            vec![
                ("setup_token", token.as_str()),
                ("username", "me"),
                ("password", "short"),
                ("confirm", "short"),
            ],
            "password",
        ),
        (
            vec![
                ("setup_token", token.as_str()),
                ("username", "me"),
                ("password", "long enough"),
                ("confirm", "long enougH"),
            ],
            "confirm",
        ),
    ] {
        let page = w.post("/setup", &fields).await;
        assert_eq!(page.status, 422, "{fields:?}");
        assert!(
            page.has(&format!("id=\"f-{field}-error\"")),
            "{field}: {}",
            page.html
        );
        // What was typed is kept (but never a password).
        assert!(
            page.has("value=\"me\"") || field == "username",
            "{}",
            page.html
        );
        assert!(!page.has("value=\"long enough\""));
    }
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);
    // Without the CSRF token: 403, nothing made.
    let forged = w
        .post_raw(
            "/setup",
            &[
                ("setup_token", &token),
                ("username", "me"),
                ("password", "long enough"),
                ("confirm", "long enough"),
            ],
        )
        .await;
    assert_eq!(forged.status, 403);
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);

    let done = w.setup("me", "long enough").await;
    assert_eq!(done.location(), "/");
    assert!(w.cookie("libris_session").is_some());
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM api_keys WHERE is_admin AND label = 'me'"),
        1
    );
    assert_eq!(
        app.db.count(
            "SELECT count(*) FROM service_credentials WHERE service = 'web' AND username = 'me'"
        ),
        1
    );
    let home = w.get("/").await;
    assert_eq!(home.status, 200);
    assert!(home.has("me"));
    // Set-up is over: the page and the form send people to sign in.
    let mut other = WebClient::new(&app);
    assert_eq!(other.get("/setup").await.location(), "/signin");
}

#[actix_web::test]
async fn sign_in_and_out() {
    let app = TestApp::start();
    let admin = app.web_admin().await;
    drop(admin);
    let mut w = WebClient::new(&app);
    let wrong = w.signin("admin", "wrong password").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.has("Wrong username or password"), "{}", wrong.html);
    assert!(wrong.has("value=\"admin\""));
    let unknown = w.signin("nobody", "correct horse").await;
    assert_eq!(unknown.status, 401);
    assert!(w.cookie("libris_session").is_none());

    w.get("/signin?next=/account").await;
    let ok = w
        .post(
            "/signin",
            &[
                ("username", "admin"),
                ("password", "correct horse"),
                ("next", "/account"),
            ],
        )
        .await;
    assert_eq!(ok.status, 303, "{}", ok.html);
    assert_eq!(ok.location(), "/account");
    let cookie = ok.header("set-cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    let account = w.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.has("this one"));

    // Signing in to another site's address: never.
    let mut evil = WebClient::new(&app);
    evil.get("/signin").await;
    let away = evil
        .post(
            "/signin",
            &[
                ("username", "admin"),
                ("password", "correct horse"),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(away.location(), "/");

    let out = w.post("/signout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/signin");
    assert!(w.cookie("libris_session").is_none());
    assert_eq!(
        w.get("/account").await.location(),
        "/signin?next=%2Faccount"
    );
    // The set-up session and the one sent to "/" instead of evil.example are left.
    assert_eq!(app.db.count("SELECT count(*) FROM web_sessions"), 2);
}

#[actix_web::test]
async fn a_stolen_cookie_dies_with_its_session_and_its_reader() {
    let app = TestApp::start();
    let mut w = app.web_admin().await;
    let cookie = w.cookie("libris_session").unwrap().to_owned();
    // The table holds a hash, never the cookie.
    assert_eq!(
        app.db.count(&format!(
            "SELECT count(*) FROM web_sessions WHERE token_hash = '{cookie}'"
        )),
        0
    );
    let mut thief = WebClient::new(&app);
    thief.set_cookie("libris_session", &cookie);
    assert_eq!(thief.get("/account").await.status, 200);

    // Sign out everywhere else: the thief is out, this browser stays.
    w.get("/account").await;
    let all = w.post("/account/sessions/revoke-all", &[]).await;
    assert_eq!(all.status, 303);
    assert_eq!(w.get("/account").await.status, 200);
    // (the thief shared this browser's session: both stay; a second session is what goes)
    let mut second = WebClient::new(&app);
    second.signin("admin", "correct horse").await;
    assert_eq!(second.get("/account").await.status, 200);
    w.get("/account").await;
    w.post("/account/sessions/revoke-all", &[]).await;
    assert_eq!(second.get("/account").await.status, 303);

    // A revoked key ends its sessions at once.
    let key_id: String = {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        let rows: Vec<Row> = diesel::sql_query("SELECT id::text AS id FROM api_keys")
            .load(&mut app.db.conn())
            .unwrap();
        rows[0].id.clone()
    };
    {
        use diesel::RunQueryDsl;
        diesel::sql_query(format!("DELETE FROM api_keys WHERE id = '{key_id}'"))
            .execute(&mut app.db.conn())
            .unwrap();
    }
    assert_eq!(thief.get("/account").await.status, 303);
    assert_eq!(app.db.count("SELECT count(*) FROM web_sessions"), 0);
}

#[actix_web::test]
async fn changing_the_password_checks_the_old_one_and_ends_other_sessions() {
    let app = TestApp::start();
    let mut w = app.web_admin().await;
    let mut other = WebClient::new(&app);
    other.signin("admin", "correct horse").await;
    w.get("/account").await;
    let wrong = change_password(&mut w, "nope", "battery staple").await;
    assert_eq!(wrong.status, 422);
    assert!(wrong.has("id=\"f-current-error\""));
    let short = change_password(&mut w, "correct horse", "x").await;
    assert!(short.has("id=\"f-password-error\""), "{}", short.html);
    let ok = change_password(&mut w, "correct horse", "battery staple").await;
    assert_eq!(ok.location(), "/account?done=password");
    assert_eq!(w.get("/account").await.status, 200, "this session stays");
    assert_eq!(
        other.get("/account").await.status,
        303,
        "the other is signed out"
    );
    let mut fresh = WebClient::new(&app);
    assert_eq!(fresh.signin("admin", "correct horse").await.status, 401);
    assert_eq!(fresh.signin("admin", "battery staple").await.status, 303);
}

#[actix_web::test]
async fn forms_need_their_session_s_token() {
    let app = TestApp::start();
    let mut w = app.web_admin().await;
    let mut other = app_second_session(&app).await;
    w.get("/account").await;
    // Another session's token, no token, a wrong one: 403 and nothing changes.
    let theirs = other.csrf.clone().unwrap();
    for token in [theirs.as_str(), "", "00000000000000000000000000000000"] {
        let page = w
            .post_raw(
                "/account/password",
                &[
                    ("_csrf", token),
                    ("current", "correct horse"),
                    ("password", "battery staple"),
                    ("confirm", "battery staple"),
                ],
            )
            .await;
        assert_eq!(page.status, 403, "{token}");
    }
    // From another site: refused before anything is read.
    let token = w.csrf.clone().unwrap();
    let cross = w
        .send_with(
            "POST",
            "/signout",
            Some((
                "application/x-www-form-urlencoded".into(),
                format!("_csrf={token}").into_bytes(),
            )),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(w.get("/account").await.status, 200, "still signed in");
    assert_eq!(other.get("/account").await.status, 200);
    let mut fresh = WebClient::new(&app);
    assert_eq!(
        fresh.signin("admin", "correct horse").await.status,
        303,
        "password unchanged"
    );
}

/// Posts the account page's password form: the current password, the new one twice.
async fn change_password(
    w: &mut WebClient<'_>,
    current: &str,
    new: &str,
) -> libris_test_support::web::Page {
    w.post(
        "/account/password",
        &[("current", current), ("password", new), ("confirm", new)],
    )
    .await
}

async fn app_second_session(app: &TestApp) -> WebClient<'_> {
    let mut w = WebClient::new(app);
    w.signin("admin", "correct horse").await;
    w.get("/account").await;
    w
}

#[actix_web::test]
async fn pages_carry_the_security_headers_and_assets_are_immutable() {
    let app = TestApp::start();
    let mut w = app.web_admin().await;
    let home = w.get("/").await;
    let csp = home.header("content-security-policy");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(home.header("x-content-type-options"), "nosniff");
    assert_eq!(home.header("referrer-policy"), "same-origin");
    assert_eq!(home.header("cache-control"), "no-store");
    assert!(!home.has("<script>"), "no inline script");
    let css = home
        .html
        .split("href=\"/static/app.")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let asset = w.get(&format!("/static/app.{css}")).await;
    assert_eq!(asset.status, 200);
    assert!(asset.header("cache-control").contains("immutable"));
    assert!(asset.header("content-type").starts_with("text/css"));
    assert_eq!(w.get("/static/app.0000000000.css").await.status, 404);
}

#[actix_web::test]
async fn browsers_get_a_friendly_404_and_apps_keep_their_json() {
    let app = TestApp::start();
    let mut w = app.web_admin().await;
    let page = w.get("/no/such/page").await;
    assert_eq!(page.status, 404);
    assert!(page.header("content-type").starts_with("text/html"));
    assert!(page.has("Not found"));
    let under = w.get("/library/nothing/here").await;
    assert_eq!(under.status, 404);
    let api = app.call("GET", "/no/such/page", None, None).await;
    assert_eq!(api.status, 404);
    assert!(
        api.content_type.starts_with("application/json"),
        "{}",
        api.content_type
    );
}

#[actix_web::test]
async fn failed_sign_ins_are_throttled_with_a_page() {
    let app = TestApp::builder().auth_failures_per_minute(3).start();
    drop(app.web_admin().await);
    let mut w = WebClient::new(&app);
    let mut statuses = vec![];
    for i in 0..6 {
        statuses.push(w.signin("admin", &format!("guess {i}")).await.status);
    }
    assert_eq!(statuses[..3], [401, 401, 401], "{statuses:?}");
    let refused = w.signin("admin", "guess 9").await;
    assert_eq!(refused.status, 429, "{statuses:?}");
    assert!(refused.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert!(refused.has("Too many attempts"));
}

/// Admins may also set web logins through the REST API, with the web's password rule.
#[actix_web::test]
async fn a_web_login_set_through_the_api_signs_in() {
    let app = TestApp::start();
    let admin = app.admin_key().await;
    let (id, _) = app.reader_key(&admin, "Ann").await;
    let path = format!("/api/keys/{id}/credentials/web");
    let short = app
        .api(
            "PUT",
            &path,
            Some(&admin),
            Some(serde_json::json!({"username": "ann", "password": "short"})),
        )
        .await;
    assert_eq!(short.status, 400, "{:?}", short.body);
    assert_eq!(short.body["field"], "password");
    let ok = app
        .api(
            "PUT",
            &path,
            Some(&admin),
            Some(serde_json::json!({"username": "ann", "password": "long enough"})),
        )
        .await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let mut w = WebClient::new(&app);
    assert_eq!(w.signin("ann", "long enough").await.status, 303);
    let account = w.get("/account").await;
    assert!(
        account.has("Ann") && !account.has("an admin"),
        "{}",
        account.html
    );
}

/// Guessing the current password from a signed-in session is throttled like sign-in.
#[actix_web::test]
async fn guessing_the_current_password_is_throttled() {
    let app = TestApp::builder().auth_failures_per_minute(3).start();
    let mut w = app.web_admin().await;
    let mut statuses = vec![];
    for i in 0..5 {
        w.get("/account").await;
        let page = change_password(&mut w, &format!("guess {i}"), "battery staple").await;
        statuses.push(page.status);
    }
    assert_eq!(statuses[..3], [422, 422, 422], "{statuses:?}");
    assert_eq!(statuses[4], 429, "{statuses:?}");
    // Past the limit even the right password waits: the guesses held this address.
    w.get("/account").await;
    let right = change_password(&mut w, "correct horse", "battery staple").await;
    assert_eq!(right.status, 429);
    assert!(right.header("retry-after").parse::<u64>().unwrap() >= 1);
    assert_eq!(
        app.db.count("SELECT count(*) FROM service_credentials WHERE service = 'web' AND updated_at = created_at"),
        1,
        "the password is unchanged"
    );
}

#[actix_web::test]
async fn odd_requests_get_pages_not_errors() {
    let app = TestApp::start();
    let mut w = WebClient::new(&app);
    w.get("/setup").await;
    // The admin's username is their name too: no line breaks in it.
    let token = app.state.setup_token();
    let page = w
        .post(
            "/setup",
            &[
                ("setup_token", &token),
                ("username", "me\nyou"),
                ("password", "long enough"),
                ("confirm", "long enough"),
            ],
        )
        .await;
    assert_eq!(page.status, 422);
    assert!(page.has("id=\"f-username-error\""), "{}", page.html);
    assert_eq!(app.db.count("SELECT count(*) FROM api_keys"), 0);
    w.setup("me", "long enough").await;
    // A repeated query parameter: the HTML 400 page.
    let twice = w.get("/signin?next=/a&next=/b").await;
    assert!(
        twice.status == 400 || twice.status == 303,
        "{}",
        twice.status
    );
    let library = w.get("/library?page=x&page=y").await;
    assert!(library.status < 500, "{}", library.status);
    assert!(library.header("content-type").starts_with("text/html"));
    // Signing out of a session that already ended forgets the cookie, without a token.
    let cookie = w.cookie("libris_session").unwrap().to_owned();
    {
        use diesel::RunQueryDsl;
        diesel::sql_query("DELETE FROM web_sessions")
            .execute(&mut app.db.conn())
            .unwrap();
    }
    let mut gone = WebClient::new(&app);
    gone.set_cookie("libris_session", &cookie);
    let out = gone.post_raw("/signout", &[]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/signin");
    assert!(gone.cookie("libris_session").is_none());
}
