//! `/v1/monitoring`: what the Secretariat watches. Metadata only, never content; JSON for
//! the API, CSV for reports.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::extract::{ApiQuery, Secretariat};
use super::pagination::{Page, decode_cursor, into_page, page_limit};
use super::problem::ApiError;
use super::{AppState, Routes};
use crate::clock;
use crate::domain::poc::STALE_AFTER;
use crate::domain::{IsoDuration, MemberStateCode};
use crate::monitoring::InquiryFigures;
use crate::protocol::Status;
use crate::store::monitoring::{OverdueFilter, OverdueRow, StalePoc, StateWithoutPoc};
use crate::store::{Store, StoreError};

pub(super) fn routes(routes: Routes) -> Routes {
    routes
        .get("/monitoring/overdue", overdue)
        .get("/monitoring/overdue.csv", overdue_csv)
        .get("/monitoring/summary", summary)
        .get("/monitoring/summary.csv", summary_csv)
}

/// An overdue inquiry: who, what deadline, by how much.
#[derive(Debug, Serialize)]
pub struct OverdueItem {
    pub id: Uuid,
    pub requesting_state: String,
    pub responding_state: Option<String>,
    pub status: String,
    pub time_sensitivity: Option<String>,
    /// `acknowledgement` or `response`.
    pub deadline: &'static str,
    /// The missed deadline.
    pub due_at: DateTime<Utc>,
    pub overdue_by: IsoDuration,
    pub sent_at: Option<DateTime<Utc>>,
    pub exercise: bool,
}

