//! The web UI in a real browser: signing in by the e-mailed link, two states taking an
//! inquiry through Option 2 each in its own language, a third state shut out, and every
//! main page checked by axe-core, at a phone's width and from the keyboard. The screenshots
//! in docs/screenshots come from here (`CBM2_UPDATE_SCREENSHOTS=1`).
//!
//! The pages are driven as a person drives them: typing into the fields the labels name,
//! pressing the buttons, following the links. Every step waits for the next page to load
//! (polling), never for a guessed time.

use std::net::TcpListener;
use std::time::Duration;

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
use serde_json::Value;

use cbm2::clock;
use cbm2::delivery::email::Mailer;
use cbm2::domain::EmailAddress;
use cbm2::startup::Settings;
use cbm2::store::Store;

use super::Browser;
use crate::email::{SENDER, SmtpSink, poc_of};
use crate::helpers::{TestApp, TestDb, on_both_databases, poll_until, spawn_app_with};

/// How long a page may take to load on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

const ANA: &str = "ana.rojas@mfa.example.org";
const BRUNO: &str = "bruno.lima@mfa.example.org";
const CARLA: &str = "carla.diaz@mfa.example.org";

/// The server for a browser: its public URL is its own address, so the e-mailed links lead
/// back to it, and (plain http on loopback, as in a local trial) its cookies are not
/// `Secure`: nothing rests on how lenient a browser is with `Secure` cookies over http.
/// `configure` sets anything else.
async fn spawn_for_browser(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    // Free now, taken by the server a moment later (as the harness does for chromedriver).
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    spawn_app_with(db, |settings| {
        settings.bind = format!("127.0.0.1:{port}");
        settings.delivery.public_url = format!("http://127.0.0.1:{port}");
        configure(settings);
    })
    .await
}

/// Chile's POC, who reads Spanish; returns a token.
async fn chile(app: &TestApp) -> String {
    poc_of(
        app,
        "CHL",
        ("Ana Rojas", ANA),
        "Ministerio de Relaciones Exteriores de Chile",
        &["es"],
    )
    .await
}

/// Brazil's POC, who reads Portuguese, then English; returns a token.
async fn brazil(app: &TestApp) -> String {
    poc_of(
        app,
        "BRA",
        ("Bruno Lima", BRUNO),
        "Ministério das Relações Exteriores do Brasil",
        &["pt", "en"],
    )
    .await
}

/// The Secretariat's staff account `duty@oas.example.org`, added as `cbm2 staff add` does.
async fn add_duty_officer(store: &Store) {
    store
        .add_staff(
            cbm2::store::directory::Actor::CommandLine,
            &EmailAddress::parse("duty@oas.example.org").unwrap(),
            &cbm2::domain::PersonName::parse("Duty Officer").unwrap(),
            clock::now(),
        )
        .await
        .expect("a staff account");
}

/// What to do with one field of a form.
#[derive(Clone, Copy)]
enum Input<'a> {
    /// Replace what a text field or text area holds.
    Type(&'a str),
    /// Pick the option of a select with this value.
    Choose(&'a str),
    /// Tick a checkbox.
    Tick,
}

/// A person's view of the browser: one page at a time, found by what it shows.
struct Person<'a> {
    browser: &'a Browser,
    app: &'a TestApp,
}

