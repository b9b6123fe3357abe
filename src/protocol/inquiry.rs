//! An inquiry as the protocol sees it: its projection, the actions taken on it, the events
//! they record, and the two pure functions that carry the protocol:
//!
//! - [`decide`]: given the inquiry, the caller's role, a validated action and the time,
//!   the event to record, or a refusal (wrong role, not allowed now, invalid input);
//! - [`apply`]: given the inquiry and an event, the inquiry after it. The stored row is
//!   `apply` folded over the stored events, so replaying them gives the same row.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::definition::{Definition, definition, definition_of};
use super::invocation::{self, InvocationParties};
use super::machine::{ActionName, Status, Stimulus, transition};
use crate::domain::{
    ContactDetails, Indicator, IsoDuration, Language, LongText, MemberStateCode, Nature, Reason,
    ShortText, TimeSensitivity,
};

/// The part a caller plays in an inquiry, which decides what it may do and see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A POC of the requesting state.
    Requester,
    /// A POC of the responding state, once the inquiry is sent.
    Responder,
    /// The OAS Secretariat: metadata only, and `remind`.
    Secretariat,
    /// cbm2 itself (the deadline sweeper).
    Engine,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Requester => "requester",
            Role::Responder => "responder",
            Role::Secretariat => "secretariat",
            Role::Engine => "engine",
        }
    }
}

/// Where a caller stands on its side of an inquiry, which narrows what its role allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// A policy POC of a participating state (and the Secretariat, and the engine): takes
    /// every action its role has.
    Acting,
    /// A POC its state shared the inquiry with: reads it and takes the actions the table
    /// marks `shared` (messages).
    Shared,
    /// A policy POC of a state that no longer participates in CBM #2: reads only.
    NotParticipating,
}

/// A caller's part in an inquiry: its side (or the Secretariat, or the engine) and its
/// standing there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Party {
    pub role: Role,
    pub standing: Standing,
}

impl Party {
    pub const SECRETARIAT: Party = Party::acting(Role::Secretariat);
    pub const ENGINE: Party = Party::acting(Role::Engine);

    pub const fn acting(role: Role) -> Party {
        Party {
            role,
            standing: Standing::Acting,
        }
    }

    /// One of the two states' POCs (not the Secretariat, not the engine).
    pub fn is_participant(self) -> bool {
        matches!(self.role, Role::Requester | Role::Responder)
    }
}

/// The channel of a contact made outside cbm2 (`log_contact`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactChannel {
    Phone,
    Email,
    Meeting,
    Other,
}

impl ContactChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactChannel::Phone => "phone",
            ContactChannel::Email => "email",
            ContactChannel::Meeting => "meeting",
            ContactChannel::Other => "other",
        }
    }
}

/// A contact made outside cbm2, as the inquiry shows it to both parties and (being
/// metadata) to the Secretariat. Its summary is in the `log_contact` event only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedContact {
    /// The party that logged it.
    pub side: Role,
    pub channel: ContactChannel,
    /// When the contact took place.
    pub at: DateTime<Utc>,
    /// When it was logged.
    pub logged_at: DateTime<Utc>,
}

/// A timeframe in working days of the responding state, and that state's calendar (read by
/// the store inside the command's transaction; `None` before).
#[derive(Debug, Clone)]
pub struct WorkingDays {
    pub days: u32,
    pub calendar: Option<crate::calendar::WorkingCalendar>,
}

/// The most files one inquiry holds: each is evidence a person reads, not a file store.
pub const MAX_ATTACHMENTS: usize = 100;

/// A file attached as evidence, as `attach` carries it: its id (given by the caller, so
/// that the bytes kept beside the event share it) and what its event records. The caller
/// checks the name, the type and the size; the protocol records them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    pub id: Uuid,
    /// SHA-256 of the bytes, 64 lowercase hexadecimal digits.
    pub sha256: String,
    pub size: u64,
    pub name: String,
    pub content_type: String,
}

/// A file attached to the inquiry, as the two states see it (the Secretariat sees only
/// how many there are).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub id: Uuid,
    /// The party that attached it.
    pub side: Role,
    pub sha256: String,
    pub size: u64,
    pub name: String,
    pub content_type: String,
    pub added_at: DateTime<Utc>,
}

/// A POC an inquiry is shared with, by a policy POC of its own state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedWith {
    pub poc_id: Uuid,
    pub name: String,
    /// Its directory role (`technical` or `mfa`).
    pub role: String,
    /// The party it reads and writes for.
    pub side: Role,
    pub shared_at: DateTime<Utc>,
}

/// A member state's name in the four official languages of the OAS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateName {
    pub en: String,
    pub es: String,
    #[serde(default)]
    pub fr: String,
    #[serde(default)]
    pub pt: String,
}

impl StateName {
    /// The name in `language`, or in English where none is known.
    fn in_language(&self, language: Language) -> &str {
        let name = match language {
            Language::En => &self.en,
            Language::Es => &self.es,
            Language::Fr => &self.fr,
            Language::Pt => &self.pt,
        };
        if name.is_empty() { &self.en } else { name }
    }
}

/// A POC as snapshotted on an inquiry: the directory may change, the inquiry keeps whom
/// it was addressed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PocSnapshot {
    pub id: Uuid,
    pub name: String,
    pub affiliation: String,
    pub email: String,
    pub languages: Vec<String>,
}

/// The requesting POC, from its directory record (R2: never free text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub poc_id: Uuid,
    pub name: String,
    pub affiliation: String,
}

/// The incident as described (R4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Incident {
    pub nature: String,
    pub category: String,
    pub sectors: Vec<String>,
    pub observed_from: Option<DateTime<Utc>>,
    pub observed_to: Option<DateTime<Utc>>,
    pub indicators: Vec<Indicator>,
}

