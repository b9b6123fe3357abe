//! The CBM #2 state machine (statig), hierarchical as protocol.md draws it:
//!
//! ```text
//! preparing: draft → poc_identified → cbm2_invoked → incident_described
//! open:      awaiting_response ⇄ acknowledged
//! answered:  responded
//! ended:     closed | withdrawn
//! ```
//!
//! under one top superstate, `inquiry`, which takes `share` and `unshare` in any status.
//! The machine carries the union of every protocol version's actions; which of them an
//! inquiry may take is its version's table ([`super::definition`]).
//!
//! The machine knows statuses and actions only; the inputs, deadlines and effects of an
//! action are [`super::inquiry`]'s. It holds no data of its own besides whether the last
//! action was accepted: statig's `handle()` returns nothing and drops what no state
//! handles, so every handler that accepts says so, and [`transition`] turns silence into
//! a refusal.

#![allow(missing_docs)]

use serde::{Deserialize, Serialize};
use statig::prelude::*;

/// An inquiry's status: what is persisted (as snake_case text with a SQL CHECK) and
/// shown. Mapped to and from statig's generated `State`, never replaced by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Draft,
    PocIdentified,
    Cbm2Invoked,
    IncidentDescribed,
    AwaitingResponse,
    Acknowledged,
    Responded,
    Closed,
    Withdrawn,
}

impl Status {
    pub const ALL: [Status; 9] = [
        Status::Draft,
        Status::PocIdentified,
        Status::Cbm2Invoked,
        Status::IncidentDescribed,
        Status::AwaitingResponse,
        Status::Acknowledged,
        Status::Responded,
        Status::Closed,
        Status::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::PocIdentified => "poc_identified",
            Status::Cbm2Invoked => "cbm2_invoked",
            Status::IncidentDescribed => "incident_described",
            Status::AwaitingResponse => "awaiting_response",
            Status::Acknowledged => "acknowledged",
            Status::Responded => "responded",
            Status::Closed => "closed",
            Status::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The superstate this status belongs to.
    pub fn superstate(self) -> &'static str {
        match self {
            Status::Draft
            | Status::PocIdentified
            | Status::Cbm2Invoked
            | Status::IncidentDescribed => "preparing",
            Status::AwaitingResponse | Status::Acknowledged => "open",
            Status::Responded => "answered",
            Status::Closed | Status::Withdrawn => "ended",
        }
    }

    fn to_state(self) -> State {
        match self {
            Status::Draft => State::draft(),
            Status::PocIdentified => State::poc_identified(),
            Status::Cbm2Invoked => State::cbm2_invoked(),
            Status::IncidentDescribed => State::incident_described(),
            Status::AwaitingResponse => State::awaiting_response(),
            Status::Acknowledged => State::acknowledged(),
            Status::Responded => State::responded(),
            Status::Closed => State::closed(),
            Status::Withdrawn => State::withdrawn(),
        }
    }

    fn from_state(state: &State) -> Status {
        match state {
            State::Draft {} => Status::Draft,
            State::PocIdentified {} => Status::PocIdentified,
            State::Cbm2Invoked {} => Status::Cbm2Invoked,
            State::IncidentDescribed {} => Status::IncidentDescribed,
            State::AwaitingResponse {} => Status::AwaitingResponse,
            State::Acknowledged {} => Status::Acknowledged,
            State::Responded {} => Status::Responded,
            State::Closed {} => Status::Closed,
            State::Withdrawn {} => Status::Withdrawn,
        }
    }
}

/// The actions of the protocol, named as in `protocol/versions/*.toml` and as event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionName {
    LookupPoc,
    Invoke,
    Describe,
    RequestInfo,
    Acknowledge,
    Update,
    Respond,
    FollowUp,
    Close,
    Withdraw,
    Remind,
    DeadlineReminder,
    DeadlineMissed,
    Message,
    LogContact,
    Share,
    Unshare,
    Attach,
}

