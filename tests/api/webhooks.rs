//! Webhook notifications: who is told of what (`protocol/notifications.toml`), thin signed
//! bodies, retries with the same `webhook-id`, the `events` filter, 410 Gone, failure after
//! the last attempt and the owner's retry, SSRF refusals, and who may see and stop which
//! endpoint. A test receiver on 127.0.0.1 records every request.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app, spawn_app_with};
use crate::workflow::{CONTENT_FIELDS, act, assert_metadata_only, create};

/// How long a test waits for something the worker (every 100 ms) should do in a moment.
pub const PATIENCE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------
// The receiver
// ---------------------------------------------------------------------------------------

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub answered: u16,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("a UTF-8 body")
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("the body is not JSON ({e}): {}", self.text()))
    }

    #[track_caller]
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
            .to_str()
            .unwrap()
            .to_owned()
    }

    pub fn webhook_id(&self) -> String {
        self.header("webhook-id")
    }

    /// The body's `type`.
    pub fn event(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }

    /// Asserts the Standard Webhooks signature verifies with `secret`.
    #[track_caller]
    pub fn assert_signed_with(&self, secret: &str) {
        let verifier = standardwebhooks::Webhook::new(secret).expect("a usable secret");
        if let Err(error) = verifier.verify(&self.body, &self.headers) {
            panic!(
                "the signature of a request to {} does not verify ({error}); headers {:?}, body {}",
                self.path,
                self.headers,
                self.text()
            );
        }
    }
}

/// What a path answers: the statuses in `first`, one per request, then `then` for ever.
struct Script {
    first: VecDeque<u16>,
    then: u16,
}

#[derive(Default)]
struct Book {
    received: Vec<Received>,
    scripts: HashMap<String, Script>,
    /// How long to wait before answering (every path).
    delay: Option<Duration>,
    /// Requests that have arrived, including those still waiting out `delay`.
    arrivals: usize,
}

/// An HTTP server on 127.0.0.1 that records every request (any method, any path) and
/// answers each path as programmed (200 unless told otherwise; a 3xx with a `Location` of
/// [`REDIRECTED_TO`]). Stops when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    book: Arc<Mutex<Book>>,
    _stop: oneshot::Sender<()>,
}

/// Where a 3xx answer points.
pub const REDIRECTED_TO: &str = "/redirected";

