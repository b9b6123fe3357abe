//! A record that proves itself: `GET /v1/inquiries/{id}/record` signed with the instance's
//! key, checked offline by `cbm2 audit verify-record` against `GET /v1/audit/public-key`,
//! and by the exchange format's JSON Schema (docs/record.schema.json).

use std::path::Path;

use serde_json::{Value, json};

use crate::cli::cbm2;
use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::web_directory::staff;

/// The exchange format's schema, as the repository holds it.
fn schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/record.schema.json"),
    )
    .unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).expect("the schema compiles")
}

#[track_caller]
fn assert_fits_the_schema(document: &Value) {
    let errors: Vec<String> = schema()
        .iter_errors(document)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{document:#}");
}

/// The record of `id` as `token` gets it: the body, and the raw bytes.
async fn record(app: &TestApp, id: &str, token: &str) -> (Value, String) {
    let (status, text) = app
        .get_text(&format!("/v1/inquiries/{id}/record"), token)
        .await;
    assert_eq!(status, 200, "{text}");
    (serde_json::from_str(&text).unwrap(), text)
}

/// `cbm2 audit verify-record FILE [--public-key KEY]` on `text`: (exit code, stdout, stderr).
async fn verify_record(text: &str, key: Option<&str>) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("record.json");
    std::fs::write(&file, text).unwrap();
    let file = file.display().to_string();
    let mut args = vec!["audit", "verify-record", &file];
    if let Some(key) = key {
        args.extend(["--public-key", key]);
    }
    // A database that does not exist: the check needs none and must not open one.
    let missing = format!("sqlite://{}", dir.path().join("absent.db").display());
    cbm2(&missing, &args).await
}

async fn each_reader_gets_a_signed_record_that_verifies_offline(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let (_, mex) = app.poc_with_token("MEX", "Ines Ruiz").await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/inquiries/{id}/acknowledge"),
        &bra,
        json!({"estimated_timeframe": "P3D", "message": "Looking into it"}),
    )
    .await
    .assert_status(200);

    // The key, from anyone, with no token.
    let published = app
        .client
        .get(format!("{}/v1/audit/public-key", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    let published: Value = published.json().await.unwrap();
    let key = published["public_key"].as_str().unwrap().to_owned();
    assert_eq!(published["algorithm"], "Ed25519");
    assert!(
        published["pem"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert_eq!(published["fingerprint"].as_str().unwrap().len(), 64);

    // The requesting state: every event, with what its hash covers.
    let (requester, text) = record(&app, &id, &chl).await;
    assert_fits_the_schema(&requester);
    let inner = &requester["record"];
    assert_eq!(inner["format"], "cbm2-record-v1");
    assert_eq!(inner["reader"]["role"], "requester");
    assert_eq!(inner["reader"]["member_state"], "CHL");
    assert_eq!(inner["instance"]["public_key"], key.as_str());
    assert_eq!(inner["inquiry"]["id"], id.as_str());
    assert_eq!(inner["inquiry"]["status"], "acknowledged");
    let events = inner["events"].as_array().unwrap();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "created",
            "lookup_poc",
            "invoke",
            "describe",
            "request_info",
            "acknowledge"
        ]
    );
    let api_events = app.inquiry_events(&id, &chl).await;
    for (event, shown) in events.iter().zip(&api_events) {
        assert_eq!(event["hash"], shown["hash"], "the hash /events shows");
        assert_eq!(event["salt"].as_str().unwrap().len(), 32);
    }
    let head = app.get("/v1/audit/verify", &app.secretariat).await;
    assert_eq!(
        inner["chain_head"],
        head.assert_status(200)["head"],
        "nothing was written since"
    );

    let (code, stdout, stderr) = verify_record(&text, Some(&key)).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("valid: the record of inquiry"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&id) && stdout.contains("6 events, each hash matching"),
        "{stdout}"
    );
    assert!(!stderr.contains("warning"), "{stderr}");
    // Without a key of one's own: sound, but said to prove nothing of who signed it.
    let (code, _, stderr) = verify_record(&text, None).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: checked against the key the record names"),
        "{stderr}"
    );

    // The responding state: from the sending on.
    let (responder, text) = record(&app, &id, &bra).await;
    assert_fits_the_schema(&responder);
    let events = responder["record"]["events"].as_array().unwrap();
    assert_eq!(events[0]["type"], "request_info");
    assert_eq!(events.len(), 2);
    let (code, stdout, stderr) = verify_record(&text, Some(&key)).await;
    assert_eq!(code, 0, "{stdout}{stderr}");

    // The Secretariat: metadata only, no content and no hashes, still signed.
    let (secretariat, text) = record(&app, &id, &app.secretariat).await;
    assert_fits_the_schema(&secretariat);
    assert_eq!(
        secretariat["record"]["reader"],
        json!({"role": "secretariat"})
    );
    for event in secretariat["record"]["events"].as_array().unwrap() {
        for field in ["payload", "salt", "prev_hash", "hash"] {
            assert!(event.get(field).is_none(), "{field} in {event}");
        }
    }
    assert!(secretariat["record"]["inquiry"].get("nature").is_none());
    let (code, stdout, stderr) = verify_record(&text, Some(&key)).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("the Secretariat's record"), "{stdout}");

    // A third state learns nothing, not even that it exists.
    app.get(&format!("/v1/inquiries/{id}/record"), &mex)
        .await
        .assert_problem(404, None);
    app.get(
        &format!("/v1/inquiries/{}/record", uuid::Uuid::new_v4()),
        &chl,
    )
    .await
    .assert_problem(404, None);
}

