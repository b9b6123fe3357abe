//! GET /v1/inquiries: each POC its state's inquiries, the Secretariat all of them as
//! metadata, newest first, filtered and paginated.

use std::collections::HashSet;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::workflow::{
    Parties, act, allowed, assert_metadata_only, create, describe_body, inquiry_at, inquiry_path,
    request_info_body, time, valid_body,
};

/// Follows `next_cursor` as `token` with `query` (which must not hold `cursor`) and
/// returns the ids in the order listed.
async fn walk(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/inquiries?{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let reply = app.get(&path, token).await;
        let page = reply.assert_status(200);
        for item in page["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return ids,
        }
        assert!(ids.len() < 1000, "the pages never end");
    }
}

/// The ids of one page of `GET /v1/inquiries?{query}`.
async fn listed(app: &TestApp, token: &str, query: &str) -> Vec<String> {
    let reply = app.get(&format!("/v1/inquiries?{query}"), token).await;
    reply.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A MEX → CHL inquiry, sent.
async fn mexico_asks_chile(app: &TestApp, p: &Parties) -> String {
    let id = create(app, &p.mex).await;
    act(
        app,
        &id,
        "lookup-poc",
        &p.mex,
        json!({"member_state": "CHL"}),
    )
    .await
    .assert_status(200);
    act(app, &id, "invoke", &p.mex, json!({}))
        .await
        .assert_status(200);
    act(app, &id, "describe", &p.mex, describe_body())
        .await
        .assert_status(200);
    act(
        app,
        &id,
        "request-info",
        &p.mex,
        request_info_body("routine"),
    )
    .await
    .assert_status(200);
    id
}

async fn each_state_lists_its_own_inquiries_newest_first_and_the_secretariat_lists_all(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let i1 = inquiry_at(&app, &p, "draft").await;
    let i2 = inquiry_at(&app, &p, "awaiting_response").await;
    let i3 = inquiry_at(&app, &p, "acknowledged").await;
    let i4 = inquiry_at(&app, &p, "poc_identified").await;
    let i5 = create(&app, &p.bra).await;
    let i6 = mexico_asks_chile(&app, &p).await;
    let i7 = inquiry_at(&app, &p, "closed").await;

    assert_eq!(
        listed(&app, &p.chl, "").await,
        [
            i7.as_str(),
            i6.as_str(),
            i4.as_str(),
            i3.as_str(),
            i2.as_str(),
            i1.as_str()
        ]
    );
    assert_eq!(
        listed(&app, &p.bra, "").await,
        [i7.as_str(), i5.as_str(), i3.as_str(), i2.as_str()],
        "Brazil sees what was sent to it, never Chile's drafts"
    );
    assert_eq!(listed(&app, &p.mex, "").await, [i6.as_str()]);
    assert_eq!(
        listed(&app, &app.secretariat, "").await,
        [
            i7.as_str(),
            i6.as_str(),
            i5.as_str(),
            i4.as_str(),
            i3.as_str(),
            i2.as_str(),
            i1.as_str()
        ]
    );

    assert_eq!(
        listed(&app, &p.chl, "role=requester").await,
        [
            i7.as_str(),
            i4.as_str(),
            i3.as_str(),
            i2.as_str(),
            i1.as_str()
        ]
    );
    assert_eq!(listed(&app, &p.chl, "role=responder").await, [i6.as_str()]);
    assert_eq!(listed(&app, &p.bra, "role=requester").await, [i5.as_str()]);
    assert_eq!(
        listed(&app, &p.bra, "role=responder").await,
        [i7.as_str(), i3.as_str(), i2.as_str()]
    );
    assert_eq!(
        listed(&app, &p.chl, "status=awaiting_response").await,
        [i6.as_str(), i2.as_str()]
    );
    assert_eq!(
        listed(&app, &p.chl, "status=awaiting_response&role=requester").await,
        [i2.as_str()]
    );
    assert_eq!(listed(&app, &p.bra, "status=draft").await, [i5.as_str()]);
    assert_eq!(
        listed(&app, &app.secretariat, "status=acknowledged").await,
        [i3.as_str()]
    );
    assert_eq!(
        listed(&app, &p.chl, "overdue=false").await,
        listed(&app, &p.chl, "").await,
        "nothing is overdue yet"
    );
    assert!(listed(&app, &p.chl, "overdue=true").await.is_empty());

    // Each side sees its allowed actions and the content; the Secretariat neither.
    let page = app.get("/v1/inquiries", &p.bra).await;
    let items = page.assert_status(200)["items"].as_array().unwrap().clone();
    let i3_for_brazil = items.iter().find(|i| i["id"] == i3.as_str()).unwrap();
    assert_eq!(
        allowed(i3_for_brazil),
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
    assert_eq!(i3_for_brazil["nature"], describe_body()["nature"]);
    let page = app.get("/v1/inquiries", &p.chl).await;
    let items = page.assert_status(200)["items"].as_array().unwrap().clone();
    let i6_for_chile = items.iter().find(|i| i["id"] == i6.as_str()).unwrap();
    assert_eq!(
        allowed(i6_for_chile),
        [
            "acknowledge",
            "respond",
            "message",
            "log_contact",
            "share",
            "unshare",
            "attach"
        ]
    );
    assert_eq!(i6_for_chile["requester"]["poc_id"], p.mex_id.as_str());
    let page = app.get("/v1/inquiries", &app.secretariat).await;
    for item in page.assert_status(200)["items"].as_array().unwrap() {
        assert_metadata_only(item, "the Secretariat's list");
        assert!(item["status"].is_string() && item["requesting_state"].is_string());
    }

    let refused = app
        .get("/v1/inquiries?role=requester", &app.secretariat)
        .await;
    let problem = refused.assert_problem(403, None);
    assert!(problem["detail"].as_str().unwrap().starts_with("role: "));
    for (query, field) in [
        ("status=lost", "status"),
        ("role=bystander", "role"),
        ("overdue=maybe", "overdue"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("cursor=not-ours", "cursor"),
        ("colour=blue", "colour"),
    ] {
        app.get(&format!("/v1/inquiries?{query}"), &p.chl)
            .await
            .assert_problem(400, Some(field));
    }
    app.assert_audit_intact().await;
}

async fn pages_of_one_walk_every_inquiry_once_in_order(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create(&app, &p.chl).await);
    }
    created.push(mexico_asks_chile(&app, &p).await);
    created.push(create(&app, &p.bra).await);
    created.reverse();

    let all_for_chile: Vec<String> = created
        .iter()
        .filter(|id| *id != created.first().unwrap())
        .cloned()
        .collect();
    let walked = walk(&app, &p.chl, "limit=1").await;
    assert_eq!(walked, all_for_chile);
    assert_eq!(walk(&app, &p.chl, "limit=2").await, all_for_chile);
    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "no inquiry twice");

    assert_eq!(walk(&app, &app.secretariat, "limit=1").await, created);
    assert_eq!(
        walk(&app, &p.chl, "limit=1&role=requester").await,
        all_for_chile[1..],
        "filters hold across pages"
    );
    let first = app.get("/v1/inquiries?limit=6", &p.chl).await;
    assert_eq!(first.assert_status(200)["next_cursor"], Value::Null);
    let first = app.get("/v1/inquiries?limit=5", &p.chl).await;
    assert!(first.assert_status(200)["next_cursor"].is_string());
    app.assert_audit_intact().await;
}

