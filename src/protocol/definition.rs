//! `protocol/protocol.toml`, embedded in the binary and parsed once.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::domain::{IsoDuration, TimeSensitivity};

/// The protocol as data.
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
    pub actor: String,
    pub from: Vec<String>,
    pub to: String,
    #[serde(default)]
    pub guard: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Templates {
    /// Language code → template path, relative to `protocol/`.
    pub invocation: BTreeMap<String, String>,
}

const PROTOCOL_TOML: &str = include_str!("../../protocol/protocol.toml");

static DEFINITION: LazyLock<Definition> = LazyLock::new(|| {
    toml::from_str(PROTOCOL_TOML)
        .unwrap_or_else(|e| panic!("protocol/protocol.toml embedded in this build is invalid: {e}"))
});

/// The protocol definition this build carries.
pub fn definition() -> &'static Definition {
    &DEFINITION
}
