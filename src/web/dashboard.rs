//! The Secretariat's dashboard: inquiries past their deadline (metadata only, each with a
//! button that reminds the responding state), the summary's figures with charts of the
//! response times per state, and the directory's health (states no inquiry can reach,
//! POCs not confirmed for a year, failed deliveries).
//!
//! It shows what `/v1/monitoring/overdue` and `/v1/monitoring/summary` answer, through the
//! same store queries and summary (`SummaryCache`); like them, it is the Secretariat's alone.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use chrono::{DateTime, TimeDelta, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::charts::{self, Bar, ChartText};
use super::page::Page;
use super::render::{At, Failure, WebError, html};
use super::session::{SignedIn, random_token};
use crate::clock;
use crate::http::AppState;
use crate::http::monitoring::{OverdueItem, StalePocBody, Summary};
use crate::http::pagination::{decode_cursor, encode_cursor};
use crate::monitoring::Distribution;
use crate::store::monitoring::OverdueFilter;

/// Overdue inquiries on one page of the dashboard.
const PAGE_SIZE: u32 = 25;

/// The reply window a "remind" button of a stale POC proposes, in days.
pub(super) const REMIND_WINDOW_DAYS: u32 = 7;

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    cursor: Option<String>,
}

/// One overdue inquiry, as its row shows it.
pub struct OverdueLine {
    pub item: OverdueItem,
    /// How long past the deadline, in words.
    pub overdue_by: String,
    /// The remind form's idempotency key: sending the same form twice reminds once.
    pub form_key: String,
}

/// One row of a chart's data table.
pub struct TimesRow {
    /// A state's name, or "All states".
    pub label: String,
    pub count: usize,
    pub median: Option<String>,
    pub p90: Option<String>,
}

/// A chart and the table with its figures.
pub struct ChartBlock {
    pub id: &'static str,
    pub title: String,
    /// The SVG, built by `charts` with every text escaped.
    pub svg: String,
    pub rows: Vec<TimesRow>,
}

#[derive(Template)]
#[template(path = "dashboard.html", config = "src/web/askama.toml")]
struct DashboardPage<'a> {
    page: &'a Page,
    overdue: Vec<OverdueLine>,
    next: Option<String>,
    summary: Summary,
    statuses: Vec<(&'static str, usize)>,
    /// States without an active policy POC: (name, participating), by name.
    without_poc: Vec<(String, bool)>,
    charts: Vec<ChartBlock>,
    remind_window_days: u32,
}

impl DashboardPage<'_> {
    /// A stale POC's last confirmation, as a date in UTC.
    fn confirmed(&self, poc: &StalePocBody) -> String {
        self.page.utc(&poc.last_confirmed_at)
    }

    /// A count in the reader's conventions.
    fn count(&self, n: &usize) -> String {
        self.page.number(&i64::try_from(*n).unwrap_or(i64::MAX))
    }
}

