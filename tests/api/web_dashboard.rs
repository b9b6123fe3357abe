//! The Secretariat's dashboard and the communication check pages, through HTTP with a
//! browser session: what the Secretariat sees (metadata, never content), that a POC does
//! not see it, and that the forms (remind, start a check, reply) do what the API does.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use cbm2::clock;
use cbm2::domain::{EmailAddress, PersonName};
use cbm2::store::Store;
use cbm2::store::directory::Actor;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};
use crate::web::{WebPage, WebSession};

const PATIENCE: Duration = Duration::from_secs(15);

/// The texts that only the two states may read (`send_inquiry`'s).
const CONTENT: [&str; 4] = [
    "Scanning of the ministry",
    "Do you see this activity",
    "Duty Officer",
    "x@example.org",
];

impl TestApp {
    /// A browser session of a Secretariat staff account, added as `cbm2 staff add` does.
    async fn staff_session(&self) -> WebSession {
        let store = Store::connect(&self.db.url).await.expect("connect");
        store
            .add_staff(
                Actor::CommandLine,
                &EmailAddress::try_from("marta.ruiz@oas.example.org".to_owned()).unwrap(),
                &PersonName::parse("Marta Ruiz").unwrap(),
                clock::now(),
            )
            .await
            .expect("a staff account");
        store.close().await;
        self.web_session("marta.ruiz@oas.example.org").await
    }
}

/// Chile's Ana and Brazil's Bruno (policy POCs, with tokens and sessions), and the staff.
struct People {
    chl_token: String,
    bra_token: String,
    chl: WebSession,
    bra: WebSession,
    staff: WebSession,
}

async fn people(app: &TestApp) -> People {
    let (_, chl_token) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra_token) = app.poc_with_token("BRA", "Bruno Lima").await;
    People {
        chl_token,
        bra_token,
        chl: app.web_session("ana.rojas@mfa.example.org").await,
        bra: app.web_session("bruno.lima@mfa.example.org").await,
        staff: app.staff_session().await,
    }
}

