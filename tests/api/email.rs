//! E-mail notifications, sent to a real SMTP listener on 127.0.0.1 (`mailin-embedded`) and
//! read back as a mail client would (`mail-parser`): in the recipient's first OAS language,
//! thin (never the description, questions or indicators), retried after a temporary
//! refusal; and recorded as skipped, never dropped, when no SMTP server is configured.

use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cbm2::delivery::email::Mailer;
use mail_parser::{MessageParser, MimeHeaders, PartType};
use mailin_embedded::{Action, Handler, Response, Server, response};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app, spawn_app_with};

/// What each inquiry describes and asks: none of it may appear in an e-mail.
const NATURE: &str = "Credential phishing against the consular network";
const QUESTIONS: &str = "Which hosts of AS64500 sent the phishing mails?";
const INDICATOR: &str = "198.51.100.23";
const CONTACT_NAME: &str = "Duty Officer Mendes";
const SECRETS: [&str; 4] = [NATURE, QUESTIONS, INDICATOR, CONTACT_NAME];

pub(crate) const SENDER: &str = "cbm2 <cbm2@example.org>";
const WAIT: Duration = Duration::from_secs(20);

/// One message the listener accepted: the envelope and the raw message.
#[derive(Debug, Clone)]
struct Received {
    from: String,
    to: Vec<String>,
    raw: Vec<u8>,
}

#[derive(Debug, Default)]
struct Mailbox {
    accepted: Vec<Received>,
    /// How many messages were transmitted (ended by `.`), accepted or not.
    transmitted: usize,
    /// How many of the first transmitted messages to refuse with 451.
    refuse_first: usize,
}

/// The listener's handler; cloned for each connection.
#[derive(Clone)]
struct Sink {
    mailbox: Arc<Mutex<Mailbox>>,
    current: Option<Received>,
}

impl Handler for Sink {
    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.current = Some(Received {
            from: from.to_owned(),
            to: to.to_vec(),
            raw: Vec::new(),
        });
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        if let Some(current) = &mut self.current {
            current.raw.extend_from_slice(buf);
        }
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        let message = self.current.take().expect("DATA was started");
        let mut mailbox = self.mailbox.lock().unwrap();
        mailbox.transmitted += 1;
        if mailbox.transmitted <= mailbox.refuse_first {
            // A temporary refusal of the transmitted message. The connection is closed after
            // it: mailin keeps a session in its DATA state after an error reply.
            let mut refusal = Response::custom(451, "4.3.0 Try again later".into());
            refusal.action = Action::Close;
            return refusal;
        }
        mailbox.accepted.push(message);
        response::OK
    }
}

/// An SMTP listener on 127.0.0.1 that keeps what it accepts. Its thread lives as long as
/// the test binary (mailin-embedded serves forever).
pub(crate) struct SmtpSink {
    mailbox: Arc<Mutex<Mailbox>>,
    port: u16,
}

impl SmtpSink {
    pub(crate) fn start(refuse_first: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let mailbox = Arc::new(Mutex::new(Mailbox {
            refuse_first,
            ..Mailbox::default()
        }));
        let mut server = Server::new(Sink {
            mailbox: mailbox.clone(),
            current: None,
        });
        server
            .with_name("sink.test")
            .with_num_threads(16)
            .with_tcp_listener(listener);
        std::thread::spawn(move || {
            if let Err(error) = server.serve() {
                panic!("the SMTP listener stopped: {error}");
            }
        });
        Self { mailbox, port }
    }

    /// Plain SMTP, no TLS: lettre reads `smtp://` without a `tls` parameter as unencrypted.
    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn transmitted(&self) -> usize {
        self.mailbox.lock().unwrap().transmitted
    }

    fn accepted(&self) -> Vec<Received> {
        self.mailbox.lock().unwrap().accepted.clone()
    }

    /// Waits for the one message accepted for `to` whose subject is `subject`.
    pub(crate) async fn message_to(&self, to: &str, subject: &str) -> Email {
        poll_until(
            &format!("an e-mail to {to}: {subject:?}"),
            WAIT,
            async || {
                self.accepted()
                    .into_iter()
                    .filter(|m| m.to.iter().any(|t| t.trim_matches(['<', '>']) == to))
                    .map(Email::parse)
                    .find(|email| email.subject == subject)
            },
        )
        .await
    }
}

/// A received message as a mail client reads it.
#[derive(Debug)]
pub(crate) struct Email {
    envelope: Received,
    raw: String,
    pub(crate) subject: String,
    header_from: String,
    header_to: String,
    content_type: String,
    /// The decoded text/plain and text/html alternatives, with CRLF made LF.
    pub(crate) text: String,
    pub(crate) html: String,
}

