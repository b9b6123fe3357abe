//! The web pages through HTTP (no browser): signing in, sessions, the inbox, the inquiry
//! page and its action forms, and what every page sends (CSP, frames, language). The
//! helpers here (`WebSession`, `TestApp::web_session`) serve the other `web_*` tests.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::json;

use cbm2::clock;
use cbm2::domain::EmailAddress;
use cbm2::store::Store;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};

/// A browser signed in as one person: its session cookie and the token its forms carry.
pub struct WebSession {
    pub cookie: String,
    pub csrf: String,
}

/// A page as a browser gets it.
pub struct WebPage {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

impl WebPage {
    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Fails unless the page holds every one of `texts` (after HTML escaping).
    pub fn assert_holds(&self, texts: &[&str]) {
        for text in texts {
            let escaped = text
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&#34;")
                .replace('\'', "&#39;");
            assert!(
                self.html.contains(text) || self.html.contains(&escaped),
                "the page ({}) lacks {text:?}:\n{}",
                self.status,
                self.html
            );
        }
    }

    /// The value of the first `<input … name="NAME" value="…">` on the page.
    pub fn input_value(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')?;
        Some(self.html[start..start + end].to_owned())
    }
}

impl TestApp {
    /// A client that does not follow redirects, so tests see each answer.
    fn browser(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a client")
    }

    /// Signs `email` in the way a person does, minus the e-mail: a sign-in link from the
    /// store, then "Continue" on its page. The session of its first account.
    pub async fn web_session(&self, email: &str) -> WebSession {
        let secret = self.sign_in_link(email).await;
        self.redeem(&secret).await
    }

    /// The secret of a sign-in link for `email`'s first account, made in the store as
    /// `cbm2 login-link` makes one.
    pub async fn sign_in_link(&self, email: &str) -> String {
        let store = Store::connect(&self.db.url).await.expect("connect");
        let email = EmailAddress::try_from(email.to_owned()).expect("an e-mail address");
        let links = store
            .create_sign_in_links(&email, None, clock::now())
            .await
            .expect("links");
        store.close().await;
        links
            .into_iter()
            .next()
            .expect("an account has that address")
            .secret
    }

    /// Presses "Continue" on the page of the sign-in link `secret`.
    pub async fn redeem(&self, secret: &str) -> WebSession {
        let continue_page = self.page(&format!("/sign-in/{secret}"), None).await;
        assert_eq!(
            continue_page.status,
            StatusCode::OK,
            "{}",
            continue_page.html
        );
        let visitor = cookie_of(&continue_page.headers, "cbm2_visitor").expect("a visitor cookie");
        let csrf = continue_page.input_value("csrf").expect("a csrf field");
        let answer = self
            .browser()
            .post(format!("{}/sign-in/{secret}", self.address))
            .header("cookie", format!("cbm2_visitor={visitor}"))
            .form(&[("csrf", csrf.as_str())])
            .send()
            .await
            .expect("the request");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER);
        let session = cookie_of(answer.headers(), "cbm2_session").expect("a session cookie");
        let store = Store::connect(&self.db.url).await.expect("connect");
        let csrf = store
            .authenticate_session(&session, clock::now())
            .await
            .expect("a session read")
            .expect("the new session works")
            .csrf_token;
        store.close().await;
        WebSession {
            cookie: format!("cbm2_session={session}"),
            csrf,
        }
    }

    /// GET a page, with a session's cookie or none.
    pub async fn page(&self, path: &str, cookie: Option<&str>) -> WebPage {
        let mut request = self
            .browser()
            .get(format!("{}{path}", self.address))
            .header("accept", "text/html");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        read(request.send().await.expect("the request")).await
    }