impl Person<'_> {
    /// Opens `path` on the server.
    async fn open(&self, path: &str) {
        self.browser
            .goto(&format!("{}{path}", self.app.address))
            .await;
    }

    /// The path (and query) of the page shown.
    async fn path(&self) -> String {
        let url = self
            .browser
            .client()
            .current_url()
            .await
            .expect("the current URL");
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The visible text of the first element `css` selects.
    async fn text(&self, css: &str) -> String {
        self.find(Locator::Css(css), css)
            .await
            .text()
            .await
            .expect("its text")
    }

    /// The element `locator` finds, or a failure naming `what` and the page.
    async fn find(&self, locator: Locator<'_>, what: &str) -> fantoccini::elements::Element {
        match self.browser.client().find(locator).await {
            Ok(element) => element,
            Err(error) => panic!("{what} on {}: {error}", self.path_now().await),
        }
    }

    /// The path, for messages (never panics).
    async fn path_now(&self) -> String {
        match self.browser.client().current_url().await {
            Ok(url) => url.to_string(),
            Err(error) => format!("(no URL: {error})"),
        }
    }

    /// Whether the page has an element `css` selects.
    async fn has(&self, css: &str) -> bool {
        !self
            .browser
            .client()
            .find_all(Locator::Css(css))
            .await
            .expect("a search")
            .is_empty()
    }

    /// The status word the page's heading shows.
    async fn status(&self) -> String {
        self.text(".heading-row .status").await
    }

    /// Fills the field with id `id` as `input` says.
    async fn fill(&self, id: &str, input: Input<'_>) {
        let field = self.find(Locator::Id(id), &format!("a field #{id}")).await;
        match input {
            Input::Type(text) => {
                field.clear().await.expect("clear the field");
                field.send_keys(text).await.expect("type into the field");
            }
            Input::Choose(value) => field
                .select_by_value(value)
                .await
                .unwrap_or_else(|error| panic!("choose {value} in #{id}: {error}")),
            Input::Tick => {
                if !field.is_selected().await.expect("read the checkbox") {
                    field.click().await.expect("tick the checkbox");
                }
            }
        }
    }

    /// Presses the button (or follows the link) `css` selects and waits until the page it
    /// leads to has loaded: the old document is marked first, so a new one is recognised.
    async fn press(&self, css: &str) {
        let client = self.browser.client();
        client
            .execute(
                "document.documentElement.dataset.leaving = 'yes'; return null;",
                vec![],
            )
            .await
            .expect("mark the page being left");
        self.find(Locator::Css(css), css)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("press {css}: {error}"));
        poll_until(
            &format!("the page after pressing {css}"),
            WAIT,
            async || {
                // While the browser navigates a script may fail: that is "not yet".
                let loaded = client
                    .execute(
                        "return document.documentElement.dataset.leaving === undefined \
                     && document.readyState === 'complete';",
                        vec![],
                    )
                    .await
                    .ok()?;
                (loaded == Value::Bool(true)).then_some(())
            },
        )
        .await;
    }

    /// Fills an action's form on the inquiry page (fields by their ids, `<action>-<field>`)
    /// and sends it; fails unless the page comes back saying it was recorded.
    async fn act(&self, action: &str, fields: &[(&str, Input<'_>)]) {
        for (id, input) in fields {
            self.fill(id, *input).await;
        }
        self.press(&format!("#action-{action} button[type=submit]"))
            .await;
        let path = self.path().await;
        assert!(
            path.ends_with(&format!("?done={action}")),
            "{action} was not recorded: {path}\n{}",
            self.text("main").await
        );
    }

    /// Signs in as `email` through a sign-in link (made in the store, as `cbm2 login-link`
    /// makes one): its page, then "Continue".
    async fn sign_in(&self, email: &str) {
        let secret = self.app.sign_in_link(email).await;
        self.open(&format!("/sign-in/{secret}")).await;
        self.press("#continue").await;
    }

    /// Presses "Sign out" in the page's header.
    async fn sign_out(&self) {
        self.press("form[action='/sign-out'] button").await;
        assert!(self.path().await.starts_with("/sign-in"));
    }

    /// Chooses the pages' language in the layout's form.
    async fn choose_language(&self, code: &str) {
        self.fill("language-choice", Input::Choose(code)).await;
        self.press("form.language button").await;
    }

    /// Fails unless the page fits the viewport's width: no horizontal scroll. Names the
    /// elements that stick out.
    async fn assert_fits_width(&self, page_name: &str) {
        let outcome = self
            .browser
            .client()
            .execute(
                "const width = window.innerWidth;
                 const wider = [...document.querySelectorAll('body *')]
                   .filter((e) => e.getBoundingClientRect().right > width + 0.5)
                   .slice(0, 8)
                   .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                        + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\\s+/g, '.') : '')
                        + ' (' + Math.round(e.getBoundingClientRect().right) + 'px)');
                 return [document.documentElement.scrollWidth, width, wider];",
                vec![],
            )
            .await
            .expect("measure the page");
        let pixels = |i: usize| {
            outcome[i]
                .as_u64()
                .unwrap_or_else(|| panic!("a width: {outcome}"))
        };
        let (scroll_width, width) = (pixels(0), pixels(1));
        assert!(
            scroll_width <= width,
            "{page_name} scrolls sideways at {width} px: {scroll_width} px wide; wider: {}",
            outcome[2]
        );
    }
}

