//! The two response paths end to end, who sees what, and who may do what.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{
    ACTIONS, CONTENT_FIELDS, PARTICIPANT_ONLY_FIELDS, Parties, act, allowed, assert_metadata_only,
    create, describe_body, events, inquiry_at, inquiry_path, request_info_body, steps, time,
    valid_body, written,
};

/// Takes `action` as `token`, expects 200 and the next version, and checks the ETag.
async fn step(
    app: &TestApp,
    id: &str,
    action: &str,
    token: &str,
    body: Value,
    status: &str,
    version: i64,
) -> Value {
    let reply = act(app, id, action, token, body).await;
    let view = reply.assert_status(200).clone();
    assert_eq!(view["status"], status, "after {action}: {view}");
    assert_eq!(view["version"], version, "after {action}");
    assert_eq!(
        reply.headers["etag"],
        format!("\"{version}\""),
        "ETag after {action}"
    );
    view
}

fn event_types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

async fn an_immediate_response_takes_an_inquiry_from_draft_to_closed(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;

    let created = app.post("/v1/inquiries", &p.chl, json!({})).await;
    let draft = created.assert_status(201).clone();
    let id = draft["id"].as_str().unwrap().to_owned();
    assert_eq!(created.headers["location"], inquiry_path(&id));
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 1);
    assert_eq!(draft["requesting_state"], "CHL");
    assert_eq!(draft["responding_state"], Value::Null);
    assert_eq!(draft["requester"]["poc_id"], p.chl_id.as_str());
    assert_eq!(draft["requester"]["name"], "Eva Rojas");
    assert_eq!(draft["exercise"], false);
    assert_eq!(draft["related_inquiry_id"], Value::Null);
    assert_eq!(
        allowed(&draft),
        ["lookup_poc", "withdraw", "share", "unshare"]
    );
    let shown = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(
        shown.assert_status(200),
        &draft,
        "GET shows what the create answered"
    );
    assert_eq!(shown.headers["etag"], "\"1\"");

    let identified = step(
        &app,
        &id,
        "lookup-poc",
        &p.chl,
        json!({"member_state": "BRA"}),
        "poc_identified",
        2,
    )
    .await;
    assert_eq!(identified["responding_state"], "BRA");
    let pocs = identified["responding_pocs"].as_array().unwrap();
    assert_eq!(pocs.len(), 1);
    assert_eq!(pocs[0]["id"], p.bra_id.as_str());
    assert_eq!(pocs[0]["name"], "Ana Souza");

    let invoked = step(
        &app,
        &id,
        "invoke",
        &p.chl,
        json!({"language": "en"}),
        "cbm2_invoked",
        3,
    )
    .await;
    assert_eq!(invoked["language"], "en");
    let text = invoked["invocation_text"].as_str().unwrap();
    for expected in [
        "AG/RES. 2925 (XLVIII-O/18)",
        "paragraph 78",
        "does not constitute an accusation",
        "no presumption",
        "Eva Rojas",
        "Ministry of Foreign Affairs of CHL",
        "Chile",
        "Ana Souza",
        "Brazil",
    ] {
        assert!(
            text.contains(expected),
            "the invocation lacks {expected:?}: {text}"
        );
    }

    let described = step(
        &app,
        &id,
        "describe",
        &p.chl,
        describe_body(),
        "incident_described",
        4,
    )
    .await;
    assert_eq!(described["nature"], describe_body()["nature"]);
    assert_eq!(described["sectors"], json!(["government", "finance"]));
    assert_eq!(described["indicators"], describe_body()["indicators"]);
    assert_eq!(
        time(&described["observed_from"]),
        time(&json!("2025-01-10T08:00:00Z"))
    );
    assert_eq!(described["sent_at"], Value::Null);
    assert_eq!(described["due_at"], Value::Null);

    let sent = step(
        &app,
        &id,
        "request-info",
        &p.chl,
        request_info_body("urgent"),
        "awaiting_response",
        5,
    )
    .await;
    let sent_at = time(&sent["sent_at"]);
    assert_eq!(
        time(&sent["ack_due_at"]),
        sent_at + TimeDelta::days(1),
        "urgent: a day to acknowledge"
    );
    assert_eq!(sent["due_at"], sent["ack_due_at"]);
    assert_eq!(sent["response_due_at"], Value::Null);
    assert_eq!(sent["overdue"], false);
    assert_eq!(sent["time_sensitivity"], "urgent");
    assert_eq!(sent["contact"]["email"], "eva.rojas@minrel.gob.cl");
    assert_eq!(steps(&sent), ["close", "withdraw"]);

    let as_responder = app.get(&inquiry_path(&id), &p.bra).await;
    let as_responder = as_responder.assert_status(200);
    assert_eq!(steps(as_responder), ["acknowledge", "respond"]);
    assert_eq!(
        as_responder["questions"],
        request_info_body("urgent")["questions"]
    );
    assert_eq!(as_responder["invocation_text"], invoked["invocation_text"]);

    let responded = step(
        &app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "The address belongs to a compromised hosting customer."}),
        "responded",
        6,
    )
    .await;
    assert_eq!(
        responded["information"],
        "The address belongs to a compromised hosting customer."
    );
    assert!(time(&responded["responded_at"]) >= sent_at);
    assert_eq!(responded["due_at"], Value::Null);
    assert_eq!(
        steps(&responded),
        [] as [&str; 0],
        "the responder has nothing left to do"
    );
    let for_requester = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(
        steps(for_requester.assert_status(200)),
        ["follow_up", "close", "withdraw"]
    );

    let closed = step(
        &app,
        &id,
        "close",
        &p.chl,
        json!({"resolution": "Activity stopped."}),
        "closed",
        7,
    )
    .await;
    assert_eq!(closed["resolution"], "Activity stopped.");
    assert!(time(&closed["ended_at"]) >= time(&responded["responded_at"]));
    assert_eq!(steps(&closed), [] as [&str; 0]);

    let trail = events(&app, &id, &p.chl).await;
    assert_eq!(
        event_types(&trail),
        [
            "created",
            "lookup_poc",
            "invoke",
            "describe",
            "request_info",
            "respond",
            "close"
        ]
    );
    for (i, event) in trail.iter().enumerate() {
        assert_eq!(event["seq"], i as i64 + 1);
        assert_eq!(event["hash"].as_str().unwrap().len(), 64);
        assert!(
            event.get("payload").is_some(),
            "participants see payloads: {event}"
        );
    }
    assert_eq!(
        trail[5]["actor"],
        json!({"role": "responder", "poc_id": p.bra_id, "member_state": "BRA"})
    );
    assert_eq!(
        trail[6]["actor"],
        json!({"role": "requester", "poc_id": p.chl_id, "member_state": "CHL"})
    );
    assert_eq!(trail[5]["payload"]["information"], responded["information"]);
    assert_eq!(
        events(&app, &id, &p.bra).await,
        trail[4..],
        "the responding state sees the trail from the sending on"
    );
    app.assert_audit_intact().await;
}