    /// POST a form as `session`, its token added unless `fields` names `csrf` itself.
    pub async fn submit(
        &self,
        session: &WebSession,
        path: &str,
        fields: &[(&str, &str)],
    ) -> WebPage {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        if !fields.iter().any(|(name, _)| *name == "csrf") {
            form.push(("csrf", &session.csrf));
        }
        let answer = self
            .browser()
            .post(format!("{}{path}", self.address))
            .header("cookie", &session.cookie)
            .header("accept", "text/html")
            .form(&form)
            .send()
            .await
            .expect("the request");
        read(answer).await
    }
}

async fn read(answer: reqwest::Response) -> WebPage {
    let status = answer.status();
    let headers = answer.headers().clone();
    let html = answer.text().await.expect("a body");
    WebPage {
        status,
        headers,
        html,
    }
}

/// The value a `Set-Cookie` header gives `name`.
pub fn cookie_of(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|value| {
        let value = value.to_str().ok()?;
        let (pair, _) = value.split_once(';').unwrap_or((value, ""));
        let (key, cookie) = pair.split_once('=')?;
        (key == name).then(|| cookie.to_owned())
    })
}

/// The whole `Set-Cookie` line for `name`.
fn set_cookie_line(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_default()
        .to_owned()
}

/// Two policy POCs (Chile's Ana, Brazil's Bruno) with tokens, and their browser sessions.
struct TwoStates {
    chl_token: String,
    bra_token: String,
    chl: WebSession,
    bra: WebSession,
}

async fn two_states(app: &TestApp) -> TwoStates {
    let (_, chl_token) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra_token) = app.poc_with_token("BRA", "Bruno Lima").await;
    let chl = app.web_session("ana.rojas@mfa.example.org").await;
    let bra = app.web_session("bruno.lima@mfa.example.org").await;
    TwoStates {
        chl_token,
        bra_token,
        chl,
        bra,
    }
}

async fn sign_in_answers_the_same_whether_or_not_the_address_is_known(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let form = app.page("/sign-in", None).await;
    assert_eq!(form.status, StatusCode::OK);
    let visitor = cookie_of(&form.headers, "cbm2_visitor").expect("a visitor cookie");
    let csrf = form.input_value("csrf").unwrap();
    let send = |email: &'static str| {
        let (visitor, csrf) = (visitor.clone(), csrf.clone());
        let app = &app;
        async move {
            let answer = app
                .browser()
                .post(format!("{}/sign-in", app.address))
                .header("cookie", format!("cbm2_visitor={visitor}"))
                .form(&[("csrf", csrf.as_str()), ("email", email), ("next", "")])
                .send()
                .await
                .unwrap();
            read(answer).await
        }
    };
    let known = send("ana.rojas@mfa.example.org").await;
    let unknown = send("nobody@mfa.example.org").await;
    assert_eq!(known.status, StatusCode::OK);
    assert_eq!(unknown.status, StatusCode::OK);
    assert_eq!(
        known.html.replace("ana.rojas@mfa.example.org", "X"),
        unknown.html.replace("nobody@mfa.example.org", "X"),
        "the two answers differ only by the address typed"
    );
    // The known address got a link (one sign-in link row), the unknown none.
    assert_eq!(app.db.count("SELECT COUNT(*) FROM sign_in_links").await, 1);
    let bad = send("not an address").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_holds(&["aria-invalid=\"true\"", "email-error"]);
}