impl OverdueItem {
    pub fn new(row: OverdueRow, now: DateTime<Utc>) -> Self {
        Self {
            deadline: if row.status == Status::AwaitingResponse.as_str() {
                "acknowledgement"
            } else {
                "response"
            },
            overdue_by: IsoDuration::from_delta(now - row.due_at),
            id: row.id,
            requesting_state: row.requesting_state.to_string(),
            responding_state: row.responding_state,
            status: row.status,
            time_sensitivity: row.time_sensitivity,
            due_at: row.due_at,
            sent_at: row.sent_at,
            exercise: row.exercise,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverdueQuery {
    /// The requesting or the responding state.
    member_state: Option<MemberStateCode>,
    status: Option<OpenStatus>,
    limit: Option<u32>,
    cursor: Option<String>,
}

/// Only open inquiries can be overdue.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OpenStatus {
    AwaitingResponse,
    Acknowledged,
}

impl OverdueQuery {
    fn filter(&self) -> OverdueFilter {
        OverdueFilter {
            member_state: self.member_state.clone(),
            status: self.status.map(|s| {
                match s {
                    OpenStatus::AwaitingResponse => Status::AwaitingResponse,
                    OpenStatus::Acknowledged => Status::Acknowledged,
                }
                .as_str()
                .to_owned()
            }),
        }
    }
}

/// Most overdue first.
async fn overdue(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OverdueQuery>,
) -> Result<Json<Page<OverdueItem>>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(query.cursor.as_deref())?;
    let now = clock::now();
    let rows = state
        .store
        .overdue_inquiries(now, &query.filter(), after, Some(limit + 1))
        .await?;
    Ok(Json(into_page(
        rows,
        limit,
        |r| (r.due_at, r.id),
        |r| OverdueItem::new(r, now),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OverdueCsvQuery {
    member_state: Option<MemberStateCode>,
    status: Option<OpenStatus>,
}

/// Writes `records` as CSV with a header row, as a downloadable attachment.
///
/// The header row is written even when there are no records, so an empty report still
/// says what its columns are.
fn csv_response<T: Serialize>(
    filename: &str,
    header_row: &[&str],
    records: impl IntoIterator<Item = T>,
) -> Response {
    // Writing plain structs of strings and numbers into memory cannot fail.
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(header_row).expect("CSV into memory");
    for record in records {
        writer.serialize(record).expect("CSV into memory");
    }
    let body = writer.into_inner().expect("CSV into memory");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// A time as the JSON answers write it (`…Z`).
fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// One CSV row of the overdue list.
#[derive(Debug, Serialize)]
struct OverdueCsvRow {
    id: Uuid,
    requesting_state: String,
    responding_state: String,
    status: String,
    time_sensitivity: String,
    deadline: &'static str,
    due_at: String,
    overdue_by: String,
    sent_at: String,
    exercise: bool,
}

async fn overdue_csv(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<OverdueCsvQuery>,
) -> Result<Response, ApiError> {
    let filter = OverdueQuery {
        member_state: query.member_state,
        status: query.status,
        limit: None,
        cursor: None,
    }
    .filter();
    let now = clock::now();
    let rows = state
        .store
        .overdue_inquiries(now, &filter, None, None)
        .await?;
    Ok(csv_response(
        "overdue.csv",
        &[
            "id",
            "requesting_state",
            "responding_state",
            "status",
            "time_sensitivity",
            "deadline",
            "due_at",
            "overdue_by",
            "sent_at",
            "exercise",
        ],
        rows.into_iter().map(|row| {
            let item = OverdueItem::new(row, now);
            OverdueCsvRow {
                id: item.id,
                requesting_state: item.requesting_state,
                responding_state: item.responding_state.unwrap_or_default(),
                status: item.status,
                time_sensitivity: item.time_sensitivity.unwrap_or_default(),
                deadline: item.deadline,
                due_at: rfc3339(item.due_at),
                overdue_by: item.overdue_by.to_string(),
                sent_at: item.sent_at.map(rfc3339).unwrap_or_default(),
                exercise: item.exercise,
            }
        }),
    ))
}

/// The summary: inquiry figures (exercises excluded) and the directory's gaps. `cbm2
/// monitor summary` prints the same.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub generated_at: DateTime<Utc>,
    pub inquiries: InquiryFigures,
    /// States no inquiry can be addressed to: no active policy POC.
    pub states_without_active_policy_poc: Vec<StateBody>,
    /// Active POCs not confirmed for 365 days.
    pub stale_pocs: Vec<StalePocBody>,
    /// Notifications that could not be delivered after every attempt (webhook or e-mail).
    pub failed_deliveries: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct StateBody {
    pub code: String,
    pub name: String,
    pub participating: bool,
}

impl From<StateWithoutPoc> for StateBody {
    fn from(state: StateWithoutPoc) -> Self {
        Self {
            code: state.code,
            name: state.name_en,
            participating: state.participating,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StalePocBody {
    pub id: Uuid,
    pub member_state: String,
    pub name: String,
    pub role: String,
    pub last_confirmed_at: DateTime<Utc>,
}

impl From<StalePoc> for StalePocBody {
    fn from(poc: StalePoc) -> Self {
        Self {
            id: poc.id,
            member_state: poc.member_state,
            name: poc.name,
            role: poc.role,
            last_confirmed_at: poc.last_confirmed_at,
        }
    }
}

impl Summary {
    /// Reads the summary's figures, as of `now`, from the database.
    pub async fn gather(store: &Store, now: DateTime<Utc>) -> Result<Self, StoreError> {
        let rows = store.summary_rows().await?;
        Ok(Self {
            generated_at: now,
            inquiries: InquiryFigures::compute(&rows, now),
            states_without_active_policy_poc: store
                .states_without_policy_poc()
                .await?
                .into_iter()
                .map(StateBody::from)
                .collect(),
            stale_pocs: store
                .stale_pocs(now, STALE_AFTER)
                .await?
                .into_iter()
                .map(StalePocBody::from)
                .collect(),
            failed_deliveries: store.failed_delivery_count().await?,
        })
    }
}

/// Past this, gathering the summary is too slow to do on every request.
pub const SUMMARY_CACHE_THRESHOLD: Duration = Duration::from_millis(100);

/// A costly summary is refreshed once it is this many times its cost old (at least
/// [`SUMMARY_MIN_REFRESH`]).
const SUMMARY_REFRESH_FACTOR: u32 = 10;
const SUMMARY_MIN_REFRESH: Duration = Duration::from_secs(30);

/// The summary as the API and the dashboard serve it. Gathering it reads every inquiry's
/// metadata (about 3.7 s for a million inquiries on SQLite on the reference machine), so:
/// while a gathering takes less than [`SUMMARY_CACHE_THRESHOLD`], every request gathers
/// afresh; once one takes longer, requests get the last summary (its `generated_at` says
/// when), and one that finds it older than ten times its cost (at least 30 s) starts a
/// fresh gathering in the background. Only the first request on a large database waits.
#[derive(Debug, Clone)]
pub struct SummaryCache {
    cached: Arc<Mutex<Option<CachedSummary>>>,
    threshold: Duration,
    min_refresh: Duration,
}

impl Default for SummaryCache {
    fn default() -> Self {
        Self::new(SUMMARY_CACHE_THRESHOLD, SUMMARY_MIN_REFRESH)
    }
}

#[derive(Debug)]
struct CachedSummary {
    summary: Summary,
    took: Duration,
    at: Instant,
    refreshing: bool,
}

impl SummaryCache {
    /// A cache that keeps a summary whose gathering took `threshold` or more, and
    /// refreshes it once it is ten times that old and at least `min_refresh`.
    pub fn new(threshold: Duration, min_refresh: Duration) -> Self {
        Self {
            cached: Arc::default(),
            threshold,
            min_refresh,
        }
    }

    /// The summary, gathered now or served from the last gathering (see the type).
    pub async fn get(&self, store: &Store) -> Result<Summary, StoreError> {
        let mut cached = self.cached.lock().await;
        if let Some(entry) = cached.as_mut()
            && entry.took >= self.threshold
        {
            let refresh_after = (entry.took * SUMMARY_REFRESH_FACTOR).max(self.min_refresh);
            if entry.at.elapsed() >= refresh_after && !entry.refreshing {
                entry.refreshing = true;
                tokio::spawn(self.clone().refresh(store.clone()));
            }
            return Ok(entry.summary.clone());
        }
        // Gathered under the lock: requests that arrive meanwhile wait for this one.
        let started = Instant::now();
        let summary = Summary::gather(store, clock::now()).await?;
        let took = started.elapsed();
        if took >= self.threshold {
            tracing::info!(took = ?took, "the summary is slow to gather: it is served from its last gathering from now on, refreshed in the background");
        }
        *cached = Some(CachedSummary {
            summary: summary.clone(),
            took,
            at: Instant::now(),
            refreshing: false,
        });
        Ok(summary)
    }

    async fn refresh(self, store: Store) {
        let started = Instant::now();
        match Summary::gather(&store, clock::now()).await {
            Ok(summary) => {
                *self.cached.lock().await = Some(CachedSummary {
                    summary,
                    took: started.elapsed(),
                    at: Instant::now(),
                    refreshing: false,
                });
            }
            Err(error) => {
                tracing::error!(%error, "refreshing the summary failed: the last one is served until a request tries again");
                if let Some(entry) = self.cached.lock().await.as_mut() {
                    entry.refreshing = false;
                }
            }
        }
    }
}

async fn build_summary(state: &AppState) -> Result<Summary, ApiError> {
    Ok(state.summary.get(&state.store).await?)
}

/// The summary takes no parameters; any given is refused like elsewhere.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NoQuery {}

async fn summary(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Result<Json<Summary>, ApiError> {
    Ok(Json(build_summary(&state).await?))
}

/// One CSV row of the summary: a metric, the state it is about (if any), its value.
#[derive(Debug, Serialize)]
struct SummaryCsvRow {
    metric: String,
    member_state: String,
    value: String,
}

async fn summary_csv(
    _secretariat: Secretariat,
    State(state): State<AppState>,
    ApiQuery(NoQuery {}): ApiQuery<NoQuery>,
) -> Result<Response, ApiError> {
    let summary = build_summary(&state).await?;
    let figures = &summary.inquiries;
    let mut rows = Vec::new();
    let mut row = |metric: String, member_state: &str, value: String| {
        rows.push(SummaryCsvRow {
            metric,
            member_state: member_state.to_owned(),
            value,
        });
    };
    let show = |d: &Option<IsoDuration>| d.map(|d| d.to_string()).unwrap_or_default();
    row("inquiries_total".into(), "", figures.total.to_string());
    row(
        "exercises_excluded".into(),
        "",
        figures.exercises_excluded.to_string(),
    );
    row("overdue".into(), "", figures.overdue.to_string());
    for (status, count) in &figures.by_status {
        row(format!("status.{status}"), "", count.to_string());
    }
    for (sensitivity, count) in &figures.by_time_sensitivity {
        row(
            format!("time_sensitivity.{sensitivity}"),
            "",
            count.to_string(),
        );
    }
    let times = |row: &mut dyn FnMut(String, &str, String),
                 state: &str,
                 t: &crate::monitoring::ResponseTimes| {
        for (name, d) in [
            ("time_to_acknowledge", &t.time_to_acknowledge),
            ("time_to_respond", &t.time_to_respond),
        ] {
            row(format!("{name}.count"), state, d.count.to_string());
            row(format!("{name}.median"), state, show(&d.median));
            row(format!("{name}.p90"), state, show(&d.p90));
        }
    };
    times(&mut row, "", &figures.times);
    for state_figures in &figures.by_responding_state {
        row(
            "inquiries_received".into(),
            &state_figures.member_state,
            state_figures.inquiries.to_string(),
        );
        times(&mut row, &state_figures.member_state, &state_figures.times);
    }
    for state in &summary.states_without_active_policy_poc {
        row(
            "without_active_policy_poc".into(),
            &state.code,
            state.participating.to_string(),
        );
    }
    row(
        "failed_deliveries".into(),
        "",
        summary.failed_deliveries.to_string(),
    );
    for poc in &summary.stale_pocs {
        row("stale_poc".into(), &poc.member_state, poc.id.to_string());
    }
    Ok(csv_response(
        "summary.csv",
        &["metric", "member_state", "value"],
        rows,
    ))
}