impl Email {
    fn parse(envelope: Received) -> Self {
        let raw = String::from_utf8(envelope.raw.clone()).expect("the message is text");
        let message = MessageParser::default()
            .parse(envelope.raw.as_slice())
            .expect("the message parses");
        let content_type = message
            .content_type()
            .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or_default()))
            .unwrap_or_default();
        assert_eq!(message.text_body_count(), 1, "one text part:\n{raw}");
        assert_eq!(message.html_body_count(), 1, "one HTML part:\n{raw}");
        let text = match &message.text_part(0).unwrap().body {
            PartType::Text(text) => text.replace("\r\n", "\n"),
            other => panic!("the text part is {other:?}"),
        };
        let html = match &message.html_part(0).unwrap().body {
            PartType::Html(html) => html.replace("\r\n", "\n"),
            other => panic!("the HTML part is {other:?}"),
        };
        let first_address = |address: Option<&mail_parser::Address>| {
            address
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_owned()
        };
        Self {
            subject: message.subject().unwrap_or_default().to_owned(),
            header_from: first_address(message.from()),
            header_to: first_address(message.to()),
            content_type,
            text,
            html,
            raw,
            envelope,
        }
    }

    /// Asserts the message is a text + HTML alternative holding every one of `needles`
    /// (in HTML, escaped as minijinja escapes) and none of the inquiry's content.
    #[track_caller]
    pub(crate) fn assert_holds(&self, needles: &[&str]) {
        assert_eq!(self.content_type, "multipart/alternative", "{}", self.raw);
        assert_eq!(self.header_from, "cbm2@example.org");
        assert_eq!(self.envelope.from, "cbm2@example.org");
        for needle in needles {
            assert!(
                self.text.contains(needle),
                "the text part lacks {needle:?}:\n{}",
                self.text
            );
            let escaped = escape_html(needle);
            assert!(
                self.html.contains(&escaped),
                "the HTML part lacks {escaped:?}:\n{}",
                self.html
            );
        }
        for secret in SECRETS {
            for (part, content) in [
                ("text", &self.text),
                ("HTML", &self.html),
                ("raw", &self.raw),
            ] {
                assert!(
                    !content.contains(secret) && !content.contains(&escape_html(secret)),
                    "the {part} of the e-mail holds the inquiry's content {secret:?}"
                );
            }
        }
    }
}

/// What minijinja's HTML auto-escaping makes of `text`.
fn escape_html(text: &str) -> String {
    minijinja::HtmlEscape(text).to_string()
}

/// A policy POC reading `languages`, created by the Secretariat, and its token.
pub(crate) async fn poc(
    app: &TestApp,
    member_state: &str,
    name: &str,
    email: &str,
    languages: &[&str],
) -> String {
    let affiliation = format!("Ministry of Foreign Affairs of {member_state}");
    poc_of(app, member_state, (name, email), &affiliation, languages).await
}

