//! Protocol 1.1 through HTTP: messages, contacts logged outside cbm2, shares, who may act,
//! and notifications that follow a state's POCs of the day.

use serde_json::json;

use crate::email::poc;
use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::webhooks::{Receiver, register, settle};
use crate::workflow::{Parties, act, allowed, events, inquiry_path, written};

/// A minute ago, as RFC 3339: a time a contact may have taken place.
fn a_minute_ago() -> String {
    (cbm2::clock::now() - chrono::TimeDelta::minutes(1)).to_rfc3339()
}

/// Chile's inquiry to Brazil, sent; its id.
async fn sent(app: &TestApp, p: &Parties) -> String {
    let view = app
        .send_inquiry(&p.chl, "BRA", "routine", None, false)
        .await;
    view["id"].as_str().unwrap().to_owned()
}

async fn a_contact_request_is_answered_by_a_message_that_both_sides_read(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = sent(&app, &p).await;
    act(
        &app,
        &id,
        "acknowledge",
        &p.bra,
        json!({"estimated_timeframe": "P2D", "contact_requested": true}),
    )
    .await
    .assert_status(200);

    let contact = json!({"name": "CSIRT duty officer", "email": "duty@csirt.example.cl", "phone": "+56 2 2486 3850"});
    let answered = act(
        &app,
        &id,
        "message",
        &p.chl,
        json!({"text": "Please call our CSIRT.", "contact": contact}),
    )
    .await;
    let answered = answered.assert_status(200);
    assert_eq!(answered["status"], "acknowledged", "no status change");
    assert_eq!(answered["contact"], contact);
    assert!(answered["contact_provided_at"].is_string(), "{answered}");

    // The responder reads the contact in its view, and the message in its trail.
    let for_brazil = app.get(&inquiry_path(&id), &p.bra).await;
    let for_brazil = for_brazil.assert_status(200);
    assert_eq!(for_brazil["contact"], contact);
    assert_eq!(
        for_brazil["contact_provided_at"],
        answered["contact_provided_at"]
    );
    let trail = events(&app, &id, &p.bra).await;
    let message = trail.last().unwrap();
    assert_eq!(message["type"], "message");
    assert_eq!(message["actor"]["role"], "requester");
    assert_eq!(message["payload"]["text"], "Please call our CSIRT.");

    // After responding, the responder adds information; either side still writes.
    act(
        &app,
        &id,
        "respond",
        &p.bra,
        json!({"information": "Taken down."}),
    )
    .await
    .assert_status(200);
    let added = act(
        &app,
        &id,
        "message",
        &p.bra,
        json!({"text": "The hosting company sent its logs."}),
    )
    .await;
    assert_eq!(added.assert_status(200)["status"], "responded");
    let trail = events(&app, &id, &p.chl).await;
    assert_eq!(
        trail.last().unwrap()["payload"]["text"],
        "The hosting company sent its logs."
    );
    app.assert_audit_intact().await;
}

