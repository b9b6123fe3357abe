//! The Secretariat's monitoring: the overdue list (JSON, CSV, and `cbm2 monitor overdue`)
//! and the summary figures. Metadata only; exercises stay out of the figures.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use serde_json::{Value, json};

use cbm2::http::monitoring::SummaryCache;
use cbm2::store::Store;

use crate::deadlines::time;
use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};

const PATIENCE: Duration = Duration::from_secs(15);

/// The content fields of api.md: never in anything the Secretariat receives.
const CONTENT_FIELDS: [&str; 11] = [
    "nature",
    "category",
    "sectors",
    "indicators",
    "questions",
    "contact",
    "information",
    "message",
    "resolution",
    "contact_requested",
    "invocation_text",
];

const MONITORING_ROUTES: [&str; 4] = [
    "/v1/monitoring/overdue",
    "/v1/monitoring/overdue.csv",
    "/v1/monitoring/summary",
    "/v1/monitoring/summary.csv",
];

/// Every key of `value`, at any depth.
fn keys(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                into.push(key.clone());
                keys(member, into);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| keys(item, into)),
        _ => {}
    }
}

#[track_caller]
fn assert_no_content_keys(value: &Value, what: &str) {
    let mut all = Vec::new();
    keys(value, &mut all);
    for field in CONTENT_FIELDS {
        assert!(
            !all.iter().any(|k| k == field),
            "{what} carries the content field `{field}`: {value:#}"
        );
    }
}

/// The id of a view.
fn id(view: &Value) -> String {
    view["id"].as_str().expect("an id").to_owned()
}

async fn act(app: &TestApp, id: &str, action: &str, token: &str, body: Value) -> Value {
    app.post(&format!("/v1/inquiries/{id}/{action}"), token, body)
        .await
        .assert_status(200)
        .clone()
}

/// Polls the Secretariat's overdue list until exactly `ids` are in it (any order).
async fn until_overdue_are(app: &TestApp, ids: &[&str]) -> Vec<Value> {
    let mut wanted: Vec<&str> = ids.to_vec();
    wanted.sort();
    poll_until(
        &format!("the overdue list to hold {ids:?}"),
        PATIENCE,
        async || {
            let items = app.collect_pages("/v1/monitoring/overdue?limit=200").await;
            let mut listed: Vec<&str> = items.iter().map(|i| i["id"].as_str().unwrap()).collect();
            listed.sort();
            (listed == wanted).then_some(items.clone())
        },
    )
    .await
}

fn listed_ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn the_monitoring_views_carry_no_content_and_are_for_the_secretariat_only(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;

    let overdue = app
        .send_inquiry(&chl, "BRA", "critical", Some(Duration::from_secs(2)), false)
        .await;
    let answered = app.send_inquiry(&chl, "BRA", "urgent", None, false).await;
    let answered_id = id(&answered);
    act(
        &app,
        &answered_id,
        "acknowledge",
        &bra,
        json!({"estimated_timeframe": "P2D", "message": "MESSAGE-SECRET-7", "contact_requested": true}),
    )
    .await;
    act(
        &app,
        &answered_id,
        "respond",
        &bra,
        json!({"information": "INFORMATION-SECRET-7"}),
    )
    .await;
    act(
        &app,
        &answered_id,
        "close",
        &chl,
        json!({"resolution": "RESOLUTION-SECRET-7"}),
    )
    .await;
    until_overdue_are(&app, &[&id(&overdue)]).await;

    // The texts that only the two states may read (send_inquiry's and the ones above).
    let secrets = [
        "Scanning of the ministry",
        "Do you see this activity",
        "Duty Officer",
        "x@example.org",
        "MESSAGE-SECRET-7",
        "INFORMATION-SECRET-7",
        "RESOLUTION-SECRET-7",
        "paragraph 78",
    ];
    for route in MONITORING_ROUTES {
        let (status, text) = app.get_text(route, &app.secretariat).await;
        assert_eq!(status, 200, "{route}: {text}");
        for secret in secrets {
            assert!(
                !text.contains(secret),
                "{route} shows content ({secret:?}) to the Secretariat: {text}"
            );
        }
        if route.ends_with(".csv") {
            let header = text.lines().next().expect("a header row");
            for column in header.split(',') {
                assert!(
                    !CONTENT_FIELDS.contains(&column),
                    "{route} has the content column {column}: {header}"
                );
            }
        } else {
            let body: Value = serde_json::from_str(&text).expect("JSON");
            assert_no_content_keys(&body, route);
        }
    }
    let overdue_list = app
        .get("/v1/monitoring/overdue", &app.secretariat)
        .await
        .assert_status(200)
        .clone();
    assert_eq!(overdue_list["items"].as_array().unwrap().len(), 1);

    // A POC, of either state, is refused every monitoring view; without a token, 401.
    for token in [&chl, &bra] {
        for route in MONITORING_ROUTES {
            app.get(route, token).await.assert_problem(403, None);
        }
    }
    for route in MONITORING_ROUTES {
        app.get(&format!("{route}?colour=red"), &app.secretariat)
            .await
            .assert_problem(400, Some("colour"));
    }
    for route in MONITORING_ROUTES {
        app.request(Method::GET, route, None, None)
            .await
            .assert_problem(401, None);
    }
    app.assert_audit_intact().await;
}