/// An inquiry: the projection of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inquiry {
    pub id: Uuid,
    pub status: Status,
    /// The number of events recorded: grows by one with each accepted action.
    pub version: i64,
    /// The protocol version the inquiry started under.
    pub protocol_version: String,
    pub exercise: bool,
    pub related_inquiry_id: Option<Uuid>,
    pub requesting_state: MemberStateCode,
    pub requesting_state_name: StateName,
    pub requester: Requester,
    pub responding_state: Option<MemberStateCode>,
    pub responding_state_name: Option<StateName>,
    pub responding_pocs: Vec<PocSnapshot>,
    /// The first (or only) language of the invocation.
    pub language: Option<Language>,
    /// Every language the invocation was rendered in, in order (protocol 1.1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<Language>,
    pub invocation_text: Option<String>,
    pub incident: Option<Incident>,
    pub questions: Option<String>,
    pub contact: Option<ContactDetails>,
    pub time_sensitivity: Option<TimeSensitivity>,
    pub message: Option<String>,
    pub contact_requested: Option<bool>,
    pub estimated_timeframe: Option<IsoDuration>,
    /// The acknowledgement's timeframe in working days of the responding state, if given so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_working_days: Option<u32>,
    pub information: Option<String>,
    pub third_states: Vec<MemberStateCode>,
    pub resolution: Option<String>,
    pub withdrawal_reason: Option<String>,
    pub ack_due_at: Option<DateTime<Utc>>,
    pub response_due_at: Option<DateTime<Utc>>,
    /// The deadline a `deadline_missed` was last recorded for.
    pub deadline_missed_for: Option<DateTime<Utc>>,
    /// When the running deadline was set: the start of its window.
    #[serde(default)]
    pub deadline_set_at: Option<DateTime<Utc>>,
    /// The deadline a `deadline_reminder` was last recorded for.
    #[serde(default)]
    pub reminded_for: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub responded_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// When the requester last gave its contact details in a message (answering an
    /// acknowledgement's contact request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_provided_at: Option<DateTime<Utc>>,
    /// Contacts made outside cbm2, oldest logged first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logged_contacts: Vec<LoggedContact>,
    /// The POCs the inquiry is shared with now.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shares: Vec<SharedWith>,
    /// The files attached as evidence, oldest first (protocol 1.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

impl Inquiry {
    /// The definition of the protocol version the inquiry started under, if this build
    /// carries it (a row from a newer build than this one would not be).
    pub fn definition(&self) -> Option<&'static Definition> {
        definition_of(&self.protocol_version)
    }

    /// The state on `side` of the inquiry.
    pub fn state_of(&self, side: Role) -> Option<&MemberStateCode> {
        match side {
            Role::Requester => Some(&self.requesting_state),
            Role::Responder => self.responding_state.as_ref(),
            Role::Secretariat | Role::Engine => None,
        }
    }

    /// The share of `poc_id`, if the inquiry is shared with it.
    pub fn share_of(&self, poc_id: Uuid) -> Option<&SharedWith> {
        self.shares.iter().find(|s| s.poc_id == poc_id)
    }

    /// The running deadline: the acknowledgement's while awaiting a response, the
    /// response's once acknowledged, none otherwise.
    pub fn due_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            Status::AwaitingResponse => self.ack_due_at,
            Status::Acknowledged => self.response_due_at,
            _ => None,
        }
    }

    /// Which deadline runs: the acknowledgement's or the response's.
    pub fn deadline_kind(&self) -> &'static str {
        match self.status {
            Status::AwaitingResponse => "acknowledgement",
            _ => "response",
        }
    }

    /// Past the running deadline (computed at read time, exact).
    pub fn overdue(&self, now: DateTime<Utc>) -> bool {
        self.due_at().is_some_and(|due| now > due)
    }

    fn stimulus(&self, action: ActionName, now: DateTime<Utc>) -> Stimulus {
        let overdue = self.overdue(now);
        let due_at = self.due_at();
        Stimulus {
            action,
            overdue,
            deadline_unrecorded: overdue && self.deadline_missed_for != due_at,
            reminder_unrecorded: !overdue && due_at.is_some() && self.reminded_for != due_at,
            sent: self.sent_at.is_some(),
        }
    }

    /// When the reminder for the running deadline falls due: once `share` (0 to 1) of the
    /// window from `deadline_set_at` to the deadline has elapsed.
    pub fn reminder_at(&self, share: f64) -> Option<DateTime<Utc>> {
        let due = self.due_at()?;
        let set = self.deadline_set_at?;
        let window_ms = (due - set).num_milliseconds().max(0) as f64;
        Some(set + chrono::TimeDelta::milliseconds((window_ms * share.clamp(0.0, 1.0)) as i64))
    }

    /// When the deadline sweeper next has something to record for this inquiry: the
    /// reminder, then the missed deadline; `None` once the miss is recorded or when no
    /// deadline runs.
    pub fn next_sweep_at(&self, reminder_share: f64) -> Option<DateTime<Utc>> {
        let due = self.due_at()?;
        if self.deadline_missed_for == Some(due) {
            return None;
        }
        match self.reminder_at(reminder_share) {
            Some(reminder) if self.reminded_for != Some(due) => Some(reminder.min(due)),
            _ => Some(due),
        }
    }

    /// The actions `party` may take now, in protocol order: those of the inquiry's
    /// protocol version that its role and standing allow and its status accepts.
    pub fn allowed_actions(&self, party: Party, now: DateTime<Utc>) -> Vec<ActionName> {
        let Some(definition) = self.definition() else {
            return Vec::new();
        };
        ActionName::ALL
            .into_iter()
            .filter(|action| {
                definition
                    .action(*action)
                    .is_some_and(|row| row.taken_by(party.role) && standing_allows(party, row))
            })
            .filter(|action| transition(self.status, self.stimulus(*action, now)).is_some())
            .collect()
    }
}

/// Whether a party's standing lets it take an action its role has.
fn standing_allows(party: Party, row: &super::definition::ActionDefinition) -> bool {
    match party.standing {
        Standing::Acting => true,
        Standing::Shared => row.shared,
        Standing::NotParticipating => false,
    }
}

/// The responding state as the directory describes it at `lookup_poc`, resolved by the
/// store (the protocol does no I/O).
#[derive(Debug, Clone)]
pub struct LookupTarget {
    pub code: MemberStateCode,
    pub name: StateName,
    pub participating: bool,
    /// Its active `policy` POCs.
    pub pocs: Vec<PocSnapshot>,
}