async fn an_acknowledged_inquiry_is_updated_revised_answered_and_closed(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = create(&app, &p.chl).await;
    step(
        &app,
        &id,
        "lookup-poc",
        &p.chl,
        json!({"member_state": "BRA"}),
        "poc_identified",
        2,
    )
    .await;

    let invoked = step(
        &app,
        &id,
        "invoke",
        &p.chl,
        json!({"language": "es"}),
        "cbm2_invoked",
        3,
    )
    .await;
    assert_eq!(invoked["language"], "es");
    let text = invoked["invocation_text"].as_str().unwrap();
    for expected in [
        "AG/RES. 2925 (XLVIII-O/18)",
        "párrafo 78",
        "no constituye una acusación",
        "Eva Rojas",
        "Ana Souza",
        "Brasil",
        "Chile",
    ] {
        assert!(
            text.contains(expected),
            "the Spanish invocation lacks {expected:?}: {text}"
        );
    }
    assert!(
        !text.contains("paragraph 78"),
        "the text is Spanish: {text}"
    );

    step(
        &app,
        &id,
        "describe",
        &p.chl,
        describe_body(),
        "incident_described",
        4,
    )
    .await;
    let sent = step(
        &app,
        &id,
        "request-info",
        &p.chl,
        request_info_body("routine"),
        "awaiting_response",
        5,
    )
    .await;
    assert_eq!(
        time(&sent["ack_due_at"]),
        time(&sent["sent_at"]) + TimeDelta::days(5)
    );

    let before = Utc::now() - TimeDelta::milliseconds(1);
    let acknowledged = step(
        &app,
        &id,
        "acknowledge",
        &p.bra,
        json!({"estimated_timeframe": "P3D", "message": "We are looking into it.", "contact_requested": true}),
        "acknowledged",
        6,
    )
    .await;
    let after = Utc::now();
    let due = time(&acknowledged["response_due_at"]);
    assert!(
        before + TimeDelta::days(3) <= due && due <= after + TimeDelta::days(3),
        "response_due_at {due} is not three days from now"
    );
    assert_eq!(
        due,
        time(&acknowledged["acknowledged_at"]) + TimeDelta::days(3)
    );
    assert_eq!(acknowledged["due_at"], acknowledged["response_due_at"]);
    assert_eq!(
        acknowledged["ack_due_at"], sent["ack_due_at"],
        "the acknowledgement deadline is kept"
    );
    assert_eq!(acknowledged["estimated_timeframe"], "P3D");
    assert_eq!(acknowledged["contact_requested"], true);
    assert_eq!(acknowledged["message"], "We are looking into it.");
    assert_eq!(
        allowed(&acknowledged),
        [
            "update",
            "respond",
            "message",
            "log_contact",
            "share",
            "unshare",
            "attach"
        ]
    );
    let for_requester = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(
        allowed(for_requester.assert_status(200)),
        [
            "close",
            "withdraw",
            "message",
            "log_contact",
            "share",
            "unshare",
            "attach"
        ]
    );

    let interim = step(
        &app,
        &id,
        "update",
        &p.bra,
        json!({"message": "Our CSIRT has identified the hosting provider."}),
        "acknowledged",
        7,
    )
    .await;
    assert_eq!(
        interim["message"],
        "Our CSIRT has identified the hosting provider."
    );
    assert_eq!(
        interim["response_due_at"], acknowledged["response_due_at"],
        "an interim update keeps the deadline"
    );
    assert_eq!(interim["estimated_timeframe"], "P3D");

    act(
        &app,
        &id,
        "update",
        &p.bra,
        json!({"message": "The provider needs a court order.", "estimated_timeframe": "P10D"}),
    )
    .await
    .assert_problem(422, Some("reason"));
    assert_eq!(
        written(&app, &id, &p.chl).await,
        (7, 7),
        "a refused revision writes nothing"
    );

    let revised = step(
        &app,
        &id,
        "update",
        &p.bra,
        json!({"message": "The provider needs a court order.", "estimated_timeframe": "P10D", "reason": "Waiting for a court order"}),
        "acknowledged",
        8,
    )
    .await;
    assert_eq!(revised["estimated_timeframe"], "P10D");
    assert_eq!(
        time(&revised["response_due_at"]),
        time(&revised["updated_at"]) + TimeDelta::days(10)
    );
    assert_eq!(revised["due_at"], revised["response_due_at"]);

    let responded = step(
        &app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "The domain was suspended."}),
        "responded",
        9,
    )
    .await;
    assert_eq!(responded["due_at"], Value::Null);
    assert_eq!(responded["overdue"], false);
    step(&app, &id, "close", &p.chl, json!({}), "closed", 10).await;

    let trail = events(&app, &id, &p.chl).await;
    assert_eq!(
        event_types(&trail),
        [
            "created",
            "lookup_poc",
            "invoke",
            "describe",
            "request_info",
            "acknowledge",
            "update",
            "update",
            "respond",
            "close"
        ]
    );
    assert_eq!(trail[7]["payload"]["reason"], "Waiting for a court order");
    app.assert_audit_intact().await;
}

