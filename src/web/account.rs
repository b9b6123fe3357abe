//! The reader's own account: the pages' language, the browser sessions it has open (each
//! can be ended), and the webhooks it registered through the API with their recent
//! deliveries (never a webhook's secret; registering stays in the API).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use uuid::Uuid;

use super::directory::DoneQuery;
use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::{self, SESSION_COOKIE, SignedIn};
use crate::clock;
use crate::http::AppState;
use crate::store::accounts::SessionRecord;
use crate::store::deliveries::DeliveryRecord;
use crate::store::webhooks::{WebhookOwner, WebhookRecord};

/// The deliveries shown under each webhook: the latest few (the API lists them all).
const RECENT_DELIVERIES: u32 = 5;

/// A webhook as its owner sees it here: everything but the secret.
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    /// The event types it receives; `None`: all its owner is told of.
    pub events: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub deliveries: Vec<DeliveryRecord>,
}

impl WebhookView {
    fn new(record: WebhookRecord, deliveries: Vec<DeliveryRecord>) -> Self {
        Self {
            id: record.id,
            url: record.url,
            events: record.events.map(|events| events.0.join(", ")),
            active: record.active,
            disabled_reason: record.disabled_reason,
            created_at: record.created_at,
            deliveries,
        }
    }
}

#[derive(Template)]
#[template(path = "account.html", config = "src/web/askama.toml")]
struct AccountPage<'a> {
    page: &'a Page,
    email: String,
    sessions: Vec<SessionRecord>,
    webhooks: Vec<WebhookView>,
    done: Option<String>,
}

/// `GET /account`.
pub async fn account(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    let now = clock::now();
    let sessions = state
        .store
        .list_sessions(
            &signed_in.session.account,
            Some(signed_in.session.session_id),
            now,
        )
        .await
        .at(page)?;
    let owner = WebhookOwner::of(&signed_in.caller().principal);
    let mut webhooks = Vec::new();
    for record in state.store.list_webhooks(owner).await.at(page)? {
        let deliveries = state
            .store
            .list_deliveries(record.id, None, RECENT_DELIVERIES)
            .await
            .at(page)?;
        webhooks.push(WebhookView::new(record, deliveries));
    }
    let done = (query.done.as_deref() == Some("ended")).then(|| page.t("account-session-ended"));
    Ok(html(&AccountPage {
        page,
        email: signed_in.session.email.clone(),
        sessions,
        webhooks,
        done,
    }))
}

/// `POST /account/sessions/{id}/end`: ends one of the reader's sessions; ending this one
/// signs out.
pub async fn end_session(
    signed_in: SignedIn,
    State(state): State<AppState>,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    signed_in.check_form(&fields).at(page)?;
    let not_found = || Failure(page.clone(), WebError::NotFound);
    let id = Uuid::parse_str(&id).map_err(|_| not_found())?;
    // Only the reader's own sessions: another's id ends nothing and is the 404 page.
    let ended = state
        .store
        .end_session(&signed_in.session.account, id, clock::now())
        .await
        .at(page)?;
    if !ended {
        return Err(not_found());
    }
    tracing::info!(session_id = %id, "a browser session ended from the account page");
    if id == signed_in.session.session_id {
        // Removed from the request's own jar: a jar removes only a cookie it was sent.
        let gone = session::cookie(SESSION_COOKIE, String::new(), state.web.secure_cookies);
        return Ok((jar.remove(gone), Redirect::to("/sign-in")).into_response());
    }
    Ok(Redirect::to("/account?done=ended").into_response())
}

impl AccountPage<'_> {
    /// A delivery's state as words: `account-delivery-state-<state>`.
    fn delivery_word(&self, state: &str) -> String {
        self.page.word("account-delivery-state", state)
    }

    /// The name of the pages' language now, in that language.
    fn current_language(&self) -> String {
        self.page.word("language", self.page.lang_code())
    }
}