async fn overdue_work_is_listed_for_both_states_and_the_secretariat(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let on_time = inquiry_at(&app, &p, "acknowledged").await;
    let late = inquiry_at(&app, &p, "awaiting_response").await;
    let acknowledged = act(
        &app,
        &late,
        "acknowledge",
        &p.bra,
        json!({"estimated_timeframe": "PT1S"}),
    )
    .await;
    let due = time(&acknowledged.assert_status(200)["response_due_at"]);
    assert_eq!(acknowledged.body["overdue"], false);
    // The deadline is a second away; wait for it to pass (not for readiness).
    let wait = (due - Utc::now() + TimeDelta::milliseconds(50))
        .to_std()
        .unwrap_or_default();
    tokio::time::sleep(wait).await;

    for token in [&p.chl, &p.bra, &app.secretariat] {
        assert_eq!(listed(&app, token, "overdue=true").await, [late.as_str()]);
        assert_eq!(
            listed(&app, token, "overdue=false").await,
            [on_time.as_str()]
        );
    }
    assert_eq!(
        listed(&app, &p.bra, "overdue=true&role=responder").await,
        [late.as_str()]
    );
    assert!(
        listed(&app, &p.chl, "overdue=true&role=responder")
            .await
            .is_empty()
    );
    let view = app.get(&inquiry_path(&late), &p.chl).await;
    assert_eq!(view.assert_status(200)["overdue"], true);
    let for_secretariat = app.get(&inquiry_path(&late), &app.secretariat).await;
    assert_eq!(allowed(for_secretariat.assert_status(200)), ["remind"]);

    // The Secretariat may remind an overdue inquiry, and only that one.
    let reminded = act(&app, &late, "remind", &app.secretariat, json!({})).await;
    assert_eq!(reminded.assert_status(200)["status"], "acknowledged");
    assert_metadata_only(&reminded.body, "the remind answer");
    act(&app, &on_time, "remind", &app.secretariat, json!({}))
        .await
        .assert_problem(409, None);
    // Answering ends the lateness.
    act(&app, &late, "respond", &p.bra, valid_body("respond"))
        .await
        .assert_status(200);
    assert!(listed(&app, &p.chl, "overdue=true").await.is_empty());
    app.assert_audit_intact().await;
}

on_both_databases!(
    each_state_lists_its_own_inquiries_newest_first_and_the_secretariat_lists_all,
    pages_of_one_walk_every_inquiry_once_in_order,
    overdue_work_is_listed_for_both_states_and_the_secretariat,
);
