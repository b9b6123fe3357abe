//! Who is told of what (`protocol/notifications.toml`), and what a notification carries:
//! thin metadata, never content.

use serde_json::{Value, json};
use uuid::Uuid;

use super::inquiry::{EventData, Inquiry, Role};
use crate::domain::MemberStateCode;

/// A group of recipients named in the notifications table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The requesting state: its current active policy POCs, and the POCs it shared the
    /// inquiry with.
    RequestingState,
    /// The responding state, likewise (once the inquiry is sent).
    RespondingState,
    /// The side that did not take the action.
    OtherSide,
    /// The POC a `share` gives access to.
    SharedPoc,
    Secretariat,
    AskedPocs,
    ThePoc,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::RequestingState => "requesting_state",
            Audience::RespondingState => "responding_state",
            Audience::OtherSide => "other_side",
            Audience::SharedPoc => "shared_poc",
            Audience::Secretariat => "secretariat",
            Audience::AskedPocs => "asked_pocs",
            Audience::ThePoc => "the_poc",
        }
    }
}

/// Event types that notify anyone, with their audiences (the table, in code).
pub const NOTIFIED: [(&str, &[Audience]); 16] = [
    ("request_info", &[Audience::RespondingState]),
    ("follow_up", &[Audience::RespondingState]),
    ("acknowledge", &[Audience::RequestingState]),
    ("update", &[Audience::RequestingState]),
    ("respond", &[Audience::RequestingState]),
    ("close", &[Audience::RespondingState]),
    ("withdraw", &[Audience::RespondingState]),
    ("deadline_reminder", &[Audience::RespondingState]),
    ("remind", &[Audience::RespondingState]),
    (
        "deadline_missed",
        &[
            Audience::RequestingState,
            Audience::RespondingState,
            Audience::Secretariat,
        ],
    ),
    ("message", &[Audience::OtherSide]),
    ("log_contact", &[Audience::OtherSide]),
    ("attachment_added", &[Audience::OtherSide]),
    ("share", &[Audience::SharedPoc]),
    ("communication_check_started", &[Audience::AskedPocs]),
    ("poc_stale_soon", &[Audience::ThePoc]),
];

/// The audiences of an event type; none for an event that notifies nobody.
pub fn audiences(event_type: &str) -> &'static [Audience] {
    NOTIFIED
        .iter()
        .find(|(t, _)| *t == event_type)
        .map_or(&[], |(_, audiences)| *audiences)
}

/// Who is told of an inquiry event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// A POC, told as a POC of `state`: the inquiry's requesting or responding state. A
    /// POC that has left that state by the time the notification goes out is not told.
    Poc {
        id: Uuid,
        state: MemberStateCode,
    },
    Secretariat,
}

/// The active policy POCs of the two states at the time of the event, as the directory
/// says (the store looks them up; the protocol does no I/O). Notifications go to a
/// state's POCs of the day, not to those snapshotted at `lookup_poc`: when a POC leaves,
/// its successor hears of the inquiry's next events.
#[derive(Debug, Clone, Default)]
pub struct CurrentPocs {
    pub requesting: Vec<Uuid>,
    pub responding: Vec<Uuid>,
}

/// The recipients of `event`, taken by `actor`, given the inquiry after it and the
/// states' current policy POCs. Each POC is told once.
pub fn recipients(
    event: &EventData,
    actor: Role,
    inquiry: &Inquiry,
    current: &CurrentPocs,
) -> Vec<Recipient> {
    let mut recipients: Vec<Recipient> = Vec::new();
    let side = |recipients: &mut Vec<Recipient>, side: Role| {
        let (state, pocs) = match side {
            Role::Requester => (&inquiry.requesting_state, &current.requesting),
            // A draft withdrawn before sending was never the responding state's business.
            Role::Responder => match (&inquiry.responding_state, inquiry.sent_at) {
                (Some(state), Some(_)) => (state, &current.responding),
                _ => return,
            },
            Role::Secretariat | Role::Engine => return,
        };
        let shares = inquiry
            .shares
            .iter()
            .filter(|s| s.side == side)
            .map(|s| s.poc_id);
        for id in pocs.iter().copied().chain(shares) {
            let recipient = Recipient::Poc {
                id,
                state: state.clone(),
            };
            if !recipients.contains(&recipient) {
                recipients.push(recipient);
            }
        }
    };
    for audience in audiences(event.type_name()) {
        match audience {
            Audience::RequestingState => side(&mut recipients, Role::Requester),
            Audience::RespondingState => side(&mut recipients, Role::Responder),
            Audience::OtherSide => match actor {
                Role::Requester => side(&mut recipients, Role::Responder),
                Role::Responder => side(&mut recipients, Role::Requester),
                Role::Secretariat | Role::Engine => {}
            },
            Audience::SharedPoc => {
                if let EventData::Share { side, poc_id, .. } = event
                    && let Some(state) = inquiry.state_of(*side)
                {
                    recipients.push(Recipient::Poc {
                        id: *poc_id,
                        state: state.clone(),
                    });
                }
            }
            Audience::Secretariat => recipients.push(Recipient::Secretariat),
            Audience::AskedPocs | Audience::ThePoc => {}
        }
    }
    recipients
}

/// The `data` of a notification of an inquiry event to `recipient`: ids, states, status,
/// the running deadline, whether it is an exercise; for the responding state, the
/// invocation text (with its non-accusation note). Never a message, a contact summary or
/// any other content. The link is added at delivery (it depends on `CBM2_PUBLIC_URL`).
pub fn inquiry_data(event: &EventData, inquiry: &Inquiry, recipient: &Recipient) -> Value {
    let mut data = json!({
        "event": event.type_name(),
        "inquiry_id": inquiry.id,
        "requesting_state": inquiry.requesting_state,
        "responding_state": inquiry.responding_state,
        "status": inquiry.status,
        "time_sensitivity": inquiry.time_sensitivity,
        "due_at": inquiry.due_at(),
        "deadline": inquiry.due_at().map(|_| inquiry.deadline_kind()),
        "exercise": inquiry.exercise,
    });
    let to_responding_state = matches!(recipient, Recipient::Poc { state, .. }
        if inquiry.responding_state.as_ref() == Some(state));
    if to_responding_state && let Some(text) = &inquiry.invocation_text {
        data["invocation_text"] = json!(text);
        data["language"] = json!(inquiry.language);
    }
    data
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(serde::Deserialize)]
    struct Table {
        events: BTreeMap<String, Vec<String>>,
    }

    #[test]
    fn the_code_agrees_with_notifications_toml() {
        let table: Table =
            toml::from_str(include_str!("../../protocol/notifications.toml")).unwrap();
        let code: BTreeMap<String, Vec<String>> = NOTIFIED
            .iter()
            .map(|(t, audiences)| {
                (
                    t.to_string(),
                    audiences.iter().map(|a| a.as_str().to_owned()).collect(),
                )
            })
            .collect();
        assert_eq!(code, table.events);
    }

    #[test]
    fn events_outside_the_table_notify_nobody() {
        for silent in ["created", "lookup_poc", "invoke", "describe", "unshare"] {
            assert!(audiences(silent).is_empty(), "{silent}");
        }
    }
}
