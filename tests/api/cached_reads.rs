//! Reads answered from memory on PostgreSQL (`serve --cache-reads`, on by default): a
//! change made elsewhere (another instance, the command line, SQL) is seen once its
//! notification arrives, this instance's own changes at once, and nothing is answered
//! from memory while the database is not heard from. SQLite keeps nothing.

use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use cbm2::clock;
use cbm2::domain::PocId;
use cbm2::store::Store;
use cbm2::store::directory::Actor;
use cbm2::store::listened::CacheLimits;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};

const HEARD_WITHIN: Duration = Duration::from_secs(10);

const LIMITS: CacheLimits = CacheLimits {
    tokens: 100,
    inquiry_bytes: 1 << 20,
};

/// A store reading the way `cbm2 serve` does on `url`, once its memory answers reads
/// (listening, and a ping heard back).
async fn listening(url: &str) -> Store {
    let store = Store::connect(url)
        .await
        .unwrap()
        .with_cache_reads(Some(LIMITS));
    poll_until("memory to be current", HEARD_WITHIN, async || {
        // Pings go only while memory is asked.
        store
            .authenticate("cbm2_unknown", clock::now())
            .await
            .unwrap();
        store.cache_stats().unwrap().current.then_some(())
    })
    .await;
    store
}

/// The version of inquiry `id` as `store` reads it with `token`, or `None` if the token
/// is refused.
async fn version_read(store: &Store, token: &str, id: Uuid) -> Option<i64> {
    let (_, inquiry) = store
        .authenticate_with(token, clock::now(), Some(id))
        .await
        .unwrap()?;
    Some(inquiry.expect("the inquiry exists").version)
}

/// Whether `store` takes `token`.
async fn accepted(store: &Store, token: &str) -> bool {
    store
        .authenticate(token, clock::now())
        .await
        .unwrap()
        .is_some()
}

fn hits(store: &Store) -> u64 {
    store.cache_stats().unwrap().hits
}

/// A POC of Chile with a token, and one of Brazil to address inquiries to: (Chile's POC
/// id, its token).
async fn parties(app: &TestApp) -> (String, String) {
    app.poc_with_token("BRA", "Ana Souza").await;
    app.poc_with_token("CHL", "Eva Rojas").await
}

/// An inquiry of `token`'s to Brazil, described (not yet sent).
async fn inquiry_of(app: &TestApp, token: &str) -> Uuid {
    let id = app.described_inquiry(token, "BRA", false).await;
    id.parse().unwrap()
}

async fn changes_made_elsewhere_are_seen_once_heard(db: TestDb) {
    let app = spawn_app(db).await;
    if !app.db.is_postgres() {
        let store = Store::connect(&app.db.url)
            .await
            .unwrap()
            .with_cache_reads(Some(LIMITS));
        assert_eq!(
            store.cache_stats(),
            None,
            "SQLite reads the file every time"
        );
        return;
    }
    let (poc, token) = parties(&app).await;
    let id = inquiry_of(&app, &token).await;
    let store = listening(&app.db.url).await;

    let first = version_read(&store, &token, id).await;
    let before = hits(&store);
    assert_eq!(version_read(&store, &token, id).await, first);
    assert_eq!(
        hits(&store),
        before + 1,
        "the second read is answered from memory"
    );
    let stats = store.cache_stats().unwrap();
    assert_eq!((stats.owners, stats.inquiries), (1, 1));

    // The server under test is another instance: its writes reach this one's memory
    // through the database's notifications.
    app.post(
        &format!("/v1/inquiries/{id}/describe"),
        &token,
        json!({"nature": "Scanning of the ministry's mail servers, again", "category": "scanning", "sectors": []}),
    )
    .await
    .assert_status(200);
    let described = first.unwrap() + 1;
    poll_until("the description to be seen", HEARD_WITHIN, async || {
        (version_read(&store, &token, id).await == Some(described)).then_some(())
    })
    .await;

    // As is a POC deactivated there, and a token revoked there.
    let (other_poc, other) = app.poc_with_token("CHL", "Luis Vera").await;
    assert!(accepted(&store, &other).await);
    assert!(accepted(&store, &other).await);
    app.post(
        &format!("/v1/pocs/{other_poc}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    poll_until("the deactivation to be seen", HEARD_WITHIN, async || {
        (!accepted(&store, &other).await).then_some(())
    })
    .await;
    let (token_id, kept) = app.issue_token(&poc).await;
    assert_eq!(version_read(&store, &kept, id).await, Some(described));
    assert_eq!(version_read(&store, &kept, id).await, Some(described));
    app.delete(&format!("/v1/tokens/{token_id}"), &app.secretariat)
        .await
        .assert_status(204);
    poll_until("the revocation to be seen", HEARD_WITHIN, async || {
        version_read(&store, &kept, id)
            .await
            .is_none()
            .then_some(())
    })
    .await;

    // SQL typed by hand notifies too.
    app.db
        .execute(&format!(
            "UPDATE inquiries SET state = replace(state, 'mail servers', 'web servers') WHERE id = {}",
            app.db.uuid_literal(&id.to_string())
        ))
        .await;
    poll_until("the change by hand to be seen", HEARD_WITHIN, async || {
        let (_, inquiry) = store
            .authenticate_with(&token, clock::now(), Some(id))
            .await
            .unwrap()?;
        let nature = inquiry?.incident.as_ref()?.nature.clone();
        nature.contains("web servers").then_some(())
    })
    .await;
}

