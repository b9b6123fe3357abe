use reqwest::Method;

use crate::helpers::{TestDb, on_both_databases, spawn_app};

async fn health_answers_ok_without_a_token(db: TestDb) {
    let app = spawn_app(db).await;

    let reply = app.request(Method::GET, "/v1/health", None, None).await;

    assert_eq!(
        reply.assert_status(200),
        &serde_json::json!({"status": "ok"})
    );
}

async fn unknown_paths_and_methods_answer_problems(db: TestDb) {
    let app = spawn_app(db).await;

    app.get("/v1/no-such-thing", &app.secretariat)
        .await
        .assert_problem(404, None);
    app.request(Method::PUT, "/v1/pocs", Some(&app.secretariat), None)
        .await
        .assert_problem(405, None);
}

on_both_databases!(
    health_answers_ok_without_a_token,
    unknown_paths_and_methods_answer_problems
);