/// The link an e-mail carries to `/sign-in/…`.
fn sign_in_link(text: &str, address: &str) -> String {
    let start = text
        .find(&format!("{address}/sign-in/"))
        .unwrap_or_else(|| panic!("the e-mail holds a link to {address}/sign-in/: {text}"));
    text[start..]
        .split_whitespace()
        .next()
        .expect("a link")
        .to_owned()
}

async fn signing_in_by_the_emailed_link_lands_on_the_inbox(db: TestDb) {
    let Some(browser) = Browser::start("en").await else {
        return;
    };
    let sink = SmtpSink::start(0);
    let smtp = sink.url();
    let app = spawn_for_browser(db, |settings| {
        settings.delivery.email = Some(Mailer::new(&smtp, SENDER).expect("an SMTP URL"));
    })
    .await;
    app.poc_with_token("CHL", "Ana Rojas").await;
    let ana = Person {
        browser: &browser,
        app: &app,
    };

    ana.open("/inbox").await;
    assert_eq!(
        ana.path().await,
        "/sign-in?next=%2Finbox",
        "to sign in first"
    );
    assert_eq!(ana.text("h1").await, "Sign in");
    browser.axe_check("the sign-in page").await;
    browser.screenshot("sign-in").await;
    ana.fill("email", Input::Type(ANA)).await;
    ana.press("form[action='/sign-in'] button[type=submit]")
        .await;
    assert_eq!(ana.text("h1").await, "Check your e-mail");
    browser
        .axe_check("the page saying a link is on its way")
        .await;

    // Ana reads Spanish first (the directory says so): the e-mail is in Spanish.
    let mail = sink
        .message_to(ANA, "cbm2: su enlace para iniciar sesión")
        .await;
    let link = sign_in_link(&mail.text, &app.address);
    browser.goto(&link).await;
    assert_eq!(ana.text("h1").await, "Continue to cbm2");
    browser.axe_check("the Continue page").await;
    ana.press("#continue").await;

    assert_eq!(ana.path().await, "/inbox", "back where she was going");
    assert_eq!(ana.text("h1").await, "Inbox");
    assert!(
        ana.text("header.site .who").await.contains("Ana Rojas"),
        "the header names her"
    );
    browser.close().await;
}

