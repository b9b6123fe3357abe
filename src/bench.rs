//! `cbm2 bench`: fill a throwaway database with inquiries and time what the Secretariat and
//! the sweeper do at that size. Prints figures; asserts nothing.

use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::cli::outln;
use crate::clock;
use crate::domain::poc::Languages;
use crate::domain::{
    Affiliation, EmailAddress, Language, MemberStateCode, PersonName, PocRole, TimeSensitivity,
};
use crate::protocol::inquiry::{EventData, Incident, PocSnapshot, Requester, StateName, create};
use crate::protocol::{Inquiry, apply};
use crate::store::Store;
use crate::store::directory::{Actor, NewPoc};
use crate::store::monitoring::OverdueFilter;

/// What to fill.
#[derive(Debug, Clone, Copy)]
pub struct BenchPlan {
    pub inquiries: u32,
    /// Of which open (awaiting a response); a fifth of those are overdue.
    pub open: u32,
    /// How many times each query is timed.
    pub samples: u32,
}

/// Latency figures of one measured operation.
#[derive(Debug)]
pub struct Timing {
    pub median: Duration,
    pub p99: Duration,
}

fn timing(mut samples: Vec<Duration>) -> Timing {
    samples.sort();
    let at = |p: usize| samples[((p * samples.len()).div_ceil(100)).max(1) - 1];
    Timing {
        median: at(50),
        p99: at(99),
    }
}

/// Runs the benchmark on `store` (which must hold no inquiries) and prints its figures.
pub async fn run(store: &Store, plan: BenchPlan) -> anyhow::Result<()> {
    if !store.inquiry_ids().await?.is_empty() {
        anyhow::bail!(
            "the bench database already holds inquiries: give it an empty one (--bench-database-url)"
        );
    }
    let now = clock::now();
    outln!(
        "cbm2 bench on {} ({} inquiries, {} open)",
        store.backend(),
        plan.inquiries,
        plan.open
    )?;

    let started = Instant::now();
    let pocs = directory(store, now).await?;
    let filled = fill(store, &pocs, plan, now).await?;
    store.analyze().await?;
    outln!("fill: {} inquiries in {:.1?}", filled, started.elapsed())?;

    let mut samples = Vec::new();
    let mut overdue_count = 0;
    for _ in 0..plan.samples {
        let t = Instant::now();
        let rows = store
            .overdue_inquiries(clock::now(), &OverdueFilter::default(), None, Some(50))
            .await?;
        samples.push(t.elapsed());
        overdue_count = rows.len();
    }
    let overdue = timing(samples);
    outln!(
        "overdue query (first page, {overdue_count} rows of {} overdue): median {:.2?}, p99 {:.2?} over {} runs",
        plan.open / 5,
        overdue.median,
        overdue.p99,
        plan.samples
    )?;

    let t = Instant::now();
    let report = store.sweep_deadlines(clock::now()).await?;
    outln!(
        "sweeper tick with work: {:.1?} ({} deadline_missed, {} reminders recorded)",
        t.elapsed(),
        report.deadlines_missed,
        report.reminders
    )?;
    let mut samples = Vec::new();
    for _ in 0..plan.samples {
        let t = Instant::now();
        store.sweep_deadlines(clock::now()).await?;
        samples.push(t.elapsed());
    }
    let idle = timing(samples);
    outln!(
        "sweeper tick, nothing due: median {:.2?}, p99 {:.2?}",
        idle.median,
        idle.p99
    )?;
    Ok(())
}

/// One policy POC per member state.
async fn directory(
    store: &Store,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(MemberStateCode, PocSnapshot)>> {
    let mut pocs = Vec::new();
    for state in store.list_member_states().await? {
        let name = format!("POC of {}", state.code);
        let poc = NewPoc {
            member_state: state.code.clone(),
            name: PersonName::parse(&name)?,
            affiliation: Affiliation::parse("Ministry of Foreign Affairs")?,
            role: PocRole::Policy,
            email: EmailAddress::parse(&format!(
                "poc@{}.example.org",
                state.code.as_str().to_lowercase()
            ))?,
            phone: None,
            languages: Languages::default(),
        };
        let record = store.create_poc(Actor::CommandLine, &poc, now).await?;
        pocs.push((
            state.code,
            PocSnapshot {
                id: record.id,
                name,
                affiliation: record.affiliation,
                email: record.email,
                languages: Vec::new(),
            },
        ));
    }
    Ok(pocs)
}

/// What a generated inquiry looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Answered and closed: no deadline runs.
    Closed,
    /// Awaiting a response, due in five days.
    Open,
    /// Awaiting a response, past its deadline.
    Overdue,
}

