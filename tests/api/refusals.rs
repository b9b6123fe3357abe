//! Refused requests: transitions the protocol does not allow (409), invalid lookups and
//! bodies (422), stale versions (412), reused idempotency keys; none of them writes.

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestDb, on_both_databases, spawn_app};
use crate::workflow::{
    Parties, act, allowed, create, describe_body, events, inquiry_at, inquiry_path,
    request_info_body, valid_body, written,
};

/// Who takes a refused action in the table below.
#[derive(Clone, Copy, Debug)]
enum By {
    Requester,
    Responder,
    Secretariat,
}

async fn every_action_the_status_does_not_allow_is_refused_with_409_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    use By::{Requester, Responder, Secretariat};
    // (status reached, who, action); the body is a valid one for the action.
    let table: &[(&str, &[(By, &str)])] = &[
        (
            "draft",
            &[
                (Requester, "invoke"),
                (Requester, "describe"),
                (Requester, "request-info"),
                (Requester, "follow-up"),
                (Requester, "close"),
            ],
        ),
        (
            "poc_identified",
            &[
                (Requester, "describe"),
                (Requester, "request-info"),
                (Requester, "follow-up"),
                (Requester, "close"),
            ],
        ),
        (
            "cbm2_invoked",
            &[
                (Requester, "lookup-poc"),
                (Requester, "invoke"),
                (Requester, "request-info"),
                (Requester, "close"),
            ],
        ),
        (
            "incident_described",
            &[
                (Requester, "lookup-poc"),
                (Requester, "invoke"),
                (Requester, "follow-up"),
                (Requester, "close"),
                (Secretariat, "remind"),
            ],
        ),
        (
            "awaiting_response",
            &[
                (Requester, "lookup-poc"),
                (Requester, "invoke"),
                (Requester, "describe"),
                (Requester, "request-info"),
                (Requester, "follow-up"),
                (Responder, "update"),
                (Secretariat, "remind"),
            ],
        ),
        (
            "acknowledged",
            &[
                (Requester, "request-info"),
                (Requester, "follow-up"),
                (Responder, "acknowledge"),
                (Secretariat, "remind"),
            ],
        ),
        (
            "responded",
            &[
                (Requester, "describe"),
                (Requester, "request-info"),
                (Responder, "acknowledge"),
                (Responder, "update"),
                (Responder, "respond"),
                (Secretariat, "remind"),
            ],
        ),
        (
            "closed",
            &[
                (Requester, "close"),
                (Requester, "withdraw"),
                (Requester, "follow-up"),
                (Requester, "lookup-poc"),
                (Responder, "respond"),
                (Responder, "acknowledge"),
                (Secretariat, "remind"),
            ],
        ),
        (
            "withdrawn",
            &[
                (Requester, "withdraw"),
                (Requester, "close"),
                (Requester, "describe"),
                (Responder, "respond"),
                (Responder, "acknowledge"),
            ],
        ),
    ];

    for (status, refusals) in table {
        let id = inquiry_at(&app, &p, status).await;
        let before = written(&app, &id, &p.chl).await;
        for (by, action) in *refusals {
            let token = match by {
                Requester => &p.chl,
                Responder => &p.bra,
                Secretariat => &app.secretariat,
            };
            let expected = app.get(&inquiry_path(&id), token).await;
            let expected = allowed(expected.assert_status(200))
                .into_iter()
                .map(str::to_owned)
                .collect::<Vec<_>>();

            let reply = act(&app, &id, action, token, valid_body(action)).await;

            let problem = reply.assert_problem(409, None);
            assert_eq!(
                problem["current_status"], *status,
                "{by:?} {action} at {status}"
            );
            assert_eq!(
                allowed(problem),
                expected,
                "{by:?} {action} at {status}: allowed_actions are the caller's"
            );
            assert!(
                !expected.contains(&action.replace('-', "_")),
                "the refused action is not among the allowed ones"
            );
            assert_eq!(
                written(&app, &id, &p.chl).await,
                before,
                "{by:?} {action} at {status} wrote something"
            );
        }
    }
    app.assert_audit_intact().await;
}

