//! Who may call what, as one table: every route × every kind of caller × before and after
//! an inquiry is sent → the status, derived from api.md and protocol.md. A route the router
//! serves without a row here fails the test, so a new route cannot skip the question.
//!
//! Each row gets its own subjects (a fresh inquiry, POC, token, webhook…), and the callers
//! are tried in the order of [`TRIED`]: the requester, who acts on most rows, last; the
//! responder before it (whose success leaves the requester's 403 as it was); nobody after a
//! caller whose success could change what a later one gets.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app_with};

/// The kinds of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    NoToken,
    RevokedToken,
    DeactivatedPoc,
    Secretariat,
    /// A POC of the requesting state (Chile).
    Requester,
    /// A POC of the responding state (Brazil).
    Responder,
    /// A POC of a third state (Mexico).
    ThirdState,
}

/// The callers in the order of a row's statuses.
const WHO: [Who; 7] = [
    Who::NoToken,
    Who::RevokedToken,
    Who::DeactivatedPoc,
    Who::Secretariat,
    Who::Requester,
    Who::Responder,
    Who::ThirdState,
];

/// The order in which each row tries the callers (indices into [`WHO`]).
const TRIED: [usize; 7] = [0, 1, 2, 3, 6, 5, 4];

/// Whether the row's inquiry has been sent (`request-info`) when the callers try it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `incident_described`: prepared by the requester, not sent.
    Before,
    /// `awaiting_response`: sent to the responding state.
    After,
}

/// What `{id}` (or `{code}`) of a route stands for in a row.
#[derive(Debug, Clone, Copy)]
enum Subject {
    None,
    /// A member state: Argentina, no party to anything here.
    MemberState,
    /// The requesting POC's own record.
    OwnPoc,
    /// A POC of Argentina made for the row.
    OtherPoc,
    /// A token of a POC of Argentina made for the row.
    Token,
    /// A communication check that asks Chile's POCs.
    Check,
    /// A webhook the requesting POC registered.
    Webhook,
    /// A failed delivery to the requesting POC's webhook.
    FailedDelivery,
    /// An inquiry from Chile to Brazil, in the row's phase.
    Inquiry,
}

/// One route and what each caller gets, before and after the inquiry is sent (`after`
/// `None`: the route involves no inquiry, tried once).
struct Row {
    method: Method,
    route: &'static str,
    subject: Subject,
    body: Option<Value>,
    before: [u16; 7],
    after: Option<[u16; 7]>,
}

/// The statuses of the authenticated callers, after 401 for the three without a valid
/// token: [Secretariat, requester, responder, third state].
fn authenticated(statuses: [u16; 4]) -> [u16; 7] {
    let [secretariat, requester, responder, third] = statuses;
    [401, 401, 401, secretariat, requester, responder, third]
}

fn row(method: Method, route: &'static str, subject: Subject, body: Option<Value>) -> RowBuilder {
    RowBuilder(Row {
        method,
        route,
        subject,
        body,
        before: [0; 7],
        after: None,
    })
}

struct RowBuilder(Row);

impl RowBuilder {
    /// The same answers whatever the phase (the route involves no inquiry).
    fn always(mut self, statuses: [u16; 4]) -> Row {
        self.0.before = authenticated(statuses);
        self.0
    }

    /// Answers before and after the inquiry is sent.
    fn phases(mut self, before: [u16; 4], after: [u16; 4]) -> Row {
        self.0.before = authenticated(before);
        self.0.after = Some(authenticated(after));
        self.0
    }
}