/// `IsoDuration`'s display: days, hours, minutes, whole seconds; `PT0S` for under a second.
fn iso(delta: TimeDelta) -> String {
    let total = delta.num_seconds().max(0);
    let (days, rest) = (total / 86_400, total % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if rest > 0 || days == 0 {
        out.push('T');
        if h > 0 {
            out.push_str(&format!("{h}H"));
        }
        if m > 0 {
            out.push_str(&format!("{m}M"));
        }
        if s > 0 || rest == 0 {
            out.push_str(&format!("{s}S"));
        }
    }
    out
}

/// `{count, median, p90}` of durations, nearest rank: the p-th percentile of n sorted
/// values is the one at rank ⌈p·n/100⌉.
fn distribution(mut values: Vec<TimeDelta>) -> Value {
    values.sort();
    let n = values.len();
    let rank = |p: usize| -> Value {
        if n == 0 {
            Value::Null
        } else {
            let rank = (p * n).div_ceil(100).max(1);
            json!(iso(values[rank - 1]))
        }
    };
    json!({"count": n, "median": rank(50), "p90": rank(90)})
}

/// Sent-to-acknowledged and sent-to-responded times of the given inquiry views.
fn times(views: &[&Value]) -> (Value, Value) {
    let since_sent = |field: &str| -> Vec<TimeDelta> {
        views
            .iter()
            .filter(|v| !v[field].is_null() && !v["sent_at"].is_null())
            .map(|v| time(&v[field]) - time(&v["sent_at"]))
            .collect()
    };
    (
        distribution(since_sent("acknowledged_at")),
        distribution(since_sent("responded_at")),
    )
}

async fn the_summary_figures_match_the_inquiries_and_leave_exercises_out(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let (_, usa) = app.poc_with_token("USA", "Sam Carter").await;
    let stale = app.create_poc("MEX", "policy", "Luis Garcia").await;
    let stale_id = id(&stale);
    // A technical POC does not make a state reachable for CBM #2.
    app.create_poc("ARG", "technical", "Ana Perez").await;

    let a = id(&app.send_inquiry(&chl, "BRA", "urgent", None, false).await);
    let b = id(&app.send_inquiry(&chl, "BRA", "critical", None, false).await);
    let c = id(&app.send_inquiry(&chl, "USA", "routine", None, false).await);
    let d = id(&app
        .send_inquiry(&bra, "CHL", "routine", Some(Duration::from_secs(2)), false)
        .await);
    let x = id(&app.send_inquiry(&chl, "BRA", "critical", None, true).await);
    act(
        &app,
        &x,
        "acknowledge",
        &bra,
        json!({"estimated_timeframe": "PT1H"}),
    )
    .await;
    act(
        &app,
        &x,
        "respond",
        &bra,
        json!({"information": "Nothing."}),
    )
    .await;
    let e = app
        .post("/v1/inquiries", &chl, json!({}))
        .await
        .assert_status(201)
        .clone();
    let e = id(&e);
    act(&app, &e, "lookup-poc", &chl, json!({"member_state": "BRA"})).await;

    // Spread the answers over a few seconds, so that the times differ in whole seconds.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    act(
        &app,
        &c,
        "acknowledge",
        &usa,
        json!({"estimated_timeframe": "P3D"}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    act(
        &app,
        &a,
        "acknowledge",
        &bra,
        json!({"estimated_timeframe": "P3D"}),
    )
    .await;
    act(&app, &b, "respond", &bra, json!({"information": "A bot."})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    act(&app, &a, "respond", &bra, json!({"information": "A bot."})).await;
    until_overdue_are(&app, &[&d]).await;

    let long_ago = if app.db.is_postgres() {
        "'2024-01-01T00:00:00Z'"
    } else {
        "'2024-01-01T00:00:00+00:00'"
    };
    let changed = app
        .db
        .execute(&format!(
            "UPDATE pocs SET last_confirmed_at = {long_ago} WHERE id = {}",
            app.db.uuid_literal(&stale_id)
        ))
        .await;
    assert_eq!(changed, 1);

    // What the participants see, to compute the figures from.
    let mut views: BTreeMap<&str, Value> = BTreeMap::new();
    for (name, inquiry, token) in [
        ("a", &a, &chl),
        ("b", &b, &chl),
        ("c", &c, &chl),
        ("d", &d, &bra),
        ("e", &e, &chl),
        ("x", &x, &chl),
    ] {
        let view = app.get(&format!("/v1/inquiries/{inquiry}"), token).await;
        views.insert(name, view.assert_status(200).clone());
    }
    assert_eq!(views["x"]["exercise"], true);
    assert_eq!(views["d"]["overdue"], true);

    let summary = app.get("/v1/monitoring/summary", &app.secretariat).await;
    let summary = summary.assert_status(200).clone();
    let figures = &summary["inquiries"];
    assert_eq!(figures["total"], 5, "{figures:#}");
    assert_eq!(figures["exercises_excluded"], 1, "{figures:#}");
    assert_eq!(figures["overdue"], 1, "{figures:#}");
    assert_eq!(
        figures["by_status"],
        json!({"draft": 0, "poc_identified": 1, "cbm2_invoked": 0, "incident_described": 0,
               "awaiting_response": 1, "acknowledged": 1, "responded": 2, "closed": 0,
               "withdrawn": 0}),
        "the exercise (responded) is not counted"
    );
    assert_eq!(
        figures["by_time_sensitivity"],
        json!({"routine": 2, "urgent": 1, "critical": 1}),
        "the exercise (critical) is not counted"
    );

    let counted: Vec<&Value> = ["a", "b", "c", "d", "e"]
        .iter()
        .map(|k| &views[k])
        .collect();
    let (to_acknowledge, to_respond) = times(&counted);
    assert_eq!(figures["time_to_acknowledge"], to_acknowledge, "{views:#?}");
    assert_eq!(figures["time_to_respond"], to_respond, "{views:#?}");
    assert_eq!(to_acknowledge["count"], 2);
    assert_eq!(to_respond["count"], 2);

    let by_state = figures["by_responding_state"].as_array().unwrap();
    let states: Vec<&str> = by_state
        .iter()
        .map(|s| s["member_state"].as_str().unwrap())
        .collect();
    assert_eq!(
        states,
        ["BRA", "CHL", "USA"],
        "sent inquiries by responding state"
    );
    for (state, members) in [("BRA", &["a", "b"][..]), ("CHL", &["d"]), ("USA", &["c"])] {
        let entry = by_state
            .iter()
            .find(|s| s["member_state"] == state)
            .unwrap();
        let rows: Vec<&Value> = members.iter().map(|k| &views[k]).collect();
        let (ack, respond) = times(&rows);
        assert_eq!(entry["inquiries"], members.len(), "{state}: {entry}");
        assert_eq!(entry["time_to_acknowledge"], ack, "{state}: {entry}");
        assert_eq!(entry["time_to_respond"], respond, "{state}: {entry}");
    }

    let without: Vec<&str> = summary["states_without_active_policy_poc"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap())
        .collect();
    assert!(without.contains(&"ARG"), "{without:?}");
    assert!(without.contains(&"JAM"), "{without:?}");
    for reachable in ["BRA", "CHL", "USA", "MEX"] {
        assert!(!without.contains(&reachable), "{reachable}: {without:?}");
    }
    assert_eq!(without.len(), 35 - 4);
    let stale_pocs = summary["stale_pocs"].as_array().unwrap();
    assert_eq!(stale_pocs.len(), 1, "{stale_pocs:#?}");
    assert_eq!(stale_pocs[0]["id"], stale_id.as_str());
    assert_eq!(stale_pocs[0]["member_state"], "MEX");
    assert_eq!(
        time(&stale_pocs[0]["last_confirmed_at"]),
        time(&json!("2024-01-01T00:00:00Z"))
    );

    let (status, csv) = app
        .get_text("/v1/monitoring/summary.csv", &app.secretariat)
        .await;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "metric,member_state,value");
    let median = to_acknowledge["median"].as_str().unwrap();
    let expected_rows = [
        "inquiries_total,,5".to_owned(),
        "exercises_excluded,,1".to_owned(),
        "overdue,,1".to_owned(),
        "status.responded,,2".to_owned(),
        "time_sensitivity.routine,,2".to_owned(),
        format!("time_to_acknowledge.median,,{median}"),
        "inquiries_received,BRA,2".to_owned(),
        "without_active_policy_poc,ARG,true".to_owned(),
        format!("stale_poc,MEX,{stale_id}"),
    ];
    for row in &expected_rows {
        assert!(
            lines.contains(&row.as_str()),
            "summary.csv lacks {row}: {csv}"
        );
    }
    app.assert_audit_intact().await;
}

/// Walks the overdue list one item a page; returns the ids in order.
async fn walk_one_by_one(app: &TestApp, query: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut path = format!("/v1/monitoring/overdue?limit=1{query}");
    loop {
        let page = app.get(&path, &app.secretariat).await;
        let page = page.assert_status(200).clone();
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 1, "limit=1 gave {page}");
        ids.extend(listed_ids(items));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/monitoring/overdue?limit=1{query}&cursor={cursor}"),
            None => return ids,
        }
        assert!(ids.len() < 50, "the walk does not end");
    }
}