async fn record(
    State(book): State<Arc<Mutex<Book>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, HeaderMap) {
    let path = uri.path().to_owned();
    let delay = {
        let mut book = book.lock().unwrap();
        book.arrivals += 1;
        book.delay
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut book = book.lock().unwrap();
    let answered = match book.scripts.get_mut(&path) {
        Some(script) => script.first.pop_front().unwrap_or(script.then),
        None => 200,
    };
    book.received.push(Received {
        method,
        path,
        headers,
        body,
        answered,
    });
    let mut answer_headers = HeaderMap::new();
    if (300..400).contains(&answered) {
        answer_headers.insert("location", REDIRECTED_TO.parse().unwrap());
    }
    (StatusCode::from_u16(answered).unwrap(), answer_headers)
}

impl Receiver {
    /// A receiver on a free port.
    pub async fn start() -> Receiver {
        Self::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// A receiver on `addr` (a port chosen earlier).
    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = TcpListener::bind(addr).await.expect("the receiver binds");
        let addr = listener.local_addr().unwrap();
        let book = Arc::new(Mutex::new(Book::default()));
        let app = Router::new().fallback(record).with_state(book.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("the receiver runs");
        });
        Receiver {
            addr,
            book,
            _stop: stop,
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// `path` answers the statuses of `first` in turn, then `then` for every later request.
    pub fn answer(&self, path: &str, first: &[u16], then: u16) {
        self.book.lock().unwrap().scripts.insert(
            path.to_owned(),
            Script {
                first: first.iter().copied().collect(),
                then,
            },
        );
    }

    /// Every answer waits `delay` first (a request is recorded once answered).
    pub fn delay(&self, delay: Duration) {
        self.book.lock().unwrap().delay = Some(delay);
    }

    /// How many requests have arrived, answered or not yet.
    pub fn arrivals(&self) -> usize {
        self.book.lock().unwrap().arrivals
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.book.lock().unwrap().received.clone()
    }

    /// The requests to `path` so far.
    pub fn at(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    pub fn count(&self, path: &str) -> usize {
        self.book
            .lock()
            .unwrap()
            .received
            .iter()
            .filter(|r| r.path == path)
            .count()
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks through the API
// ---------------------------------------------------------------------------------------

/// A registered endpoint: its id and the secret shown at registration.
#[derive(Debug, Clone)]
pub struct Hook {
    pub id: String,
    pub secret: String,
}

/// Registers `url` as `token`'s webhook (all events, or only `events`), checks the 201
/// and returns the endpoint.
pub async fn register(app: &TestApp, token: &str, url: &str, events: Option<&[&str]>) -> Hook {
    let mut body = json!({ "url": url });
    if let Some(events) = events {
        body["events"] = json!(events);
    }
    let reply = app.post("/v1/webhooks", token, body).await;
    let created = reply.assert_status(201);
    let id = created["id"].as_str().expect("an id").to_owned();
    assert_eq!(
        reply.headers["location"].to_str().unwrap(),
        format!("/v1/webhooks/{id}"),
        "{created}"
    );
    assert_eq!(created["url"], url, "{created}");
    assert_eq!(created["active"], true, "{created}");
    match events {
        Some(events) => assert_eq!(created["events"], json!(events), "{created}"),
        None => assert!(created["events"].is_null(), "{created}"),
    }
    let secret = created["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("the secret is shown at registration: {created}"))
        .to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    standardwebhooks::Webhook::new(&secret).expect("the secret is a Standard Webhooks secret");
    Hook { id, secret }
}

/// Every delivery of the endpoint, as its owner lists them (all pages).
pub async fn deliveries(app: &TestApp, token: &str, hook: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut path = format!("/v1/webhooks/{hook}/deliveries?limit=200");
    loop {
        let reply = app.get(&path, token).await;
        let page = reply.assert_status(200);
        items.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("/v1/webhooks/{hook}/deliveries?limit=200&cursor={cursor}")
            }
            None => return items,
        }
    }
}

/// The caller's endpoints (`GET /v1/webhooks`).
pub async fn webhooks_of(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app.get("/v1/webhooks", token).await;
    reply.assert_status(200)["items"]
        .as_array()
        .expect("items")
        .clone()
}

/// Waits until every queued notification is fanned out and no webhook delivery is pending.
pub async fn settle(db: &TestDb) {
    poll_until(
        "every notification fanned out and every webhook delivery settled",
        PATIENCE,
        async || {
            let queued = db
                .count("SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL")
                .await;
            let pending = db
                .count(
                    "SELECT count(*) FROM deliveries WHERE channel = 'webhook' AND state = 'pending'",
                )
                .await;
            (queued == 0 && pending == 0).then_some(())
        },
    )
    .await;
}

/// The deliveries of `hook` once the one with `id` (the `webhook-id`) satisfies `done`.
async fn delivery_when(
    app: &TestApp,
    token: &str,
    hook: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    poll_until(what, PATIENCE, async || {
        deliveries(app, token, hook)
            .await
            .into_iter()
            .find(|d| done(d))
    })
    .await
}

// ---------------------------------------------------------------------------------------
// 1. Who is told of what
// ---------------------------------------------------------------------------------------

/// Strings of the inquiry's content, each unique, that no notification may carry.
const NATURE: &str = "NATURE-7f3a spear-phishing of the treasury";
const CATEGORY: &str = "CATEGORY-c4d2";
const SECTOR: &str = "SECTOR-a81e";
const INDICATOR_IP: &str = "198.51.100.77";
const INDICATOR_DOMAIN: &str = "ioc-9d2b.example.net";
const QUESTIONS: &str = "QUESTIONS-5c1e which network hosts the server?";
const CONTACT_NAME: &str = "CONTACT-6d4a Duty Officer";
const CONTACT_EMAIL: &str = "contact-6d4a@example.org";
const ACK_MESSAGE: &str = "ACK-MESSAGE-4e6f looking into it";
const UPDATE_MESSAGE: &str = "UPDATE-MESSAGE-8a1c still looking";
const INFORMATION: &str = "INFORMATION-2b8d a compromised reseller";
const FOLLOW_UP: &str = "FOLLOWUP-1b7c who operates it?";
const INFORMATION_2: &str = "INFORMATION-93aa a reseller in a third state";
const RESOLUTION: &str = "RESOLUTION-3f9e resolved";
const WITHDRAW_REASON: &str = "WITHDRAW-0e5d raised in error";
/// What `send_inquiry` writes.
const SEND_INQUIRY_TEXTS: [&str; 2] = [
    "Scanning of the ministry's mail servers",
    "Do you see this activity from your networks?",
];

/// The table, as the brief states it: event type → the receivers' paths.
fn audience_paths(event: &str) -> &'static [&'static str] {
    match event {
        "request_info" | "follow_up" | "remind" | "deadline_reminder" => &["/bra"],
        "acknowledge" | "update" | "respond" => &["/chl"],
        "close" | "withdraw" => &["/bra"],
        "deadline_missed" => &["/chl", "/bra", "/secretariat"],
        _ => &[],
    }
}

/// `protocol/notifications.toml` says the same as [`audience_paths`] for inquiry events.
fn assert_table_matches_the_protocol() {
    #[derive(serde::Deserialize)]
    struct Table {
        events: BTreeMap<String, Vec<String>>,
    }
    let table: Table =
        toml::from_str(include_str!("../../protocol/notifications.toml")).expect("the table");
    for (event, audiences) in &table.events {
        // Directory notices, and the conversation's (tests/api/conversation.rs; evidence,
        // `attachment_added`, goes to the other side as a message does).
        if matches!(
            event.as_str(),
            "communication_check_started"
                | "poc_stale_soon"
                | "message"
                | "log_contact"
                | "share"
                | "attachment_added"
        ) {
            continue;
        }
        let paths: Vec<&str> = audiences
            .iter()
            .map(|a| match a.as_str() {
                "requesting_state" => "/chl",
                "responding_state" => "/bra",
                "secretariat" => "/secretariat",
                other => panic!("an audience the inquiry tests do not know: {other}"),
            })
            .collect();
        assert_eq!(
            paths,
            audience_paths(event),
            "notifications.toml and this test disagree on {event}"
        );
    }
}

/// The inquiry's status right after each notifying event in this test's inquiries.
fn status_after(event: &str) -> &'static str {
    match event {
        "request_info" | "follow_up" | "deadline_reminder" | "deadline_missed" | "remind" => {
            "awaiting_response"
        }
        "acknowledge" | "update" => "acknowledged",
        "respond" => "responded",
        "close" => "closed",
        "withdraw" => "withdrawn",
        other => panic!("no notification expected for {other}"),
    }
}

async fn each_notification_reaches_exactly_its_audience(db: TestDb) {
    assert_table_matches_the_protocol();
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let (_, mex) = app.poc_with_token("MEX", "Luis Garcia").await;
    let secretariat = app.secretariat.clone();
    let mut hooks: BTreeMap<&str, (Hook, &str)> = BTreeMap::new();
    for (path, token) in [
        ("/chl", chl.as_str()),
        ("/bra", bra.as_str()),
        ("/mex", mex.as_str()),
        ("/secretariat", secretariat.as_str()),
    ] {
        let hook = register(&app, token, &receiver.url(path), None).await;
        hooks.insert(path, (hook, token));
    }

    // Inquiry A: the whole exchange, with MEX named as a third state.
    let a = create(&app, &chl).await;
    let steps: [(&str, &str, Value); 10] = [
        ("lookup-poc", &chl, json!({"member_state": "BRA"})),
        ("invoke", &chl, json!({"language": "en"})),
        (
            "describe",
            &chl,
            json!({
                "nature": NATURE,
                "category": CATEGORY,
                "sectors": [SECTOR],
                "indicators": [
                    {"type": "ipv4", "value": INDICATOR_IP},
                    {"type": "domain", "value": INDICATOR_DOMAIN},
                ],
            }),
        ),
        (
            "request-info",
            &chl,
            json!({
                "questions": QUESTIONS,
                "contact": {"name": CONTACT_NAME, "email": CONTACT_EMAIL},
                "time_sensitivity": "routine",
            }),
        ),
        (
            "acknowledge",
            &bra,
            json!({"estimated_timeframe": "P3D", "message": ACK_MESSAGE}),
        ),
        ("update", &bra, json!({"message": UPDATE_MESSAGE})),
        (
            "respond",
            &bra,
            json!({"information": INFORMATION, "third_states": ["MEX"]}),
        ),
        ("follow-up", &chl, json!({"questions": FOLLOW_UP})),
        ("respond", &bra, json!({"information": INFORMATION_2})),
        ("close", &chl, json!({"resolution": RESOLUTION})),
    ];
    for (action, token, body) in steps {
        act(&app, &a, action, token, body).await.assert_status(200);
    }

    // Inquiry B: a deadline of two seconds, missed; the Secretariat reminds; withdrawn.
    let sent = app
        .send_inquiry(&chl, "BRA", "urgent", Some(Duration::from_secs(2)), false)
        .await;
    let b = sent["id"].as_str().unwrap().to_owned();
    poll_until("inquiry B's deadline_missed", PATIENCE, async || {
        let events = app.inquiry_events(&b, &chl).await;
        events
            .iter()
            .any(|e| e["type"] == "deadline_missed")
            .then_some(())
    })
    .await;
    act(&app, &b, "remind", &secretariat, json!({}))
        .await
        .assert_status(200);
    act(
        &app,
        &b,
        "withdraw",
        &chl,
        json!({"reason": WITHDRAW_REASON}),
    )
    .await
    .assert_status(200);

    // Inquiry C: withdrawn before it was sent; the responding state is told nothing.
    let c = create(&app, &chl).await;
    act(&app, &c, "lookup-poc", &chl, json!({"member_state": "BRA"}))
        .await
        .assert_status(200);
    act(
        &app,
        &c,
        "withdraw",
        &chl,
        json!({"reason": WITHDRAW_REASON}),
    )
    .await
    .assert_status(200);

    settle(&app.db).await;

    // What the table says each endpoint gets, from the inquiries' audit trails.
    let mut expected: Vec<(String, String, String)> = Vec::new();
    for id in [&a, &b, &c] {
        // The responding state hears of nothing until the inquiry is sent to it.
        let mut sent = false;
        for event in app.inquiry_events(id, &chl).await {
            let event_type = event["type"].as_str().unwrap();
            sent |= event_type == "request_info";
            for path in audience_paths(event_type) {
                if *path == "/bra" && !sent {
                    continue;
                }
                expected.push((path.to_string(), event_type.to_owned(), id.clone()));
            }
        }
    }
    expected.sort();
    let received = receiver.received();
    let mut got: Vec<(String, String, String)> = received
        .iter()
        .map(|r| {
            let body = r.json();
            (
                r.path.clone(),
                r.event(),
                body["data"]["inquiry_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got, expected,
        "the notifications received differ from notifications.toml"
    );
    let of = |path: &str, event: &str, id: &str| {
        expected
            .iter()
            .filter(|(p, e, i)| p == path && e == event && i == id)
            .count()
    };
    // The exchange as the brief lists it, so that an empty trail could not pass.
    assert_eq!(of("/bra", "request_info", &a), 1);
    assert_eq!(of("/chl", "acknowledge", &a), 1);
    assert_eq!(of("/chl", "update", &a), 1);
    assert_eq!(of("/chl", "respond", &a), 2);
    assert_eq!(of("/bra", "follow_up", &a), 1);
    assert_eq!(of("/bra", "close", &a), 1);
    assert_eq!(of("/bra", "request_info", &b), 1);
    for path in ["/chl", "/bra", "/secretariat"] {
        assert_eq!(of(path, "deadline_missed", &b), 1, "{path}");
    }
    assert_eq!(of("/bra", "remind", &b), 1);
    assert_eq!(of("/bra", "withdraw", &b), 1);
    assert!(
        !got.iter().any(|(_, _, id)| id == &c),
        "a draft withdrawn before sending notified someone: {got:#?}"
    );
    assert!(
        receiver.at("/mex").is_empty(),
        "the third state was notified"
    );
    let secretariat_events: BTreeSet<String> = receiver
        .at("/secretariat")
        .iter()
        .map(Received::event)
        .collect();
    assert_eq!(
        secretariat_events,
        BTreeSet::from(["deadline_missed".to_owned()])
    );

    let forbidden: Vec<&str> = [
        NATURE,
        CATEGORY,
        SECTOR,
        INDICATOR_IP,
        INDICATOR_DOMAIN,
        QUESTIONS,
        CONTACT_NAME,
        CONTACT_EMAIL,
        ACK_MESSAGE,
        UPDATE_MESSAGE,
        INFORMATION,
        FOLLOW_UP,
        INFORMATION_2,
        RESOLUTION,
        WITHDRAW_REASON,
    ]
    .into_iter()
    .chain(SEND_INQUIRY_TEXTS)
    .collect();
    for request in &received {
        let (hook, _) = &hooks[request.path.as_str()];
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.header("content-type"), "application/json");
        assert!(
            request.header("user-agent").starts_with("cbm2/"),
            "{:?}",
            request.headers
        );
        request.assert_signed_with(&hook.secret);
        let text = request.text();
        for content in &forbidden {
            assert!(
                !text.contains(content),
                "a notification to {} carries content {content:?}: {text}",
                request.path
            );
        }
        let body = request.json();
        let keys: BTreeSet<&str> = body
            .as_object()
            .expect("an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["type", "timestamp", "data"]),
            "{body}"
        );
        chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().expect("a timestamp"))
            .unwrap_or_else(|e| panic!("timestamp: {e}: {body}"));
        let event = request.event();
        let data = &body["data"];
        let id = data["inquiry_id"].as_str().expect("inquiry_id");
        assert_eq!(data["requesting_state"], "CHL", "{body}");
        assert_eq!(data["responding_state"], "BRA", "{body}");
        assert_eq!(data["status"], status_after(&event), "{body}");
        let link = data["link"].as_str().expect("a link");
        assert!(
            link.starts_with("https://cbm2.test/v1/inquiries/"),
            "{link}"
        );
        assert_eq!(link, format!("https://cbm2.test/v1/inquiries/{id}"));
        match request.path.as_str() {
            "/bra" => {
                let text = data["invocation_text"]
                    .as_str()
                    .unwrap_or_else(|| panic!("BRA's {event} lacks the invocation text: {body}"));
                assert!(text.contains("AG/RES. 2925 (XLVIII-O/18)"), "{text}");
                // The non-accusation note, in the invocation's language.
                let note = match data["language"].as_str() {
                    Some("en") => "does not constitute an accusation",
                    Some("es") => "no constituye una acusación",
                    other => panic!("an invocation in {other:?}: {body}"),
                };
                assert!(text.contains(note), "{text}");
            }
            "/secretariat" => {
                assert_metadata_only(data, "a notification to the Secretariat");
                for field in CONTENT_FIELDS {
                    assert!(!text.contains(&format!("\"{field}\"")), "{field}: {text}");
                }
            }
            _ => assert!(
                data.get("invocation_text").is_none(),
                "only the responding state gets the invocation text: {body}"
            ),
        }
    }

    // Each webhook-id is one of the endpoint's deliveries, each delivered once.
    for (path, (hook, token)) in &hooks {
        let listed = deliveries(&app, token, &hook.id).await;
        let mut ids: Vec<String> = receiver.at(path).iter().map(Received::webhook_id).collect();
        ids.sort();
        let listed_ids: Vec<String> = {
            let mut ids: Vec<String> = listed
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(
            ids, listed_ids,
            "{path}: the webhook-ids received are not the deliveries listed: {listed:#?}"
        );
        for delivery in &listed {
            assert_eq!(delivery["webhook_id"], hook.id.as_str(), "{delivery}");
            assert_eq!(delivery["state"], "delivered", "{delivery}");
            assert_eq!(delivery["attempts"], 1, "{delivery}");
            assert_eq!(delivery["last_status"], 200, "{delivery}");
            let request = receiver
                .at(path)
                .into_iter()
                .find(|r| r.webhook_id() == delivery["id"].as_str().unwrap())
                .unwrap();
            assert_eq!(delivery["event"], request.event().as_str(), "{delivery}");
        }
    }
    app.assert_audit_intact().await;
}

// ---------------------------------------------------------------------------------------
// 2. Retries
// ---------------------------------------------------------------------------------------

/// CHL and BRA POCs' tokens, and a BRA webhook at `receiver`'s `path`.
async fn chl_and_bra(app: &TestApp, receiver: &Receiver, path: &str) -> (String, String, Hook) {
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(app, &bra, &receiver.url(path), None).await;
    (chl, bra, hook)
}

async fn a_failing_receiver_gets_the_same_webhook_id_until_it_answers(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    receiver.answer("/bra", &[500, 500], 200);
    let (chl, bra, hook) = chl_and_bra(&app, &receiver, "/bra").await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;

    let delivery = delivery_when(&app, &bra, &hook.id, "the delivery to succeed", |d| {
        d["state"] == "delivered"
    })
    .await;
    settle(&app.db).await;
    let requests = receiver.at("/bra");
    let answered: Vec<u16> = requests.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 500, 200], "three attempts: {requests:#?}");
    let id = delivery["id"].as_str().unwrap();
    let mut timestamps = Vec::new();
    for request in &requests {
        assert_eq!(
            request.webhook_id(),
            id,
            "the same webhook-id on every attempt"
        );
        assert_eq!(request.event(), "request_info");
        assert_eq!(
            request.body, requests[0].body,
            "the same body on every attempt"
        );
        request.assert_signed_with(&hook.secret);
        let timestamp: i64 = request.header("webhook-timestamp").parse().unwrap();
        timestamps.push(timestamp);
    }
    assert!(timestamps.is_sorted(), "{timestamps:?}");
    assert_eq!(delivery["event"], "request_info", "{delivery}");
    assert_eq!(delivery["state"], "delivered", "{delivery}");
    assert_eq!(delivery["attempts"], 3, "{delivery}");
    assert_eq!(delivery["last_status"], 200, "{delivery}");
    assert!(delivery["delivered_at"].is_string(), "{delivery}");
    assert!(delivery["next_attempt_at"].is_null(), "{delivery}");
    let listed = deliveries(&app, &bra, &hook.id).await;
    assert_eq!(listed.len(), 1, "one delivery, three attempts: {listed:#?}");
    assert_eq!(receiver.count("/bra"), 3, "nothing after the success");
}

// ---------------------------------------------------------------------------------------
// 3. The events filter
// ---------------------------------------------------------------------------------------

async fn an_endpoint_with_an_events_filter_gets_only_those(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let only_respond = register(&app, &chl, &receiver.url("/respond"), Some(&["respond"])).await;
    let two = register(
        &app,
        &chl,
        &receiver.url("/two"),
        Some(&["acknowledge", "deadline_missed"]),
    )
    .await;
    register(&app, &chl, &receiver.url("/all"), None).await;

    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap();
    for (action, body) in [
        ("acknowledge", json!({"estimated_timeframe": "P3D"})),
        ("update", json!({"message": "Still looking."})),
        ("respond", json!({"information": "A compromised host."})),
    ] {
        act(&app, id, action, &bra, body).await.assert_status(200);
    }
    act(&app, id, "close", &chl, json!({}))
        .await
        .assert_status(200);
    settle(&app.db).await;

    let events = |path: &str| {
        let mut events: Vec<String> = receiver.at(path).iter().map(Received::event).collect();
        events.sort();
        events
    };
    assert_eq!(events("/all"), ["acknowledge", "respond", "update"]);
    assert_eq!(events("/respond"), ["respond"]);
    assert_eq!(events("/two"), ["acknowledge"]);
    let listed = deliveries(&app, &chl, &only_respond.id).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["event"], "respond");
    receiver.at("/respond")[0].assert_signed_with(&only_respond.secret);
    receiver.at("/two")[0].assert_signed_with(&two.secret);
    let shown: Vec<Value> = webhooks_of(&app, &chl)
        .await
        .into_iter()
        .filter(|w| w["id"] == only_respond.id.as_str())
        .collect();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0]["events"], json!(["respond"]));
}