async fn a_lookup_is_refused_for_the_own_state_a_non_participating_state_and_a_state_without_an_active_policy_poc(
    db: TestDb,
) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    // Peru has a policy POC but does not take part in CBM #2.
    app.create_poc("PER", "policy", "Rosa Quispe").await;
    app.patch(
        "/v1/member-states/PER",
        &app.secretariat,
        json!({"participating": false}),
    )
    .await
    .assert_status(200);
    // Argentina has only a technical POC and an MFA POC.
    app.create_poc("ARG", "technical", "Ines Paz").await;
    app.create_poc("ARG", "mfa", "Juan Perez").await;
    // Colombia's only policy POC was deactivated.
    let colombian = app.create_poc("COL", "policy", "Camila Rios").await;
    app.post(
        &format!("/v1/pocs/{}/deactivate", colombian["id"].as_str().unwrap()),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    let id = create(&app, &p.chl).await;

    for (state, why) in [
        ("CHL", "the requester's own state"),
        ("PER", "a state that does not participate"),
        ("ARG", "a state with no policy POC"),
        ("COL", "a state whose policy POC is deactivated"),
        ("PAN", "a state with no POC at all"),
        ("XXX", "no OAS Member State"),
    ] {
        let reply = act(
            &app,
            &id,
            "lookup-poc",
            &p.chl,
            json!({"member_state": state}),
        )
        .await;
        let problem = reply.assert_problem(422, Some("member_state"));
        assert!(
            problem["detail"].as_str().unwrap().contains(state),
            "{why}: the detail names {state}: {problem}"
        );
        assert_eq!(
            written(&app, &id, &p.chl).await,
            (1, 1),
            "{why}: nothing written"
        );
    }
    let view = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(view.assert_status(200)["status"], "draft");
    assert_eq!(view.body["responding_state"], Value::Null);

    // Taking part again makes the same lookup succeed.
    app.patch(
        "/v1/member-states/PER",
        &app.secretariat,
        json!({"participating": true}),
    )
    .await
    .assert_status(200);
    let looked_up = act(
        &app,
        &id,
        "lookup-poc",
        &p.chl,
        json!({"member_state": "PER"}),
    )
    .await;
    assert_eq!(looked_up.assert_status(200)["responding_state"], "PER");
    app.assert_audit_intact().await;
}