async fn this_instances_own_changes_are_seen_at_once(db: TestDb) {
    let app = spawn_app(db).await;
    if !app.db.is_postgres() {
        return;
    }
    let (poc, token) = parties(&app).await;
    let store = listening(&app.db.url).await;
    assert!(accepted(&store, &token).await);
    let before = hits(&store);
    assert!(accepted(&store, &token).await);
    assert_eq!(hits(&store), before + 1, "kept");

    // No wait for the notification: the change forgets what it makes wrong.
    let poc_id = PocId(poc.parse().unwrap());
    store
        .deactivate_poc(Actor::CommandLine, poc_id.0, clock::now())
        .await
        .unwrap();
    assert!(!accepted(&store, &token).await);

    // Through the server: a read right after a write sees the write.
    let (_, token) = app.poc_with_token("CHL", "Luis Vera").await;
    let id = inquiry_of(&app, &token).await;
    let path = format!("/v1/inquiries/{id}");
    for round in 0..5 {
        let version = app.get(&path, &token).await.assert_status(200)["version"].clone();
        let nature = format!("Scanning, seen {round} times");
        app.post(
            &format!("{path}/describe"),
            &token,
            json!({"nature": nature, "category": "scanning", "sectors": []}),
        )
        .await
        .assert_status(200);
        let after = app.get(&path, &token).await.assert_status(200)["version"].clone();
        assert_ne!(
            after, version,
            "round {round}: the read after the write sees it"
        );
    }
}

async fn nothing_is_answered_from_memory_while_the_database_is_not_heard(db: TestDb) {
    let app = spawn_app(db).await;
    if !app.db.is_postgres() {
        return;
    }
    let (_, token) = parties(&app).await;
    let id = inquiry_of(&app, &token).await;
    let store = listening(&app.db.url).await;
    version_read(&store, &token, id).await.unwrap();
    let before = hits(&store);
    version_read(&store, &token, id).await.unwrap();
    assert_eq!(hits(&store), before + 1);

    // The listening connection is ended under it (as a restart of the database, or a
    // connection killed by a firewall, would).
    let ended = app
        .db
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND query LIKE 'LISTEN %'",
        )
        .await;
    assert!(ended >= 1, "the server's and the store's listeners");
    poll_until(
        "the store to stop answering from memory",
        HEARD_WITHIN,
        async || (!store.cache_stats().unwrap().current).then_some(()),
    )
    .await;
    // What was kept is forgotten: a revocation made now is seen by the next read,
    // whether or not the listener is back.
    app.db
        .execute("UPDATE tokens SET revoked_at = now() WHERE revoked_at IS NULL AND kind = 'poc'")
        .await;
    assert_eq!(version_read(&store, &token, id).await, None);

    // The listener comes back, and memory answers again.
    let (_, token) = app.poc_with_token("CHL", "Luis Vera").await;
    let id = inquiry_of(&app, &token).await;
    poll_until("memory to answer again", HEARD_WITHIN, async || {
        version_read(&store, &token, id).await.unwrap();
        let before = hits(&store);
        version_read(&store, &token, id).await.unwrap();
        (hits(&store) == before + 1).then_some(())
    })
    .await;
}

async fn unknown_tokens_are_never_kept(db: TestDb) {
    let app = spawn_app(db).await;
    if !app.db.is_postgres() {
        return;
    }
    let store = listening(&app.db.url).await;
    for n in 0..200 {
        let secret = format!("cbm2_{n:043}");
        assert!(!accepted(&store, &secret).await);
    }
    assert_eq!(store.cache_stats().unwrap().owners, 0);
    let revoked = app.revoked_token("CHL", "Eva Rojas").await;
    assert!(!accepted(&store, &revoked).await);
    assert_eq!(store.cache_stats().unwrap().owners, 0, "nor revoked ones");
}

on_both_databases!(
    changes_made_elsewhere_are_seen_once_heard,
    this_instances_own_changes_are_seen_at_once,
    nothing_is_answered_from_memory_while_the_database_is_not_heard,
    unknown_tokens_are_never_kept,
);