// ---------------------------------------------------------------------------------------
// 4. 410 Gone
// ---------------------------------------------------------------------------------------

async fn a_410_gone_disables_the_endpoint(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    receiver.answer("/gone", &[], 410);
    let (chl, bra, gone) = chl_and_bra(&app, &receiver, "/gone").await;
    let ok = register(&app, &bra, &receiver.url("/ok"), None).await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;

    let disabled = poll_until("the endpoint to be disabled", PATIENCE, async || {
        webhooks_of(&app, &bra)
            .await
            .into_iter()
            .find(|w| w["id"] == gone.id.as_str() && w["active"] == false)
    })
    .await;
    let reason = disabled["disabled_reason"]
        .as_str()
        .unwrap_or_else(|| panic!("no disabled_reason: {disabled}"));
    assert!(!reason.is_empty(), "{disabled}");
    assert!(disabled["disabled_at"].is_string(), "{disabled}");
    settle(&app.db).await;
    let failed = deliveries(&app, &bra, &gone.id).await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert_eq!(failed[0]["state"], "failed", "{failed:#?}");
    assert_eq!(failed[0]["attempts"], 1, "410 is not retried: {failed:#?}");
    assert_eq!(failed[0]["last_status"], 410, "{failed:#?}");

    // Later events go to the other endpoint only.
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    settle(&app.db).await;
    assert_eq!(receiver.count("/ok"), 2, "{:#?}", receiver.received());
    assert_eq!(receiver.count("/gone"), 1, "{:#?}", receiver.received());
    assert_eq!(deliveries(&app, &bra, &gone.id).await.len(), 1);
    assert_eq!(deliveries(&app, &bra, &ok.id).await.len(), 2);
    let still = webhooks_of(&app, &bra).await;
    let ok_view = still.iter().find(|w| w["id"] == ok.id.as_str()).unwrap();
    assert_eq!(ok_view["active"], true, "{still:#?}");
    // A disabled endpoint is neither pinged nor retried.
    app.post(&format!("/v1/webhooks/{}/ping", gone.id), &bra, json!({}))
        .await
        .assert_problem(409, None);
    let failed_id = failed[0]["id"].as_str().unwrap();
    app.post(
        &format!("/v1/deliveries/{failed_id}/retry"),
        &bra,
        json!({}),
    )
    .await
    .assert_problem(409, None);
    assert_eq!(receiver.count("/gone"), 1);
}

