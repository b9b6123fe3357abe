//! Browser tests: the pages driven in headless Chromium through chromedriver (WebDriver,
//! with fantoccini), checked with axe-core and photographed.
//!
//! [`Browser::start`] takes a global turn first, so the browser tests of the whole binary
//! run one at a time (a browser is heavy on a 2-core machine); the other tests still run
//! beside them. Each test gets its own chromedriver on a free port, in its own process
//! group, which is killed with the browsers it started when the [`Browser`] is dropped,
//! panic or not.
//!
//! Without Chromium and chromedriver the browser tests are skipped, after one line saying how
//! to install them, unless `CI=true`, where they are required (the way `helpers.rs` treats
//! PostgreSQL).

mod harness;
mod pages;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{Value, json};
use tokio::sync::{Mutex, MutexGuard};

/// What the tests install Chromium with, on Debian.
const HOW_TO_INSTALL: &str = "apt-get install -y chromium chromium-driver fonts-liberation";

/// The viewport of a desktop browser, the one every test starts with.
pub const DESKTOP: (u32, u32) = (1280, 900);

/// The viewport of a phone held upright (an iPhone 12 to 15), for responsive checks.
pub const PHONE: (u32, u32) = (390, 844);

/// axe-core, vendored (see src/web/assets/VENDORED.md).
const AXE_JS: &str = include_str!("axe.min.js");

/// The rule sets the pages must pass: WCAG 2.0 and 2.1, levels A and AA.
const AXE_TAGS: [&str; 4] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/// How long chromedriver may take to answer `/status` on a loaded machine.
const DRIVER_READY_WITHIN: Duration = Duration::from_secs(30);

/// Held by the one browser test running: the turn the others wait for. tokio's lock is
/// not poisoned by a test that panics holding it, and works across the tests' runtimes.
static TURN: Mutex<()> = Mutex::const_new(());

/// A headless Chromium for one test, with its chromedriver and the browser-test turn.
pub struct Browser {
    // Fields drop in order: the session, then chromedriver (and the browsers it started),
    // and only then the turn is handed on.
    client: Client,
    _driver: DriverGuard,
    _turn: MutexGuard<'static, ()>,
}

