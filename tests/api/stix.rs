//! An inquiry's indicators as STIX 2.1: the bundle exported for the two states, checked
//! by OASIS's reference validator, and indicators read from a bundle in `describe`.

use std::process::Command;

use serde_json::{Value, json};

use reqwest::StatusCode;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::web::act;
use crate::web_directory::staff;

const TLP_AMBER_STRICT: &str = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003";

/// The reference validator (`stix2-validator` from the Python package index), if it is
/// installed: `CBM2_STIX2_VALIDATOR`, else `stix2_validator` on the PATH. `.ci/run`
/// installs it; with `CI=true` it is required.
fn validator() -> Option<String> {
    let program =
        std::env::var("CBM2_STIX2_VALIDATOR").unwrap_or_else(|_| "stix2_validator".to_owned());
    let found = Command::new(&program)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    if found {
        return Some(program);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "stix2-validator is required in CI: pip install stix2-validator==3.3.2 (or set CBM2_STIX2_VALIDATOR)"
    );
    eprintln!(
        "skipping the STIX reference validation: pip install stix2-validator==3.3.2 to run it"
    );
    None
}

/// An inquiry of Chile's to Brazil, described with `describe`'s body, then sent.
async fn sent_with(app: &TestApp, chl: &str, describe: Value) -> String {
    let draft = app.post("/v1/inquiries", chl, json!({})).await;
    let id = draft.assert_status(201)["id"].as_str().unwrap().to_owned();
    for (action, body) in [
        ("lookup-poc", json!({"member_state": "BRA"})),
        ("invoke", json!({})),
        ("describe", describe),
        (
            "request-info",
            json!({
                "questions": "Do you see this activity from your networks?",
                "contact": {"name": "Duty Officer", "email": "x@example.org"},
                "time_sensitivity": "routine",
            }),
        ),
    ] {
        app.post(&format!("/v1/inquiries/{id}/{action}"), chl, body)
            .await
            .assert_status(200);
    }
    id
}