// ---------------------------------------------------------------------------------------
// 5. Failure after the last attempt, and the owner's retry
// ---------------------------------------------------------------------------------------

async fn a_delivery_fails_after_the_last_attempt_and_its_owner_may_retry_it(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.delivery.max_attempts = 2).await;
    let receiver = Receiver::start().await;
    receiver.answer("/fail", &[], 500);
    let (chl, bra, fail) = chl_and_bra(&app, &receiver, "/fail").await;
    let ok = register(&app, &bra, &receiver.url("/ok"), None).await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;

    let failed = delivery_when(&app, &bra, &fail.id, "the delivery to fail", |d| {
        d["state"] == "failed"
    })
    .await;
    settle(&app.db).await;
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert_eq!(failed["last_status"], 500, "{failed}");
    assert!(
        failed["last_error"].as_str().is_some_and(|e| !e.is_empty()),
        "{failed}"
    );
    assert!(failed["next_attempt_at"].is_null(), "{failed}");
    assert_eq!(receiver.count("/fail"), 2, "two attempts, then no more");
    let failed_id = failed["id"].as_str().unwrap().to_owned();
    let summary = app
        .get("/v1/monitoring/summary", &app.secretariat)
        .await
        .assert_status(200)
        .clone();
    assert!(
        summary["failed_deliveries"]
            .as_i64()
            .is_some_and(|n| n >= 1),
        "{summary}"
    );

    // Only the endpoint's owner may retry; a delivered delivery is not retried.
    let retry = |id: &str| format!("/v1/deliveries/{id}/retry");
    for token in [&chl, &app.secretariat] {
        app.post(&retry(&failed_id), token, json!({}))
            .await
            .assert_problem(404, None);
    }
    app.post(&retry(&uuid::Uuid::new_v4().to_string()), &bra, json!({}))
        .await
        .assert_problem(404, None);
    let delivered = delivery_when(&app, &bra, &ok.id, "the other delivery", |d| {
        d["state"] == "delivered"
    })
    .await;
    let reply = app
        .post(&retry(delivered["id"].as_str().unwrap()), &bra, json!({}))
        .await;
    reply.assert_problem(409, None);
    assert_eq!(
        receiver.count("/fail"),
        2,
        "refused retries attempt nothing"
    );

    let reply = app.post(&retry(&failed_id), &bra, json!({})).await;
    let retried = reply.assert_status(200);
    assert_eq!(retried["id"], failed_id.as_str(), "{retried}");
    assert_eq!(retried["state"], "pending", "{retried}");
    poll_until("a new attempt", PATIENCE, async || {
        (receiver.count("/fail") == 3).then_some(())
    })
    .await;
    let again = delivery_when(&app, &bra, &fail.id, "the retried delivery to fail", |d| {
        d["state"] == "failed" && d["attempts"] == 3
    })
    .await;
    assert_eq!(again["id"], failed_id.as_str());
    let requests = receiver.at("/fail");
    for request in &requests {
        assert_eq!(request.webhook_id(), failed_id);
        request.assert_signed_with(&fail.secret);
    }

    // Once the receiver is back, a retry delivers it.
    receiver.answer("/fail", &[], 200);
    app.post(&retry(&failed_id), &bra, json!({}))
        .await
        .assert_status(200);
    let done = delivery_when(
        &app,
        &bra,
        &fail.id,
        "the retried delivery to succeed",
        |d| d["state"] == "delivered",
    )
    .await;
    assert_eq!(done["attempts"], 4, "{done}");
    assert_eq!(done["last_status"], 200, "{done}");
    assert_eq!(receiver.count("/fail"), 4);
    app.post(&retry(&failed_id), &bra, json!({}))
        .await
        .assert_problem(409, None);
}