/// A projection built through the protocol's own `apply`: closed, open, or overdue.
fn inquiry(
    requester: &(MemberStateCode, PocSnapshot),
    responder: &(MemberStateCode, PocSnapshot),
    created: DateTime<Utc>,
    kind: Kind,
) -> Inquiry {
    let name = |code: &MemberStateCode| StateName {
        en: code.to_string(),
        es: code.to_string(),
        fr: code.to_string(),
        pt: code.to_string(),
    };
    let id = Uuid::now_v7();
    let step = |minutes: i64| created + TimeDelta::minutes(minutes);
    let mut events = vec![
        (
            create(
                requester.0.clone(),
                name(&requester.0),
                Requester {
                    poc_id: requester.1.id,
                    name: requester.1.name.clone(),
                    affiliation: requester.1.affiliation.clone(),
                },
                false,
                None,
            ),
            step(0),
        ),
        (
            EventData::LookupPoc {
                responding_state: responder.0.clone(),
                responding_state_name: name(&responder.0),
                responding_pocs: vec![responder.1.clone()],
            },
            step(1),
        ),
        (
            EventData::Invoke {
                language: Language::En,
                invocation_text: "(bench)".into(),
                languages: Vec::new(),
            },
            step(2),
        ),
        (
            EventData::Describe {
                incident: Incident {
                    nature: "Benchmark incident".into(),
                    category: "ddos".into(),
                    sectors: vec!["government".into()],
                    observed_from: None,
                    observed_to: None,
                    indicators: Vec::new(),
                },
            },
            step(3),
        ),
    ];
    let ack_due_at = match kind {
        Kind::Overdue => clock::now() - TimeDelta::hours(1 + (created.timestamp() % 500)),
        Kind::Open | Kind::Closed => clock::now() + TimeDelta::days(5),
    };
    events.push((
        EventData::RequestInfo {
            questions: "What do you know?".into(),
            contact: serde_json::from_value(
                serde_json::json!({"name": "Bench", "email": "bench@example.org"}),
            )
            .expect("contact"),
            time_sensitivity: TimeSensitivity::Routine,
            ack_due_at,
        },
        step(4),
    ));
    if kind == Kind::Closed {
        events.push((
            EventData::Respond {
                information: "Answered.".into(),
                third_states: Vec::new(),
            },
            step(600),
        ));
        events.push((EventData::Close { resolution: None }, step(700)));
    }
    let mut inquiry: Option<Inquiry> = None;
    for (seq, (event, at)) in events.iter().enumerate() {
        inquiry =
            Some(apply(inquiry.as_ref(), id, seq as i64 + 1, event, *at).expect("a valid path"));
    }
    inquiry.expect("events")
}

/// Inserts the inquiry rows in batches (projections only: the bench database holds no
/// events, so `cbm2 audit verify` does not apply to it).
async fn fill(
    store: &Store,
    pocs: &[(MemberStateCode, PocSnapshot)],
    plan: BenchPlan,
    now: DateTime<Utc>,
) -> anyhow::Result<u32> {
    let mut written = 0;
    while written < plan.inquiries {
        let batch: Vec<Inquiry> = (written..(written + 1000).min(plan.inquiries))
            .map(|i| {
                let requester = &pocs[i as usize % pocs.len()];
                let responder = &pocs[(i as usize * 7 + 1) % pocs.len()];
                let responder = if responder.0 == requester.0 {
                    &pocs[(i as usize + 1) % pocs.len()]
                } else {
                    responder
                };
                let created = now - TimeDelta::minutes(i64::from(plan.inquiries - i) * 3);
                // Every stride-th inquiry is open, and every fifth open one overdue.
                let stride = (plan.inquiries / plan.open.max(1)).max(1);
                let open_index = i
                    .is_multiple_of(stride)
                    .then_some(i / stride)
                    .filter(|n| *n < plan.open);
                let kind = match open_index {
                    Some(n) if n.is_multiple_of(5) => Kind::Overdue,
                    Some(_) => Kind::Open,
                    None => Kind::Closed,
                };
                inquiry(requester, responder, created, kind)
            })
            .collect();
        written += batch.len() as u32;
        store.insert_projections_for_bench(&batch).await?;
    }
    Ok(written)
}
