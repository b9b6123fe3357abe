//! Bounded, trimmed, non-empty free text: names, affiliations, labels.

/// Defines a newtype over `String` that is trimmed, non-empty, at most `$max` characters and
/// free of control characters. Each type keeps its own name so signatures say what they hold.
macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        bounded_text!($(#[$doc])* $name, $max, single_line);
    };
    ($(#[$doc:meta])* $name:ident, $max:expr, $lines:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            pub fn parse(value: &str) -> Result<Self, InvalidText> {
                check_text(value, Self::MAX_CHARS, Lines::$lines).map(|text| Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidText;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

bounded_text!(
    /// A person's name as the directory shows it.
    PersonName,
    200
);
bounded_text!(
    /// The organisation a POC speaks for (ministry, agency, office).
    Affiliation,
    300
);
bounded_text!(
    /// An operator's label for a token, so it can be recognised and revoked.
    Label,
    100
);

bounded_text!(
    /// The nature of an incident, as the requester describes it (R4).
    Nature,
    10_000,
    multi_line
);
bounded_text!(
    /// A short classification: an incident category, an affected sector.
    ShortText,
    200
);
bounded_text!(
    /// Free text of an inquiry's exchange: questions, information, messages, resolution.
    LongText,
    20_000,
    multi_line
);
bounded_text!(
    /// A stated reason: for withdrawing, for revising a timeframe.
    Reason,
    2_000,
    multi_line
);

/// Whether line breaks and tabs are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    #[allow(non_camel_case_types)]
    single_line,
    #[allow(non_camel_case_types)]
    multi_line,
}

/// Why a text was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvalidText {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters, got {len}")]
    TooLong { max: usize, len: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// Trims `value` and checks it against the rules every bounded text shares.
fn check_text(value: &str, max: usize, lines: Lines) -> Result<&str, InvalidText> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidText::Empty);
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(InvalidText::TooLong { max, len });
    }
    let allowed = |c: char| lines == Lines::multi_line && matches!(c, '\n' | '\r' | '\t');
    if trimmed.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(InvalidText::ControlCharacter);
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_surrounding_whitespace() {
        assert_eq!(
            PersonName::parse("  Ana Souza ").unwrap().as_str(),
            "Ana Souza"
        );
    }

    #[test]
    fn refuses_blank_overlong_and_control_text() {
        assert_eq!(PersonName::parse("   "), Err(InvalidText::Empty));
        assert_eq!(
            Label::parse(&"x".repeat(101)),
            Err(InvalidText::TooLong { max: 100, len: 101 })
        );
        assert_eq!(
            Affiliation::parse("Ministry\u{0}"),
            Err(InvalidText::ControlCharacter)
        );
    }

    #[test]
    fn long_texts_keep_their_line_breaks() {
        assert_eq!(LongText::parse("a\nb").unwrap().as_str(), "a\nb");
        assert!(ShortText::parse("a\nb").is_err());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(PersonName::parse(&"é".repeat(200)).is_ok());
    }
}