// ---------------------------------------------------------------------------------------
// 5b. Redirects are not followed; a slow receiver times out
// ---------------------------------------------------------------------------------------

async fn a_redirect_is_not_followed(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.delivery.max_attempts = 2).await;
    let receiver = Receiver::start().await;
    receiver.answer("/moved", &[], 307);
    let (chl, bra, hook) = chl_and_bra(&app, &receiver, "/moved").await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let failed = delivery_when(&app, &bra, &hook.id, "the delivery to fail", |d| {
        d["state"] == "failed"
    })
    .await;
    settle(&app.db).await;
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert_eq!(failed["last_status"], 307, "{failed}");
    assert_eq!(receiver.count("/moved"), 2);
    assert_eq!(
        receiver.count(REDIRECTED_TO),
        0,
        "the redirect was followed: {:#?}",
        receiver.received()
    );
}

async fn a_receiver_slower_than_the_timeout_fails_the_attempt(db: TestDb) {
    let app = spawn_app_with(db, |settings| {
        settings.delivery.max_attempts = 2;
        settings.delivery.attempt_timeout = Duration::from_millis(300);
    })
    .await;
    let receiver = Receiver::start().await;
    receiver.delay(Duration::from_secs(3));
    let (chl, bra, hook) = chl_and_bra(&app, &receiver, "/slow").await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let failed = delivery_when(&app, &bra, &hook.id, "the delivery to fail", |d| {
        d["state"] == "failed"
    })
    .await;
    assert_eq!(failed["attempts"], 2, "{failed}");
    assert!(failed["last_status"].is_null(), "{failed}");
    let error = failed["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("timed out"), "{failed}");
    // Each attempt went out (a loaded machine may time one out before the receiver reads it).
    assert!(
        (1..=2).contains(&receiver.arrivals()),
        "{} requests arrived",
        receiver.arrivals()
    );
}

// ---------------------------------------------------------------------------------------
// 6. SSRF and bad bodies
// ---------------------------------------------------------------------------------------

async fn private_and_plain_http_urls_are_refused(db: TestDb) {
    let app = spawn_app_with(db, |settings| settings.delivery.allow_private = false).await;
    let receiver = Receiver::start().await;
    let port = receiver.addr.port();
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    for url in [
        format!("http://127.0.0.1:{port}/x"),
        format!("https://127.0.0.1:{port}/x"),
        "http://10.0.0.1/x".to_owned(),
        "https://10.0.0.1/x".to_owned(),
        "https://172.16.0.1/x".to_owned(),
        "https://192.168.1.1/x".to_owned(),
        "https://100.64.0.1/x".to_owned(),
        "https://0.0.0.0/x".to_owned(),
        "http://[::1]/x".to_owned(),
        "https://[fd12::1]/x".to_owned(),
        "https://[fe80::1]/x".to_owned(),
        "http://169.254.169.254/latest".to_owned(),
        "https://169.254.169.254/latest".to_owned(),
        "https://[::ffff:127.0.0.1]/x".to_owned(),
        "https://[::ffff:169.254.169.254]/latest".to_owned(),
        // IPv4 inside IPv6 (compatible, NAT64, 6to4), Teredo, and reserved IPv4 ranges.
        "https://[::10.0.0.1]/x".to_owned(),
        "https://[64:ff9b::a9fe:a9fe]/latest".to_owned(),
        "https://[2002:7f00:1::]/x".to_owned(),
        "https://[2001:0:4136:e378::1]/x".to_owned(),
        "https://198.18.0.1/x".to_owned(),
        "https://240.0.0.1/x".to_owned(),
        format!("http://localhost:{port}/x"),
        format!("https://localhost:{port}/x"),
        // Public, but not https.
        "http://203.0.113.7/x".to_owned(),
        "not a url".to_owned(),
        "ftp://203.0.113.7/x".to_owned(),
        "https://user:pw@203.0.113.7/x".to_owned(),
        "https://user@203.0.113.7/x".to_owned(),
        format!("https://203.0.113.7/{}", "a".repeat(2100)),
    ] {
        let reply = app.post("/v1/webhooks", &chl, json!({"url": url})).await;
        assert_eq!(
            reply.status.as_u16(),
            422,
            "{}: {}",
            &url[..url.len().min(80)],
            reply.body
        );
        reply.assert_problem(422, Some("url"));
    }
    for (body, field) in [
        (
            json!({"url": "https://203.0.113.7/x", "events": ["nope"]}),
            "events[0]",
        ),
        (
            json!({"url": "https://203.0.113.7/x", "events": ["respond", "created"]}),
            "events[1]",
        ),
        (
            json!({"url": "https://203.0.113.7/x", "events": []}),
            "events",
        ),
    ] {
        let reply = app.post("/v1/webhooks", &chl, body.clone()).await;
        assert_eq!(reply.status.as_u16(), 422, "{body}: {}", reply.body);
        reply.assert_problem(422, Some(field));
    }
    // The Secretariat is told of missed deadlines only, and may subscribe to nothing else.
    let secretariat = app.secretariat.clone();
    for events in [
        json!(["request_info"]),
        json!(["deadline_missed", "respond"]),
    ] {
        let reply = app
            .post(
                "/v1/webhooks",
                &secretariat,
                json!({"url": "https://203.0.113.7/s", "events": events}),
            )
            .await;
        let field = if events[0] == "request_info" {
            "events[0]"
        } else {
            "events[1]"
        };
        assert_eq!(reply.status.as_u16(), 422, "{events}: {}", reply.body);
        reply.assert_problem(422, Some(field));
    }
    // An unknown member is refused naming it.
    let reply = app
        .post(
            "/v1/webhooks",
            &chl,
            json!({"url": "https://203.0.113.7/x", "secret": "mine"}),
        )
        .await;
    assert!(matches!(reply.status.as_u16(), 400 | 422), "{}", reply.body);
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("secret")),
        "{}",
        reply.body
    );
    let unauthenticated = app
        .request(
            reqwest::Method::POST,
            "/v1/webhooks",
            None,
            Some(&json!({"url": "https://203.0.113.7/x"})),
        )
        .await;
    unauthenticated.assert_problem(401, None);
    assert!(
        webhooks_of(&app, &chl).await.is_empty(),
        "a refused registration was stored"
    );

    assert!(webhooks_of(&app, &secretariat).await.is_empty());

    let hook = register(&app, &chl, "https://203.0.113.7/x", None).await;
    let listed = webhooks_of(&app, &chl).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["id"], hook.id.as_str());
    register(
        &app,
        &chl,
        "https://203.0.113.7/y",
        Some(&["deadline_missed", "respond"]),
    )
    .await;
    register(
        &app,
        &secretariat,
        "https://203.0.113.7/s",
        Some(&["deadline_missed"]),
    )
    .await;
}

