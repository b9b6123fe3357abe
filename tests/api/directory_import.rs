//! `POST /v1/pocs/import`: the directory in bulk, from CSV or JSON, dry run by default.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestDb, on_both_databases, spawn_app};

const PATH: &str = "/v1/pocs/import";

/// The directory the import tests start from: two POCs of Chile, one of Brazil.
struct Directory {
    eva: String,
    gone: String,
    ana: String,
}

async fn directory(app: &TestApp) -> Directory {
    let id = |poc: Value| poc["id"].as_str().unwrap().to_owned();
    Directory {
        // eva.rojas@mfa.example.org, "Ministry of Foreign Affairs of CHL", es en.
        eva: id(app.create_poc("CHL", "policy", "Eva Rojas").await),
        gone: id(app.create_poc("CHL", "mfa", "Pedro Soto").await),
        ana: id(app.create_poc("BRA", "policy", "Ana Souza").await),
    }
}

/// Chile as it should be: Eva renamed, a new technical POC, Pedro Soto no longer listed.
const CHILE_CSV: &str = "member_state,role,name,affiliation,email,phone,languages\n\
    CHL,policy,Eva Rojas Díaz,Ministry of Foreign Affairs of CHL,EVA.ROJAS@mfa.example.org,,es en\n\
    CHL,technical,Tomás Vidal,CSIRT de Gobierno,tomas.vidal@csirt.example.org,+56 2 2486 3850,es\n";

fn chile_json() -> Value {
    json!({"pocs": [
        {"member_state": "CHL", "role": "policy", "name": "Eva Rojas Díaz",
         "affiliation": "Ministry of Foreign Affairs of CHL", "email": "EVA.ROJAS@mfa.example.org",
         "languages": ["es", "en"]},
        {"member_state": "CHL", "role": "technical", "name": "Tomás Vidal",
         "affiliation": "CSIRT de Gobierno", "email": "tomas.vidal@csirt.example.org",
         "phone": "+56 2 2486 3850", "languages": ["es"]},
    ]})
}

async fn import_csv(app: &TestApp, query: &str, csv: &str) -> Reply {
    app.send_raw(
        Method::POST,
        &format!("{PATH}{query}"),
        &app.secretariat,
        "text/csv; charset=utf-8",
        csv.as_bytes().to_vec(),
    )
    .await
}

/// The report's entries of one kind, as (position, id, name) with position `line N` or
/// `index N`.
fn entries(report: &Value, kind: &str) -> Vec<(String, Value, String)> {
    report[kind]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let position = match (entry.get("line"), entry.get("index")) {
                (Some(line), None) => format!("line {line}"),
                (None, Some(index)) => format!("index {index}"),
                (None, None) => "-".to_owned(),
                _ => panic!("both line and index: {entry}"),
            };
            let name = entry["name"].as_str().unwrap().to_owned();
            (position, entry["id"].clone(), name)
        })
        .collect()
}

async fn an_import_dry_run_reports_what_it_would_change_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let dir = directory(&app).await;
    let events_before = app.directory_event_count().await;
    let pocs_before = app.collect_pages("/v1/pocs").await;

    let reply = import_csv(&app, "", CHILE_CSV).await;

    let report = reply.assert_status(200).clone();
    assert_eq!(report["applied"], false);
    assert_eq!(report["member_states"], json!(["CHL"]));
    assert_eq!(
        entries(&report, "add"),
        [("line 3".into(), Value::Null, "Tomás Vidal".into())]
    );
    assert_eq!(
        entries(&report, "change"),
        [("line 2".into(), json!(dir.eva), "Eva Rojas Díaz".into())]
    );
    assert_eq!(
        report["change"][0]["changes"],
        json!({
            "name": {"from": "Eva Rojas", "to": "Eva Rojas Díaz"},
            "email": {"from": "eva.rojas@mfa.example.org", "to": "EVA.ROJAS@mfa.example.org"},
        })
    );
    assert_eq!(
        entries(&report, "deactivate"),
        [("-".into(), json!(dir.gone), "Pedro Soto".into())]
    );
    assert_eq!(report["unchanged"], 0);
    assert_eq!(app.directory_event_count().await, events_before);
    assert_eq!(app.collect_pages("/v1/pocs").await, pocs_before);
    // `?apply=false` is the same dry run.
    let again = import_csv(&app, "?apply=false", CHILE_CSV).await;
    assert_eq!(again.assert_status(200), &report);
}

