//! Requests that race: sent in parallel, each inquiry still takes one action at a time,
//! and the event log stays one unbroken chain.

use serde_json::json;

use crate::helpers::{ConcurrentPost, Reply, TestDb, on_both_databases, spawn_app};
use crate::workflow::{Parties, create, events, inquiry_at, valid_body, written};

fn post(path: String, token: &str, body: serde_json::Value) -> ConcurrentPost {
    ConcurrentPost {
        path,
        token: token.to_owned(),
        body,
        headers: Vec::new(),
    }
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status.as_u16()).collect()
}

async fn of_parallel_acknowledgements_exactly_one_is_recorded(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let (_, bruno) = app.poc_with_token("BRA", "Bruno Lima").await;
    let id = inquiry_at(&app, &p, "awaiting_response").await;
    let path = format!("/v1/inquiries/{id}/acknowledge");
    let posts = (0..8)
        .map(|i| {
            let token = if i % 2 == 0 { &p.bra } else { &bruno };
            post(
                path.clone(),
                token,
                json!({"estimated_timeframe": format!("P{}D", i + 1)}),
            )
        })
        .collect();

    let replies = app.post_all_at_once(posts).await;

    let codes = statuses(&replies);
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 1, "{codes:?}");
    for reply in replies.iter().filter(|r| r.status != 200) {
        let problem = reply.assert_problem(409, None);
        assert_eq!(problem["current_status"], "acknowledged");
    }
    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    assert_eq!(winner.body["version"], 6);
    assert_eq!(written(&app, &id, &p.chl).await, (6, 6));
    let view = app.get(&format!("/v1/inquiries/{id}"), &p.chl).await;
    assert_eq!(
        view.assert_status(200)["estimated_timeframe"],
        winner.body["estimated_timeframe"],
        "the stored acknowledgement is the one that was answered 200"
    );
    let trail = events(&app, &id, &p.chl).await;
    assert_eq!(
        trail.iter().filter(|e| e["type"] == "acknowledge").count(),
        1
    );
    app.assert_audit_intact().await;
}

async fn a_response_and_a_withdrawal_sent_together_with_one_if_match_cannot_both_win(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    for round in 0..4 {
        let id = inquiry_at(&app, &p, "acknowledged").await;
        let if_match = vec![("if-match", "\"6\"".to_owned())];
        let posts = vec![
            ConcurrentPost {
                headers: if_match.clone(),
                ..post(
                    format!("/v1/inquiries/{id}/respond"),
                    &p.bra,
                    valid_body("respond"),
                )
            },
            ConcurrentPost {
                headers: if_match,
                ..post(
                    format!("/v1/inquiries/{id}/withdraw"),
                    &p.chl,
                    valid_body("withdraw"),
                )
            },
        ];

        let replies = app.post_all_at_once(posts).await;

        let codes = statuses(&replies);
        assert_eq!(
            codes.iter().filter(|c| **c == 200).count(),
            1,
            "round {round}: {codes:?}"
        );
        let loser = replies.iter().find(|r| r.status != 200).unwrap();
        assert!(
            [409, 412].contains(&loser.status.as_u16()),
            "round {round}: {codes:?}, {}",
            loser.body
        );
        loser.assert_problem(loser.status.as_u16(), None);
        let winner = replies.iter().find(|r| r.status == 200).unwrap();
        let expected = if codes[0] == 200 {
            "responded"
        } else {
            "withdrawn"
        };
        assert_eq!(winner.body["status"], expected);
        assert_eq!(written(&app, &id, &p.chl).await, (7, 7));
        let trail = events(&app, &id, &p.chl).await;
        let last = trail.last().unwrap()["type"].as_str().unwrap().to_owned();
        assert_eq!(
            last,
            if expected == "responded" {
                "respond"
            } else {
                "withdraw"
            }
        );
    }
    app.assert_audit_intact().await;
}

async fn concurrent_retries_with_one_idempotency_key_record_the_action_once(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let id = inquiry_at(&app, &p, "incident_described").await;
    let posts = (0..6)
        .map(|_| ConcurrentPost {
            headers: vec![("idempotency-key", "send-once".to_owned())],
            ..post(
                format!("/v1/inquiries/{id}/request-info"),
                &p.chl,
                valid_body("request-info"),
            )
        })
        .collect();

    let replies = app.post_all_at_once(posts).await;

    assert_eq!(statuses(&replies), [200; 6]);
    let first = replies
        .iter()
        .filter(|r| r.headers.get("idempotent-replayed").is_none())
        .collect::<Vec<_>>();
    assert_eq!(
        first.len(),
        1,
        "one request is applied, the others replayed"
    );
    for reply in &replies {
        assert_eq!(reply.body, first[0].body);
    }
    assert_eq!(written(&app, &id, &p.chl).await, (5, 5));
    app.assert_audit_intact().await;
}

async fn actions_on_many_inquiries_at_once_keep_one_unbroken_chain(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Parties::enrol(&app).await;
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(inquiry_at(&app, &p, "awaiting_response").await);
    }
    let mut posts: Vec<ConcurrentPost> = ids
        .iter()
        .map(|id| {
            post(
                format!("/v1/inquiries/{id}/acknowledge"),
                &p.bra,
                valid_body("acknowledge"),
            )
        })
        .collect();
    for _ in 0..4 {
        posts.push(post("/v1/inquiries".into(), &p.chl, json!({})));
    }

    let replies = app.post_all_at_once(posts).await;

    assert_eq!(statuses(&replies), [200, 200, 200, 200, 201, 201, 201, 201]);
    for id in &ids {
        assert_eq!(written(&app, id, &p.chl).await, (6, 6));
    }
    let verified = app.get("/v1/audit/verify", &app.secretariat).await;
    let verified = verified.assert_status(200);
    assert_eq!(verified["valid"], true, "{verified}");
    assert_eq!(verified["events"], 4 * 6 + 4, "{verified}");
    let draft = create(&app, &p.chl).await;
    assert_eq!(written(&app, &draft, &p.chl).await, (1, 1));
    app.assert_audit_intact().await;
}

on_both_databases!(
    of_parallel_acknowledgements_exactly_one_is_recorded,
    a_response_and_a_withdrawal_sent_together_with_one_if_match_cannot_both_win,
    concurrent_retries_with_one_idempotency_key_record_the_action_once,
    actions_on_many_inquiries_at_once_keep_one_unbroken_chain,
);
