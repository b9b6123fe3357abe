use cbm2::domain::{Language, StateNameForms};
use reqwest::Method;
use serde_json::json;

use crate::helpers::{TestDb, on_both_databases, spawn_app};

async fn member_states_lists_the_35_oas_states_all_participating(db: TestDb) {
    let app = spawn_app(db).await;

    let reply = app.get("/v1/member-states", &app.secretariat).await;

    let items = reply.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(items.len(), 35);
    let codes: Vec<&str> = items.iter().map(|s| s["code"].as_str().unwrap()).collect();
    for code in ["CHL", "BRA", "USA", "CAN", "TTO", "VCT"] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    assert!(items.iter().all(|s| s["participating"] == true));
    let chile = items.iter().find(|s| s["code"] == "CHL").unwrap();
    assert_eq!(chile["name"], "Chile");
    assert_eq!(chile["active_pocs"], 0);
    assert!(
        reply.body.get("next_cursor").is_none(),
        "member states come whole"
    );
}

async fn member_states_need_a_valid_token(db: TestDb) {
    let app = spawn_app(db).await;

    app.request(Method::GET, "/v1/member-states", None, None)
        .await
        .assert_problem(401, None);
    let reply = app.get("/v1/member-states", "cbm2_not-a-real-token").await;
    reply.assert_problem(401, None);
    assert_eq!(reply.headers["www-authenticate"], "Bearer realm=\"cbm2\"");
}

async fn active_pocs_counts_only_active_pocs_of_the_state(db: TestDb) {
    let app = spawn_app(db).await;
    let kept = app.create_poc("BRA", "policy", "Ana Souza").await;
    let gone = app.create_poc("BRA", "technical", "Rui Lima").await;
    app.create_poc("CHL", "policy", "Eva Rojas").await;

    app.post(
        &format!("/v1/pocs/{}/deactivate", gone["id"].as_str().unwrap()),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);

    let brazil = app.get("/v1/member-states/BRA", &app.secretariat).await;
    let brazil = brazil.assert_status(200);
    assert_eq!(brazil["active_pocs"], 1);
    assert_eq!(brazil["active_policy_pocs"], 1);
    assert_eq!(kept["member_state"], "BRA");
}

async fn only_the_secretariat_changes_participation_and_it_is_logged(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, poc_token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let events_before = app.directory_event_count().await;

    app.patch(
        "/v1/member-states/CUB",
        &poc_token,
        json!({"participating": false}),
    )
    .await
    .assert_problem(403, None);
    assert_eq!(app.directory_event_count().await, events_before);

    let reply = app
        .patch(
            "/v1/member-states/CUB",
            &app.secretariat,
            json!({"participating": false}),
        )
        .await;
    assert_eq!(reply.assert_status(200)["participating"], false);
    let shown = app.get("/v1/member-states/CUB", &poc_token).await;
    assert_eq!(shown.assert_status(200)["participating"], false);
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log.len(), events_before + 1);
    assert_eq!(log[0]["type"], "member_state_updated");
    assert_eq!(log[0]["subject"], "CUB");
    assert_eq!(log[0]["actor"]["kind"], "secretariat");
    assert_eq!(log[0]["payload"], json!({"participating": false}));

    app.patch(
        "/v1/member-states/CUB",
        &app.secretariat,
        json!({"participating": false}),
    )
    .await
    .assert_status(200);
    assert_eq!(
        app.directory_event_count().await,
        events_before + 1,
        "a no-op logs nothing"
    );
}

async fn member_state_codes_are_checked(db: TestDb) {
    let app = spawn_app(db).await;

    app.get("/v1/member-states/FRA", &app.secretariat)
        .await
        .assert_problem(404, None);
    app.get("/v1/member-states/chl", &app.secretariat)
        .await
        .assert_problem(400, Some("code"));
    app.patch(
        "/v1/member-states/FRA",
        &app.secretariat,
        json!({"participating": false}),
    )
    .await
    .assert_problem(404, None);
    app.patch(
        "/v1/member-states/CHL",
        &app.secretariat,
        json!({"participating": "no"}),
    )
    .await
    .assert_problem(422, Some("participating"));
}