/// A policy POC of `affiliation` reading `languages`, created by the Secretariat, and its
/// token.
pub(crate) async fn poc_of(
    app: &TestApp,
    member_state: &str,
    (name, email): (&str, &str),
    affiliation: &str,
    languages: &[&str],
) -> String {
    let created = app
        .post(
            "/v1/pocs",
            &app.secretariat,
            json!({
                "member_state": member_state,
                "name": name,
                "affiliation": affiliation,
                "role": "policy",
                "email": email,
                "languages": languages,
            }),
        )
        .await;
    let id = created.assert_status(201)["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.issue_token(&id).await.1
}

/// Sends `requester`'s inquiry to Brazil, invoked in `language`, describing and asking what
/// no e-mail may hold; returns the inquiry as the requester then sees it.
async fn request_info_to_brazil(app: &TestApp, requester: &str, language: &str) -> Value {
    request_info_to(app, requester, "BRA", language).await
}

/// Sends `requester`'s inquiry to `member_state`, as [`request_info_to_brazil`] does.
async fn request_info_to(
    app: &TestApp,
    requester: &str,
    member_state: &str,
    language: &str,
) -> Value {
    let draft = app
        .post("/v1/inquiries", requester, json!({"exercise": false}))
        .await;
    let id = draft.assert_status(201)["id"].as_str().unwrap().to_owned();
    let path = |action: &str| format!("/v1/inquiries/{id}/{action}");
    app.post(
        &path("lookup-poc"),
        requester,
        json!({"member_state": member_state}),
    )
    .await
    .assert_status(200);
    app.post(&path("invoke"), requester, json!({"language": language}))
        .await
        .assert_status(200);
    app.post(
        &path("describe"),
        requester,
        json!({"nature": NATURE, "category": "phishing", "sectors": ["government"],
               "indicators": [{"type": "ipv4", "value": INDICATOR}]}),
    )
    .await
    .assert_status(200);
    app.post(
        &path("request-info"),
        requester,
        json!({"questions": QUESTIONS, "time_sensitivity": "routine",
               "contact": {"name": CONTACT_NAME, "email": "duty@minrel.example.cl"}}),
    )
    .await
    .assert_status(200);
    let inquiry = app.get(&format!("/v1/inquiries/{id}"), requester).await;
    inquiry.assert_status(200).clone()
}

async fn acknowledge(app: &TestApp, inquiry: &Value, responder: &str) {
    let id = inquiry["id"].as_str().unwrap();
    app.post(
        &format!("/v1/inquiries/{id}/acknowledge"),
        responder,
        json!({"estimated_timeframe": "P3D"}),
    )
    .await
    .assert_status(200);
}

const ANA: &str = "ana.souza@itamaraty.example.br";
const EVA: &str = "eva.rojas@minrel.example.cl";
const JO: &str = "jo.tremblay@international.example.ca";
const SAM: &str = "sam.carter@state.example.gov";

async fn each_poc_is_mailed_in_its_first_oas_language_without_the_inquirys_content(db: TestDb) {
    let sink = SmtpSink::start(0);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    let bra = poc(&app, "BRA", "Ana Souza", ANA, &["pt", "en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["nl", "fr"]).await;
    let can = poc(&app, "CAN", "Jo Tremblay", JO, &["de"]).await;

    // Chile's inquiry is invoked in Spanish; Brazil's POC reads Portuguese first.
    let inquiry = request_info_to_brazil(&app, &chl, "es").await;

    let id = inquiry["id"].as_str().unwrap();
    let invocation = inquiry["invocation_text"].as_str().expect("the invocation");
    assert!(
        invocation.contains("no constituye una acusación"),
        "{invocation}"
    );
    let mail = sink
        .message_to(ANA, "Nova consulta do Chile no âmbito da MFC n.º 2")
        .await;
    assert_eq!(mail.envelope.to, [ANA.to_owned()]);
    assert_eq!(mail.header_to, ANA);
    mail.assert_holds(&[
        "O ponto de contato do Chile enviou ao seu Estado uma consulta no âmbito da MFC n.º 2",
        "em conformidade com o parágrafo 78 da resolução da Assembleia Geral da OEA AG/RES. 2925 (XLVIII-O/18)",
        "não constitui uma acusação de que o Estado membro participante que recebe a consulta",
        "Situação: aguardando resposta",
        &format!("https://cbm2.test/inquiries/{id}"),
        "A invocação formal:",
        invocation,
        "Secretaria do CICTE (OEA)",
    ]);
    assert!(mail.html.contains("<html lang=\"pt\">"), "{}", mail.html);
    assert!(
        !mail.text.contains("does not constitute"),
        "no English:\n{}",
        mail.text
    );

    // The requester reads Dutch, then French: the acknowledgement comes in French, without
    // the invocation (it goes to the responding state only).
    acknowledge(&app, &inquiry, &bra).await;
    let mail = sink
        .message_to(
            EVA,
            "Accusé de réception du Brésil pour votre demande au titre de la MDC n° 2",
        )
        .await;
    assert_eq!(mail.envelope.to, [EVA.to_owned()]);
    mail.assert_holds(&[
        "Le point de contact du Brésil a accusé réception de votre demande et y donnera suite.",
        "conformément au paragraphe 78 de la résolution de l'Assemblée générale de l'OEA AG/RES. 2925 (XLVIII-O/18)",
        "ne constitue pas une accusation",
        "Statut: réception accusée",
        "Secrétariat du CICTE (OEA)",
    ]);
    assert!(mail.html.contains("<html lang=\"fr\">"), "{}", mail.html);
    assert!(
        !mail.text.contains("Estimado/a") && !mail.text.contains("L'invocation formelle"),
        "the requester is not sent the invocation:\n{}",
        mail.text
    );

    // A requester reading none of the OAS languages gets English.
    let inquiry = request_info_to_brazil(&app, &can, "en").await;
    sink.message_to(ANA, "Nova consulta do Canadá no âmbito da MFC n.º 2")
        .await;
    acknowledge(&app, &inquiry, &bra).await;
    let mail = sink
        .message_to(JO, "Acknowledgement from Brazil of your CBM #2 inquiry")
        .await;
    mail.assert_holds(&[
        "The point of contact of Brazil has acknowledged your inquiry and will follow up.",
        "paragraph 78 of the OAS General Assembly Resolution AG/RES. 2925 (XLVIII-O/18)",
        "does not constitute an accusation",
    ]);
    assert!(mail.html.contains("<html lang=\"en\">"), "{}", mail.html);

    // Each notice was sent once, and recorded as delivered.
    let delivered =
        "SELECT count(*) FROM deliveries WHERE channel = 'email' AND state = 'delivered'";
    poll_until("four delivered e-mails", WAIT, async || {
        (app.db.count(delivered).await == 4).then_some(())
    })
    .await;
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM deliveries WHERE channel = 'email'")
            .await,
        4
    );
    assert_eq!(sink.accepted().len(), 4);
}

async fn without_smtp_email_deliveries_are_recorded_as_skipped_never_dropped(db: TestDb) {
    let app = spawn_app(db).await;
    let bra = poc(&app, "BRA", "Ana Souza", ANA, &["pt", "en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["nl", "fr"]).await;
    let inquiry = request_info_to_brazil(&app, &chl, "es").await;
    acknowledge(&app, &inquiry, &bra).await;

    // Every notice to a POC becomes an e-mail delivery, skipped and saying why.
    let to_pocs = "SELECT count(*) FROM outbox WHERE recipient_kind = 'poc'";
    assert_eq!(app.db.count(to_pocs).await, 2);
    let rows = poll_until("the two e-mail deliveries", WAIT, async || {
        let rows = app
            .db
            .fetch_strings(
                "SELECT state || ' | ' || COALESCE(last_error, '') || ' | ' || COALESCE(email_to, '')
                   FROM deliveries WHERE channel = 'email' ORDER BY email_to",
            )
            .await;
        (rows.len() == 2).then_some(rows)
    })
    .await;
    for (row, to) in rows.iter().zip([ANA, EVA]) {
        let parts: Vec<&str> = row.split(" | ").collect();
        assert_eq!(parts[0], "skipped", "{row}");
        assert!(parts[1].contains("CBM2_SMTP_URL"), "{row}");
        assert_eq!(parts[2], to, "{row}");
    }
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM outbox WHERE fanned_out_at IS NULL")
            .await,
        0
    );
    // Skipped is final: no attempt is made, none is pending.
    assert_eq!(
        app.db
            .count("SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id WHERE d.channel = 'email'")
            .await,
        0
    );
}

const SKIPPED_LINE: &str = "e-mail deliveries are recorded as skipped";

async fn serve_without_smtp_says_once_that_emails_are_skipped(db: TestDb) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_cbm2"))
        .args(["--database-url", &db.url, "serve", "--bind", "127.0.0.1:0"])
        .env("CBM2_SIGNING_KEY", &db.signing_key)
        .args(["--delivery-poll", "100ms"])
        .env_remove("CBM2_SMTP_URL")
        .env_remove("CBM2_DATABASE_URL")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("cbm2 serve starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut log = Vec::new();
    let address = tokio::time::timeout(WAIT, async {
        loop {
            let line = rx.recv().await.expect("serve logs before it exits");
            let address = line
                .split("listening on ")
                .nth(1)
                .map(|rest| rest.trim().to_owned());
            log.push(line);
            if let Some(address) = address {
                break address;
            }
        }
    })
    .await
    .expect("serve listens");

    // Let the worker run many rounds, one of which records a skipped e-mail.
    let app = TestApp::attach(db, &address).await;
    let bra = poc(&app, "BRA", "Ana Souza", ANA, &["pt", "en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["nl", "fr"]).await;
    let inquiry = request_info_to_brazil(&app, &chl, "es").await;
    acknowledge(&app, &inquiry, &bra).await;
    let skipped = "SELECT count(*) FROM deliveries WHERE channel = 'email' AND state = 'skipped'";
    poll_until("two skipped e-mails", WAIT, async || {
        (app.db.count(skipped).await == 2).then_some(())
    })
    .await;

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("serve stops")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    reader.await.unwrap();
    while let Some(line) = rx.recv().await {
        log.push(line);
    }
    let said: Vec<&String> = log.iter().filter(|l| l.contains(SKIPPED_LINE)).collect();
    assert_eq!(
        said.len(),
        1,
        "said {} times:\n{}",
        said.len(),
        log.join("\n")
    );
    assert!(said[0].contains("CBM2_SMTP_URL"), "{}", said[0]);
}

async fn an_email_refused_with_451_is_delivered_on_a_later_attempt(db: TestDb) {
    let sink = SmtpSink::start(1);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    poc(&app, "BRA", "Ana Souza", ANA, &["pt", "en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["es", "en"]).await;

    let inquiry = request_info_to_brazil(&app, &chl, "es").await;

    let mail = sink
        .message_to(ANA, "Nova consulta do Chile no âmbito da MFC n.º 2")
        .await;
    mail.assert_holds(&[
        "parágrafo 78",
        "AG/RES. 2925 (XLVIII-O/18)",
        "não constitui uma acusação",
        inquiry["invocation_text"].as_str().unwrap(),
    ]);
    assert_eq!(sink.transmitted(), 2, "refused once, then accepted");
    assert_eq!(sink.accepted().len(), 1);
    let delivered_on_the_second_attempt = "SELECT count(*) FROM deliveries
        WHERE channel = 'email' AND state = 'delivered' AND attempts = 2";
    poll_until("the delivery recorded as delivered", WAIT, async || {
        (app.db.count(delivered_on_the_second_attempt).await == 1).then_some(())
    })
    .await;
    let attempts = app
        .db
        .fetch_strings(
            "SELECT COALESCE(CAST(a.status AS TEXT), '-') || ' | ' || COALESCE(a.error, '')
               FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id
              WHERE d.channel = 'email' ORDER BY a.attempt",
        )
        .await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(
        attempts[0].starts_with("451 | ") && attempts[0].contains("Try again later"),
        "{attempts:?}"
    );
    assert!(attempts[1].starts_with("250 | "), "{attempts:?}");
}

/// `at` (RFC 3339) in `zone`, as an e-mail in `language` writes it: the test's own
/// oracle, independent of the renderer's strings.
fn local_time(at: &str, zone: &str, language: &str) -> String {
    use chrono::{Datelike, Timelike};
    let zone: chrono_tz::Tz = zone.parse().unwrap();
    let local = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&zone);
    let month = local.month0() as usize;
    let (day, year, hour, minute) = (local.day(), local.year(), local.hour(), local.minute());
    match language {
        "en" => {
            let months = [
                "January",
                "February",
                "March",
                "April",
                "May",
                "June",
                "July",
                "August",
                "September",
                "October",
                "November",
                "December",
            ];
            format!("{day} {} {year}, {hour:02}:{minute:02}", months[month])
        }
        "es" => {
            let months = [
                "enero",
                "febrero",
                "marzo",
                "abril",
                "mayo",
                "junio",
                "julio",
                "agosto",
                "septiembre",
                "octubre",
                "noviembre",
                "diciembre",
            ];
            format!(
                "{day} de {} de {year}, {hour:02}:{minute:02}",
                months[month]
            )
        }
        "fr" => {
            let months = [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ];
            let day = if day == 1 {
                "1er".to_owned()
            } else {
                day.to_string()
            };
            format!("{day} {} {year}, {hour:02} h {minute:02}", months[month])
        }
        _ => {
            let months = [
                "janeiro",
                "fevereiro",
                "março",
                "abril",
                "maio",
                "junho",
                "julho",
                "agosto",
                "setembro",
                "outubro",
                "novembro",
                "dezembro",
            ];
            let day = if day == 1 {
                "1º".to_owned()
            } else {
                day.to_string()
            };
            format!(
                "{day} de {} de {year}, {hour:02}h{minute:02}",
                months[month]
            )
        }
    }
}

/// The running deadline as an e-mail shows it: local time, zone, and the UTC instant.
fn shown_deadline(inquiry: &Value, zone: &str, language: &str) -> String {
    let due = inquiry["due_at"].as_str().expect("a running deadline");
    let utc = chrono::DateTime::parse_from_rfc3339(due)
        .unwrap()
        .to_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    format!("{} ({zone}) — {utc}", local_time(due, zone, language))
}

async fn each_language_names_the_states_translates_the_status_and_shows_local_time_with_utc(
    db: TestDb,
) {
    let sink = SmtpSink::start(0);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    let bra = poc(&app, "BRA", "Ana Souza", ANA, &["pt"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["es"]).await;
    let usa = poc(&app, "USA", "Sam Carter", SAM, &["en"]).await;
    let can = poc(&app, "CAN", "Jo Tremblay", JO, &["fr", "en"]).await;
    // The Secretariat moves the United States' zone: e-mails follow the directory.
    app.patch(
        "/v1/member-states/USA",
        &app.secretariat,
        json!({"time_zone": "America/Chicago"}),
    )
    .await
    .assert_status(200);

    // Portuguese, to Brazil (America/Sao_Paulo), of Chile's inquiry.
    let to_brazil = request_info_to(&app, &chl, "BRA", "es").await;
    let mail = sink
        .message_to(ANA, "Nova consulta do Chile no âmbito da MFC n.º 2")
        .await;
    mail.assert_holds(&[
        "O ponto de contato do Chile enviou ao seu Estado uma consulta",
        "Situação: aguardando resposta",
        "Grau de urgência: ordinária",
        &format!(
            "Confirmação de recebimento solicitada até {}",
            shown_deadline(&to_brazil, "America/Sao_Paulo", "pt")
        ),
        "Secretaria do CICTE (OEA)",
    ]);

    // Spanish, to Chile (America/Santiago), of Brazil's acknowledgement.
    acknowledge(&app, &to_brazil, &bra).await;
    let acknowledged = app
        .get(
            &format!("/v1/inquiries/{}", to_brazil["id"].as_str().unwrap()),
            &chl,
        )
        .await;
    let mail = sink
        .message_to(
            EVA,
            "Acuse de recibo de Brasil de su consulta en el marco de la MFC N.º 2",
        )
        .await;
    mail.assert_holds(&[
        "El punto de contacto de Brasil ha acusado recibo de su consulta",
        "Situación: con acuse de recibo",
        &format!(
            "Respuesta prevista para el {}",
            shown_deadline(acknowledged.assert_status(200), "America/Santiago", "es")
        ),
        "Secretaría de la CICTE (OEA)",
    ]);

    // French, to Canada (America/Toronto), of the United States' inquiry: with the article.
    let to_canada = request_info_to(&app, &usa, "CAN", "en").await;
    let mail = sink
        .message_to(
            JO,
            "Nouvelle demande des États-Unis au titre de la MDC n° 2",
        )
        .await;
    mail.assert_holds(&[
        "Le point de contact des États-Unis a adressé à votre État une demande",
        "Statut: en attente de réponse",
        &format!(
            "Accusé de réception demandé pour le {}",
            shown_deadline(&to_canada, "America/Toronto", "fr")
        ),
        "Secrétariat du CICTE (OEA)",
    ]);

    // English, to the United States, in the zone the Secretariat set.
    acknowledge(&app, &to_canada, &can).await;
    let acknowledged = app
        .get(
            &format!("/v1/inquiries/{}", to_canada["id"].as_str().unwrap()),
            &usa,
        )
        .await;
    let mail = sink
        .message_to(SAM, "Acknowledgement from Canada of your CBM #2 inquiry")
        .await;
    mail.assert_holds(&[
        "The point of contact of Canada has acknowledged your inquiry",
        "Status: acknowledged",
        &format!(
            "Response expected by {}",
            shown_deadline(acknowledged.assert_status(200), "America/Chicago", "en")
        ),
        "CICTE Secretariat (OAS)",
    ]);
    // Statuses and deadline kinds are words, states names, never codes (the invocation
    // text, quoted as written, names the requester's affiliation, which here holds a code).
    for mail in sink.accepted().into_iter().map(Email::parse) {
        for raw in ["awaiting_response", "acknowledgement"] {
            assert!(!mail.text.contains(raw), "{}:\n{}", mail.subject, mail.text);
        }
        for code in ["CHL", "BRA", "USA", "CAN"] {
            assert!(!mail.subject.contains(code), "{}", mail.subject);
        }
    }
}

/// The directory id of the POC a token belongs to.
async fn poc_id_of(app: &TestApp, token: &str) -> String {
    let me = app.get("/v1/me", token).await;
    let me = me.assert_status(200);
    me["poc"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no POC id in /v1/me: {me}"))
        .to_owned()
}

async fn an_exercise_is_tagged_in_the_subject_and_bannered_in_the_body_and_invocation(db: TestDb) {
    let sink = SmtpSink::start(0);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    poc(&app, "BRA", "Ana Souza", ANA, &["pt"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["es"]).await;
    let drill = app.send_inquiry(&chl, "BRA", "routine", None, true).await;
    let invocation = drill["invocation_text"].as_str().unwrap();
    assert!(
        invocation.starts_with("EXERCÍCIO"),
        "the invocation, in Brazil's Portuguese, opens with the banner: {invocation}"
    );
    let mail = sink
        .message_to(
            ANA,
            "[EXERCÍCIO] Nova consulta do Chile no âmbito da MFC n.º 2",
        )
        .await;
    assert!(
        mail.text.trim_start().starts_with("EXERCÍCIO"),
        "the body opens with the banner:\n{}",
        mail.text
    );
    mail.assert_holds(&["esta consulta faz parte de um exercício"]);
}

async fn a_replaced_poc_is_not_mailed_and_its_successor_is(db: TestDb) {
    let sink = SmtpSink::start(0);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    let ana = poc(&app, "BRA", "Ana Souza", ANA, &["en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["en"]).await;
    let inquiry = request_info_to_brazil(&app, &chl, "en").await;
    let id = inquiry["id"].as_str().unwrap();
    sink.message_to(ANA, "New CBM #2 inquiry from Chile").await;

    // Ana leaves; Bruno takes the post while the inquiry is open.
    let ana_id = poc_id_of(&app, &ana).await;
    app.post(
        &format!("/v1/pocs/{ana_id}/deactivate"),
        &app.secretariat,
        json!({}),
    )
    .await
    .assert_status(200);
    const BRUNO: &str = "bruno.costa@itamaraty.example.br";
    poc(&app, "BRA", "Bruno Costa", BRUNO, &["en"]).await;
    app.post(
        &format!("/v1/inquiries/{id}/message"),
        &chl,
        json!({"text": "Any news on the phishing hosts?"}),
    )
    .await
    .assert_status(200);
    let subject = "New message on the CBM #2 inquiry between Chile and Brazil";
    let mail = sink.message_to(BRUNO, subject).await;
    assert!(
        !mail.raw.contains("Any news"),
        "an e-mail never carries the message:\n{}",
        mail.raw
    );
    let to_ana: Vec<String> = sink
        .accepted()
        .into_iter()
        .filter(|m| m.to.iter().any(|t| t.contains(ANA)))
        .map(|m| Email::parse(m).subject)
        .collect();
    assert_eq!(
        to_ana,
        ["New CBM #2 inquiry from Chile"],
        "nothing more to the POC who left"
    );
}

on_both_databases!(
    an_exercise_is_tagged_in_the_subject_and_bannered_in_the_body_and_invocation,
    a_replaced_poc_is_not_mailed_and_its_successor_is,
    each_poc_is_mailed_in_its_first_oas_language_without_the_inquirys_content,
    without_smtp_email_deliveries_are_recorded_as_skipped_never_dropped,
    serve_without_smtp_says_once_that_emails_are_skipped,
    an_email_refused_with_451_is_delivered_on_a_later_attempt,
    each_language_names_the_states_translates_the_status_and_shows_local_time_with_utc,
    a_poc_with_an_openpgp_key_gets_its_emails_encrypted_to_it,
);

/// Debian's `gpg` in a home of its own: keys made and messages decrypted as a POC's own
/// OpenPGP software would. Required with `CI=true`; elsewhere the test says how to get it.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Option<Self> {
        let found = std::process::Command::new("gpg")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "gpg is required in CI: apt-get install gnupg"
            );
            eprintln!("skipping the OpenPGP e-mail test: apt-get install gnupg to run it");
            return None;
        }
        let home = tempfile::tempdir().unwrap();
        std::fs::set_permissions(
            home.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        Some(Self { home })
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        let output = std::process::Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// A new key for `email` (`algo`, `usage`, `expire` as `--quick-gen-key` takes them),
    /// made at `at` when given (`--faked-system-time`); its armored public key.
    fn key(&self, email: &str, algo: &str, usage: &str, expire: &str, at: Option<&str>) -> String {
        let uid = format!("POC <{email}>");
        let mut args = Vec::new();
        if let Some(at) = at {
            args.extend(["--faked-system-time", at]);
        }
        args.extend(["--quick-gen-key", &uid, algo, usage, expire]);
        self.run(&args);
        String::from_utf8(self.run(&["--armor", "--export", email]).stdout).unwrap()
    }

    fn fingerprint(&self, email: &str) -> String {
        let listing =
            String::from_utf8(self.run(&["--with-colons", "--fingerprint", email]).stdout).unwrap();
        listing
            .lines()
            .find_map(|line| line.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').find(|field| field.len() == 40))
            .expect("a fingerprint")
            .to_owned()
    }

    fn decrypt(&self, armored: &str) -> String {
        let file = self.home.path().join("message.asc");
        std::fs::write(&file, armored).unwrap();
        String::from_utf8(self.run(&["--decrypt", file.to_str().unwrap()]).stdout).unwrap()
    }
}

async fn a_poc_with_an_openpgp_key_gets_its_emails_encrypted_to_it(db: TestDb) {
    let Some(gpg) = Gpg::new() else {
        return;
    };
    let sink = SmtpSink::start(0);
    let url = sink.url();
    let app = spawn_app_with(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&url, SENDER).expect("a usable SMTP URL"));
    })
    .await;
    let ana = poc(&app, "BRA", "Ana Souza", ANA, &["en"]).await;
    let chl = poc(&app, "CHL", "Eva Rojas", EVA, &["en"]).await;
    let me = app.get("/v1/me", &ana).await;
    let ana_id = me.assert_status(200)["poc"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/v1/pocs/{ana_id}");

    // Refused, naming why: not a key, a key that cannot encrypt, an expired one.
    let sign_only = gpg.key("sign.only@example.org", "ed25519", "sign", "never", None);
    let expired = gpg.key(
        "old@example.org",
        "default",
        "default",
        "1y",
        Some("20200101T000000"),
    );
    for (key, why) in [
        (
            "not a key".to_owned(),
            "is not an ASCII-armored OpenPGP public key",
        ),
        (sign_only, "has no key able to encrypt"),
        (expired, "expired on 2020-12-31"),
    ] {
        let refused = app.patch(&path, &ana, json!({"openpgp_key": key})).await;
        let problem = refused.assert_problem(422, Some("openpgp_key"));
        assert!(
            problem["detail"].as_str().unwrap().contains(why),
            "{problem}"
        );
    }

    let key = gpg.key(ANA, "default", "default", "never", None);
    let saved = app.patch(&path, &ana, json!({"openpgp_key": key})).await;
    let saved = saved.assert_status(200);
    assert_eq!(saved["openpgp"]["fingerprint"], gpg.fingerprint(ANA));
    assert_eq!(saved["openpgp"]["problem"], Value::Null);

    request_info_to_brazil(&app, &chl, "en").await;
    let raw = poll_until("an encrypted e-mail to Ana", WAIT, async || {
        sink.accepted()
            .into_iter()
            .find(|m| m.to.iter().any(|t| t.trim_matches(['<', '>']) == ANA))
            .map(|m| String::from_utf8(m.raw).unwrap())
    })
    .await;
    let message = MessageParser::default().parse(raw.as_bytes()).unwrap();
    let content_type = message.content_type().unwrap();
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("encrypted")),
        "{raw}"
    );
    assert_eq!(
        content_type.attribute("protocol"),
        Some("application/pgp-encrypted")
    );
    assert_eq!(
        message.subject(),
        Some("OAS Cyber Confidence-Building Measure #2"),
        "a subject that names no state"
    );
    assert!(!raw.contains("Chile"), "nothing in the clear:\n{raw}");
    let start = raw
        .find("-----BEGIN PGP MESSAGE-----")
        .expect("an armored message");
    let end = raw.find("-----END PGP MESSAGE-----").unwrap() + "-----END PGP MESSAGE-----".len();
    let decrypted = gpg.decrypt(&raw[start..end].replace("\r\n", "\n"));
    assert!(
        decrypted
            .contains("The point of contact of Chile has sent your state an inquiry under CBM #2"),
        "{decrypted}"
    );
    assert!(decrypted.contains("multipart/alternative"), "{decrypted}");

    // Removing the key: e-mails go as before.
    let cleared = app.patch(&path, &ana, json!({"openpgp_key": null})).await;
    assert_eq!(cleared.assert_status(200)["openpgp"], Value::Null);

    // The record's page takes the key too, and refuses a bad one beside the field.
    let session = app.web_session(ANA).await;
    let page_path = format!("/directory/pocs/{ana_id}");
    fn form(key: &str) -> Vec<(&str, &str)> {
        vec![
            ("name", "Ana Souza"),
            ("affiliation", "Ministry of Foreign Affairs of BRA"),
            ("email", ANA),
            ("phone", ""),
            ("languages", "en"),
            ("openpgp_key", key),
        ]
    }
    let refused = app.submit(&session, &page_path, &form("not a key")).await;
    assert_eq!(
        refused.status,
        reqwest::StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.html
    );
    assert!(
        refused.html.contains("poc-openpgp_key-error"),
        "{}",
        refused.html
    );
    let saved = app.submit(&session, &page_path, &form(&key)).await;
    assert_eq!(
        saved.status,
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        saved.html
    );
    let record = app.get(&path, &ana).await;
    assert_eq!(
        record.assert_status(200)["openpgp"]["fingerprint"],
        gpg.fingerprint(ANA)
    );
}
