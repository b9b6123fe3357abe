//! `GET /v1/inquiries/{id}/record`: the inquiry as the caller may see it, signed with the
//! instance's key ([`crate::record`]); `GET /v1/audit/public-key`: that key.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use uuid::Uuid;

use super::extract::ApiPath;
use super::inquiries::InquiryView;
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::{Caller, Principal};
use crate::record::{self, Instance, Reader, Record, RecordActor, RecordAttachment, RecordEvent};
use crate::store::StoreError;
use crate::store::inquiries::{RecordRead, party_of};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .get("/inquiries/{id}/record", inquiry_record)
        .get("/audit/public-key", public_key)
}

/// The signed record, or 404 when there is no such inquiry or it is not the caller's to
/// see (a third state learns nothing of it).
async fn inquiry_record(
    caller: Caller,
    State(state): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> Result<Response, ApiError> {
    signed_record(&state, &caller.principal, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no inquiry {id}")))
}

/// The download of inquiry `id`'s record as `principal` may see it, signed; `None` when
/// `principal` may not see the inquiry. The API and the web pages answer it alike.
pub(crate) async fn signed_record(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
) -> Result<Option<Response>, StoreError> {
    let Some(read) = state
        .store
        .inquiry_record(id, |inquiry| party_of(principal, inquiry))
        .await?
    else {
        return Ok(None);
    };
    let zones = state.store.zones().await?;
    let record = build(state, principal, read, &zones);
    let document = state.record_key.sign(&record);
    let body = serde_json::to_vec_pretty(&document).expect("a record serializes");
    Ok(Some(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"inquiry-{id}-record.json\""),
                ),
                (header::CACHE_CONTROL, "no-store".to_owned()),
            ],
            body,
        )
            .into_response(),
    ))
}

/// The record of what `read` holds, as its reader may see it: the Secretariat's has
/// neither content nor hashes (as `/events` answers it).
fn build(
    state: &AppState,
    principal: &Principal,
    read: RecordRead,
    zones: &crate::store::StateZones,
) -> Record {
    let RecordRead {
        inquiry,
        party,
        events,
        head,
    } = read;
    let now = clock::now();
    let participant = party.is_participant();
    let (member_state, poc_id) = match principal {
        Principal::Poc {
            poc_id,
            member_state,
            ..
        } => (Some(member_state.as_str().to_owned()), Some(poc_id.0)),
        Principal::Secretariat => (None, None),
    };
    let events = events
        .into_iter()
        .map(|chained| {
            let event = chained.event;
            RecordEvent {
                chain_seq: chained.chain_seq,
                seq: event.seq,
                event_type: event.event_type,
                actor: RecordActor {
                    role: event.actor_kind,
                    poc_id: event.actor_poc_id,
                    member_state: event.actor_state,
                },
                at: record::hashed_time(event.at),
                payload: participant.then_some(event.payload),
                salt: chained.salt.filter(|_| participant),
                prev_hash: participant.then_some(chained.prev_hash),
                hash: participant.then_some(event.hash),
            }
        })
        .collect();
    Record {
        format: record::FORMAT.to_owned(),
        exported_at: now,
        instance: Instance {
            url: state.web.public_url.clone(),
            public_key: state.record_key.public_key().to_string(),
            software: concat!("cbm2 ", env!("CARGO_PKG_VERSION")).to_owned(),
        },
        reader: Reader {
            role: party.role.as_str().to_owned(),
            member_state,
            poc_id,
        },
        attachments: inquiry
            .attachments
            .iter()
            .filter(|_| participant)
            .map(|a| RecordAttachment {
                id: a.id,
                sha256: a.sha256.clone(),
                size: a.size,
            })
            .collect(),
        inquiry: serde_json::to_value(InquiryView::new(&inquiry, party, now, zones))
            .expect("an inquiry view serializes"),
        events,
        chain_head: head,
    }
}

/// The instance's public key, for anyone (no token): what a state checks a record it
/// received against (`cbm2 audit verify-record --public-key`).
async fn public_key(State(state): State<AppState>) -> Json<Value> {
    let key = state.record_key.public_key();
    Json(json!({
        "algorithm": record::ALGORITHM,
        "public_key": key.to_string(),
        "pem": key.pem(),
        "fingerprint": key.fingerprint(),
    }))
}
