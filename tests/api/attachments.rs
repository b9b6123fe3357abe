//! Evidence: a file attached by either party once the inquiry is sent, recorded as an
//! `attachment_added` event, downloaded by the two states only, refused (writing nothing)
//! when it is not something the server takes.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Reply, TestApp, TestDb, on_both_databases, read, spawn_app, spawn_app_with};
use crate::web_directory::staff;

/// A multipart form with one file part.
fn file_form(name: &str, content_type: &str, bytes: &[u8]) -> Form {
    Form::new().part(
        "file",
        Part::bytes(bytes.to_vec())
            .file_name(name.to_owned())
            .mime_str(content_type)
            .unwrap(),
    )
}

/// `POST /v1/inquiries/{id}/attachments` with `form`, as `token`.
async fn upload(app: &TestApp, id: &str, token: &str, form: Form) -> Reply {
    let response = app
        .client
        .post(format!("{}/v1/inquiries/{id}/attachments", app.address))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    read(response).await
}

async fn download(app: &TestApp, id: &str, file: &str, token: &str) -> reqwest::Response {
    app.client
        .get(format!(
            "{}/v1/inquiries/{id}/attachments/{file}",
            app.address
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn rows(app: &TestApp, id: &str) -> (i64, i64) {
    let events = app
        .db
        .count(&format!(
            "SELECT count(*) FROM inquiry_events WHERE inquiry_id = {}",
            app.db.uuid_literal(id)
        ))
        .await;
    let files = app
        .db
        .count("SELECT count(*) FROM inquiry_attachments")
        .await;
    (events, files)
}

async fn either_party_attaches_evidence_that_only_the_two_states_download(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.attachments.limit = 4096).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let (_, mex) = app.poc_with_token("MEX", "Ines Ruiz").await;

    // Before the sending there is nobody to show evidence to.
    let draft = app.described_inquiry(&chl, "BRA", false).await;
    let early = upload(&app, &draft, &chl, file_form("fw.log", "text/plain", b"x")).await;
    early.assert_problem(409, None);

    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    assert!(
        sent["allowed_actions"]
            .as_array()
            .unwrap()
            .contains(&json!("attach"))
    );
    let log = b"2026-11-29T10:00:00Z 203.0.113.7 -> 198.51.100.2:25 SYN\n";
    let attached = upload(
        &app,
        &id,
        &chl,
        file_form("C:\\logs\\fw.log", "text/plain; charset=utf-8", log),
    )
    .await;
    let view = attached.assert_status(200);
    let file = &view["attachments"][0];
    assert_eq!(file["name"], "fw.log", "the sender's folders are dropped");
    assert_eq!(file["content_type"], "text/plain");
    assert_eq!(file["size"], log.len());
    assert_eq!(file["sha256"], hex::encode(Sha256::digest(log)));
    assert_eq!(file["side"], "requester");
    let file_id = file["id"].as_str().unwrap().to_owned();
    let png = b"\x89PNG\r\n\x1a\n not really an image";
    upload(&app, &id, &bra, file_form("capture.png", "image/png", png))
        .await
        .assert_status(200);

    // The other state downloads the bytes, as a download, never as a page.
    let got = download(&app, &id, &file_id, &bra).await;
    assert_eq!(got.status(), 200);
    let headers = got.headers().clone();
    assert_eq!(headers["content-type"], "text/plain");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; filename=\"fw.log\""),
        "{headers:?}"
    );
    assert_eq!(got.bytes().await.unwrap().as_ref(), log);

    // The Secretariat sees that files exist, never their names nor bytes.
    let metadata = app
        .get(&format!("/v1/inquiries/{id}"), &app.secretariat)
        .await;
    let metadata = metadata.assert_status(200);
    assert_eq!(metadata["attachment_count"], 2);
    assert!(metadata.get("attachments").is_none(), "{metadata}");
    assert_eq!(
        download(&app, &id, &file_id, &app.secretariat)
            .await
            .status(),
        403
    );
    let trail = app.inquiry_events(&id, &app.secretariat).await;
    let added: Vec<&Value> = trail
        .iter()
        .filter(|e| e["type"] == "attachment_added")
        .collect();
    assert_eq!(added.len(), 2);
    assert!(added.iter().all(|e| e.get("payload").is_none()));
    // A third state learns nothing.
    assert_eq!(download(&app, &id, &file_id, &mex).await.status(), 404);
    upload(&app, &id, &mex, file_form("x.txt", "text/plain", b"x"))
        .await
        .assert_problem(404, None);
    assert_eq!(
        download(&app, &id, &uuid::Uuid::new_v4().to_string(), &chl)
            .await
            .status(),
        404
    );

    // What the server does not take is refused, naming why, and writes nothing.
    let before = rows(&app, &id).await;
    for (form, status, field) in [
        (
            file_form("page.html", "text/html", b"<script>"),
            422,
            Some("file.content_type"),
        ),
        (file_form("empty.txt", "text/plain", b""), 422, Some("file")),
        (
            file_form("report\u{202E}fdp.exe", "application/pdf", b"%PDF"),
            422,
            Some("file.name"),
        ),
        (Form::new().text("note", "no file"), 422, Some("note")),
        // No part at all: not a multipart body multer reads.
        (Form::new(), 400, None),
        (file_form("big.txt", "text/plain", &[b'a'; 4097]), 413, None),
    ] {
        let refused = upload(&app, &id, &chl, form).await;
        refused.assert_problem(status, field);
    }
    let not_multipart = app
        .post(
            &format!("/v1/inquiries/{id}/attachments"),
            &chl,
            json!({"file": "x"}),
        )
        .await;
    not_multipart.assert_problem(400, None);
    assert_eq!(rows(&app, &id).await, before, "nothing was written");

    // The record lists the files by hash.
    let (status, text) = app
        .get_text(&format!("/v1/inquiries/{id}/record"), &chl)
        .await;
    assert_eq!(status, 200);
    let record: Value = serde_json::from_str(&text).unwrap();
    let listed = record["record"]["attachments"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["sha256"], hex::encode(Sha256::digest(log)));
    let (staff_status, staff_text) = app
        .get_text(&format!("/v1/inquiries/{id}/record"), &app.secretariat)
        .await;
    assert_eq!(staff_status, 200);
    let staff_record: Value = serde_json::from_str(&staff_text).unwrap();
    assert!(staff_record["record"].get("attachments").is_none());

    // The chain holds, the attachment events included.
    let verified = app.get("/v1/audit/verify", &app.secretariat).await;
    assert_eq!(verified.assert_status(200)["valid"], true);
}

