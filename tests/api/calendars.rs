//! Working-day calendars: each state's working week, closing hour and public holidays
//! (kept by the Secretariat, as dates or an iCalendar file), and acknowledgements whose
//! timeframe is counted in the responding state's working days.

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime, Offset, TimeZone, Utc, Weekday};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, TestDb, on_both_databases, spawn_app};

async fn put_holidays(
    app: &TestApp,
    code: &str,
    token: &str,
    content_type: &str,
    body: &str,
) -> Reply {
    app.send_raw(
        Method::PUT,
        &format!("/v1/member-states/{code}/holidays"),
        token,
        content_type,
        body.as_bytes().to_vec(),
    )
    .await
}

fn dates(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["date"].as_str().unwrap().to_owned())
        .collect()
}

const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//gov//holidays//EN\r\n\
    BEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20261225\r\nSUMMARY:Natal\r\nEND:VEVENT\r\n\
    BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20261101T000000Z\r\nDTSTART;VALUE=DATE:20270215\r\nDTEND;VALUE=DATE:20270217\r\nSUMMARY:Carnaval\r\nEND:VEVENT\r\n\
    END:VCALENDAR\r\n";

async fn the_secretariat_keeps_each_states_working_days_and_holidays(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let path = "/v1/member-states/BRA/holidays";
    let none = app.get(path, &bra).await;
    assert_eq!(none.assert_status(200)["items"], json!([]));

    let body = r#"{"holidays": [{"date": "2026-12-25", "name": "Natal"}, {"date": "2026-11-20", "name": "Consciência Negra"}]}"#;
    put_holidays(&app, "BRA", &bra, "application/json", body)
        .await
        .assert_problem(403, None);
    let kept = put_holidays(&app, "BRA", &app.secretariat, "application/json", body).await;
    assert_eq!(dates(kept.assert_status(200)), ["2026-11-20", "2026-12-25"]);
    assert_eq!(
        dates(app.get(path, &bra).await.assert_status(200)),
        ["2026-11-20", "2026-12-25"]
    );

    // An iCalendar file replaces them; a multi-day event is each of its days.
    let kept = put_holidays(
        &app,
        "BRA",
        &app.secretariat,
        "text/calendar; charset=utf-8",
        ICS,
    )
    .await;
    assert_eq!(
        dates(kept.assert_status(200)),
        ["2026-12-25", "2027-02-15", "2027-02-16"]
    );
    assert_eq!(kept.body["items"][1]["name"], "Carnaval");

    // Refused, naming why, and nothing changes.
    for (content_type, body, status, field) in [
        (
            "application/json",
            r#"{"holidays": [{"date": "2026-12-25", "name": "A"}, {"date": "2026-12-25", "name": "B"}]}"#,
            422,
            Some("holidays"),
        ),
        (
            "application/json",
            r#"{"holidays": [{"date": "2026-02-30", "name": "A"}]}"#,
            422,
            Some("holidays[0].date"),
        ),
        (
            "application/json",
            r#"{"holidays": [{"date": "2026-12-24", "name": ""}]}"#,
            422,
            Some("holidays[0].name"),
        ),
        (
            "text/calendar",
            &ICS.replace("SUMMARY:Natal", "SUMMARY:Natal\r\nRRULE:FREQ=YEARLY"),
            422,
            Some("holidays"),
        ),
        ("text/plain", "2026-12-25", 415, None),
    ] {
        put_holidays(&app, "BRA", &app.secretariat, content_type, body)
            .await
            .assert_problem(status, field);
    }
    assert_eq!(dates(app.get(path, &bra).await.assert_status(200)).len(), 3);
    let events = app.get("/v1/directory/events", &app.secretariat).await;
    let types: Vec<&str> = events.assert_status(200)["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types
            .iter()
            .filter(|t| **t == "member_state_holidays_set")
            .count(),
        2
    );
    put_holidays(
        &app,
        "XXX",
        &app.secretariat,
        "application/json",
        r#"{"holidays": []}"#,
    )
    .await
    .assert_problem(404, None);

    // The working week and the closing hour.
    let state = app.get("/v1/member-states/BRA", &bra).await;
    let state = state.assert_status(200);
    assert_eq!(
        state["working_days"],
        json!(["mon", "tue", "wed", "thu", "fri"])
    );
    assert_eq!(state["working_day_ends"], "18:00");
    let changed = app
        .patch(
            "/v1/member-states/BRA",
            &app.secretariat,
            json!({"working_days": ["sun", "mon", "tue", "wed", "thu"], "working_day_ends": "17:30"}),
        )
        .await;
    let changed = changed.assert_status(200);
    assert_eq!(
        changed["working_days"],
        json!(["mon", "tue", "wed", "thu", "sun"])
    );
    assert_eq!(changed["working_day_ends"], "17:30");
    for (body, field) in [
        (json!({"working_days": ["monday"]}), "working_days"),
        (json!({"working_days": []}), "working_days"),
        (json!({"working_day_ends": "25:00"}), "working_day_ends"),
        (json!({"working_day_ends": "5pm"}), "working_day_ends"),
    ] {
        app.patch("/v1/member-states/BRA", &app.secretariat, body)
            .await
            .assert_problem(422, Some(field));
    }
}