impl ActionName {
    pub const ALL: [ActionName; 18] = [
        ActionName::LookupPoc,
        ActionName::Invoke,
        ActionName::Describe,
        ActionName::RequestInfo,
        ActionName::Acknowledge,
        ActionName::Update,
        ActionName::Respond,
        ActionName::FollowUp,
        ActionName::Close,
        ActionName::Withdraw,
        ActionName::Remind,
        ActionName::DeadlineReminder,
        ActionName::DeadlineMissed,
        ActionName::Message,
        ActionName::LogContact,
        ActionName::Share,
        ActionName::Unshare,
        ActionName::Attach,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionName::LookupPoc => "lookup_poc",
            ActionName::Invoke => "invoke",
            ActionName::Describe => "describe",
            ActionName::RequestInfo => "request_info",
            ActionName::Acknowledge => "acknowledge",
            ActionName::Update => "update",
            ActionName::Respond => "respond",
            ActionName::FollowUp => "follow_up",
            ActionName::Close => "close",
            ActionName::Withdraw => "withdraw",
            ActionName::Remind => "remind",
            ActionName::DeadlineReminder => "deadline_reminder",
            ActionName::DeadlineMissed => "deadline_missed",
            ActionName::Message => "message",
            ActionName::LogContact => "log_contact",
            ActionName::Share => "share",
            ActionName::Unshare => "unshare",
            ActionName::Attach => "attach",
        }
    }

    /// The type of the event the action records: its name, but `attach`, which records
    /// `attachment_added`.
    pub fn event_type(self) -> &'static str {
        match self {
            ActionName::Attach => "attachment_added",
            other => other.as_str(),
        }
    }

    pub fn parse(text: &str) -> Option<ActionName> {
        ActionName::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// What the machine is told: the action, and the facts its guards need.
#[derive(Debug, Clone, Copy)]
pub struct Stimulus {
    pub action: ActionName,
    /// The running deadline has passed.
    pub overdue: bool,
    /// Overdue, and no `deadline_missed` is recorded for this deadline yet.
    pub deadline_unrecorded: bool,
    /// Not overdue, and no `deadline_reminder` is recorded for this deadline yet.
    pub reminder_unrecorded: bool,
    /// The inquiry was sent to the responding state.
    pub sent: bool,
}

/// The machine's shared storage: whether the last stimulus was accepted.
#[derive(Debug, Default)]
pub struct Machine {
    accepted: bool,
}

impl Machine {
    fn accept(&mut self, target: State) -> Outcome<State> {
        self.accepted = true;
        Transition(target)
    }

    fn accept_in_place(&mut self) -> Outcome<State> {
        self.accepted = true;
        Handled
    }
}

#[state_machine(initial = "State::draft()", state(derive(Debug, Clone, PartialEq, Eq)))]
impl Machine {
    /// Created by the requesting POC. `lookup_poc` → poc_identified.
    #[state(superstate = "preparing")]
    fn draft(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::LookupPoc => self.accept(State::poc_identified()),
            _ => Super,
        }
    }

    /// The responding state's POCs are resolved. `lookup_poc` again → poc_identified
    /// (another state); `invoke` → cbm2_invoked.
    #[state(superstate = "preparing")]
    fn poc_identified(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::LookupPoc => self.accept(State::poc_identified()),
            ActionName::Invoke => self.accept(State::cbm2_invoked()),
            _ => Super,
        }
    }

    /// The invocation statement is rendered. `describe` → incident_described.
    #[state(superstate = "preparing")]
    fn cbm2_invoked(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Describe => self.accept(State::incident_described()),
            _ => Super,
        }
    }

    /// The incident is described. `describe` again replaces it; `request_info` sends the
    /// inquiry → awaiting_response.
    #[state(superstate = "preparing")]
    fn incident_described(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Describe => self.accept(State::incident_described()),
            ActionName::RequestInfo => self.accept(State::awaiting_response()),
            _ => Super,
        }
    }

    /// Nothing sent yet: only the requester acts. `withdraw` → withdrawn.
    #[superstate(superstate = "inquiry")]
    fn preparing(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Withdraw => self.accept(State::withdrawn()),
            _ => Super,
        }
    }

    /// Sent; the acknowledgement deadline runs. `acknowledge` → acknowledged (Option 2);
    /// `respond` → responded (Option 1).
    #[state(superstate = "open")]
    fn awaiting_response(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Acknowledge => self.accept(State::acknowledged()),
            ActionName::Respond => self.accept(State::responded()),
            _ => Super,
        }
    }

    /// Acknowledged; the response deadline runs. `update` stays (interim information or a
    /// revised timeframe); `respond` → responded.
    #[state(superstate = "open")]
    fn acknowledged(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Update => self.accept_in_place(),
            ActionName::Respond => self.accept(State::responded()),
            _ => Super,
        }
    }

    /// A deadline runs. `close` → closed; `withdraw` → withdrawn; `remind` (while
    /// overdue), `deadline_reminder` (once per deadline, before it passes),
    /// `deadline_missed` (once per deadline), `message`, `attach` and `log_contact` leave
    /// the status as it is.
    #[superstate(superstate = "inquiry")]
    fn open(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Message | ActionName::Attach => self.accept_in_place(),
            ActionName::LogContact if event.sent => self.accept_in_place(),
            ActionName::Close => self.accept(State::closed()),
            ActionName::Withdraw => self.accept(State::withdrawn()),
            ActionName::Remind if event.overdue => self.accept_in_place(),
            ActionName::DeadlineReminder if event.reminder_unrecorded => self.accept_in_place(),
            ActionName::DeadlineMissed if event.deadline_unrecorded => self.accept_in_place(),
            _ => Super,
        }
    }

    /// The responding state has answered.
    #[state(superstate = "answered")]
    fn responded(&mut self, event: &Stimulus) -> Outcome<State> {
        let _ = event;
        Super
    }

    /// `follow_up` → awaiting_response (new questions, new deadline); `close` → closed;
    /// `withdraw` → withdrawn; `message`, `attach` and `log_contact` leave the status as it
    /// is (the responder may add information after responding).
    #[superstate(superstate = "inquiry")]
    fn answered(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Message | ActionName::Attach => self.accept_in_place(),
            ActionName::LogContact if event.sent => self.accept_in_place(),
            ActionName::FollowUp => self.accept(State::awaiting_response()),
            ActionName::Close => self.accept(State::closed()),
            ActionName::Withdraw => self.accept(State::withdrawn()),
            _ => Super,
        }
    }

    /// Closed by the requester. Terminal.
    #[state(superstate = "ended")]
    fn closed(&mut self, event: &Stimulus) -> Outcome<State> {
        let _ = event;
        Super
    }

    /// Withdrawn by the requester. Terminal.
    #[state(superstate = "ended")]
    fn withdrawn(&mut self, event: &Stimulus) -> Outcome<State> {
        let _ = event;
        Super
    }

    /// Terminal for the workflow: no step is taken any more. A contact made outside cbm2
    /// may still be logged (if the inquiry was ever sent).
    #[superstate(superstate = "inquiry")]
    fn ended(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::LogContact if event.sent => self.accept_in_place(),
            _ => Super,
        }
    }

    /// Every status: `share` and `unshare` manage who reads the inquiry, whatever its
    /// status, and leave it as it is.
    #[superstate]
    fn inquiry(&mut self, event: &Stimulus) -> Outcome<State> {
        match event.action {
            ActionName::Share | ActionName::Unshare => self.accept_in_place(),
            _ => Super,
        }
    }
}

/// The status `stimulus` leads to from `status`, or `None` if no state accepts it.
///
/// The machine is restored in `status` (it has no entry actions, so restoring runs
/// nothing) and handles the stimulus once.
pub fn transition(status: Status, stimulus: Stimulus) -> Option<Status> {
    let mut machine = Machine::default().uninitialized_state_machine();
    *machine.state_mut() = status.to_state();
    let mut machine = machine.init();
    machine.handle(&stimulus);
    machine
        .inner()
        .accepted
        .then(|| Status::from_state(machine.state()))
}
