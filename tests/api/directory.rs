use serde_json::{Value, json};

use crate::helpers::{TestDb, on_both_databases, spawn_app};

fn id(poc: &Value) -> &str {
    poc["id"].as_str().unwrap()
}

async fn the_secretariat_creates_a_poc_and_the_log_records_it(db: TestDb) {
    let app = spawn_app(db).await;
    let events_before = app.directory_event_count().await;
    let body = json!({
        "member_state": "BRA", "name": "Ana Souza", "affiliation": "Itamaraty",
        "role": "policy", "email": "ana.souza@itamaraty.gov.br", "phone": "+55 61 2030 6000",
        "languages": ["pt", "en"],
    });

    let reply = app.post("/v1/pocs", &app.secretariat, body).await;

    let poc = reply.assert_status(201).clone();
    assert_eq!(reply.headers["location"], format!("/v1/pocs/{}", id(&poc)));
    assert_eq!(poc["member_state"], "BRA");
    assert_eq!(poc["languages"], json!(["pt", "en"]));
    assert_eq!(poc["active"], true);
    assert_eq!(poc["stale"], false);
    assert_eq!(poc["last_confirmed_at"], poc["created_at"]);
    let shown = app
        .get(&format!("/v1/pocs/{}", id(&poc)), &app.secretariat)
        .await;
    assert_eq!(
        shown.assert_status(200),
        &poc,
        "GET shows what the create answered"
    );
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log.len(), events_before + 1);
    assert_eq!(log[0]["type"], "poc_created");
    assert_eq!(log[0]["subject"], id(&poc));
    assert_eq!(log[0]["payload"]["email"], "ana.souza@itamaraty.gov.br");
}

async fn a_poc_cannot_create_pocs(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let events_before = app.directory_event_count().await;
    let body = json!({
        "member_state": "CHL", "name": "Intruder", "affiliation": "X", "role": "policy",
        "email": "x@example.org",
    });

    app.post("/v1/pocs", &token, body)
        .await
        .assert_problem(403, None);

    assert_eq!(app.collect_pages("/v1/pocs").await.len(), 1);
    assert_eq!(app.directory_event_count().await, events_before);
}