async fn a_directory_keeps_the_bytes_and_a_changed_file_is_never_served(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let kept = dir.path().join("evidence");
    let app = spawn_app_with(db, |settings| settings.attachments.dir = Some(kept.clone())).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();

    let bytes = br#"{"type": "bundle"}"#;
    let view = upload(
        &app,
        &id,
        &chl,
        file_form("iocs.json", "application/json", bytes),
    )
    .await;
    let file_id = view.assert_status(200)["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let on_disk = kept.join(&file_id);
    assert_eq!(std::fs::read(&on_disk).unwrap(), bytes);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM inquiry_attachments WHERE content IS NULL")
            .await,
        1,
        "the bytes are in the directory, not the database"
    );
    let got = download(&app, &id, &file_id, &bra).await;
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.unwrap().as_ref(), bytes);

    // A refused upload leaves no file behind.
    upload(&app, &id, &chl, file_form("x.html", "text/html", b"<p>"))
        .await
        .assert_problem(422, Some("file.content_type"));
    let files: Vec<_> = std::fs::read_dir(&kept).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");

    // Bytes changed behind the server's back are not served as evidence.
    std::fs::write(&on_disk, b"{\"type\": \"forged\"}").unwrap();
    let refused = download(&app, &id, &file_id, &bra).await;
    assert_eq!(refused.status(), 500);
}

async fn the_inquiry_page_lists_and_uploads_evidence(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let bruno = app.web_session("bruno.lima@mfa.example.org").await;
    let duty = staff(&app, "duty@oas.example.org", "Duty Officer").await;

    let page = app
        .page(&format!("/inquiries/{id}"), Some(&bruno.cookie))
        .await;
    page.assert_holds(&["id=\"action-attach\"", "enctype=\"multipart/form-data\""]);

    let post = |form: Form| {
        app.client
            .post(format!("{}/inquiries/{id}/attachments", app.address))
            .header("cookie", &bruno.cookie)
            .header("accept", "text/html")
            .multipart(form)
            .send()
    };
    let form = file_form("answer.pdf", "application/pdf", b"%PDF-1.7 evidence")
        .text("csrf", bruno.csrf.clone());
    let done = post(form).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.url().as_str().ends_with("?done=attach"),
        "{}",
        done.url()
    );
    let html = done.text().await.unwrap();
    assert!(html.contains("answer.pdf"), "{html}");
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    let file_id = view.assert_status(200)["attachments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(html.contains(&format!("/inquiries/{id}/attachments/{file_id}")));

    // Refused on the page, saying why.
    let form = file_form("page.html", "text/html", b"<p>").text("csrf", bruno.csrf.clone());
    let refused = post(form).await.unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("text/html is not taken")
    );
    // Without the form's token: refused, nothing attached.
    let forged = post(file_form("x.pdf", "application/pdf", b"%PDF"))
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    assert_eq!(view.assert_status(200)["attachment_count"], 1);

    // The Secretariat's page says how many, and the file is not theirs to download.
    let staff_page = app
        .page(&format!("/inquiries/{id}"), Some(&duty.cookie))
        .await;
    assert!(!staff_page.html.contains("answer.pdf"));
    assert!(!staff_page.html.contains("id=\"action-attach\""));
    let hidden = app
        .page(
            &format!("/inquiries/{id}/attachments/{file_id}"),
            Some(&duty.cookie),
        )
        .await;
    assert_eq!(hidden.status, 404);
}

on_both_databases!(
    either_party_attaches_evidence_that_only_the_two_states_download,
    a_directory_keeps_the_bytes_and_a_changed_file_is_never_served,
    the_inquiry_page_lists_and_uploads_evidence,
);