async fn the_responding_pocs_are_a_snapshot_taken_at_lookup(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (bruno_id, bruno) = app.poc_with_token("BRA", "Bruno Lima").await;
    app.create_poc("BRA", "technical", "Tecnico Silva").await;
    let id = create(&app, &p.chl).await;
    let looked_up = act(
        &app,
        &id,
        "lookup-poc",
        &p.chl,
        json!({"member_state": "BRA"}),
    )
    .await;
    let snapshot = looked_up.assert_status(200)["responding_pocs"].clone();
    let ids: Vec<&str> = snapshot
        .as_array()
        .unwrap()
        .iter()
        .map(|poc| poc["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [p.bra_id.as_str(), bruno_id.as_str()],
        "Brazil's active policy POCs, not its technical one"
    );
    assert_eq!(snapshot[0]["name"], "Ana Souza");
    assert_eq!(snapshot[0]["email"], "ana.souza@mfa.example.org");

    // The directory changes: Ana leaves, Carla joins, Bruno changes his e-mail.
    app.post(
        &format!("/v1/pocs/{}/deactivate", p.bra_id),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    app.create_poc("BRA", "policy", "Carla Dias").await;
    app.patch(
        &format!("/v1/pocs/{bruno_id}"),
        &app.secretariat,
        json!({"email": "bruno.lima@itamaraty.gov.br"}),
    )
    .await
    .assert_status(200);

    let shown = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(shown.assert_status(200)["responding_pocs"], snapshot);
    let invoked = act(&app, &id, "invoke", &p.chl, json!({"language": "en"})).await;
    let text = invoked.assert_status(200)["invocation_text"]
        .as_str()
        .unwrap();
    // Two POCs were looked up: the invocation addresses them as Brazil's points of
    // contact, and names nobody the directory added since.
    assert!(
        text.starts_with("Dear points of contact of Brazil,") && !text.contains("Carla Dias"),
        "the invocation addresses the POCs looked up: {text}"
    );
    act(&app, &id, "describe", &p.chl, describe_body())
        .await
        .assert_status(200);
    act(
        &app,
        &id,
        "request-info",
        &p.chl,
        request_info_body("routine"),
    )
    .await
    .assert_status(200);
    let for_brazil = app.get(&inquiry_path(&id), &bruno).await;
    assert_eq!(for_brazil.assert_status(200)["responding_pocs"], snapshot);
    app.assert_audit_intact().await;
}

async fn invalid_bodies_are_refused_with_422_naming_the_field_and_write_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let past = (Utc::now() - TimeDelta::hours(1)).to_rfc3339();
    let future = (Utc::now() + TimeDelta::hours(1)).to_rfc3339();
    let far = (Utc::now() + TimeDelta::days(200)).to_rfc3339();
    let describe_with = |field: &str, value: Value| {
        let mut body = describe_body();
        body[field] = value;
        body
    };
    let mut no_sectors = describe_body();
    no_sectors.as_object_mut().unwrap().remove("sectors");
    let request_with = |field: &str, value: Value| {
        let mut body = request_info_body("routine");
        body[field] = value;
        body
    };
    // (status, as responder?, action, body, field)
    let table: Vec<(&str, bool, &str, Value, &str)> = vec![
        (
            "draft",
            false,
            "lookup-poc",
            json!({"member_state": "br"}),
            "member_state",
        ),
        ("draft", false, "lookup-poc", json!({}), "member_state"),
        (
            "draft",
            false,
            "lookup-poc",
            json!({"member_state": "BRA", "urgent": true}),
            "urgent",
        ),
        (
            "poc_identified",
            false,
            "invoke",
            json!({"language": "de"}),
            "language",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with("colour", json!("blue")),
            "colour",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with("nature", json!("")),
            "nature",
        ),
        ("cbm2_invoked", false, "describe", no_sectors, "sectors"),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with(
                "indicators",
                json!([{"type": "ipv4", "value": "not-an-address"}]),
            ),
            "indicators[0]",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with(
                "indicators",
                json!([{"type": "ipv4", "value": "203.0.113.7"}, {"type": "hash", "value": "xyz"}]),
            ),
            "indicators[1]",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with("indicators", json!([{"type": "mac", "value": "00:11"}])),
            "indicators[0].type",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            json!({"nature": "Scanning", "category": "recon", "sectors": [], "observed_from": future}),
            "observed_from",
        ),
        (
            "cbm2_invoked",
            false,
            "describe",
            describe_with("observed_to", json!("2025-01-09T00:00:00Z")),
            "observed_to",
        ),
        (
            "incident_described",
            false,
            "request-info",
            request_with("time_sensitivity", json!("whenever")),
            "time_sensitivity",
        ),
        (
            "incident_described",
            false,
            "request-info",
            request_with("respond_by", json!(past)),
            "respond_by",
        ),
        (
            "incident_described",
            false,
            "request-info",
            request_with(
                "contact",
                json!({"name": "Eva Rojas", "email": "not an address"}),
            ),
            "contact.email",
        ),
        (
            "incident_described",
            false,
            "request-info",
            json!({"contact": {"name": "Eva Rojas", "email": "eva@minrel.gob.cl"}, "time_sensitivity": "routine"}),
            "questions",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "P1M"}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "soon"}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "P181D"}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "PT0S"}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": 3}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"respond_by": past}),
            "respond_by",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"respond_by": far}),
            "respond_by",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "P3D", "respond_by": future}),
            "estimated_timeframe",
        ),
        (
            "awaiting_response",
            true,
            "acknowledge",
            json!({"estimated_timeframe": "P3D", "contact_requested": "yes"}),
            "contact_requested",
        ),
        (
            "awaiting_response",
            true,
            "respond",
            json!({"information": ""}),
            "information",
        ),
        (
            "awaiting_response",
            true,
            "respond",
            json!({"information": "x", "third_states": ["BRA"]}),
            "third_states",
        ),
        (
            "awaiting_response",
            true,
            "respond",
            json!({"information": "x", "third_states": ["ARG", "ARG"]}),
            "third_states",
        ),
        (
            "awaiting_response",
            true,
            "respond",
            json!({"information": "x", "third_states": ["arg"]}),
            "third_states[0]",
        ),
        (
            "acknowledged",
            true,
            "update",
            json!({"message": "Later.", "estimated_timeframe": "P10D"}),
            "reason",
        ),
        (
            "acknowledged",
            true,
            "update",
            json!({"message": "Later.", "reason": "Because."}),
            "reason",
        ),
        (
            "acknowledged",
            true,
            "update",
            json!({"message": "Later.", "estimated_timeframe": "P1Y", "reason": "Because."}),
            "estimated_timeframe",
        ),
        (
            "acknowledged",
            true,
            "update",
            json!({"estimated_timeframe": "P10D", "reason": "Because."}),
            "message",
        ),
        (
            "responded",
            false,
            "follow-up",
            json!({"questions": "More?", "time_sensitivity": "whenever"}),
            "time_sensitivity",
        ),
        (
            "responded",
            false,
            "follow-up",
            json!({"questions": "More?", "respond_by": past}),
            "respond_by",
        ),
        (
            "responded",
            false,
            "close",
            json!({"resolution": 5}),
            "resolution",
        ),
        ("responded", false, "withdraw", json!({}), "reason"),
        (
            "responded",
            false,
            "withdraw",
            json!({"reason": ""}),
            "reason",
        ),
    ];

    let mut at_status = std::collections::HashMap::new();
    for (status, _, _, _, _) in &table {
        if !at_status.contains_key(status) {
            at_status.insert(*status, inquiry_at(&app, &p, status).await);
        }
    }
    for (status, as_responder, action, body, field) in table {
        let id = &at_status[status];
        let before = written(&app, id, &p.chl).await;
        let token = if as_responder { &p.bra } else { &p.chl };

        let reply = act(&app, id, action, token, body.clone()).await;

        reply.assert_problem(422, Some(field));
        assert_eq!(
            written(&app, id, &p.chl).await,
            before,
            "{action} {body} at {status} wrote something"
        );
        let view = app.get(&inquiry_path(id), &p.chl).await;
        assert_eq!(view.assert_status(200)["status"], status);
    }
    app.assert_audit_intact().await;
}