/// The view keys only the participants see, present in a fully filled inquiry.
async fn a_fully_filled_inquiry(app: &TestApp, p: &Parties) -> String {
    let id = inquiry_at(app, p, "acknowledged").await;
    act(app, &id, "update", &p.bra, json!({"message": "Interim."}))
        .await
        .assert_status(200);
    act(
        app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "Relayed from Argentina.", "third_states": ["ARG"]}),
    )
    .await
    .assert_status(200);
    act(
        app,
        &id,
        "close",
        &p.chl,
        json!({"resolution": "Referred to Argentina."}),
    )
    .await
    .assert_status(200);
    id
}

async fn the_secretariat_sees_metadata_only_in_views_lists_and_events(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = a_fully_filled_inquiry(&app, &p).await;
    let withdrawn = inquiry_at(&app, &p, "withdrawn").await;

    // The participants' view holds every such field, so their absence below means something.
    let full = app.get(&inquiry_path(&id), &p.chl).await;
    let full = full.assert_status(200).as_object().unwrap().clone();
    for field in CONTENT_FIELDS.iter().chain(PARTICIPANT_ONLY_FIELDS.iter()) {
        assert!(
            full.contains_key(*field),
            "the requester's view lacks {field}"
        );
    }

    let view = app.get(&inquiry_path(&id), &app.secretariat).await;
    let view = view.assert_status(200);
    assert_metadata_only(view, "GET /inquiries/{id}");
    for field in [
        "id",
        "status",
        "version",
        "requesting_state",
        "responding_state",
        "time_sensitivity",
        "created_at",
        "sent_at",
        "ack_due_at",
        "response_due_at",
        "due_at",
        "overdue",
        "exercise",
        "logged_contacts",
    ] {
        assert_eq!(
            view[field], full[field],
            "the Secretariat sees {field} as the requester does"
        );
    }
    assert_eq!(
        view["allowed_actions"],
        json!([]),
        "nothing to do once closed"
    );
    assert_eq!(view["status"], "closed");
    assert_eq!(view["responding_state"], "BRA");
    let view = app.get(&inquiry_path(&withdrawn), &app.secretariat).await;
    assert_metadata_only(view.assert_status(200), "a withdrawn inquiry");

    let list = app.get("/v1/inquiries", &app.secretariat).await;
    let items = list.assert_status(200)["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    for item in &items {
        assert_metadata_only(item, "GET /inquiries item");
    }

    let trail = events(&app, &id, &app.secretariat).await;
    assert_eq!(trail.len(), events(&app, &id, &p.chl).await.len());
    assert!(
        trail.iter().all(|event| event.get("hash").is_none()),
        "the Secretariat sees no hash: with every other input known, it would be an oracle"
    );
    for event in &trail {
        let map = event.as_object().unwrap();
        assert!(
            !map.contains_key("payload"),
            "the Secretariat sees a payload: {event}"
        );
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        for key in &keys {
            assert!(
                ["seq", "type", "actor", "at"].contains(key),
                "unexpected event key {key}"
            );
        }
    }
    app.assert_audit_intact().await;
}