async fn the_two_states_export_the_indicators_as_a_valid_stix_bundle(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let (_, mex) = app.poc_with_token("MEX", "Ines Ruiz").await;
    let sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let id = sent_with(
        &app,
        &chl,
        json!({
            "nature": "Scanning of the ministry's mail servers",
            "category": "scanning",
            "sectors": ["government"],
            "observed_from": "2026-11-20T08:00:00Z",
            "indicators": [
                {"type": "ipv4", "value": "203.0.113.7"},
                {"type": "url", "value": "hxxps://evil.example/login?a='1'"},
                {"type": "hash", "value": sha256},
                {"type": "other", "value": "a registry key"},
            ],
            "indicators_stix": {
                "type": "bundle",
                "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
                "objects": [
                    {"type": "identity", "id": "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"},
                    {"type": "indicator", "pattern_type": "stix",
                     "pattern": "[domain-name:value = 'c2.evil.example']"},
                ],
            },
        }),
    )
    .await;
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    let indicators = view.assert_status(200)["indicators"].clone();
    assert_eq!(indicators.as_array().unwrap().len(), 5, "{indicators}");
    assert_eq!(
        indicators[4],
        json!({"type": "domain", "value": "c2.evil.example"})
    );

    let path = format!("/v1/inquiries/{id}/indicators.stix");
    let (status, text) = app.get_text(&path, &bra).await;
    assert_eq!(status, 200, "{text}");
    let bundle: Value = serde_json::from_str(&text).unwrap();
    let objects = bundle["objects"].as_array().unwrap();
    let of_type = |kind: &str| {
        objects
            .iter()
            .filter(|o| o["type"] == kind)
            .collect::<Vec<_>>()
    };
    assert_eq!(of_type("marking-definition")[0]["id"], TLP_AMBER_STRICT);
    assert_eq!(of_type("identity")[0]["name"], "Chile");
    let patterns: Vec<&str> = of_type("indicator")
        .iter()
        .map(|o| {
            assert_eq!(o["object_marking_refs"], json!([TLP_AMBER_STRICT]));
            assert_eq!(o["valid_from"], "2026-11-20T08:00:00.000Z");
            o["pattern"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        patterns,
        [
            "[ipv4-addr:value = '203.0.113.7']",
            "[url:value = 'https://evil.example/login?a=\\'1\\'']",
            &format!("[file:hashes.'SHA-256' = '{sha256}']"),
            "[domain-name:value = 'c2.evil.example']",
        ],
        "the `other` indicator has no pattern"
    );
    let download = app
        .client
        .get(format!("{}{path}", app.address))
        .bearer_auth(&chl)
        .send()
        .await
        .unwrap();
    assert_eq!(
        download.headers()["content-type"],
        "application/stix+json;version=2.1"
    );
    assert_eq!(
        download.text().await.unwrap(),
        text,
        "the same export, the same bundle"
    );

    app.get(&path, &app.secretariat)
        .await
        .assert_problem(403, None);
    app.get(&path, &mex).await.assert_problem(404, None);

    // Last: the validator takes seconds, longer than the server keeps an idle connection.
    if let Some(program) = validator() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bundle.json");
        std::fs::write(&file, &text).unwrap();
        let output = Command::new(program)
            .arg("--strict")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "stix2-validator --strict refused the bundle:\n{}\n{text}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
}

async fn a_bundle_describe_cannot_read_is_refused_naming_the_object(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let id = app.described_inquiry(&chl, "BRA", false).await;
    let before = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    let version = before.assert_status(200)["version"].clone();
    let describe = |bundle: Value| {
        json!({"nature": "Botnet traffic", "category": "botnet", "sectors": [],
               "indicators_stix": bundle})
    };
    let cases = [
        (json!({"type": "report"}), "indicators_stix.type"),
        (
            json!({"type": "bundle", "objects": [{"type": "indicator", "pattern_type": "stix",
                "pattern": "[ipv4-addr:value = '1.2.3.4' OR ipv4-addr:value = '5.6.7.8']"}]}),
            "indicators_stix.objects[0].pattern",
        ),
        (
            json!({"type": "bundle", "objects": [{"type": "note"}, {"type": "indicator",
                "pattern_type": "stix", "pattern": "[ipv4-addr:value = '999.1.1.1']"}]}),
            "indicators_stix.objects[1].pattern",
        ),
        (
            json!({"type": "bundle", "objects": [{"type": "indicator", "pattern_type": "sigma",
                "pattern": "title: x"}]}),
            "indicators_stix.objects[0].pattern_type",
        ),
    ];
    for (bundle, field) in cases {
        app.post(
            &format!("/v1/inquiries/{id}/describe"),
            &chl,
            describe(bundle),
        )
        .await
        .assert_problem(422, Some(field));
    }
    let after = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    assert_eq!(
        after.assert_status(200)["version"],
        version,
        "nothing was written"
    );
}

/// The pages: the describe form takes a pasted bundle (refused next to its field when it
/// cannot be read, nothing written), and the inquiry page links the export, for the two
/// states only.
async fn the_pages_take_a_pasted_bundle_and_link_the_export(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let id = app.described_inquiry(&chl, "BRA", false).await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let duty = staff(&app, "duty@oas.example.org", "Duty Officer").await;
    let fields = |stix: &'static str| {
        vec![
            ("nature", "Botnet traffic"),
            ("category", "botnet"),
            ("sectors", "government"),
            ("indicators", "ipv4 203.0.113.7"),
            ("indicators_stix", stix),
        ]
    };

    let refused = act(
        &app,
        &ana,
        &id,
        "describe",
        &fields("[ipv4-addr:value = '1.2.3.4']"),
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused
            .html
            .contains("id=\"describe-indicators_stix-error\""),
        "{}",
        refused.html
    );
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    assert_eq!(
        view.assert_status(200)["indicators"],
        json!([]),
        "nothing was written"
    );

    let bundle = r#"{"type": "bundle", "objects": [{"type": "indicator", "pattern_type": "stix",
        "pattern": "[domain-name:value = 'c2.evil.example']"}]}"#;
    let done = act(&app, &ana, &id, "describe", &fields(bundle)).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.html);
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    assert_eq!(
        view.assert_status(200)["indicators"],
        json!([{"type": "ipv4", "value": "203.0.113.7"}, {"type": "domain", "value": "c2.evil.example"}])
    );

    let page = app
        .page(&format!("/inquiries/{id}"), Some(&ana.cookie))
        .await;
    page.assert_holds(&[&format!("href=\"/inquiries/{id}/indicators.stix\"")]);
    let export = app
        .page(
            &format!("/inquiries/{id}/indicators.stix"),
            Some(&ana.cookie),
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        export.headers["content-type"],
        "application/stix+json;version=2.1"
    );
    let bundle: Value = serde_json::from_str(&export.html).unwrap();
    assert_eq!(bundle["objects"].as_array().unwrap().len(), 4);
    let hidden = app
        .page(
            &format!("/inquiries/{id}/indicators.stix"),
            Some(&duty.cookie),
        )
        .await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
}

on_both_databases!(
    the_two_states_export_the_indicators_as_a_valid_stix_bundle,
    a_bundle_describe_cannot_read_is_refused_naming_the_object,
    the_pages_take_a_pasted_bundle_and_link_the_export,
);
