//! What the Secretariat monitors: overdue inquiries and the figures of the summary.
//! Metadata only: these queries never read an inquiry's content.

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use super::{Store, StoreError, dispatch};
use crate::domain::MemberStateCode;

/// An overdue inquiry, as the Secretariat sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OverdueRow {
    pub id: Uuid,
    #[sqlx(try_from = "String")]
    pub requesting_state: MemberStateCode,
    pub responding_state: Option<String>,
    pub status: String,
    pub time_sensitivity: Option<String>,
    pub due_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub exercise: bool,
}

/// Filters of the overdue list.
#[derive(Debug, Clone, Default)]
pub struct OverdueFilter {
    /// Either side: the requesting or the responding state.
    pub member_state: Option<MemberStateCode>,
    pub status: Option<String>,
}

/// The inquiry metadata the summary is computed from.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SummaryRow {
    pub status: String,
    pub responding_state: Option<String>,
    pub time_sensitivity: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub exercise: bool,
}

/// A member state with no active policy POC: no inquiry can be addressed to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StateWithoutPoc {
    pub code: String,
    pub name_en: String,
    pub participating: bool,
}

/// An active POC not confirmed for the stale period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StalePoc {
    pub id: Uuid,
    pub member_state: String,
    pub name: String,
    pub role: String,
    pub last_confirmed_at: DateTime<Utc>,
}

impl Store {
    /// Overdue inquiries, most overdue first, after `after` (due_at, id), at most `limit`
    /// (all when `None`). Reads the `due_at` index only.
    pub async fn overdue_inquiries(
        &self,
        now: DateTime<Utc>,
        filter: &OverdueFilter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: Option<u32>,
    ) -> Result<Vec<OverdueRow>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT id, requesting_state, responding_state, status, time_sensitivity, due_at,
                    sent_at, exercise
               FROM inquiries
              WHERE due_at IS NOT NULL AND due_at < $1
                AND ($2 IS NULL OR requesting_state = $2 OR responding_state = $2)
                AND ($3 IS NULL OR status = $3)
                AND ($4 IS NULL OR (due_at, id) > ($4, $5))
              ORDER BY due_at, id
              LIMIT $6",
        )
        .bind(now)
        .bind(filter.member_state.as_ref().map(MemberStateCode::as_str))
        .bind(filter.status.as_deref())
        .bind(after.map(|(due, _)| due))
        .bind(after.map(|(_, id)| id))
        .bind(limit.map_or(i64::MAX, i64::from))
        .fetch_all(pool)
        .await?))
    }

    /// The metadata of every inquiry, for the summary.
    pub async fn summary_rows(&self) -> Result<Vec<SummaryRow>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT status, responding_state, time_sensitivity, due_at, sent_at, acknowledged_at,
                    responded_at, exercise
               FROM inquiries",
        )
        .fetch_all(pool)
        .await?))
    }

    /// Member states with no active policy POC, by code.
    pub async fn states_without_policy_poc(&self) -> Result<Vec<StateWithoutPoc>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT m.code, m.name_en, m.participating FROM member_states m
              WHERE NOT EXISTS (SELECT 1 FROM pocs p
                                 WHERE p.member_state = m.code AND p.role = 'policy' AND p.active)
              ORDER BY m.code",
        )
        .fetch_all(pool)
        .await?))
    }

    /// Active POCs last confirmed longer than `stale_after` ago, oldest confirmation first.
    pub async fn stale_pocs(
        &self,
        now: DateTime<Utc>,
        stale_after: TimeDelta,
    ) -> Result<Vec<StalePoc>, StoreError> {
        Ok(dispatch!(self, pool => sqlx::query_as(
            "SELECT id, member_state, name, role, last_confirmed_at FROM pocs
              WHERE active AND last_confirmed_at <= $1
              ORDER BY last_confirmed_at, id",
        )
        .bind(now - stale_after)
        .fetch_all(pool)
        .await?))
    }
}
