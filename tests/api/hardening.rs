//! What an attacker tried first: poisoning a stored inquiry, reading the requester's drafts,
//! guessing content from hashes, and inputs at their edges (fractions, far dates,
//! invisible characters, codes that name no state).

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestDb, on_both_databases, poll_until, spawn_app};
use crate::workflow::{Parties, act, create, events, inquiry_at, inquiry_path, written};

fn event_types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn a_fractional_timeframe_is_refused_naming_the_field_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "awaiting_response").await;
    let before = written(&app, &id, &p.chl).await;
    for timeframe in ["PT0.5S", "PT1,5S", "P0.5D", "PT1.25H"] {
        let reply = act(
            &app,
            &id,
            "acknowledge",
            &p.bra,
            json!({"estimated_timeframe": timeframe}),
        )
        .await;
        let problem = reply.assert_problem(422, Some("estimated_timeframe"));
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("whole number of seconds"),
            "{problem}"
        );
    }
    assert_eq!(written(&app, &id, &p.chl).await, before);
    let acknowledged = act(
        &app,
        &id,
        "acknowledge",
        &p.bra,
        json!({"estimated_timeframe": "P1DT90M"}),
    )
    .await;
    assert_eq!(
        acknowledged.assert_status(200)["estimated_timeframe"],
        "P1DT1H30M",
        "stored and shown in whole seconds, as it reads back"
    );
    app.assert_audit_intact().await;
}

/// A row poisoned on an earlier version (a timeframe stored as `PT0S`, which no longer
/// decodes), placed first in the sweeper's order: lists still answer, and the sweeper still
/// records the next inquiry's missed deadline.
async fn one_undecodable_inquiry_fails_neither_the_lists_nor_the_sweeper(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let poisoned = inquiry_at(&app, &p, "acknowledged").await;
    let changed = app
        .db
        .execute(&format!(
            "UPDATE inquiries SET state = replace(state, '\"estimated_timeframe\":\"P3D\"', '\"estimated_timeframe\":\"PT0S\"'),
                    next_sweep_at = sent_at
              WHERE id = {}",
            app.db.uuid_literal(&poisoned)
        ))
        .await;
    assert_eq!(changed, 1);
    let stored = app
        .db
        .fetch_strings(&format!(
            "SELECT state FROM inquiries WHERE id = {}",
            app.db.uuid_literal(&poisoned)
        ))
        .await;
    assert!(
        stored[0].contains("\"estimated_timeframe\":\"PT0S\""),
        "{}",
        stored[0]
    );
    assert_eq!(app.get(&inquiry_path(&poisoned), &p.chl).await.status, 500);

    let healthy = app
        .send_inquiry(
            &p.chl,
            "BRA",
            "routine",
            Some(Duration::from_secs(1)),
            false,
        )
        .await;
    let healthy = healthy["id"].as_str().unwrap().to_owned();

    for token in [&app.secretariat, &p.chl, &p.bra] {
        let listed = app.get("/v1/inquiries", token).await;
        let ids: Vec<&str> = listed.assert_status(200)["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [healthy.as_str()],
            "the poisoned row is left out, the rest listed"
        );
    }
    poll_until(
        "the sweeper to record the healthy inquiry's missed deadline",
        Duration::from_secs(30),
        async || {
            let trail = events(&app, &healthy, &p.chl).await;
            event_types(&trail)
                .contains(&"deadline_missed")
                .then_some(())
        },
    )
    .await;
}

/// Chile first looked up the United States, then Brazil, and described the incident
/// twice: Brazil sees the inquiry as sent, none of that.
async fn the_responding_state_sees_nothing_of_the_preparation(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let usa = app.create_poc("USA", "policy", "Sam Hill").await;
    let usa_email = usa["email"].as_str().unwrap().to_owned();
    let id = create(&app, &p.chl).await;
    let draft_nature = "First draft: we suspect the US ministry network itself";
    for (action, body) in [
        ("lookup-poc", json!({"member_state": "USA"})),
        ("lookup-poc", json!({"member_state": "BRA"})),
        ("invoke", json!({"language": "es"})),
        (
            "describe",
            json!({"nature": draft_nature, "category": "draft", "sectors": ["draft-sector"]}),
        ),
        (
            "describe",
            json!({"nature": "Scanning of the ministry's mail servers", "category": "scanning", "sectors": ["government"]}),
        ),
        ("request-info", crate::workflow::request_info_body("urgent")),
    ] {
        act(&app, &id, action, &p.chl, body)
            .await
            .assert_status(200);
    }

    let trail = events(&app, &id, &p.bra).await;
    assert_eq!(event_types(&trail), ["request_info"]);
    let view = app.get(&inquiry_path(&id), &p.bra).await;
    let listed = app.get("/v1/inquiries", &p.bra).await;
    for (what, text) in [
        ("events", serde_json::to_string(&trail).unwrap()),
        ("view", view.assert_status(200).to_string()),
        ("list", listed.assert_status(200).to_string()),
    ] {
        for secret in [
            usa_email.as_str(),
            "Sam Hill",
            draft_nature,
            "draft-sector",
            "\"USA\"",
        ] {
            assert!(
                !text.contains(secret),
                "the {what} shows {secret:?}: {text}"
            );
        }
    }
    let requester_trail = events(&app, &id, &p.chl).await;
    assert_eq!(
        requester_trail.len(),
        7,
        "the requesting state keeps its whole record"
    );
    assert_eq!(trail[0], requester_trail[6]);
    app.assert_audit_intact().await;
}

