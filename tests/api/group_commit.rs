//! Group commit: inquiry commands that queue while the database is busy share one
//! transaction; one refused (or failing in the database) among them writes nothing while
//! its neighbours commit, and the audit chain stays whole.

use cbm2::clock;
use cbm2::domain::{Caller, MemberStateCode};
use cbm2::protocol::{Action, Refusal};
use cbm2::store::Store;
use cbm2::store::chain::ChainReport;
use cbm2::store::inquiries::{ActionRequest, Command, CommandError, Executed, IssuedBy};
use serde_json::json;
use std::time::Duration;
use uuid::Uuid;

use crate::helpers::{TestApp, TestDb, WriteLock, on_both_databases, poll_until, spawn_app};

/// Three drafts of Chile's, each with a command queued behind the writer's first (held on
/// the database's write lock), so that the three share one batch: the middle one's action
/// is `middle`, the others look up Brazil. The outcomes, in order, and the store they ran
/// on (a store of its own, so that its writer's figures are this test's alone).
async fn three_commands_in_one_batch(
    app: &TestApp,
    chl: &str,
    drafts: &[Uuid],
    middle: ActionRequest,
) -> (Vec<Result<Executed, CommandError>>, Store) {
    // Batches only: on PostgreSQL the first command would otherwise run alone, the writer
    // being idle (see `on_postgres_a_command_alone_...` below).
    let store = Store::connect(&app.db.url)
        .await
        .expect("connect")
        .with_commands_alone(false);
    let caller = store
        .authenticate(chl, clock::now())
        .await
        .unwrap()
        .expect("the token authenticates");
    let lock = WriteLock::hold(&app.db).await;
    let commands: Vec<_> = drafts
        .iter()
        .enumerate()
        .map(|(n, &inquiry_id)| {
            let (store, caller) = (store.clone(), caller.clone());
            let action = if n == 1 {
                middle.clone()
            } else {
                ActionRequest::LookupPoc(MemberStateCode::parse("BRA").unwrap())
            };
            tokio::spawn(async move {
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
    (outcomes, store)
}

/// Chile's token and three drafts of Chile's (Brazil has a POC to look up).
async fn three_drafts(app: &TestApp) -> (String, Vec<Uuid>) {
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "João Silva").await;
    let mut drafts = Vec::new();
    for _ in 0..3 {
        let created = app.post("/v1/inquiries", &chl, json!({})).await;
        created.assert_status(201);
        drafts.push(Uuid::parse_str(created.body["id"].as_str().unwrap()).unwrap());
    }
    (chl, drafts)
}

/// The first and last commands were applied in one transaction, the middle one wrote
/// nothing, and the chain holds exactly the two new events.
async fn assert_neighbours_alone_committed(
    app: &TestApp,
    store: &Store,
    drafts: &[Uuid],
    outcomes: &[Result<Executed, CommandError>],
    events_before: i64,
) {
    for n in [0, 2] {
        assert!(
            matches!(outcomes[n], Ok(Executed::Applied(..))),
            "{:?}",
            outcomes[n]
        );
    }
    let stats = store.write_stats();
    assert_eq!(
        (stats.batches, stats.commands),
        (1, 3),
        "the three commands shared one transaction: {stats:?}"
    );
    assert_eq!(
        app.db.count("SELECT COUNT(*) FROM inquiry_events").await,
        events_before + 2
    );
    let untouched = store.get_inquiry(drafts[1]).await.unwrap().unwrap();
    assert_eq!(untouched.version, 1, "the middle command wrote nothing");
    for id in [drafts[0], drafts[2]] {
        let applied = store.get_inquiry(id).await.unwrap().unwrap();
        assert_eq!(applied.version, 2);
        assert_eq!(store.inquiry_events(id).await.unwrap().len(), 2);
    }
    match store.verify_chain(None).await.unwrap() {
        ChainReport::Valid { events, .. } => assert_eq!(events as i64, events_before + 2),
        broken => panic!("the chain broke: {broken:?}"),
    }
}

async fn a_refused_command_inside_a_batch_writes_nothing_while_its_neighbours_commit(db: TestDb) {
    let app = spawn_app(db).await;
    let (chl, drafts) = three_drafts(&app).await;
    let events_before = app.db.count("SELECT COUNT(*) FROM inquiry_events").await;

    // The middle one is refused: a deadline is the engine's to record.
    let (outcomes, store) = three_commands_in_one_batch(
        &app,
        &chl,
        &drafts,
        ActionRequest::Ready(Action::DeadlineMissed),
    )
    .await;
    assert!(
        matches!(
            outcomes[1],
            Err(CommandError::Refused(Refusal::WrongRole { .. }))
        ),
        "{:?}",
        outcomes[1]
    );
    assert_neighbours_alone_committed(&app, &store, &drafts, &outcomes, events_before).await;
    assert_eq!(
        store.write_stats().reruns,
        0,
        "a refusal writes nothing: no rerun"
    );
    store.close().await;
}

/// A command whose write the database refuses (here a trigger, as a constraint might)
/// after it has written part of its event: on SQLite its savepoint undoes that part; on
/// PostgreSQL, where commands run without savepoints and the error aborts the
/// transaction, the batch runs again with a savepoint per command. Either way the
/// neighbours commit and the failed command writes nothing.
async fn a_command_whose_write_fails_in_the_database_writes_nothing_while_its_neighbours_commit(
    db: TestDb,
) {
    let app = spawn_app(db).await;
    let (chl, drafts) = three_drafts(&app).await;
    let events_before = app.db.count("SELECT COUNT(*) FROM inquiry_events").await;
    let doomed = app.db.uuid_literal(&drafts[1].to_string());
    if app.db.is_postgres() {
        app.db
            .execute(
                "CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS
                 $$ BEGIN RAISE EXCEPTION 'the test refuses this event'; END $$",
            )
            .await;
        app.db
            .execute(&format!(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON inquiry_events FOR EACH ROW
                 WHEN (NEW.inquiry_id = {doomed}) EXECUTE FUNCTION test_refuse_event()"
            ))
            .await;
    } else {
        app.db
            .execute(&format!(
                "CREATE TRIGGER test_refuse_event BEFORE INSERT ON inquiry_events
                 WHEN NEW.inquiry_id = {doomed}
                 BEGIN SELECT RAISE(ABORT, 'the test refuses this event'); END"
            ))
            .await;
    }

    let (outcomes, store) = three_commands_in_one_batch(
        &app,
        &chl,
        &drafts,
        ActionRequest::LookupPoc(MemberStateCode::parse("BRA").unwrap()),
    )
    .await;
    match &outcomes[1] {
        Err(CommandError::Store(error)) => assert!(
            error.to_string().contains("the test refuses this event"),
            "{error}"
        ),
        other => panic!("the middle command should fail in the database: {other:?}"),
    }
    assert_neighbours_alone_committed(&app, &store, &drafts, &outcomes, events_before).await;
    let reruns = if app.db.is_postgres() { 1 } else { 0 };
    assert_eq!(store.write_stats().reruns, reruns);
    store.close().await;
}

on_both_databases!(
    a_refused_command_inside_a_batch_writes_nothing_while_its_neighbours_commit,
    a_command_whose_write_fails_in_the_database_writes_nothing_while_its_neighbours_commit,
);

/// On PostgreSQL any error of the server aborts the transaction, a failed read too: a
/// command of a batch without savepoints whose read fails (before it has written
/// anything) makes the writer run the batch again with a savepoint before each command,
/// reads included, so that the failed read takes nothing down with it.
#[tokio::test]
async fn on_postgres_a_read_that_fails_inside_a_batch_takes_nothing_down_with_it() {
    use cbm2::store::StoreError;
    use cbm2::store::writer::{BatchStart, Isolation, Writer, open_savepoint};
    use futures_util::TryFutureExt;
    use sqlx::Postgres;
    use tokio::sync::oneshot;

    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    sqlx::query("CREATE TABLE t (n BIGINT NOT NULL)")
        .execute(&pool)
        .await
        .unwrap();
    let start = BatchStart::<Postgres> {
        begin: |c| Box::pin(sqlx::raw_sql("BEGIN").execute(c).map_ok(|_| None)),
        commit: |c, _| Box::pin(sqlx::raw_sql("COMMIT").execute(c).map_ok(drop)),
        isolation: Isolation::Optimistic,
        alone: false,
    };
    let writer = Writer::start(pool.clone(), start, 64);
    // Inserts `n` (after `hold`, if given); with `read_fails`, reads a table that does
    // not exist first.
    let command = |n: i64, hold: Option<oneshot::Receiver<()>>, read_fails: bool| {
        let writer = writer.clone();
        let mut hold = hold;
        tokio::spawn(async move {
            writer
                .submit(move |batch| {
                    let hold = hold.take();
                    Box::pin(async move {
                        if let Some(hold) = hold {
                            let _ = hold.await;
                        }
                        if read_fails {
                            sqlx::query("SELECT n FROM no_such_table")
                                .execute(&mut *batch.connection)
                                .await?;
                        }
                        open_savepoint::<Postgres>(&mut *batch.connection, batch.savepoint).await?;
                        sqlx::query("INSERT INTO t (n) VALUES ($1)")
                            .bind(n)
                            .execute(&mut *batch.connection)
                            .await?;
                        Ok::<_, StoreError>(n)
                    })
                })
                .await
        })
    };
    let (release, hold) = oneshot::channel();
    let first = command(1, Some(hold), false);
    poll_until(
        "the first command running",
        Duration::from_secs(5),
        async || (writer.stats().waiting == 0).then_some(()),
    )
    .await;
    let failing = command(2, None, true);
    let third = command(3, None, false);
    poll_until("two commands queued", Duration::from_secs(5), async || {
        (writer.stats().waiting == 2).then_some(())
    })
    .await;
    release.send(()).unwrap();

    assert_eq!(first.await.unwrap().unwrap(), 1);
    let error = failing.await.unwrap().unwrap_err();
    assert!(error.to_string().contains("no_such_table"), "{error}");
    assert_eq!(third.await.unwrap().unwrap(), 3);
    let stored: Vec<i64> = sqlx::query_scalar("SELECT n FROM t ORDER BY n")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(stored, [1, 3], "the failed read's neighbours committed");
    let stats = writer.stats();
    assert_eq!(
        (stats.batches, stats.commands, stats.reruns),
        (1, 3, 1),
        "one batch, run again once: {stats:?}"
    );
    pool.close().await;
}

/// On PostgreSQL (`None` elsewhere): a server with Chile's three drafts, and a store of
/// the test's own (so that its writer's figures are the test's alone) with Chile's caller.
async fn three_drafts_on_postgres() -> Option<(TestApp, Vec<Uuid>, Store, Caller)> {
    let app = spawn_app(TestDb::postgres().await?).await;
    let (chl, drafts) = three_drafts(&app).await;
    let store = Store::connect(&app.db.url).await.expect("connect");
    let caller = store
        .authenticate(&chl, clock::now())
        .await
        .unwrap()
        .expect("the token authenticates");
    Some((app, drafts, store, caller))
}

/// `caller` looks up Brazil's POC for `inquiry_id`, through `store`.
async fn look_up_brazil(
    store: &Store,
    caller: &Caller,
    inquiry_id: Uuid,
) -> Result<Executed, CommandError> {
    let command = Command {
        inquiry_id,
        by: IssuedBy::Caller(caller),
        action: ActionRequest::LookupPoc(MemberStateCode::parse("BRA").unwrap()),
        if_match: None,
        idempotency: None,
        now: clock::now(),
    };
    store.execute(command, |_, _| String::new()).await
}

/// On PostgreSQL a command that finds the writer idle runs alone, outside a transaction,
/// its reads in one round trip and its writes in one statement gated on the move of the
/// chain's head from where it read it. Another instance moving the head between the two
/// (here a transaction of the test's, holding the head as a batch does, then moving it)
/// makes that statement write nothing: the command runs again in a batch, on the new head.
#[tokio::test]
async fn on_postgres_a_command_alone_whose_head_moved_meanwhile_runs_again_on_the_new_head() {
    use sqlx::Connection;

    let Some((app, drafts, store, caller)) = three_drafts_on_postgres().await else {
        return;
    };
    let mut other = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut other).await.unwrap();
    let (head,): (i64,) =
        sqlx::query_as("SELECT last_chain_seq FROM event_chain_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut other)
            .await
            .unwrap();

    let inquiry_id = drafts[0];
    let command = {
        let store = store.clone();
        tokio::spawn(async move { look_up_brazil(&store, &caller, inquiry_id).await })
    };
    // It has read the head, and its write waits for the head's row.
    poll_until(
        "the command's write waiting on the head",
        Duration::from_secs(10),
        async || {
            (app.db
                .count("SELECT count(*) FROM pg_locks WHERE NOT granted")
                .await
                > 0)
            .then_some(())
        },
    )
    .await;
    let moved = "ab".repeat(32);
    sqlx::query("UPDATE event_chain_head SET last_chain_seq = $1, last_hash = $2 WHERE id = 1")
        .bind(head + 1)
        .bind(&moved)
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::raw_sql("COMMIT").execute(&mut other).await.unwrap();

    let outcome = command.await.unwrap();
    assert!(matches!(outcome, Ok(Executed::Applied(..))), "{outcome:?}");
    let stats = store.write_stats();
    assert_eq!(
        (
            stats.alone,
            stats.alone_again,
            stats.batches,
            stats.commands
        ),
        (0, 1, 1, 1),
        "run alone, then again in a batch: {stats:?}"
    );
    let (chain_seq, prev_hash): (i64, String) = sqlx::query_as(
        "SELECT chain_seq, prev_hash FROM inquiry_events WHERE inquiry_id = $1 AND seq = 2",
    )
    .bind(inquiry_id)
    .fetch_one(&mut other)
    .await
    .unwrap();
    assert_eq!(
        (chain_seq, prev_hash),
        (head + 2, moved),
        "the event follows the head as moved, not as the command first read it"
    );
    assert_eq!(
        app.db
            .count(&format!(
                "SELECT count(*) FROM inquiry_events WHERE inquiry_id = {}",
                app.db.uuid_literal(&inquiry_id.to_string())
            ))
            .await,
        2,
        "its event once, after the draft's"
    );
    store.close().await;
}

/// On PostgreSQL a lone command (the writer idle) is recorded in two round trips, and
/// the chain stays whole: the head moves with each.
#[tokio::test]
async fn on_postgres_commands_that_find_the_writer_idle_run_alone_and_keep_the_chain() {
    let Some((app, drafts, store, caller)) = three_drafts_on_postgres().await else {
        return;
    };
    let events_before = app.db.count("SELECT COUNT(*) FROM inquiry_events").await;
    for &inquiry_id in &drafts {
        let outcome = look_up_brazil(&store, &caller, inquiry_id).await;
        assert!(matches!(outcome, Ok(Executed::Applied(..))), "{outcome:?}");
    }
    let stats = store.write_stats();
    assert_eq!((stats.alone, stats.alone_again), (3, 0), "{stats:?}");
    match store.verify_chain(None).await.unwrap() {
        ChainReport::Valid { events, .. } => assert_eq!(events as i64, events_before + 3),
        broken => panic!("the chain broke: {broken:?}"),
    }
    assert_eq!(
        app.db
            .count("SELECT last_chain_seq FROM event_chain_head WHERE id = 1")
            .await,
        events_before + 3
    );
    store.close().await;
}
