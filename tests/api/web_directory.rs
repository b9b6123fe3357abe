//! The directory, staff and account pages through HTTP with a browser session: who reads
//! and changes what, forms refused next to the field with nothing written, sessions ended.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use serde_json::{Value, json};

use cbm2::clock;
use cbm2::domain::{EmailAddress, PersonName};
use cbm2::store::Store;
use cbm2::store::directory::Actor;

use crate::helpers::{TestApp, TestDb, on_both_databases, spawn_app};
use crate::web::WebSession;

/// A staff account for `email`, added as `cbm2 staff add` does, and its browser session.
pub async fn staff(app: &TestApp, email: &str, name: &str) -> WebSession {
    let store = Store::connect(&app.db.url).await.expect("connect");
    store
        .add_staff(
            Actor::CommandLine,
            &EmailAddress::parse(email).unwrap(),
            &PersonName::parse(name).unwrap(),
            clock::now(),
        )
        .await
        .expect("a staff account");
    store.close().await;
    app.web_session(email).await
}

/// The POC `id` as the API shows it.
async fn poc_record(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/pocs/{id}"), &app.secretariat)
        .await
        .assert_status(200)
        .clone()
}

/// A POC's own form, filled with `changes` over its current values.
fn own_form<'a>(record: &'a Value, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let mut fields: Vec<(&str, String)> = vec![
        ("name", record["name"].as_str().unwrap().to_owned()),
        (
            "affiliation",
            record["affiliation"].as_str().unwrap().to_owned(),
        ),
        ("email", record["email"].as_str().unwrap().to_owned()),
        ("phone", String::new()),
        ("languages", "es, en".to_owned()),
    ];
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = (*value).to_owned(),
            None => fields.push((name, (*value).to_owned())),
        }
    }
    fields
}

fn as_refs<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

