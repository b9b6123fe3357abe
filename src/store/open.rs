//! Opening the database for a command: whether it may be created, which one it is (for the
//! log), and failures told as a cause and a fix, on one line.
//!
//! Only `serve` and `migrate` create a SQLite file: any other command run from another
//! directory, or with a typo in the path, would otherwise create an empty database and,
//! say, report its empty audit trail sound. PostgreSQL is reached once, directly and within
//! the connect timeout, before the pool is built: the pool retries a refused connection
//! until its acquire timeout and then reports only `pool timed out`.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnectOptions;

use super::{Store, StoreError, is_postgres_url, is_sqlite_url};

/// By default a command gives up on an unanswered PostgreSQL server after five seconds.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a command opens its database.
#[derive(Debug, Clone, Copy)]
pub struct OpenOptions {
    /// Create a missing SQLite file (`serve` and `migrate` only).
    pub create: bool,
    /// How long to wait for PostgreSQL to accept the first connection.
    pub connect_timeout: Duration,
}

/// Why the database could not be opened: each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "the SQLite database {path} does not exist: to create it run `cbm2 migrate --database-url \
         {url}` (or `cbm2 serve`, which creates it); to use another database give its \
         --database-url (or CBM2_DATABASE_URL)",
        path = path.display()
    )]
    SqliteMissing { path: PathBuf, url: String },
    #[error("cannot open the SQLite database {path}: {problem}", path = path.display())]
    Sqlite { path: PathBuf, problem: String },
    #[error("cannot reach PostgreSQL at {server}: {problem}")]
    PostgresUnreachable { server: String, problem: String },
    #[error(
        "PostgreSQL at {server} has no database {database:?}: create it with `createdb \
         {createdb}`, or correct the database name in --database-url"
    )]
    PostgresNoDatabase {
        server: String,
        database: String,
        /// The arguments of `createdb` that create it on that server.
        createdb: String,
    },
    #[error(
        "PostgreSQL at {server} refused user {user:?}: {message}; check the user and password \
         in --database-url (or CBM2_DATABASE_URL) and the server's pg_hba.conf"
    )]
    PostgresRefused {
        server: String,
        user: String,
        message: String,
    },
    #[error("cannot connect to PostgreSQL at {server}: {problem}")]
    Postgres { server: String, problem: String },
    #[error(
        "invalid database URL {url:?}: {problem} (e.g. sqlite://cbm2.db or \
         postgres://USER@HOST:5432/DB)"
    )]
    BadUrl { url: String, problem: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The file a SQLite URL names; `None` for an in-memory database or another backend's URL.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    if !is_sqlite_url(url) {
        return None;
    }
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = database == ":memory:"
        || url::form_urlencoded::parse(params.as_bytes())
            .any(|(key, value)| key == "mode" && value == "memory");
    let options = SqliteConnectOptions::from_str(url).ok()?;
    (!in_memory).then(|| options.get_filename().to_path_buf())
}

/// The database `url` names, as a log or a person should see it: a SQLite file by its
/// absolute path, a PostgreSQL URL without its password.
pub fn describe(url: &str) -> String {
    if is_sqlite_url(url) {
        return match sqlite_file(url) {
            Some(path) => {
                let path = std::path::absolute(&path).unwrap_or(path);
                format!("sqlite://{}", path.display())
            }
            None => url.to_owned(),
        };
    }
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "(an unparsable URL)".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(None);
    }
    // libpq-style parameters may carry secrets too.
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .filter(|(key, _)| !key.contains("password"))
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    if pairs.is_empty() {
        parsed.set_query(None);
    } else {
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

impl Store {
    /// Opens the database at `url` for a command and applies pending migrations. A missing
    /// SQLite file is created only when `options.create` says so; every failure to open
    /// names the database and what to do.
    pub async fn open(url: &str, options: OpenOptions) -> Result<Self, OpenError> {
        let bad_url = |error: sqlx::Error| OpenError::BadUrl {
            url: describe(url),
            problem: error.to_string(),
        };
        let store = if is_sqlite_url(url) {
            let sqlite = SqliteConnectOptions::from_str(url).map_err(bad_url)?;
            match sqlite_file(url) {
                Some(path) => {
                    if !options.create && !path.exists() {
                        let path = std::path::absolute(&path).unwrap_or(path);
                        return Err(OpenError::SqliteMissing {
                            url: format!("sqlite://{}", path.display()),
                            path,
                        });
                    }
                    Self::connect_sqlite(sqlite.create_if_missing(options.create))
                        .await
                        .map_err(|error| OpenError::Sqlite {
                            problem: sqlite_problem(&path, &error),
                            path,
                        })?
                }
                None => Self::connect_sqlite(sqlite)
                    .await
                    .map_err(StoreError::from)?,
            }
        } else if is_postgres_url(url) {
            let postgres = PgConnectOptions::from_str(url).map_err(bad_url)?;
            probe_postgres(&postgres, options.connect_timeout).await?;
            Self::connect_postgres(postgres)
                .await
                .map_err(StoreError::from)?
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()).into());
        };
        store.migrate().await?;
        Ok(store)
    }
}

/// What keeps SQLite from opening `path`, and what to do: read off the file system, since
/// SQLite says only `unable to open database file`.
fn sqlite_problem(path: &Path, error: &sqlx::Error) -> String {
    let (cause, primary_code) = match error {
        sqlx::Error::Database(e) => (
            e.message().to_owned(),
            e.code()
                .and_then(|code| code.parse::<i32>().ok())
                .map(|code| code & 0xff),
        ),
        other => (other.to_string(), None),
    };
    const CANTOPEN: i32 = 14;
    const READONLY: i32 = 8;
    const FULL: i32 = 13;
    const NOTADB: i32 = 26;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    match primary_code {
        Some(CANTOPEN | READONLY) | None => {}
        Some(FULL) => return format!("{cause}: free some space on its file system"),
        Some(NOTADB) => {
            return format!("{cause}: this file is not a SQLite database; check --database-url");
        }
        Some(_) => return cause,
    }
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == ErrorKind::NotFound => format!(
            "the directory {dir} does not exist: create it (mkdir -p {dir}) or choose another \
             path in --database-url",
            dir = dir.display()
        ),
        Ok(meta) if !meta.is_dir() => format!(
            "{} is not a directory: choose another path in --database-url",
            dir.display()
        ),
        Err(e) if e.kind() == ErrorKind::NotADirectory => format!(
            "a part of {} is not a directory: choose another path in --database-url",
            dir.display()
        ),
        _ => {
            let file_refused = path
                .exists()
                .then(|| {
                    std::fs::OpenOptions::new()
                        .read(true)
                        .write(true)
                        .open(path)
                        .err()
                })
                .flatten();
            match file_refused {
                Some(e) => format!(
                    "{e}: this user cannot read and write the file; give cbm2's user access to \
                     it (chown, chmod) or choose another path in --database-url"
                ),
                None => format!(
                    "{cause}: this user cannot create files in {dir} (SQLite writes the database \
                     and its -wal and -shm files there: permission denied, or a read-only file \
                     system); make the directory writable for cbm2's user or choose another \
                     path in --database-url",
                    dir = dir.display()
                ),
            }
        }
    }
}

/// Connects to PostgreSQL once, within `timeout`, and turns a failure into what to do.
async fn probe_postgres(options: &PgConnectOptions, timeout: Duration) -> Result<(), OpenError> {
    let server = match options.get_socket() {
        Some(socket) => format!("{} (socket)", socket.display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    };
    let connection = match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await
    {
        Err(_) => {
            return Err(OpenError::PostgresUnreachable {
                server,
                problem: format!(
                    "no answer within {} (--connect-timeout); is the host right and its port \
                     open to this machine?",
                    humantime::format_duration(timeout)
                ),
            });
        }
        Ok(connection) => connection,
    };
    let error = match connection {
        Ok(connection) => {
            // The pool opens its own; this one only proved the server is there.
            let _ = connection.close().await;
            return Ok(());
        }
        Err(error) => error,
    };
    Err(match &error {
        sqlx::Error::Io(io) if io.kind() == ErrorKind::ConnectionRefused => {
            OpenError::PostgresUnreachable {
                server,
                problem: "connection refused; is it running, on this port?".into(),
            }
        }
        sqlx::Error::Io(io) => OpenError::PostgresUnreachable {
            server,
            problem: format!("{io}; check the host and port in --database-url"),
        },
        sqlx::Error::Database(db) => match db.code().as_deref() {
            // invalid_catalog_name
            Some("3D000") => {
                let database = options
                    .get_database()
                    .unwrap_or(options.get_username())
                    .to_owned();
                let createdb = match options.get_socket() {
                    Some(_) => format!("-U {} {database}", options.get_username()),
                    None => format!(
                        "-h {} -p {} -U {} {database}",
                        options.get_host(),
                        options.get_port(),
                        options.get_username()
                    ),
                };
                OpenError::PostgresNoDatabase {
                    server,
                    database,
                    createdb,
                }
            }
            // invalid_password, invalid_authorization_specification
            Some("28P01" | "28000") => OpenError::PostgresRefused {
                server,
                user: options.get_username().to_owned(),
                message: db.message().to_owned(),
            },
            _ => OpenError::Postgres {
                server,
                problem: db.message().to_owned(),
            },
        },
        sqlx::Error::Protocol(_) | sqlx::Error::Tls(_) => OpenError::Postgres {
            server,
            problem: format!(
                "{error}; is a PostgreSQL server listening there? check the host and port in \
                 --database-url (and its sslmode)"
            ),
        },
        other => OpenError::Postgres {
            server,
            problem: other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_is_described_without_its_password() {
        let described = describe("postgres://cbm2:s3cret@db.example.org:5433/cbm2?sslmode=require");
        assert_eq!(
            described,
            "postgres://cbm2@db.example.org:5433/cbm2?sslmode=require"
        );
        let described = describe("postgres://cbm2@db/cbm2?password=s3cret&sslmode=disable");
        assert!(!described.contains("s3cret"), "{described}");
        assert!(described.contains("sslmode=disable"), "{described}");
    }

    #[test]
    fn a_sqlite_url_is_described_by_its_absolute_path() {
        let described = describe("sqlite://cbm2.db");
        let expected = std::env::current_dir().unwrap().join("cbm2.db");
        assert_eq!(described, format!("sqlite://{}", expected.display()));
    }

    #[test]
    fn an_in_memory_sqlite_database_has_no_file() {
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://postgres@127.0.0.1/cbm2"), None);
        assert_eq!(
            sqlite_file("sqlite:///var/lib/cbm2/cbm2.db"),
            Some(PathBuf::from("/var/lib/cbm2/cbm2.db"))
        );
    }
}
