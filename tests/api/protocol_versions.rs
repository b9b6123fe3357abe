//! Each inquiry keeps the protocol version it started under: an inquiry recorded by the
//! last build before protocol 1.1 (the fixture `tests/fixtures/inquiry-protocol-1.0.0.json`)
//! follows the 1.0.0 table next to a new inquiry, which follows 1.1.0's.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use sqlx::Connection;
use sqlx::types::Json;
use uuid::Uuid;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{act, inquiry_path, written};

#[derive(Deserialize)]
struct Fixture {
    pocs: Vec<PocRow>,
    inquiry: InquiryRow,
    events: Vec<EventRow>,
    chain_head: ChainHeadRow,
}

#[derive(Deserialize)]
struct PocRow {
    id: Uuid,
    member_state: String,
    name: String,
    affiliation: String,
    role: String,
    email: String,
    phone: Option<String>,
    languages: Vec<String>,
    active: bool,
    last_confirmed_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Deserialize)]
struct InquiryRow {
    id: Uuid,
    status: String,
    version: i64,
    requesting_state: String,
    requester_poc_id: Uuid,
    responding_state: Option<String>,
    exercise: bool,
    related_inquiry_id: Option<Uuid>,
    time_sensitivity: Option<String>,
    due_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    protocol_version: String,
    state: String,
    next_sweep_at: Option<DateTime<Utc>>,
    acknowledged_at: Option<DateTime<Utc>>,
    responded_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct EventRow {
    chain_seq: i64,
    inquiry_id: Uuid,
    seq: i64,
    #[serde(rename = "type")]
    event_type: String,
    actor_kind: String,
    actor_poc_id: Option<Uuid>,
    actor_state: Option<String>,
    at: DateTime<Utc>,
    payload: String,
    prev_hash: String,
    hash: String,
    salt: Option<String>,
}

#[derive(Deserialize)]
struct ChainHeadRow {
    last_chain_seq: i64,
    last_hash: String,
}

/// Writes the fixture's rows, as the 1.0.0 build stored them, into `app`'s database (whose
/// chain must still be empty: the fixture's events are its first).
async fn load_fixture(app: &TestApp) -> Fixture {
    let text = include_str!("../fixtures/inquiry-protocol-1.0.0.json");
    let fixture: Fixture = serde_json::from_str(text).expect("the fixture parses");
    macro_rules! load {
        ($conn:expr) => {{
            let mut conn = $conn;
            for poc in &fixture.pocs {
                sqlx::query(
                    "INSERT INTO pocs (id, member_state, name, affiliation, role, email, phone,
                         languages, active, last_confirmed_at, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(poc.id)
                .bind(&poc.member_state)
                .bind(&poc.name)
                .bind(&poc.affiliation)
                .bind(&poc.role)
                .bind(&poc.email)
                .bind(&poc.phone)
                .bind(Json(&poc.languages))
                .bind(poc.active)
                .bind(poc.last_confirmed_at)
                .bind(poc.created_at)
                .bind(poc.updated_at)
                .execute(&mut conn)
                .await
                .unwrap();
            }
            let i = &fixture.inquiry;
            sqlx::query(
                "INSERT INTO inquiries (id, status, version, requesting_state, requester_poc_id,
                     responding_state, exercise, related_inquiry_id, time_sensitivity, due_at,
                     sent_at, created_at, updated_at, protocol_version, state, next_sweep_at,
                     acknowledged_at, responded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                     $17, $18)",
            )
            .bind(i.id)
            .bind(&i.status)
            .bind(i.version)
            .bind(&i.requesting_state)
            .bind(i.requester_poc_id)
            .bind(&i.responding_state)
            .bind(i.exercise)
            .bind(i.related_inquiry_id)
            .bind(&i.time_sensitivity)
            .bind(i.due_at)
            .bind(i.sent_at)
            .bind(i.created_at)
            .bind(i.updated_at)
            .bind(&i.protocol_version)
            .bind(&i.state)
            .bind(i.next_sweep_at)
            .bind(i.acknowledged_at)
            .bind(i.responded_at)
            .execute(&mut conn)
            .await
            .unwrap();
            for e in &fixture.events {
                sqlx::query(
                    "INSERT INTO inquiry_events (chain_seq, inquiry_id, seq, type, actor_kind,
                         actor_poc_id, actor_state, at, payload, prev_hash, hash, salt)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(e.chain_seq)
                .bind(e.inquiry_id)
                .bind(e.seq)
                .bind(&e.event_type)
                .bind(&e.actor_kind)
                .bind(e.actor_poc_id)
                .bind(&e.actor_state)
                .bind(e.at)
                .bind(&e.payload)
                .bind(&e.prev_hash)
                .bind(&e.hash)
                .bind(&e.salt)
                .execute(&mut conn)
                .await
                .unwrap();
            }
            let moved = sqlx::query(
                "UPDATE event_chain_head SET last_chain_seq = $1, last_hash = $2
                  WHERE id = 1 AND last_chain_seq = 0",
            )
            .bind(fixture.chain_head.last_chain_seq)
            .bind(&fixture.chain_head.last_hash)
            .execute(&mut conn)
            .await
            .unwrap();
            assert_eq!(moved.rows_affected(), 1, "the chain was empty");
        }};
    }
    if app.db.is_postgres() {
        load!(sqlx::PgConnection::connect(&app.db.url).await.unwrap());
    } else {
        load!(app.db.sqlite_connection().await);
    }
    fixture
}

async fn an_inquiry_keeps_the_protocol_version_it_started_under(db: TestDb) {
    let app = spawn_app(db).await;
    let fixture = load_fixture(&app).await;
    let old = fixture.inquiry.id.to_string();
    let token_of = async |name: &str| {
        let poc = fixture.pocs.iter().find(|p| p.name == name).unwrap();
        app.issue_token(&poc.id.to_string()).await.1
    };
    let chl = token_of("Eva Rojas").await;
    let bra = token_of("Ana Souza").await;

    // The 1.0.0 inquiry: responded, with 1.0.0's actions only.
    let view = app.get(&inquiry_path(&old), &chl).await;
    let view = view.assert_status(200).clone();
    assert_eq!(view["protocol_version"], "1.0.0");
    assert_eq!(view["status"], "responded");
    assert_eq!(
        view["allowed_actions"],
        json!(["follow_up", "close", "withdraw"])
    );
    let for_brazil = app.get(&inquiry_path(&old), &bra).await;
    assert_eq!(for_brazil.assert_status(200)["allowed_actions"], json!([]));
    let before = written(&app, &old, &chl).await;
    let refused = act(&app, &old, "message", &chl, json!({"text": "And now?"})).await;
    refused.assert_problem(409, None);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("not part of protocol 1.0.0"),
        "{}",
        refused.body
    );
    assert_eq!(
        refused.body["allowed_actions"],
        json!(["follow_up", "close", "withdraw"])
    );
    act(
        &app,
        &old,
        "log-contact",
        &bra,
        json!({"channel": "phone", "at": cbm2::clock::now().to_rfc3339(), "summary": "x"}),
    )
    .await
    .assert_problem(409, None);
    assert_eq!(written(&app, &old, &chl).await, before, "nothing written");

    // A new inquiry between the same POCs starts under the newest, 1.2.0, and follows its
    // table.
    let new = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let new = new["id"].as_str().unwrap().to_owned();
    act(
        &app,
        &new,
        "respond",
        &bra,
        json!({"information": "Known to us."}),
    )
    .await
    .assert_status(200);
    let view = app.get(&inquiry_path(&new), &chl).await;
    let view = view.assert_status(200);
    assert_eq!(view["protocol_version"], "1.2.0");
    assert_eq!(
        view["allowed_actions"],
        json!([
            "follow_up",
            "close",
            "withdraw",
            "message",
            "log_contact",
            "share",
            "unshare",
            "attach"
        ])
    );
    act(&app, &new, "message", &chl, json!({"text": "And now?"}))
        .await
        .assert_status(200);

    // The 1.0.0 inquiry still takes 1.0.0's steps, and the whole record verifies.
    let closed = act(&app, &old, "close", &chl, json!({"resolution": "Done."})).await;
    assert_eq!(closed.assert_status(200)["status"], "closed");
    assert_eq!(closed.body["protocol_version"], "1.0.0");
    app.assert_audit_intact().await;
}

on_both_databases!(an_inquiry_keeps_the_protocol_version_it_started_under);
