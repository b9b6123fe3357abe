//! Scenarios: the protocol's paths as data (`protocol/scenarios/*.toml`), replayed by the
//! tests against the pure machine (here) and through HTTP (tests/api).

use serde::Deserialize;

use super::inquiry::{Role, actor_of};
use super::machine::{ActionName, Status, Stimulus, transition};

/// One path through the protocol.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub steps: Vec<Step>,
}

/// Who takes a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// A POC of the requesting state.
    Requester,
    /// A POC of the state the inquiry is addressed to.
    Responder,
    Secretariat,
    /// A POC of a state with no part in the inquiry.
    ThirdState,
}

/// One action and what it must lead to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(rename = "as")]
    pub party: Party,
    /// `create` or an action of `protocol.toml`.
    pub action: String,
    /// The JSON body sent with the action (absent: none).
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// For `create`: link the new inquiry to the current one (a referral).
    #[serde(default)]
    pub related: bool,
    /// The status after an accepted step.
    #[serde(default)]
    pub expect_status: Option<Status>,
    /// How a refused step is refused.
    #[serde(default)]
    pub expect_refused: Option<Refused>,
}

/// The ways the protocol refuses a step (the HTTP edge answers 404, 403, 409 and 422).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refused {
    /// The party may not see the inquiry at all: as if it did not exist.
    NotVisible,
    /// The party sees the inquiry but the action belongs to another role.
    WrongRole,
    /// The action is not allowed in the current status.
    NotAllowed,
    /// The input, or the directory it names, is not acceptable.
    InvalidInput,
}

impl Scenario {
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

/// Replays `scenario` against the machine alone: who may see, who may act, what the status
/// allows. Refusals of invalid input depend on the input and the directory, not on the
/// machine: here they leave the status as it is.
pub fn replay_on_machine(scenario: &Scenario) -> Result<(), String> {
    let mut status: Option<Status> = None;
    // Whether request_info has sent the current inquiry: only then may the responding
    // state see it (a draft withdrawn before sending stays invisible to it).
    let mut sent = false;
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = |what: String| {
            format!(
                "{}, step {} ({}): {what}",
                scenario.name,
                i + 1,
                step.action
            )
        };
        let outcome: Result<Status, Refused> = if step.action == "create" {
            match step.party {
                Party::Requester => Ok(Status::Draft),
                _ => Err(Refused::WrongRole),
            }
        } else {
            let current = status.ok_or_else(|| at("no inquiry yet".into()))?;
            let action =
                ActionName::parse(&step.action).ok_or_else(|| at("unknown action".into()))?;
            let role = match step.party {
                Party::Requester => Some(Role::Requester),
                Party::Responder if sent => Some(Role::Responder),
                Party::Responder | Party::ThirdState => None,
                Party::Secretariat => Some(Role::Secretariat),
            };
            match role {
                None => Err(Refused::NotVisible),
                Some(role) if role != actor_of(action) => Err(Refused::WrongRole),
                Some(_) if step.expect_refused == Some(Refused::InvalidInput) => {
                    Err(Refused::InvalidInput)
                }
                Some(_) => {
                    let stimulus = Stimulus {
                        action,
                        overdue: false,
                        deadline_unrecorded: false,
                        reminder_unrecorded: false,
                    };
                    transition(current, stimulus).ok_or(Refused::NotAllowed)
                }
            }
        };
        match (outcome, step.expect_status, step.expect_refused) {
            (Ok(next), Some(expected), None) if next == expected => {
                if step.action == "create" {
                    sent = false;
                }
                sent |= next == Status::AwaitingResponse;
                status = Some(next);
            }
            (Err(code), None, Some(expected)) if code == expected => {}
            (outcome, expected_status, expected_refused) => {
                return Err(at(format!(
                    "got {outcome:?}, expected status {expected_status:?} / refusal {expected_refused:?}"
                )));
            }
        }
    }
    Ok(())
}