async fn the_secretariat_may_not_take_the_states_actions(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    app.post("/v1/inquiries", &app.secretariat, json!({}))
        .await
        .assert_problem(403, None);
    let preparing = inquiry_at(&app, &p, "incident_described").await;
    let open = inquiry_at(&app, &p, "acknowledged").await;
    let answered = inquiry_at(&app, &p, "responded").await;
    let before = (
        written(&app, &preparing, &p.chl).await,
        written(&app, &open, &p.chl).await,
        written(&app, &answered, &p.chl).await,
    );

    for id in [&preparing, &open, &answered] {
        for action in ACTIONS.iter().filter(|a| **a != "remind") {
            let reply = act(&app, id, action, &app.secretariat, valid_body(action)).await;
            reply.assert_problem(403, None);
        }
    }

    let after = (
        written(&app, &preparing, &p.chl).await,
        written(&app, &open, &p.chl).await,
        written(&app, &answered, &p.chl).await,
    );
    assert_eq!(after, before, "refused actions write nothing");
    app.assert_audit_intact().await;
}

async fn each_state_may_take_only_its_own_side_of_the_actions(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let open = inquiry_at(&app, &p, "awaiting_response").await;
    let answered = inquiry_at(&app, &p, "responded").await;
    let before = (
        written(&app, &open, &p.chl).await,
        written(&app, &answered, &p.chl).await,
    );

    for action in ["acknowledge", "update", "respond", "remind"] {
        act(&app, &open, action, &p.chl, valid_body(action))
            .await
            .assert_problem(403, None);
    }
    for action in [
        "lookup-poc",
        "invoke",
        "describe",
        "request-info",
        "close",
        "withdraw",
        "remind",
    ] {
        act(&app, &open, action, &p.bra, valid_body(action))
            .await
            .assert_problem(403, None);
    }
    act(
        &app,
        &answered,
        "follow-up",
        &p.bra,
        valid_body("follow-up"),
    )
    .await
    .assert_problem(403, None);

    let after = (
        written(&app, &open, &p.chl).await,
        written(&app, &answered, &p.chl).await,
    );
    assert_eq!(after, before, "refused actions write nothing");
    app.assert_audit_intact().await;
}

