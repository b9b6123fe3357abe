//! Answers that are pages: rendering a template, and the error pages (one 404 page for
//! "does not exist" and "not yours to see", so a page never tells which).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::page::Page;
use crate::domain::Language;
use crate::store::StoreError;

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such thing, or not the reader's to see.
    #[error("not found")]
    NotFound,
    /// The reader may see it but not do this; the reason is shown.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// A form without this reader's token: another site's, or from an ended session.
    #[error("the form's token does not match")]
    StaleForm,
    /// A request the pages never make (a hand-made URL).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The reader's rate limit is spent (the API's limits, `http::limits`).
    #[error("too many requests: retry in {0:?}")]
    TooManyRequests(std::time::Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A failure that is neither the reader's nor the store's (logged, 500).
    #[error("{0}")]
    Unexpected(String),
}

/// A [`WebError`] with the page it happened on, so it is shown in the reader's language.
pub struct Failure(pub Page, pub WebError);

/// `result.at(&page)`: the error, with where to show it.
pub trait At<T> {
    // A failure is a page to render (the reader's context included), built once on a
    // request's way out: its size costs nothing worth a box.
    #[allow(clippy::result_large_err)]
    fn at(self, page: &Page) -> Result<T, Failure>;
}

impl<T, E: Into<WebError>> At<T> for Result<T, E> {
    fn at(self, page: &Page) -> Result<T, Failure> {
        self.map_err(|error| Failure(page.clone(), error.into()))
    }
}

#[derive(Template)]
#[template(path = "error.html", config = "src/web/askama.toml")]
struct ErrorPage<'a> {
    page: &'a Page,
    title: String,
    message: String,
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let Failure(page, error) = self;
        let (status, title, message) = match &error {
            WebError::TooManyRequests(retry_after) => (
                StatusCode::TOO_MANY_REQUESTS,
                "error-too-many-title",
                page.t1(
                    "error-too-many-text",
                    "seconds",
                    retry_after.as_secs().max(1),
                ),
            ),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "error-not-found-title",
                page.t("error-not-found-text"),
            ),
            WebError::Forbidden(reason) => (
                StatusCode::FORBIDDEN,
                "error-forbidden-title",
                reason.clone(),
            ),
            WebError::StaleForm => (
                StatusCode::FORBIDDEN,
                "error-stale-form-title",
                page.t("error-stale-form-text"),
            ),
            WebError::BadRequest(_) => (
                StatusCode::BAD_REQUEST,
                "error-bad-request-title",
                page.t("error-bad-request-text"),
            ),
            WebError::Store(_) | WebError::Unexpected(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "error-internal-title",
                page.t("error-internal-text"),
            ),
        };
        if status.is_server_error() {
            tracing::error!(%error, "a page failed");
        } else {
            tracing::info!(%error, "a page was refused");
        }
        let body = ErrorPage {
            page: &page,
            title: page.t(title),
            message,
        };
        (status, html(&body)).into_response()
    }
}

/// A template as an HTML answer; a template that fails to render is a bug, logged, 500.
pub fn html<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(body) => Html(body).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page template failed to render");
            plain_error(Language::En)
        }
    }
}

/// The last resort: a 500 page with no template (when reading the session failed).
pub fn plain_error(language: Language) -> Response {
    let text = super::i18n::text(language, "error-internal-text");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Html(format!(
            "<!doctype html><html lang=\"{}\"><meta charset=\"utf-8\"><title>cbm2</title><p>{}</p></html>",
            language.as_str(),
            askama::filters::escape(&text, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default()
        )),
    )
        .into_response()
}
