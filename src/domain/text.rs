//! Bounded, trimmed, non-empty free text: names, affiliations, labels.
//!
//! Text typed by one state ends up in what another state reads (the invocation, e-mails),
//! so characters that render invisibly or reorder what is shown are refused: Unicode
//! controls (Cc), formatting characters (Cf: bidi overrides, zero-width characters) and the
//! line and paragraph separators (Zl, Zp). Multi-line text allows line feeds only (a CR LF
//! pair, as browsers send, is read as a line feed).

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

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
                check_text(value, Self::MAX_CHARS, Lines::$lines).map(Self)
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

/// Whether line feeds are allowed.
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
    #[error("must be a single line: found the line break {code_point} at character {position}")]
    LineBreak { code_point: String, position: usize },
    #[error(
        "must not contain control or invisible formatting characters: found {code_point} at character {position}"
    )]
    Invisible { code_point: String, position: usize },
}

/// Whether `c` is a control, an invisible formatting character or a line or paragraph
/// separator (Unicode Cc, Cf, Zl, Zp): never accepted inside a single line of text.
pub fn is_invisible_or_control(c: char) -> bool {
    matches!(
        c.general_category(),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

fn code_point(c: char) -> String {
    format!("U+{:04X}", u32::from(c))
}

/// Trims `value` and checks it against the rules every bounded text shares; multi-line
/// text comes back with CR LF read as LF.
fn check_text(value: &str, max: usize, lines: Lines) -> Result<String, InvalidText> {
    // The bound holds for what was sent, as the contract's maxLength says, not only for
    // what is left once the surrounding spaces (which include U+0085) are trimmed.
    let sent = value.chars().count();
    if sent > max {
        return Err(InvalidText::TooLong { max, len: sent });
    }
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(InvalidText::Empty);
    }
    let text = match lines {
        Lines::multi_line => trimmed.replace("\r\n", "\n"),
        Lines::single_line => trimmed.to_owned(),
    };
    let len = text.chars().count();
    if len > max {
        return Err(InvalidText::TooLong { max, len });
    }
    for (index, c) in text.chars().enumerate() {
        if lines == Lines::multi_line && c == '\n' {
            continue;
        }
        if !is_invisible_or_control(c) {
            continue;
        }
        let (code_point, position) = (code_point(c), index + 1);
        let line_break = matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}');
        return Err(if line_break && lines == Lines::single_line {
            InvalidText::LineBreak {
                code_point,
                position,
            }
        } else {
            InvalidText::Invisible {
                code_point,
                position,
            }
        });
    }
    Ok(text)
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
            Err(InvalidText::Invisible {
                code_point: "U+0000".into(),
                position: 9
            })
        );
    }

    #[test]
    fn long_texts_keep_their_line_breaks() {
        assert_eq!(LongText::parse("a\nb").unwrap().as_str(), "a\nb");
        assert!(ShortText::parse("a\nb").is_err());
    }

    #[test]
    fn single_lines_refuse_bidi_overrides_zero_width_and_separators() {
        for (text, code_point) in [
            ("Ana\u{202E}zuoS", "U+202E"),
            ("Ana\u{200B}Souza", "U+200B"),
            ("Ana\u{2066}Souza", "U+2066"),
            ("Ana\u{FEFF}Souza", "U+FEFF"),
            ("Ana\u{00AD}Souza", "U+00AD"),
        ] {
            assert_eq!(
                PersonName::parse(text),
                Err(InvalidText::Invisible {
                    code_point: code_point.into(),
                    position: 4
                }),
                "{text:?}"
            );
        }
        for (text, code_point) in [
            ("Ana\u{2028}Souza", "U+2028"),
            ("Ana\u{2029}Souza", "U+2029"),
            ("Ana\rSouza", "U+000D"),
        ] {
            assert_eq!(
                ShortText::parse(text),
                Err(InvalidText::LineBreak {
                    code_point: code_point.into(),
                    position: 4
                }),
                "{text:?}"
            );
        }
    }

    #[test]
    fn multi_line_text_allows_line_feeds_only() {
        assert_eq!(LongText::parse("a\r\nb").unwrap().as_str(), "a\nb");
        for bad in [
            "a\tb",
            "a\rb",
            "a\u{2028}b",
            "a\u{2029}b",
            "a\u{202E}b",
            "a\u{200D}b",
        ] {
            assert!(
                matches!(
                    LongText::parse(bad),
                    Err(InvalidText::Invisible { position: 2, .. })
                ),
                "{bad:?} was accepted"
            );
        }
    }

    #[test]
    fn accented_letters_and_ordinary_punctuation_pass() {
        assert!(LongText::parse("¿Qué sabe de 203.0.113.7? — «São Paulo», ação; l'été.").is_ok());
    }

    #[test]
    fn counts_characters_not_bytes() {
        assert!(PersonName::parse(&"é".repeat(200)).is_ok());
    }

    #[test]
    fn the_bound_counts_what_was_sent_before_trimming() {
        let padded = format!("{}000{}", "\u{85}", "\u{85}".repeat(100));
        assert_eq!(
            Label::parse(&padded),
            Err(InvalidText::TooLong { max: 100, len: 104 })
        );
        assert_eq!(Label::parse("  ok  ").unwrap().as_str(), "ok");
    }
}
