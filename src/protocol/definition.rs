//! The protocol definitions, `protocol/versions/*.toml`, embedded in the binary and parsed
//! once. Every version ships: an inquiry keeps the version it started under, and its
//! allowed actions and refusals come from that version's table; new inquiries start under
//! the newest.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use super::inquiry::Role;
use super::machine::ActionName;
use crate::domain::{IsoDuration, TimeSensitivity};

/// One version of the protocol, as data.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Definition {
    pub version: String,
    pub deadlines: Deadlines,
    pub superstates: BTreeMap<String, String>,
    /// Status → its superstate.
    pub statuses: BTreeMap<String, String>,
    pub actions: BTreeMap<String, ActionDefinition>,
    pub templates: Templates,
}

impl Definition {
    /// The row of `action`, if this version has the action at all.
    pub fn action(&self, action: ActionName) -> Option<&ActionDefinition> {
        self.actions.get(action.as_str())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deadlines {
    pub critical: IsoDuration,
    pub urgent: IsoDuration,
    pub routine: IsoDuration,
    pub max_estimated_timeframe: IsoDuration,
}

impl Deadlines {
    /// The acknowledgement window for a time sensitivity.
    pub fn for_sensitivity(&self, sensitivity: TimeSensitivity) -> IsoDuration {
        match sensitivity {
            TimeSensitivity::Critical => self.critical,
            TimeSensitivity::Urgent => self.urgent,
            TimeSensitivity::Routine => self.routine,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionDefinition {
    /// Who takes the action: one actor, or a list when either party may.
    pub actor: Actors,
    pub from: Vec<String>,
    pub to: String,
    #[serde(default)]
    pub guard: Option<String>,
    /// A POC the inquiry is shared with may take it too (otherwise policy POCs only).
    #[serde(default)]
    pub shared: bool,
}

impl ActionDefinition {
    /// Whether `role` is one of the action's actors.
    pub fn taken_by(&self, role: Role) -> bool {
        self.actor.names().any(|name| name == role.as_str())
    }
}

/// `actor = "requester"` or `actor = ["requester", "responder"]`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Actors {
    One(String),
    Several(Vec<String>),
}

impl Actors {
    pub fn names(&self) -> impl Iterator<Item = &str> {
        let names: &[String] = match self {
            Actors::One(name) => std::slice::from_ref(name),
            Actors::Several(names) => names,
        };
        names.iter().map(String::as_str)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// Language code → template path, relative to `protocol/`.
    pub invocation: BTreeMap<String, String>,
}

/// Every version's file, oldest first. A new version is a new file here (see
/// ARCHITECTURE.md, "Adding a protocol version").
const VERSIONS: [(&str, &str); 3] = [
    ("1.0.0", include_str!("../../protocol/versions/1.0.0.toml")),
    ("1.1.0", include_str!("../../protocol/versions/1.1.0.toml")),
    ("1.2.0", include_str!("../../protocol/versions/1.2.0.toml")),
];

static DEFINITIONS: LazyLock<Vec<Definition>> = LazyLock::new(|| {
    VERSIONS
        .iter()
        .map(|(version, text)| {
            let definition: Definition = toml::from_str(text).unwrap_or_else(|e| {
                panic!("protocol/versions/{version}.toml embedded in this build is invalid: {e}")
            });
            assert_eq!(
                definition.version, *version,
                "protocol/versions/{version}.toml names another version"
            );
            definition
        })
        .collect()
});

/// The newest protocol definition: new inquiries start under it.
pub fn definition() -> &'static Definition {
    DEFINITIONS.last().expect("at least one protocol version")
}

/// The definition of `version`, if this build carries it.
pub fn definition_of(version: &str) -> Option<&'static Definition> {
    DEFINITIONS.iter().find(|d| d.version == version)
}

/// Every version this build carries, oldest first.
pub fn definitions() -> &'static [Definition] {
    &DEFINITIONS
}