async fn private_urls_are_accepted_when_allowed(db: TestDb) {
    // spawn_app allows private addresses, as CBM2_WEBHOOK_ALLOW_PRIVATE=true does.
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let hook = register(&app, &chl, &receiver.url("/x"), None).await;
    register(
        &app,
        &chl,
        &format!("http://localhost:{}/y", receiver.addr.port()),
        None,
    )
    .await;
    // Form is still checked.
    for url in [
        "not a url",
        "ftp://127.0.0.1/x",
        "http://user:pw@127.0.0.1/x",
    ] {
        app.post("/v1/webhooks", &chl, json!({"url": url}))
            .await
            .assert_problem(422, Some("url"));
    }
    let reply = app
        .post(&format!("/v1/webhooks/{}/ping", hook.id), &chl, json!({}))
        .await;
    reply.assert_status(202);
    poll_until("the ping", PATIENCE, async || {
        (receiver.count("/x") == 1).then_some(())
    })
    .await;
    receiver.at("/x")[0].assert_signed_with(&hook.secret);
}

// ---------------------------------------------------------------------------------------
// 7. Ownership, delete, ping
// ---------------------------------------------------------------------------------------

async fn each_owner_sees_and_stops_only_its_own_endpoints(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let (_, chl_other) = app.poc_with_token("CHL", "Pedro Soto").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let secretariat = app.secretariat.clone();
    let chl_one = register(&app, &chl, &receiver.url("/chl1"), None).await;
    let chl_two = register(&app, &chl, &receiver.url("/chl2"), None).await;
    let bra_hook = register(&app, &bra, &receiver.url("/bra"), None).await;
    let sec_hook = register(&app, &secretariat, &receiver.url("/sec"), None).await;
    let secrets = [
        &chl_one.secret,
        &chl_two.secret,
        &bra_hook.secret,
        &sec_hook.secret,
    ];

    for (token, own) in [
        (&chl, vec![&chl_one.id, &chl_two.id]),
        (&chl_other, vec![]),
        (&bra, vec![&bra_hook.id]),
        (&secretariat, vec![&sec_hook.id]),
    ] {
        let (status, text) = app.get_text("/v1/webhooks", token).await;
        assert_eq!(status.as_u16(), 200, "{text}");
        for secret in secrets {
            assert!(
                !text.contains(secret.as_str()),
                "a secret is listed: {text}"
            );
        }
        let listed = webhooks_of(&app, token).await;
        let mut ids: Vec<&str> = listed.iter().map(|w| w["id"].as_str().unwrap()).collect();
        ids.sort();
        let mut own: Vec<&str> = own.iter().map(|id| id.as_str()).collect();
        own.sort();
        assert_eq!(ids, own, "{listed:#?}");
        for webhook in &listed {
            assert!(webhook.get("secret").is_none(), "{webhook}");
            assert_eq!(webhook["active"], true, "{webhook}");
        }
    }

    // Someone else's endpoint does not exist for the caller.
    for (token, hook) in [
        (&chl, &bra_hook.id),
        (&chl_other, &chl_one.id),
        (&secretariat, &bra_hook.id),
        (&bra, &sec_hook.id),
    ] {
        app.delete(&format!("/v1/webhooks/{hook}"), token)
            .await
            .assert_problem(404, None);
        app.post(&format!("/v1/webhooks/{hook}/ping"), token, json!({}))
            .await
            .assert_problem(404, None);
        app.get(&format!("/v1/webhooks/{hook}/deliveries"), token)
            .await
            .assert_problem(404, None);
    }
    app.delete(&format!("/v1/webhooks/{}", uuid::Uuid::new_v4()), &chl)
        .await
        .assert_problem(404, None);
    assert_eq!(
        webhooks_of(&app, &bra).await[0]["active"],
        true,
        "a refused delete stopped the endpoint"
    );
    settle(&app.db).await;
    assert!(
        receiver.received().is_empty(),
        "a refused ping was sent: {:#?}",
        receiver.received()
    );

    // A ping of one's own: 202, then a signed ping arrives.
    let reply = app
        .post(
            &format!("/v1/webhooks/{}/ping", chl_one.id),
            &chl,
            json!({}),
        )
        .await;
    let queued = reply.assert_status(202).clone();
    let delivery_id = queued["id"].as_str().expect("the delivery's id").to_owned();
    let ping = poll_until("the ping", PATIENCE, async || {
        receiver.at("/chl1").into_iter().next()
    })
    .await;
    assert_eq!(ping.webhook_id(), delivery_id);
    ping.assert_signed_with(&chl_one.secret);
    let body = ping.json();
    assert_eq!(body["type"], "ping", "{body}");
    assert_eq!(body["data"]["webhook_id"], chl_one.id.as_str(), "{body}");
    let listed = delivery_when(&app, &chl, &chl_one.id, "the ping delivered", |d| {
        d["id"] == delivery_id.as_str() && d["state"] == "delivered"
    })
    .await;
    assert_eq!(listed["event"], "ping");

    // Deleted: 204, listed as inactive, and nothing more arrives there.
    let reply = app
        .delete(&format!("/v1/webhooks/{}", chl_one.id), &chl)
        .await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let listed = webhooks_of(&app, &chl).await;
    let deleted = listed
        .iter()
        .find(|w| w["id"] == chl_one.id.as_str())
        .unwrap_or_else(|| panic!("{listed:#?}"));
    assert_eq!(deleted["active"], false, "{deleted}");
    assert!(deleted["disabled_reason"].is_string(), "{deleted}");
    app.post(
        &format!("/v1/webhooks/{}/ping", chl_one.id),
        &chl,
        json!({}),
    )
    .await
    .assert_problem(409, None);
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap();
    act(
        &app,
        id,
        "acknowledge",
        &bra,
        json!({"estimated_timeframe": "P3D"}),
    )
    .await
    .assert_status(200);
    settle(&app.db).await;
    assert_eq!(
        receiver.count("/chl1"),
        1,
        "only the ping before the delete"
    );
    let chl2: Vec<String> = receiver.at("/chl2").iter().map(Received::event).collect();
    assert_eq!(chl2, ["acknowledge"]);
    let bra_events: Vec<String> = receiver.at("/bra").iter().map(Received::event).collect();
    assert_eq!(bra_events, ["request_info"]);
    assert!(receiver.at("/sec").is_empty());
}