async fn every_state_has_its_capitals_time_zone(db: TestDb) {
    let app = spawn_app(db).await;

    let reply = app.get("/v1/member-states", &app.secretariat).await;

    let items = reply.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .clone();
    let zone = |code: &str| {
        items.iter().find(|s| s["code"] == code).unwrap()["time_zone"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    for (code, expected) in [
        ("CHL", "America/Santiago"),
        ("BRA", "America/Sao_Paulo"),
        ("USA", "America/New_York"),
        ("CAN", "America/Toronto"),
        ("MEX", "America/Mexico_City"),
        ("ARG", "America/Argentina/Buenos_Aires"),
        ("TTO", "America/Port_of_Spain"),
    ] {
        assert_eq!(zone(code), expected, "{code}");
    }
    for state in &items {
        let name = state["time_zone"].as_str().unwrap();
        assert!(
            name.parse::<chrono_tz::Tz>().is_ok() && name != "UTC",
            "{}: {name} is not a seeded capital's zone",
            state["code"]
        );
    }
}

async fn the_secretariat_changes_a_time_zone_and_it_is_logged(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, poc_token) = app.poc_with_token("PER", "Rosa Quispe").await;
    let events_before = app.directory_event_count().await;

    app.patch(
        "/v1/member-states/MEX",
        &poc_token,
        json!({"time_zone": "America/Cancun"}),
    )
    .await
    .assert_problem(403, None);
    let reply = app
        .patch(
            "/v1/member-states/MEX",
            &app.secretariat,
            json!({"time_zone": "America/Cancun"}),
        )
        .await;

    let body = reply.assert_status(200);
    assert_eq!(body["time_zone"], "America/Cancun");
    assert_eq!(body["participating"], true, "left as it was");
    let shown = app.get("/v1/member-states/MEX", &poc_token).await;
    assert_eq!(shown.assert_status(200)["time_zone"], "America/Cancun");
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log.len(), events_before + 1);
    assert_eq!(log[0]["type"], "member_state_updated");
    assert_eq!(log[0]["subject"], "MEX");
    assert_eq!(log[0]["payload"], json!({"time_zone": "America/Cancun"}));

    // Both at once: one event naming only what changed.
    app.patch(
        "/v1/member-states/MEX",
        &app.secretariat,
        json!({"time_zone": "America/Cancun", "participating": false}),
    )
    .await
    .assert_status(200);
    let log = app.collect_pages("/v1/directory/events").await;
    assert_eq!(log.len(), events_before + 2);
    assert_eq!(log[0]["payload"], json!({"participating": false}));
    app.patch("/v1/member-states/MEX", &app.secretariat, json!({}))
        .await
        .assert_status(200);
    assert_eq!(
        app.directory_event_count().await,
        events_before + 2,
        "a no-op logs nothing"
    );
}

async fn an_unknown_time_zone_is_422_naming_it_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let events_before = app.directory_event_count().await;

    for bad in [
        json!({"time_zone": "Mars/Olympus"}),
        json!({"time_zone": ""}),
        json!({"time_zone": " America/Lima"}),
        json!({"time_zone": "america/lima"}),
        json!({"time_zone": null}),
        json!({"time_zone": 5}),
        // A good participating beside a bad zone changes neither.
        json!({"participating": false, "time_zone": "Mars/Olympus"}),
    ] {
        app.patch("/v1/member-states/PER", &app.secretariat, bad.clone())
            .await
            .assert_problem(422, Some("time_zone"));
    }

    let peru = app.get("/v1/member-states/PER", &app.secretariat).await;
    let peru = peru.assert_status(200);
    assert_eq!(peru["time_zone"], "America/Lima");
    assert_eq!(peru["participating"], true);
    assert_eq!(app.directory_event_count().await, events_before);
}

async fn the_name_forms_e_mails_use_are_the_directorys_names(db: TestDb) {
    let app = spawn_app(db).await;

    let reply = app.get("/v1/member-states", &app.secretariat).await;

    for state in reply.assert_status(200)["items"].as_array().unwrap() {
        let code = state["code"].as_str().unwrap();
        for language in Language::ALL {
            assert_eq!(
                state["names"][language.as_str()],
                StateNameForms::of_state(code, language).unwrap().name,
                "{code} in {language:?}: protocol/state_names.toml differs from the directory"
            );
        }
    }
}

on_both_databases!(
    member_states_lists_the_35_oas_states_all_participating,
    member_states_need_a_valid_token,
    active_pocs_counts_only_active_pocs_of_the_state,
    only_the_secretariat_changes_participation_and_it_is_logged,
    member_state_codes_are_checked,
    every_state_has_its_capitals_time_zone,
    the_secretariat_changes_a_time_zone_and_it_is_logged,
    an_unknown_time_zone_is_422_naming_it_and_writes_nothing,
    the_name_forms_e_mails_use_are_the_directorys_names,
);