async fn a_third_state_cannot_see_or_touch_an_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let mut ids = Vec::new();
    for status in [
        "draft",
        "incident_described",
        "awaiting_response",
        "acknowledged",
        "responded",
        "closed",
    ] {
        ids.push(inquiry_at(&app, &p, status).await);
    }
    let mut before = Vec::new();
    for id in &ids {
        before.push(written(&app, id, &p.chl).await);
    }

    for id in &ids {
        app.get(&inquiry_path(id), &p.mex)
            .await
            .assert_problem(404, None);
        app.get(&format!("/v1/inquiries/{id}/events"), &p.mex)
            .await
            .assert_problem(404, None);
        for action in ACTIONS {
            act(&app, id, action, &p.mex, valid_body(action))
                .await
                .assert_problem(404, None);
        }
    }
    let listed = app.get("/v1/inquiries", &p.mex).await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    let unknown = uuid::Uuid::now_v7().to_string();
    let missing = app.get(&inquiry_path(&unknown), &p.mex).await;
    let invisible = app.get(&inquiry_path(&ids[2]), &p.mex).await;
    assert_eq!(
        (missing.status, &missing.body["title"]),
        (invisible.status, &invisible.body["title"]),
        "an invisible inquiry answers as if it did not exist"
    );

    let mut after = Vec::new();
    for id in &ids {
        after.push(written(&app, id, &p.chl).await);
    }
    assert_eq!(after, before, "refused actions write nothing");
    app.assert_audit_intact().await;
}

/// Brazil, the responding state, may neither see nor act on `id` yet.
async fn hidden_from_brazil(app: &TestApp, p: &Parties, id: &str) {
    app.get(&inquiry_path(id), &p.bra)
        .await
        .assert_problem(404, None);
    app.get(&format!("/v1/inquiries/{id}/events"), &p.bra)
        .await
        .assert_problem(404, None);
    for action in ["acknowledge", "respond", "update"] {
        act(app, id, action, &p.bra, valid_body(action))
            .await
            .assert_problem(404, None);
    }
    let listed = app.get("/v1/inquiries", &p.bra).await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
}

async fn the_responding_state_sees_an_inquiry_only_once_it_is_sent(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = create(&app, &p.chl).await;
    let steps = [
        ("lookup-poc", "poc_identified"),
        ("invoke", "cbm2_invoked"),
        ("describe", "incident_described"),
    ];
    hidden_from_brazil(&app, &p, &id).await;
    for (action, status) in steps {
        act(&app, &id, action, &p.chl, valid_body(action))
            .await
            .assert_status(200);
        hidden_from_brazil(&app, &p, &id).await;
        assert_eq!(
            written(&app, &id, &p.chl).await.0,
            match status {
                "poc_identified" => 2,
                "cbm2_invoked" => 3,
                _ => 4,
            }
        );
    }

    act(
        &app,
        &id,
        "request-info",
        &p.chl,
        request_info_body("critical"),
    )
    .await
    .assert_status(200);
    let seen = app.get(&inquiry_path(&id), &p.bra).await;
    let seen = seen.assert_status(200);
    assert_eq!(seen["status"], "awaiting_response");
    assert_eq!(seen["nature"], describe_body()["nature"]);
    assert_eq!(
        event_types(&events(&app, &id, &p.bra).await),
        ["request_info"],
        "nothing of the preparation"
    );
    let listed = app.get("/v1/inquiries", &p.bra).await;
    assert_eq!(listed.assert_status(200)["items"][0]["id"], id.as_str());
    app.assert_audit_intact().await;
}

