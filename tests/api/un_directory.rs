//! The UN Global POC Directory: consent, export and comparison.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::web_directory::staff;

fn consent_path(poc_id: &str) -> String {
    format!("/v1/pocs/{poc_id}/share-with-un")
}

/// The export as JSON: its entries.
async fn exported(app: &TestApp) -> Vec<Value> {
    let reply = app
        .get("/v1/directory/export?format=json", &app.secretariat)
        .await;
    reply.assert_status(200)["pocs"].as_array().unwrap().clone()
}

async fn a_poc_consents_and_withdraws_and_the_secretariat_notes_a_consent(db: TestDb) {
    let app = spawn_app(db).await;
    let (chl, chl_token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (arg, arg_token) = app.poc_with_token("ARG", "Ana Pena").await;
    let before = app.directory_event_count().await;

    // Its own consent: now, by the POC, with nothing to add.
    let given = app.post(&consent_path(&chl), &chl_token, json!({})).await;
    let body = given.assert_status(200);
    assert_eq!(body["share_with_un"], true);
    assert_eq!(body["un_consent"]["recorded_by"], "poc");
    assert!(body["un_consent"]["consented_at"].is_string());
    // Only the Secretariat notes a consent given elsewhere.
    app.post(&consent_path(&chl), &chl_token, json!({"how": "by letter"}))
        .await
        .assert_problem(403, None);
    // Another state's POC may not speak for it, give or withdraw.
    app.post(&consent_path(&chl), &arg_token, json!({}))
        .await
        .assert_problem(403, None);
    app.delete(&consent_path(&chl), &arg_token)
        .await
        .assert_problem(403, None);

    // The Secretariat notes a consent given elsewhere: when and how, both required.
    let arg_path = consent_path(&arg);
    app.post(&arg_path, &app.secretariat, json!({"how": "letter"}))
        .await
        .assert_problem(422, Some("consented_at"));
    app.post(
        &arg_path,
        &app.secretariat,
        json!({"consented_at": "2026-11-02T15:00:00Z"}),
    )
    .await
    .assert_problem(422, Some("how"));
    app.post(
        &arg_path,
        &app.secretariat,
        json!({"consented_at": "2999-01-01T00:00:00Z", "how": "letter"}),
    )
    .await
    .assert_problem(422, Some("consented_at"));
    app.post(
        &arg_path,
        &app.secretariat,
        json!({"consented_at": "2026-11-02T15:00:00Z", "how": "\u{202e}letter"}),
    )
    .await
    .assert_problem(422, Some("how"));
    let noted = app
        .post(
            &arg_path,
            &app.secretariat,
            json!({"consented_at": "2026-11-02T15:00:00Z", "how": "Note verbale of 2 November"}),
        )
        .await;
    let body = noted.assert_status(200);
    assert_eq!(body["un_consent"]["recorded_by"], "secretariat");
    assert_eq!(body["un_consent"]["how"], "Note verbale of 2 November");
    assert_eq!(
        app.get(&format!("/v1/pocs/{arg}"), &chl_token)
            .await
            .assert_status(200)["share_with_un"],
        true
    );

    // Withdrawn by the POC itself; withdrawing again changes nothing and logs nothing.
    let withdrawn = app.delete(&consent_path(&chl), &chl_token).await;
    assert_eq!(withdrawn.assert_status(200)["share_with_un"], false);
    assert!(withdrawn.body["un_consent"].is_null());
    app.delete(&consent_path(&chl), &chl_token)
        .await
        .assert_status(200);

    let log = app.collect_pages("/v1/directory/events?limit=200").await;
    let types: Vec<&str> = log[..log.len() - before]
        .iter()
        .rev()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "poc_un_consent_given",
            "poc_un_consent_given",
            "poc_un_consent_withdrawn"
        ]
    );
    assert_eq!(log[1]["payload"]["how"], "Note verbale of 2 November");
    assert_eq!(log[1]["actor"]["kind"], "secretariat");

    // A deactivated POC gives no consent; an unknown one is 404.
    app.post(
        &format!("/v1/pocs/{chl}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    app.post(
        &consent_path(&chl),
        &app.secretariat,
        json!({"consented_at": "2026-11-02T15:00:00Z", "how": "letter"}),
    )
    .await
    .assert_problem(409, None);
    app.post(
        &consent_path("00000000-0000-0000-0000-000000000000"),
        &app.secretariat,
        json!({"consented_at": "2026-11-02T15:00:00Z", "how": "letter"}),
    )
    .await
    .assert_problem(404, None);
}

