//! OAS Member States, named by ISO 3166-1 alpha-3 code; each one's name in running text
//! in the four OAS languages; each one's time zone.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::Language;

/// An ISO 3166-1 alpha-3 code such as `CHL`: exactly three ASCII uppercase letters.
///
/// Whether the code names one of the 35 OAS Member States is a fact of the database (the
/// `member_states` table, seeded by migration), checked where a code is used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MemberStateCode(String);

/// Why a text is not a member-state code.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("must be an ISO 3166-1 alpha-3 code of three uppercase letters (e.g. \"CHL\"), got {0:?}")]
pub struct InvalidMemberStateCode(pub String);

impl MemberStateCode {
    pub fn parse(code: &str) -> Result<Self, InvalidMemberStateCode> {
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Self(code.to_owned()))
        } else {
            Err(InvalidMemberStateCode(code.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for MemberStateCode {
    type Error = InvalidMemberStateCode;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<MemberStateCode> for String {
    fn from(code: MemberStateCode) -> Self {
        code.0
    }
}

impl fmt::Display for MemberStateCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A member state's name in one language, in the forms running text needs
/// (`protocol/state_names.toml` says which and why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateNameForms {
    /// The name alone, as the directory holds it: "Estados Unidos".
    pub name: String,
    /// As a sentence names it, with its article where the language uses one: "los
    /// Estados Unidos".
    pub text: String,
    /// After "of" / "de", contracted where the language contracts: "de los Estados
    /// Unidos", "des États-Unis", "dos Estados Unidos".
    pub of: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormsByLanguage {
    en: StateNameForms,
    es: StateNameForms,
    fr: StateNameForms,
    pt: StateNameForms,
}

/// `protocol/state_names.toml`, embedded at build time.
static STATE_NAMES: LazyLock<BTreeMap<String, FormsByLanguage>> = LazyLock::new(|| {
    toml::from_str(include_str!("../../protocol/state_names.toml"))
        .unwrap_or_else(|e| panic!("protocol/state_names.toml is invalid: {e}"))
});

impl StateNameForms {
    /// The forms of the state `code` in `language`, if `protocol/state_names.toml` names
    /// it (each of the 35 is there: a test checks).
    pub fn of_state(code: &str, language: Language) -> Option<StateNameForms> {
        STATE_NAMES.get(code).map(|forms| match language {
            Language::En => forms.en.clone(),
            Language::Es => forms.es.clone(),
            Language::Fr => forms.fr.clone(),
            Language::Pt => forms.pt.clone(),
        })
    }

    /// Forms made of a bare `name`, without article: what a state the file does not name
    /// reads as.
    pub fn bare(name: &str, language: Language) -> StateNameForms {
        StateNameForms {
            name: name.to_owned(),
            text: name.to_owned(),
            of: match language {
                Language::En => format!("of {name}"),
                Language::Es | Language::Fr | Language::Pt => format!("de {name}"),
            },
        }
    }

    /// The codes `protocol/state_names.toml` names.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        STATE_NAMES.keys().map(String::as_str)
    }
}

/// An IANA time zone name that the time-zone database cbm2 is built with (chrono-tz)
/// knows, exactly as it spells it: `America/Santiago`. Times shown to a member state's
/// POCs are in its time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(chrono_tz::Tz);

/// Why a text is not a time zone.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "must be an IANA time zone name such as \"America/Santiago\" (exactly, without spaces), got {0:?}"
)]
pub struct InvalidTimeZone(pub String);

impl TimeZone {
    pub fn parse(name: &str) -> Result<Self, InvalidTimeZone> {
        chrono_tz::Tz::from_str(name)
            .map(Self)
            .map_err(|_| InvalidTimeZone(name.to_owned()))
    }

    /// The zone, to convert instants with.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl TryFrom<String> for TimeZone {
    type Error = InvalidTimeZone;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TimeZone> for String {
    fn from(zone: TimeZone) -> Self {
        zone.name().to_owned()
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_three_uppercase_letters() {
        assert_eq!(MemberStateCode::parse("CHL").unwrap().as_str(), "CHL");
    }

    #[test]
    fn refuses_lowercase_two_letter_and_non_ascii_codes() {
        for bad in ["chl", "CL", "CHLE", "CH1", "ÇHL", ""] {
            assert!(MemberStateCode::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn a_time_zone_is_an_iana_name_spelled_exactly() {
        for good in ["America/Santiago", "America/Argentina/Buenos_Aires", "UTC"] {
            assert_eq!(TimeZone::parse(good).unwrap().name(), good);
        }
        for bad in [
            "",
            " America/Lima",
            "America/Lima ",
            "america/lima",
            "Mars/Olympus",
            "GMT-3x",
        ] {
            assert_eq!(
                TimeZone::parse(bad),
                Err(InvalidTimeZone(bad.to_owned())),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn every_state_has_its_name_forms_in_every_language_ending_with_its_name() {
        assert_eq!(StateNameForms::codes().count(), 35);
        for code in StateNameForms::codes() {
            assert!(MemberStateCode::parse(code).is_ok(), "{code}");
            for language in Language::ALL {
                let forms = StateNameForms::of_state(code, language).unwrap();
                for form in [&forms.text, &forms.of] {
                    assert!(
                        form.ends_with(&forms.name) && form.len() > forms.name.len()
                            || form == &forms.name,
                        "{code} {language:?}: {form:?} does not end with {:?}",
                        forms.name
                    );
                }
                assert_ne!(forms.of, forms.name, "{code} {language:?}");
            }
        }
    }

    #[test]
    fn articles_and_contractions_are_where_each_language_needs_them() {
        let of = |code, language| StateNameForms::of_state(code, language).unwrap();
        assert_eq!(of("USA", Language::En).text, "the United States");
        assert_eq!(of("CHL", Language::En).text, "Chile");
        assert_eq!(of("DOM", Language::Es).text, "la República Dominicana");
        assert_eq!(of("SLV", Language::Es).of, "de El Salvador");
        assert_eq!(of("BRA", Language::Fr).text, "le Brésil");
        assert_eq!(of("BRA", Language::Fr).of, "du Brésil");
        assert_eq!(of("USA", Language::Fr).of, "des États-Unis");
        assert_eq!(of("HTI", Language::Fr).of, "d'Haïti");
        assert_eq!(of("ARG", Language::Fr).text, "l'Argentine");
        assert_eq!(of("BRA", Language::Pt).of, "do Brasil");
        assert_eq!(of("ARG", Language::Pt).of, "da Argentina");
        assert_eq!(of("USA", Language::Pt).text, "os Estados Unidos");
        assert_eq!(of("CUB", Language::Pt).of, "de Cuba");
        assert_eq!(StateNameForms::of_state("XYZ", Language::Es), None);
        assert_eq!(StateNameForms::bare("XYZ", Language::Es).of, "de XYZ");
    }
}