async fn conversation_actions_are_refused_where_the_table_says_and_write_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = app.described_inquiry(&p.chl, "BRA", false).await;
    let before = written(&app, &id, &p.chl).await;

    // Not sent yet: no message, no logged contact (409 with what is allowed).
    let refused = act(&app, &id, "message", &p.chl, json!({"text": "Hello"})).await;
    refused.assert_problem(409, None);
    assert_eq!(refused.body["current_status"], "incident_described");
    assert_eq!(
        allowed(&refused.body),
        ["describe", "request_info", "withdraw", "share", "unshare"]
    );
    let body = json!({"channel": "phone", "at": a_minute_ago(), "summary": "Called"});
    act(&app, &id, "log-contact", &p.chl, body.clone())
        .await
        .assert_problem(409, None);
    // The Secretariat is no party: 403; another state does not see it: 404.
    act(
        &app,
        &id,
        "message",
        &app.secretariat,
        json!({"text": "Hi"}),
    )
    .await
    .assert_problem(403, None);
    act(&app, &id, "message", &p.mex, json!({"text": "Hi"}))
        .await
        .assert_problem(404, None);
    assert_eq!(written(&app, &id, &p.chl).await, before);

    app.post(
        &format!("/v1/inquiries/{id}/request-info"),
        &p.chl,
        json!({"questions": "Yours?", "contact": {"name": "Eva Rojas", "email": "eva@example.org"}, "time_sensitivity": "routine"}),
    )
    .await
    .assert_status(200);
    let before = written(&app, &id, &p.chl).await;
    for (token, action, body, field) in [
        // Only the requesting state gives contact details in a message.
        (
            &p.bra,
            "message",
            json!({"text": "Ours", "contact": {"name": "Ana", "email": "ana@example.org"}}),
            "contact",
        ),
        (&p.chl, "message", json!({"text": ""}), "text"),
        (&p.chl, "message", json!({"text": "\u{200b}"}), "text"),
        (
            &p.bra,
            "log-contact",
            json!({"channel": "phone", "at": "2999-01-01T00:00:00Z", "summary": "From the future"}),
            "at",
        ),
        (
            &p.bra,
            "log-contact",
            json!({"channel": "phone", "at": "2020-01-01T00:00:00Z", "summary": "Long before"}),
            "at",
        ),
        (
            &p.bra,
            "log-contact",
            json!({"channel": "pigeon", "at": a_minute_ago(), "summary": "Coo"}),
            "channel",
        ),
        // A policy POC already sees the inquiry; Mexico's POC is not Chile's.
        (&p.chl, "share", json!({"poc_id": p.chl_id}), "poc_id"),
        (&p.chl, "share", json!({"poc_id": p.mex_id}), "poc_id"),
        (&p.chl, "unshare", json!({"poc_id": p.mex_id}), "poc_id"),
    ] {
        let reply = act(&app, &id, action, token, body.clone()).await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 422),
            "{action} {body}: {} {}",
            reply.status,
            reply.body
        );
        assert!(
            reply.body["detail"].as_str().unwrap().contains(field),
            "{action} {body}: the detail names {field}: {}",
            reply.body
        );
    }
    assert_eq!(
        written(&app, &id, &p.chl).await,
        before,
        "a refused action writes nothing"
    );

    // Accepted, and a retry with the same Idempotency-Key replays without writing.
    let (csirt_id, _) = app.technical_poc_with_token("CHL", "Tomas Lagos").await;
    let mut version = before.0;
    for (action, body) in [
        (
            "log-contact",
            json!({"channel": "phone", "at": a_minute_ago(), "summary": "Called Brasília"}),
        ),
        ("message", json!({"text": "Any news?"})),
        ("share", json!({"poc_id": csirt_id})),
        ("unshare", json!({"poc_id": csirt_id})),
    ] {
        let path = format!("/v1/inquiries/{id}/{action}");
        let key = [("Idempotency-Key", action)];
        let first = app
            .post_with_headers(&path, &p.chl, body.clone(), &key)
            .await;
        let first = first.assert_status(200).clone();
        let again = app.post_with_headers(&path, &p.chl, body, &key).await;
        assert_eq!(again.assert_status(200), &first, "{action}");
        assert_eq!(again.headers["idempotent-replayed"], "true", "{action}");
        version += 1;
        assert_eq!(
            first["version"], version,
            "{action}: one event for two requests"
        );
        assert_eq!(
            first["status"], "awaiting_response",
            "{action}: no status change"
        );
    }
    let view = app.get(&inquiry_path(&id), &p.chl).await;
    let view = view.assert_status(200);
    assert_eq!(view["logged_contacts"][0]["side"], "requester");
    assert_eq!(view["logged_contacts"][0]["channel"], "phone");
    assert_eq!(view["shares"], json!([]), "shared, then unshared");
    app.assert_audit_intact().await;
}