async fn events_are_paged_with_a_cursor_oldest_first(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "responded").await;
    let whole = events(&app, &id, &p.chl).await;
    assert!(whole.len() >= 6);
    let mut paged = Vec::new();
    let mut path = format!("/v1/inquiries/{id}/events?limit=2");
    loop {
        let reply = app.get(&path, &p.chl).await;
        let page = reply.assert_status(200);
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        paged.extend(items.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/inquiries/{id}/events?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, whole);
    let seqs: Vec<i64> = paged.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    app.get(&format!("/v1/inquiries/{id}/events?limit=201"), &p.chl)
        .await
        .assert_problem(400, Some("limit"));
    app.get(
        &format!("/v1/inquiries/{id}/events?cursor=nonsense"),
        &p.chl,
    )
    .await
    .assert_problem(400, Some("cursor"));
}

async fn the_secretariat_sees_no_hash_and_the_participants_do(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "acknowledged").await;
    for event in events(&app, &id, &app.secretariat).await {
        assert!(event.get("hash").is_none(), "{event}");
        assert!(event.get("payload").is_none(), "{event}");
    }
    for event in events(&app, &id, &p.bra).await {
        assert_eq!(event["hash"].as_str().unwrap().len(), 64, "{event}");
    }
}

async fn an_explicit_deadline_lies_at_most_180_days_ahead(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "incident_described").await;
    let at = |days: i64| {
        (cbm2::clock::now() + chrono::TimeDelta::days(days))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let mut body = crate::workflow::request_info_body("routine");
    for far in ["9999-12-31T00:00:00Z".to_owned(), at(181)] {
        body["respond_by"] = json!(far);
        act(&app, &id, "request-info", &p.chl, body.clone())
            .await
            .assert_problem(422, Some("respond_by"));
    }
    body["respond_by"] = json!(at(179));
    act(&app, &id, "request-info", &p.chl, body)
        .await
        .assert_status(200);
    act(
        &app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "Nothing known."}),
    )
    .await
    .assert_status(200);
    let follow_up = json!({"questions": "Anything since?", "respond_by": at(200)});
    act(&app, &id, "follow-up", &p.chl, follow_up)
        .await
        .assert_problem(422, Some("respond_by"));
}

async fn invisible_and_reordering_characters_are_refused_naming_the_field(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let poc = json!({"member_state": "ARG", "name": "Ana\u{202E}zuoS", "affiliation": "Cancillería",
                     "role": "policy", "email": "ana@cancilleria.gob.ar"});
    let refused = app.post("/v1/pocs", &app.secretariat, poc).await;
    assert!(
        refused.assert_problem(422, Some("name"))["detail"]
            .as_str()
            .unwrap()
            .contains("U+202E"),
        "{}",
        refused.body
    );
    let id = inquiry_at(&app, &p, "incident_described").await;
    let before = written(&app, &id, &p.chl).await;
    let mut body = crate::workflow::request_info_body("routine");
    body["questions"] = json!("What do you know?\u{2028}Please answer.");
    act(&app, &id, "request-info", &p.chl, body.clone())
        .await
        .assert_problem(422, Some("questions"));
    body["questions"] = json!("What do you know?\tPlease answer.");
    act(&app, &id, "request-info", &p.chl, body.clone())
        .await
        .assert_problem(422, Some("questions"));
    body["questions"] = json!("Ask\u{200B}ed");
    act(&app, &id, "request-info", &p.chl, body.clone())
        .await
        .assert_problem(422, Some("questions"));
    body["questions"] = json!("What do you know?");
    body["contact"]["name"] = json!("Eva\u{2066}Rojas");
    act(&app, &id, "request-info", &p.chl, body.clone())
        .await
        .assert_problem(422, Some("contact.name"));
    assert_eq!(written(&app, &id, &p.chl).await, before, "nothing written");

    body["contact"]["name"] = json!("Eva Rojas");
    body["questions"] = json!("First line,\r\nsecond line.");
    let sent = act(&app, &id, "request-info", &p.chl, body).await;
    assert_eq!(
        sent.assert_status(200)["questions"],
        "First line,\nsecond line.",
        "a CR LF pair, as browsers send, is kept as a line feed"
    );
}

