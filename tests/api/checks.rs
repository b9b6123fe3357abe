//! Communication checks: the Secretariat asks the POCs of some states to reply within a
//! window and sees who did, per state; each POC sees and answers only its own checks.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use serde_json::{Value, json};

use crate::deadlines::time;
use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};

const CHECKS: &str = "/v1/communication-checks";

fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_owned()
}

/// The ids of the POCs listed in `list` (an array of `{poc_id, …}`).
fn poc_ids(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|p| p["poc_id"].as_str().unwrap().to_owned())
        .collect()
}

fn state<'a>(check: &'a Value, code: &str) -> &'a Value {
    check["results"]["by_state"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["member_state"] == code)
        .unwrap_or_else(|| panic!("no {code} in {check:#}"))
}

fn target<'a>(check: &'a Value, poc_id: &str) -> &'a Value {
    check["results"]["by_state"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["pocs"].as_array().unwrap())
        .find(|p| p["poc_id"] == poc_id)
        .unwrap_or_else(|| panic!("{poc_id} not asked in {check:#}"))
}

/// The ids of the checks `token` lists, newest first.
async fn listed(app: &TestApp, token: &str) -> Vec<String> {
    let page = app.get(&format!("{CHECKS}?limit=200"), token).await;
    page.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect()
}

