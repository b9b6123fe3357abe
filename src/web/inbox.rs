//! The inbox: a POC's incoming and outgoing inquiries, newest first, with filters and pages.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;

use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::SignedIn;
use crate::clock;
use crate::http::AppState;
use crate::http::inquiries::InquiryView;
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::protocol::{Role, Status};
use crate::store::inquiries::{InquiryCursor, InquiryFilter, party_of};

/// Rows on one page of the inbox.
const PAGE_SIZE: u32 = 25;

#[derive(Debug, Default, Deserialize)]
pub struct InboxQuery {
    /// `incoming`, `outgoing`, or empty for both.
    #[serde(default)]
    side: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    overdue: Option<String>,
    #[serde(default)]
    cursor: Option<String>,
}

/// One row of the inbox.
pub struct Row {
    pub view: InquiryView,
    /// The other state's code.
    pub counterpart: Option<String>,
    pub incoming: bool,
}

#[derive(Template)]
#[template(path = "inbox.html", config = "src/web/askama.toml")]
struct InboxPage<'a> {
    page: &'a Page,
    rows: Vec<Row>,
    side: String,
    status: String,
    overdue: bool,
    statuses: Vec<&'static str>,
    next: Option<String>,
}

pub async fn inbox(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<InboxQuery>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    if signed_in.caller().is_secretariat() {
        // The Secretariat plays no part in inquiries: its view is the dashboard.
        return Ok(axum::response::IntoResponse::into_response(
            axum::response::Redirect::to("/dashboard"),
        ));
    }
    let role = match query.side.as_str() {
        "incoming" => Some(Role::Responder),
        "outgoing" => Some(Role::Requester),
        _ => None,
    };
    let status = Status::ALL.into_iter().find(|s| s.as_str() == query.status);
    let overdue = query.overdue.is_some();
    let after: Option<InquiryCursor> = decode_cursor(query.cursor.as_deref())
        .map_err(|_| WebError::BadRequest("cursor".into()))
        .at(page)?;
    let filter = InquiryFilter {
        status,
        overdue: overdue.then_some(true),
        role,
    };
    let now = clock::now();
    let principal = &signed_in.caller().principal;
    let mut listed = state
        .store
        .list_inquiries(principal, &filter, after.as_ref(), PAGE_SIZE + 1, now)
        .await
        .at(page)?;
    let more = listed.len() > PAGE_SIZE as usize;
    listed.truncate(PAGE_SIZE as usize);
    let next = more.then(|| {
        let last = listed.last().expect("a full page has a last row");
        let cursor = encode_cursor(&InquiryCursor {
            created_at: last.created_at,
            id: last.id,
        });
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("side", &query_side(role))
            .append_pair("status", status.map_or("", |s| s.as_str()));
        if overdue {
            query.append_pair("overdue", "on");
        }
        query.append_pair("cursor", &cursor);
        format!("/inbox?{}", query.finish())
    });
    let zones = state.store.zones().await.at(page)?;
    let rows = listed
        .into_iter()
        .filter_map(|row| {
            let inquiry = row.inquiry?;
            let party = party_of(principal, &inquiry)?;
            let incoming = party.role == Role::Responder;
            let counterpart = if incoming {
                Some(inquiry.requesting_state.to_string())
            } else {
                inquiry.responding_state.as_ref().map(ToString::to_string)
            };
            Some(Row {
                view: InquiryView::new(&inquiry, party, now, &zones),
                counterpart,
                incoming,
            })
        })
        .collect();
    Ok(html(&InboxPage {
        page,
        rows,
        side: query_side(role),
        status: status.map_or_else(String::new, |s| s.as_str().to_owned()),
        overdue,
        statuses: Status::ALL.iter().map(|s| s.as_str()).collect(),
        next,
    }))
}

fn query_side(role: Option<Role>) -> String {
    match role {
        Some(Role::Responder) => "incoming",
        Some(_) => "outgoing",
        None => "",
    }
    .to_owned()
}