async fn two_states_take_an_inquiry_through_option_2_each_in_its_language(db: TestDb) {
    let Some(browser) = Browser::start("es").await else {
        return;
    };
    let app = spawn_for_browser(db, |_| {}).await;
    let chl_token = chile(&app).await;
    brazil(&app).await;
    let person = Person {
        browser: &browser,
        app: &app,
    };

    // Chile prepares the inquiry in Spanish, the language its browser asks for.
    person.sign_in(ANA).await;
    assert_eq!(person.text("h1").await, "Bandeja de entrada");
    person.open("/inquiries/new").await;
    assert_eq!(person.text("h1").await, "Nueva consulta");
    browser.axe_check("the new inquiry page").await;
    browser.screenshot("new-inquiry").await;
    person
        .press("form[action='/inquiries/new'] button[type=submit]")
        .await;
    let inquiry = person.path().await;
    assert!(inquiry.starts_with("/inquiries/"), "{inquiry}");
    let id = inquiry.trim_start_matches("/inquiries/").to_owned();
    assert_eq!(person.status().await, "Borrador");
    browser.axe_check("a draft inquiry").await;

    person
        .act(
            "lookup_poc",
            &[("lookup_poc-member_state", Input::Choose("BRA"))],
        )
        .await;
    assert_eq!(person.status().await, "Punto de contacto identificado");
    // Brazil's POC reads Portuguese first; Chile invokes in Spanish.
    person
        .act("invoke", &[("invoke-languages-es", Input::Tick)])
        .await;
    assert_eq!(person.status().await, "MFC N.º 2 invocada");
    // An indicator the API refuses: the form comes back with the error beside the field,
    // linked to it, and what was typed kept.
    person.fill("describe-nature", Input::Type("Escaneo")).await;
    person
        .fill("describe-category", Input::Type("escaneo"))
        .await;
    person
        .fill("describe-sectors", Input::Type("Gobierno"))
        .await;
    person
        .fill("describe-indicators", Input::Type("ipv4 999.1.2.3"))
        .await;
    person.press("#action-describe button[type=submit]").await;
    assert_eq!(
        person.status().await,
        "MFC N.º 2 invocada",
        "nothing recorded"
    );
    assert!(person.has("#describe-indicators-error").await);
    let described_by = person
        .find(Locator::Id("describe-indicators"), "the indicators")
        .await
        .attr("aria-describedby")
        .await
        .expect("an attribute");
    assert!(
        described_by.is_some_and(|ids| ids.contains("describe-indicators-error")),
        "the error is linked to its field"
    );
    browser
        .axe_check("a refused form, with the error beside its field")
        .await;
    person
        .act(
            "describe",
            &[
                (
                    "describe-nature",
                    Input::Type("Escaneo de los servidores de correo del ministerio"),
                ),
                ("describe-category", Input::Type("escaneo")),
                ("describe-sectors", Input::Type("Gobierno\nFinanzas")),
                ("describe-indicators", Input::Type("ipv4 203.0.113.7")),
            ],
        )
        .await;
    assert_eq!(person.status().await, "Incidente descrito");
    browser
        .axe_check("an inquiry being prepared, with the request form")
        .await;
    person
        .act(
            "request_info",
            &[
                (
                    "request_info-questions",
                    Input::Type("¿Observan esta actividad desde sus redes?"),
                ),
                ("request_info-contact-name", Input::Type("Ana Rojas")),
                ("request_info-contact-email", Input::Type(ANA)),
                ("request_info-time_sensitivity", Input::Choose("urgent")),
            ],
        )
        .await;
    assert_eq!(person.status().await, "En espera de respuesta");
    assert!(
        person
            .text(".banner.done")
            .await
            .contains("4. Solicite información y envíe la consulta"),
        "the page says what was recorded: {}",
        person.text(".banner.done").await
    );
    browser.screenshot("inquiry-es").await;
    person.sign_out().await;

    // Brazil reads it in Portuguese, chosen in the layout's language form.
    person.sign_in(BRUNO).await;
    person.choose_language("pt").await;
    assert_eq!(person.path().await, "/inbox", "back on the page it was on");
    assert_eq!(person.text("h1").await, "Caixa de entrada");
    let row = format!("table.list a[href='/inquiries/{id}']");
    assert!(person.has(&row).await, "the inbox lists the inquiry");
    assert_eq!(
        person.text("table.list .status").await,
        "Aguardando resposta"
    );
    assert!(person.text("table.list").await.contains("Chile"));
    browser.axe_check("an inbox with an inquiry").await;
    browser.screenshot("inbox").await;
    person.press(&row).await;
    assert_eq!(person.path().await, inquiry);
    assert_eq!(person.status().await, "Aguardando resposta");
    // The invocation is in Spanish on a page in Portuguese: a screen reader is told to
    // switch.
    let invocation = person
        .find(Locator::Css("pre.invocation"), "the invocation")
        .await;
    assert_eq!(
        invocation.attr("lang").await.unwrap().as_deref(),
        Some("es")
    );
    assert!(
        invocation
            .text()
            .await
            .unwrap()
            .contains("no constituye una acusación")
    );
    browser
        .axe_check("an open inquiry, with the acknowledgement form")
        .await;
    person
        .act(
            "acknowledge",
            &[
                ("acknowledge-estimated_timeframe-days", Input::Type("2")),
                ("acknowledge-estimated_timeframe-hours", Input::Type("4")),
                (
                    "acknowledge-message",
                    Input::Type("Recebido; estamos verificando."),
                ),
                ("acknowledge-contact_requested", Input::Tick),
            ],
        )
        .await;
    assert_eq!(person.status().await, "Recebimento confirmado");
    assert!(
        person
            .text("main")
            .await
            .contains("Dados de contato do solicitante\nAna Rojas · ana.rojas@mfa.example.org"),
        "Brazil reads whose contact details these are"
    );
    browser.axe_check("an acknowledged inquiry").await;
    browser.screenshot("inquiry-acknowledged-pt").await;
    person.sign_out().await;

    // Chile gives the contact details Brazil asked for, in a message.
    person.sign_in(ANA).await;
    person.open(&inquiry).await;
    assert_eq!(person.status().await, "Con acuse de recibo");
    person
        .act(
            "message",
            &[
                (
                    "message-text",
                    Input::Type("Llámeme a mi celular cuando lo necesite."),
                ),
                ("message-contact-name", Input::Type("Ana Rojas")),
                ("message-contact-email", Input::Type(ANA)),
                ("message-contact-phone", Input::Type("+56 2 2827 4200")),
            ],
        )
        .await;
    assert!(
        person
            .text("#timeline")
            .await
            .contains("Llámeme a mi celular cuando lo necesite.")
    );
    person.sign_out().await;

    // Brazil responds, still in Portuguese: the choice is kept on its account.
    person.sign_in(BRUNO).await;
    assert_eq!(person.text("h1").await, "Caixa de entrada");
    person.open(&inquiry).await;
    assert!(
        person.text("#main").await.contains("+56 2 2827 4200"),
        "Brazil sees the contact details"
    );
    person
        .act(
            "respond",
            &[(
                "respond-information",
                Input::Type("O host era um servidor comprometido; já foi limpo."),
            )],
        )
        .await;
    assert_eq!(person.status().await, "Respondida");
    person.sign_out().await;

    // Chile reads the answer and closes.
    person.sign_in(ANA).await;
    person.open(&inquiry).await;
    assert_eq!(person.status().await, "Respondida");
    assert!(
        person
            .text("#timeline")
            .await
            .contains("O host era um servidor comprometido; já foi limpo.")
    );
    person
        .act(
            "close",
            &[("close-resolution", Input::Type("Gracias por la respuesta."))],
        )
        .await;
    assert_eq!(person.status().await, "Cerrada");
    assert!(
        !person.has("#action-close").await,
        "closed once and for all"
    );
    browser.close().await;

    let view = app.get(&format!("/v1/inquiries/{id}"), &chl_token).await;
    let view = view.assert_status(200);
    assert_eq!(view["status"], "closed");
    assert_eq!(view["time_sensitivity"], "urgent");
    assert_eq!(view["estimated_timeframe"], "P2DT4H");
    assert_eq!(view["contact_requested"], true);
    assert!(view["contact_provided_at"].is_string(), "{view}");
    assert_eq!(view["sectors"], serde_json::json!(["Gobierno", "Finanzas"]));
    app.assert_audit_intact().await;
}