/// An inquiry from Chile to Brazil past its acknowledgement deadline; its id, once the
/// dashboard lists it.
async fn overdue_inquiry(app: &TestApp, people: &People) -> (String, WebPage) {
    let sent = app
        .send_inquiry(
            &people.chl_token,
            "BRA",
            "critical",
            Some(Duration::from_secs(1)),
            false,
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let dashboard = poll_until("the dashboard to list the inquiry", PATIENCE, async || {
        let page = app.page("/dashboard", Some(&people.staff.cookie)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.html);
        page.html.contains(&id).then_some(page)
    })
    .await;
    (id, dashboard)
}

/// The value of `name` in the form whose action is `action`.
fn field_of_form(page: &WebPage, action: &str, name: &str) -> String {
    let form = page
        .html
        .split("<form ")
        .find(|form| form.contains(&format!("action=\"{action}\"")))
        .unwrap_or_else(|| panic!("no form posts to {action}:\n{}", page.html));
    let marker = format!("name=\"{name}\" value=\"");
    let start = form.find(&marker).expect("the field") + marker.len();
    form[start..start + form[start..].find('"').unwrap()].to_owned()
}

async fn the_dashboard_shows_an_overdue_inquirys_states_and_none_of_its_content(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    // Another inquiry, acknowledged: a time to acknowledge to chart.
    let answered = app
        .send_inquiry(&people.chl_token, "BRA", "urgent", None, false)
        .await;
    app.post(
        &format!("/v1/inquiries/{}/acknowledge", answered["id"].as_str().unwrap()),
        &people.bra_token,
        json!({"estimated_timeframe": "P2D", "message": "MESSAGE-SECRET-9", "contact_requested": false}),
    )
    .await
    .assert_status(200);
    let (_, dashboard) = overdue_inquiry(&app, &people).await;
    dashboard.assert_holds(&[
        "Inquiries past their deadline",
        "Chile",
        "Brazil",
        "Awaiting response",
        "Acknowledgement",
        " UTC</time>",
        "/actions/remind",
        // The figures' charts, named for screen readers, with their tables.
        "role=\"img\" aria-labelledby=\"chart-acknowledge-title\"",
        "class=\"chart-bar\"",
        "<th scope=\"row\">All states</th>",
        "<th scope=\"row\">Brazil</th>",
        "Time to respond, by responding state",
        "No times measured yet",
        // Directory health: a state no inquiry can reach.
        "States without an active policy point of contact",
        "Argentina",
        "Failed deliveries",
    ]);
    for secret in CONTENT.iter().chain(&["MESSAGE-SECRET-9"]) {
        assert!(
            !dashboard.html.contains(secret),
            "the dashboard shows content ({secret:?})"
        );
    }
    assert!(!dashboard.html.contains("style=\""), "no inline style");
    assert!(
        !dashboard.html.contains("badge exercise"),
        "not an exercise"
    );
}

async fn a_poc_gets_the_404_page_for_the_dashboard_and_for_a_check_not_asking_it(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    let dashboard = app.page("/dashboard", Some(&people.chl.cookie)).await;
    assert_eq!(dashboard.status, StatusCode::NOT_FOUND);
    dashboard.assert_holds(&["Page not found"]);
    // A check of Brazil's POCs: not Chile's to see, nor to reply to.
    let started = app
        .submit(
            &people.staff,
            "/checks",
            &[
                ("scope", "chosen"),
                ("member_states", "BRA"),
                ("reply_window_days", "7"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    let check = started.location().to_owned();
    let seen = app.page(&check, Some(&people.chl.cookie)).await;
    assert_eq!(seen.status, StatusCode::NOT_FOUND);
    let replied = app
        .submit(&people.chl, &format!("{check}/reply"), &[])
        .await;
    assert_eq!(replied.status, StatusCode::NOT_FOUND);
    // Nor may a POC start one, nor the Secretariat reply: refused as the API refuses.
    let refused = app
        .submit(&people.chl, "/checks", &[("reply_window_days", "7")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    refused.assert_holds(&["Only the CICTE Secretariat starts communication checks."]);
    let refused = app
        .submit(&people.staff, &format!("{check}/reply"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM communication_check_targets WHERE replied_at IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM communication_checks")
            .await,
        1
    );
}

/// The inquiry's events of type `event_type`, as its requesting state reads them.
async fn events_of_type(app: &TestApp, id: &str, token: &str, event_type: &str) -> Vec<Value> {
    app.inquiry_events(id, token)
        .await
        .into_iter()
        .filter(|e| e["type"] == event_type)
        .collect()
}

async fn remind_from_the_dashboard_records_a_remind_event(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    let (id, dashboard) = overdue_inquiry(&app, &people).await;
    let action = format!("/inquiries/{id}/actions/remind");
    let form_key = field_of_form(&dashboard, &action, "form_key");

    let forged = app
        .submit(
            &people.staff,
            &action,
            &[("csrf", "not-the-token"), ("form_key", &form_key)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(
        events_of_type(&app, &id, &people.chl_token, "remind")
            .await
            .is_empty()
    );

    let reminded = app
        .submit(&people.staff, &action, &[("form_key", &form_key)])
        .await;
    assert_eq!(reminded.status, StatusCode::SEE_OTHER, "{}", reminded.html);
    assert_eq!(reminded.location(), format!("/inquiries/{id}?done=remind"));
    // The same form sent twice reminds once.
    app.submit(&people.staff, &action, &[("form_key", &form_key)])
        .await;
    let reminders = events_of_type(&app, &id, &people.chl_token, "remind").await;
    assert_eq!(reminders.len(), 1, "{reminders:#?}");
    assert_eq!(reminders[0]["actor"]["role"], "secretariat");
}

async fn starting_a_check_and_replying_to_it_from_the_pages(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    let form = app.page("/checks", Some(&people.staff.cookie)).await;
    assert_eq!(form.status, StatusCode::OK);
    form.assert_holds(&[
        "Start a check",
        "<label for=\"reply_window_days\">",
        "No communication checks yet.",
    ]);

    let started = app
        .submit(
            &people.staff,
            "/checks",
            &[
                ("scope", "chosen"),
                ("member_states", "BRA"),
                ("reply_window_days", "3"),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    let check = started.location().to_owned();
    assert!(check.starts_with("/checks/"), "{check}");
    let asked = app.page(&check, Some(&people.staff.cookie)).await;
    assert_eq!(asked.status, StatusCode::OK);
    asked.assert_holds(&["Bruno Lima", "Brazil", "Reply awaited", "3 d 0 h"]);
    assert!(!asked.html.contains("Ana Rojas"), "Chile was not asked");

    // Brazil's POC sees the check and replies with one button.
    let mine = app.page(&check, Some(&people.bra.cookie)).await;
    assert_eq!(mine.status, StatusCode::OK);
    mine.assert_holds(&["Reply: I received this check"]);
    assert!(
        !mine.html.contains("Who was asked"),
        "a POC sees its own reply only"
    );
    let forged = app
        .submit(
            &people.bra,
            &format!("{check}/reply"),
            &[("csrf", "not-the-token")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let theirs = app.page("/checks", Some(&people.bra.cookie)).await;
    theirs.assert_holds(&["Checks that ask you", "Reply awaited"]);
    assert!(
        !theirs.html.contains("Start a check"),
        "the form is the Secretariat's"
    );
    let replied = app
        .submit(&people.bra, &format!("{check}/reply"), &[])
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER);
    assert_eq!(replied.location(), check);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM communication_check_targets WHERE replied_at IS NOT NULL")
            .await,
        1
    );
    let after = app.page(&check, Some(&people.bra.cookie)).await;
    after.assert_holds(&["You replied on"]);
    let list = app.page("/checks", Some(&people.staff.cookie)).await;
    list.assert_holds(&["1 of 1 replied", "Brazil"]);
}

async fn a_check_form_with_bad_input_is_refused_next_to_the_field_and_writes_nothing(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    let too_long = app
        .submit(&people.staff, "/checks", &[("reply_window_days", "91")])
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    too_long.assert_holds(&[
        "id=\"reply_window_days-error\"",
        "aria-invalid=\"true\"",
        "from 1 to 90",
    ]);
    let no_state = app
        .submit(
            &people.staff,
            "/checks",
            &[("scope", "chosen"), ("reply_window_days", "7")],
        )
        .await;
    assert_eq!(no_state.status, StatusCode::UNPROCESSABLE_ENTITY);
    no_state.assert_holds(&[
        "aria-describedby=\"member_states-error\"",
        "Tick at least one state",
    ]);
    let nobody = app
        .submit(
            &people.staff,
            "/checks",
            &[("member_states", "ARG"), ("reply_window_days", "7")],
        )
        .await;
    assert_eq!(nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    nobody.assert_holds(&["No active point of contact to ask"]);
    let forged = app
        .submit(
            &people.staff,
            "/checks",
            &[("csrf", "not-the-token"), ("reply_window_days", "7")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM communication_checks")
            .await,
        0
    );
}

async fn remind_for_a_stale_poc_starts_a_check_of_its_state(db: TestDb) {
    let app = spawn_app(db).await;
    let people = people(&app).await;
    let long_ago = if app.db.is_postgres() {
        "'2024-01-01T00:00:00Z'"
    } else {
        "'2024-01-01T00:00:00+00:00'"
    };
    app.db
        .execute(&format!(
            "UPDATE pocs SET last_confirmed_at = {long_ago} WHERE member_state = 'BRA'"
        ))
        .await;
    let dashboard = app.page("/dashboard", Some(&people.staff.cookie)).await;
    dashboard.assert_holds(&[
        "Points of contact not confirmed for a year",
        "Bruno Lima",
        "2024-01-01 00:00 UTC",
    ]);
    let state = field_of_form(&dashboard, "/checks", "member_states");
    let days = field_of_form(&dashboard, "/checks", "reply_window_days");
    assert_eq!(state, "BRA");
    let started = app
        .submit(
            &people.staff,
            "/checks",
            &[
                ("scope", "chosen"),
                ("member_states", &state),
                ("reply_window_days", &days),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.html);
    let check = app.page(started.location(), Some(&people.bra.cookie)).await;
    assert_eq!(check.status, StatusCode::OK, "Brazil's POC is asked");
}

on_both_databases!(
    the_dashboard_shows_an_overdue_inquirys_states_and_none_of_its_content,
    a_poc_gets_the_404_page_for_the_dashboard_and_for_a_check_not_asking_it,
    remind_from_the_dashboard_records_a_remind_event,
    starting_a_check_and_replying_to_it_from_the_pages,
    a_check_form_with_bad_input_is_refused_next_to_the_field_and_writes_nothing,
    remind_for_a_stale_poc_starts_a_check_of_its_state,
);