async fn a_stale_if_match_is_refused_with_412_and_a_current_one_is_accepted(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "poc_identified").await;
    let path = format!("/v1/inquiries/{id}/invoke");

    // A tag too large for any version is well formed (the contract's pattern) and stale.
    for stale in ["\"1\"", "\"3\"", "W/\"1\"", "\"99999999999999999999999\""] {
        let reply = app
            .post_with_headers(&path, &p.chl, json!({}), &[("if-match", stale)])
            .await;
        reply.assert_problem(412, None);
        assert_eq!(written(&app, &id, &p.chl).await, (2, 2), "If-Match {stale}");
    }
    for malformed in ["two", "2", "\"+2\"", "\"-1\"", "\"\"", "\"1\", \"2\""] {
        app.post_with_headers(&path, &p.chl, json!({}), &[("if-match", malformed)])
            .await
            .assert_problem(400, Some("If-Match"));
    }

    let current = app.get(&inquiry_path(&id), &p.chl).await;
    let etag = current.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"2\"");
    let reply = app
        .post_with_headers(&path, &p.chl, json!({}), &[("if-match", &etag)])
        .await;
    assert_eq!(reply.assert_status(200)["status"], "cbm2_invoked");
    assert_eq!(reply.headers["etag"], "\"3\"");

    // The ETag the action answered is the one to send next.
    let next = reply.headers["etag"].to_str().unwrap().to_owned();
    let described = app
        .post_with_headers(
            &format!("/v1/inquiries/{id}/describe"),
            &p.chl,
            describe_body(),
            &[("if-match", &next)],
        )
        .await;
    described.assert_status(200);
    assert_eq!(written(&app, &id, &p.chl).await, (4, 4));
    app.assert_audit_intact().await;
}

