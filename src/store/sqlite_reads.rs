//! The read every API request makes, on SQLite, without a hop to another thread.
//!
//! sqlx runs each SQLite connection on a thread of its own: a query is a message to that
//! thread and an answer back, two thread switches that cost more than the query itself
//! when its pages are in memory. Every request reads its caller's token (and a read of one
//! inquiry reads the inquiry in the same query: [`Store::authenticate_with`]), so that one
//! query runs here instead: on the request's own thread, on a read-only connection of this
//! module's, with [rusqlite] over the same SQLite library sqlx links.
//!
//! It is not a cache: it reads the database file in WAL mode, as sqlx's readers do, and sees
//! every transaction committed before it, by this process or another (a token revoked by
//! `cbm2 token revoke` is refused from the next request on).
//!
//! A read here never waits for the database: the connections have no busy timeout, and any
//! failure (the file busy, a connection that does not open, a row that does not read) sends
//! the request to sqlx's pool instead, which waits, retries and reports as every other read
//! does. A read blocks its thread for as long as SQLite takes to find two rows by key: a few
//! pages, in memory once the server has run a while.
//!
//! [`Store::authenticate_with`]: super::Store::authenticate_with

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, named_params};
use uuid::Uuid;

use super::tokens::TokenOwnerRow;

/// At most this many idle connections are kept; more are opened while more requests read at
/// once (at most one per thread the runtime runs requests on), and closed after.
const IDLE_CONNECTIONS: usize = 8;

/// Read-only connections to one SQLite file, taken by one read at a time.
#[derive(Debug)]
pub(super) struct SqliteReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// Why a read here did not happen (the caller reads through sqlx instead).
pub(super) type ReadError = rusqlite::Error;

impl SqliteReads {
    /// Connections to the database file at `path`, or `None` if none opens (an in-memory
    /// database, which another connection cannot see; a file that is not there).
    pub(super) fn open(path: &Path) -> Option<Self> {
        match connect(path) {
            Ok(connection) => Some(Self {
                path: path.to_owned(),
                idle: Mutex::new(vec![connection]),
            }),
            Err(error) => {
                tracing::debug!(path = %path.display(), %error,
                    "tokens are read through the pool: no direct connection to the file");
                None
            }
        }
    }

    /// Runs `read` on an idle connection (or a new one), and keeps the connection for the
    /// next read unless it failed.
    fn with_connection<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, ReadError>,
    ) -> Result<T, ReadError> {
        let taken = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let connection = match taken {
            Some(connection) => connection,
            None => connect(&self.path)?,
        };
        let result = read(&connection);
        if result.is_ok() {
            let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
            if idle.len() < IDLE_CONNECTIONS {
                idle.push(connection);
            }
        }
        result
    }

    /// The token whose hash is `token_hash`, unless revoked, with its POC and that POC's
    /// state, and the stored state of inquiry `inquiry_id`: the query of
    /// [`super::Store::authenticate_with`], column for column.
    pub(super) fn token_owner(
        &self,
        token_hash: &str,
        inquiry_id: Option<Uuid>,
    ) -> Result<Option<TokenOwnerRow>, ReadError> {
        self.with_connection(|connection| {
            connection
                .prepare_cached(super::tokens::TOKEN_OWNER_QUERY)?
                .query_row(
                    named_params! {
                        "$1": token_hash,
                        "$2": inquiry_id.as_ref().map(|id| id.as_bytes().as_slice()),
                    },
                    |row| {
                        Ok(TokenOwnerRow {
                            id: uuid_of(row.get_ref(0)?.as_blob()?)?,
                            poc_id: row
                                .get_ref(1)?
                                .as_blob_or_null()?
                                .map(uuid_of)
                                .transpose()?,
                            member_state: row.get(2)?,
                            poc_active: row.get(3)?,
                            poc_role: row.get(4)?,
                            participating: row.get(5)?,
                            last_used_at: row
                                .get_ref(6)?
                                .as_str_or_null()?
                                .map(time_of)
                                .transpose()?,
                            inquiry_state: row.get(7)?,
                        })
                    },
                )
                .optional()
        })
    }
}

/// A read-only connection that never waits for a lock (the caller falls back on sqlx's
/// pool, whose busy timeout waits).
fn connect(path: &Path) -> Result<Connection, ReadError> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::ZERO)?;
    Ok(connection)
}

/// A UUID as sqlx stores one in SQLite: its 16 bytes.
pub(super) fn uuid_of(bytes: &[u8]) -> Result<Uuid, rusqlite::types::FromSqlError> {
    Uuid::from_slice(bytes).map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
}

/// A time as sqlx stores a `DateTime<Utc>` in SQLite: RFC 3339 text.
pub(super) fn time_of(text: &str) -> Result<DateTime<Utc>, rusqlite::types::FromSqlError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tokens::{TOKEN_OWNER_QUERY, hash_secret};
    use crate::store::{dispatch, store_with_fixture};

    #[tokio::test]
    async fn reads_a_token_and_an_inquiry_as_the_pool_reads_them() {
        let (store, fixture, _dir) = store_with_fixture().await;
        let reads = store
            .sqlite_reads
            .as_deref()
            .expect("a file is read directly");
        let known = hash_secret(&fixture.token);
        let cases = [
            (known.as_str(), Some(fixture.inquiries[0])),
            (known.as_str(), None),
            (known.as_str(), Some(Uuid::now_v7())),
            ("no such token", Some(fixture.inquiries[0])),
        ];
        for (token_hash, inquiry) in cases {
            let direct = reads.token_owner(token_hash, inquiry).unwrap();
            let pooled: Option<TokenOwnerRow> = dispatch!(store, pool => sqlx::query_as(TOKEN_OWNER_QUERY)
                .bind(token_hash)
                .bind(inquiry)
                .fetch_optional(pool)
                .await
                .unwrap());
            assert_eq!(direct, pooled, "{token_hash} {inquiry:?}");
        }
        // Every column was read, not left empty: a POC's token, used once by the fixture,
        // and the inquiry's stored state.
        let row = reads
            .token_owner(&known, Some(fixture.inquiries[0]))
            .unwrap()
            .unwrap();
        assert!(row.poc_id.is_some() && row.member_state.is_some());
        assert_eq!(
            (row.poc_active, row.participating),
            (Some(true), Some(true))
        );
        assert_eq!(row.poc_role.as_deref(), Some("policy"));
        assert!(row.last_used_at.is_some());
        assert!(
            row.inquiry_state
                .unwrap()
                .contains(&fixture.inquiries[0].to_string())
        );
    }

    #[tokio::test]
    async fn a_direct_read_that_fails_is_read_through_the_pool() {
        let (mut store, fixture, dir) = store_with_fixture().await;
        let missing = SqliteReads {
            path: dir.path().join("missing.db"),
            idle: Mutex::new(Vec::new()),
        };
        assert!(missing.token_owner("any", None).is_err());
        store.sqlite_reads = Some(std::sync::Arc::new(missing));

        let (caller, inquiry) = store
            .authenticate_with(
                &fixture.token,
                crate::clock::now(),
                Some(fixture.inquiries[0]),
            )
            .await
            .unwrap()
            .expect("the token is read through the pool");
        assert!(matches!(
            caller.principal,
            crate::domain::Principal::Poc { .. }
        ));
        assert_eq!(inquiry.map(|i| i.id), Some(fixture.inquiries[0]));
    }
}