/// The close of the `days`-th working day (Monday to Friday, not in `holidays`) after
/// `from`'s date in `zone`, counted here independently of the engine.
fn expected_due(
    zone: chrono_tz::Tz,
    from: DateTime<Utc>,
    days: u32,
    holidays: &[NaiveDate],
    closes: NaiveTime,
) -> DateTime<Utc> {
    let mut date = from.with_timezone(&zone).date_naive();
    let mut left = days;
    while left > 0 {
        date = date + Days::new(1);
        let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if !weekend && !holidays.contains(&date) {
            left -= 1;
        }
    }
    zone.from_local_datetime(&date.and_time(closes))
        .latest()
        .unwrap()
        .with_timezone(&Utc)
}

async fn an_acknowledgement_in_working_days_skips_weekends_and_holidays_in_the_responders_zone(
    db: TestDb,
) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Bruno Lima").await;
    let (_, usa) = app.poc_with_token("USA", "Joan Smith").await;

    for (state, token, zone, closes) in [
        ("BRA", &bra, chrono_tz::America::Sao_Paulo, "18:00"),
        ("USA", &usa, chrono_tz::America::New_York, "17:00"),
    ] {
        // The next two days there are holidays, whatever today is: the count passes them.
        let today = Utc::now().with_timezone(&zone).date_naive();
        let holidays = [today + Days::new(1), today + Days::new(2)];
        let body = json!({"holidays": holidays.iter().map(|d| json!({"date": d, "name": "Feriado"})).collect::<Vec<_>>()});
        put_holidays(
            &app,
            state,
            &app.secretariat,
            "application/json",
            &body.to_string(),
        )
        .await
        .assert_status(200);
        app.patch(
            &format!("/v1/member-states/{state}"),
            &app.secretariat,
            json!({"working_day_ends": closes}),
        )
        .await
        .assert_status(200);

        let sent = app.send_inquiry(&chl, state, "routine", None, false).await;
        let id = sent["id"].as_str().unwrap();
        let path = format!("/v1/inquiries/{id}/acknowledge");
        for (body, field) in [
            (
                json!({"estimated_working_days": 3, "estimated_timeframe": "P3D"}),
                "estimated_working_days",
            ),
            (
                json!({"estimated_working_days": 0}),
                "estimated_working_days",
            ),
            (
                json!({"estimated_working_days": 131}),
                "estimated_working_days",
            ),
            (
                json!({"estimated_working_days": 2.5}),
                "estimated_working_days",
            ),
        ] {
            app.post(&path, token, body)
                .await
                .assert_problem(422, Some(field));
        }
        let before = Utc::now();
        // 3.0 is the integer 3 to JSON Schema, and taken as such.
        let acknowledged = app
            .post(&path, token, json!({"estimated_working_days": 3.0}))
            .await;
        let after = Utc::now();
        let view = acknowledged.assert_status(200);
        assert_eq!(view["estimated_working_days"], 3);
        let due: DateTime<Utc> = view["response_due_at"].as_str().unwrap().parse().unwrap();
        let closes = NaiveTime::parse_from_str(closes, "%H:%M").unwrap();
        // The day may turn between the request and now: the answer is one of the two.
        let candidates = [
            expected_due(zone, before, 3, &holidays, closes),
            expected_due(zone, after, 3, &holidays, closes),
        ];
        assert!(
            candidates.contains(&due),
            "{state}: {due} not in {candidates:?}"
        );
        let local = due.with_timezone(&zone);
        assert_eq!(
            local.time(),
            closes,
            "{state}: at the close of its working day"
        );
        assert!(!matches!(local.weekday(), Weekday::Sat | Weekday::Sun));
        assert!(!holidays.contains(&local.date_naive()));
        assert!(
            (local.date_naive() - today).num_days() >= 5,
            "{state}: three working days after two holidays are at least five days on"
        );
        // The deadline in each state's local time, beside its UTC instant.
        let shown = &view["due_at_local"];
        let there: DateTime<chrono::FixedOffset> =
            shown["responding_state"].as_str().unwrap().parse().unwrap();
        assert_eq!(there, due);
        assert_eq!(
            *there.offset(),
            local.offset().fix(),
            "{state}: in its own offset"
        );
        assert_eq!(there.time(), closes);
        let in_chile: DateTime<chrono::FixedOffset> =
            shown["requesting_state"].as_str().unwrap().parse().unwrap();
        assert_eq!(in_chile, due);
        assert_eq!(
            in_chile.offset().local_minus_utc(),
            due.with_timezone(&chrono_tz::America::Santiago)
                .offset()
                .fix()
                .local_minus_utc()
        );
    }
    app.assert_audit_intact().await;
}