async fn a_third_state_opening_the_inquiry_sees_the_page_not_found(db: TestDb) {
    let Some(browser) = Browser::start("en").await else {
        return;
    };
    let app = spawn_for_browser(db, |_| {}).await;
    let (_, chl_token) = app.poc_with_token("CHL", "Ana Rojas").await;
    app.poc_with_token("BRA", "Bruno Lima").await;
    app.poc_with_token("ARG", "Carla Diaz").await;
    let sent = app
        .send_inquiry(&chl_token, "BRA", "routine", None, false)
        .await;
    let id = sent["id"].as_str().expect("an id");
    let carla = Person {
        browser: &browser,
        app: &app,
    };

    carla.sign_in(CARLA).await;
    carla.open(&format!("/inquiries/{id}")).await;
    let theirs = carla.text("main").await;
    assert_eq!(carla.text("h1").await, "Page not found");
    browser.axe_check("the page not found").await;
    carla
        .open("/inquiries/0190f1e2-7c3a-7d4e-9b1a-2f3c4d5e6f72")
        .await;
    let missing = carla.text("main").await;
    carla.open("/no-such-page").await;
    let nowhere = carla.text("main").await;

    assert_eq!(
        theirs, missing,
        "an inquiry not hers reads as a missing one"
    );
    assert_eq!(theirs, nowhere, "and as any missing page");
    assert!(!theirs.contains("Chile") && !theirs.contains("Brazil"));
    browser.close().await;
}