/// The table. Statuses per caller: [Secretariat, requester, responder, third state].
fn table() -> Vec<Row> {
    use Method as M;
    use Subject as S;
    let action = |name: &'static str| -> &'static str {
        match name {
            "lookup-poc" => "/v1/inquiries/{id}/lookup-poc",
            "invoke" => "/v1/inquiries/{id}/invoke",
            "describe" => "/v1/inquiries/{id}/describe",
            "request-info" => "/v1/inquiries/{id}/request-info",
            "acknowledge" => "/v1/inquiries/{id}/acknowledge",
            "update" => "/v1/inquiries/{id}/update",
            "respond" => "/v1/inquiries/{id}/respond",
            "follow-up" => "/v1/inquiries/{id}/follow-up",
            "close" => "/v1/inquiries/{id}/close",
            "withdraw" => "/v1/inquiries/{id}/withdraw",
            "remind" => "/v1/inquiries/{id}/remind",
            "message" => "/v1/inquiries/{id}/message",
            "log-contact" => "/v1/inquiries/{id}/log-contact",
            "share" => "/v1/inquiries/{id}/share",
            "unshare" => "/v1/inquiries/{id}/unshare",
            other => panic!("no action {other}"),
        }
    };
    let new_poc = json!({
        "member_state": "ARG", "name": "Nueva Persona", "affiliation": "Cancillería",
        "role": "policy", "email": "nueva.persona@mrecic.example.org"
    });
    let request_info = json!({
        "questions": "Do you see this activity?",
        "contact": {"name": "Eva Rojas", "email": "eva.rojas@minrel.example.org"},
        "time_sensitivity": "routine"
    });
    let describe = json!({"nature": "Scanning", "category": "scanning", "sectors": []});
    let mut rows = vec![
        // Anyone, with or without a token.
        Row {
            method: M::GET,
            route: "/v1/health",
            subject: S::None,
            body: None,
            before: [200; 7],
            after: None,
        },
        // The directory: read by anyone authenticated, kept by the Secretariat; a POC
        // edits and confirms its own record.
        row(M::GET, "/v1/member-states", S::None, None).always([200, 200, 200, 200]),
        row(M::GET, "/v1/member-states/{code}", S::MemberState, None).always([200, 200, 200, 200]),
        row(
            M::PATCH,
            "/v1/member-states/{code}",
            S::MemberState,
            Some(json!({"participating": true})),
        )
        .always([200, 403, 403, 403]),
        // Working-day calendars: read by anyone authenticated, kept by the Secretariat.
        row(
            M::GET,
            "/v1/member-states/{code}/holidays",
            S::MemberState,
            None,
        )
        .always([200, 200, 200, 200]),
        row(
            M::PUT,
            "/v1/member-states/{code}/holidays",
            S::MemberState,
            Some(json!({"holidays": [{"date": "2026-12-25", "name": "Navidad"}]})),
        )
        .always([200, 403, 403, 403]),
        row(M::POST, "/v1/pocs", S::None, Some(new_poc)).always([201, 403, 403, 403]),
        row(M::GET, "/v1/pocs", S::None, None).always([200, 200, 200, 200]),
        row(M::GET, "/v1/pocs/{id}", S::OtherPoc, None).always([200, 200, 200, 200]),
        row(
            M::PATCH,
            "/v1/pocs/{id}",
            S::OwnPoc,
            Some(json!({"affiliation": "Ministerio de Relaciones Exteriores"})),
        )
        .always([200, 200, 403, 403]),
        row(M::POST, "/v1/pocs/{id}/deactivate", S::OtherPoc, None).always([200, 403, 403, 403]),
        row(M::POST, "/v1/pocs/{id}/confirm", S::OwnPoc, None).always([200, 200, 403, 403]),
        row(
            M::POST,
            "/v1/pocs/{id}/tokens",
            S::OtherPoc,
            Some(json!({"label": "laptop"})),
        )
        .always([201, 403, 403, 403]),
        row(M::GET, "/v1/tokens/{id}", S::Token, None).always([200, 403, 403, 403]),
        row(M::DELETE, "/v1/tokens/{id}", S::Token, None).always([204, 403, 403, 403]),
        row(M::GET, "/v1/directory/events", S::None, None).always([200, 403, 403, 403]),
        // The UN directory: a POC's own consent (given with no fields; the Secretariat
        // must say when and how), the Secretariat's export and comparison.
        row(
            M::POST,
            "/v1/pocs/{id}/share-with-un",
            S::OwnPoc,
            Some(json!({})),
        )
        .always([422, 200, 403, 403]),
        row(M::DELETE, "/v1/pocs/{id}/share-with-un", S::OwnPoc, None).always([200, 200, 403, 403]),
        row(M::GET, "/v1/directory/export", S::None, None).always([200, 403, 403, 403]),
        row(
            M::POST,
            "/v1/directory/compare",
            S::None,
            Some(json!({"pocs": []})),
        )
        .always([200, 403, 403, 403]),
        // The directory in bulk: a dry run (the default) answers the Secretariat 200.
        row(
            M::POST,
            "/v1/pocs/import",
            S::None,
            Some(json!({"pocs": []})),
        )
        .always([200, 403, 403, 403]),
        // Who am I: anyone with a valid token.
        row(M::GET, "/v1/me", S::None, None).always([200, 200, 200, 200]),
        // Inquiries: a POC opens them; each sees its state's; the Secretariat sees all,
        // metadata only.
        row(M::POST, "/v1/inquiries", S::None, Some(json!({}))).always([403, 201, 201, 201]),
        row(M::GET, "/v1/inquiries", S::None, None).always([200, 200, 200, 200]),
        // One inquiry: the responding state sees it once sent, a third state never.
        row(M::GET, "/v1/inquiries/{id}", S::Inquiry, None)
            .phases([200, 200, 404, 404], [200, 200, 200, 404]),
        row(M::GET, "/v1/inquiries/{id}/events", S::Inquiry, None)
            .phases([200, 200, 404, 404], [200, 200, 200, 404]),
        // Its indicators as STIX: content, so never the Secretariat's.
        row(
            M::GET,
            "/v1/inquiries/{id}/indicators.stix",
            S::Inquiry,
            None,
        )
        .phases([403, 200, 404, 404], [403, 200, 200, 404]),
        // Evidence: the two states attach (a file comes as multipart, so this JSON body is
        // 400 to whoever may attach; tests/api/attachments.rs sends files) and download;
        // the Secretariat neither. No attachment has this row's id: 404 to the two states.
        row(
            M::POST,
            "/v1/inquiries/{id}/attachments",
            S::Inquiry,
            Some(json!({})),
        )
        .phases([403, 400, 404, 404], [403, 400, 400, 404]),
        row(
            M::GET,
            "/v1/inquiries/{id}/attachments/{attachment_id}",
            S::Inquiry,
            None,
        )
        .phases([403, 404, 404, 404], [403, 404, 404, 404]),
        // Its signed record: whoever may see the inquiry, as they see it.
        row(M::GET, "/v1/inquiries/{id}/record", S::Inquiry, None)
            .phases([200, 200, 404, 404], [200, 200, 200, 404]),
        // The key records are signed with: public, like the health check.
        Row {
            method: M::GET,
            route: "/v1/audit/public-key",
            subject: S::None,
            body: None,
            before: [200; 7],
            after: None,
        },
        // Requester actions: the Secretariat 403, the responder 403 once it sees the
        // inquiry; 409 where the status does not allow the step.
        row(
            M::POST,
            action("lookup-poc"),
            S::Inquiry,
            Some(json!({"member_state": "BRA"})),
        )
        .phases([403, 409, 404, 404], [403, 409, 403, 404]),
        row(M::POST, action("invoke"), S::Inquiry, Some(json!({})))
            .phases([403, 409, 404, 404], [403, 409, 403, 404]),
        row(M::POST, action("describe"), S::Inquiry, Some(describe))
            .phases([403, 200, 404, 404], [403, 409, 403, 404]),
        row(
            M::POST,
            action("request-info"),
            S::Inquiry,
            Some(request_info),
        )
        .phases([403, 200, 404, 404], [403, 409, 403, 404]),
        row(
            M::POST,
            action("follow-up"),
            S::Inquiry,
            Some(json!({"questions": "And now?"})),
        )
        .phases([403, 409, 404, 404], [403, 409, 403, 404]),
        row(M::POST, action("close"), S::Inquiry, Some(json!({})))
            .phases([403, 409, 404, 404], [403, 200, 403, 404]),
        row(
            M::POST,
            action("withdraw"),
            S::Inquiry,
            Some(json!({"reason": "Resolved otherwise"})),
        )
        .phases([403, 200, 404, 404], [403, 200, 403, 404]),
        // Responder actions: nobody on the responding side before sending.
        row(
            M::POST,
            action("acknowledge"),
            S::Inquiry,
            Some(json!({"estimated_timeframe": "P3D"})),
        )
        .phases([403, 403, 404, 404], [403, 403, 200, 404]),
        row(
            M::POST,
            action("update"),
            S::Inquiry,
            Some(json!({"message": "Still looking"})),
        )
        .phases([403, 403, 404, 404], [403, 403, 409, 404]),
        row(
            M::POST,
            action("respond"),
            S::Inquiry,
            Some(json!({"information": "A compromised host"})),
        )
        .phases([403, 403, 404, 404], [403, 403, 200, 404]),
        // The conversation (protocol 1.1): either party once sent. A share names a POC of
        // the caller's own state: none exists with this id (the scenarios share for real).
        row(
            M::POST,
            action("message"),
            S::Inquiry,
            Some(json!({"text": "Hello"})),
        )
        .phases([403, 409, 404, 404], [403, 200, 200, 404]),
        row(
            M::POST,
            action("log-contact"),
            S::Inquiry,
            Some(json!({
                "channel": "phone",
                "at": (cbm2::clock::now() - chrono::TimeDelta::minutes(1)).to_rfc3339(),
                "summary": "Called the other side"
            })),
        )
        .phases([403, 409, 404, 404], [403, 200, 200, 404]),
        row(
            M::POST,
            action("share"),
            S::Inquiry,
            Some(json!({"poc_id": "01890000-0000-7000-8000-000000000000"})),
        )
        .phases([403, 422, 404, 404], [403, 422, 422, 404]),
        row(
            M::POST,
            action("unshare"),
            S::Inquiry,
            Some(json!({"poc_id": "01890000-0000-7000-8000-000000000000"})),
        )
        .phases([403, 422, 404, 404], [403, 422, 422, 404]),
        // The Secretariat's reminder, only while overdue (never here).
        row(M::POST, action("remind"), S::Inquiry, Some(json!({})))
            .phases([409, 403, 404, 404], [409, 403, 403, 404]),
        // The Secretariat's views.
        row(M::GET, "/v1/audit/verify", S::None, None).always([200, 403, 403, 403]),
        row(M::GET, "/v1/monitoring/overdue", S::None, None).always([200, 403, 403, 403]),
        row(M::GET, "/v1/monitoring/overdue.csv", S::None, None).always([200, 403, 403, 403]),
        row(M::GET, "/v1/monitoring/summary", S::None, None).always([200, 403, 403, 403]),
        row(M::GET, "/v1/monitoring/summary.csv", S::None, None).always([200, 403, 403, 403]),
        // Communication checks: the Secretariat asks, the POCs asked see theirs and reply;
        // a check that does not ask a POC is, to it, one that does not exist.
        row(
            M::POST,
            "/v1/communication-checks",
            S::None,
            Some(json!({"member_states": ["CHL"], "reply_window": "P3D"})),
        )
        .always([201, 403, 403, 403]),
        row(M::GET, "/v1/communication-checks", S::None, None).always([200, 200, 200, 200]),
        row(M::GET, "/v1/communication-checks/{id}", S::Check, None).always([200, 200, 404, 404]),
        row(
            M::POST,
            "/v1/communication-checks/{id}/reply",
            S::Check,
            None,
        )
        .always([403, 200, 404, 404]),
        // Webhooks: everyone's own, and someone else's do not exist.
        row(
            M::POST,
            "/v1/webhooks",
            S::None,
            Some(json!({"url": "http://127.0.0.1:9/hook"})),
        )
        .always([201, 201, 201, 201]),
        row(M::GET, "/v1/webhooks", S::None, None).always([200, 200, 200, 200]),
        row(M::DELETE, "/v1/webhooks/{id}", S::Webhook, None).always([404, 204, 404, 404]),
        row(M::POST, "/v1/webhooks/{id}/ping", S::Webhook, None).always([404, 202, 404, 404]),
        row(M::GET, "/v1/webhooks/{id}/deliveries", S::Webhook, None).always([404, 200, 404, 404]),
        row(
            M::POST,
            "/v1/deliveries/{id}/retry",
            S::FailedDelivery,
            None,
        )
        .always([404, 200, 404, 404]),
    ];
    rows.sort_by_key(|r| (r.route, r.method.to_string()));
    rows
}

