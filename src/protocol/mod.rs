//! The CBM #2 protocol: pure. No clock, no database, no socket: callers pass the time and
//! whatever the directory says, and get back the event to record or a refusal.
//!
//! `protocol/protocol.toml` states the protocol as data; [`machine`] implements its state
//! table with statig; [`inquiry`] carries the inputs, events and projection; [`invocation`]
//! renders the formal statement; [`definition`] reads the TOML (embedded at build time).

pub mod definition;
pub mod inquiry;
pub mod invocation;
pub mod machine;
pub mod notification;
pub mod scenario;

pub use inquiry::{Action, EventData, Inquiry, Refusal, Role, apply, decide};
pub use machine::{ActionName, Status};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::definition::definition;
    use super::inquiry::{Role, actor_of};
    use super::invocation::template_paths;
    use super::machine::{ActionName, Status, Stimulus, transition};
    use super::scenario::{Scenario, replay_on_machine};

    const ROLES: [Role; 4] = [
        Role::Requester,
        Role::Responder,
        Role::Secretariat,
        Role::Engine,
    ];

    #[test]
    fn statuses_and_superstates_agree_with_protocol_toml() {
        let table: BTreeSet<(&str, &str)> = definition()
            .statuses
            .iter()
            .map(|(status, superstate)| (status.as_str(), superstate.as_str()))
            .collect();
        let code: BTreeSet<(&str, &str)> = Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.superstate()))
            .collect();
        assert_eq!(code, table);
        for superstate in table.iter().map(|(_, superstate)| *superstate) {
            assert!(
                definition().superstates.contains_key(superstate),
                "{superstate}"
            );
        }
    }

    #[test]
    fn actions_and_actors_agree_with_protocol_toml() {
        let table: BTreeSet<(&str, &str)> = definition()
            .actions
            .iter()
            .map(|(action, def)| (action.as_str(), def.actor.as_str()))
            .collect();
        let code: BTreeSet<(&str, &str)> = ActionName::ALL
            .iter()
            .map(|a| (a.as_str(), actor_of(*a).as_str()))
            .collect();
        assert_eq!(code, table);
    }

    /// Every (status, action, role), under every guard condition, against the table.
    #[test]
    fn the_machine_agrees_with_protocol_toml() {
        let mut differences = Vec::new();
        for status in Status::ALL {
            for action in ActionName::ALL {
                let row = &definition().actions[action.as_str()];
                for role in ROLES {
                    for (overdue, deadline_unrecorded, reminder_unrecorded) in [
                        (false, false, false),
                        (false, false, true),
                        (true, false, false),
                        (true, true, false),
                    ] {
                        let guard_holds = match row.guard.as_deref() {
                            None => true,
                            Some("overdue") => overdue,
                            Some("deadline_unrecorded") => deadline_unrecorded,
                            Some("reminder_unrecorded") => reminder_unrecorded,
                            Some(other) => panic!("unknown guard {other}"),
                        };
                        let expected = (role.as_str() == row.actor
                            && row.from.iter().any(|s| s == status.as_str())
                            && guard_holds)
                            .then(|| {
                                if row.to == "unchanged" {
                                    status.as_str()
                                } else {
                                    row.to.as_str()
                                }
                            });
                        let stimulus = Stimulus {
                            action,
                            overdue,
                            deadline_unrecorded,
                            reminder_unrecorded,
                        };
                        let actual = (actor_of(action) == role)
                            .then(|| transition(status, stimulus))
                            .flatten()
                            .map(Status::as_str);
                        if actual != expected {
                            differences.push(format!(
                                "{} --{}/{} (overdue={overdue}, deadline unrecorded={deadline_unrecorded}, reminder unrecorded={reminder_unrecorded})--> table {expected:?}, machine {actual:?}",
                                status.as_str(), action.as_str(), role.as_str()
                            ));
                        }
                    }
                }
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }

    #[test]
    fn deadline_defaults_are_as_protocol_md_states() {
        let deadlines = &definition().deadlines;
        assert_eq!(deadlines.critical.to_string(), "PT4H");
        assert_eq!(deadlines.urgent.to_string(), "P1D");
        assert_eq!(deadlines.routine.to_string(), "P5D");
        assert_eq!(deadlines.max_estimated_timeframe.to_string(), "P180D");
    }

    #[test]
    fn the_embedded_templates_are_those_protocol_toml_lists() {
        let listed: BTreeSet<(String, String)> = definition()
            .templates
            .invocation
            .iter()
            .map(|(language, path)| (language.clone(), path.clone()))
            .collect();
        let embedded: BTreeSet<(String, String)> = template_paths()
            .map(|(language, path)| (language.as_str().to_owned(), path.to_owned()))
            .collect();
        assert_eq!(embedded, listed);
    }

    #[test]
    fn every_scenario_replays_on_the_machine() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/protocol/scenarios");
        let mut count = 0;
        for entry in std::fs::read_dir(dir).expect("protocol/scenarios") {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let scenario = Scenario::parse(&std::fs::read_to_string(&path).unwrap())
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                replay_on_machine(&scenario).unwrap();
                count += 1;
            }
        }
        assert!(count >= 6, "expected the six scenarios, found {count}");
    }
}