/// An action with its validated input.
#[derive(Debug, Clone)]
pub enum Action {
    LookupPoc(LookupTarget),
    Invoke {
        /// The languages to render, in order; none: the responding POCs' first language.
        languages: Vec<Language>,
    },
    Describe {
        nature: Nature,
        category: ShortText,
        sectors: Vec<ShortText>,
        observed_from: Option<DateTime<Utc>>,
        observed_to: Option<DateTime<Utc>>,
        indicators: Vec<Indicator>,
    },
    RequestInfo {
        questions: LongText,
        contact: ContactDetails,
        time_sensitivity: TimeSensitivity,
        respond_by: Option<DateTime<Utc>>,
    },
    Acknowledge {
        estimated_timeframe: Option<IsoDuration>,
        /// The timeframe in working days of the responding state, with its calendar.
        estimated_working_days: Option<WorkingDays>,
        respond_by: Option<DateTime<Utc>>,
        message: Option<LongText>,
        contact_requested: bool,
    },
    Update {
        message: LongText,
        estimated_timeframe: Option<IsoDuration>,
        respond_by: Option<DateTime<Utc>>,
        reason: Option<Reason>,
    },
    Respond {
        information: LongText,
        third_states: Vec<MemberStateCode>,
    },
    FollowUp {
        questions: LongText,
        time_sensitivity: Option<TimeSensitivity>,
        respond_by: Option<DateTime<Utc>>,
    },
    Close {
        resolution: Option<LongText>,
    },
    Withdraw {
        reason: Reason,
    },
    Remind,
    DeadlineReminder,
    DeadlineMissed,
    Message {
        text: LongText,
        contact: Option<ContactDetails>,
    },
    LogContact {
        channel: ContactChannel,
        at: DateTime<Utc>,
        summary: LongText,
    },
    Share(ShareTarget),
    Unshare {
        poc_id: Uuid,
    },
    Attach(AttachmentMeta),
}

/// The POC to share an inquiry with, as the directory describes it (resolved by the
/// store, inside the command's transaction).
#[derive(Debug, Clone)]
pub struct ShareTarget {
    pub poc_id: Uuid,
    pub name: String,
    pub role: String,
    pub member_state: MemberStateCode,
    pub active: bool,
}

impl Action {
    pub fn name(&self) -> ActionName {
        match self {
            Action::LookupPoc(_) => ActionName::LookupPoc,
            Action::Invoke { .. } => ActionName::Invoke,
            Action::Describe { .. } => ActionName::Describe,
            Action::RequestInfo { .. } => ActionName::RequestInfo,
            Action::Acknowledge { .. } => ActionName::Acknowledge,
            Action::Update { .. } => ActionName::Update,
            Action::Respond { .. } => ActionName::Respond,
            Action::FollowUp { .. } => ActionName::FollowUp,
            Action::Close { .. } => ActionName::Close,
            Action::Withdraw { .. } => ActionName::Withdraw,
            Action::Remind => ActionName::Remind,
            Action::DeadlineReminder => ActionName::DeadlineReminder,
            Action::DeadlineMissed => ActionName::DeadlineMissed,
            Action::Message { .. } => ActionName::Message,
            Action::LogContact { .. } => ActionName::LogContact,
            Action::Share(_) => ActionName::Share,
            Action::Unshare { .. } => ActionName::Unshare,
            Action::Attach(_) => ActionName::Attach,
        }
    }
}

/// What an event records. Serialized as `{"type": …, "payload": {…}}`; the type is an
/// action name (or `created`). Stored text is plain strings so that old events always
/// load, whatever today's validation limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "payload", rename_all = "snake_case")]
pub enum EventData {
    Created {
        requesting_state: MemberStateCode,
        requesting_state_name: StateName,
        requester: Requester,
        exercise: bool,
        related_inquiry_id: Option<Uuid>,
        protocol_version: String,
    },
    LookupPoc {
        responding_state: MemberStateCode,
        responding_state_name: StateName,
        responding_pocs: Vec<PocSnapshot>,
    },
    Invoke {
        language: Language,
        invocation_text: String,
        /// Every language rendered, in order, when there were several (protocol 1.1).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        languages: Vec<Language>,
    },
    Describe {
        incident: Incident,
    },
    RequestInfo {
        questions: String,
        contact: ContactDetails,
        time_sensitivity: TimeSensitivity,
        ack_due_at: DateTime<Utc>,
    },
    Acknowledge {
        message: Option<String>,
        contact_requested: bool,
        estimated_timeframe: Option<IsoDuration>,
        /// The timeframe in the responding state's working days, when given so.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        estimated_working_days: Option<u32>,
        response_due_at: DateTime<Utc>,
    },
    Update {
        message: String,
        estimated_timeframe: Option<IsoDuration>,
        reason: Option<String>,
        /// A revised response deadline, when the timeframe was revised.
        response_due_at: Option<DateTime<Utc>>,
    },
    Respond {
        information: String,
        third_states: Vec<MemberStateCode>,
    },
    FollowUp {
        questions: String,
        time_sensitivity: TimeSensitivity,
        ack_due_at: DateTime<Utc>,
    },
    Close {
        resolution: Option<String>,
    },
    Withdraw {
        reason: String,
    },
    Remind {
        /// The deadline that had passed.
        due_at: DateTime<Utc>,
        /// The state that must act.
        reminded_state: MemberStateCode,
    },
    DeadlineReminder {
        due_at: DateTime<Utc>,
        /// `acknowledgement` or `response`.
        deadline: String,
        /// The state that must act.
        reminded_state: MemberStateCode,
    },
    DeadlineMissed {
        due_at: DateTime<Utc>,
        /// `acknowledgement` or `response`.
        deadline: String,
    },
    Message {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<ContactDetails>,
    },
    LogContact {
        side: Role,
        channel: ContactChannel,
        at: DateTime<Utc>,
        summary: String,
    },
    Share {
        side: Role,
        poc_id: Uuid,
        name: String,
        role: String,
    },
    Unshare {
        side: Role,
        poc_id: Uuid,
    },
    /// Recorded by `attach`; its type is `attachment_added`.
    AttachmentAdded {
        side: Role,
        id: Uuid,
        sha256: String,
        size: u64,
        name: String,
        content_type: String,
    },
}

