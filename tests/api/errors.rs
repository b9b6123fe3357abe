use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestDb, on_both_databases, spawn_app};

fn valid_poc() -> Value {
    json!({
        "member_state": "CHL", "name": "Eva Rojas", "affiliation": "Ministerio de Relaciones Exteriores",
        "role": "policy", "email": "eva.rojas@minrel.gob.cl", "phone": "+56 2 2827 4200",
        "languages": ["es"],
    })
}

/// `valid_poc()` with `field` set to `value` (or removed, for `Value::Null` on "-field").
fn with(field: &str, value: Value) -> Value {
    let mut body = valid_poc();
    if let Some(name) = field.strip_prefix('-') {
        body.as_object_mut().unwrap().remove(name);
    } else {
        body[field] = value;
    }
    body
}

async fn bad_poc_bodies_get_422_naming_the_field_and_write_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let events_before = app.directory_event_count().await;
    let cases = [
        (with("member_state", json!("CL")), "member_state"),
        (with("member_state", json!("chl")), "member_state"),
        (with("member_state", json!("ESP")), "member_state"),
        (with("email", json!("eva.rojas")), "email"),
        (with("email", json!("eva@localhost")), "email"),
        (with("phone", json!("call the embassy")), "phone"),
        (with("name", json!("x".repeat(201))), "name"),
        (with("name", json!("   ")), "name"),
        (with("name", json!(42)), "name"),
        (with("affiliation", json!("y".repeat(301))), "affiliation"),
        (with("role", json!("boss")), "role"),
        (with("languages", json!(["spanish"])), "languages[0]"),
        (with("languages", json!(["es", "es"])), "languages"),
        (with("nickname", json!("Evita")), "nickname"),
        (with("-role", Value::Null), "role"),
        (with("-email", Value::Null), "email"),
    ];

    for (body, field) in cases {
        app.post("/v1/pocs", &app.secretariat, body)
            .await
            .assert_problem(422, Some(field));
    }

    assert!(
        app.collect_pages("/v1/pocs").await.is_empty(),
        "no POC was written"
    );
    assert_eq!(
        app.directory_event_count().await,
        events_before,
        "nothing was logged"
    );
    app.post("/v1/pocs", &app.secretariat, valid_poc())
        .await
        .assert_status(201);
}

async fn malformed_oversized_and_non_json_bodies_are_refused(db: TestDb) {
    let app = spawn_app(db).await;
    let token = app.secretariat.clone();

    app.send_raw(
        Method::POST,
        "/v1/pocs",
        &token,
        "application/json",
        b"{\"name\": ".to_vec(),
    )
    .await
    .assert_problem(400, None);
    app.send_raw(
        Method::POST,
        "/v1/pocs",
        &token,
        "text/plain",
        b"name=Eva".to_vec(),
    )
    .await
    .assert_problem(415, None);
    let mut big = valid_poc();
    big["affiliation"] = json!("z".repeat(65 * 1024));
    app.send_raw(
        Method::POST,
        "/v1/pocs",
        &token,
        "application/json",
        serde_json::to_vec(&big).unwrap(),
    )
    .await
    .assert_problem(413, None);
    app.send_raw(
        Method::POST,
        "/v1/pocs",
        &token,
        "application/json",
        Vec::new(),
    )
    .await
    .assert_problem(422, Some("member_state"));

    assert!(
        app.collect_pages("/v1/pocs").await.is_empty(),
        "no POC was written"
    );
}

async fn server_errors_never_show_database_text(db: TestDb) {
    let app = spawn_app(db).await;
    // Break the database behind the server's back: the token table disappears.
    app.db
        .execute("ALTER TABLE tokens RENAME TO tokens_gone")
        .await;

    let reply = app.get("/v1/member-states", &app.secretariat).await;

    let body = reply.assert_problem(500, None);
    let text = body.to_string().to_lowercase();
    for leak in ["sql", "table", "tokens", "relation", "no such"] {
        assert!(!text.contains(leak), "the problem leaks {leak:?}: {body}");
    }
}

on_both_databases!(
    bad_poc_bodies_get_422_naming_the_field_and_write_nothing,
    malformed_oversized_and_non_json_bodies_are_refused,
    server_errors_never_show_database_text,
);