async fn a_check_shows_who_replied_in_time_and_who_did_not(db: TestDb) {
    let app = spawn_app(db).await;
    let (bra_policy, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let bra_technical = id(&app.create_poc("BRA", "technical", "Rui Lima").await);
    let (chl_id, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (mex_id, mex) = app.poc_with_token("MEX", "Luis Garcia").await;
    // A deactivated POC is not asked.
    let gone = id(&app.create_poc("BRA", "policy", "Old Contact").await);
    app.post(
        &format!("/v1/pocs/{gone}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);

    let created = app
        .post(
            CHECKS,
            &app.secretariat,
            json!({"member_states": ["BRA", "CHL"], "reply_window": "PT2S"}),
        )
        .await;
    let check = created.assert_status(201).clone();
    let check_id = id(&check);
    let path = format!("{CHECKS}/{check_id}");
    assert_eq!(created.headers["location"], path.as_str());
    assert_eq!(check["results"]["asked"], 3, "{check:#}");
    assert_eq!(check["results"]["replied"], 0);
    assert_eq!(check["reply_window"], "PT2S");
    assert_eq!(check["member_states"], json!(["BRA", "CHL"]));
    let window_ends_at = time(&check["window_ends_at"]);
    assert_eq!(
        window_ends_at - time(&check["created_at"]),
        TimeDelta::seconds(2)
    );
    assert_eq!(state(&check, "BRA")["asked"], 2);
    assert_eq!(state(&check, "CHL")["asked"], 1);
    assert_eq!(
        check["results"]["by_state"].as_array().unwrap().len(),
        2,
        "{check:#}"
    );
    assert_eq!(
        poc_ids(&state(&check, "BRA")["pocs"]),
        BTreeSet::from([bra_policy.clone(), bra_technical.clone()])
    );
    assert_eq!(
        app.get(&path, &app.secretariat).await.assert_status(200)["results"]["asked"],
        3
    );

    // A POC of a state not asked does not see the check, and may not reply: to it the
    // check does not exist (openapi.yaml: 404 on GET and on reply alike).
    app.get(&path, &mex).await.assert_problem(404, None);
    app.post(&format!("{path}/reply"), &mex, json!({}))
        .await
        .assert_problem(404, None);
    // The Secretariat does not reply.
    app.post(&format!("{path}/reply"), &app.secretariat, json!({}))
        .await
        .assert_problem(403, None);

    // A POC asked sees the check without the others' results, and replies once.
    let seen = app.get(&path, &bra).await;
    let seen = seen.assert_status(200);
    assert_eq!(seen["your_reply"], Value::Null);
    assert!(seen.get("results").is_none(), "{seen:#}");
    let replied = app.post(&format!("{path}/reply"), &bra, json!({})).await;
    let first_reply = replied.assert_status(200)["your_reply"].clone();
    assert!(
        first_reply.is_string(),
        "your_reply is set: {}",
        replied.body
    );
    let again = app.post(&format!("{path}/reply"), &bra, json!({})).await;
    assert_eq!(
        again.assert_status(200)["your_reply"],
        first_reply,
        "replying twice keeps the first time"
    );
    assert_eq!(
        app.get(&path, &bra).await.assert_status(200)["your_reply"],
        first_reply
    );

    let progress = app.get(&path, &app.secretariat).await;
    let progress = progress.assert_status(200).clone();
    assert_eq!(progress["results"]["replied"], 1);
    assert_eq!(state(&progress, "BRA")["replied"], 1);
    assert_eq!(state(&progress, "CHL")["replied"], 0);
    let bra_target = target(&progress, &bra_policy);
    assert_eq!(time(&bra_target["replied_at"]), time(&first_reply));
    assert_eq!(bra_target["late"], false);
    assert!(bra_target["reply_time"].is_string(), "{bra_target}");
    if Utc::now() + TimeDelta::milliseconds(300) < window_ends_at {
        assert_eq!(progress["window_ended"], false, "{progress:#}");
        assert_eq!(progress["results"]["not_replied"], json!([]));
    }

    let ended = poll_until(
        "the check's window to end",
        Duration::from_secs(15),
        async || {
            let check = app
                .get(&path, &app.secretariat)
                .await
                .assert_status(200)
                .clone();
            (check["window_ended"] == true).then_some(check)
        },
    )
    .await;
    assert!(Utc::now() >= window_ends_at);
    assert_eq!(
        poc_ids(&ended["results"]["not_replied"]),
        BTreeSet::from([bra_technical.clone(), chl_id.clone()]),
        "exactly those who did not reply: {ended:#}"
    );
    assert_eq!(ended["results"]["replied_in_time"], 1);

    // A reply after the window is recorded, late, and still counts as not replied.
    let late = app.post(&format!("{path}/reply"), &chl, json!({})).await;
    assert!(late.assert_status(200)["your_reply"].is_string());
    let after = app.get(&path, &app.secretariat).await;
    let after = after.assert_status(200).clone();
    let chl_target = target(&after, &chl_id);
    assert!(time(&chl_target["replied_at"]) > window_ends_at);
    assert_eq!(chl_target["late"], true, "{after:#}");
    assert_eq!(after["results"]["replied"], 2);
    assert_eq!(after["results"]["replied_in_time"], 1);
    assert_eq!(state(&after, "CHL")["replied"], 1);
    assert_eq!(
        poc_ids(&after["results"]["not_replied"]),
        BTreeSet::from([bra_technical.clone(), chl_id.clone()])
    );

    // The directory log has the start and each first reply, and nothing for the repeat.
    let log = app.collect_pages("/v1/directory/events?limit=200").await;
    let about_check: Vec<&Value> = log.iter().filter(|e| e["subject"] == check_id).collect();
    let started: Vec<_> = about_check
        .iter()
        .filter(|e| e["type"] == "communication_check_started")
        .collect();
    assert_eq!(started.len(), 1, "{about_check:#?}");
    assert_eq!(started[0]["actor"]["kind"], "secretariat");
    assert_eq!(started[0]["payload"]["asked"], 3);
    let replies: Vec<_> = about_check
        .iter()
        .filter(|e| e["type"] == "communication_check_replied")
        .collect();
    assert_eq!(replies.len(), 2, "{about_check:#?}");
    let repliers: BTreeSet<String> = replies
        .iter()
        .map(|e| e["actor"]["poc_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        repliers,
        BTreeSet::from([bra_policy.clone(), chl_id.clone()])
    );

    // A check of every state asks every active POC; a POC lists only its checks.
    let everyone = app
        .post(CHECKS, &app.secretariat, json!({"reply_window": "PT1H"}))
        .await;
    let everyone = everyone.assert_status(201).clone();
    assert_eq!(everyone["member_states"], Value::Null);
    assert_eq!(everyone["results"]["asked"], 4, "{everyone:#}");
    let mexico_only = app
        .post(
            CHECKS,
            &app.secretariat,
            json!({"member_states": ["MEX"], "reply_window": "P1D"}),
        )
        .await;
    let mexico_only = id(mexico_only.assert_status(201));
    let everyone = id(&everyone);
    assert_eq!(
        listed(&app, &app.secretariat).await,
        [&*mexico_only, &*everyone, &*check_id]
    );
    assert_eq!(listed(&app, &bra).await, [&*everyone, &*check_id]);
    assert_eq!(listed(&app, &chl).await, [&*everyone, &*check_id]);
    assert_eq!(listed(&app, &mex).await, [&*mexico_only, &*everyone]);
    let mex_view = app.get(&format!("{CHECKS}/{mexico_only}"), &mex).await;
    assert_eq!(mex_view.assert_status(200)["your_reply"], Value::Null);
    assert!(!mex_id.is_empty());
}

async fn a_check_is_started_by_the_secretariat_with_a_valid_body(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    app.poc_with_token("CHL", "Eva Rojas").await;
    let before = app.directory_event_count().await;

    let refused = [
        (
            json!({"member_states": ["XXX"], "reply_window": "PT2S"}),
            "member_states",
        ),
        (
            json!({"member_states": ["BRA"], "reply_window": "P1M"}),
            "reply_window",
        ),
        (
            json!({"member_states": [], "reply_window": "PT2S"}),
            "member_states",
        ),
        (
            json!({"member_states": ["BRA"], "reply_window": "P91D"}),
            "reply_window",
        ),
        (
            json!({"member_states": ["BRA"], "reply_window": "PT0S"}),
            "reply_window",
        ),
        (json!({"member_states": ["BRA"]}), "reply_window"),
        // Jamaica has no POC: nobody to ask.
        (
            json!({"member_states": ["JAM"], "reply_window": "PT2S"}),
            "member_states",
        ),
        (
            json!({"member_states": ["BRA"], "reply_window": "PT2S", "urgent": true}),
            "urgent",
        ),
    ];
    for (body, field) in refused {
        let reply = app.post(CHECKS, &app.secretariat, body.clone()).await;
        assert_eq!(reply.status, 422, "{body} → {}", reply.body);
        reply.assert_problem(422, Some(field));
    }
    app.post(
        CHECKS,
        &bra,
        json!({"member_states": ["BRA"], "reply_window": "PT2S"}),
    )
    .await
    .assert_problem(403, None);
    assert_eq!(
        app.directory_event_count().await,
        before,
        "nothing is written by a refused request"
    );
    assert!(listed(&app, &app.secretariat).await.is_empty());
    app.get(
        &format!("{CHECKS}/00000000-0000-0000-0000-000000000000"),
        &app.secretariat,
    )
    .await
    .assert_problem(404, None);
}

async fn a_reply_to_a_check_not_asking_you_is_the_same_404_as_to_no_check(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("BRA", "Ana Souza").await;
    let (_, mex) = app.poc_with_token("MEX", "Luis Ortega").await;
    let check = app
        .post(
            CHECKS,
            &app.secretariat,
            json!({"member_states": ["BRA"], "reply_window": "P1D"}),
        )
        .await;
    let asks_brazil = check.assert_status(201)["id"].as_str().unwrap().to_owned();
    let no_check = "0190a000-0000-7000-8000-000000000000";
    let before = app.directory_event_count().await;

    let not_asked = app
        .post(&format!("{CHECKS}/{asks_brazil}/reply"), &mex, json!({}))
        .await;
    let missing = app
        .post(&format!("{CHECKS}/{no_check}/reply"), &mex, json!({}))
        .await;

    not_asked.assert_problem(404, None);
    missing.assert_problem(404, None);
    // Word for word, once each id is replaced by a placeholder.
    let anonymous = |body: &Value, id: &str| body.to_string().replace(id, "ID");
    assert_eq!(
        anonymous(&not_asked.body, &asks_brazil),
        anonymous(&missing.body, no_check)
    );
    assert_eq!(app.directory_event_count().await, before);
}

on_both_databases!(
    a_check_shows_who_replied_in_time_and_who_did_not,
    a_check_is_started_by_the_secretariat_with_a_valid_body,
    a_reply_to_a_check_not_asking_you_is_the_same_404_as_to_no_check,
);