/// `GET /dashboard`: the Secretariat's; anyone else gets the one 404 page.
pub async fn dashboard(
    signed_in: SignedIn,
    State(state): State<AppState>,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, Failure> {
    let page = &signed_in.page;
    if !signed_in.caller().is_secretariat() {
        return Err(Failure(page.clone(), WebError::NotFound));
    }
    let after: Option<(DateTime<Utc>, Uuid)> = decode_cursor(query.cursor.as_deref())
        .map_err(|_| WebError::BadRequest("cursor".into()))
        .at(page)?;
    let now = clock::now();
    let mut rows = state
        .store
        .overdue_inquiries(now, &OverdueFilter::default(), after, Some(PAGE_SIZE + 1))
        .await
        .at(page)?;
    let more = rows.len() > PAGE_SIZE as usize;
    rows.truncate(PAGE_SIZE as usize);
    let next = more.then(|| {
        let last = rows.last().expect("a full page has a last row");
        let cursor = encode_cursor(&(last.due_at, last.id));
        format!(
            "/dashboard?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("cursor", &cursor)
                .finish()
        )
    });
    let overdue = rows
        .into_iter()
        .map(|row| {
            let item = OverdueItem::new(row, now);
            OverdueLine {
                overdue_by: span(page, item.overdue_by.as_delta()),
                form_key: random_token(),
                item,
            }
        })
        .collect();
    let summary = state.summary.get(&state.store).await.at(page)?;
    let statuses = summary
        .inquiries
        .by_status
        .iter()
        .filter(|(_, count)| **count > 0)
        .map(|(status, count)| (*status, *count))
        .collect();
    let mut without_poc: Vec<(String, bool)> = summary
        .states_without_active_policy_poc
        .iter()
        .map(|state| (page.state_name(&state.code), state.participating))
        .collect();
    without_poc.sort();
    let charts = vec![
        times_chart(page, &summary, "chart-acknowledge", |t| {
            &t.time_to_acknowledge
        }),
        times_chart(page, &summary, "chart-respond", |t| &t.time_to_respond),
    ];
    Ok(html(&DashboardPage {
        page,
        overdue,
        next,
        summary,
        statuses,
        without_poc,
        charts,
        remind_window_days: REMIND_WINDOW_DAYS,
    }))
}

/// The chart of one response time (to acknowledge or to respond): all states first, then
/// each responding state that has a measured time.
fn times_chart(
    page: &Page,
    summary: &Summary,
    id: &'static str,
    pick: fn(&crate::monitoring::ResponseTimes) -> &Distribution,
) -> ChartBlock {
    let figures = &summary.inquiries;
    let mut measured: Vec<(String, &Distribution)> = Vec::new();
    measured.push((page.t("dashboard-all-states"), pick(&figures.times)));
    for state in &figures.by_responding_state {
        measured.push((page.state_name(&state.member_state), pick(&state.times)));
    }
    let measured: Vec<(String, &Distribution)> = measured
        .into_iter()
        .filter(|(_, distribution)| distribution.count > 0)
        .collect();
    let seconds =
        |d: Option<crate::domain::IsoDuration>| d.map_or(0, |d| d.as_delta().num_seconds());
    let words = |d: Option<crate::domain::IsoDuration>| d.map(|d| span(page, d.as_delta()));
    let bars: Vec<Bar> = measured
        .iter()
        .map(|(label, distribution)| Bar {
            label: label.clone(),
            median: seconds(distribution.median),
            p90: seconds(distribution.p90),
            caption: page.t2(
                "dashboard-chart-caption",
                ("median", &words(distribution.median).unwrap_or_default()),
                ("p90", &words(distribution.p90).unwrap_or_default()),
            ),
        })
        .collect();
    let title = page.t(&format!("dashboard-{id}-title"));
    let no_data = page.t("dashboard-chart-no-data");
    let svg = charts::median_bars(
        &ChartText {
            id,
            title: &title,
            no_data: &no_data,
        },
        &bars,
    );
    let rows = measured
        .into_iter()
        .map(|(label, distribution)| TimesRow {
            label,
            count: distribution.count,
            median: words(distribution.median),
            p90: words(distribution.p90),
        })
        .collect();
    ChartBlock {
        id,
        title,
        svg,
        rows,
    }
}

/// A span of time in words, to the minute: "3 d 4 h", "5 h 20 min", "12 min".
pub(super) fn span(page: &Page, delta: TimeDelta) -> String {
    let minutes = delta.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if days > 0 {
        page.t2("dashboard-span-days", ("days", &days), ("hours", &hours))
    } else if hours > 0 {
        page.t2(
            "dashboard-span-hours",
            ("hours", &hours),
            ("minutes", &minutes),
        )
    } else {
        page.t1("dashboard-span-minutes", "minutes", minutes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Language;

    #[test]
    fn a_span_reads_in_days_and_hours_or_hours_and_minutes() {
        let page = Page {
            lang: Language::En,
            reader: None,
            csrf: String::new(),
            here: "/".into(),
            zone: chrono_tz::UTC,
        };
        assert_eq!(
            span(&page, TimeDelta::days(3) + TimeDelta::hours(4)),
            "3 d 4 h"
        );
        assert_eq!(
            span(&page, TimeDelta::hours(5) + TimeDelta::minutes(20)),
            "5 h 20 min"
        );
        assert_eq!(span(&page, TimeDelta::seconds(12 * 60 + 59)), "12 min");
    }
}