impl EventData {
    /// The event's type: `created`, `attachment_added` (recorded by `attach`), or the
    /// action's name.
    pub fn type_name(&self) -> &'static str {
        match self.action() {
            Some(action) => action.event_type(),
            None => "created",
        }
    }

    /// The action this event records (`None` for `created`).
    pub fn action(&self) -> Option<ActionName> {
        Some(match self {
            EventData::Created { .. } => return None,
            EventData::LookupPoc { .. } => ActionName::LookupPoc,
            EventData::Invoke { .. } => ActionName::Invoke,
            EventData::Describe { .. } => ActionName::Describe,
            EventData::RequestInfo { .. } => ActionName::RequestInfo,
            EventData::Acknowledge { .. } => ActionName::Acknowledge,
            EventData::Update { .. } => ActionName::Update,
            EventData::Respond { .. } => ActionName::Respond,
            EventData::FollowUp { .. } => ActionName::FollowUp,
            EventData::Close { .. } => ActionName::Close,
            EventData::Withdraw { .. } => ActionName::Withdraw,
            EventData::Remind { .. } => ActionName::Remind,
            EventData::DeadlineReminder { .. } => ActionName::DeadlineReminder,
            EventData::DeadlineMissed { .. } => ActionName::DeadlineMissed,
            EventData::Message { .. } => ActionName::Message,
            EventData::LogContact { .. } => ActionName::LogContact,
            EventData::Share { .. } => ActionName::Share,
            EventData::Unshare { .. } => ActionName::Unshare,
            EventData::AttachmentAdded { .. } => ActionName::Attach,
        })
    }

    /// The payload alone, as stored beside the type.
    pub fn payload(&self) -> serde_json::Value {
        let mut tagged = serde_json::to_value(self).expect("events serialize");
        tagged
            .get_mut("payload")
            .map(serde_json::Value::take)
            .unwrap_or_default()
    }

    /// Rebuilds an event from its stored type and payload.
    pub fn from_parts(
        type_name: &str,
        payload: serde_json::Value,
    ) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::json!({ "type": type_name, "payload": payload }))
    }
}

/// Why an action was refused. Nothing is recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only the {required} may {action}", required = roles_in_words(required), action = action.as_str())]
    WrongRole {
        action: ActionName,
        required: Vec<Role>,
    },
    /// The caller's role has the action, but not in its standing (a POC the inquiry is
    /// shared with, a state that no longer participates).
    #[error("{reason}")]
    Forbidden { action: ActionName, reason: String },
    /// The inquiry's protocol version has no such action.
    #[error("{action} is not part of protocol {version}, which this inquiry started under", action = action.as_str())]
    NotInVersion {
        action: ActionName,
        version: String,
        current_status: Status,
        allowed_actions: Vec<ActionName>,
    },
    #[error("{action} is not allowed while the inquiry is {status}", action = action.as_str(), status = current_status.as_str())]
    NotAllowed {
        action: ActionName,
        current_status: Status,
        allowed_actions: Vec<ActionName>,
    },
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
}