async fn the_directory_filters_and_pages_in_state_and_name_order(db: TestDb) {
    let app = spawn_app(db).await;
    for (state, role, name) in [
        ("URY", "policy", "Zoe"),
        ("BRA", "policy", "Caio"),
        ("BRA", "technical", "Bia"),
        ("ARG", "mfa", "Ines"),
        ("BRA", "policy", "Ana"),
    ] {
        app.create_poc(state, role, name).await;
    }

    let all = app.collect_pages("/v1/pocs?limit=2").await;
    let order: Vec<(&str, &str)> = all
        .iter()
        .map(|p| {
            (
                p["member_state"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        order,
        [
            ("ARG", "Ines"),
            ("BRA", "Ana"),
            ("BRA", "Bia"),
            ("BRA", "Caio"),
            ("URY", "Zoe")
        ]
    );

    let brazil_policy = app
        .collect_pages("/v1/pocs?member_state=BRA&role=policy&limit=1")
        .await;
    let names: Vec<&str> = brazil_policy
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ana", "Caio"]);

    let first = app.get("/v1/pocs?limit=2", &app.secretariat).await;
    assert!(first.assert_status(200)["next_cursor"].is_string());
    let last = app.get("/v1/pocs?limit=5", &app.secretariat).await;
    assert_eq!(last.assert_status(200)["next_cursor"], Value::Null);
}

async fn directory_queries_are_checked(db: TestDb) {
    let app = spawn_app(db).await;

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("role=boss", "role"),
        ("member_state=br", "member_state"),
        ("cursor=not-ours", "cursor"),
        ("colour=blue", "colour"),
    ] {
        app.get(&format!("/v1/pocs?{query}"), &app.secretariat)
            .await
            .assert_problem(400, Some(field));
    }
}

async fn a_poc_edits_its_own_record_but_not_its_role_state_or_others(db: TestDb) {
    let app = spawn_app(db).await;
    let (own_id, token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let other = app.create_poc("CHL", "technical", "Luis Soto").await;

    let reply = app
        .patch(
            &format!("/v1/pocs/{own_id}"),
            &token,
            json!({"phone": "+56 2 2827 4200", "languages": ["es"]}),
        )
        .await;
    let poc = reply.assert_status(200);
    assert_eq!(poc["phone"], "+56 2 2827 4200");
    assert_eq!(poc["languages"], json!(["es"]));
    assert_eq!(poc["name"], "Eva Rojas", "fields not sent are kept");

    let events_before = app.directory_event_count().await;
    app.patch(
        &format!("/v1/pocs/{own_id}"),
        &token,
        json!({"role": "technical"}),
    )
    .await
    .assert_problem(403, None);
    app.patch(
        &format!("/v1/pocs/{own_id}"),
        &token,
        json!({"member_state": "ARG"}),
    )
    .await
    .assert_problem(403, None);
    app.patch(
        &format!("/v1/pocs/{}", id(&other)),
        &token,
        json!({"name": "Hijacked"}),
    )
    .await
    .assert_problem(403, None);
    assert_eq!(app.directory_event_count().await, events_before);
    let other_now = app.get(&format!("/v1/pocs/{}", id(&other)), &token).await;
    assert_eq!(other_now.assert_status(200)["name"], "Luis Soto");

    let moved = app
        .patch(
            &format!("/v1/pocs/{own_id}"),
            &app.secretariat,
            json!({"role": "mfa", "member_state": "ARG"}),
        )
        .await;
    assert_eq!(moved.assert_status(200)["role"], "mfa");
    assert_eq!(moved.body["member_state"], "ARG");
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log[0]["type"], "poc_updated");
    assert_eq!(
        log[0]["payload"],
        json!({"role": "mfa", "member_state": "ARG"})
    );
}

async fn patch_null_clears_the_phone_and_is_refused_for_required_fields(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("MEX", "policy", "Rosa Diaz").await;
    let path = format!("/v1/pocs/{}", id(&poc));
    app.patch(
        &path,
        &app.secretariat,
        json!({"phone": "+52 55 3686 5100"}),
    )
    .await
    .assert_status(200);

    let cleared = app
        .patch(&path, &app.secretariat, json!({"phone": null}))
        .await;
    assert_eq!(cleared.assert_status(200)["phone"], Value::Null);

    app.patch(&path, &app.secretariat, json!({"name": null}))
        .await
        .assert_problem(422, Some("name"));
    app.patch(&path, &app.secretariat, json!({"email": "rosa"}))
        .await
        .assert_problem(422, Some("email"));
    app.patch(&path, &app.secretariat, json!({"member_state": "ESP"}))
        .await
        .assert_problem(422, Some("member_state"));
    let unchanged = app.get(&path, &app.secretariat).await;
    assert_eq!(unchanged.assert_status(200)["name"], "Rosa Diaz");
    assert_eq!(unchanged.body["member_state"], "MEX");
}

async fn an_empty_patch_changes_and_logs_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("PER", "policy", "Jorge Paz").await;
    let events_before = app.directory_event_count().await;

    let reply = app
        .patch(
            &format!("/v1/pocs/{}", id(&poc)),
            &app.secretariat,
            json!({}),
        )
        .await;

    assert_eq!(reply.assert_status(200)["updated_at"], poc["updated_at"]);
    assert_eq!(app.directory_event_count().await, events_before);
}

async fn a_deactivated_poc_stays_listed_and_its_tokens_stop_working(db: TestDb) {
    let app = spawn_app(db).await;
    let (poc_id, token) = app.poc_with_token("COL", "Camilo Ruiz").await;
    app.get("/v1/member-states", &token)
        .await
        .assert_status(200);

    let (_, other_token) = app.poc_with_token("ECU", "Ana Vera").await;
    app.post(
        &format!("/v1/pocs/{poc_id}/deactivate"),
        &other_token,
        json!({}),
    )
    .await
    .assert_problem(403, None);

    let reply = app
        .post(
            &format!("/v1/pocs/{poc_id}/deactivate"),
            &app.secretariat,
            json!({}),
        )
        .await;
    assert_eq!(reply.assert_status(200)["active"], false);
    assert!(reply.body["deactivated_at"].is_string());

    app.get("/v1/member-states", &token)
        .await
        .assert_problem(401, None);
    let listed = app.collect_pages("/v1/pocs?member_state=COL").await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["active"], false);
    assert!(
        app.collect_pages("/v1/pocs?member_state=COL&active=true")
            .await
            .is_empty()
    );

    let events_before = app.directory_event_count().await;
    let again = app
        .post(
            &format!("/v1/pocs/{poc_id}/deactivate"),
            &app.secretariat,
            json!({}),
        )
        .await;
    assert_eq!(
        again.assert_status(200)["deactivated_at"],
        reply.body["deactivated_at"]
    );
    assert_eq!(
        app.directory_event_count().await,
        events_before,
        "deactivating twice logs once"
    );
}