async fn an_altered_record_or_another_key_is_refused_naming_what_is_wrong(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let id = app.described_inquiry(&chl, "BRA", false).await;
    let (document, text) = record(&app, &id, &chl).await;
    let key = document["signature"]["public_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _, stderr) = verify_record(&text, Some(&key)).await;
    assert_eq!(code, 0, "{stderr}");

    // One word of the description changed: the signature no longer matches.
    let mut altered = document.clone();
    let payload = altered["record"]["events"][3]["payload"].as_str().unwrap();
    let changed = payload.replace("Scanning", "Probing");
    assert_ne!(payload, changed);
    altered["record"]["events"][3]["payload"] = changed.into();
    let (code, stdout, stderr) = verify_record(&altered.to_string(), Some(&key)).await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("error: invalid record") && stderr.contains("signature does not match"),
        "{stderr}"
    );

    // Altered, then signed again with the instance's own key (one who stole it): the
    // event's hash names it.
    let (signer, _) = cbm2::record::InstanceKey::load_or_create(&app.db.signing_key).unwrap();
    let mut inner: cbm2::record::Record =
        serde_json::from_value(altered["record"].clone()).unwrap();
    inner.exported_at = chrono::Utc::now();
    let resigned = serde_json::to_string(&signer.sign(&inner)).unwrap();
    let (code, _, stderr) = verify_record(&resigned, Some(&key)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("event 3 (seq 4): its hash does not match its content"),
        "{stderr}"
    );

    // Another instance's key, given as the one expected.
    let other = cbm2::record::InstanceKey::generate().unwrap().public_key();
    let (code, _, stderr) = verify_record(&text, Some(&other.to_string())).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not by the expected key"), "{stderr}");

    // A key that is no key, and a file that is no record.
    let (code, _, stderr) = verify_record(&text, Some("AAAA")).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("--public-key"), "{stderr}");
    let (code, _, stderr) = verify_record("{\"record\": 1}", Some(&key)).await;
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("not a cbm2 record"), "{stderr}");
}

async fn the_command_line_prints_the_key_the_server_signs_with(db: TestDb) {
    let app = spawn_app(db).await;
    let published = app
        .client
        .get(format!("{}/v1/audit/public-key", app.address))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let key_file = app.db.signing_key.display().to_string();
    let (code, stdout, stderr) = cbm2(
        &app.db.url,
        &["--signing-key", &key_file, "audit", "public-key"],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.trim(), published["public_key"].as_str().unwrap());
    assert!(
        stderr.contains(published["fingerprint"].as_str().unwrap()),
        "{stderr}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&app.db.signing_key)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "readable by its owner only: {mode:o}");
    }
}

/// The pages link the record, and the download is the API's, for the Secretariat too.
async fn the_inquiry_page_links_the_signed_record(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    app.poc_with_token("MEX", "Ines Ruiz").await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap();
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let ines = app.web_session("ines.ruiz@mfa.example.org").await;
    let duty = staff(&app, "duty@oas.example.org", "Duty Officer").await;

    let page = app
        .page(&format!("/inquiries/{id}"), Some(&ana.cookie))
        .await;
    page.assert_holds(&[&format!("href=\"/inquiries/{id}/record.json\"")]);
    let download = app
        .page(&format!("/inquiries/{id}/record.json"), Some(&ana.cookie))
        .await;
    assert_eq!(download.status, 200);
    assert!(
        download.headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );
    let document: Value = serde_json::from_str(&download.html).unwrap();
    assert_fits_the_schema(&document);
    assert_eq!(document["record"]["reader"]["role"], "requester");
    let (code, _, stderr) = verify_record(&download.html, None).await;
    assert_eq!(code, 0, "{stderr}");

    let staff_copy = app
        .page(&format!("/inquiries/{id}/record.json"), Some(&duty.cookie))
        .await;
    assert_eq!(staff_copy.status, 200);
    let document: Value = serde_json::from_str(&staff_copy.html).unwrap();
    assert_eq!(document["record"]["reader"]["role"], "secretariat");
    assert!(document["record"]["events"][0].get("hash").is_none());

    let hidden = app
        .page(&format!("/inquiries/{id}/record.json"), Some(&ines.cookie))
        .await;
    assert_eq!(hidden.status, 404);
}

on_both_databases!(
    each_reader_gets_a_signed_record_that_verifies_offline,
    an_altered_record_or_another_key_is_refused_naming_what_is_wrong,
    the_command_line_prints_the_key_the_server_signs_with,
    the_inquiry_page_links_the_signed_record,
);