async fn applying_an_import_writes_its_report_with_one_directory_event_each(db: TestDb) {
    let app = spawn_app(db).await;
    let dir = directory(&app).await;
    let events_before = app.directory_event_count().await;
    let dry_run = app.post(PATH, &app.secretariat, chile_json()).await;
    let dry_run = dry_run.assert_status(200).clone();

    let reply = app
        .post(
            &format!("{PATH}?apply=true"),
            &app.secretariat,
            chile_json(),
        )
        .await;

    let report = reply.assert_status(200).clone();
    assert_eq!(report["applied"], true);
    assert_eq!(entries(&report, "change"), entries(&dry_run, "change"));
    assert_eq!(
        entries(&report, "deactivate"),
        entries(&dry_run, "deactivate")
    );
    let added = entries(&report, "add");
    assert_eq!(added.len(), 1);
    assert_eq!(added[0].0, "index 1", "JSON rows are named by index");
    let new_id = added[0].1.as_str().expect("the new POC's id").to_owned();
    let log = app.collect_pages("/v1/directory/events?limit=200").await;
    assert_eq!(log.len(), events_before + 3, "one event per change");
    let mut newest: Vec<(String, String)> = log[..3]
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().into(),
                e["subject"].as_str().unwrap().into(),
            )
        })
        .collect();
    newest.sort();
    assert_eq!(
        newest,
        [
            ("poc_created".into(), new_id.clone()),
            ("poc_deactivated".into(), dir.gone.clone()),
            ("poc_updated".into(), dir.eva.clone()),
        ]
    );
    let poc = async |id: String| app.get(&format!("/v1/pocs/{id}"), &app.secretariat).await;
    let eva = poc(dir.eva.clone()).await.body;
    assert_eq!(eva["name"], "Eva Rojas Díaz");
    assert_eq!(eva["email"], "EVA.ROJAS@mfa.example.org");
    assert_eq!(poc(dir.gone.clone()).await.body["active"], false);
    let tomas = poc(new_id).await.body;
    assert_eq!(
        (&tomas["role"], &tomas["phone"], &tomas["active"]),
        (&json!("technical"), &json!("+56 2 2486 3850"), &json!(true))
    );
    let ana = poc(dir.ana.clone()).await.body;
    assert_eq!(
        ana["active"], true,
        "a state the file does not name is left alone"
    );
    assert_eq!(ana["updated_at"], ana["created_at"]);

    // The same file again changes nothing and logs nothing.
    let again = app
        .post(
            &format!("{PATH}?apply=true"),
            &app.secretariat,
            chile_json(),
        )
        .await;
    let again = again.assert_status(200);
    assert_eq!(
        (
            again["add"].as_array().unwrap().len(),
            again["change"].as_array().unwrap().len()
        ),
        (0, 0)
    );
    assert_eq!(again["deactivate"], json!([]));
    assert_eq!(again["unchanged"], 2);
    assert_eq!(app.directory_event_count().await, events_before + 3);
}

async fn a_file_with_a_bad_row_applies_nothing_and_names_its_line_and_field(db: TestDb) {
    let app = spawn_app(db).await;
    directory(&app).await;
    let events_before = app.directory_event_count().await;
    let pocs_before = app.collect_pages("/v1/pocs").await;
    let bad_csv = CHILE_CSV.replace("tomas.vidal@csirt.example.org", "tomas.vidal");
    let mut bad_json = chile_json();
    bad_json["pocs"][1]["email"] = json!("tomas.vidal");
    let unknown_state = CHILE_CSV.replace("CHL,technical", "ZZZ,technical");

    let replies = [
        import_csv(&app, "?apply=true", &bad_csv).await,
        app.post(&format!("{PATH}?apply=true"), &app.secretariat, bad_json)
            .await,
        import_csv(&app, "?apply=true", &unknown_state).await,
    ];

    let wanted = [
        json!({"line": 3, "field": "email"}),
        json!({"index": 1, "field": "email"}),
        json!({"line": 3, "field": "member_state"}),
    ];
    for (reply, want) in replies.iter().zip(wanted) {
        let problem = reply.assert_problem(422, None);
        assert_eq!(problem["type"], "urn:cbm2:problem:invalid-rows");
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{problem}");
        let mut error = errors[0].clone();
        let detail = error.as_object_mut().unwrap().remove("detail").unwrap();
        assert_eq!(error, want, "{problem}");
        assert!(!detail.as_str().unwrap().is_empty());
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("nothing was written"),
            "{problem}"
        );
    }
    assert_eq!(app.directory_event_count().await, events_before);
    assert_eq!(app.collect_pages("/v1/pocs").await, pocs_before);
}

async fn only_the_secretariat_imports(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, token) = app.poc_with_token("CHL", "Eva Rojas").await;
    let events_before = app.directory_event_count().await;

    let reply = app
        .post(&format!("{PATH}?apply=true"), &token, chile_json())
        .await;

    reply.assert_problem(403, None);
    assert_eq!(app.directory_event_count().await, events_before);
    assert_eq!(app.collect_pages("/v1/pocs").await.len(), 1);
}

async fn an_import_may_be_larger_than_other_bodies_up_to_1_mib(db: TestDb) {
    let app = spawn_app(db).await;
    let mut csv = String::from("member_state,role,name,affiliation,email\n");
    let mut rows = 0;
    while csv.len() <= 100 * 1024 {
        csv.push_str(&format!(
            "CHL,technical,Analyst {rows},Equipo de Respuesta ante Incidentes de Seguridad Informática,analyst.{rows}@csirt.example.org\n"
        ));
        rows += 1;
    }

    let reply = import_csv(&app, "", &csv).await;

    let report = reply.assert_status(200);
    assert_eq!(report["add"].as_array().unwrap().len(), rows);
    let too_large = "x".repeat(1024 * 1024 + 1);
    import_csv(&app, "", &too_large)
        .await
        .assert_problem(413, None);
    let other = app
        .send_raw(
            Method::POST,
            PATH,
            &app.secretariat,
            "text/plain",
            b"x".to_vec(),
        )
        .await;
    other.assert_problem(415, None);
}

on_both_databases!(
    an_import_dry_run_reports_what_it_would_change_and_writes_nothing,
    applying_an_import_writes_its_report_with_one_directory_event_each,
    a_file_with_a_bad_row_applies_nothing_and_names_its_line_and_field,
    only_the_secretariat_imports,
    an_import_may_be_larger_than_other_bodies_up_to_1_mib,
);