async fn messages_and_contact_summaries_reach_the_two_states_and_shares_only(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (csirt_id, csirt) = app.technical_poc_with_token("CHL", "Tomas Lagos").await;
    let id = sent(&app, &p).await;
    act(
        &app,
        &id,
        "message",
        &p.bra,
        json!({"text": "SECRET-MESSAGE"}),
    )
    .await
    .assert_status(200);
    act(
        &app,
        &id,
        "log-contact",
        &p.chl,
        json!({"channel": "meeting", "at": a_minute_ago(), "summary": "SECRET-SUMMARY"}),
    )
    .await
    .assert_status(200);

    // A third state and an unshared technical POC of Chile: nothing, not even the inquiry.
    for token in [&p.mex, &csirt] {
        app.get(&inquiry_path(&id), token)
            .await
            .assert_problem(404, None);
        app.get(&format!("{}/events", inquiry_path(&id)), token)
            .await
            .assert_problem(404, None);
        let listed = app.get("/v1/inquiries", token).await;
        assert_eq!(listed.assert_status(200)["items"], json!([]));
    }
    // The Secretariat: that a contact was logged, when and by which side; no content.
    let view = app.get(&inquiry_path(&id), &app.secretariat).await;
    let view = view.assert_status(200);
    assert_eq!(view["logged_contacts"][0]["side"], "requester");
    assert_eq!(view["logged_contacts"][0]["channel"], "meeting");
    let trail = app
        .get(&format!("{}/events", inquiry_path(&id)), &app.secretariat)
        .await;
    let secretariat_sees = format!("{view} {}", trail.assert_status(200));
    assert!(
        !secretariat_sees.contains("SECRET"),
        "the Secretariat sees content: {secretariat_sees}"
    );
    assert!(
        secretariat_sees.contains("log_contact"),
        "{secretariat_sees}"
    );

    // Shared: Chile's CSIRT reads everything its state reads, and writes messages.
    let shared = act(&app, &id, "share", &p.chl, json!({"poc_id": csirt_id})).await;
    let shared = shared.assert_status(200);
    assert_eq!(shared["shares"][0]["poc_id"], csirt_id.as_str());
    assert_eq!(shared["shares"][0]["role"], "technical");
    let for_csirt = app.get(&inquiry_path(&id), &csirt).await;
    let for_csirt = for_csirt.assert_status(200).clone();
    assert_eq!(for_csirt["standing"], "shared");
    assert_eq!(allowed(&for_csirt), ["message", "attach"]);
    let trail = events(&app, &id, &csirt).await.to_vec();
    let text = serde_json::to_string(&trail).unwrap();
    assert!(
        text.contains("SECRET-MESSAGE") && text.contains("SECRET-SUMMARY"),
        "{text}"
    );
    let listed = app.get("/v1/inquiries", &csirt).await;
    assert_eq!(listed.assert_status(200)["items"][0]["id"], id.as_str());
    act(
        &app,
        &id,
        "message",
        &csirt,
        json!({"text": "CSIRT of Chile here."}),
    )
    .await
    .assert_status(200);
    for (action, body) in [
        ("close", json!({})),
        ("share", json!({"poc_id": csirt_id})),
        (
            "log-contact",
            json!({"channel": "phone", "at": a_minute_ago(), "summary": "x"}),
        ),
    ] {
        act(&app, &id, action, &csirt, body)
            .await
            .assert_problem(403, None);
    }
    // Brazil does not see Chile's shares; Brazil's own view lists none.
    let for_brazil = app.get(&inquiry_path(&id), &p.bra).await;
    assert_eq!(for_brazil.assert_status(200)["shares"], json!([]));
    let types = |trail: Vec<serde_json::Value>| -> Vec<String> {
        trail
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(!types(events(&app, &id, &p.bra).await).contains(&"share".to_owned()));
    assert!(types(events(&app, &id, &p.chl).await).contains(&"share".to_owned()));

    // Unshared: nothing again.
    act(&app, &id, "unshare", &p.chl, json!({"poc_id": csirt_id}))
        .await
        .assert_status(200);
    app.get(&inquiry_path(&id), &csirt)
        .await
        .assert_problem(404, None);
    let listed = app.get("/v1/inquiries", &csirt).await;
    assert_eq!(listed.assert_status(200)["items"], json!([]));
    app.assert_audit_intact().await;
}

async fn only_policy_pocs_of_participating_states_act(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (_, csirt) = app.technical_poc_with_token("CHL", "Tomas Lagos").await;
    let refused = app.post("/v1/inquiries", &csirt, json!({})).await;
    refused.assert_problem(403, None);
    assert!(
        refused.body["detail"].as_str().unwrap().contains("policy"),
        "{}",
        refused.body
    );

    let id = sent(&app, &p).await;
    // Brazil stops participating: its POC reads the inquiry but may not act on it.
    app.patch(
        "/v1/member-states/BRA",
        &app.secretariat,
        json!({"participating": false}),
    )
    .await
    .assert_status(200);
    let view = app.get(&inquiry_path(&id), &p.bra).await;
    let view = view.assert_status(200);
    assert_eq!(view["standing"], "not_participating");
    assert_eq!(allowed(view), Vec::<&str>::new());
    let before = written(&app, &id, &p.chl).await;
    let refused = act(
        &app,
        &id,
        "acknowledge",
        &p.bra,
        json!({"estimated_timeframe": "P1D"}),
    )
    .await;
    refused.assert_problem(403, None);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("does not participate"),
        "{}",
        refused.body
    );
    assert_eq!(written(&app, &id, &p.chl).await, before);
    let refused = app.post("/v1/inquiries", &p.bra, json!({})).await;
    refused.assert_problem(403, None);
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("BRA does not participate"),
        "{}",
        refused.body
    );
}