on_both_databases!(
    signing_in_by_the_emailed_link_lands_on_the_inbox,
    two_states_take_an_inquiry_through_option_2_each_in_its_language,
    a_third_state_opening_the_inquiry_sees_the_page_not_found,
);

/// Presses Tab once, from wherever the focus is.
async fn press_tab(browser: &Browser) {
    let tab = KeyActions::new("keyboard".to_owned())
        .then(KeyAction::Down {
            value: Key::Tab.into(),
        })
        .then(KeyAction::Up {
            value: Key::Tab.into(),
        });
    browser
        .client()
        .perform_actions(tab)
        .await
        .expect("press Tab");
}

/// What has the keyboard's focus: its tag, id and class.
async fn focused(browser: &Browser) -> Value {
    browser
        .client()
        .execute(
            "const e = document.activeElement;
             return { tag: e.tagName.toLowerCase(), id: e.id, class: e.className,
                      left: e.getBoundingClientRect().left, text: e.textContent.trim() };",
            vec![],
        )
        .await
        .expect("read the focus")
}

/// Layout only, so SQLite alone: the pages are the same on either database.
#[tokio::test]
async fn every_main_page_fits_a_phone_and_the_keyboard_skips_to_the_content() {
    let Some(browser) = Browser::start("pt-BR,pt").await else {
        return;
    };
    let app = spawn_for_browser(TestDb::sqlite(), |_| {}).await;
    let chl_token = chile(&app).await;
    brazil(&app).await;
    let preparing = app.described_inquiry(&chl_token, "BRA", false).await;
    let sent = app
        .send_inquiry(&chl_token, "BRA", "urgent", None, true)
        .await;
    let open = sent["id"].as_str().expect("an id").to_owned();
    let person = Person {
        browser: &browser,
        app: &app,
    };
    browser.phone_size().await;

    // Skipping the header: the first Tab reaches the skip link, shown once focused, and
    // following it puts the focus on the page's content.
    person.open("/sign-in").await;
    press_tab(&browser).await;
    let first = focused(&browser).await;
    assert_eq!(first["class"], "skip", "the first Tab stop: {first}");
    assert_eq!(first["text"], "Ir para o conteúdo");
    assert!(
        first["left"].as_f64().is_some_and(|left| left >= 0.0),
        "the focused skip link is on the screen: {first}"
    );
    browser
        .client()
        .perform_actions(
            KeyActions::new("keyboard".to_owned())
                .then(KeyAction::Down {
                    value: Key::Enter.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Enter.into(),
                }),
        )
        .await
        .expect("press Enter");
    let after = focused(&browser).await;
    assert_eq!(
        after["id"], "main",
        "the focus moved to the content: {after}"
    );

    person.assert_fits_width("the sign-in page").await;
    person.open("/no-such-page").await;
    person.assert_fits_width("the page not found").await;
    let store = Store::connect(&app.db.url).await.expect("connect");
    let links = store
        .create_sign_in_links(
            &EmailAddress::try_from(ANA.to_owned()).unwrap(),
            None,
            clock::now(),
        )
        .await
        .expect("a link");
    store.close().await;
    person.open(&format!("/sign-in/{}", links[0].secret)).await;
    person.assert_fits_width("the Continue page").await;
    person.press("#continue").await;
    assert_eq!(person.path().await, "/inbox");
    assert!(
        person.has("table.list tbody tr").await,
        "an inbox with rows"
    );
    person.assert_fits_width("the inbox").await;
    // Its column headings are hidden at this width: each cell names its column instead.
    let label = browser
        .client()
        .execute(
            "return getComputedStyle(document.querySelector('table.list td[data-label]'), '::before').content;",
            vec![],
        )
        .await
        .expect("read the cell's label");
    assert_eq!(label, "\"Outro Estado\"");
    person.open("/inquiries/new").await;
    person.assert_fits_width("the new inquiry page").await;
    person.open(&format!("/inquiries/{preparing}")).await;
    assert!(person.has("#action-request_info").await);
    person
        .assert_fits_width("an inquiry being prepared, with the request form")
        .await;
    person.open(&format!("/inquiries/{open}")).await;
    person
        .assert_fits_width("a sent inquiry, as its requester sees it")
        .await;
    person.sign_out().await;

    person.sign_in(BRUNO).await;
    person.open(&format!("/inquiries/{open}")).await;
    assert!(person.has("#action-acknowledge").await);
    person
        .assert_fits_width("an open inquiry, with the acknowledgement form")
        .await;
    browser.screenshot("inquiry-phone").await;
    browser.close().await;
}