/// (status, the requester's allowed actions, the responder's, or `None` where the
/// responding state may not see the inquiry).
type AllowedAt = (
    &'static str,
    &'static [&'static str],
    Option<&'static [&'static str]>,
);

async fn allowed_actions_follow_the_status_and_the_caller(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let none: &'static [&'static str] = &[];
    // Protocol 1.1 adds: share and unshare in every status, message while sent and not
    // ended, log_contact once sent.
    let table: [AllowedAt; 9] = [
        (
            "draft",
            &["lookup_poc", "withdraw", "share", "unshare"],
            None,
        ),
        (
            "poc_identified",
            &["lookup_poc", "invoke", "withdraw", "share", "unshare"],
            None,
        ),
        (
            "cbm2_invoked",
            &["describe", "withdraw", "share", "unshare"],
            None,
        ),
        (
            "incident_described",
            &["describe", "request_info", "withdraw", "share", "unshare"],
            None,
        ),
        (
            "awaiting_response",
            &[
                "close",
                "withdraw",
                "message",
                "log_contact",
                "share",
                "unshare",
                "attach",
            ],
            Some(&[
                "acknowledge",
                "respond",
                "message",
                "log_contact",
                "share",
                "unshare",
                "attach",
            ]),
        ),
        (
            "acknowledged",
            &[
                "close",
                "withdraw",
                "message",
                "log_contact",
                "share",
                "unshare",
                "attach",
            ],
            Some(&[
                "update",
                "respond",
                "message",
                "log_contact",
                "share",
                "unshare",
                "attach",
            ]),
        ),
        (
            "responded",
            &[
                "follow_up",
                "close",
                "withdraw",
                "message",
                "log_contact",
                "share",
                "unshare",
                "attach",
            ],
            Some(&["message", "log_contact", "share", "unshare", "attach"]),
        ),
        (
            "closed",
            &["log_contact", "share", "unshare"],
            Some(&["log_contact", "share", "unshare"]),
        ),
        (
            "withdrawn",
            &["log_contact", "share", "unshare"],
            Some(&["log_contact", "share", "unshare"]),
        ),
    ];
    for (status, requester, responder) in table {
        let id = inquiry_at(&app, &p, status).await;
        let view = app.get(&inquiry_path(&id), &p.chl).await;
        assert_eq!(
            allowed(view.assert_status(200)),
            requester,
            "requester at {status}"
        );
        let secretariat = app.get(&inquiry_path(&id), &app.secretariat).await;
        assert_eq!(
            allowed(secretariat.assert_status(200)),
            none,
            "Secretariat at {status} (not overdue)"
        );
        let for_responder = app.get(&inquiry_path(&id), &p.bra).await;
        match responder {
            Some(expected) => assert_eq!(
                allowed(for_responder.assert_status(200)),
                expected,
                "responder at {status}"
            ),
            None => {
                for_responder.assert_problem(404, None);
            }
        }
    }
    app.assert_audit_intact().await;
}

