//! The hash chain over inquiry events, and its verification.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{BeginWrite, Store, StoreError, dispatch};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who acted, as stored and hashed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventActor {
    /// requester, responder, secretariat or engine.
    pub kind: String,
    pub poc_id: Option<Uuid>,
    pub state: Option<String>,
}

/// Everything the hash covers, in a fixed order, one field per line. `payload` is the
/// canonical JSON text exactly as stored.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    chain_seq: i64,
    inquiry_id: Uuid,
    seq: i64,
    event_type: &str,
    actor: &EventActor,
    at: DateTime<Utc>,
    payload: &str,
) -> String {
    let poc = actor.poc_id.map(|id| id.to_string()).unwrap_or_default();
    let state = actor.state.as_deref().unwrap_or_default();
    let canonical = format!(
        "cbm2-event-v1\n{prev_hash}\n{chain_seq}\n{inquiry_id}\n{seq}\n{event_type}\n{}\n{poc}\n{state}\n{}\n{payload}",
        actor.kind,
        at.to_rfc3339_opts(SecondsFormat::Micros, true),
    );
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// The outcome of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    Valid {
        events: u64,
    },
    Broken {
        inquiry_id: Option<Uuid>,
        seq: Option<i64>,
        reason: String,
    },
}

/// What verification reads, from one snapshot.
struct Snapshot {
    rows: Vec<ChainRow>,
    head: (i64, String),
    versions: Vec<(Uuid, i64)>,
}

#[derive(sqlx::FromRow)]
struct ChainRow {
    chain_seq: i64,
    inquiry_id: Uuid,
    seq: i64,
    #[sqlx(rename = "type")]
    event_type: String,
    actor_kind: String,
    actor_poc_id: Option<Uuid>,
    actor_state: Option<String>,
    at: DateTime<Utc>,
    payload: String,
    prev_hash: String,
    hash: String,
}

impl Store {
    /// Walks every inquiry event in chain order and reports the first broken link: a hash
    /// that does not match its event, a link to a previous hash that is not the previous
    /// event's, a gap in the chain or in an inquiry's sequence, or an inquiry whose
    /// version does not match its events.
    pub async fn verify_chain(&self) -> Result<ChainReport, StoreError> {
        // One snapshot for the three reads: the server may append events meanwhile.
        let Snapshot {
            rows,
            head: (head_seq, head_hash),
            versions,
        } = dispatch!(self, pool => {
            let mut tx = pool.begin_snapshot().await?;
            let rows = sqlx::query_as(
                "SELECT chain_seq, inquiry_id, seq, type, actor_kind, actor_poc_id, actor_state, at,
                            payload, prev_hash, hash
                       FROM inquiry_events ORDER BY chain_seq",
            )
            .fetch_all(&mut *tx)
            .await?;
            let head = sqlx::query_as("SELECT last_chain_seq, last_hash FROM event_chain_head WHERE id = 1")
                .fetch_one(&mut *tx)
                .await?;
            let versions = sqlx::query_as("SELECT id, version FROM inquiries ORDER BY id")
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            Snapshot { rows, head, versions }
        });

        let broken = |row: &ChainRow, reason: String| ChainReport::Broken {
            inquiry_id: Some(row.inquiry_id),
            seq: Some(row.seq),
            reason,
        };
        let mut last_seq_of: std::collections::HashMap<Uuid, i64> =
            std::collections::HashMap::new();
        let mut previous_hash = GENESIS_HASH.to_owned();
        let mut expected_chain_seq = 1;
        for row in &rows {
            if row.chain_seq != expected_chain_seq {
                return Ok(broken(
                    row,
                    format!(
                        "chain position {} follows {}: an event before it is missing",
                        row.chain_seq,
                        expected_chain_seq - 1
                    ),
                ));
            }
            let actor = EventActor {
                kind: row.actor_kind.clone(),
                poc_id: row.actor_poc_id,
                state: row.actor_state.clone(),
            };
            let recomputed = event_hash(
                &row.prev_hash,
                row.chain_seq,
                row.inquiry_id,
                row.seq,
                &row.event_type,
                &actor,
                row.at,
                &row.payload,
            );
            if recomputed != row.hash {
                return Ok(broken(
                    row,
                    "the event's content does not match its hash: it was altered".into(),
                ));
            }
            if row.prev_hash != previous_hash {
                return Ok(broken(row, "the event does not link to the event before it: an event was removed, inserted or altered".into()));
            }
            let expected_seq = last_seq_of.get(&row.inquiry_id).map_or(1, |s| s + 1);
            if row.seq != expected_seq {
                return Ok(broken(
                    row,
                    format!(
                        "sequence number {} where {expected_seq} was expected: an event of this inquiry is missing or out of order",
                        row.seq
                    ),
                ));
            }
            last_seq_of.insert(row.inquiry_id, row.seq);
            previous_hash = row.hash.clone();
            expected_chain_seq += 1;
        }
        if head_seq != expected_chain_seq - 1 || head_hash != previous_hash {
            let last = rows.last();
            return Ok(ChainReport::Broken {
                inquiry_id: last.map(|r| r.inquiry_id),
                seq: last.map(|r| r.seq),
                reason: format!(
                    "the chain ends at position {} but its head records {head_seq}: events at the end were removed",
                    expected_chain_seq - 1
                ),
            });
        }
        for (id, version) in versions {
            let recorded = last_seq_of.get(&id).copied().unwrap_or(0);
            if recorded != version {
                return Ok(ChainReport::Broken {
                    inquiry_id: Some(id),
                    seq: Some(recorded + 1),
                    reason: format!(
                        "the inquiry is at version {version} but {recorded} events are recorded"
                    ),
                });
            }
        }
        Ok(ChainReport::Valid {
            events: rows.len() as u64,
        })
    }
}