/// Runs axe on each of `pages` (path, name) at desktop size, then checks each fits a
/// phone's width, and leaves the browser at desktop size.
async fn check_pages(person: &Person<'_>, pages: &[(&str, &str)]) {
    for (path, name) in pages {
        person.open(path).await;
        assert_eq!(person.path().await, *path, "{name} opens");
        person.browser.axe_check(name).await;
    }
    person.browser.phone_size().await;
    for (path, name) in pages {
        person.open(path).await;
        person.assert_fits_width(name).await;
    }
    person.browser.set_viewport(super::DESKTOP).await;
}

/// The Secretariat's pages (dashboard, checks, staff) and the directory and account pages,
/// as a POC and as the Secretariat's staff see them, with rows in their lists. Markup only,
/// so SQLite alone: their store paths run on both databases in tests/api/web_directory.rs
/// and tests/api/web_dashboard.rs.
#[tokio::test]
async fn the_secretariat_directory_and_account_pages_pass_axe_and_fit_a_phone() {
    let Some(browser) = Browser::start("fr").await else {
        return;
    };
    let app = spawn_for_browser(TestDb::sqlite(), |_| {}).await;
    let (ana_id, chl_token) = app.poc_with_token("CHL", "Ana Rojas").await;
    let (_, bra_token) = app.poc_with_token("BRA", "Bruno Lima").await;
    // The dashboard's every part filled: an acknowledged inquiry (its delays measured) and
    // one past its deadline.
    let answered = app
        .send_inquiry(&chl_token, "BRA", "urgent", None, false)
        .await;
    app.post(
        &format!(
            "/v1/inquiries/{}/acknowledge",
            answered["id"].as_str().unwrap()
        ),
        &bra_token,
        serde_json::json!({"estimated_timeframe": "P3D"}),
    )
    .await
    .assert_status(200);
    let late = app
        .send_inquiry(
            &chl_token,
            "BRA",
            "critical",
            Some(Duration::from_secs(1)),
            false,
        )
        .await;
    let late = format!("/v1/inquiries/{}", late["id"].as_str().unwrap());
    poll_until("the inquiry to pass its deadline", WAIT, async || {
        let view = app.get(&late, &chl_token).await;
        (view.assert_status(200)["overdue"] == true).then_some(())
    })
    .await;
    let check = app
        .post(
            "/v1/communication-checks",
            &app.secretariat,
            serde_json::json!({"member_states": ["BRA", "CHL"], "reply_window": "P3D"}),
        )
        .await;
    let check = format!(
        "/checks/{}",
        check.assert_status(201)["id"].as_str().expect("an id")
    );
    let store = Store::connect(&app.db.url).await.expect("connect");
    add_duty_officer(&store).await;
    store.close().await;
    let person = Person {
        browser: &browser,
        app: &app,
    };
    let own_record = format!("/directory/pocs/{ana_id}");

    person.sign_in(ANA).await;
    check_pages(
        &person,
        &[
            ("/directory", "the directory, as a POC"),
            ("/directory/CHL", "a member state, as its POC"),
            (&own_record, "a POC's own record, with its form"),
            ("/account", "the account page"),
            ("/checks", "the checks that ask a POC"),
            (&check, "a check, with a POC's reply form"),
        ],
    )
    .await;
    person.sign_out().await;

    person.sign_in("duty@oas.example.org").await;
    check_pages(
        &person,
        &[
            ("/dashboard", "the Secretariat's dashboard"),
            ("/checks", "the checks, with the form that starts one"),
            (&check, "a check, as the Secretariat sees its replies"),
            ("/directory", "the directory, as the Secretariat"),
            (
                "/directory/CHL",
                "a member state, with the Secretariat's form",
            ),
            ("/directory/pocs/new", "the new POC form"),
            (&own_record, "a POC's record, with the Secretariat's forms"),
            ("/staff", "the staff accounts"),
            ("/account", "the account page of staff"),
        ],
    )
    .await;
    person.open("/dashboard").await;
    browser.screenshot("dashboard").await;
    browser.close().await;
}

