//! Test harness: a fresh database per test, the real server on port 0, and HTTP helpers.

use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use cbm2::clock;
use cbm2::startup::{Application, Settings};
use cbm2::store::Store;
use cbm2::store::directory::Actor;
use cbm2::store::tokens::TokenOwner;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use tokio::sync::oneshot;

/// Where the PostgreSQL half of the suite connects to create its databases.
const POSTGRES_URL_VAR: &str = "CBM2_TEST_POSTGRES_URL";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Generates one `#[tokio::test]` per backend for each named `async fn(TestDb)`.
macro_rules! on_both_databases {
    ($($name:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::helpers::TestDb::sqlite()).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(db) = $crate::helpers::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            )+
        }
    };
}
pub(crate) use on_both_databases;

/// A database that exists for one test: a temporary SQLite file, or a PostgreSQL database
/// created for the test and dropped after it.
pub struct TestDb {
    pub url: String,
    /// The instance's signing key: beside the SQLite file (its default), or in the test's
    /// own temporary directory for PostgreSQL.
    pub signing_key: std::path::PathBuf,
    _dir: tempfile::TempDir,
    postgres: Option<(String, String)>,
}

impl TestDb {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("cbm2.db").display());
        Self {
            url,
            signing_key: dir.path().join("cbm2.db.signing-key"),
            _dir: dir,
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` (after saying so once) when no server is
    /// reachable outside CI. With `CI=true` an unreachable server fails the test.
    pub async fn postgres() -> Option<Self> {
        let admin_url =
            std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        if !postgres_reachable(&admin_url) {
            let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
            let how = format!(
                "PostgreSQL is not reachable at {admin_url}: start it, or point {POSTGRES_URL_VAR} \
                 at a server where this role may CREATE DATABASE (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
            );
            assert!(!in_ci, "{how} (required because CI=true)");
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                // Written past the test harness's capture so it shows once per run.
                let _ = writeln!(std::io::stderr(), "SKIPPING the PostgreSQL tests: {how}");
            });
            return None;
        }
        let name = format!("cbm2_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .expect("connect to PostgreSQL as admin");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let options = PgConnectOptions::from_str(&admin_url).expect("admin URL parses");
        let url = format!(
            "postgres://{}@{}:{}/{name}",
            options.get_username(),
            options.get_host(),
            options.get_port()
        );
        let dir = tempfile::tempdir().expect("temporary directory");
        Some(Self {
            url,
            signing_key: dir.path().join("cbm2-signing.key"),
            _dir: dir,
            postgres: Some((admin_url, name)),
        })
    }

    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// Runs `sql` directly on the database, behind the engine's back (to arrange a state
    /// the API cannot reach, or to look at what is stored).
    pub async fn execute(&self, sql: &str) -> u64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
        } else {
            let mut conn = self.sqlite_connection().await;
            sqlx::query(sql)
                .execute(&mut conn)
                .await
                .unwrap()
                .rows_affected()
        }
    }

    /// Runs `statements` in one transaction, behind the engine's back: a server running
    /// beside the test (its delivery worker, its sweeper) sees all of them or none.
    pub async fn execute_atomically(&self, statements: &[String]) {
        let begin = if self.is_postgres() {
            "BEGIN"
        } else {
            "BEGIN IMMEDIATE"
        };
        let script = sqlx::AssertSqlSafe(format!("{begin}; {}; COMMIT", statements.join("; ")));
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::raw_sql(script).execute(&mut conn).await.unwrap();
        } else {
            let mut conn = self.sqlite_connection().await;
            sqlx::raw_sql(script).execute(&mut conn).await.unwrap();
        }
    }

    /// A connection to the SQLite file that waits for the server's writer rather than
    /// failing with "database is locked" on a loaded machine.
    pub async fn sqlite_connection(&self) -> sqlx::SqliteConnection {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&self.url)
            .expect("SQLite URL parses")
            .busy_timeout(Duration::from_secs(60));
        sqlx::SqliteConnection::connect_with(&options)
            .await
            .unwrap()
    }

    /// Runs a query returning one text column, for looking at stored values.
    pub async fn fetch_strings(&self, sql: &str) -> Vec<String> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        } else {
            let mut conn = self.sqlite_connection().await;
            sqlx::query_scalar(sql).fetch_all(&mut conn).await.unwrap()
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async: a short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let drop_sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop_sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

fn postgres_reachable(url: &str) -> bool {
    static REACHABLE: OnceLock<bool> = OnceLock::new();
    *REACHABLE.get_or_init(|| {
        let Ok(options) = PgConnectOptions::from_str(url) else {
            return false;
        };
        let Ok(mut addrs) = (options.get_host(), options.get_port()).to_socket_addrs() else {
            return false;
        };
        addrs.any(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
    })
}

/// The server under test, running in the test's runtime, and a Secretariat token for it.
pub struct TestApp {
    pub address: String,
    pub db: TestDb,
    pub client: reqwest::Client,
    pub secretariat: String,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The client of a [`TestApp`] whose server closes connections idle for `keep_alive`: it
/// drops a pooled connection idle for four fifths of that, before the server closes it,
/// so that a request never goes out on a connection the server is closing at that instant
/// (the answer would be an `IncompleteMessage`, seen once after a test's 5 s of polling
/// another server).
fn app_client(keep_alive: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(keep_alive.mul_f64(0.8))
        .build()
        .expect("the test client")
}

/// Starts the real server on port 0 against `db`, with a Secretariat token issued the way
/// the command line issues it.
pub async fn spawn_app(db: TestDb) -> TestApp {
    spawn_app_with(db, |_| {}).await
}

/// Like [`spawn_app`], but `configure` may change the `Settings` (after the test defaults
/// are set) before the server starts.
pub async fn spawn_app_with(db: TestDb, configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = Settings::new(db.url.clone(), "127.0.0.1:0");
    settings.sweep_interval = std::time::Duration::from_millis(100);
    // Deliveries to receivers the tests run on 127.0.0.1, retried quickly.
    settings.delivery.poll_interval = std::time::Duration::from_millis(100);
    settings.delivery.retry_base = std::time::Duration::from_millis(100);
    settings.delivery.allow_private = true;
    settings.delivery.public_url = "https://cbm2.test".into();
    // Tests make requests far faster than a person: the rate limits are off unless a test
    // is about them (tests/api/limits.rs switches the defaults back on).
    settings.http.rate_limits = None;
    // The signing key in the test database's own directory, never the working directory.
    settings.signing_key = db.signing_key.clone();
    configure(&mut settings);
    let application = Application::build(&settings)
        .await
        .expect("the server builds");
    let address = format!("http://{}", application.local_addr());
    let (shutdown, stop) = oneshot::channel::<()>();
    tokio::spawn(application.run_until(async {
        let _ = stop.await;
    }));
    let secretariat = secretariat_token(&db.url).await;
    TestApp {
        address,
        db,
        client: app_client(settings.http.keep_alive_timeout),
        secretariat,
        shutdown: Some(shutdown),
    }
}

/// A Secretariat token issued on the database at `url`, the way the command line issues it.
async fn secretariat_token(url: &str) -> String {
    let store = Store::connect(url).await.expect("connect");
    let token = store
        .create_token(
            Actor::CommandLine,
            TokenOwner::Secretariat,
            None,
            clock::now(),
        )
        .await
        .expect("a Secretariat token")
        .secret;
    store.close().await;
    token
}

/// A response read whole: status, headers and JSON body (Null when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// Asserts this is a problem+json with `status`, and, if given, that it names `field`.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, field: Option<&str>) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.headers["content-type"], "application/problem+json",
            "body: {}",
            self.body
        );
        for member in ["type", "title", "status", "detail"] {
            assert!(
                self.body.get(member).is_some(),
                "problem lacks {member}: {}",
                self.body
            );
        }
        assert_eq!(self.body["status"], status);
        if let Some(field) = field {
            assert_eq!(self.body["field"], field, "problem: {}", self.body);
            let detail = self.body["detail"].as_str().unwrap();
            assert!(
                detail.contains(field),
                "detail {detail:?} does not name {field}"
            );
        }
        &self.body
    }

    #[track_caller]
    pub fn assert_status(&self, status: u16) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        &self.body
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.address));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        read(request.send().await.expect("the server answers")).await
    }

    /// Sends raw bytes with a content type, for malformed and oversized bodies.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Reply {
        let request = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body);
        read(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(token), Some(&body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(token), Some(&body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a POC through the API and returns its JSON.
    pub async fn create_poc(&self, member_state: &str, role: &str, name: &str) -> Value {
        let body = json!({
            "member_state": member_state,
            "name": name,
            "affiliation": format!("Ministry of Foreign Affairs of {member_state}"),
            "role": role,
            "email": format!("{}@mfa.example.org", name.to_lowercase().replace(' ', ".")),
            "languages": ["es", "en"],
        });
        self.post("/v1/pocs", &self.secretariat, body)
            .await
            .assert_status(201)
            .clone()
    }

    /// Issues a token for a POC through the API and returns (token id, secret).
    pub async fn issue_token(&self, poc_id: &str) -> (String, String) {
        let reply = self
            .post(
                &format!("/v1/pocs/{poc_id}/tokens"),
                &self.secretariat,
                json!({"label": "test"}),
            )
            .await;
        let body = reply.assert_status(201);
        (
            body["id"].as_str().unwrap().to_owned(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// The secret of a token of a new POC of `member_state`, revoked by the Secretariat.
    pub async fn revoked_token(&self, member_state: &str, name: &str) -> String {
        let (poc, _) = self.poc_with_token(member_state, name).await;
        let (token_id, secret) = self.issue_token(&poc).await;
        self.delete(&format!("/v1/tokens/{token_id}"), &self.secretariat)
            .await
            .assert_status(204);
        secret
    }

    /// A POC of `member_state` and its token.
    pub async fn poc_with_token(&self, member_state: &str, name: &str) -> (String, String) {
        self.poc_of_role_with_token(member_state, "policy", name)
            .await
    }

    /// A technical POC of `member_state` (its CSIRT, say) with a token: (id, token).
    pub async fn technical_poc_with_token(
        &self,
        member_state: &str,
        name: &str,
    ) -> (String, String) {
        self.poc_of_role_with_token(member_state, "technical", name)
            .await
    }

    async fn poc_of_role_with_token(
        &self,
        member_state: &str,
        role: &str,
        name: &str,
    ) -> (String, String) {
        let poc = self.create_poc(member_state, role, name).await;
        let id = poc["id"].as_str().unwrap().to_owned();
        let (_, token) = self.issue_token(&id).await;
        (id, token)
    }

    /// Checks what every inquiry test must leave true: each inquiry's stored row equals
    /// the replay of its stored events through the protocol, and the hash chain verifies,
    /// both through the store and through `cbm2 audit verify`.
    pub async fn assert_audit_intact(&self) {
        let store = Store::connect(&self.db.url).await.expect("connect");
        let ids = store.inquiry_ids().await.expect("inquiry ids");
        for id in &ids {
            // The server's sweeper may record an event between the two reads: read again
            // until both reads saw the same version.
            let mut attempts = 0;
            let (stored, replayed) = loop {
                let stored = store.get_inquiry(*id).await.unwrap().expect("stored");
                let replayed = store.replay_inquiry(*id).await.unwrap().expect("events");
                attempts += 1;
                if stored.version == replayed.version || attempts == 5 {
                    break (stored, replayed);
                }
            };
            assert_eq!(
                replayed, stored,
                "inquiry {id}: replaying its events gives another row"
            );
        }
        let report = store.verify_chain(None).await.expect("verify");
        assert!(
            matches!(report, cbm2::store::chain::ChainReport::Valid { .. }),
            "the chain is broken: {report:?}"
        );
        store.close().await;
        let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_cbm2"))
            .args(["--database-url", &self.db.url, "audit", "verify"])
            .output()
            .await
            .expect("cbm2 audit verify runs");
        assert!(
            output.status.success(),
            "cbm2 audit verify failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// How many entries the directory log holds (all pages).
    pub async fn directory_event_count(&self) -> usize {
        self.collect_pages("/v1/directory/events?limit=200")
            .await
            .len()
    }

    /// Follows `next_cursor` to the end, as the Secretariat, and returns every item.
    pub async fn collect_pages(&self, first: &str) -> Vec<Value> {
        self.collect_pages_as(first, &self.secretariat).await
    }

    /// Follows `next_cursor` to the end, as `token`, and returns every item.
    pub async fn collect_pages_as(&self, first: &str, token: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut path = first.to_owned();
        loop {
            let reply = self.get(&path, token).await;
            let body = reply.assert_status(200);
            items.extend(body["items"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(cursor) => {
                    let base = first.split("cursor=").next().unwrap();
                    let sep = if base.contains('?') { '&' } else { '?' };
                    path = format!("{}{sep}cursor={cursor}", base.trim_end_matches('&'));
                }
                None => return items,
            }
        }
    }
}

/// A response read whole (for requests the helpers do not build).
pub async fn read(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.expect("a body");
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| panic!("the body is not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    Reply {
        status,
        headers,
        body,
    }
}

/// One POST of a batch sent at once: path, token, body and extra headers.
pub struct ConcurrentPost {
    pub path: String,
    pub token: String,
    pub body: Value,
    pub headers: Vec<(&'static str, String)>,
}

impl TestApp {
    /// POST with extra headers (`If-Match`, `Idempotency-Key`).
    pub async fn post_with_headers(
        &self,
        path: &str,
        token: &str,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = self
            .client
            .post(format!("{}{path}", self.address))
            .bearer_auth(token)
            .json(&body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        read(request.send().await.expect("the server answers")).await
    }

    /// Sends every request in its own task, released together by a barrier so that they
    /// reach the server at the same time; the replies come back in the order given.
    pub async fn post_all_at_once(&self, posts: Vec<ConcurrentPost>) -> Vec<Reply> {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(posts.len()));
        let tasks: Vec<_> = posts
            .into_iter()
            .map(|post| {
                let mut request = self
                    .client
                    .post(format!("{}{}", self.address, post.path))
                    .bearer_auth(&post.token)
                    .json(&post.body);
                for (name, value) in &post.headers {
                    request = request.header(*name, value);
                }
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    read(request.send().await.expect("the server answers")).await
                })
            })
            .collect();
        let mut replies = Vec::with_capacity(tasks.len());
        for task in tasks {
            replies.push(task.await.expect("the request task completes"));
        }
        replies
    }
}

impl TestDb {
    /// Like [`TestDb::execute`], but hands back the database's refusal instead of panicking.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
            Ok(sqlx::query(sql).execute(&mut conn).await?.rows_affected())
        }
    }

    /// An inquiry id as a SQL literal of this database (SQLite stores UUIDs as 16 bytes).
    pub fn uuid_literal(&self, id: &str) -> String {
        if self.is_postgres() {
            format!("'{id}'")
        } else {
            format!("X'{}'", id.replace('-', ""))
        }
    }
}

// Helpers of the deadline, monitoring and communication-check tests.

impl TestApp {
    /// A `TestApp` speaking to a server run elsewhere (a `cbm2 serve` child process at
    /// `address`, `host:port`) on `db`, with a Secretariat token issued on that database.
    /// Dropping it stops nothing: the caller stops the server.
    pub async fn attach(db: TestDb, address: &str) -> TestApp {
        let secretariat = secretariat_token(&db.url).await;
        TestApp {
            address: format!("http://{address}"),
            db,
            // A `cbm2 serve` of the tests runs with the default keep-alive timeout.
            client: app_client(cbm2::http::limits::HttpLimits::default().keep_alive_timeout),
            secretariat,
            shutdown: None,
        }
    }

    /// Brings a new inquiry of `requester`'s state (a POC token) to `awaiting_response`,
    /// addressed to `responding_state`, and returns it as the `request-info` answer shows it.
    /// With `respond_in`, the acknowledgement deadline is `respond_by` = that long after the
    /// moment `request-info` is sent; without, the time sensitivity's default applies.
    pub async fn send_inquiry(
        &self,
        requester: &str,
        responding_state: &str,
        time_sensitivity: &str,
        respond_in: Option<Duration>,
        exercise: bool,
    ) -> Value {
        let id = self
            .described_inquiry(requester, responding_state, exercise)
            .await;
        let path = |action: &str| format!("/v1/inquiries/{id}/{action}");
        let mut body = json!({
            "questions": "Do you see this activity from your networks?",
            "contact": {"name": "Duty Officer", "email": "x@example.org"},
            "time_sensitivity": time_sensitivity,
        });
        if let Some(respond_in) = respond_in {
            let respond_by = clock::now() + chrono::TimeDelta::from_std(respond_in).unwrap();
            body["respond_by"] =
                json!(respond_by.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
        }
        let sent = self.post(&path("request-info"), requester, body).await;
        let view = sent.assert_status(200).clone();
        assert_eq!(view["status"], "awaiting_response", "{view}");
        view
    }

    /// Takes an inquiry that `requester` has looked up (`poc_identified`) through `invoke`,
    /// `describe` and `request-info`: it is sent, routine.
    pub async fn send_looked_up(&self, id: &str, requester: &str) {
        for (action, body) in [
            ("invoke", json!({})),
            (
                "describe",
                json!({"nature": "Botnet traffic", "category": "botnet", "sectors": []}),
            ),
            (
                "request-info",
                json!({
                    "questions": "Is this host yours?",
                    "contact": {"name": "Duty Officer", "email": "x@example.org"},
                    "time_sensitivity": "routine",
                }),
            ),
        ] {
            self.post(&format!("/v1/inquiries/{id}/{action}"), requester, body)
                .await
                .assert_status(200);
        }
    }

    /// A new inquiry of `requester`'s brought to `incident_described`, addressed to
    /// `responding_state`; returns its id.
    pub async fn described_inquiry(
        &self,
        requester: &str,
        responding_state: &str,
        exercise: bool,
    ) -> String {
        let draft = self
            .post("/v1/inquiries", requester, json!({"exercise": exercise}))
            .await;
        let id = draft.assert_status(201)["id"].as_str().unwrap().to_owned();
        for (action, body) in [
            ("lookup-poc", json!({"member_state": responding_state})),
            ("invoke", json!({})),
            (
                "describe",
                json!({"nature": "Scanning of the ministry's mail servers", "category": "scanning", "sectors": []}),
            ),
        ] {
            self.post(&format!("/v1/inquiries/{id}/{action}"), requester, body)
                .await
                .assert_status(200);
        }
        id
    }

    /// The audit trail of an inquiry as `token` sees it (`GET /v1/inquiries/{id}/events`).
    pub async fn inquiry_events(&self, id: &str, token: &str) -> Vec<Value> {
        self.collect_pages_as(&format!("/v1/inquiries/{id}/events?limit=200"), token)
            .await
    }

    /// GET returning the body as text (CSV), with the status.
    pub async fn get_text(&self, path: &str, token: &str) -> (StatusCode, String) {
        let response = self
            .client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .expect("the server answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }
}

impl TestDb {
    /// The number a `SELECT count(*) …` query returns.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        if self.is_postgres() {
            let mut conn = PgConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&self.url).await.unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
        }
    }
}

/// Calls `check` every 50 ms until it gives `Some`, and returns that; fails the test
/// naming `what` when `timeout` passes first.
pub async fn poll_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `count` inquiries of `requester`'s brought to `incident_described` and addressed to
/// `responding_state`, twenty requests at a time; returns their ids.
pub async fn described_inquiries(
    app: &std::sync::Arc<TestApp>,
    requester: &str,
    responding_state: &str,
    count: usize,
) -> Vec<String> {
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(20));
    let mut tasks = Vec::with_capacity(count);
    for _ in 0..count {
        let (app, gate) = (app.clone(), gate.clone());
        let (requester, state) = (requester.to_owned(), responding_state.to_owned());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            app.described_inquiry(&requester, &state, false).await
        }));
    }
    let mut ids = Vec::with_capacity(count);
    for task in tasks {
        ids.push(task.await.unwrap());
    }
    ids
}

/// A transaction the test holds open that keeps the server's writes of inquiries waiting:
/// SQLite's write lock, or an exclusive lock on PostgreSQL's `inquiries` table.
pub enum WriteLock {
    Sqlite(sqlx::SqliteConnection),
    Postgres(PgConnection),
}

impl WriteLock {
    pub async fn hold(db: &TestDb) -> Self {
        if db.is_postgres() {
            let mut conn = PgConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("BEGIN; LOCK TABLE inquiries IN ACCESS EXCLUSIVE MODE")
                .execute(&mut conn)
                .await
                .unwrap();
            WriteLock::Postgres(conn)
        } else {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
            sqlx::raw_sql("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .await
                .unwrap();
            WriteLock::Sqlite(conn)
        }
    }

    pub async fn release(self) {
        match self {
            WriteLock::Sqlite(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
            WriteLock::Postgres(mut conn) => {
                sqlx::raw_sql("ROLLBACK").execute(&mut conn).await.unwrap();
                conn.close().await.unwrap();
            }
        }
    }
}
