//! The deadline sweep: record what falls due, through the protocol, once.

use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use uuid::Uuid;

use super::inquiries::{ActionRequest, Command, CommandError, Executed, IssuedBy};
use super::{Store, StoreError, dispatch};
use crate::protocol::{Action, Refusal};

/// What one sweep recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub deadlines_missed: u64,
    pub reminders: u64,
    /// Rows another instance (or an action) got to first: nothing left to record.
    pub skipped: u64,
    /// Rows whose stored projection cannot be decoded: logged with their id and passed
    /// over, so one bad row never stops the deadlines of every other inquiry.
    pub undecodable: u64,
    /// When the oldest row due at this sweep fell due (`None`: none was due), so the
    /// sweeper can say how late it is.
    pub oldest_due: Option<DateTime<Utc>>,
}

/// How many due rows one query fetches.
const SWEEP_BATCH: i64 = 500;

/// How many of them are recorded at once (as many as one group commit holds by default).
const SWEEP_CONCURRENCY: usize = super::writer::DEFAULT_MAX_BATCH;

impl Store {
    /// Records, for every inquiry whose `next_sweep_at` has come, the `deadline_missed` or
    /// `deadline_reminder` that is due. Each goes through the same command transaction as
    /// an API action: the row is locked and the protocol's guards allow each event once
    /// per deadline, so several instances sweeping at once record each exactly once.
    pub async fn sweep_deadlines(&self, now: DateTime<Utc>) -> Result<SweepReport, StoreError> {
        let mut report = SweepReport::default();
        let mut seen: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
        // Keyset paging over (next_sweep_at, id): rows that stay due (a bad row, a refusal)
        // never hide the rows after them.
        let mut after: Option<(DateTime<Utc>, Uuid)> = None;
        loop {
            let due: Vec<(Uuid, Option<DateTime<Utc>>, DateTime<Utc>)> = dispatch!(self, pool => sqlx::query_as(
                "SELECT id, due_at, next_sweep_at FROM inquiries
                  WHERE next_sweep_at IS NOT NULL AND next_sweep_at <= $1
                    AND ($2 IS NULL OR (next_sweep_at, id) > ($2, $3))
                  ORDER BY next_sweep_at, id
                  LIMIT $4",
            )
            .bind(now)
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .bind(SWEEP_BATCH)
            .fetch_all(pool)
            .await?);
            let fetched = due.len() as i64;
            if after.is_none() {
                // The first batch starts at the oldest due row.
                report.oldest_due = due.first().map(|(_, _, at)| *at);
            }
            after = due.last().map(|(id, _, at)| (*at, *id));
            let fresh: Vec<_> = due
                .into_iter()
                .filter(|(id, _, _)| seen.insert(*id))
                .map(|(id, due_at, _)| (id, due_at))
                .collect();
            // Side by side, so that they share group commits; in order, for the log.
            let outcomes: Vec<_> = stream::iter(fresh)
                .map(|(id, due_at)| async move {
                    let missed = due_at.is_some_and(|due| now > due);
                    let action = if missed {
                        Action::DeadlineMissed
                    } else {
                        Action::DeadlineReminder
                    };
                    let command = Command {
                        inquiry_id: id,
                        by: IssuedBy::Engine,
                        action: ActionRequest::Ready(action),
                        if_match: None,
                        idempotency: None,
                        now,
                    };
                    (
                        id,
                        missed,
                        self.execute(command, |_, _| String::new()).await,
                    )
                })
                .buffered(SWEEP_CONCURRENCY)
                .collect()
                .await;
            for (id, missed, outcome) in outcomes {
                match outcome {
                    Ok(Executed::Applied(inquiry, ..)) => {
                        tracing::info!(
                            inquiry_id = %inquiry.id,
                            event = if missed { "deadline_missed" } else { "deadline_reminder" },
                            "deadline sweep recorded"
                        );
                        if missed {
                            report.deadlines_missed += 1;
                        } else {
                            report.reminders += 1;
                        }
                    }
                    Ok(Executed::Replayed { .. }) => report.skipped += 1,
                    Err(
                        CommandError::Refused(Refusal::NotAllowed { .. })
                        | CommandError::NotFound(_),
                    ) => {
                        report.skipped += 1;
                    }
                    Err(CommandError::Store(StoreError::CorruptRow(error))) => {
                        tracing::error!(
                            inquiry_id = %id,
                            %error,
                            "deadline sweep passed over an inquiry whose stored row cannot be decoded (cbm2 audit verify names it)"
                        );
                        report.undecodable += 1;
                    }
                    Err(CommandError::Store(error)) => return Err(error),
                    Err(other) => {
                        tracing::warn!(inquiry_id = %id, error = %other, "deadline sweep skipped an inquiry");
                        report.skipped += 1;
                    }
                }
            }
            if fetched < SWEEP_BATCH {
                break;
            }
        }
        Ok(report)
    }
}