async fn the_export_lists_the_consenting_active_pocs_only_for_the_secretariat(db: TestDb) {
    let app = spawn_app(db).await;
    let (chl, chl_token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (csirt, csirt_token) = app.technical_poc_with_token("CHL", "Luis Soto").await;
    let (_silent, _) = app.poc_with_token("ARG", "Ana Pena").await;
    let (gone, gone_token) = app.poc_with_token("MEX", "Ines Ruiz").await;
    for (id, token) in [
        (&chl, &chl_token),
        (&csirt, &csirt_token),
        (&gone, &gone_token),
    ] {
        app.post(&consent_path(id), token, json!({}))
            .await
            .assert_status(200);
    }
    app.post(
        &format!("/v1/pocs/{gone}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    app.patch(
        &format!("/v1/pocs/{chl}"),
        &app.secretariat,
        json!({"phone": "+56 2 2827 4200"}),
    )
    .await
    .assert_status(200);

    let entries = exported(&app).await;
    assert_eq!(
        entries,
        [
            json!({
                "member_state": "CHL", "name": "Eva Rojas", "role": "diplomatic",
                "affiliation": "Ministry of Foreign Affairs of CHL",
                "email": "eva.rojas@mfa.example.org", "phone": "+56 2 2827 4200",
                "languages": ["es", "en"],
            }),
            json!({
                "member_state": "CHL", "name": "Luis Soto", "role": "technical",
                "affiliation": "Ministry of Foreign Affairs of CHL",
                "email": "luis.soto@mfa.example.org", "phone": null,
                "languages": ["es", "en"],
            }),
        ]
    );

    let (status, csv) = app
        .get_text("/v1/directory/export?format=csv", &app.secretariat)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        csv,
        "member_state,name,role,affiliation,email,phone,languages\n\
         CHL,Eva Rojas,diplomatic,Ministry of Foreign Affairs of CHL,eva.rojas@mfa.example.org,'+56 2 2827 4200,es en\n\
         CHL,Luis Soto,technical,Ministry of Foreign Affairs of CHL,luis.soto@mfa.example.org,,es en\n"
    );
    let download = app
        .client
        .get(format!("{}/v1/directory/export?format=csv", app.address))
        .bearer_auth(&app.secretariat)
        .send()
        .await
        .unwrap();
    let header = |name: &str| download.headers()[name].to_str().unwrap().to_owned();
    assert!(header("content-type").starts_with("text/csv"));
    assert!(header("content-disposition").starts_with("attachment; filename=\"cbm2-un-directory-"));
    assert_eq!(header("cache-control"), "no-store");

    app.get("/v1/directory/export", &chl_token)
        .await
        .assert_problem(403, None);
    app.get("/v1/directory/export?format=xml", &app.secretariat)
        .await
        .assert_problem(400, Some("format"));
}

async fn a_file_is_compared_with_the_export_and_nothing_is_written(db: TestDb) {
    let app = spawn_app(db).await;
    let (chl, chl_token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (arg, arg_token) = app.poc_with_token("ARG", "Ana Pena").await;
    for (id, token) in [(&chl, &chl_token), (&arg, &arg_token)] {
        app.post(&consent_path(id), token, json!({}))
            .await
            .assert_status(200);
    }
    let events = app.directory_event_count().await;
    let pocs = app.collect_pages("/v1/pocs?limit=200").await;

    // What the UN holds: Chile's POC with another phone, Argentina's not at all, and a
    // contact cbm2 does not export.
    let file = "member_state,name,role,affiliation,email,phone,languages\n\
                CHL,Eva Rojas,diplomatic,Ministry of Foreign Affairs of CHL,EVA.ROJAS@mfa.example.org,+56 2 1234,en es\n\
                BRA,Joao Lima,technical,CTIR Gov,joao@ctir.example.org,,pt\n";
    let reply = app
        .send_raw(
            Method::POST,
            "/v1/directory/compare",
            &app.secretariat,
            "text/csv",
            file.as_bytes().to_vec(),
        )
        .await;
    let report = reply.assert_status(200);
    assert_eq!(report["missing"].as_array().unwrap().len(), 1);
    assert_eq!(report["missing"][0]["email"], "ana.pena@mfa.example.org");
    assert_eq!(report["extra"][0]["email"], "joao@ctir.example.org");
    assert_eq!(
        report["changed"],
        json!([{
            "member_state": "CHL", "role": "diplomatic", "email": "eva.rojas@mfa.example.org",
            "fields": {"phone": {"cbm2": "", "file": "+56 2 1234"}},
        }])
    );

    // The export itself, as JSON, compares equal.
    let export = app
        .get("/v1/directory/export?format=json", &app.secretariat)
        .await;
    let same = app
        .post(
            "/v1/directory/compare",
            &app.secretariat,
            export.body.clone(),
        )
        .await;
    assert_eq!(
        same.assert_status(200).clone(),
        json!({"missing": [], "changed": [], "extra": []})
    );

    // Bad files are refused, naming the line or entry and the field.
    let bad = app
        .send_raw(
            Method::POST,
            "/v1/directory/compare",
            &app.secretariat,
            "text/csv",
            b"member_state,name,role,affiliation,email\nCHL,Eva,policy,MFA,eva@example.org\n"
                .to_vec(),
        )
        .await;
    bad.assert_problem(422, None);
    assert_eq!(bad.body["errors"][0]["line"], 2);
    assert_eq!(bad.body["errors"][0]["field"], "role");
    app.post(
        "/v1/directory/compare",
        &app.secretariat,
        json!({"pocs": [{"member_state": "CHL", "name": "Eva", "role": "diplomatic",
                         "affiliation": "MFA", "email": "eva@example.org", "fax": "1"}]}),
    )
    .await
    .assert_problem(422, None);
    app.send_raw(
        Method::POST,
        "/v1/directory/compare",
        &app.secretariat,
        "application/xml",
        b"<pocs/>".to_vec(),
    )
    .await
    .assert_problem(415, None);
    app.post("/v1/directory/compare", &chl_token, json!({"pocs": []}))
        .await
        .assert_problem(403, None);

    assert_eq!(
        app.directory_event_count().await,
        events,
        "compare writes nothing"
    );
    assert_eq!(app.collect_pages("/v1/pocs?limit=200").await, pocs);
}

/// The pages: a POC consents from its own record and withdraws; the Secretariat notes a
/// consent (refused next to the field first, nothing written), lists and downloads the
/// export, and compares an uploaded file with it.
async fn the_pages_record_consents_and_compare_a_file(db: TestDb) {
    let app = spawn_app(db).await;
    let (ana_id, _) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (bruno_id, _) = app.poc_with_token("BRA", "Bruno Lima").await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let duty = staff(&app, "duty@oas.example.org", "Duty Officer").await;
    let own = format!("/directory/pocs/{ana_id}");

    let page = app.page(&own, Some(&ana.cookie)).await;
    page.assert_holds(&[
        "Has not consented",
        &format!("action=\"{own}/share-with-un\""),
        "Authorize sending my details to the UN",
    ]);
    // Another state's POC sees the record's consent, and no form for it.
    let bruno_seen = app
        .page(&format!("/directory/pocs/{bruno_id}"), Some(&ana.cookie))
        .await;
    assert!(
        !bruno_seen.html.contains("/share-with-un\""),
        "{}",
        bruno_seen.html
    );
    let refused = app
        .submit(
            &ana,
            &format!("/directory/pocs/{bruno_id}/share-with-un"),
            &[],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    let given = app.submit(&ana, &format!("{own}/share-with-un"), &[]).await;
    assert_eq!(given.status, StatusCode::SEE_OTHER);
    assert_eq!(given.location(), format!("{own}?done=un-consent-given#un"));
    let record = app
        .get(&format!("/v1/pocs/{ana_id}"), &app.secretariat)
        .await;
    assert_eq!(
        record.assert_status(200)["un_consent"]["recorded_by"],
        "poc"
    );
    let page = app
        .page(&format!("{own}?done=un-consent-given"), Some(&ana.cookie))
        .await;
    page.assert_holds(&[
        "The consent to the UN Global POC Directory was recorded.",
        "Withdraw the consent",
    ]);

    // The Secretariat's note: a date in the future is refused next to its field.
    let events = app.directory_event_count().await;
    let bruno_path = format!("/directory/pocs/{bruno_id}/share-with-un");
    let future = app
        .submit(
            &duty,
            &bruno_path,
            &[
                ("consented_at", "2999-01-01T10:00"),
                ("how", "Note verbale"),
            ],
        )
        .await;
    assert_eq!(
        future.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        future.html
    );
    future.assert_holds(&[
        "Enter the date and time the consent was given, not in the future.",
        "Note verbale",
    ]);
    assert_eq!(
        app.directory_event_count().await,
        events,
        "a refused form writes nothing"
    );
    let noted = app
        .submit(
            &duty,
            &bruno_path,
            &[
                ("consented_at", "2026-11-02T10:00"),
                ("how", "Note verbale of 2 November"),
            ],
        )
        .await;
    assert_eq!(noted.status, StatusCode::SEE_OTHER, "{}", noted.html);
    let record = app
        .get(&format!("/v1/pocs/{bruno_id}"), &app.secretariat)
        .await;
    assert_eq!(
        record.assert_status(200)["un_consent"]["how"],
        "Note verbale of 2 November"
    );
    assert_eq!(
        record.body["un_consent"]["consented_at"],
        "2026-11-02T10:00:00Z"
    );

    // The Secretariat's page lists both; a POC does not get it.
    let un = app.page("/directory/un", Some(&duty.cookie)).await;
    assert_eq!(un.status, StatusCode::OK);
    un.assert_holds(&[
        "Ana Rojas",
        "Bruno Lima",
        "Diplomatic",
        "/directory/un/export.csv",
    ]);
    assert_eq!(
        app.page("/directory/un", Some(&ana.cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    let csv = app
        .page("/directory/un/export.csv", Some(&duty.cookie))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.html
            .starts_with("member_state,name,role,affiliation,email,phone,languages\n")
    );
    assert_eq!(csv.html.lines().count(), 3, "{}", csv.html);

    // Compare an uploaded file: Brazil's POC with another name, Chile's missing.
    let file = "member_state,name,role,affiliation,email\n\
                BRA,Bruno Lima Souza,diplomatic,Ministry of Foreign Affairs of BRA,bruno.lima@mfa.example.org\n";
    let upload = |session: &crate::web::WebSession, body: &str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", session.csrf.clone())
            .part(
                "file",
                reqwest::multipart::Part::bytes(body.as_bytes().to_vec())
                    .file_name("un.csv")
                    .mime_str("text/csv")
                    .unwrap(),
            );
        app.client
            .post(format!("{}/directory/un/compare", app.address))
            .header("cookie", &session.cookie)
            .header("accept", "text/html")
            .multipart(form)
            .send()
    };
    let compared = upload(&duty, file).await.unwrap();
    assert_eq!(compared.status(), StatusCode::OK);
    let html = compared.text().await.unwrap();
    assert!(html.contains("id=\"un-missing\""), "{html}");
    assert!(html.contains("ana.rojas@mfa.example.org"), "{html}");
    assert!(
        html.contains("name: Bruno Lima → Bruno Lima Souza"),
        "{html}"
    );
    let bad = upload(&duty, "member_state,name\nBRA,Bruno\n")
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.text().await.unwrap().contains("id=\"un-problems\""));
    assert_eq!(
        upload(&ana, file).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.directory_event_count().await,
        events + 1,
        "only the note was written"
    );

    // Withdrawn from the page, by the POC itself.
    let withdrawn = app
        .submit(&ana, &format!("{own}/share-with-un/withdraw"), &[])
        .await;
    assert_eq!(withdrawn.status, StatusCode::SEE_OTHER);
    let record = app
        .get(&format!("/v1/pocs/{ana_id}"), &app.secretariat)
        .await;
    assert_eq!(record.assert_status(200)["share_with_un"], false);
}

on_both_databases!(
    a_poc_consents_and_withdraws_and_the_secretariat_notes_a_consent,
    the_export_lists_the_consenting_active_pocs_only_for_the_secretariat,
    a_file_is_compared_with_the_export_and_nothing_is_written,
    the_pages_record_consents_and_compare_a_file,
);