async fn the_overdue_list_filters_pages_and_exports_most_overdue_first(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let (_, usa) = app.poc_with_token("USA", "Sam Carter").await;

    // Due in order: i1 (CHL→BRA), i2 (BRA→USA), then i3 (CHL→USA, acknowledged).
    let i1 = id(&app
        .send_inquiry(&chl, "BRA", "urgent", Some(Duration::from_secs(2)), false)
        .await);
    let i2 = id(&app
        .send_inquiry(&bra, "USA", "critical", Some(Duration::from_secs(2)), false)
        .await);
    let i3 = id(&app.send_inquiry(&chl, "USA", "routine", None, false).await);
    act(
        &app,
        &i3,
        "acknowledge",
        &usa,
        json!({"estimated_timeframe": "PT2S"}),
    )
    .await;
    // Not overdue, though of the same states.
    let not_due = id(&app.send_inquiry(&usa, "CHL", "routine", None, false).await);

    let all = until_overdue_are(&app, &[&i1, &i2, &i3]).await;
    let dues: Vec<DateTime<Utc>> = all.iter().map(|i| time(&i["due_at"])).collect();
    assert!(
        dues.windows(2).all(|w| w[0] <= w[1]),
        "most overdue first: {all:#?}"
    );
    assert_eq!(listed_ids(&all), [&*i1, &*i2, &*i3]);
    let by_id = |wanted: &str| all.iter().find(|i| i["id"] == wanted).unwrap().clone();
    assert_eq!(by_id(&i1)["deadline"], "acknowledgement");
    assert_eq!(by_id(&i3)["deadline"], "response");
    assert_eq!(by_id(&i3)["status"], "acknowledged");

    let filtered = async |query: &str| -> Vec<String> {
        listed_ids(
            &app.collect_pages(&format!("/v1/monitoring/overdue?{query}"))
                .await,
        )
    };
    assert_eq!(
        filtered("member_state=CHL").await,
        [&*i1, &*i3],
        "requesting CHL"
    );
    assert_eq!(
        filtered("member_state=USA").await,
        [&*i2, &*i3],
        "responding USA"
    );
    assert_eq!(
        filtered("member_state=BRA").await,
        [&*i1, &*i2],
        "either side"
    );
    assert!(filtered("member_state=MEX").await.is_empty());
    assert_eq!(filtered("status=awaiting_response").await, [&*i1, &*i2]);
    assert_eq!(filtered("status=acknowledged").await, [&*i3]);
    assert_eq!(
        filtered("member_state=USA&status=awaiting_response").await,
        [&*i2]
    );
    app.get("/v1/monitoring/overdue?status=closed", &app.secretariat)
        .await
        .assert_problem(400, Some("status"));
    app.get("/v1/monitoring/overdue?member_state=XX", &app.secretariat)
        .await
        .assert_problem(400, Some("member_state"));

    assert_eq!(walk_one_by_one(&app, "").await, [&*i1, &*i2, &*i3]);
    assert_eq!(
        walk_one_by_one(&app, "&member_state=USA").await,
        [&*i2, &*i3]
    );

    let (status, csv) = app
        .get_text("/v1/monitoring/overdue.csv", &app.secretariat)
        .await;
    assert_eq!(status, 200, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    for column in ["id", "deadline", "due_at", "overdue_by", "status"] {
        assert!(
            header.contains(&column),
            "header lacks {column}: {}",
            lines[0]
        );
    }
    assert_eq!(
        lines.len(),
        4,
        "a header and one line per overdue inquiry: {csv}"
    );
    for (line, inquiry) in lines[1..].iter().zip([&*i1, &*i2, &*i3]) {
        assert!(line.starts_with(inquiry), "{line} is not {inquiry}");
    }
    assert!(!csv.contains(&not_due));
    let (_, chl_csv) = app
        .get_text(
            "/v1/monitoring/overdue.csv?member_state=CHL",
            &app.secretariat,
        )
        .await;
    assert_eq!(chl_csv.lines().count(), 3, "{chl_csv}");
    app.assert_audit_intact().await;
}

async fn cbm2_monitor_overdue_prints_the_overdue_inquiries(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    app.poc_with_token("BRA", "Ana Souza").await;
    app.poc_with_token("USA", "Sam Carter").await;
    let late = id(&app
        .send_inquiry(&chl, "BRA", "urgent", Some(Duration::from_secs(2)), false)
        .await);
    let on_time = id(&app.send_inquiry(&chl, "USA", "urgent", None, false).await);
    until_overdue_are(&app, &[&late]).await;

    let monitor = async |extra: &[&str]| -> String {
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cbm2"))
            .args(["--database-url", &app.db.url, "monitor", "overdue"])
            .args(extra)
            .env_remove("CBM2_DATABASE_URL")
            .output()
            .await
            .expect("cbm2 monitor overdue runs");
        assert!(
            output.status.success(),
            "cbm2 monitor overdue failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    let printed = monitor(&[]).await;
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "a header and one line: {printed}");
    assert!(!lines[0].contains(&late), "the first line is a header");
    assert!(lines[1].contains(&late), "{printed}");
    assert!(lines[1].contains("acknowledgement"), "{printed}");
    let overdue_by = lines[1].rsplit("  ").next().unwrap();
    assert!(
        overdue_by.ends_with(" second") || overdue_by.ends_with(" seconds"),
        "overdue by a few seconds, said in words: {overdue_by:?}"
    );
    assert!(!lines[1].contains("PT"), "no ISO 8601 duration: {printed}");
    assert!(!printed.contains(&on_time));

    let for_brazil = monitor(&["--member-state", "BRA"]).await;
    assert_eq!(for_brazil.lines().count(), 2, "{for_brazil}");
    assert!(for_brazil.contains(&late));
    let for_usa = monitor(&["--member-state", "USA"]).await;
    assert_eq!(for_usa.lines().count(), 1, "only the header: {for_usa}");

    let unknown = tokio::process::Command::new(env!("CARGO_BIN_EXE_cbm2"))
        .args(["--database-url", &app.db.url, "monitor", "overdue"])
        .args(["--member-state", "XYZ"])
        .env_remove("CBM2_DATABASE_URL")
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("XYZ is not one of the 35 OAS Member States"),
        "{stderr}"
    );
    assert!(unknown.stdout.is_empty(), "no table for an unknown state");
}

/// A summary that is costly to gather is served from its last gathering and refreshed in
/// the background; a cheap one is gathered afresh on every request.
async fn a_costly_summary_is_served_from_its_last_gathering_then_refreshed(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let store = Store::connect(&app.db.url).await.expect("connect");
    let open_one = async || {
        app.post("/v1/inquiries", &chl, json!({}))
            .await
            .assert_status(201);
    };
    open_one().await;

    // Every gathering counts as costly; none is old enough to refresh.
    let kept = SummaryCache::new(Duration::ZERO, Duration::from_secs(3600));
    let first = kept.get(&store).await.unwrap();
    assert_eq!(first.inquiries.total, 1);
    open_one().await;
    let again = kept.get(&store).await.unwrap();
    assert_eq!(again.inquiries.total, 1, "served from the last gathering");
    assert_eq!(
        again.generated_at, first.generated_at,
        "and says when it was gathered"
    );
    // The default cache gathers a cheap summary on every request.
    let fresh = SummaryCache::default().get(&store).await.unwrap();
    assert_eq!(fresh.inquiries.total, 2);

    // Costly and at once old enough: a request gets the last one and starts a refresh.
    let refreshed = SummaryCache::new(Duration::ZERO, Duration::ZERO);
    assert_eq!(refreshed.get(&store).await.unwrap().inquiries.total, 2);
    open_one().await;
    poll_until(
        "the summary refreshed",
        Duration::from_secs(10),
        async || {
            let summary = refreshed.get(&store).await.unwrap();
            (summary.inquiries.total == 3).then_some(())
        },
    )
    .await;
    store.close().await;
}

on_both_databases!(
    a_costly_summary_is_served_from_its_last_gathering_then_refreshed,
    the_monitoring_views_carry_no_content_and_are_for_the_secretariat_only,
    the_summary_figures_match_the_inquiries_and_leave_exercises_out,
    the_overdue_list_filters_pages_and_exports_most_overdue_first,
    cbm2_monitor_overdue_prints_the_overdue_inquiries,
);

#[test]
fn nearest_rank_and_iso_display() {
    let secs = |v: &[i64]| v.iter().map(|s| TimeDelta::seconds(*s)).collect();
    assert_eq!(
        distribution(secs(&[40, 10, 30, 20])),
        json!({"count": 4, "median": "PT20S", "p90": "PT40S"})
    );
    assert_eq!(
        distribution(Vec::new()),
        json!({"count": 0, "median": null, "p90": null})
    );
    assert_eq!(iso(TimeDelta::milliseconds(900)), "PT0S");
    assert_eq!(iso(TimeDelta::seconds(90_061)), "P1DT1H1M1S");
    assert_eq!(iso(TimeDelta::days(2)), "P2D");
}
