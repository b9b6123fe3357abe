//! Who is told of what (`protocol/notifications.toml`), and what a notification carries:
//! thin metadata, never content.

use serde_json::{Value, json};
use uuid::Uuid;

use super::inquiry::{EventData, Inquiry};
use crate::domain::MemberStateCode;

/// A group of recipients named in the notifications table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    RequestingPoc,
    RespondingPocs,
    Secretariat,
    AskedPocs,
    ThePoc,
}

impl Audience {
    pub fn as_str(self) -> &'static str {
        match self {
            Audience::RequestingPoc => "requesting_poc",
            Audience::RespondingPocs => "responding_pocs",
            Audience::Secretariat => "secretariat",
            Audience::AskedPocs => "asked_pocs",
            Audience::ThePoc => "the_poc",
        }
    }
}

/// Event types that notify anyone, with their audiences (the table, in code).
pub const NOTIFIED: [(&str, &[Audience]); 12] = [
    ("request_info", &[Audience::RespondingPocs]),
    ("follow_up", &[Audience::RespondingPocs]),
    ("acknowledge", &[Audience::RequestingPoc]),
    ("update", &[Audience::RequestingPoc]),
    ("respond", &[Audience::RequestingPoc]),
    ("close", &[Audience::RespondingPocs]),
    ("withdraw", &[Audience::RespondingPocs]),
    ("deadline_reminder", &[Audience::RespondingPocs]),
    ("remind", &[Audience::RespondingPocs]),
    (
        "deadline_missed",
        &[
            Audience::RequestingPoc,
            Audience::RespondingPocs,
            Audience::Secretariat,
        ],
    ),
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
    /// A POC, told as a POC of `state`: the inquiry's requesting state (the requester) or
    /// its responding state (the POCs snapshotted at `lookup_poc`). A POC that has left
    /// that state by the time the notification goes out is not told.
    Poc {
        id: Uuid,
        state: MemberStateCode,
    },
    Secretariat,
}

/// The recipients of `event`, given the inquiry after it.
pub fn recipients(event: &EventData, inquiry: &Inquiry) -> Vec<Recipient> {
    let mut recipients = Vec::new();
    for audience in audiences(event.type_name()) {
        match audience {
            Audience::RequestingPoc => recipients.push(Recipient::Poc {
                id: inquiry.requester.poc_id,
                state: inquiry.requesting_state.clone(),
            }),
            // A draft withdrawn before sending was never the responding state's business.
            Audience::RespondingPocs if inquiry.sent_at.is_some() => {
                if let Some(state) = &inquiry.responding_state {
                    recipients.extend(inquiry.responding_pocs.iter().map(|p| Recipient::Poc {
                        id: p.id,
                        state: state.clone(),
                    }));
                }
            }
            Audience::Secretariat => recipients.push(Recipient::Secretariat),
            Audience::RespondingPocs | Audience::AskedPocs | Audience::ThePoc => {}
        }
    }
    recipients
}

/// The `data` of a notification of an inquiry event to `recipient`: ids, states, status,
/// the running deadline; for the responding state, the invocation text (with its
/// non-accusation note). The link is added at delivery (it depends on `CBM2_PUBLIC_URL`).
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
        for silent in ["created", "lookup_poc", "invoke", "describe"] {
            assert!(audiences(silent).is_empty(), "{silent}");
        }
    }
}
