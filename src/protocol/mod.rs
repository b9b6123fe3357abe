//! The CBM #2 protocol: pure. No clock, no database, no socket: callers pass the time and
//! whatever the directory says, and get back the event to record or a refusal.
//!
//! `protocol/versions/*.toml` state the protocol as data, one file per version;
//! [`machine`] implements their state table with statig (the union of every version's
//! actions); [`inquiry`] carries the inputs, events and projection, and asks the inquiry's
//! own version which actions exist for it; [`invocation`] renders the formal statement;
//! [`definition`] reads the TOML (embedded at build time).

pub mod definition;
pub mod inquiry;
pub mod invocation;
pub mod machine;
pub mod notification;
pub mod scenario;

pub use inquiry::{Action, EventData, Inquiry, Party, Refusal, Role, Standing, apply, decide};
pub use machine::{ActionName, Status};

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::definition::{definition, definitions};
    use super::inquiry::Role;
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
    fn statuses_and_superstates_agree_with_every_version() {
        let code: BTreeSet<(&str, &str)> = Status::ALL
            .iter()
            .map(|s| (s.as_str(), s.superstate()))
            .collect();
        for definition in definitions() {
            let table: BTreeSet<(&str, &str)> = definition
                .statuses
                .iter()
                .map(|(status, superstate)| (status.as_str(), superstate.as_str()))
                .collect();
            assert_eq!(code, table, "version {}", definition.version);
            for superstate in table.iter().map(|(_, superstate)| *superstate) {
                assert!(
                    definition.superstates.contains_key(superstate),
                    "{superstate}"
                );
            }
        }
    }

    /// Every action of every version is one the code knows, with known actors; and each
    /// version keeps every action of the one before it (a version adds, never removes).
    #[test]
    fn every_versions_actions_are_known_and_versions_only_add() {
        let mut before: BTreeSet<&str> = BTreeSet::new();
        for definition in definitions() {
            let names: BTreeSet<&str> = definition.actions.keys().map(String::as_str).collect();
            for (name, row) in &definition.actions {
                assert!(ActionName::parse(name).is_some(), "{name}");
                for actor in row.actor.names() {
                    assert!(ROLES.iter().any(|r| r.as_str() == actor), "{name}: {actor}");
                }
            }
            assert!(
                before.is_subset(&names),
                "version {} drops {:?}",
                definition.version,
                before.difference(&names).collect::<Vec<_>>()
            );
            before = names;
        }
        let newest: BTreeSet<&str> = definition().actions.keys().map(String::as_str).collect();
        let code: BTreeSet<&str> = ActionName::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(
            code, newest,
            "the machine carries the newest version's actions"
        );
    }

    /// Every (status, action), under every guard condition, against every version's
    /// table: the machine accepts exactly what the table lists, and leads where it says.
    /// (Which role takes an action is the table's alone: the code reads it.)
    #[test]
    fn the_machine_agrees_with_every_version() {
        let mut differences = Vec::new();
        for definition in definitions() {
            for status in Status::ALL {
                for action in ActionName::ALL {
                    let row = definition.action(action);
                    for bits in 0..16u8 {
                        let [overdue, deadline_unrecorded, reminder_unrecorded, sent] =
                            [0, 1, 2, 3].map(|i| bits & (1 << i) != 0);
                        let expected = row.and_then(|row| {
                            let guard_holds = match row.guard.as_deref() {
                                None => true,
                                Some("overdue") => overdue,
                                Some("deadline_unrecorded") => deadline_unrecorded,
                                Some("reminder_unrecorded") => reminder_unrecorded,
                                Some("sent") => sent,
                                Some(other) => panic!("unknown guard {other}"),
                            };
                            (row.from.iter().any(|s| s == status.as_str()) && guard_holds).then(
                                || {
                                    if row.to == "unchanged" {
                                        status.as_str()
                                    } else {
                                        row.to.as_str()
                                    }
                                },
                            )
                        });
                        let stimulus = Stimulus {
                            action,
                            overdue,
                            deadline_unrecorded,
                            reminder_unrecorded,
                            sent,
                        };
                        let actual = row
                            .and_then(|_| transition(status, stimulus))
                            .map(Status::as_str);
                        if actual != expected {
                            differences.push(format!(
                                "{}: {} --{}-- (overdue={overdue}, deadline unrecorded={deadline_unrecorded}, reminder unrecorded={reminder_unrecorded}, sent={sent})--> table {expected:?}, machine {actual:?}",
                                definition.version,
                                status.as_str(),
                                action.as_str(),
                            ));
                        }
                    }
                }
            }
        }
        assert!(differences.is_empty(), "{}", differences.join("\n"));
    }

    #[test]
    fn version_1_0_0_is_as_it_shipped_1_1_0_adds_the_conversation_and_1_2_0_attachments() {
        let names = |version: &str| -> Vec<String> {
            let definition = definitions().iter().find(|d| d.version == version).unwrap();
            definition.actions.keys().cloned().collect()
        };
        assert_eq!(
            names("1.0.0"),
            [
                "acknowledge",
                "close",
                "deadline_missed",
                "deadline_reminder",
                "describe",
                "follow_up",
                "invoke",
                "lookup_poc",
                "remind",
                "request_info",
                "respond",
                "update",
                "withdraw"
            ]
        );
        let added: Vec<String> = names("1.1.0")
            .into_iter()
            .filter(|n| !names("1.0.0").contains(n))
            .collect();
        assert_eq!(added, ["log_contact", "message", "share", "unshare"]);
        let added: Vec<String> = names("1.2.0")
            .into_iter()
            .filter(|n| !names("1.1.0").contains(n))
            .collect();
        assert_eq!(added, ["attach"]);
        assert_eq!(
            definition().version,
            "1.2.0",
            "new inquiries start under 1.2.0"
        );
    }

    #[test]
    fn deadline_defaults_are_as_protocol_md_states() {
        for definition in definitions() {
            let deadlines = &definition.deadlines;
            assert_eq!(deadlines.critical.to_string(), "PT4H");
            assert_eq!(deadlines.urgent.to_string(), "P1D");
            assert_eq!(deadlines.routine.to_string(), "P5D");
            assert_eq!(deadlines.max_estimated_timeframe.to_string(), "P180D");
        }
    }

    #[test]
    fn the_embedded_templates_are_those_every_version_lists() {
        let embedded: BTreeSet<(String, String)> = template_paths()
            .map(|(language, path)| (language.as_str().to_owned(), path.to_owned()))
            .collect();
        for definition in definitions() {
            let listed: BTreeSet<(String, String)> = definition
                .templates
                .invocation
                .iter()
                .map(|(language, path)| (language.clone(), path.clone()))
                .collect();
            assert_eq!(embedded, listed, "version {}", definition.version);
        }
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
        assert!(count >= 12, "expected the twelve scenarios, found {count}");
    }
}