/// The UN Global POC Directory in a browser: a POC authorizes the Secretariat to send its
/// details from its own record; the Secretariat's staff sees it on the UN page, uploads a
/// file through the file field and reads what differs. Both pages pass axe. Markup and
/// forms only, so SQLite alone: the store and the forms run on both databases in
/// tests/api/un_directory.rs.
#[tokio::test]
async fn a_poc_consents_to_the_un_directory_and_the_secretariat_compares_a_file() {
    let Some(browser) = Browser::start("en").await else {
        return;
    };
    let app = spawn_for_browser(TestDb::sqlite(), |_| {}).await;
    chile(&app).await;
    let store = Store::connect(&app.db.url).await.expect("connect");
    add_duty_officer(&store).await;
    let ana_id = store
        .pocs_with_email(ANA)
        .await
        .expect("the POC")
        .first()
        .expect("Ana's record")
        .id;
    store.close().await;
    let person = Person {
        browser: &browser,
        app: &app,
    };

    person.sign_in(ANA).await;
    person.open(&format!("/directory/pocs/{ana_id}")).await;
    browser
        .axe_check("a POC's own record, with the UN consent")
        .await;
    person
        .press("form[action$='/share-with-un'] button[type=submit]")
        .await;
    assert!(
        person.path().await.ends_with("?done=un-consent-given"),
        "{}",
        person.path().await
    );
    assert!(
        person.text("#un").await.contains("Withdraw"),
        "{}",
        person.text("#un").await
    );
    person.sign_out().await;

    person.sign_in("duty@oas.example.org").await;
    person.open("/directory").await;
    person.press("a[href='/directory/un']").await;
    assert!(
        person
            .text("#un-entries")
            .await
            .contains("ana.rojas@mfa.example.org")
    );
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("un-holds.csv");
    std::fs::write(
        &file,
        "member_state,name,role,affiliation,email,phone,languages\n\
         CHL,Ana Rojas,diplomatic,Ministerio de Relaciones Exteriores de Chile,ana.rojas@mfa.example.org,+56 2 1234 5678,es\n\
         MEX,Ines Ruiz,technical,CERT-MX,ines@cert.example.org,,es\n",
    )
    .expect("the file");
    person
        .find(Locator::Id("un-compare-file"), "the file field")
        .await
        .send_keys(file.to_str().expect("a UTF-8 path"))
        .await
        .expect("choose the file");
    person
        .press("form[action='/directory/un/compare'] button[type=submit]")
        .await;
    let changed = person.text("#un-changed").await;
    assert!(changed.contains("+56 2 1234 5678"), "{changed}");
    assert!(
        person
            .text("#un-extra")
            .await
            .contains("ines@cert.example.org")
    );
    browser
        .axe_check("the UN directory page, with a comparison")
        .await;
    person.browser.phone_size().await;
    person
        .assert_fits_width("the UN directory page, with a comparison")
        .await;
    browser.close().await;
}
