//! Communication checks: the Secretariat asks POCs to reply within a window, to learn
//! whether the directory's contacts answer. Starting a check and each reply are logged
//! in the directory log.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::directory::{Actor, record_directory_event};
use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::{Caller, IsoDuration, MemberStateCode, Principal};

/// A check as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckRecord {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub reply_window: String,
    pub window_ends_at: DateTime<Utc>,
    pub member_states: Option<Json<Vec<String>>>,
}

/// A POC asked by a check.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckTarget {
    pub poc_id: Uuid,
    pub member_state: String,
    pub name: String,
    pub role: String,
    pub replied_at: Option<DateTime<Utc>>,
}

/// Why a check could not be started or answered.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("member_states: {0} is not an OAS Member State")]
    UnknownMemberState(MemberStateCode),
    #[error("no active point of contact to ask in the states given")]
    NobodyToAsk,
    /// No such check, or one that does not ask the caller: to a POC not asked, a check
    /// does not exist, and the answer must not tell the two apart.
    #[error("no communication check has id {0}")]
    NotFound(Uuid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for CheckError {
    fn from(error: sqlx::Error) -> Self {
        CheckError::Store(StoreError::Database(error))
    }
}

const CHECK_COLUMNS: &str = "id, created_at, reply_window, window_ends_at, member_states";

impl Store {
    /// Starts a check of the active POCs of `member_states` (all states when `None`),
    /// replies due within `window`.
    pub async fn create_check(
        &self,
        caller: &Caller,
        member_states: Option<&[MemberStateCode]>,
        window: IsoDuration,
        now: DateTime<Utc>,
    ) -> Result<CheckRecord, CheckError> {
        let id = Uuid::now_v7();
        let states: Option<Vec<String>> = member_states.map(|states| {
            let mut codes: Vec<String> = states.iter().map(ToString::to_string).collect();
            codes.sort();
            codes.dedup();
            codes
        });
        let sql = format!(
            "INSERT INTO communication_checks (id, created_at, created_by, reply_window, window_ends_at, member_states)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING {CHECK_COLUMNS}"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            if let Some(states) = member_states {
                for code in states {
                    let known: Option<String> = sqlx::query_scalar("SELECT code FROM member_states WHERE code = $1")
                        .bind(code.as_str())
                        .fetch_optional(&mut *tx)
                        .await?;
                    if known.is_none() {
                        return Err(CheckError::UnknownMemberState(code.clone()));
                    }
                }
            }
            let pocs: Vec<(Uuid, String)> = sqlx::query_as(
                "SELECT id, member_state FROM pocs WHERE active ORDER BY member_state, id",
            )
            .fetch_all(&mut *tx)
            .await?;
            let asked: Vec<(Uuid, String)> = pocs
                .into_iter()
                .filter(|(_, state)| states.as_ref().is_none_or(|wanted| wanted.contains(state)))
                .collect();
            if asked.is_empty() {
                return Err(CheckError::NobodyToAsk);
            }
            let record: CheckRecord = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(now)
                .bind(caller.token_id)
                .bind(window.to_string())
                .bind(now + window.as_delta())
                .bind(states.as_ref().map(Json))
                .fetch_one(&mut *tx)
                .await?;
            let notice = json!({
                "event": "communication_check_started",
                "check_id": id,
                "reply_window": window,
                "window_ends_at": record.window_ends_at,
            })
            .to_string();
            for (poc_id, state) in &asked {
                sqlx::query(
                    "INSERT INTO communication_check_targets (check_id, poc_id, member_state) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(poc_id)
                .bind(state)
                .execute(&mut *tx)
                .await?;
                // notifications.toml: a check notifies each POC it asks.
                sqlx::query(
                    "INSERT INTO outbox (id, event_type, recipient_kind, recipient_poc_id, data, created_at)
                     VALUES ($1, 'communication_check_started', 'poc', $2, $3, $4)",
                )
                .bind(Uuid::now_v7())
                .bind(poc_id)
                .bind(&notice)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
            let actor = Actor::Caller(caller);
            record_directory_event!(tx, actor, now, "communication_check_started", id.to_string(),
                json!({ "member_states": states, "reply_window": window, "asked": asked.len() }));
            tx.commit().await?;
            Ok(record)
        })
    }

    /// Records the calling POC's reply (the first one counts; replying again changes
    /// nothing). A reply after the window is recorded too, and shows as late. A check that
    /// does not ask the caller is `NotFound`, like one that does not exist.
    pub async fn reply_to_check(
        &self,
        caller: &Caller,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(), CheckError> {
        let Principal::Poc { poc_id, .. } = &caller.principal else {
            return Err(CheckError::NotFound(id));
        };
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM communication_checks WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                return Err(CheckError::NotFound(id));
            }
            let replied: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
                "SELECT replied_at FROM communication_check_targets WHERE check_id = $1 AND poc_id = $2",
            )
            .bind(id)
            .bind(poc_id.0)
            .fetch_optional(&mut *tx)
            .await?;
            match replied {
                None => return Err(CheckError::NotFound(id)),
                Some(Some(_)) => return Ok(()),
                Some(None) => {}
            }
            sqlx::query("UPDATE communication_check_targets SET replied_at = $3 WHERE check_id = $1 AND poc_id = $2")
                .bind(id)
                .bind(poc_id.0)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let actor = Actor::Caller(caller);
            record_directory_event!(tx, actor, now, "communication_check_replied", id.to_string(), json!({}));
            tx.commit().await?;
            Ok(())
        })
    }

    /// A check and every POC it asked.
    pub async fn get_check(
        &self,
        id: Uuid,
    ) -> Result<Option<(CheckRecord, Vec<CheckTarget>)>, StoreError> {
        let sql = format!("SELECT {CHECK_COLUMNS} FROM communication_checks WHERE id = $1");
        let record: Option<CheckRecord> = dispatch!(self, pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?);
        let Some(record) = record else {
            return Ok(None);
        };
        let targets: Vec<CheckTarget> = dispatch!(self, pool => sqlx::query_as(
            "SELECT t.poc_id, t.member_state, p.name, p.role, t.replied_at
               FROM communication_check_targets t JOIN pocs p ON p.id = t.poc_id
              WHERE t.check_id = $1
              ORDER BY t.member_state, p.name, t.poc_id",
        )
        .bind(id)
        .fetch_all(pool)
        .await?);
        Ok(Some((record, targets)))
    }

    /// A page of checks, newest first: all of them for the Secretariat, those that ask
    /// the POC for a POC.
    pub async fn list_checks(
        &self,
        principal: &Principal,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: u32,
    ) -> Result<Vec<CheckRecord>, StoreError> {
        let poc = match principal {
            Principal::Poc { poc_id, .. } => Some(poc_id.0),
            Principal::Secretariat => None,
        };
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT id, created_at, reply_window, window_ends_at, member_states
               FROM communication_checks c
              WHERE ($1 IS NULL OR EXISTS (SELECT 1 FROM communication_check_targets t
                                            WHERE t.check_id = c.id AND t.poc_id = $1))
                AND ($2 IS NULL OR (created_at, id) < ($2, $3))
              ORDER BY created_at DESC, id DESC
              LIMIT $4",
        )
        .bind(poc)
        .bind(after.map(|(at, _)| at))
        .bind(after.map(|(_, id)| id))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?))
    }
}
