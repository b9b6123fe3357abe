//! The delivery worker as a pipeline: a receiver that hangs (an SMTP relay that never
//! greets, a webhook endpoint that never answers) holds only its own slots while every
//! other notification keeps flowing; `cbm2 serve` exits within its shutdown grace whatever
//! hangs; and webhook requests go straight to the checked address, never through a proxy.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cbm2::delivery::email::Mailer;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app_with};
use crate::serve_process::ServeProcess;
use crate::webhooks::{PATIENCE, Receiver, deliveries, register};

const SENDER: &str = "cbm2 <cbm2@example.org>";

/// Longer than any test here waits: an attempt to a receiver that hangs is still in flight
/// whenever the test looks (and shorter than the 60 s lease, as attempts must be).
const HANG: Duration = Duration::from_secs(50);

/// A TCP listener on 127.0.0.1 that accepts every connection and holds it without a word:
/// an SMTP relay that never greets, or a proxy that never answers. Stops when dropped.
pub struct SilentListener {
    pub addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SilentListener {
    pub async fn start() -> SilentListener {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(socket);
            }
        });
        SilentListener {
            addr,
            accepted,
            task,
        }
    }

    /// How many connections it has accepted.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Asks Mexico's POCs for a communication check: each is told by e-mail (and webhook).
async fn check_mexico(app: &TestApp) {
    app.post(
        "/v1/communication-checks",
        &app.secretariat,
        json!({"member_states": ["MEX"], "reply_window": "P2D"}),
    )
    .await
    .assert_status(201);
}

async fn ping(app: &TestApp, token: &str, hook: &str) {
    app.post(&format!("/v1/webhooks/{hook}/ping"), token, json!({}))
        .await
        .assert_status(202);
}

async fn a_relay_that_never_greets_delays_no_webhook_of_another_poc(db: TestDb) {
    let relay = SilentListener::start().await;
    let smtp = format!("smtp://{}", relay.addr);
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email =
            Some(Mailer::with_timeout(&smtp, SENDER, HANG).expect("a usable SMTP URL"));
    })
    .await;
    let receiver = Receiver::start().await;
    app.poc_with_token("MEX", "Rosa Diaz").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(&app, &bra, &receiver.url("/bra"), None).await;

    check_mexico(&app).await;
    poll_until(
        "the relay to hold an e-mail attempt",
        PATIENCE,
        async || (relay.accepted() > 0).then_some(()),
    )
    .await;
    ping(&app, &bra, &hook.id).await;

    poll_until(
        "the ping to reach Brazil's receiver",
        PATIENCE,
        async || (receiver.count("/bra") == 1).then_some(()),
    )
    .await;
    let in_first_attempt = "SELECT count(*) FROM deliveries
        WHERE channel = 'email' AND state = 'pending' AND attempts = 0";
    assert_eq!(
        app.db.count(in_first_attempt).await,
        1,
        "the webhook went out while the e-mail was still in its first attempt"
    );
}

async fn a_slow_receiver_holds_only_its_own_slots(db: TestDb) {
    let app = spawn_app_with(db, |settings| {
        settings.delivery.concurrency = 4;
        settings.delivery.per_target = 2;
        settings.delivery.attempt_timeout = HANG;
    })
    .await;
    let slow = Receiver::start().await;
    slow.delay(HANG * 2);
    let fast = Receiver::start().await;
    let (_, mex) = app.poc_with_token("MEX", "Rosa Diaz").await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let slow_hook = register(&app, &mex, &slow.url("/mex"), None).await;
    let fast_hook = register(&app, &bra, &fast.url("/bra"), None).await;

    // More pings to the slow endpoint than the worker has slots.
    for _ in 0..6 {
        ping(&app, &mex, &slow_hook.id).await;
    }
    poll_until("pings to hang at the slow receiver", PATIENCE, async || {
        (slow.arrivals() >= 2).then_some(())
    })
    .await;
    ping(&app, &bra, &fast_hook.id).await;

    poll_until(
        "the ping to reach the fast receiver",
        PATIENCE,
        async || (fast.count("/bra") == 1).then_some(()),
    )
    .await;
    assert_eq!(
        slow.arrivals(),
        2,
        "the slow receiver holds its two slots, no more"
    );
    assert!(
        slow.received().is_empty(),
        "the slow receiver has answered nothing yet"
    );
    let waiting = deliveries(&app, &mex, &slow_hook.id)
        .await
        .into_iter()
        .filter(|d| d["state"] == "pending" && d["attempts"] == 0)
        .count();
    assert_eq!(
        waiting, 6,
        "every ping to the slow receiver is still pending"
    );
}

