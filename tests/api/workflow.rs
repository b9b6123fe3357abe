//! The cast of the inquiry tests (a requesting, a responding and a third state) and the
//! steps that bring an inquiry to a given status through the API.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp};

/// The content fields of api.md: never in anything the Secretariat receives.
pub const CONTENT_FIELDS: [&str; 11] = [
    "nature",
    "category",
    "sectors",
    "indicators",
    "questions",
    "contact",
    "information",
    "message",
    "resolution",
    "contact_requested",
    "invocation_text",
];

/// Further fields only the two states' POCs see.
pub const PARTICIPANT_ONLY_FIELDS: [&str; 8] = [
    "requester",
    "responding_pocs",
    "language",
    "observed_from",
    "observed_to",
    "estimated_timeframe",
    "third_states",
    "withdrawal_reason",
];

/// Chile asks, Brazil answers, Mexico has no part: one policy POC each, with a token.
pub struct Parties {
    pub chl_id: String,
    pub chl: String,
    pub bra_id: String,
    pub bra: String,
    pub mex_id: String,
    pub mex: String,
}

impl Parties {
    pub async fn enrol(app: &TestApp) -> Self {
        let (chl_id, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
        let (bra_id, bra) = app.poc_with_token("BRA", "Ana Souza").await;
        let (mex_id, mex) = app.poc_with_token("MEX", "Luis Garcia").await;
        Self {
            chl_id,
            chl,
            bra_id,
            bra,
            mex_id,
            mex,
        }
    }
}

pub fn inquiry_path(id: &str) -> String {
    format!("/v1/inquiries/{id}")
}

/// POST /v1/inquiries/{id}/{action}.
pub async fn act(app: &TestApp, id: &str, action: &str, token: &str, body: Value) -> Reply {
    app.post(&format!("/v1/inquiries/{id}/{action}"), token, body)
        .await
}

/// Opens a draft as `token`'s POC and returns its id.
pub async fn create(app: &TestApp, token: &str) -> String {
    let reply = app.post("/v1/inquiries", token, json!({})).await;
    reply.assert_status(201)["id"].as_str().unwrap().to_owned()
}

pub fn describe_body() -> Value {
    json!({
        "nature": "Sustained DDoS against the ministry's public portal",
        "category": "ddos",
        "sectors": ["government", "finance"],
        "observed_from": "2025-01-10T08:00:00Z",
        "observed_to": "2025-01-10T20:00:00Z",
        "indicators": [{"type": "ipv4", "value": "203.0.113.7"}, {"type": "domain", "value": "bad.example.net"}],
    })
}

pub fn request_info_body(time_sensitivity: &str) -> Value {
    json!({
        "questions": "Can you share what you know about 203.0.113.7?",
        "contact": {"name": "Eva Rojas", "email": "eva.rojas@minrel.gob.cl", "phone": "+56 2 2827 4200"},
        "time_sensitivity": time_sensitivity,
    })
}

/// A valid body for each action, so that a refusal is about the status or the caller.
pub fn valid_body(action: &str) -> Value {
    match action {
        "lookup-poc" => json!({"member_state": "BRA"}),
        "invoke" => json!({"language": "en"}),
        "describe" => describe_body(),
        "request-info" => request_info_body("routine"),
        "acknowledge" => json!({"estimated_timeframe": "P3D"}),
        "update" => json!({"message": "Still looking."}),
        "respond" => json!({"information": "A compromised host; it was cleaned."}),
        "follow-up" => json!({"questions": "Anything more on the operator?"}),
        "close" => json!({"resolution": "Resolved."}),
        "withdraw" => json!({"reason": "Raised in error."}),
        "remind" => json!({}),
        other => panic!("no such action {other}"),
    }
}

/// Every action path of the API.
pub const ACTIONS: [&str; 11] = [
    "lookup-poc",
    "invoke",
    "describe",
    "request-info",
    "acknowledge",
    "update",
    "respond",
    "follow-up",
    "close",
    "withdraw",
    "remind",
];

/// A new CHL → BRA inquiry brought along the usual path to `status`; returns its id.
pub async fn inquiry_at(app: &TestApp, parties: &Parties, status: &str) -> String {
    let id = create(app, &parties.chl).await;
    let steps: &[(&str, bool)] = match status {
        "draft" => &[],
        "poc_identified" => &[("lookup-poc", true)],
        "cbm2_invoked" => &[("lookup-poc", true), ("invoke", true)],
        "incident_described" => &[("lookup-poc", true), ("invoke", true), ("describe", true)],
        "awaiting_response" => &[
            ("lookup-poc", true),
            ("invoke", true),
            ("describe", true),
            ("request-info", true),
        ],
        "acknowledged" => &[
            ("lookup-poc", true),
            ("invoke", true),
            ("describe", true),
            ("request-info", true),
            ("acknowledge", false),
        ],
        "responded" => &[
            ("lookup-poc", true),
            ("invoke", true),
            ("describe", true),
            ("request-info", true),
            ("respond", false),
        ],
        "closed" => &[
            ("lookup-poc", true),
            ("invoke", true),
            ("describe", true),
            ("request-info", true),
            ("respond", false),
            ("close", true),
        ],
        "withdrawn" => &[
            ("lookup-poc", true),
            ("invoke", true),
            ("describe", true),
            ("request-info", true),
            ("withdraw", true),
        ],
        other => panic!("no path to {other}"),
    };
    for (action, as_requester) in steps {
        let token = if *as_requester {
            &parties.chl
        } else {
            &parties.bra
        };
        act(app, &id, action, token, valid_body(action))
            .await
            .assert_status(200);
    }
    let view = app.get(&inquiry_path(&id), &parties.chl).await;
    assert_eq!(view.assert_status(200)["status"], status);
    id
}

/// The inquiry's whole audit trail as `token` sees it.
pub async fn events(app: &TestApp, id: &str, token: &str) -> Vec<Value> {
    app.inquiry_events(id, token).await
}

/// (version, number of events) as the requesting state sees them: what a refused request
/// must leave as it was.
pub async fn written(app: &TestApp, id: &str, requester: &str) -> (i64, usize) {
    let view = app.get(&inquiry_path(id), requester).await;
    let version = view.assert_status(200)["version"].as_i64().unwrap();
    (version, events(app, id, requester).await.len())
}

/// A timestamp of a view.
#[track_caller]
pub fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// Asserts that `object` carries none of the fields only participants see.
#[track_caller]
pub fn assert_metadata_only(object: &Value, what: &str) {
    let map = object
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {object}"));
    for field in CONTENT_FIELDS.iter().chain(PARTICIPANT_ONLY_FIELDS.iter()) {
        assert!(
            !map.contains_key(*field),
            "{what} shows `{field}` to the Secretariat: {object}"
        );
    }
}

/// The allowed actions of a view or problem, as strings.
pub fn allowed(value: &Value) -> Vec<&str> {
    value["allowed_actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no allowed_actions in {value}"))
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect()
}

/// The actions of protocol 1.1 that manage the conversation and access, and 1.2's evidence,
/// allowed in most statuses alongside the protocol's steps.
pub const CONVERSATION: [&str; 5] = ["message", "log_contact", "share", "unshare", "attach"];

/// The `allowed_actions` that are steps of the protocol: without [`CONVERSATION`] (which
/// tests/api/conversation.rs and the allowed-actions table check).
pub fn steps(value: &Value) -> Vec<&str> {
    allowed(value)
        .into_iter()
        .filter(|action| !CONVERSATION.contains(action))
        .collect()
}
