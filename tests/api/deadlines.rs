//! Deadlines: an inquiry is overdue once its running deadline passes (computed at read
//! time), shows in the Secretariat's overdue list, and the sweeper records exactly one
//! `deadline_missed` per missed deadline (and one `deadline_reminder` before it).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app};

/// How long a test waits for something the sweeper (every 100 ms) should do in a moment.
const PATIENCE: Duration = Duration::from_secs(15);

/// Chile asks, Brazil answers: one policy POC each, with its token.
pub struct Pair {
    pub chl: String,
    pub bra: String,
}

impl Pair {
    pub async fn enrol(app: &TestApp) -> Self {
        let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
        let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
        Self { chl, bra }
    }
}

#[track_caller]
pub fn time(value: &Value) -> DateTime<Utc> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("not a timestamp: {value}"));
    DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .with_timezone(&Utc)
}

/// `PT0S`, `PT1M5S`, `P1DT2H`…: the shape `IsoDuration` prints.
pub fn is_iso_duration(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('P') else {
        return false;
    };
    let (days, time) = match rest.split_once('T') {
        Some((days, time)) => (days, Some(time)),
        None => (rest, None),
    };
    let units_ok = |part: &str, units: &[char]| {
        let mut digits = 0;
        let mut last_unit = None::<usize>;
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits += 1;
            } else {
                let Some(position) = units.iter().position(|u| *u == c) else {
                    return false;
                };
                if digits == 0 || last_unit.is_some_and(|last| position <= last) {
                    return false;
                }
                digits = 0;
                last_unit = Some(position);
            }
        }
        digits == 0
    };
    let days_ok = days.is_empty() || units_ok(days, &['D']);
    let time_ok = time.is_none_or(|t| !t.is_empty() && units_ok(t, &['H', 'M', 'S']));
    days_ok && time_ok && (!days.is_empty() || time.is_some())
}

fn of_type<'a>(events: &'a [Value], event_type: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == event_type).collect()
}