async fn a_poc_reads_the_directory_and_a_states_points_of_contact(db: TestDb) {
    let app = spawn_app(db).await;
    let (ana_id, _) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.create_poc("CHL", "technical", "Tomas Vidal").await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;

    let directory = app.page("/directory", Some(&ana.cookie)).await;
    assert_eq!(directory.status, StatusCode::OK, "{}", directory.html);
    directory.assert_holds(&[
        "href=\"/directory/CHL\"",
        ">Chile</a>",
        "America/Santiago",
        // Brazil has no policy POC here: no inquiry can be addressed to it.
        "No active policy point of contact",
    ]);
    let chile = app.page("/directory/CHL", Some(&ana.cookie)).await;
    assert_eq!(chile.status, StatusCode::OK);
    chile.assert_holds(&[
        &format!("href=\"/directory/pocs/{ana_id}\""),
        "Ana Rojas",
        "Tomas Vidal",
        "tomas.vidal@mfa.example.org",
        "technical",
        "es, en",
    ]);
    // A POC is offered none of the Secretariat's forms.
    assert!(!chile.html.contains("action=\"/directory/CHL\""));
    assert!(!chile.html.contains("/directory/pocs/new"));
    let unknown = app.page("/directory/ZZZ", Some(&ana.cookie)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let chosen = app
        .submit(
            &ana,
            "/language",
            &[("language", "es"), ("back", "/directory")],
        )
        .await;
    assert_eq!(chosen.status, StatusCode::SEE_OTHER);
    let in_spanish = app.page("/directory", Some(&ana.cookie)).await;
    in_spanish.assert_holds(&[
        "<h1>Directorio</h1>",
        ">Brasil</a>",
        "Sin punto de contacto de nivel político activo",
    ]);
}

async fn a_long_list_of_points_of_contact_comes_in_pages(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    for i in 0..26 {
        app.create_poc("BRA", "technical", &format!("Analyst {i:02}"))
            .await;
    }
    let ana = app.web_session("ana.rojas@mfa.example.org").await;

    let first = app.page("/directory/BRA", Some(&ana.cookie)).await;
    first.assert_holds(&["Analyst 00", "Analyst 24", "rel=\"next\""]);
    assert!(!first.html.contains("Analyst 25"));
    let marker = "href=\"/directory/BRA?cursor=";
    let start = first.html.find(marker).expect("a next page link") + "href=\"".len();
    let end = first.html[start..].find('"').unwrap() + start;
    let second = app.page(&first.html[start..end], Some(&ana.cookie)).await;

    assert_eq!(second.status, StatusCode::OK);
    second.assert_holds(&["Analyst 25"]);
    assert!(!second.html.contains("Analyst 24"));
    assert!(!second.html.contains("rel=\"next\""));
}

async fn a_poc_cannot_change_another_pocs_record(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let bea = app.create_poc("CHL", "policy", "Bea Soto").await;
    let bea_id = bea["id"].as_str().unwrap();
    let ana = app.web_session("ana.rojas@mfa.example.org").await;

    let shown = app
        .page(&format!("/directory/pocs/{bea_id}"), Some(&ana.cookie))
        .await;
    assert_eq!(shown.status, StatusCode::OK);
    shown.assert_holds(&["Bea Soto", "bea.soto@mfa.example.org"]);
    assert!(
        !shown
            .html
            .contains("<form method=\"post\" action=\"/directory/pocs/"),
        "another's record is read-only:\n{}",
        shown.html
    );

    let fields = own_form(&bea, &[("name", "Someone Else")]);
    let edit = app
        .submit(
            &ana,
            &format!("/directory/pocs/{bea_id}"),
            &as_refs(&fields),
        )
        .await;
    let confirm = app
        .submit(&ana, &format!("/directory/pocs/{bea_id}/confirm"), &[])
        .await;
    let deactivate = app
        .submit(&ana, &format!("/directory/pocs/{bea_id}/deactivate"), &[])
        .await;

    assert_eq!(edit.status, StatusCode::FORBIDDEN, "{}", edit.html);
    assert_eq!(confirm.status, StatusCode::FORBIDDEN);
    assert_eq!(deactivate.status, StatusCode::FORBIDDEN);
    let after = poc_record(&app, bea_id).await;
    assert_eq!(after["name"], "Bea Soto");
    assert_eq!(after["active"], true);
    assert_eq!(after["last_confirmed_at"], bea["last_confirmed_at"]);
}

async fn a_poc_edits_and_confirms_its_own_record(db: TestDb) {
    let app = spawn_app(db).await;
    let (ana_id, _) = app.poc_with_token("CHL", "Ana Rojas").await;
    let before = poc_record(&app, &ana_id).await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let path = format!("/directory/pocs/{ana_id}");
    let own = app.page(&path, Some(&ana.cookie)).await;
    own.assert_holds(&[
        &format!("action=\"/directory/pocs/{ana_id}\""),
        &format!("action=\"/directory/pocs/{ana_id}/confirm\""),
    ]);
    assert!(
        !own.html.contains("/deactivate"),
        "only the Secretariat deactivates"
    );

    let bad_fields = own_form(&before, &[("phone", "call me")]);
    let bad = app.submit(&ana, &path, &as_refs(&bad_fields)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_holds(&[
        "id=\"poc-phone-error\"",
        "aria-describedby=\"poc-phone-hint poc-phone-error\"",
        "value=\"call me\"",
    ]);
    assert_eq!(poc_record(&app, &ana_id).await, before, "nothing written");

    let fields = own_form(
        &before,
        &[("name", "Ana María Rojas"), ("phone", "+56 2 2827 4200")],
    );
    let saved = app.submit(&ana, &path, &as_refs(&fields)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), format!("{path}?done=saved"));
    let after = poc_record(&app, &ana_id).await;
    assert_eq!(after["name"], "Ana María Rojas");
    assert_eq!(after["phone"], "+56 2 2827 4200");
    assert_eq!(after["role"], "policy");

    let confirmed = app.submit(&ana, &format!("{path}/confirm"), &[]).await;
    assert_eq!(confirmed.status, StatusCode::SEE_OTHER);
    assert_eq!(confirmed.location(), format!("{path}?done=confirmed"));
    let reconfirmed = poc_record(&app, &ana_id).await;
    assert!(
        reconfirmed["last_confirmed_at"].as_str() > before["last_confirmed_at"].as_str(),
        "{reconfirmed:#}"
    );
    let banner = app
        .page(&format!("{path}?done=confirmed"), Some(&ana.cookie))
        .await;
    banner.assert_holds(&["The details were confirmed as current."]);
}

async fn the_secretariat_adds_a_poc_and_a_bad_email_is_refused_next_to_its_field(db: TestDb) {
    let app = spawn_app(db).await;
    let lea = staff(&app, "lea.martin@oas.example.org", "Léa Martin").await;
    let form = app
        .page("/directory/pocs/new?member_state=BRA", Some(&lea.cookie))
        .await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_holds(&["<option value=\"BRA\" selected>Brazil</option>"]);
    let fields = |email: &'static str| {
        vec![
            ("member_state", "BRA"),
            ("name", "Bruno Lima"),
            ("affiliation", "Itamaraty"),
            ("role", "policy"),
            ("email", email),
            ("phone", ""),
            ("languages", "pt, en"),
        ]
    };
    let count_before = app.db.count("SELECT count(*) FROM pocs").await;

    let bad = app
        .submit(&lea, "/directory/pocs", &fields("bruno.lima@"))
        .await;

    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    bad.assert_holds(&[
        "id=\"poc-email-error\"",
        "Enter an e-mail address",
        "value=\"Bruno Lima\"",
    ]);
    assert_eq!(
        app.db.count("SELECT count(*) FROM pocs").await,
        count_before
    );

    let added = app
        .submit(
            &lea,
            "/directory/pocs",
            &fields("bruno.lima@itamaraty.example.org"),
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let id = added
        .location()
        .strip_prefix("/directory/pocs/")
        .and_then(|rest| rest.strip_suffix("?done=added"))
        .expect("the new record's page");
    let record = poc_record(&app, id).await;
    assert_eq!(record["member_state"], "BRA");
    assert_eq!(record["email"], "bruno.lima@itamaraty.example.org");
    assert_eq!(record["languages"], json!(["pt", "en"]));
    assert_eq!(record["phone"], Value::Null);
}

async fn the_secretariat_edits_and_deactivates_a_poc_and_changes_a_state(db: TestDb) {
    let app = spawn_app(db).await;
    let (ana_id, _) = app.poc_with_token("CHL", "Ana Rojas").await;
    let lea = staff(&app, "lea.martin@oas.example.org", "Léa Martin").await;
    let before = poc_record(&app, &ana_id).await;
    let mut fields = own_form(&before, &[("role", "mfa")]);
    fields.push(("member_state", "CHL".to_owned()));
    let edited = app
        .submit(
            &lea,
            &format!("/directory/pocs/{ana_id}"),
            &as_refs(&fields),
        )
        .await;
    assert_eq!(edited.status, StatusCode::SEE_OTHER, "{}", edited.html);
    assert_eq!(poc_record(&app, &ana_id).await["role"], "mfa");

    let deactivated = app
        .submit(&lea, &format!("/directory/pocs/{ana_id}/deactivate"), &[])
        .await;
    assert_eq!(
        deactivated.status,
        StatusCode::SEE_OTHER,
        "{}",
        deactivated.html
    );
    assert_eq!(poc_record(&app, &ana_id).await["active"], false);
    let shown = app
        .page(&format!("/directory/pocs/{ana_id}"), Some(&lea.cookie))
        .await;
    shown.assert_holds(&["Deactivated"]);
    assert!(
        !shown.html.contains("/deactivate\""),
        "nothing left to deactivate"
    );

    let bad = app
        .submit(
            &lea,
            "/directory/CHL",
            &[("participating", "on"), ("time_zone", "Santiago")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.html);
    bad.assert_holds(&["id=\"state-form-time_zone-error\"", "value=\"Santiago\""]);
    let chl = app.get("/v1/member-states/CHL", &app.secretariat).await;
    assert_eq!(chl.body["time_zone"], "America/Santiago");

    // The box left unticked: Chile stops participating.
    let saved = app
        .submit(
            &lea,
            "/directory/CHL",
            &[("time_zone", "America/Punta_Arenas")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let chl = app.get("/v1/member-states/CHL", &app.secretariat).await;
    assert_eq!(chl.body["time_zone"], "America/Punta_Arenas");
    assert_eq!(chl.body["participating"], false);
}

async fn staff_accounts_are_added_and_removed_from_the_page_by_the_secretariat_only(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let lea = staff(&app, "lea.martin@oas.example.org", "Léa Martin").await;
    assert_eq!(
        app.page("/staff", Some(&ana.cookie)).await.status,
        StatusCode::NOT_FOUND
    );
    let by_poc = app
        .submit(
            &ana,
            "/staff",
            &[("email", "x@oas.example.org"), ("name", "X")],
        )
        .await;
    assert_eq!(by_poc.status, StatusCode::NOT_FOUND);

    let bad = app
        .submit(&lea, "/staff", &[("email", "tom"), ("name", "Tom Reyes")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    bad.assert_holds(&["id=\"staff-email-error\"", "value=\"Tom Reyes\""]);
    let added = app
        .submit(
            &lea,
            "/staff",
            &[
                ("email", "tom.reyes@oas.example.org"),
                ("name", "Tom Reyes"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let twice = app
        .submit(
            &lea,
            "/staff",
            &[
                ("email", "Tom.Reyes@oas.example.org"),
                ("name", "Tom Reyes"),
            ],
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    twice.assert_holds(&["id=\"staff-email-error\""]);
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM staff_accounts WHERE removed_at IS NULL")
            .await,
        2
    );

    let tom = app.web_session("tom.reyes@oas.example.org").await;
    let listed = app.page("/staff", Some(&lea.cookie)).await;
    listed.assert_holds(&["Tom Reyes", "tom.reyes@oas.example.org", "Léa Martin"]);
    let tom_id = form_id(row_of(&listed.html, "tom.reyes@oas.example.org"), "/staff/");
    let removed = app
        .submit(&lea, &format!("/staff/{tom_id}/remove"), &[])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let listed = app.page("/staff?done=removed", Some(&lea.cookie)).await;
    assert!(!listed.html.contains("tom.reyes@oas.example.org"));
    // Removing an account ends its sessions.
    let signed_out = app.page("/directory", Some(&tom.cookie)).await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert!(signed_out.location().starts_with("/sign-in"));
}

async fn sessions_are_listed_and_an_ended_one_no_longer_works(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let laptop = app.web_session("ana.rojas@mfa.example.org").await;
    let phone = app.web_session("ana.rojas@mfa.example.org").await;

    let account = app.page("/account", Some(&laptop.cookie)).await;
    assert_eq!(account.status, StatusCode::OK, "{}", account.html);
    let sessions = form_ids(&account.html, "/account/sessions/");
    assert_eq!(sessions.len(), 2, "{}", account.html);
    assert_eq!(account.html.matches("This device").count(), 1);
    let laptop_session = form_id(row_of(&account.html, "This device"), "/account/sessions/");
    let phone_session = sessions.iter().find(|id| **id != laptop_session).unwrap();

    let ended = app
        .submit(
            &laptop,
            &format!("/account/sessions/{phone_session}/end"),
            &[],
        )
        .await;
    assert_eq!(ended.status, StatusCode::SEE_OTHER);
    assert_eq!(ended.location(), "/account?done=ended");
    let on_phone = app.page("/account", Some(&phone.cookie)).await;
    assert_eq!(on_phone.status, StatusCode::SEE_OTHER);
    assert!(on_phone.location().starts_with("/sign-in"));
    let listed = app.page("/account", Some(&laptop.cookie)).await;
    assert_eq!(
        form_ids(&listed.html, "/account/sessions/"),
        std::slice::from_ref(&laptop_session)
    );

    let signed_out = app
        .submit(
            &laptop,
            &format!("/account/sessions/{laptop_session}/end"),
            &[],
        )
        .await;
    assert_eq!(signed_out.status, StatusCode::SEE_OTHER);
    assert_eq!(signed_out.location(), "/sign-in");
    let dropped = signed_out
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|c| c.to_str().ok())
        .any(|c| c.starts_with("cbm2_session=;") && c.contains("Max-Age=0"));
    assert!(dropped, "the cookie is dropped: {:?}", signed_out.headers);
    assert_eq!(
        app.page("/account", Some(&laptop.cookie)).await.status,
        StatusCode::SEE_OTHER
    );
}

/// The table row (`<tr>…</tr>`) of `html` that holds `text`.
fn row_of<'a>(html: &'a str, text: &str) -> &'a str {
    let at = html
        .find(text)
        .unwrap_or_else(|| panic!("no {text:?} in:\n{html}"));
    let start = html[..at].rfind("<tr>").expect("in a row");
    let end = html[at..].find("</tr>").expect("a row's end") + at;
    &html[start..end]
}

/// The ids after `prefix` in every form action of `html`.
fn form_ids(html: &str, prefix: &str) -> Vec<String> {
    let marker = format!("action=\"{prefix}");
    html.match_indices(&marker)
        .map(|(at, _)| html[at + marker.len()..at + marker.len() + 36].to_owned())
        .collect()
}

/// The id after `prefix` in the first form action of `row`.
fn form_id(row: &str, prefix: &str) -> String {
    let marker = format!("action=\"{prefix}");
    let start = row.find(&marker).expect("a form in the row") + marker.len();
    row[start..start + 36].to_owned()
}

async fn the_account_page_shows_webhooks_and_deliveries_but_never_a_secret(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, token) = app.poc_with_token("CHL", "Ana Rojas").await;
    let registered = app
        .post(
            "/v1/webhooks",
            &token,
            json!({"url": "https://203.0.113.7/cbm2"}),
        )
        .await;
    let secret = registered.assert_status(201)["secret"]
        .as_str()
        .unwrap()
        .to_owned();
    let ana = app.web_session("ana.rojas@mfa.example.org").await;

    let account = app.page("/account", Some(&ana.cookie)).await;

    account.assert_holds(&["https://203.0.113.7/cbm2", "Active", "href=\"/docs\""]);
    assert!(!account.html.contains(&secret));
    account.assert_holds(&["Language of the pages: English", "id=\"account-language\""]);
    let chosen = app
        .submit(
            &ana,
            "/language",
            &[("language", "fr"), ("back", "/account")],
        )
        .await;
    assert_eq!(chosen.location(), "/account");
    let in_french = app.page("/account", Some(&ana.cookie)).await;
    in_french.assert_holds(&["Langue des pages\u{a0}: Français", "Vos sessions"]);
    assert!(!account.html.contains("whsec_"));
}

async fn forms_without_the_sessions_token_are_refused_and_write_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let (ana_id, _) = app.poc_with_token("CHL", "Ana Rojas").await;
    let before = poc_record(&app, &ana_id).await;
    let ana = app.web_session("ana.rojas@mfa.example.org").await;
    let lea = staff(&app, "lea.martin@oas.example.org", "Léa Martin").await;
    let path = format!("/directory/pocs/{ana_id}");
    let fields = own_form(&before, &[("name", "Forged"), ("csrf", "forged")]);

    let forged = app.submit(&ana, &path, &as_refs(&fields)).await;
    let other_sessions = app
        .submit(&ana, &format!("{path}/confirm"), &[("csrf", &lea.csrf)])
        .await;
    let missing = reqwest::Client::new()
        .post(format!("{}/staff", app.address))
        .header("cookie", &lea.cookie)
        .form(&[("email", "x@oas.example.org"), ("name", "X")])
        .send()
        .await
        .unwrap()
        .status();

    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(other_sessions.status, StatusCode::FORBIDDEN);
    assert_eq!(missing, StatusCode::FORBIDDEN);
    assert_eq!(poc_record(&app, &ana_id).await, before);
    assert_eq!(app.db.count("SELECT count(*) FROM staff_accounts").await, 1);
}

on_both_databases!(
    a_poc_reads_the_directory_and_a_states_points_of_contact,
    a_long_list_of_points_of_contact_comes_in_pages,
    a_poc_cannot_change_another_pocs_record,
    a_poc_edits_and_confirms_its_own_record,
    the_secretariat_adds_a_poc_and_a_bad_email_is_refused_next_to_its_field,
    the_secretariat_edits_and_deactivates_a_poc_and_changes_a_state,
    staff_accounts_are_added_and_removed_from_the_page_by_the_secretariat_only,
    sessions_are_listed_and_an_ended_one_no_longer_works,
    the_account_page_shows_webhooks_and_deliveries_but_never_a_secret,
    forms_without_the_sessions_token_are_refused_and_write_nothing,
);