async fn a_sign_in_link_shows_a_button_and_works_once(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let store = Store::connect(&app.db.url).await.unwrap();
    let email = EmailAddress::try_from("ana.rojas@mfa.example.org".to_owned()).unwrap();
    let links = store
        .create_sign_in_links(&email, Some("/inbox?side=incoming"), clock::now())
        .await
        .unwrap();
    store.close().await;
    let secret = &links[0].secret;
    // A mail scanner fetching the link twice uses nothing up.
    for _ in 0..2 {
        let page = app.page(&format!("/sign-in/{secret}"), None).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_holds(&["id=\"continue\""]);
        assert_eq!(page.headers["referrer-policy"], "no-referrer");
    }
    let continue_page = app.page(&format!("/sign-in/{secret}"), None).await;
    let visitor = cookie_of(&continue_page.headers, "cbm2_visitor").unwrap();
    let csrf = continue_page.input_value("csrf").unwrap();
    let press = || {
        app.browser()
            .post(format!("{}/sign-in/{secret}", app.address))
            .header("cookie", format!("cbm2_visitor={visitor}"))
            .form(&[("csrf", csrf.as_str())])
            .send()
    };
    let answer = read(press().await.unwrap()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(
        answer.location(),
        "/inbox?side=incoming",
        "back where the e-mail pointed"
    );
    let line = set_cookie_line(&answer.headers, "cbm2_session");
    for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(line.contains(attribute), "{attribute} missing: {line}");
    }
    let again = read(press().await.unwrap()).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND, "a link works once");
    assert!(cookie_of(&again.headers, "cbm2_session").is_none());
    let session = format!(
        "cbm2_session={}",
        cookie_of(&answer.headers, "cbm2_session").unwrap()
    );
    let inbox = app.page("/inbox", Some(&session)).await;
    assert_eq!(inbox.status, StatusCode::OK);
    inbox.assert_holds(&["Ana Rojas", "Chile"]);
}

async fn a_page_without_a_session_sends_to_sign_in_and_back(db: TestDb) {
    let app = spawn_app(db).await;
    let page = app
        .page("/inquiries/0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72", None)
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location(),
        "/sign-in?next=%2Finquiries%2F0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72"
    );
    let sign_in = app.page(page.location(), None).await;
    assert_eq!(
        sign_in.input_value("next").as_deref(),
        Some("/inquiries/0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72")
    );
    // Another site is never a place to come back to.
    let sign_in = app.page("/sign-in?next=%2F%2Fevil.example", None).await;
    assert_eq!(sign_in.input_value("next").as_deref(), Some(""));
    let landing = app.page("/", None).await;
    assert_eq!(landing.location(), "/sign-in");
}