#[test]
fn every_route_the_router_serves_has_a_row_and_every_row_a_route() {
    let served: BTreeSet<(String, String)> = cbm2::http::route_table()
        .into_iter()
        .map(|(method, path)| (method.to_string(), path))
        .collect();
    let rows: Vec<(String, String)> = table()
        .iter()
        .map(|r| (r.method.to_string(), r.route.to_owned()))
        .collect();
    let in_table: BTreeSet<(String, String)> = rows.iter().cloned().collect();
    assert_eq!(rows.len(), in_table.len(), "a route has two rows");
    let missing: Vec<_> = served.difference(&in_table).collect();
    let extra: Vec<_> = in_table.difference(&served).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes without a row in the authorization table: {missing:?}; rows for routes not served: {extra:?}"
    );
}

/// The callers' tokens and the parties of the inquiries.
struct Callers {
    revoked: String,
    deactivated: String,
    requester_id: String,
    requester: String,
    responder: String,
    third: String,
}

impl Callers {
    async fn enrol(app: &TestApp) -> Self {
        let (requester_id, requester) = app.poc_with_token("CHL", "Eva Rojas").await;
        let (_, responder) = app.poc_with_token("BRA", "Ana Souza").await;
        let (_, third) = app.poc_with_token("MEX", "Luis Garza").await;
        let revoked = app.revoked_token("CHL", "Pedro Soto").await;
        let (deactivated_poc, deactivated) = app.poc_with_token("CHL", "Rosa Vera").await;
        app.post(
            &format!("/v1/pocs/{deactivated_poc}/deactivate"),
            &app.secretariat,
            json!({}),
        )
        .await
        .assert_status(200);
        Self {
            revoked,
            deactivated,
            requester_id,
            requester,
            responder,
            third,
        }
    }