async fn third_states_are_member_states_other_than_the_parties(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "awaiting_response").await;
    let before = written(&app, &id, &p.chl).await;
    for (third, why) in [
        ("ZZZ", "not an OAS Member State"),
        ("CHL", "requesting state"),
        ("BRA", "responding state"),
    ] {
        let reply = act(
            &app,
            &id,
            "respond",
            &p.bra,
            json!({"information": "It passes through a third state.", "third_states": ["ARG", third]}),
        )
        .await;
        let problem = reply.assert_problem(422, Some("third_states"));
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }
    assert_eq!(written(&app, &id, &p.chl).await, before);
    let responded = act(
        &app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "It passes through a third state.", "third_states": ["ARG"]}),
    )
    .await;
    assert_eq!(responded.assert_status(200)["third_states"], json!(["ARG"]));
}

async fn only_the_requesting_state_sees_a_related_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (_, arg) = app.poc_with_token("ARG", "Ines Paz").await;
    let first = inquiry_at(&app, &p, "responded").await;
    let linked = app
        .post(
            "/v1/inquiries",
            &p.chl,
            json!({"related_inquiry_id": first}),
        )
        .await;
    let linked = linked.assert_status(201)["id"].as_str().unwrap().to_owned();
    for (action, body) in [
        ("lookup-poc", json!({"member_state": "ARG"})),
        ("invoke", json!({})),
        ("describe", crate::workflow::describe_body()),
        (
            "request-info",
            crate::workflow::request_info_body("routine"),
        ),
    ] {
        act(&app, &linked, action, &p.chl, body)
            .await
            .assert_status(200);
    }
    let for_chile = app.get(&inquiry_path(&linked), &p.chl).await;
    assert_eq!(
        for_chile.assert_status(200)["related_inquiry_id"],
        first.as_str()
    );
    for token in [&arg, &app.secretariat] {
        let view = app.get(&inquiry_path(&linked), token).await;
        assert_eq!(view.assert_status(200)["related_inquiry_id"], Value::Null);
        let listed = app.get("/v1/inquiries", token).await;
        let items = listed.assert_status(200)["items"].as_array().unwrap();
        let item = items.iter().find(|i| i["id"] == linked.as_str()).unwrap();
        assert_eq!(
            item["related_inquiry_id"],
            Value::Null,
            "the list shows the link"
        );
        let trail = events(&app, &linked, token).await;
        assert!(!serde_json::to_string(&trail).unwrap().contains(&first));
    }
}

/// A key is remembered for 24 hours: a retry within them replays, after them the same key
/// is a new request, and the sweeper purges what expired.
async fn idempotency_keys_expire_after_24_hours(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "acknowledged").await;
    let path = format!("/v1/inquiries/{id}/update");
    let body = json!({"message": "Still looking."});
    let send = || async {
        app.client
            .post(format!("{}{path}", app.address))
            .bearer_auth(&p.bra)
            .header("Idempotency-Key", "update-1")
            .json(&body)
            .send()
            .await
            .unwrap()
    };
    let first = send().await;
    assert_eq!(first.status(), 200);
    let retry = send().await;
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let version = written(&app, &id, &p.chl).await.0;

    app.db
        .execute(&format!(
            "UPDATE idempotency_keys SET created_at = {}",
            if app.db.is_postgres() {
                "created_at - INTERVAL '25 hours'".to_owned()
            } else {
                let old = cbm2::clock::now() - chrono::TimeDelta::hours(25);
                format!(
                    "'{}'",
                    old.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                )
            }
        ))
        .await;
    let after_expiry = send().await;
    assert_eq!(after_expiry.status(), 200);
    assert!(after_expiry.headers().get("idempotent-replayed").is_none());
    assert_eq!(
        written(&app, &id, &p.chl).await.0,
        version + 1,
        "applied anew"
    );

    app.db
        .execute(&format!(
            "UPDATE idempotency_keys SET created_at = {}",
            if app.db.is_postgres() {
                "created_at - INTERVAL '25 hours'".to_owned()
            } else {
                "'2000-01-01T00:00:00.000000Z'".to_owned()
            }
        ))
        .await;
    poll_until(
        "the sweeper to purge the expired key",
        Duration::from_secs(20),
        async || (app.db.count("SELECT count(*) FROM idempotency_keys").await == 0).then_some(()),
    )
    .await;
}

on_both_databases!(
    a_fractional_timeframe_is_refused_naming_the_field_and_writes_nothing,
    one_undecodable_inquiry_fails_neither_the_lists_nor_the_sweeper,
    the_responding_state_sees_nothing_of_the_preparation,
    events_are_paged_with_a_cursor_oldest_first,
    the_secretariat_sees_no_hash_and_the_participants_do,
    an_explicit_deadline_lies_at_most_180_days_ahead,
    invisible_and_reordering_characters_are_refused_naming_the_field,
    third_states_are_member_states_other_than_the_parties,
    only_the_requesting_state_sees_a_related_inquiry,
    idempotency_keys_expire_after_24_hours,
);
