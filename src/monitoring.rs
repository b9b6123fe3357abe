//! The Secretariat's summary figures, computed from inquiry metadata (pure).

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use crate::domain::IsoDuration;
use crate::protocol::Status;
use crate::store::monitoring::SummaryRow;

/// The median and 90th percentile of a set of durations (nearest rank), with the count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Distribution {
    pub count: usize,
    pub median: Option<IsoDuration>,
    pub p90: Option<IsoDuration>,
}

impl Distribution {
    /// Nearest-rank percentiles: the p-th percentile of n sorted values is the value at
    /// rank ⌈p·n/100⌉ (so the median of 1, 2, 3, 4 is 2).
    pub fn of(mut values: Vec<TimeDelta>) -> Self {
        values.sort();
        let rank = |p: usize| -> Option<IsoDuration> {
            let n = values.len();
            (n > 0).then(|| IsoDuration::from_delta(values[(p * n).div_ceil(100).max(1) - 1]))
        };
        Self {
            count: values.len(),
            median: rank(50),
            p90: rank(90),
        }
    }
}

/// Response times: from sending (request_info) to acknowledgement, and to response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResponseTimes {
    pub time_to_acknowledge: Distribution,
    pub time_to_respond: Distribution,
}

impl ResponseTimes {
    fn of<'a>(rows: impl Iterator<Item = &'a SummaryRow> + Clone) -> Self {
        let since_sent = |at: fn(&SummaryRow) -> Option<DateTime<Utc>>| {
            rows.clone()
                .filter_map(|r| Some(at(r)? - r.sent_at?))
                .collect::<Vec<_>>()
        };
        Self {
            time_to_acknowledge: Distribution::of(since_sent(|r| r.acknowledged_at)),
            time_to_respond: Distribution::of(since_sent(|r| r.responded_at)),
        }
    }
}

/// The figures for one responding state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateFigures {
    pub member_state: String,
    /// Inquiries sent to this state.
    pub inquiries: usize,
    #[serde(flatten)]
    pub times: ResponseTimes,
}

/// Counts and response times over every inquiry except exercises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InquiryFigures {
    /// Inquiries counted (exercises excluded).
    pub total: usize,
    /// Exercises are left out of every figure here.
    pub exercises_excluded: usize,
    pub by_status: BTreeMap<&'static str, usize>,
    /// Sent inquiries by time sensitivity (drafts have none yet).
    pub by_time_sensitivity: BTreeMap<String, usize>,
    pub overdue: usize,
    #[serde(flatten)]
    pub times: ResponseTimes,
    pub by_responding_state: Vec<StateFigures>,
}

impl InquiryFigures {
    pub fn compute(rows: &[SummaryRow], now: DateTime<Utc>) -> Self {
        let counted: Vec<&SummaryRow> = rows.iter().filter(|r| !r.exercise).collect();
        let mut by_status: BTreeMap<&'static str, usize> =
            Status::ALL.iter().map(|s| (s.as_str(), 0)).collect();
        let mut by_time_sensitivity: BTreeMap<String, usize> = ["routine", "urgent", "critical"]
            .iter()
            .map(|t| ((*t).to_owned(), 0))
            .collect();
        let mut by_state: BTreeMap<&str, Vec<&SummaryRow>> = BTreeMap::new();
        for row in &counted {
            if let Some(status) = Status::parse(&row.status) {
                *by_status.entry(status.as_str()).or_default() += 1;
            }
            if let Some(sensitivity) = &row.time_sensitivity {
                *by_time_sensitivity.entry(sensitivity.clone()).or_default() += 1;
            }
            if let (Some(state), Some(_)) = (&row.responding_state, row.sent_at) {
                by_state.entry(state.as_str()).or_default().push(row);
            }
        }
        Self {
            total: counted.len(),
            exercises_excluded: rows.len() - counted.len(),
            by_status,
            by_time_sensitivity,
            overdue: counted
                .iter()
                .filter(|r| r.due_at.is_some_and(|due| now > due))
                .count(),
            times: ResponseTimes::of(counted.iter().copied()),
            by_responding_state: by_state
                .into_iter()
                .map(|(state, rows)| StateFigures {
                    member_state: state.to_owned(),
                    inquiries: rows.len(),
                    times: ResponseTimes::of(rows.iter().copied()),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(values: &[i64]) -> Vec<TimeDelta> {
        values.iter().map(|s| TimeDelta::seconds(*s)).collect()
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = Distribution::of(secs(&[40, 10, 30, 20]));
        assert_eq!(d.count, 4);
        assert_eq!(d.median.unwrap().to_string(), "PT20S");
        assert_eq!(d.p90.unwrap().to_string(), "PT40S");
        let d = Distribution::of(secs(&(1..=10).collect::<Vec<_>>()));
        assert_eq!(d.median.unwrap().to_string(), "PT5S");
        assert_eq!(d.p90.unwrap().to_string(), "PT9S");
    }

    #[test]
    fn an_empty_set_has_no_percentiles() {
        assert_eq!(
            Distribution::of(Vec::new()),
            Distribution {
                count: 0,
                median: None,
                p90: None
            }
        );
    }

    #[test]
    fn exercises_are_left_out_of_every_figure() {
        let t0 = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let row = |exercise: bool, ack_after: i64| SummaryRow {
            status: "acknowledged".into(),
            responding_state: Some("BRA".into()),
            time_sensitivity: Some("urgent".into()),
            due_at: Some(t0 + TimeDelta::days(10)),
            sent_at: Some(t0),
            acknowledged_at: Some(t0 + TimeDelta::seconds(ack_after)),
            responded_at: None,
            exercise,
        };
        let figures = InquiryFigures::compute(&[row(false, 60), row(true, 5)], t0);
        assert_eq!(figures.total, 1);
        assert_eq!(figures.exercises_excluded, 1);
        assert_eq!(figures.by_status["acknowledged"], 1);
        assert_eq!(
            figures
                .times
                .time_to_acknowledge
                .median
                .unwrap()
                .to_string(),
            "PT1M"
        );
        assert_eq!(figures.by_responding_state[0].inquiries, 1);
    }
}