/// Polls the inquiry's events (as `token`) until `n` `deadline_missed` events exist, then
/// keeps looking for over a second (ten sweeper ticks and more) and asserts there are still
/// exactly `n`. Returns the events.
pub async fn exactly_n_misses(app: &TestApp, id: &str, token: &str, n: usize) -> Vec<Value> {
    poll_until(
        &format!("{n} deadline_missed event(s) on {id}"),
        PATIENCE,
        async || {
            let events = app.inquiry_events(id, token).await;
            let misses = of_type(&events, "deadline_missed").len();
            assert!(
                misses <= n,
                "more than {n} deadline_missed on {id}: {events:#?}"
            );
            (misses == n).then_some(())
        },
    )
    .await;
    let watch_until = tokio::time::Instant::now() + Duration::from_millis(1200);
    let mut events;
    loop {
        events = app.inquiry_events(id, token).await;
        assert_eq!(
            of_type(&events, "deadline_missed").len(),
            n,
            "the sweeper recorded a missed deadline again on later ticks: {events:#?}"
        );
        if tokio::time::Instant::now() >= watch_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    events
}

/// Polls GET /v1/inquiries/{id} until `overdue` is true, and checks that overdue is exact
/// at read time: no answer received before `due` says overdue, and no request sent after
/// `due` says not overdue (the server shares this machine's clock). Returns the view.
async fn until_overdue(app: &TestApp, id: &str, token: &str, due: DateTime<Utc>) -> Value {
    poll_until(&format!("{id} to be overdue"), PATIENCE, async || {
        let asked_at = Utc::now();
        let view = app
            .get(&format!("/v1/inquiries/{id}"), token)
            .await
            .assert_status(200)
            .clone();
        let answered_at = Utc::now();
        if view["overdue"] == true {
            assert!(
                answered_at > due,
                "overdue in an answer received at {answered_at}, before the deadline {due}"
            );
            Some(view)
        } else {
            assert!(
                asked_at <= due + TimeDelta::milliseconds(1),
                "not overdue in an answer asked for at {asked_at}, after the deadline {due}"
            );
            None
        }
    })
    .await
}

/// The Secretariat's overdue list item for `id`, if listed.
async fn overdue_item(app: &TestApp, id: &str) -> Option<Value> {
    app.collect_pages("/v1/monitoring/overdue?limit=200")
        .await
        .into_iter()
        .find(|item| item["id"] == id)
}

#[track_caller]
fn assert_listed_overdue(item: &Value, due_at: &Value, deadline: &str, status: &str) {
    assert_eq!(item["deadline"], deadline, "{item}");
    assert_eq!(item["status"], status, "{item}");
    assert_eq!(time(&item["due_at"]), time(due_at), "{item}");
    let overdue_by = item["overdue_by"].as_str().expect("overdue_by is text");
    assert!(
        is_iso_duration(overdue_by),
        "overdue_by {overdue_by:?} is not an ISO 8601 duration"
    );
    assert_eq!(item["requesting_state"], "CHL");
    assert_eq!(item["responding_state"], "BRA");
}

async fn an_unacknowledged_inquiry_becomes_overdue_and_its_miss_is_recorded_once(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Pair::enrol(&app).await;

    let sent = app
        // A 4 s window leaves a full second (ten sweeps) for the reminder at 3/4 of it,
        // so a busy machine still reminds before the deadline.
        .send_inquiry(&p.chl, "BRA", "urgent", Some(Duration::from_secs(4)), false)
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let due = time(&sent["due_at"]);
    assert_eq!(sent["ack_due_at"], sent["due_at"]);
    assert_eq!(sent["overdue"], false, "not overdue before its deadline");
    assert!(overdue_item(&app, &id).await.is_none());

    let view = until_overdue(&app, &id, &p.chl, due).await;
    assert_eq!(view["status"], "awaiting_response");
    let secretariat_view = app
        .get(&format!("/v1/inquiries/{id}"), &app.secretariat)
        .await;
    assert_eq!(secretariat_view.assert_status(200)["overdue"], true);
    let item = overdue_item(&app, &id)
        .await
        .expect("the overdue inquiry is in /v1/monitoring/overdue");
    assert_listed_overdue(
        &item,
        &sent["due_at"],
        "acknowledgement",
        "awaiting_response",
    );

    let events = exactly_n_misses(&app, &id, &p.chl, 1).await;
    let missed = of_type(&events, "deadline_missed")[0];
    assert_eq!(missed["actor"]["role"], "engine");
    assert_eq!(missed["payload"]["deadline"], "acknowledgement");
    assert_eq!(time(&missed["payload"]["due_at"]), due);
    assert!(time(&missed["at"]) > due, "recorded before the deadline");

    let reminders = of_type(&events, "deadline_reminder");
    assert_eq!(reminders.len(), 1, "one reminder per deadline: {events:#?}");
    let reminder = reminders[0];
    assert!(
        reminder["seq"].as_i64() < missed["seq"].as_i64(),
        "the reminder comes before the miss"
    );
    assert_eq!(reminder["payload"]["deadline"], "acknowledgement");
    assert_eq!(reminder["payload"]["reminded_state"], "BRA");
    assert_eq!(time(&reminder["payload"]["due_at"]), due);
    let sent_at = time(&sent["sent_at"]);
    let reminder_due = sent_at + (due - sent_at) * 3 / 4;
    let reminded_at = time(&reminder["at"]);
    assert!(
        reminded_at >= reminder_due - TimeDelta::milliseconds(2) && reminded_at <= due,
        "reminded at {reminded_at}: expected from {reminder_due} (3/4 of the window) to {due}"
    );

    // The responding state sees the same trail; the Secretariat sees it without payloads.
    let bra_events = app.inquiry_events(&id, &p.bra).await;
    assert_eq!(of_type(&bra_events, "deadline_missed").len(), 1);
    let secretariat_events = app.inquiry_events(&id, &app.secretariat).await;
    let missed_for_secretariat = of_type(&secretariat_events, "deadline_missed");
    assert_eq!(missed_for_secretariat.len(), 1);
    assert!(missed_for_secretariat[0].get("payload").is_none());

    // The miss is notified once to the Secretariat.
    let notified = app
        .db
        .count(
            "SELECT count(*) FROM outbox WHERE event_type = 'deadline_missed' \
             AND recipient_kind = 'secretariat'",
        )
        .await;
    assert_eq!(
        notified, 1,
        "one notification of the miss to the Secretariat"
    );

    // Still overdue after the miss is recorded: overdue is the clock, not the event.
    let after = app.get(&format!("/v1/inquiries/{id}"), &p.chl).await;
    assert_eq!(after.assert_status(200)["overdue"], true);
    app.assert_audit_intact().await;
}

async fn a_late_acknowledgement_starts_a_response_deadline_that_is_missed_once_more(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Pair::enrol(&app).await;
    let sent = app
        .send_inquiry(
            &p.chl,
            "BRA",
            "critical",
            // 4 s windows: a second (ten sweeps) for each reminder at 3/4 of its window.
            Some(Duration::from_secs(4)),
            false,
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let ack_due = time(&sent["due_at"]);
    exactly_n_misses(&app, &id, &p.chl, 1).await;

    let acknowledged = app
        .post(
            &format!("/v1/inquiries/{id}/acknowledge"),
            &p.bra,
            json!({"estimated_timeframe": "PT4S"}),
        )
        .await;
    let acknowledged = acknowledged.assert_status(200).clone();
    assert_eq!(acknowledged["status"], "acknowledged");
    assert_eq!(acknowledged["due_at"], acknowledged["response_due_at"]);
    assert_eq!(
        acknowledged["overdue"], false,
        "the response deadline lies ahead"
    );
    let response_due = time(&acknowledged["due_at"]);
    let acknowledged_at = time(&acknowledged["acknowledged_at"]);
    assert_eq!(response_due - acknowledged_at, TimeDelta::seconds(4));
    assert!(
        overdue_item(&app, &id).await.is_none(),
        "no longer overdue once acknowledged"
    );

    let view = until_overdue(&app, &id, &p.chl, response_due).await;
    assert_eq!(view["status"], "acknowledged");
    let item = overdue_item(&app, &id).await.expect("listed overdue again");
    assert_listed_overdue(
        &item,
        &acknowledged["response_due_at"],
        "response",
        "acknowledged",
    );

    let events = exactly_n_misses(&app, &id, &p.chl, 2).await;
    let misses = of_type(&events, "deadline_missed");
    assert_eq!(misses[0]["payload"]["deadline"], "acknowledgement");
    assert_eq!(time(&misses[0]["payload"]["due_at"]), ack_due);
    assert_eq!(misses[1]["payload"]["deadline"], "response");
    assert_eq!(time(&misses[1]["payload"]["due_at"]), response_due);
    let reminders = of_type(&events, "deadline_reminder");
    let reminded_for: Vec<_> = reminders
        .iter()
        .map(|r| {
            (
                r["payload"]["deadline"].clone(),
                time(&r["payload"]["due_at"]),
            )
        })
        .collect();
    assert_eq!(
        reminded_for,
        vec![
            (json!("acknowledgement"), ack_due),
            (json!("response"), response_due)
        ],
        "one reminder per deadline"
    );
    app.assert_audit_intact().await;
}

async fn an_acknowledgement_in_time_leaves_only_the_response_deadline_to_miss(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Pair::enrol(&app).await;
    // Urgent, no respond_by: the acknowledgement is due in a day.
    let sent = app.send_inquiry(&p.chl, "BRA", "urgent", None, false).await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let ack_due = time(&sent["ack_due_at"]);
    assert_eq!(ack_due - time(&sent["sent_at"]), TimeDelta::days(1));

    let acknowledged = app
        .post(
            &format!("/v1/inquiries/{id}/acknowledge"),
            &p.bra,
            // 4 s: a second (ten sweeps) for the reminder at 3/4 of the window.
            json!({"estimated_timeframe": "PT4S", "message": "Looking into it."}),
        )
        .await;
    let acknowledged = acknowledged.assert_status(200).clone();
    let response_due = time(&acknowledged["response_due_at"]);

    let events = exactly_n_misses(&app, &id, &p.bra, 1).await;
    let missed = of_type(&events, "deadline_missed")[0];
    assert_eq!(missed["payload"]["deadline"], "response");
    assert_eq!(time(&missed["payload"]["due_at"]), response_due);
    let reminders = of_type(&events, "deadline_reminder");
    assert_eq!(reminders.len(), 1, "{events:#?}");
    assert_eq!(reminders[0]["payload"]["deadline"], "response");
    let item = overdue_item(&app, &id).await.expect("listed overdue");
    assert_listed_overdue(
        &item,
        &acknowledged["response_due_at"],
        "response",
        "acknowledged",
    );
    app.assert_audit_intact().await;
}

async fn a_revised_timeframe_sets_a_new_deadline_that_can_be_missed_again(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Pair::enrol(&app).await;
    let sent = app
        .send_inquiry(&p.chl, "BRA", "routine", None, false)
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    let acknowledged = app
        .post(
            &format!("/v1/inquiries/{id}/acknowledge"),
            &p.bra,
            json!({"estimated_timeframe": "PT2S"}),
        )
        .await;
    let first_due = time(&acknowledged.assert_status(200)["response_due_at"]);
    exactly_n_misses(&app, &id, &p.chl, 1).await;

    let revised = app
        .post(
            &format!("/v1/inquiries/{id}/update"),
            &p.bra,
            json!({"message": "The logs take longer to pull.", "estimated_timeframe": "PT2S",
                   "reason": "Waiting for the ISP's records"}),
        )
        .await;
    let revised = revised.assert_status(200).clone();
    let second_due = time(&revised["response_due_at"]);
    assert_eq!(revised["due_at"], revised["response_due_at"]);
    assert!(second_due > first_due, "{second_due} follows {first_due}");
    assert_eq!(revised["overdue"], false, "the revised deadline lies ahead");
    assert!(
        overdue_item(&app, &id).await.is_none(),
        "not listed overdue while the revised deadline runs"
    );

    let events = exactly_n_misses(&app, &id, &p.chl, 2).await;
    let update = of_type(&events, "update");
    assert_eq!(update.len(), 1);
    assert_eq!(time(&update[0]["payload"]["response_due_at"]), second_due);
    assert_eq!(
        update[0]["payload"]["reason"],
        "Waiting for the ISP's records"
    );
    let missed_for: Vec<DateTime<Utc>> = of_type(&events, "deadline_missed")
        .iter()
        .map(|e| time(&e["payload"]["due_at"]))
        .collect();
    assert_eq!(
        missed_for,
        vec![first_due, second_due],
        "one miss per deadline, the old one never again"
    );
    let item = overdue_item(&app, &id).await.expect("listed overdue");
    assert_listed_overdue(
        &item,
        &revised["response_due_at"],
        "response",
        "acknowledged",
    );
    app.assert_audit_intact().await;
}

async fn answered_inquiries_leave_no_deadline_to_miss(db: TestDb) {
    let app = spawn_app(db).await;
    let p = Pair::enrol(&app).await;
    let responded = app
        .send_inquiry(
            &p.chl,
            "BRA",
            "critical",
            Some(Duration::from_secs(2)),
            false,
        )
        .await;
    let responded_id = responded["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/v1/inquiries/{responded_id}/respond"),
        &p.bra,
        json!({"information": "A misconfigured scanner; it is off."}),
    )
    .await
    .assert_status(200);
    // A witness due at the same time, left unanswered, shows when the sweeper has passed.
    let witness = app
        .send_inquiry(
            &p.chl,
            "BRA",
            "critical",
            Some(Duration::from_secs(2)),
            false,
        )
        .await;
    let witness_id = witness["id"].as_str().unwrap().to_owned();
    exactly_n_misses(&app, &witness_id, &p.chl, 1).await;

    let view = app
        .get(&format!("/v1/inquiries/{responded_id}"), &p.chl)
        .await;
    let view = view.assert_status(200);
    assert_eq!(view["overdue"], false);
    assert_eq!(view["due_at"], Value::Null);
    let events = app.inquiry_events(&responded_id, &p.chl).await;
    assert!(
        of_type(&events, "deadline_missed").is_empty(),
        "{events:#?}"
    );
    assert!(overdue_item(&app, &responded_id).await.is_none());
    app.assert_audit_intact().await;
}

on_both_databases!(
    an_unacknowledged_inquiry_becomes_overdue_and_its_miss_is_recorded_once,
    a_late_acknowledgement_starts_a_response_deadline_that_is_missed_once_more,
    an_acknowledgement_in_time_leaves_only_the_response_deadline_to_miss,
    a_revised_timeframe_sets_a_new_deadline_that_can_be_missed_again,
    answered_inquiries_leave_no_deadline_to_miss,
);

#[test]
fn iso_durations_are_recognised() {
    for good in ["PT0S", "PT2S", "PT1M5S", "P1DT2H", "P3D", "PT4H"] {
        assert!(is_iso_duration(good), "{good}");
    }
    for bad in [
        "", "P", "PT", "2S", "PT2", "PTS", "PT5S1M", "P1M", "1 second",
    ] {
        assert!(!is_iso_duration(bad), "{bad}");
    }
}
