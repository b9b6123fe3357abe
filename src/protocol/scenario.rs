//! Scenarios: the protocol's paths as data (`protocol/scenarios/*.toml`), replayed by the
//! tests against the pure machine (here) and through HTTP (tests/api).

use serde::Deserialize;

use std::collections::BTreeSet;

use super::definition::definition;
use super::inquiry::Role;
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
    /// A technical POC of the requesting state (its CSIRT): sees the inquiry once it is
    /// shared with it.
    RequesterColleague,
    /// A technical POC of the responding state.
    ResponderColleague,
}

impl Party {
    /// The placeholder a step's body uses for this party's POC id (`share`, `unshare`).
    pub fn placeholder(self) -> &'static str {
        match self {
            Party::Requester => "{requester}",
            Party::Responder => "{responder}",
            Party::Secretariat => "{secretariat}",
            Party::ThirdState => "{third_state}",
            Party::RequesterColleague => "{requester_colleague}",
            Party::ResponderColleague => "{responder_colleague}",
        }
    }

    const ALL: [Party; 6] = [
        Party::Requester,
        Party::Responder,
        Party::Secretariat,
        Party::ThirdState,
        Party::RequesterColleague,
        Party::ResponderColleague,
    ];
}

/// A step that changes the directory, not the inquiry: the HTTP replay carries it out, the
/// machine has nothing to do. `replace_responder`: the Secretariat deactivates the
/// responding state's policy POC and adds a new one, who is `responder` from then on.
pub const DIRECTORY_STEPS: [&str; 1] = ["replace_responder"];

/// One action and what it must lead to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(rename = "as")]
    pub party: Party,
    /// `create`, an action of the newest `protocol/versions/*.toml`, or one of
    /// [`DIRECTORY_STEPS`].
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
    // The colleagues the inquiry is shared with now.
    let mut shared: BTreeSet<&'static str> = BTreeSet::new();
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
        } else if DIRECTORY_STEPS.contains(&step.action.as_str()) {
            Ok(status.ok_or_else(|| at("no inquiry yet".into()))?)
        } else {
            let current = status.ok_or_else(|| at("no inquiry yet".into()))?;
            let action =
                ActionName::parse(&step.action).ok_or_else(|| at("unknown action".into()))?;
            let colleague = matches!(
                step.party,
                Party::RequesterColleague | Party::ResponderColleague
            );
            let role = match step.party {
                Party::Requester => Some(Role::Requester),
                Party::Responder if sent => Some(Role::Responder),
                Party::Responder | Party::ThirdState => None,
                Party::Secretariat => Some(Role::Secretariat),
                Party::RequesterColleague if shared.contains(step.party.placeholder()) => {
                    Some(Role::Requester)
                }
                Party::ResponderColleague if sent && shared.contains(step.party.placeholder()) => {
                    Some(Role::Responder)
                }
                Party::RequesterColleague | Party::ResponderColleague => None,
            };
            let row = definition()
                .action(action)
                .ok_or_else(|| at("not an action of the newest protocol version".into()))?;
            match role {
                None => Err(Refused::NotVisible),
                Some(role) if !row.taken_by(role) || (colleague && !row.shared) => {
                    Err(Refused::WrongRole)
                }
                Some(_) if step.expect_refused == Some(Refused::InvalidInput) => {
                    Err(Refused::InvalidInput)
                }
                Some(_) => {
                    let stimulus = Stimulus {
                        action,
                        overdue: false,
                        deadline_unrecorded: false,
                        reminder_unrecorded: false,
                        sent,
                    };
                    transition(current, stimulus).ok_or(Refused::NotAllowed)
                }
            }
        };
        match (outcome, step.expect_status, step.expect_refused) {
            (Ok(next), Some(expected), None) if next == expected => {
                if step.action == "create" {
                    sent = false;
                    shared.clear();
                }
                let named = |body: &Option<serde_json::Value>| {
                    let poc = body.as_ref().and_then(|b| b["poc_id"].as_str());
                    Party::ALL
                        .into_iter()
                        .map(Party::placeholder)
                        .find(|p| Some(*p) == poc)
                };
                match step.action.as_str() {
                    "share" => shared.extend(named(&step.body)),
                    "unshare" => {
                        if let Some(p) = named(&step.body) {
                            shared.remove(p);
                        }
                    }
                    _ => {}
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