/// "requester", "requester or responder".
fn roles_in_words(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

fn invalid(field: &str, detail: impl Into<String>) -> Refusal {
    Refusal::Invalid {
        field: field.to_owned(),
        detail: detail.into(),
    }
}

/// An explicit deadline must lie ahead.
fn future(field: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, Refusal> {
    if at > now {
        Ok(at)
    } else {
        Err(invalid(
            field,
            format!("must be in the future, got {}", at.to_rfc3339()),
        ))
    }
}

/// A response deadline from an estimated timeframe or an explicit date (one of them).
fn response_deadline(
    definition: &Definition,
    estimated_timeframe: Option<IsoDuration>,
    respond_by: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Refusal> {
    let max = definition.deadlines.max_estimated_timeframe;
    match (estimated_timeframe, respond_by) {
        (Some(_), Some(_)) => Err(invalid(
            "estimated_timeframe",
            "give estimated_timeframe or respond_by, not both",
        )),
        (Some(timeframe), None) if timeframe > max => Err(invalid(
            "estimated_timeframe",
            format!("must be at most {max}, got {timeframe}"),
        )),
        (Some(timeframe), None) => Ok(Some(now + timeframe.as_delta())),
        (None, Some(at)) if at > now + max.as_delta() => Err(invalid(
            "respond_by",
            format!("must be within {max} from now"),
        )),
        (None, Some(at)) => future("respond_by", at, now).map(Some),
        (None, None) => Ok(None),
    }
}

/// The response deadline of a timeframe in working days: the close of the responding
/// state's `days`-th working day after today there, within the longest timeframe.
fn working_deadline(
    definition: &Definition,
    working: &WorkingDays,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let max_days = crate::calendar::MAX_WORKING_DAYS;
    if working.days == 0 || working.days > max_days {
        return Err(invalid(
            "estimated_working_days",
            format!("must be from 1 to {max_days}, got {}", working.days),
        ));
    }
    let calendar = working.calendar.as_ref().ok_or_else(|| {
        invalid(
            "estimated_working_days",
            "the responding state's working calendar is not known",
        )
    })?;
    let max = definition.deadlines.max_estimated_timeframe;
    calendar
        .after_working_days(now, working.days)
        .filter(|due| *due <= now + max.as_delta())
        .ok_or_else(|| {
            invalid(
                "estimated_working_days",
                format!("reaches beyond {max} from now in the responding state's calendar"),
            )
        })
}

/// The acknowledgement deadline: an explicit date (ahead, and no further than the longest
/// estimated timeframe), or the time sensitivity's default.
fn ack_deadline(
    definition: &Definition,
    time_sensitivity: TimeSensitivity,
    respond_by: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Refusal> {
    let max = definition.deadlines.max_estimated_timeframe;
    match respond_by {
        Some(at) if at > now + max.as_delta() => Err(invalid(
            "respond_by",
            format!("must be within {max} from now"),
        )),
        Some(at) => future("respond_by", at, now),
        None => Ok(now
            + definition
                .deadlines
                .for_sensitivity(time_sensitivity)
                .as_delta()),
    }
}

/// The event that starts an inquiry.
pub fn create(
    requesting_state: MemberStateCode,
    requesting_state_name: StateName,
    requester: Requester,
    exercise: bool,
    related_inquiry_id: Option<Uuid>,
) -> EventData {
    EventData::Created {
        requesting_state,
        requesting_state_name,
        requester,
        exercise,
        related_inquiry_id,
        protocol_version: definition().version.clone(),
    }
}

/// The languages an invocation is rendered in: those asked for, or the first language of
/// the responding state's policy POCs (in the order they were snapshotted) that is an OAS
/// official language, or English.
fn invocation_languages(inquiry: &Inquiry, asked: Vec<Language>) -> Result<Vec<Language>, Refusal> {
    for (i, language) in asked.iter().enumerate() {
        if asked[..i].contains(language) {
            return Err(invalid(
                "languages",
                format!("lists {} twice", language.as_str()),
            ));
        }
    }
    if !asked.is_empty() {
        return Ok(asked);
    }
    let preferred = inquiry
        .responding_pocs
        .iter()
        .filter_map(|poc| poc.languages.first())
        .find_map(|code| Language::ALL.into_iter().find(|l| l.as_str() == code));
    Ok(vec![preferred.unwrap_or_default()])
}

/// How long before the inquiry was created a contact logged on it may have taken place
/// (the text's first step is a call or e-mail, which may come before the inquiry is
/// filed in cbm2).
pub const CONTACT_BEFORE_INQUIRY: chrono::TimeDelta = chrono::TimeDelta::days(30);

/// Whether `party` may take the action `name` on `inquiry` now, whatever its input: the
/// checks of [`decide`] that come before the input's (409, 403, 403, 409). The store asks
/// it before it resolves what an action names in the directory, so that a caller who may
/// not act learns nothing of the directory. Gives the inquiry's protocol definition.
pub fn admit(
    inquiry: &Inquiry,
    party: Party,
    name: ActionName,
    now: DateTime<Utc>,
) -> Result<&'static Definition, Refusal> {
    let Some(definition) = inquiry.definition() else {
        return Err(Refusal::NotInVersion {
            action: name,
            version: inquiry.protocol_version.clone(),
            current_status: inquiry.status,
            allowed_actions: Vec::new(),
        });
    };
    let Some(row) = definition.action(name) else {
        return Err(Refusal::NotInVersion {
            action: name,
            version: inquiry.protocol_version.clone(),
            current_status: inquiry.status,
            allowed_actions: inquiry.allowed_actions(party, now),
        });
    };
    if !row.taken_by(party.role) {
        return Err(Refusal::WrongRole {
            action: name,
            required: [
                Role::Requester,
                Role::Responder,
                Role::Secretariat,
                Role::Engine,
            ]
            .into_iter()
            .filter(|r| row.taken_by(*r))
            .collect(),
        });
    }
    if !standing_allows(party, row) {
        let state = inquiry
            .state_of(party.role)
            .map_or_else(|| "its state".to_owned(), ToString::to_string);
        let reason = match party.standing {
            Standing::Shared => format!(
                "this inquiry is shared with you to read and to send messages; {} is for the policy points of contact of {state}",
                name.as_str()
            ),
            _ => format!(
                "{state} does not participate in CBM #2 at present: its points of contact may read the inquiry but not act on it (the Secretariat sets participation)"
            ),
        };
        return Err(Refusal::Forbidden {
            action: name,
            reason,
        });
    }
    if transition(inquiry.status, inquiry.stimulus(name, now)).is_none() {
        return Err(Refusal::NotAllowed {
            action: name,
            current_status: inquiry.status,
            allowed_actions: inquiry.allowed_actions(party, now),
        });
    }
    Ok(definition)
}

/// Decides what `party` doing `action` at `now` records, or why it is refused: the
/// inquiry's protocol version must have the action (409), the party's role must take it
/// (403) and its standing allow it (403), the status must accept it (409), and the input
/// must hold (422).
pub fn decide(
    inquiry: &Inquiry,
    party: Party,
    action: Action,
    now: DateTime<Utc>,
) -> Result<EventData, Refusal> {
    let definition = admit(inquiry, party, action.name(), now)?;
    let side = party.role;
    Ok(match action {
        Action::LookupPoc(target) => {
            if target.code == inquiry.requesting_state {
                return Err(invalid(
                    "member_state",
                    format!("{} is the requesting state itself", target.code),
                ));
            }
            if !target.participating {
                return Err(invalid(
                    "member_state",
                    format!("{} does not participate in CBM #2", target.code),
                ));
            }
            if target.pocs.is_empty() {
                return Err(invalid(
                    "member_state",
                    format!(
                        "{} has no active policy point of contact in the directory",
                        target.code
                    ),
                ));
            }
            EventData::LookupPoc {
                responding_state: target.code,
                responding_state_name: target.name,
                responding_pocs: target.pocs,
            }
        }
        Action::Invoke { languages } => {
            let languages = invocation_languages(inquiry, languages)?;
            let responding_state_name = inquiry
                .responding_state_name
                .as_ref()
                .expect("poc_identified has a responding state");
            let names: Vec<String> = inquiry
                .responding_pocs
                .iter()
                .map(|p| p.name.clone())
                .collect();
            let responding_state = inquiry
                .responding_state
                .as_ref()
                .expect("poc_identified has a responding state");
            let texts: Vec<String> = languages
                .iter()
                .map(|language| {
                    invocation::render(
                        *language,
                        &InvocationParties {
                            requester_name: &inquiry.requester.name,
                            requester_affiliation: &inquiry.requester.affiliation,
                            requesting_state: &inquiry.requesting_state,
                            requesting_state_name: inquiry
                                .requesting_state_name
                                .in_language(*language),
                            responding_state,
                            responding_state_name: responding_state_name.in_language(*language),
                            responding_poc_names: &names,
                            exercise: inquiry.exercise,
                        },
                    )
                })
                .collect();
            EventData::Invoke {
                language: languages[0],
                invocation_text: texts.join(INVOCATION_SEPARATOR),
                languages: if languages.len() > 1 {
                    languages
                } else {
                    Vec::new()
                },
            }
        }
        Action::Describe {
            nature,
            category,
            sectors,
            observed_from,
            observed_to,
            indicators,
        } => {
            if let (Some(from), Some(to)) = (observed_from, observed_to)
                && from > to
            {
                return Err(invalid("observed_to", "must not be before observed_from"));
            }
            if observed_from.is_some_and(|from| from > now) {
                return Err(invalid("observed_from", "must not be in the future"));
            }
            if sectors.len() > 20 {
                return Err(invalid("sectors", "must list at most 20 sectors"));
            }
            if indicators.len() > 500 {
                return Err(invalid("indicators", "must list at most 500 indicators"));
            }
            EventData::Describe {
                incident: Incident {
                    nature: nature.as_str().to_owned(),
                    category: category.as_str().to_owned(),
                    sectors: sectors.iter().map(|s| s.as_str().to_owned()).collect(),
                    observed_from,
                    observed_to,
                    indicators,
                },
            }
        }
        Action::RequestInfo {
            questions,
            contact,
            time_sensitivity,
            respond_by,
        } => EventData::RequestInfo {
            questions: questions.as_str().to_owned(),
            contact,
            time_sensitivity,
            ack_due_at: ack_deadline(definition, time_sensitivity, respond_by, now)?,
        },
        Action::Acknowledge {
            estimated_timeframe,
            estimated_working_days,
            respond_by,
            message,
            contact_requested,
        } => {
            let response_due_at = match &estimated_working_days {
                Some(working) => {
                    if estimated_timeframe.is_some() || respond_by.is_some() {
                        return Err(invalid(
                            "estimated_working_days",
                            "give one of estimated_timeframe, estimated_working_days and respond_by",
                        ));
                    }
                    working_deadline(definition, working, now)?
                }
                None => response_deadline(definition, estimated_timeframe, respond_by, now)?
                    .ok_or_else(|| {
                        invalid(
                            "estimated_timeframe",
                            "is required (or estimated_working_days, or respond_by): O2 asks for an estimated timeframe for a response",
                        )
                    })?,
            };
            EventData::Acknowledge {
                message: message.map(|m| m.as_str().to_owned()),
                contact_requested,
                estimated_timeframe,
                estimated_working_days: estimated_working_days.map(|w| w.days),
                response_due_at,
            }
        }
        Action::Update {
            message,
            estimated_timeframe,
            respond_by,
            reason,
        } => {
            let response_due_at =
                response_deadline(definition, estimated_timeframe, respond_by, now)?;
            if response_due_at.is_some() && reason.is_none() {
                return Err(invalid(
                    "reason",
                    "is required when the timeframe is revised",
                ));
            }
            if response_due_at.is_none() && reason.is_some() {
                return Err(invalid(
                    "reason",
                    "only accompanies a revised estimated_timeframe or respond_by",
                ));
            }
            EventData::Update {
                message: message.as_str().to_owned(),
                estimated_timeframe,
                reason: reason.map(|r| r.as_str().to_owned()),
                response_due_at,
            }
        }
        Action::Respond {
            information,
            third_states,
        } => {
            for (i, state) in third_states.iter().enumerate() {
                if third_states[..i].contains(state) {
                    return Err(invalid("third_states", format!("lists {state} twice")));
                }
                if Some(state) == inquiry.responding_state.as_ref() {
                    return Err(invalid(
                        "third_states",
                        format!("{state} is the responding state itself"),
                    ));
                }
                if *state == inquiry.requesting_state {
                    return Err(invalid(
                        "third_states",
                        format!("{state} is the requesting state itself"),
                    ));
                }
            }
            EventData::Respond {
                information: information.as_str().to_owned(),
                third_states,
            }
        }
        Action::FollowUp {
            questions,
            time_sensitivity,
            respond_by,
        } => {
            let time_sensitivity = time_sensitivity
                .or(inquiry.time_sensitivity)
                .unwrap_or(TimeSensitivity::Routine);
            EventData::FollowUp {
                questions: questions.as_str().to_owned(),
                time_sensitivity,
                ack_due_at: ack_deadline(definition, time_sensitivity, respond_by, now)?,
            }
        }
        Action::Close { resolution } => EventData::Close {
            resolution: resolution.map(|r| r.as_str().to_owned()),
        },
        Action::Withdraw { reason } => EventData::Withdraw {
            reason: reason.as_str().to_owned(),
        },
        Action::Remind => EventData::Remind {
            due_at: inquiry.due_at().expect("overdue implies a deadline"),
            reminded_state: inquiry
                .responding_state
                .clone()
                .expect("sent implies a responding state"),
        },
        Action::DeadlineReminder => EventData::DeadlineReminder {
            due_at: inquiry.due_at().expect("open implies a deadline"),
            deadline: inquiry.deadline_kind().to_owned(),
            reminded_state: inquiry
                .responding_state
                .clone()
                .expect("sent implies a responding state"),
        },
        Action::DeadlineMissed => EventData::DeadlineMissed {
            due_at: inquiry.due_at().expect("overdue implies a deadline"),
            deadline: inquiry.deadline_kind().to_owned(),
        },
        Action::Message { text, contact } => {
            if contact.is_some() && side != Role::Requester {
                return Err(invalid(
                    "contact",
                    "only the requesting state gives its contact details in a message",
                ));
            }
            EventData::Message {
                text: text.as_str().to_owned(),
                contact,
            }
        }
        Action::LogContact {
            channel,
            at,
            summary,
        } => {
            if at > now {
                return Err(invalid(
                    "at",
                    format!("must not be in the future, got {}", at.to_rfc3339()),
                ));
            }
            if at < inquiry.created_at - CONTACT_BEFORE_INQUIRY {
                return Err(invalid(
                    "at",
                    format!(
                        "must be at most {} days before the inquiry was created ({})",
                        CONTACT_BEFORE_INQUIRY.num_days(),
                        inquiry.created_at.to_rfc3339()
                    ),
                ));
            }
            EventData::LogContact {
                side,
                channel,
                at,
                summary: summary.as_str().to_owned(),
            }
        }
        Action::Share(target) => {
            let own_state = inquiry.state_of(side).expect("a participant has a state");
            if target.member_state != *own_state {
                return Err(invalid(
                    "poc_id",
                    format!(
                        "is a point of contact of {}: an inquiry is shared with a point of contact of your own state, {own_state}",
                        target.member_state
                    ),
                ));
            }
            if !target.active {
                return Err(invalid("poc_id", "is deactivated"));
            }
            if target.role == "policy" {
                return Err(invalid(
                    "poc_id",
                    format!(
                        "is a policy point of contact of {own_state}, who sees the inquiry already"
                    ),
                ));
            }
            if inquiry.share_of(target.poc_id).is_some() {
                return Err(invalid(
                    "poc_id",
                    "the inquiry is already shared with this point of contact",
                ));
            }
            EventData::Share {
                side,
                poc_id: target.poc_id,
                name: target.name,
                role: target.role,
            }
        }
        Action::Unshare { poc_id } => {
            if inquiry
                .share_of(poc_id)
                .is_none_or(|share| share.side != side)
            {
                return Err(invalid(
                    "poc_id",
                    "your state has not shared the inquiry with this point of contact",
                ));
            }
            EventData::Unshare { side, poc_id }
        }
        Action::Attach(meta) => {
            if inquiry.attachments.len() >= MAX_ATTACHMENTS {
                return Err(invalid(
                    "file",
                    format!("the inquiry holds {MAX_ATTACHMENTS} files, the most it may"),
                ));
            }
            EventData::AttachmentAdded {
                side,
                id: meta.id,
                sha256: meta.sha256,
                size: meta.size,
                name: meta.name,
                content_type: meta.content_type,
            }
        }
    })
}

/// Between the renderings of an invocation in several languages.
pub const INVOCATION_SEPARATOR: &str = "\n\n* * *\n\n";

/// A stored event does not follow from the one before it.
#[derive(Debug, thiserror::Error)]
#[error("event {seq} ({event_type}) cannot follow status {status}")]
pub struct ReplayError {
    pub seq: i64,
    pub event_type: &'static str,
    pub status: &'static str,
}

/// The inquiry after `event` (the `seq`-th, at `at`), through the same machine that
/// accepted it. `before` is `None` for the `created` event.
pub fn apply(
    before: Option<&Inquiry>,
    id: Uuid,
    seq: i64,
    event: &EventData,
    at: DateTime<Utc>,
) -> Result<Inquiry, ReplayError> {
    let replay_error = |status: &'static str| ReplayError {
        seq,
        event_type: event.type_name(),
        status,
    };
    let (mut inquiry, action) = match (before, event) {
        (
            None,
            EventData::Created {
                requesting_state,
                requesting_state_name,
                requester,
                exercise,
                related_inquiry_id,
                protocol_version,
            },
        ) => {
            let inquiry = Inquiry {
                id,
                status: Status::Draft,
                version: 1,
                protocol_version: protocol_version.clone(),
                exercise: *exercise,
                related_inquiry_id: *related_inquiry_id,
                requesting_state: requesting_state.clone(),
                requesting_state_name: requesting_state_name.clone(),
                requester: requester.clone(),
                responding_state: None,
                responding_state_name: None,
                responding_pocs: Vec::new(),
                language: None,
                languages: Vec::new(),
                invocation_text: None,
                incident: None,
                questions: None,
                contact: None,
                time_sensitivity: None,
                message: None,
                contact_requested: None,
                estimated_timeframe: None,
                estimated_working_days: None,
                information: None,
                third_states: Vec::new(),
                resolution: None,
                withdrawal_reason: None,
                ack_due_at: None,
                response_due_at: None,
                deadline_missed_for: None,
                deadline_set_at: None,
                reminded_for: None,
                created_at: at,
                updated_at: at,
                sent_at: None,
                acknowledged_at: None,
                responded_at: None,
                ended_at: None,
                contact_provided_at: None,
                logged_contacts: Vec::new(),
                shares: Vec::new(),
                attachments: Vec::new(),
            };
            return if seq == 1 {
                Ok(inquiry)
            } else {
                Err(replay_error("none"))
            };
        }
        (None, _) => return Err(replay_error("none")),
        (Some(_), EventData::Created { .. }) => return Err(replay_error("created")),
        (Some(before), event) => (before.clone(), event.action().expect("not created")),
    };
    // The event was accepted when recorded: its guards held then.
    let stimulus = Stimulus {
        action,
        overdue: true,
        deadline_unrecorded: true,
        reminder_unrecorded: true,
        sent: true,
    };
    inquiry.status = transition(inquiry.status, stimulus)
        .ok_or_else(|| replay_error(inquiry.status.as_str()))?;
    inquiry.version = seq;
    inquiry.updated_at = at;
    match event.clone() {
        EventData::Created { .. } => unreachable!("handled above"),
        EventData::LookupPoc {
            responding_state,
            responding_state_name,
            responding_pocs,
        } => {
            inquiry.responding_state = Some(responding_state);
            inquiry.responding_state_name = Some(responding_state_name);
            inquiry.responding_pocs = responding_pocs;
        }
        EventData::Invoke {
            language,
            invocation_text,
            languages,
        } => {
            inquiry.language = Some(language);
            inquiry.languages = languages;
            inquiry.invocation_text = Some(invocation_text);
        }
        EventData::Describe { incident } => inquiry.incident = Some(incident),
        EventData::RequestInfo {
            questions,
            contact,
            time_sensitivity,
            ack_due_at,
        } => {
            inquiry.questions = Some(questions);
            inquiry.contact = Some(contact);
            inquiry.time_sensitivity = Some(time_sensitivity);
            inquiry.ack_due_at = Some(ack_due_at);
            inquiry.deadline_set_at = Some(at);
            inquiry.sent_at = Some(at);
        }
        EventData::Acknowledge {
            message,
            contact_requested,
            estimated_timeframe,
            estimated_working_days,
            response_due_at,
        } => {
            inquiry.message = message;
            inquiry.contact_requested = Some(contact_requested);
            inquiry.estimated_timeframe = estimated_timeframe;
            inquiry.estimated_working_days = estimated_working_days;
            inquiry.response_due_at = Some(response_due_at);
            inquiry.deadline_set_at = Some(at);
            // The first acknowledgement: response times are measured from sending to it.
            inquiry.acknowledged_at.get_or_insert(at);
        }
        EventData::Update {
            message,
            estimated_timeframe,
            reason: _,
            response_due_at,
        } => {
            inquiry.message = Some(message);
            if let Some(due) = response_due_at {
                inquiry.response_due_at = Some(due);
                inquiry.deadline_set_at = Some(at);
                inquiry.estimated_timeframe = estimated_timeframe;
                // A revised timeframe is no longer counted in working days.
                inquiry.estimated_working_days = None;
            }
        }
        EventData::Respond {
            information,
            third_states,
        } => {
            inquiry.information = Some(information);
            inquiry.third_states = third_states;
            // The first response, as for acknowledged_at.
            inquiry.responded_at.get_or_insert(at);
        }
        EventData::FollowUp {
            questions,
            time_sensitivity,
            ack_due_at,
        } => {
            inquiry.questions = Some(questions);
            inquiry.time_sensitivity = Some(time_sensitivity);
            inquiry.ack_due_at = Some(ack_due_at);
            inquiry.deadline_set_at = Some(at);
            inquiry.response_due_at = None;
        }
        EventData::Close { resolution } => {
            inquiry.resolution = resolution;
            inquiry.ended_at = Some(at);
        }
        EventData::Withdraw { reason } => {
            inquiry.withdrawal_reason = Some(reason);
            inquiry.ended_at = Some(at);
        }
        EventData::Remind { .. } => {}
        EventData::DeadlineReminder { due_at, .. } => inquiry.reminded_for = Some(due_at),
        EventData::DeadlineMissed { due_at, .. } => inquiry.deadline_missed_for = Some(due_at),
        EventData::Message { text: _, contact } => {
            if let Some(contact) = contact {
                inquiry.contact = Some(contact);
                inquiry.contact_provided_at = Some(at);
            }
        }
        EventData::LogContact {
            side,
            channel,
            at: contacted_at,
            summary: _,
        } => inquiry.logged_contacts.push(LoggedContact {
            side,
            channel,
            at: contacted_at,
            logged_at: at,
        }),
        EventData::Share {
            side,
            poc_id,
            name,
            role,
        } => inquiry.shares.push(SharedWith {
            poc_id,
            name,
            role,
            side,
            shared_at: at,
        }),
        EventData::Unshare { side: _, poc_id } => inquiry.shares.retain(|s| s.poc_id != poc_id),
        EventData::AttachmentAdded {
            side,
            id,
            sha256,
            size,
            name,
            content_type,
        } => inquiry.attachments.push(Attachment {
            id,
            side,
            sha256,
            size,
            name,
            content_type,
            added_at: at,
        }),
    }
    Ok(inquiry)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_790_000_000 + seconds, 0).unwrap()
    }

    fn name(en: &str, es: &str, fr: &str, pt: &str) -> StateName {
        StateName {
            en: en.into(),
            es: es.into(),
            fr: fr.into(),
            pt: pt.into(),
        }
    }

    /// A draft of Chile's, addressed to Brazil.
    fn addressed_to_brazil() -> Inquiry {
        let id = Uuid::nil();
        let created = create(
            MemberStateCode::parse("CHL").unwrap(),
            name("Chile", "Chile", "Chili", "Chile"),
            Requester {
                poc_id: Uuid::nil(),
                name: "Eva Rojas".into(),
                affiliation: "MRE".into(),
            },
            false,
            None,
        );
        let draft = apply(None, id, 1, &created, at(0)).unwrap();
        let lookup = EventData::LookupPoc {
            responding_state: MemberStateCode::parse("BRA").unwrap(),
            responding_state_name: name("Brazil", "Brasil", "Brésil", "Brasil"),
            responding_pocs: vec![PocSnapshot {
                id: Uuid::nil(),
                name: "Ana Souza".into(),
                affiliation: "Itamaraty".into(),
                email: "ana@itamaraty.gov.br".into(),
                languages: vec!["pt".into()],
            }],
        };
        apply(Some(&draft), id, 2, &lookup, at(1)).unwrap()
    }

    #[test]
    fn the_invocation_names_the_states_in_its_own_language() {
        let inquiry = addressed_to_brazil();
        for (language, requesting, responding) in [
            (Language::En, "Chile", "Brazil"),
            (Language::Es, "Chile", "Brasil"),
            (Language::Fr, "Chili", "Brésil"),
            (Language::Pt, "Chile", "Brasil"),
        ] {
            let event = decide(
                &inquiry,
                Party::acting(Role::Requester),
                Action::Invoke {
                    languages: vec![language],
                },
                at(2),
            )
            .unwrap();
            let EventData::Invoke {
                invocation_text, ..
            } = event
            else {
                panic!("{event:?}")
            };
            assert!(
                invocation_text.contains(requesting),
                "{language:?}: {invocation_text}"
            );
            assert!(
                invocation_text.contains(responding),
                "{language:?}: {invocation_text}"
            );
        }
    }

    #[test]
    fn a_name_missing_in_a_language_falls_back_to_english() {
        // Inquiries snapshotted before French and Portuguese names were kept.
        let old: StateName =
            serde_json::from_value(serde_json::json!({"en": "Brazil", "es": "Brasil"})).unwrap();
        assert_eq!(old.in_language(Language::Pt), "Brazil");
        assert_eq!(old.in_language(Language::Es), "Brasil");
    }

    #[test]
    fn the_responder_may_not_invoke_and_a_skipped_step_is_refused_with_what_is_allowed() {
        let inquiry = addressed_to_brazil();
        let wrong_role = decide(
            &inquiry,
            Party::acting(Role::Responder),
            Action::Invoke {
                languages: vec![Language::En],
            },
            at(2),
        );
        assert!(matches!(wrong_role, Err(Refusal::WrongRole { .. })));
        let skipped = decide(
            &inquiry,
            Party::acting(Role::Requester),
            Action::Close { resolution: None },
            at(2),
        );
        let Err(Refusal::NotAllowed {
            current_status,
            allowed_actions,
            ..
        }) = skipped
        else {
            panic!("{skipped:?}")
        };
        assert_eq!(current_status, Status::PocIdentified);
        assert_eq!(
            allowed_actions,
            [
                ActionName::LookupPoc,
                ActionName::Invoke,
                ActionName::Withdraw,
                ActionName::Share,
                ActionName::Unshare,
            ]
        );
    }
}