// ---------------------------------------------------------------------------------------
// More: snapshots, replays, deletes with work pending, paging
// ---------------------------------------------------------------------------------------

/// The responding state's POCs are those `lookup-poc` resolved: each of them still active is
/// told, and no other POC of that state.
async fn every_current_policy_poc_of_the_responding_state_is_told(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, chl) = app.poc_with_token("CHL", "Eva Rojas").await;
    let mut tokens: BTreeMap<String, String> = BTreeMap::new();
    for (role, name) in [
        ("policy", "Ana Souza"),
        ("policy", "Bruno Lima"),
        ("technical", "Carla Dias"),
    ] {
        let poc = app.create_poc("BRA", role, name).await;
        let id = poc["id"].as_str().unwrap().to_owned();
        let (_, token) = app.issue_token(&id).await;
        register(&app, &token, &receiver.url(&format!("/{id}")), None).await;
        tokens.insert(id, token);
    }
    let id = create(&app, &chl).await;
    let looked_up = act(
        &app,
        &id,
        "lookup-poc",
        &chl,
        json!({"member_state": "BRA"}),
    )
    .await
    .assert_status(200)
    .clone();
    let snapshot: BTreeSet<String> = looked_up["responding_pocs"]
        .as_array()
        .unwrap_or_else(|| panic!("no responding_pocs: {looked_up}"))
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(snapshot.len() >= 2, "{looked_up}");
    // A POC enrolled after the lookup is not in the snapshot.
    let late = app.create_poc("BRA", "policy", "Diego Alves").await;
    let late_id = late["id"].as_str().unwrap().to_owned();
    let (_, late_token) = app.issue_token(&late_id).await;
    register(
        &app,
        &late_token,
        &receiver.url(&format!("/{late_id}")),
        None,
    )
    .await;

    // A POC of the snapshot deactivated before the inquiry is sent is told nothing.
    let deactivated = snapshot.iter().next_back().unwrap().clone();
    app.post(
        &format!("/v1/pocs/{deactivated}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    // Notifications go to the state's policy POCs of the day: the snapshot's still
    // active, and the one enrolled after the lookup; never the technical POC.
    let current: BTreeSet<String> = snapshot
        .iter()
        .filter(|id| **id != deactivated)
        .cloned()
        .chain([late_id.clone()])
        .collect();

    app.send_looked_up(&id, &chl).await;
    settle(&app.db).await;
    let told: BTreeSet<String> = receiver
        .received()
        .iter()
        .map(|r| {
            assert_eq!(r.event(), "request_info");
            r.path.trim_start_matches('/').to_owned()
        })
        .collect();
    assert_eq!(
        told, current,
        "exactly the state's active policy POCs of the day are told"
    );
    assert!(!told.contains(&deactivated), "a deactivated POC was told");
    assert_eq!(receiver.received().len(), current.len(), "once each");
    for request in receiver.received() {
        let data = request.json()["data"].clone();
        assert!(data["invocation_text"].is_string(), "{data}");
    }
}

/// A replay under the same `Idempotency-Key` writes nothing, so it notifies nobody again;
/// neither does a refused action.
async fn a_replayed_or_refused_action_notifies_nobody(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (chl, bra, _) = chl_and_bra(&app, &receiver, "/bra").await;
    register(&app, &chl, &receiver.url("/chl"), None).await;
    let sent = app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    let id = sent["id"].as_str().unwrap();
    let path = format!("/v1/inquiries/{id}/acknowledge");
    let body = json!({"estimated_timeframe": "P3D"});
    for _ in 0..3 {
        app.post_with_headers(&path, &bra, body.clone(), &[("Idempotency-Key", "ack-1")])
            .await
            .assert_status(200);
    }
    // Refused: acknowledged already, and CHL may not acknowledge.
    act(&app, id, "acknowledge", &bra, body.clone())
        .await
        .assert_problem(409, None);
    let refused = act(&app, id, "acknowledge", &chl, body.clone()).await;
    assert!(
        matches!(refused.status.as_u16(), 403 | 409),
        "{}",
        refused.body
    );
    let refused = act(&app, id, "close", &bra, json!({})).await;
    assert!(
        matches!(refused.status.as_u16(), 403 | 409),
        "{}",
        refused.body
    );
    settle(&app.db).await;
    let chl_events: Vec<String> = receiver.at("/chl").iter().map(Received::event).collect();
    assert_eq!(
        chl_events,
        ["acknowledge"],
        "one acknowledgement, one notice"
    );
    let bra_events: Vec<String> = receiver.at("/bra").iter().map(Received::event).collect();
    assert_eq!(bra_events, ["request_info"]);
}

/// Deleting an endpoint fails what was still pending for it: no further attempt.
async fn deleting_an_endpoint_fails_its_pending_deliveries(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    receiver.answer("/bra", &[], 503);
    let (chl, bra, hook) = chl_and_bra(&app, &receiver, "/bra").await;
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    delivery_when(&app, &bra, &hook.id, "a failed attempt", |d| {
        d["state"] == "pending" && d["attempts"].as_i64().is_some_and(|a| a >= 1)
    })
    .await;
    let reply = app.delete(&format!("/v1/webhooks/{}", hook.id), &bra).await;
    assert_eq!(reply.status.as_u16(), 204, "{}", reply.body);
    let after_delete = receiver.arrivals();
    settle(&app.db).await;
    let listed = deliveries(&app, &bra, &hook.id).await;
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["state"], "failed", "{listed:#?}");
    assert!(listed[0]["last_error"].is_string(), "{listed:#?}");
    // One attempt may have been on its way when the delete came; none starts after it.
    let arrived = receiver.arrivals();
    assert!(
        arrived <= after_delete + 1,
        "{arrived} > {after_delete} + 1"
    );
    app.send_inquiry(&chl, "BRA", "routine", None, false).await;
    settle(&app.db).await;
    assert_eq!(receiver.arrivals(), arrived, "nothing after the delete");
    assert_eq!(deliveries(&app, &bra, &hook.id).await.len(), 1);
}

