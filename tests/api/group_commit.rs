//! Group commit: inquiry commands that queue while the database is busy share one
//! transaction, each in its savepoint; one refused among them writes nothing while its
//! neighbours commit, and the audit chain stays whole.

use cbm2::clock;
use cbm2::domain::MemberStateCode;
use cbm2::protocol::{Action, Refusal};
use cbm2::store::Store;
use cbm2::store::chain::ChainReport;
use cbm2::store::inquiries::{ActionRequest, Command, CommandError, Executed, IssuedBy};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use crate::helpers::{TestDb, WriteLock, on_both_databases, poll_until, spawn_app};

async fn a_refused_command_inside_a_batch_writes_nothing_while_its_neighbours_commit(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "João Silva").await;
    let mut drafts = Vec::new();
    for _ in 0..3 {
        let created = app.post("/v1/inquiries", &chl, json!({})).await;
        created.assert_status(201);
        drafts.push(Uuid::parse_str(created.body["id"].as_str().unwrap()).unwrap());
    }
    let events_before = app.db.count("SELECT COUNT(*) FROM inquiry_events").await;

    // A store of its own, so that its writer's figures are this test's alone.
    let store = Store::connect(&app.db.url).await.expect("connect");
    let caller = store
        .authenticate(&chl, clock::now())
        .await
        .unwrap()
        .expect("the token authenticates");
    let lock = WriteLock::hold(&app.db).await;
    let commands: Vec<_> = drafts
        .iter()
        .enumerate()
        .map(|(n, &inquiry_id)| {
            let (store, caller) = (store.clone(), caller.clone());
            tokio::spawn(async move {
                // The middle one is refused: a deadline is the engine's to record.
                let action = if n == 1 {
                    ActionRequest::Ready(Action::DeadlineMissed)
                } else {
                    ActionRequest::LookupPoc(MemberStateCode::parse("BRA").unwrap())
                };
                let command = Command {
                    inquiry_id,
                    by: IssuedBy::Caller(&caller),
                    action,
                    if_match: None,
                    idempotency: None,
                    now: clock::now(),
                };
                store.execute(command, |_, _| String::new()).await
            })
        })
        .collect();
    // The writer holds the first command, waiting on the lock; the other two queue.
    poll_until("two commands queued", Duration::from_secs(5), async || {
        (store.write_stats().waiting == 2).then_some(())
    })
    .await;
    lock.release().await;

    let mut outcomes = Vec::new();
    for command in commands {
        outcomes.push(command.await.unwrap());
    }
    assert!(
        matches!(outcomes[0], Ok(Executed::Applied(..))),
        "{:?}",
        outcomes[0]
    );
    assert!(
        matches!(
            outcomes[1],
            Err(CommandError::Refused(Refusal::WrongRole { .. }))
        ),
        "{:?}",
        outcomes[1]
    );
    assert!(
        matches!(outcomes[2], Ok(Executed::Applied(..))),
        "{:?}",
        outcomes[2]
    );
    let stats = store.write_stats();
    assert_eq!(
        (stats.batches, stats.commands),
        (1, 3),
        "the three commands shared one transaction: {stats:?}"
    );

    // The neighbours' events are recorded, the refused command's inquiry is untouched.
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM inquiry_events").await,
        events_before + 2
    );
    let refused = store.get_inquiry(drafts[1]).await.unwrap().unwrap();
    assert_eq!(refused.version, 1, "the refused command wrote nothing");
    for id in [drafts[0], drafts[2]] {
        let applied = store.get_inquiry(id).await.unwrap().unwrap();
        assert_eq!(applied.version, 2);
        assert_eq!(store.inquiry_events(id).await.unwrap().len(), 2);
    }
    match store.verify_chain(None).await.unwrap() {
        ChainReport::Valid { events, .. } => assert_eq!(events as i64, events_before + 2),
        broken => panic!("the chain broke: {broken:?}"),
    }
    store.close().await;
}

on_both_databases!(a_refused_command_inside_a_batch_writes_nothing_while_its_neighbours_commit);