/// Reads from `stream` until what it read contains `expected`.
async fn read_until(stream: &mut TcpStream, expected: &str) {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 512];
    tokio::time::timeout(PATIENCE, async {
        while !String::from_utf8_lossy(&seen).contains(expected) {
            let read = stream.read(&mut buffer).await.expect("the server answers");
            assert!(
                read > 0,
                "closed before {expected:?}: {}",
                String::from_utf8_lossy(&seen)
            );
            seen.extend_from_slice(&buffer[..read]);
        }
    })
    .await
    .unwrap_or_else(|_| panic!("no {expected:?} within {PATIENCE:?}"));
}

async fn serve_exits_within_its_grace_while_an_attempt_and_a_request_hang(db: TestDb) {
    let relay = SilentListener::start().await;
    let smtp = format!("smtp://{}", relay.addr);
    let serve = ServeProcess::start(
        &db.url,
        &[
            "--smtp-url",
            &smtp,
            "--smtp-timeout",
            "50s",
            "--delivery-poll",
            "100ms",
            "--shutdown-grace",
            "1s",
        ],
    )
    .await;
    let app = TestApp::attach(db, &serve.address).await;
    app.poc_with_token("MEX", "Rosa Diaz").await;
    check_mexico(&app).await;
    poll_until(
        "the relay to hold an e-mail attempt",
        PATIENCE,
        async || (relay.accepted() > 0).then_some(()),
    )
    .await;
    // A request whose body never comes: the server's `100 Continue` says its handler is
    // reading the body, so the request is in flight.
    let mut stuck = TcpStream::connect(&serve.address).await.unwrap();
    let head = format!(
        "POST /v1/pocs HTTP/1.1\r\nhost: cbm2\r\nauthorization: Bearer {}\r\n\
         content-type: application/json\r\ncontent-length: 1000\r\nexpect: 100-continue\r\n\r\n",
        app.secretariat
    );
    stuck.write_all(head.as_bytes()).await.unwrap();
    read_until(&mut stuck, "100 Continue").await;
    stuck.write_all(b"{\"name\": ").await.unwrap();

    let signalled = Instant::now();
    let (status, log) = serve.stop().await;
    let took = signalled.elapsed();
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
    assert!(
        took < Duration::from_secs(20),
        "stopping took {took:?} (the e-mail attempt alone could take 50 s)\n{}",
        log.join("\n")
    );
    let said = |words: &str| log.iter().any(|line| line.contains(words));
    assert!(
        said("abandoning the delivery attempts still in flight"),
        "{}",
        log.join("\n")
    );
    assert!(
        said("closing with requests still in flight"),
        "{}",
        log.join("\n")
    );
}

async fn webhook_requests_go_to_the_checked_address_never_through_a_proxy(db: TestDb) {
    let proxy = SilentListener::start().await;
    let proxy_url = format!("http://{}", proxy.addr);
    let variables = [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ]
    .map(|name| (name, proxy_url.as_str()));
    let serve = ServeProcess::start_with_env(
        &db.url,
        &[
            "--webhook-allow-private",
            "true",
            "--delivery-poll",
            "100ms",
        ],
        &variables,
        &["NO_PROXY", "no_proxy"],
    )
    .await;
    let app = TestApp::attach(db, &serve.address).await;
    let receiver = Receiver::start().await;
    let (_, bra) = app.poc_with_token("BRA", "Ana Souza").await;
    let hook = register(&app, &bra, &receiver.url("/bra"), None).await;

    ping(&app, &bra, &hook.id).await;

    poll_until("the ping to reach the receiver", PATIENCE, async || {
        (receiver.count("/bra") == 1).then_some(())
    })
    .await;
    assert_eq!(proxy.accepted(), 0, "a webhook request went to the proxy");
    let (status, log) = serve.stop().await;
    assert!(status.success(), "{status:?}\n{}", log.join("\n"));
}

on_both_databases!(
    a_relay_that_never_greets_delays_no_webhook_of_another_poc,
    a_slow_receiver_holds_only_its_own_slots,
    serve_exits_within_its_grace_while_an_attempt_and_a_request_hang,
    webhook_requests_go_to_the_checked_address_never_through_a_proxy,
);
