use reqwest::Method;
use serde_json::json;

use cbm2::clock;
use cbm2::domain::principal::Principal;
use cbm2::store::Store;
use std::time::Duration;
use uuid::Uuid;

use crate::helpers::{TestDb, WriteLock, on_both_databases, poll_until, spawn_app};

async fn a_revoked_token_answers_401(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("ARG", "policy", "Luz Pena").await;
    let (token_id, token) = app.issue_token(poc["id"].as_str().unwrap()).await;
    app.get("/v1/pocs", &token).await.assert_status(200);
    // A read of one inquiry takes the token and the inquiry in one query: it is refused
    // all the same once the token is revoked.
    let draft = app.post("/v1/inquiries", &token, json!({})).await;
    let inquiry = format!(
        "/v1/inquiries/{}",
        draft.assert_status(201)["id"].as_str().unwrap()
    );
    app.get(&inquiry, &token).await.assert_status(200);
    app.get("/v1/inquiries/00000000-0000-0000-0000-000000000000", &token)
        .await
        .assert_problem(404, None);
    app.get("/v1/inquiries/not-a-uuid", &token)
        .await
        .assert_problem(400, Some("id"));
    app.get("/v1/inquiries/not-a-uuid", "cbm2_unknown")
        .await
        .assert_problem(401, None);

    app.delete(&format!("/v1/tokens/{token_id}"), &token)
        .await
        .assert_problem(403, None);
    let reply = app
        .delete(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await;

    reply.assert_status(204);
    app.get("/v1/pocs", &token).await.assert_problem(401, None);
    app.get(&inquiry, &token).await.assert_problem(401, None);
    let shown = app
        .get(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await;
    assert!(shown.assert_status(200)["revoked_at"].is_string());
    assert!(
        shown.body.get("token").is_none(),
        "the secret is never shown again"
    );
    app.delete(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await
        .assert_status(204);
    app.delete(
        "/v1/tokens/00000000-0000-0000-0000-000000000000",
        &app.secretariat,
    )
    .await
    .assert_problem(404, None);
}

async fn issued_tokens_are_shown_once_and_stored_only_as_hashes(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("PAN", "policy", "Ines Mora").await;
    let poc_id = poc["id"].as_str().unwrap();

    let reply = app
        .post(
            &format!("/v1/pocs/{poc_id}/tokens"),
            &app.secretariat,
            json!({"label": "laptop"}),
        )
        .await;

    let body = reply.assert_status(201).clone();
    let token = body["token"].as_str().unwrap();
    assert!(token.starts_with("cbm2_") && token.len() >= 48, "{token}");
    assert_eq!(
        reply.headers["location"],
        format!("/v1/tokens/{}", body["id"].as_str().unwrap())
    );
    let stored = app.db.fetch_strings("SELECT token_hash FROM tokens").await;
    assert_eq!(stored.len(), 2, "the Secretariat's and this one");
    assert!(
        stored
            .iter()
            .all(|h| h.len() == 64 && !h.contains(&token[5..]))
    );
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log[0]["type"], "token_created");
    assert!(
        !log[0].to_string().contains(token),
        "the log never holds a secret"
    );

    app.get("/v1/pocs", token).await.assert_status(200);
    let meta = app
        .get(
            &format!("/v1/tokens/{}", body["id"].as_str().unwrap()),
            &app.secretariat,
        )
        .await;
    assert!(
        meta.assert_status(200)["last_used_at"].is_string(),
        "use is recorded"
    );
    assert_eq!(meta.body["label"], "laptop");
}

async fn only_the_secretariat_issues_tokens_and_only_for_active_pocs(db: TestDb) {
    let app = spawn_app(db).await;
    let (poc_id, token) = app.poc_with_token("GTM", "Ana Lopez").await;

    app.post(&format!("/v1/pocs/{poc_id}/tokens"), &token, json!({}))
        .await
        .assert_problem(403, None);
    app.post(
        "/v1/pocs/00000000-0000-0000-0000-000000000000/tokens",
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_problem(404, None);
    app.post("/v1/pocs/not-a-uuid/tokens", &app.secretariat, json!({}))
        .await
        .assert_problem(400, Some("id"));
    app.post(
        &format!("/v1/pocs/{poc_id}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &format!("/v1/pocs/{poc_id}/tokens"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_problem(409, None);
    // No body at all is an empty label.
    let other = app.create_poc("GTM", "policy", "Beto Cruz").await;
    let reply = app
        .request(
            Method::POST,
            &format!("/v1/pocs/{}/tokens", other["id"].as_str().unwrap()),
            Some(&app.secretariat),
            None,
        )
        .await;
    assert_eq!(reply.assert_status(201)["label"], serde_json::Value::Null);
}

async fn malformed_authorization_headers_answer_401(db: TestDb) {
    let app = spawn_app(db).await;

    for header in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "cbm2_abc"] {
        let reply = app
            .client
            .get(format!("{}/v1/pocs", app.address))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 401, "{header:?}");
    }
}

/// Token reads made at once each get their own answer. On PostgreSQL the reads that
/// queue while one is in flight go to the server in one query: here the first is held on
/// a lock of the inquiries' table, the others wait behind it and are sent together once
/// it is released.
async fn reads_sent_together_each_get_their_own_answer(db: TestDb) {
    let app = spawn_app(db).await;
    let (poc_id, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let revoked = app.revoked_token("CHL", "Pedro Soto").await;
    let draft = app.post("/v1/inquiries", &chl, json!({})).await;
    let inquiry = Uuid::parse_str(draft.assert_status(201)["id"].as_str().unwrap()).unwrap();
    let missing = Uuid::new_v4();
    let unknown = "cbm2_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned();

    // Who reads, what, and what the answer must be: the caller's POC (None: the
    // Secretariat) and the inquiry's id, or no caller at all.
    type Expected = Option<(Option<String>, Option<Uuid>)>;
    let asks: Vec<(String, Option<Uuid>, Expected)> = (0..5)
        .flat_map(|_| {
            [
                (
                    chl.clone(),
                    Some(inquiry),
                    Some((Some(poc_id.clone()), Some(inquiry))),
                ),
                (
                    chl.clone(),
                    Some(missing),
                    Some((Some(poc_id.clone()), None)),
                ),
                (chl.clone(), None, Some((Some(poc_id.clone()), None))),
                (
                    app.secretariat.clone(),
                    Some(inquiry),
                    Some((None, Some(inquiry))),
                ),
                (revoked.clone(), Some(inquiry), None),
                (unknown.clone(), Some(inquiry), None),
            ]
        })
        .collect();
    let store = Store::connect(&app.db.url).await.expect("connect");
    let lock = WriteLock::hold(&app.db).await;
    let read = |(secret, inquiry_id): (String, Option<Uuid>)| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .authenticate_with(&secret, clock::now(), inquiry_id)
                .await
                .expect("the read succeeds")
        })
    };
    let ask = |n: usize| (asks[n].0.clone(), asks[n].1);
    // The first read goes alone and waits on the lock; every other read then waits for
    // the next query.
    let mut reads = vec![read(ask(0))];
    if app.db.is_postgres() {
        poll_until(
            "the first read in flight",
            Duration::from_secs(10),
            async || {
                (store
                    .read_stats()
                    .expect("PostgreSQL groups its reads")
                    .queries
                    == 1)
                    .then_some(())
            },
        )
        .await;
    }
    reads.extend((1..asks.len()).map(|n| read(ask(n))));
    if app.db.is_postgres() {
        poll_until(
            "the other reads queued",
            Duration::from_secs(10),
            async || (store.read_stats().unwrap().waiting == asks.len() - 1).then_some(()),
        )
        .await;
    }
    lock.release().await;
    for ((secret, inquiry_id, expected), read) in asks.iter().zip(reads) {
        let got = read.await.unwrap().map(|(caller, read)| {
            let poc = match caller.principal {
                Principal::Secretariat => None,
                Principal::Poc { poc_id, .. } => Some(poc_id.0.to_string()),
            };
            (poc, read.map(|inquiry| inquiry.id))
        });
        assert_eq!(&got, expected, "{secret} reading {inquiry_id:?}");
    }
    match store.read_stats() {
        Some(stats) => assert_eq!(
            (stats.queries, stats.reads, stats.waiting),
            (2, asks.len() as u64, 0),
            "the first read alone, then all the others in one query"
        ),
        None => assert!(!app.db.is_postgres(), "SQLite reads each on its own thread"),
    }

    // A batch of 1 reads each through the pool, side by side, not through the task.
    let alone = Store::connect(&app.db.url)
        .await
        .unwrap()
        .with_read_batch(1);
    let (caller, read) = alone
        .authenticate_with(&chl, clock::now(), Some(inquiry))
        .await
        .unwrap()
        .expect("the token authenticates");
    assert_eq!(caller.poc_id().map(|id| id.0.to_string()), Some(poc_id));
    assert_eq!(read.map(|inquiry| inquiry.id), Some(inquiry));
    if let Some(stats) = alone.read_stats() {
        assert_eq!(stats.queries, 0, "no grouped query");
    }
}

on_both_databases!(
    reads_sent_together_each_get_their_own_answer,
    a_revoked_token_answers_401,
    issued_tokens_are_shown_once_and_stored_only_as_hashes,
    only_the_secretariat_issues_tokens_and_only_for_active_pocs,
    malformed_authorization_headers_answer_401,
);
