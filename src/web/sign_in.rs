//! Signing in by e-mail: the address the directory holds for a person gets a one-time link;
//! opening it shows one button (a mail scanner that fetches every link does not use it up);
//! pressing it starts a browser session. Signing out ends it; choosing a language.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::forms::field;
use super::i18n;
use super::page::Page;
use super::render::{At, Failure, html};
use super::session::{self, LANGUAGE_COOKIE, SESSION_COOKIE, SignedIn, Visitor, local_path};
use crate::clock;
use crate::domain::EmailAddress;
use crate::http::AppState;

/// Where a signed-in reader starts: the Secretariat's dashboard, a POC's inbox.
pub fn home_of(visitor: &Visitor) -> &'static str {
    match visitor.caller() {
        Some(caller) if caller.is_secretariat() => "/dashboard",
        Some(_) => "/inbox",
        None => "/sign-in",
    }
}

/// `/`: to the reader's start page, or to sign in.
pub async fn landing(visitor: Visitor) -> Redirect {
    Redirect::to(home_of(&visitor))
}

#[derive(Template)]
#[template(path = "sign_in.html", config = "src/web/askama.toml")]
struct SignInPage<'a> {
    page: &'a Page,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn form(visitor: Visitor, Query(query): Query<NextQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    if visitor.session.is_some() {
        return Redirect::to(next.as_deref().unwrap_or(home_of(&visitor))).into_response();
    }
    html(&SignInPage {
        page: &visitor.page,
        next: next.unwrap_or_default(),
        email: String::new(),
        error: None,
    })
}

#[derive(Template)]
#[template(path = "sign_in_sent.html", config = "src/web/askama.toml")]
struct SentPage<'a> {
    page: &'a Page,
    email: String,
}

/// Sends the sign-in link(s) of an address, answering the same whether or not the
/// directory knows it (and at once: the e-mail goes out in the background).
pub async fn send_link(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    visitor.check_form(&fields).at(&visitor.page)?;
    let value = |name: &str| field(&fields, name).unwrap_or_default().trim().to_owned();
    let (typed, next) = (value("email"), local_path(Some(&value("next"))));
    let email = match EmailAddress::try_from(typed.clone()) {
        Ok(email) => email,
        Err(_) => {
            let page = SignInPage {
                page: &visitor.page,
                next: next.unwrap_or_default(),
                email: typed,
                error: Some(visitor.page.t("sign-in-email-invalid")),
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, html(&page)).into_response());
        }
    };
    let shown = email.as_str().to_owned();
    let links = state
        .store
        .create_sign_in_links(&email, next.as_deref(), clock::now())
        .await
        .at(&visitor.page)?;
    if links.is_empty() {
        tracing::info!(
            "a sign-in link was asked for an address with no account, or too often: nothing sent"
        );
    } else {
        match state.web.mailer.clone() {
            Some(mailer) => {
                let public_url = state.web.public_url.clone();
                tokio::spawn(async move {
                    match crate::delivery::send_sign_in_mail(&mailer, &email, &links, &public_url)
                        .await
                    {
                        Ok(()) => tracing::info!(links = links.len(), "sign-in e-mail sent"),
                        Err(error) => {
                            tracing::error!(%error, "the sign-in e-mail could not be sent")
                        }
                    }
                });
            }
            None => tracing::warn!(
                "a sign-in link was asked for, but no SMTP server is configured (CBM2_SMTP_URL): \
                 `cbm2 login-link --email …` prints one for an operator to hand over"
            ),
        }
    }
    Ok(html(&SentPage {
        page: &visitor.page,
        email: shown,
    }))
}

#[derive(Template)]
#[template(path = "sign_in_continue.html", config = "src/web/askama.toml")]
struct ContinuePage<'a> {
    page: &'a Page,
    secret: String,
    usable: bool,
}

/// The page a sign-in link opens: one button, nothing used up by a GET.
pub async fn confirm(
    visitor: Visitor,
    State(state): State<AppState>,
    Path(secret): Path<String>,
) -> Result<Response, Failure> {
    let usable = plausible_secret(&secret)
        && state
            .store
            .peek_sign_in_link(&secret, clock::now())
            .await
            .at(&visitor.page)?
            .is_some();
    let page = ContinuePage {
        page: &visitor.page,
        secret,
        usable,
    };
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    let mut response = (status, html(&page)).into_response();
    // The secret is in this page's URL: never send it on as a referrer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// Pressing "Continue": the link is used up and a session starts.
pub async fn redeem(
    visitor: Visitor,
    State(state): State<AppState>,
    Path(secret): Path<String>,
    headers: HeaderMap,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    visitor.check_form(&fields).at(&visitor.page)?;
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    let issued = if plausible_secret(&secret) {
        state
            .store
            .redeem_sign_in_link(&secret, user_agent, clock::now())
            .await
            .at(&visitor.page)?
    } else {
        None
    };
    let Some(issued) = issued else {
        let page = ContinuePage {
            page: &visitor.page,
            secret: String::new(),
            usable: false,
        };
        return Ok((StatusCode::NOT_FOUND, html(&page)).into_response());
    };
    tracing::info!(session_id = %issued.session_id, "a browser session started");
    let cookie = session::cookie(SESSION_COOKIE, issued.secret, state.web.secure_cookies);
    let next = local_path(issued.return_to.as_deref()).unwrap_or_else(|| "/".to_owned());
    Ok((CookieJar::new().add(cookie), Redirect::to(&next)).into_response())
}

/// A sign-in secret is 43 URL-safe characters; anything else is not looked up.
fn plausible_secret(secret: &str) -> bool {
    secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Ends this browser's session.
pub async fn sign_out(
    signed_in: SignedIn,
    State(state): State<AppState>,
    jar: CookieJar,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    signed_in.check_form(&fields).at(&signed_in.page)?;
    state
        .store
        .end_session(
            &signed_in.session.account,
            signed_in.session.session_id,
            clock::now(),
        )
        .await
        .at(&signed_in.page)?;
    tracing::info!(session_id = %signed_in.session.session_id, "a browser session ended by signing out");
    // Removed from the request's jar, so the answer tells the browser to drop it.
    let gone = session::cookie(SESSION_COOKIE, String::new(), state.web.secure_cookies);
    Ok((jar.remove(gone), Redirect::to("/sign-in")).into_response())
}

/// Chooses the pages' language: kept on the account when signed in, in a cookie otherwise.
pub async fn choose_language(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    visitor.check_form(&fields).at(&visitor.page)?;
    let value = |name: &str| field(&fields, name);
    let Some(language) = value("language").and_then(i18n::parse_language) else {
        return Err(Failure(
            visitor.page.clone(),
            super::render::WebError::BadRequest("language".into()),
        ));
    };
    let next = local_path(value("back")).unwrap_or_else(|| "/".to_owned());
    let mut jar = CookieJar::new();
    match &visitor.session {
        Some(session) => state
            .store
            .set_language_preference(&session.account, Some(language))
            .await
            .at(&visitor.page)?,
        None => {
            jar = jar.add(session::cookie(
                LANGUAGE_COOKIE,
                language.as_str().to_owned(),
                state.web.secure_cookies,
            ));
        }
    }
    Ok((jar, Redirect::to(&next)).into_response())
}