async fn confirming_renews_a_stale_poc(db: TestDb) {
    let app = spawn_app(db).await;
    let (poc_id, token) = app.poc_with_token("JAM", "Kay Brown").await;
    let (_, other_token) = app.poc_with_token("BRB", "Lee Hall").await;
    let long_ago = if app.db.is_postgres() {
        "'2024-01-01T00:00:00Z'".to_owned()
    } else {
        "'2024-01-01T00:00:00+00:00'".to_owned()
    };
    let changed = app
        .db
        .execute(&format!(
            "UPDATE pocs SET last_confirmed_at = {long_ago} WHERE member_state = 'JAM'"
        ))
        .await;
    assert_eq!(changed, 1);
    let path = format!("/v1/pocs/{poc_id}");
    assert_eq!(
        app.get(&path, &token).await.assert_status(200)["stale"],
        true
    );

    app.post(&format!("{path}/confirm"), &other_token, json!({}))
        .await
        .assert_problem(403, None);
    let confirmed = app
        .post(&format!("{path}/confirm"), &token, json!({}))
        .await;

    assert_eq!(confirmed.assert_status(200)["stale"], false);
    assert!(confirmed.body["last_confirmed_at"].as_str().unwrap() > "2026-01-01");
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log[0]["type"], "poc_confirmed");
    assert_eq!(log[0]["actor"]["kind"], "poc");
    assert_eq!(log[0]["actor"]["poc_id"], poc_id.as_str());
}

async fn a_deactivated_poc_cannot_be_confirmed(db: TestDb) {
    let app = spawn_app(db).await;
    let poc = app.create_poc("HTI", "policy", "Marie Joseph").await;
    let path = format!("/v1/pocs/{}", id(&poc));
    app.post(&format!("{path}/deactivate"), &app.secretariat, json!({}))
        .await
        .assert_status(200);

    app.post(&format!("{path}/confirm"), &app.secretariat, json!({}))
        .await
        .assert_problem(409, None);
    app.post(
        "/v1/pocs/00000000-0000-0000-0000-000000000000/confirm",
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_problem(404, None);
}

on_both_databases!(
    the_secretariat_creates_a_poc_and_the_log_records_it,
    a_poc_cannot_create_pocs,
    the_directory_filters_and_pages_in_state_and_name_order,
    directory_queries_are_checked,
    a_poc_edits_its_own_record_but_not_its_role_state_or_others,
    patch_null_clears_the_phone_and_is_refused_for_required_fields,
    an_empty_patch_changes_and_logs_nothing,
    a_deactivated_poc_stays_listed_and_its_tokens_stop_working,
    confirming_renews_a_stale_poc,
    a_deactivated_poc_cannot_be_confirmed,
);