/// An endpoint's deliveries are listed newest first, page by page, each once.
async fn deliveries_are_listed_newest_first_in_pages(db: TestDb) {
    let app = spawn_app(db).await;
    let receiver = Receiver::start().await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(&app, &bra, &receiver.url("/bra"), None).await;
    let mut queued = Vec::new();
    for _ in 0..5 {
        let reply = app
            .post(&format!("/v1/webhooks/{}/ping", hook.id), &bra, json!({}))
            .await;
        let delivery = reply.assert_status(202).clone();
        assert_eq!(delivery["event"], "ping", "{delivery}");
        assert_eq!(delivery["webhook_id"], hook.id.as_str(), "{delivery}");
        queued.push(delivery["id"].as_str().unwrap().to_owned());
    }
    settle(&app.db).await;
    let mut pages = Vec::new();
    let mut path = format!("/v1/webhooks/{}/deliveries?limit=2", hook.id);
    loop {
        let page = app.get(&path, &bra).await.assert_status(200).clone();
        let items = page["items"].as_array().unwrap().clone();
        assert!(items.len() <= 2, "{page}");
        pages.push(items);
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/v1/webhooks/{}/deliveries?limit=2&cursor={cursor}",
                    hook.id
                )
            }
            None => break,
        }
    }
    assert_eq!(pages.len(), 3, "{pages:#?}");
    let listed: Vec<String> = pages
        .iter()
        .flatten()
        .map(|d| d["id"].as_str().unwrap().to_owned())
        .collect();
    let newest_first: Vec<String> = queued.iter().rev().cloned().collect();
    assert_eq!(listed, newest_first);
    let got: BTreeSet<String> = receiver
        .received()
        .iter()
        .map(Received::webhook_id)
        .collect();
    assert_eq!(got, queued.iter().cloned().collect::<BTreeSet<_>>());
    app.get(
        &format!("/v1/webhooks/{}/deliveries?limit=0", hook.id),
        &bra,
    )
    .await
    .assert_problem(400, Some("limit"));
}

on_both_databases!(
    every_current_policy_poc_of_the_responding_state_is_told,
    a_replayed_or_refused_action_notifies_nobody,
    deleting_an_endpoint_fails_its_pending_deliveries,
    deliveries_are_listed_newest_first_in_pages,
    each_notification_reaches_exactly_its_audience,
    a_failing_receiver_gets_the_same_webhook_id_until_it_answers,
    an_endpoint_with_an_events_filter_gets_only_those,
    a_410_gone_disables_the_endpoint,
    a_delivery_fails_after_the_last_attempt_and_its_owner_may_retry_it,
    a_redirect_is_not_followed,
    a_receiver_slower_than_the_timeout_fails_the_attempt,
    private_and_plain_http_urls_are_refused,
    private_urls_are_accepted_when_allowed,
    each_owner_sees_and_stops_only_its_own_endpoints,
);