async fn a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_writes_nothing(
    db: TestDb,
) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "incident_described").await;
    let path = format!("/v1/inquiries/{id}/request-info");
    let key = [("idempotency-key", "send-0001")];

    let first = app
        .post_with_headers(&path, &p.chl, request_info_body("urgent"), &key)
        .await;
    let answer = first.assert_status(200).clone();
    assert!(first.headers.get("idempotent-replayed").is_none());
    assert_eq!(answer["version"], 5);
    let after_first = written(&app, &id, &p.chl).await;
    assert_eq!(after_first, (5, 5));

    let retry = app
        .post_with_headers(&path, &p.chl, request_info_body("urgent"), &key)
        .await;
    assert_eq!(retry.assert_status(200), &answer, "the first answer, again");
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    assert_eq!(retry.headers["etag"], "\"5\"");
    assert_eq!(written(&app, &id, &p.chl).await, after_first);

    // Same key, another body, or another action: refused, nothing written.
    let other_body = app
        .post_with_headers(&path, &p.chl, request_info_body("critical"), &key)
        .await;
    other_body.assert_problem(422, Some("Idempotency-Key"));
    let other_action = app
        .post_with_headers(
            &format!("/v1/inquiries/{id}/withdraw"),
            &p.chl,
            json!({"reason": "x"}),
            &key,
        )
        .await;
    other_action.assert_problem(422, Some("Idempotency-Key"));
    assert_eq!(written(&app, &id, &p.chl).await, after_first);

    // Once the inquiry has moved on, the retry still gets the answer first given.
    act(&app, &id, "acknowledge", &p.bra, valid_body("acknowledge"))
        .await
        .assert_status(200);
    let late_retry = app
        .post_with_headers(&path, &p.chl, request_info_body("urgent"), &key)
        .await;
    assert_eq!(late_retry.assert_status(200), &answer);
    assert_eq!(written(&app, &id, &p.chl).await, (6, 6));

    // Keys belong to their caller: Brazil's key of the same name is its own.
    let by_brazil = app
        .post_with_headers(
            &format!("/v1/inquiries/{id}/update"),
            &p.bra,
            json!({"message": "Working on it."}),
            &key,
        )
        .await;
    assert_eq!(by_brazil.assert_status(200)["version"], 7);
    assert_eq!(
        events(&app, &id, &p.chl).await.len(),
        7,
        "one event per accepted action"
    );
    app.assert_audit_intact().await;
}

on_both_databases!(
    every_action_the_status_does_not_allow_is_refused_with_409_and_writes_nothing,
    a_lookup_is_refused_for_the_own_state_a_non_participating_state_and_a_state_without_an_active_policy_poc,
    the_responding_pocs_are_a_snapshot_taken_at_lookup,
    invalid_bodies_are_refused_with_422_naming_the_field_and_write_nothing,
    a_stale_if_match_is_refused_with_412_and_a_current_one_is_accepted,
    a_retry_with_the_same_idempotency_key_gets_the_first_answer_and_writes_nothing,
);