/// The acknowledgement form takes working days, and the page shows the deadline in both
/// states' local times.
async fn the_pages_acknowledge_in_working_days_and_show_both_local_times(db: TestDb) {
    let app = spawn_app(db).await;
    let (_, chl) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let bruno = app.web_session("bruno.lima@mfa.example.org").await;

    let done = crate::web::act(
        &app,
        &bruno,
        &id,
        "acknowledge",
        &[("estimated_working_days", "2")],
    )
    .await;
    assert_eq!(done.status, reqwest::StatusCode::SEE_OTHER, "{}", done.html);
    let view = app.get(&format!("/v1/inquiries/{id}"), &chl).await;
    let view = view.assert_status(200);
    assert_eq!(view["estimated_working_days"], 2);
    let page = app
        .page(&format!("/inquiries/{id}"), Some(&bruno.cookie))
        .await;
    page.assert_holds(&[
        "id=\"due-local\"",
        "Chile: ",
        "Brazil: ",
        "18:00 (UTC-03:00)",
    ]);

    let refused = crate::web::act(
        &app,
        &bruno,
        &id,
        "update",
        &[("message", "More time"), ("estimated_timeframe.days", "x")],
    )
    .await;
    assert_eq!(refused.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

/// The Secretariat's pages: the working week in the state's form, the holidays uploaded as
/// an iCalendar file and listed for every reader.
async fn the_secretariat_keeps_the_calendar_on_the_state_page(db: TestDb) {
    let app = spawn_app(db).await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    let duty = crate::web_directory::staff(&app, "duty@oas.example.org", "Duty Officer").await;
    let bruno = app.web_session("bruno.lima@mfa.example.org").await;

    let upload = |calendar: &str| {
        let form = reqwest::multipart::Form::new()
            .text("csrf", duty.csrf.clone())
            .part(
                "calendar",
                reqwest::multipart::Part::bytes(calendar.as_bytes().to_vec())
                    .file_name("feriados.ics")
                    .mime_str("text/calendar")
                    .unwrap(),
            );
        app.client
            .post(format!("{}/directory/BRA/holidays", app.address))
            .header("cookie", &duty.cookie)
            .header("accept", "text/html")
            .multipart(form)
            .send()
    };
    let done = upload(ICS).await.unwrap();
    assert_eq!(done.status(), 200);
    assert!(
        done.url().as_str().ends_with("?done=holidays-saved"),
        "{}",
        done.url()
    );
    let html = done.text().await.unwrap();
    assert!(
        html.contains("Carnaval") && html.contains("2026-12-25"),
        "{html}"
    );
    let kept = app
        .get("/v1/member-states/BRA/holidays", &app.secretariat)
        .await;
    assert_eq!(dates(kept.assert_status(200)).len(), 3);

    let refused = upload("BEGIN:VCALENDAR\r\nEND:VCALENDAR-ish")
        .await
        .unwrap();
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("id=\"holidays-error\"")
    );
    assert_eq!(
        dates(
            app.get("/v1/member-states/BRA/holidays", &app.secretariat)
                .await
                .assert_status(200)
        )
        .len(),
        3,
        "nothing changed"
    );

    // A POC reads the calendar but has no form.
    let page = app.page("/directory/BRA", Some(&bruno.cookie)).await;
    page.assert_holds(&["Carnaval", "id=\"working-week\""]);
    assert!(!page.html.contains("id=\"holidays-calendar\""));

    // The working week through the state's form.
    let saved = app
        .submit(
            &duty,
            "/directory/BRA",
            &[
                ("participating", "on"),
                ("time_zone", "America/Sao_Paulo"),
                ("working_days", "mon, tue, wed, thu"),
                ("working_day_ends", "17:00"),
            ],
        )
        .await;
    assert_eq!(
        saved.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        saved.html
    );
    let state = app.get("/v1/member-states/BRA", &app.secretariat).await;
    assert_eq!(
        state.assert_status(200)["working_days"],
        json!(["mon", "tue", "wed", "thu"])
    );
    assert_eq!(state.body["working_day_ends"], "17:00");
    let refused = app
        .submit(
            &duty,
            "/directory/BRA",
            &[
                ("participating", "on"),
                ("time_zone", "America/Sao_Paulo"),
                ("working_days", "weekdays"),
                ("working_day_ends", "17:00"),
            ],
        )
        .await;
    assert_eq!(refused.status, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
}

on_both_databases!(
    the_secretariat_keeps_the_calendar_on_the_state_page,
    the_secretariat_keeps_each_states_working_days_and_holidays,
    an_acknowledgement_in_working_days_skips_weekends_and_holidays_in_the_responders_zone,
    the_pages_acknowledge_in_working_days_and_show_both_local_times,
);