    fn token<'a>(&'a self, app: &'a TestApp, who: Who) -> Option<&'a str> {
        match who {
            Who::NoToken => None,
            Who::RevokedToken => Some(&self.revoked),
            Who::DeactivatedPoc => Some(&self.deactivated),
            Who::Secretariat => Some(&app.secretariat),
            Who::Requester => Some(&self.requester),
            Who::Responder => Some(&self.responder),
            Who::ThirdState => Some(&self.third),
        }
    }
}

/// Makes what `{id}` stands for in a row and returns it.
async fn subject(app: &TestApp, callers: &Callers, subject: Subject, phase: Phase) -> String {
    match subject {
        Subject::None => String::new(),
        Subject::MemberState => "ARG".into(),
        Subject::OwnPoc => callers.requester_id.clone(),
        Subject::OtherPoc => app.create_poc("ARG", "policy", "Juan Perez").await["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        Subject::Token => {
            let poc = app.create_poc("ARG", "policy", "Marta Diaz").await;
            app.issue_token(poc["id"].as_str().unwrap()).await.0
        }
        Subject::Check => app
            .post(
                "/v1/communication-checks",
                &app.secretariat,
                json!({"member_states": ["CHL"], "reply_window": "P3D"}),
            )
            .await
            .assert_status(201)["id"]
            .as_str()
            .unwrap()
            .to_owned(),
        Subject::Webhook => webhook(app, &callers.requester).await,
        Subject::FailedDelivery => {
            let webhook = webhook(app, &callers.requester).await;
            let ping = app
                .post(
                    &format!("/v1/webhooks/{webhook}/ping"),
                    &callers.requester,
                    json!({}),
                )
                .await;
            let delivery = ping.assert_status(202)["id"].as_str().unwrap().to_owned();
            // One attempt (max_attempts = 1) to a closed port: the delivery fails.
            let path = format!("/v1/webhooks/{webhook}/deliveries");
            poll_until(
                "the ping's delivery to fail",
                Duration::from_secs(20),
                async || {
                    let page = app.get(&path, &callers.requester).await;
                    let items = page.assert_status(200)["items"].as_array().unwrap().clone();
                    items
                        .iter()
                        .any(|d| d["id"] == delivery.as_str() && d["state"] == "failed")
                        .then_some(())
                },
            )
            .await;
            delivery
        }
        Subject::Inquiry => match phase {
            Phase::Before => {
                app.described_inquiry(&callers.requester, "BRA", false)
                    .await
            }
            Phase::After => app
                .send_inquiry(&callers.requester, "BRA", "routine", None, false)
                .await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        },
    }
}