async fn a_response_naming_a_third_state_leads_to_a_linked_inquiry(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (arg_id, arg) = app.poc_with_token("ARG", "Ines Paz").await;
    let first = inquiry_at(&app, &p, "awaiting_response").await;
    let responded = act(&app, &first, "respond", &p.bra, json!({"information": "The server relays traffic from Argentina.", "third_states": ["ARG"]})).await;
    assert_eq!(responded.assert_status(200)["third_states"], json!(["ARG"]));

    let linked = app
        .post(
            "/v1/inquiries",
            &p.chl,
            json!({"related_inquiry_id": first}),
        )
        .await;
    let linked = linked.assert_status(201).clone();
    assert_eq!(linked["related_inquiry_id"], first.as_str());
    let linked_id = linked["id"].as_str().unwrap().to_owned();
    let shown = app.get(&inquiry_path(&linked_id), &p.chl).await;
    assert_eq!(
        shown.assert_status(200)["related_inquiry_id"],
        first.as_str()
    );
    let for_secretariat = app.get(&inquiry_path(&linked_id), &app.secretariat).await;
    assert_eq!(
        for_secretariat.assert_status(200)["related_inquiry_id"],
        Value::Null,
        "only the requesting state sees the link"
    );
    let looked_up = act(
        &app,
        &linked_id,
        "lookup-poc",
        &p.chl,
        json!({"member_state": "ARG"}),
    )
    .await;
    assert_eq!(
        looked_up.assert_status(200)["responding_pocs"][0]["id"],
        arg_id.as_str()
    );

    // Argentina named in the response does not make the first inquiry Argentina's.
    app.get(&inquiry_path(&first), &arg)
        .await
        .assert_problem(404, None);
    // The responding state may link to the inquiry it answered.
    let by_brazil = app
        .post(
            "/v1/inquiries",
            &p.bra,
            json!({"related_inquiry_id": first}),
        )
        .await;
    assert_eq!(
        by_brazil.assert_status(201)["related_inquiry_id"],
        first.as_str()
    );

    let inquiries_before = app.get("/v1/inquiries", &app.secretariat).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    for (token, related) in [
        (&p.mex, first.clone()),
        (&arg, first.clone()),
        (&p.chl, uuid::Uuid::now_v7().to_string()),
    ] {
        app.post(
            "/v1/inquiries",
            token,
            json!({"related_inquiry_id": related}),
        )
        .await
        .assert_problem(422, Some("related_inquiry_id"));
    }
    // Brazil cannot see a draft of Chile's, so cannot link to it either.
    let draft = create(&app, &p.chl).await;
    let inquiries_before = inquiries_before + 1;
    app.post(
        "/v1/inquiries",
        &p.bra,
        json!({"related_inquiry_id": draft}),
    )
    .await
    .assert_problem(422, Some("related_inquiry_id"));
    let inquiries_after = app.get("/v1/inquiries", &app.secretariat).await.body["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(
        inquiries_after, inquiries_before,
        "refused creates write nothing"
    );
    app.assert_audit_intact().await;
}

async fn an_exercise_is_stored_and_shown(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let reply = app
        .post("/v1/inquiries", &p.chl, json!({"exercise": true}))
        .await;
    let exercise = reply.assert_status(201).clone();
    assert_eq!(exercise["exercise"], true);
    let id = exercise["id"].as_str().unwrap();
    for token in [&p.chl, &app.secretariat] {
        let shown = app.get(&inquiry_path(id), token).await;
        assert_eq!(shown.assert_status(200)["exercise"], true);
    }
    let trail = events(&app, id, &p.chl).await;
    assert_eq!(trail[0]["payload"]["exercise"], true);
    let real = create(&app, &p.chl).await;
    let shown = app.get(&inquiry_path(&real), &p.chl).await;
    assert_eq!(shown.assert_status(200)["exercise"], false);
    app.post("/v1/inquiries", &p.chl, json!({"exercise": "yes"}))
        .await
        .assert_problem(422, Some("exercise"));
    app.assert_audit_intact().await;
}

on_both_databases!(
    an_immediate_response_takes_an_inquiry_from_draft_to_closed,
    an_acknowledged_inquiry_is_updated_revised_answered_and_closed,
    the_secretariat_sees_metadata_only_in_views_lists_and_events,
    the_secretariat_may_not_take_the_states_actions,
    each_state_may_take_only_its_own_side_of_the_actions,
    a_third_state_cannot_see_or_touch_an_inquiry,
    the_responding_state_sees_an_inquiry_only_once_it_is_sent,
    allowed_actions_follow_the_status_and_the_caller,
    a_response_naming_a_third_state_leads_to_a_linked_inquiry,
    an_exercise_is_stored_and_shown,
);