impl Browser {
    /// A headless Chromium whose requests carry `Accept-Language` built from
    /// `accept_language` (e.g. "es-419,es"; Chromium adds the q-values), with a
    /// [`DESKTOP`] viewport. Waits for the other browser tests to finish first.
    ///
    /// `None`, after printing once how to install them, when Chromium or chromedriver is
    /// missing outside CI; under `CI=true` that panics instead.
    pub async fn start(accept_language: &str) -> Option<Browser> {
        let (chromium, chromedriver) = installed_or_skip()?;
        let turn = TURN.lock().await;
        let driver = DriverGuard::spawn(&chromedriver).await;
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    // Tests run as root in containers, where the sandbox cannot start.
                    "--no-sandbox",
                    // Containers often have a tiny /dev/shm; Chromium then crashes on big pages.
                    "--disable-dev-shm-usage",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                ],
                "prefs": { "intl.accept_languages": accept_language },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url)
            .await
            .unwrap_or_else(|error| panic!("Chromium starts through chromedriver: {error}"));
        let browser = Browser {
            client,
            _driver: driver,
            _turn: turn,
        };
        browser.set_viewport(DESKTOP).await;
        Some(browser)
    }

    /// The WebDriver session, for what the helpers here do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits until it has loaded.
    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    /// Resizes the window so that the page sees exactly `width` x `height` CSS pixels (the
    /// size a screenshot has), whatever the window's own frame takes. Chromium applies a
    /// resize after answering it, now and then after the page was measured: the size is
    /// asked again (the frame measured afresh, from the window as it is) until the page
    /// sees it, for two seconds.
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
        let (mut window_width, mut window_height) = (width, height);
        loop {
            self.client
                .set_window_size(window_width, window_height)
                .await
                .expect("resize the window");
            let (inner_width, inner_height) = self.viewport().await;
            if (inner_width, inner_height) == (width, height) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the browser refused a {width}x{height} viewport: the page sees \
                 {inner_width}x{inner_height} in a {window_width}x{window_height} window"
            );
            // The frame is what the window, as it is now, has beyond the page: add it to
            // the size asked.
            let (outer_width, outer_height) = self
                .client
                .get_window_size()
                .await
                .expect("read the window's size");
            let frame_width = u32::try_from(outer_width)
                .unwrap_or(width)
                .saturating_sub(inner_width);
            let frame_height = u32::try_from(outer_height)
                .unwrap_or(height)
                .saturating_sub(inner_height);
            (window_width, window_height) = (width + frame_width, height + frame_height);
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    /// Shrinks the viewport to a phone's, for a responsive check.
    pub async fn phone_size(&self) {
        self.set_viewport(PHONE).await;
    }

    /// What the page sees: `innerWidth` x `innerHeight`.
    pub async fn viewport(&self) -> (u32, u32) {
        let size = self
            .client
            .execute("return [window.innerWidth, window.innerHeight];", vec![])
            .await
            .expect("read the viewport");
        let side = |i: usize| {
            size[i]
                .as_u64()
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or_else(|| panic!("a viewport size: {size}"))
        };
        (side(0), side(1))
    }

    /// Runs axe-core's WCAG 2.0/2.1 A and AA rules on the current page and panics listing
    /// every serious or critical violation (rule, what to fix, the elements' selectors).
    /// Moderate and minor ones are printed, not failed on.
    ///
    /// axe is injected through WebDriver's Execute Script, which a page's
    /// Content-Security-Policy does not apply to: the pages need not allow any script for it.
    pub async fn axe_check(&self, page_name: &str) {
        let violations = self.axe_violations().await;
        let (failing, noted): (Vec<_>, Vec<_>) = violations
            .into_iter()
            .partition(|violation| matches!(violation.impact.as_str(), "serious" | "critical"));
        for violation in &noted {
            eprintln!("axe on {page_name} (not failing): {violation}");
        }
        if !failing.is_empty() {
            let list: Vec<String> = failing.iter().map(|v| format!("- {v}")).collect();
            panic!(
                "axe finds {} serious or critical violation(s) on {page_name}:\n{}",
                failing.len(),
                list.join("\n")
            );
        }
    }

    /// Every violation axe-core's WCAG 2.0/2.1 A and AA rules find on the current page.
    pub async fn axe_violations(&self) -> Vec<AxeViolation> {
        // A navigation drops what was injected: inject again when the page lacks it.
        let present = self
            .client
            .execute("return typeof window.axe === 'object';", vec![])
            .await
            .expect("look for axe");
        if present != Value::Bool(true) {
            self.client
                .execute(AXE_JS, vec![])
                .await
                .expect("inject axe-core");
        }
        let outcome = self
            .client
            .execute_async(
                r#"const [tags, done] = arguments;
                window.axe
                    .run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
                    .then(
                        (results) => done({ violations: results.violations.map((v) => ({
                            id: v.id,
                            impact: v.impact || "",
                            help: v.help,
                            targets: v.nodes.map((node) => node.target.join(" ")),
                        })) }),
                        (error) => done({ error: String(error) }),
                    );"#,
                vec![json!(AXE_TAGS)],
            )
            .await
            .expect("run axe-core");
        if let Some(error) = outcome.get("error") {
            panic!("axe-core failed: {error}");
        }
        serde_json::from_value(outcome["violations"].clone())
            .unwrap_or_else(|error| panic!("axe's violations: {error}: {outcome}"))
    }

    /// Saves a PNG of the viewport as `target/screenshots/NAME.png`, and also as
    /// `docs/screenshots/NAME.png` when `CBM2_UPDATE_SCREENSHOTS=1` (so ordinary runs
    /// leave the checkout clean). Returns the path under `target/`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let (png, under_target) = self.screenshot_in_target(name).await;
        if std::env::var("CBM2_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
            write_file(&docs.join(format!("{name}.png")), &png);
        }
        under_target
    }

    /// Saves a PNG of the viewport as `target/screenshots/NAME.png` only, never in docs/
    /// (for the harness's own tests); returns the image and its path.
    pub async fn screenshot_in_target(&self, name: &str) -> (Vec<u8>, PathBuf) {
        let png = self.client.screenshot().await.expect("take a screenshot");
        let under_target = target_dir().join("screenshots").join(format!("{name}.png"));
        write_file(&under_target, &png);
        (png, under_target)
    }

    /// Ends the session (Chromium exits), then stops chromedriver and hands on the turn.
    pub async fn close(self) {
        let Browser {
            client,
            _driver,
            _turn,
        } = self;
        client.close().await.expect("end the WebDriver session");
    }
}

/// One rule axe-core finds broken on a page.
#[derive(Debug, serde::Deserialize)]
pub struct AxeViolation {
    /// The rule, e.g. `label` or `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule asks for, in a sentence.
    pub help: String,
    /// A CSS selector for each element that breaks it.
    pub targets: Vec<String>,
}