/// A webhook `owner` registers to a closed local port.
async fn webhook(app: &TestApp, owner: &str) -> String {
    app.post(
        "/v1/webhooks",
        owner,
        json!({"url": "http://127.0.0.1:9/hook"}),
    )
    .await
    .assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Status and body text (not every answer is JSON: the CSV reports).
async fn send(
    app: &TestApp,
    method: &Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (u16, String) {
    let mut request = app
        .client
        .request(method.clone(), format!("{}{path}", app.address));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

async fn each_caller_gets_the_status_the_table_gives_on_every_route(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.delivery.max_attempts = 1).await;
    let callers = Callers::enrol(&app).await;
    let mut wrong = Vec::new();
    for row in table() {
        let phases = match row.after {
            None => vec![(Phase::Before, row.before, "")],
            Some(after) => vec![
                (Phase::Before, row.before, " before sending"),
                (Phase::After, after, " after sending"),
            ],
        };
        for (phase, expected, label) in phases {
            let id = subject(&app, &callers, row.subject, phase).await;
            let path = row
                .route
                .replace("{id}", &id)
                .replace("{code}", &id)
                .replace("{attachment_id}", "00000000-0000-4000-8000-000000000000");
            for (who, want) in TRIED.map(|i| (WHO[i], expected[i])) {
                let token = callers.token(&app, who);
                let (got, body) = send(&app, &row.method, &path, token, row.body.as_ref()).await;
                if got != want {
                    wrong.push(format!(
                        "{} {}{label} as {who:?}: expected {want}, got {got} {body}",
                        row.method, row.route
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} answers differ from the authorization table:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

on_both_databases!(each_caller_gets_the_status_the_table_gives_on_every_route);