async fn every_page_forbids_framing_and_inline_script(db: TestDb) {
    let app = spawn_app(db).await;
    for path in ["/sign-in", "/no-such-page"] {
        let page = app.page(path, None).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.headers["x-frame-options"], "DENY");
        assert!(!page.html.contains("<script>"), "no inline script: {path}");
        assert!(!page.html.contains("style=\""), "no inline style: {path}");
    }
    let missing = app.page("/no-such-page", None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    missing.assert_holds(&["<html lang=\"en\">", "Page not found"]);
    // A client that does not ask for HTML gets the API's problem.
    let answer = app
        .client
        .get(format!("{}/no-such-page", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert_eq!(answer.headers()["content-type"], "application/problem+json");
}

async fn pages_speak_the_readers_language(db: TestDb) {
    let app = spawn_app(db).await;
    let page = app
        .browser()
        .get(format!("{}/sign-in", app.address))
        .header("accept-language", "pt-BR,pt;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let page = read(page).await;
    assert!(page.html.contains("<html lang=\"pt\">"), "{}", page.html);
    let states = two_states(&app).await;
    // A choice kept on the account wins over the browser's header.
    let chosen = app
        .submit(
            &states.bra,
            "/language",
            &[("language", "fr"), ("back", "/inbox")],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    assert_eq!(chosen.location(), "/inbox");
    let inbox = app.page("/inbox", Some(&states.bra.cookie)).await;
    assert!(inbox.html.contains("<html lang=\"fr\">"), "{}", inbox.html);
    inbox.assert_holds(&["Brésil"]);
}

/// Who takes which action with what in the form.
type Step<'a> = (&'a WebSession, &'a str, Vec<(&'a str, &'a str)>);

/// Takes `action` on the inquiry page as `session`, with the page's own hidden fields.
pub async fn act(
    app: &TestApp,
    session: &WebSession,
    id: &str,
    action: &str,
    fields: &[(&str, &str)],
) -> WebPage {
    let page = app
        .page(&format!("/inquiries/{id}"), Some(&session.cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let version = page.input_value("version").expect("a form on the page");
    let key = format!(
        "{}-{action}",
        page.input_value("form_key").unwrap_or_default()
    );
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("version", &version));
    all.push(("form_key", &key));
    app.submit(session, &format!("/inquiries/{id}/actions/{action}"), &all)
        .await
}

async fn two_states_go_through_option_2_on_the_pages(db: TestDb) {
    let app = spawn_app(db).await;
    let states = two_states(&app).await;
    let created = app.submit(&states.chl, "/inquiries/new", &[]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let id = created
        .location()
        .trim_start_matches("/inquiries/")
        .to_owned();
    let steps: [Step; 8] = [
        (&states.chl, "lookup_poc", vec![("member_state", "BRA")]),
        (&states.chl, "invoke", vec![("languages", "pt")]),
        (
            &states.chl,
            "describe",
            vec![
                ("nature", "Scanning of the ministry's mail servers"),
                ("category", "scanning"),
                ("sectors", "Government\nFinance"),
                ("indicators", "ipv4 203.0.113.7"),
            ],
        ),
        (
            &states.chl,
            "request_info",
            vec![
                ("questions", "Do you see this activity from your networks?"),
                ("contact.name", "Ana Rojas"),
                ("contact.email", "ana.rojas@mfa.example.org"),
                ("time_sensitivity", "urgent"),
            ],
        ),
        (
            &states.bra,
            "acknowledge",
            vec![
                ("estimated_timeframe.days", "2"),
                ("estimated_timeframe.hours", "4"),
                ("message", "Recebido; estamos verificando."),
                ("contact_requested", "on"),
            ],
        ),
        (
            &states.chl,
            "message",
            vec![
                ("text", "Call me on my mobile."),
                ("contact.name", "Ana Rojas"),
                ("contact.email", "ana.rojas@mfa.example.org"),
                ("contact.phone", "+56 2 2827 4200"),
            ],
        ),
        (
            &states.bra,
            "respond",
            vec![(
                "information",
                "The host was a compromised server; it is cleaned.",
            )],
        ),
        (&states.chl, "close", vec![("resolution", "Thank you.")]),
    ];
    for (session, action, fields) in steps {
        let done = act(&app, session, &id, action, &fields).await;
        assert_eq!(
            done.status,
            StatusCode::SEE_OTHER,
            "{action}: {}",
            done.html
        );
        assert_eq!(done.location(), format!("/inquiries/{id}?done={action}"));
    }
    let view = app
        .get(&format!("/v1/inquiries/{id}"), &states.chl_token)
        .await;
    let view = view.assert_status(200);
    assert_eq!(view["status"], "closed");
    assert_eq!(view["estimated_timeframe"], "P2DT4H");
    assert_eq!(view["sectors"], json!(["Government", "Finance"]));
    assert!(view["contact_provided_at"].is_string(), "{view}");
    assert!(
        view["invocation_text"]
            .as_str()
            .unwrap()
            .contains("parágrafo 78"),
        "{view}"
    );
    // The responding state reads it in its own page, in its language, with the timeline.
    let page = app
        .page(&format!("/inquiries/{id}"), Some(&states.bra.cookie))
        .await;
    page.assert_holds(&[
        "Call me on my mobile.",
        "Chile",
        "The host was a compromised server; it is cleaned.",
    ]);
    app.assert_audit_intact().await;
    let _ = states.bra_token;
}

async fn a_refused_form_shows_why_beside_the_field_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let states = two_states(&app).await;
    let id = app.described_inquiry(&states.chl_token, "BRA", false).await;
    let before = app
        .get(&format!("/v1/inquiries/{id}"), &states.chl_token)
        .await
        .assert_status(200)["version"]
        .clone();
    let refused = act(
        &app,
        &states.chl,
        &id,
        "request_info",
        &[
            ("questions", "Anything?"),
            ("contact.name", "Ana Rojas"),
            ("contact.email", "not-an-address"),
            ("time_sensitivity", "urgent"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    refused.assert_holds(&[
        "id=\"request_info-contact-error\"",
        "contact.email",
        "Anything?",
    ]);
    // An action the table refuses is refused with the API's reason.
    let refused = app
        .submit(
            &states.chl,
            &format!("/inquiries/{id}/actions/close"),
            &[("resolution", "Done")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.html);
    refused.assert_holds(&["role=\"alert\"", "incident_described"]);
    let forged = app
        .submit(
            &states.chl,
            &format!("/inquiries/{id}/actions/withdraw"),
            &[("reason", "x"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::FORBIDDEN,
        "a form without the session's token"
    );
    let after = app
        .get(&format!("/v1/inquiries/{id}"), &states.chl_token)
        .await
        .assert_status(200)["version"]
        .clone();
    assert_eq!(before, after, "nothing was written");
}

async fn a_third_state_gets_the_same_404_page_as_a_missing_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let states = two_states(&app).await;
    app.poc_with_token("ARG", "Carla Diaz").await;
    let argentina = app.web_session("carla.diaz@mfa.example.org").await;
    let sent = app
        .send_inquiry(&states.chl_token, "BRA", "routine", None, false)
        .await;
    let id = sent["id"].as_str().unwrap();
    let theirs = app
        .page(&format!("/inquiries/{id}"), Some(&argentina.cookie))
        .await;
    let missing = app
        .page(
            "/inquiries/0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72",
            Some(&argentina.cookie),
        )
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    assert_eq!(
        theirs.html.replace(id, "ID"),
        missing
            .html
            .replace("0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72", "ID"),
        "one 404 page for both (the language form brings the reader back to the address typed)"
    );
    let acted = app
        .submit(
            &argentina,
            &format!("/inquiries/{id}/actions/acknowledge"),
            &[("message", "x")],
        )
        .await;
    assert_eq!(acted.status, StatusCode::NOT_FOUND);
    // Brazil's inbox lists it; the inquiry page offers Brazil's actions only.
    let inbox = app
        .page("/inbox?side=incoming", Some(&states.bra.cookie))
        .await;
    inbox.assert_holds(&[&format!("/inquiries/{id}"), "Awaiting response"]);
    let page = app
        .page(&format!("/inquiries/{id}"), Some(&states.bra.cookie))
        .await;
    page.assert_holds(&["action-acknowledge", "action-respond"]);
    assert!(
        !page.html.contains("action-close"),
        "closing is the requester's"
    );
}

async fn signing_out_ends_the_session(db: TestDb) {
    let app = spawn_app(db).await;
    let states = two_states(&app).await;
    let out = app.submit(&states.chl, "/sign-out", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let dropped = set_cookie_line(&out.headers, "cbm2_session");
    assert!(
        dropped.contains("Max-Age=0"),
        "the browser is told to drop it: {dropped}"
    );
    let after = app.page("/inbox", Some(&states.chl.cookie)).await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "the old cookie no longer signs in"
    );
    assert!(after.location().starts_with("/sign-in"));
}

on_both_databases!(
    sign_in_answers_the_same_whether_or_not_the_address_is_known,
    a_sign_in_link_shows_a_button_and_works_once,
    a_page_without_a_session_sends_to_sign_in_and_back,
    every_page_forbids_framing_and_inline_script,
    pages_speak_the_readers_language,
    two_states_go_through_option_2_on_the_pages,
    a_refused_form_shows_why_beside_the_field_and_writes_nothing,
    a_third_state_gets_the_same_404_page_as_a_missing_inquiry,
    signing_out_ends_the_session,
);