async fn the_next_notification_reaches_the_responding_states_new_poc_only(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let p = Parties::enrol(&app).await;
    register(&app, &p.bra, &receiver.url("/ana"), None).await;
    let id = sent(&app, &p).await;
    settle(&app.db).await;
    assert_eq!(receiver.count("/ana"), 1, "the sending reached Ana");

    // Ana leaves; Bruno takes the post. Nobody re-addresses the inquiry.
    app.post(
        &format!("/v1/pocs/{}/deactivate", p.bra_id),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    let (_, bruno) = app.poc_with_token("BRA", "Bruno Costa").await;
    register(&app, &bruno, &receiver.url("/bruno"), None).await;

    act(&app, &id, "message", &p.chl, json!({"text": "Any news?"}))
        .await
        .assert_status(200);
    settle(&app.db).await;
    assert_eq!(receiver.count("/ana"), 1, "nothing more to Ana");
    let told = receiver.at("/bruno");
    assert_eq!(told.len(), 1, "Bruno is told once");
    let data = told[0].json()["data"].clone();
    assert_eq!(told[0].event(), "message");
    assert_eq!(data["inquiry_id"], id.as_str());
    assert_eq!(data["exercise"], false);
    assert!(
        !told[0].text().contains("Any news?"),
        "a notification never carries the message: {}",
        told[0].text()
    );

    // Bruno answers; the lookup snapshot still records Ana as the POC addressed.
    act(
        &app,
        &id,
        "acknowledge",
        &bruno,
        json!({"estimated_timeframe": "P1D"}),
    )
    .await
    .assert_status(200);
    let view = app.get(&inquiry_path(&id), &p.chl).await;
    assert_eq!(
        view.assert_status(200)["responding_pocs"][0]["id"],
        p.bra_id.as_str()
    );
    app.assert_audit_intact().await;
}

async fn the_invocation_speaks_the_responding_pocs_language_or_several(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    poc(
        &app,
        "HTI",
        "Marie Joseph",
        "marie.joseph@mae.example.ht",
        &["fr", "en"],
    )
    .await;
    let looked_up = async |state: &str| {
        let id = app.post("/v1/inquiries", &p.chl, json!({})).await;
        let id = id.assert_status(201)["id"].as_str().unwrap().to_owned();
        act(
            &app,
            &id,
            "lookup-poc",
            &p.chl,
            json!({"member_state": state}),
        )
        .await
        .assert_status(200);
        id
    };

    // No language: the responding POC's first.
    let id = looked_up("HTI").await;
    let invoked = act(&app, &id, "invoke", &p.chl, json!({})).await;
    let invoked = invoked.assert_status(200);
    assert_eq!(invoked["language"], "fr");
    assert!(invoked.get("languages").is_none(), "{invoked}");

    // Several: one after the other, in the order asked.
    let id = looked_up("BRA").await;
    for (body, field) in [
        (json!({"languages": []}), "languages"),
        (json!({"languages": ["en", "en"]}), "languages"),
        (json!({"languages": ["en", "xx"]}), "languages"),
        (json!({"language": "en", "languages": ["pt"]}), "languages"),
    ] {
        let refused = act(&app, &id, "invoke", &p.chl, body.clone()).await;
        assert!(
            matches!(refused.status.as_u16(), 400 | 422)
                && refused.body["detail"].as_str().unwrap().contains(field),
            "{body}: {} {}",
            refused.status,
            refused.body
        );
    }
    let invoked = act(
        &app,
        &id,
        "invoke",
        &p.chl,
        json!({"languages": ["en", "pt"]}),
    )
    .await;
    let invoked = invoked.assert_status(200);
    assert_eq!(invoked["language"], "en");
    assert_eq!(invoked["languages"], json!(["en", "pt"]));
    let text = invoked["invocation_text"].as_str().unwrap();
    let (english, portuguese) = text.split_once("\n\n* * *\n\n").expect(text);
    assert!(english.contains("accusation"), "{english}");
    assert!(portuguese.contains("acusação"), "{portuguese}");
}

async fn an_exercise_says_so_in_its_notifications_and_to_the_secretariat(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let p = Parties::enrol(&app).await;
    register(&app, &p.bra, &receiver.url("/bra"), None).await;
    let drill = app.send_inquiry(&p.chl, "BRA", "routine", None, true).await;
    let id = drill["id"].as_str().unwrap();
    settle(&app.db).await;
    let told = receiver.at("/bra");
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0].json()["data"]["exercise"],
        true,
        "{}",
        told[0].text()
    );
    let view = app.get(&inquiry_path(id), &app.secretariat).await;
    assert_eq!(view.assert_status(200)["exercise"], true);
    let listed = app.get("/v1/inquiries", &app.secretariat).await;
    assert_eq!(listed.assert_status(200)["items"][0]["exercise"], true);
}

on_both_databases!(
    a_contact_request_is_answered_by_a_message_that_both_sides_read,
    conversation_actions_are_refused_where_the_table_says_and_write_nothing,
    messages_and_contact_summaries_reach_the_two_states_and_shares_only,
    only_policy_pocs_of_participating_states_act,
    the_next_notification_reaches_the_responding_states_new_poc_only,
    the_invocation_speaks_the_responding_pocs_language_or_several,
    an_exercise_says_so_in_its_notifications_and_to_the_secretariat,
);