/// How many elements a violation names before it counts the rest: one broken partial can
/// repeat a violation hundreds of times.
const TARGETS_SHOWN: usize = 5;

impl std::fmt::Display for AxeViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = &self.targets[..self.targets.len().min(TARGETS_SHOWN)];
        write!(
            f,
            "{} ({}): {} at {}",
            self.id,
            self.impact,
            self.help,
            shown.join(", ")
        )?;
        let more = self.targets.len() - shown.len();
        if more > 0 {
            write!(f, " and {more} more")?;
        }
        Ok(())
    }
}

/// Chromium's and chromedriver's paths, or `None` (said once) when either is missing
/// outside CI. Under `CI=true` a missing one fails the test.
fn installed_or_skip() -> Option<(PathBuf, PathBuf)> {
    let chromium = on_path("chromium");
    let chromedriver = on_path("chromedriver");
    if let (Some(chromium), Some(chromedriver)) = (&chromium, &chromedriver) {
        return Some((chromium.clone(), chromedriver.clone()));
    }
    let missing: Vec<&str> = [("chromium", &chromium), ("chromedriver", &chromedriver)]
        .into_iter()
        .filter(|(_, path)| path.is_none())
        .map(|(name, _)| name)
        .collect();
    let how = format!(
        "{} not found on PATH: install them with `{HOW_TO_INSTALL}`",
        missing.join(" and ")
    );
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!in_ci, "{how} (required because CI=true)");
    static SAID: OnceLock<()> = OnceLock::new();
    SAID.get_or_init(|| {
        // Written past the test harness's capture so it shows once per run.
        let _ = writeln!(std::io::stderr(), "SKIPPING the browser tests: {how}");
    });
    None
}

/// The first executable file called `name` in a directory of `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|file| {
            file.metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// The build's `target/` directory: the test binary runs from `target/<profile>/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.ancestors()
        .nth(3)
        .expect("the test binary lies in target/<profile>/deps")
        .to_path_buf()
}

fn write_file(path: &Path, bytes: &[u8]) {
    let dir = path.parent().expect("a file in a directory");
    std::fs::create_dir_all(dir).unwrap_or_else(|error| panic!("create {dir:?}: {error}"));
    std::fs::write(path, bytes).unwrap_or_else(|error| panic!("write {path:?}: {error}"));
}

/// A chromedriver running for one test, in a process group of its own with the browsers
/// it starts, all killed when this is dropped (also when the test panics).
struct DriverGuard {
    child: Child,
    url: String,
    /// chromedriver's output, shown if it fails to start.
    log: tempfile::NamedTempFile,
}

impl DriverGuard {
    /// Starts chromedriver on a free port and waits until `/status` says it is ready.
    async fn spawn(chromedriver: &Path) -> DriverGuard {
        // The port is free now; chromedriver takes it a moment later. Another process
        // taking it in between is possible but rare, and then the start fails loudly.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let log = tempfile::NamedTempFile::new().expect("a log file for chromedriver");
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.path().display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own group: Drop kills chromedriver and its browsers in one signal.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|error| panic!("start {chromedriver:?}: {error}"))
        };
        let mut guard = DriverGuard {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
        };
        guard.wait_until_ready().await;
        guard
    }

    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let status_url = format!("{}/status", self.url);
        let deadline = Instant::now() + DRIVER_READY_WITHIN;
        loop {
            if let Ok(Some(exit)) = self.child.try_wait() {
                panic!("chromedriver exited with {exit}: {}", self.log_text());
            }
            let ready = match client.get(&status_url).send().await {
                Ok(response) => response
                    .json::<Value>()
                    .await
                    .is_ok_and(|status| status["value"]["ready"] == Value::Bool(true)),
                Err(_) => false,
            };
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready at {status_url} within {DRIVER_READY_WITHIN:?}: {}",
                self.log_text()
            );
            // Polling, not waiting a guessed time: the loop ends as soon as it answers.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }
}

impl Drop for DriverGuard {
    fn drop(&mut self) {
        let group = libc::pid_t::try_from(self.child.id()).expect("a pid fits pid_t");
        // SAFETY: killpg only sends a signal. The group is the one spawn() created: Linux
        // reuses neither its id while our child is unreaped (only a chromedriver that died
        // early has been reaped, in wait_until_ready) nor while any member lives.
        unsafe {
            libc::killpg(group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
