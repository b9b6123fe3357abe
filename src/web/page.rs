//! What every page knows about its reader: the language, who is signed in, the form token,
//! the time zone; and the small conversions templates need (a string by key, a date in the
//! reader's conventions, a state's name in the reader's language).

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::i18n;
use crate::domain::{Language, StateNameForms};

/// Who is signed in, as pages show it.
#[derive(Debug, Clone)]
pub struct Reader {
    pub name: String,
    /// The reader's state, for a POC; `None` for the Secretariat's staff.
    pub member_state: Option<String>,
    pub secretariat: bool,
}

/// The context of one page.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Language,
    pub reader: Option<Reader>,
    /// The token every form of this page carries (the session's, or the visitor's).
    pub csrf: String,
    /// Where the page is (path and query), to come back to after choosing a language.
    pub here: String,
    /// Times are shown in this zone beside UTC.
    pub zone: Tz,
}

impl Page {
    /// The string `key` in the reader's language.
    pub fn t(&self, key: &str) -> String {
        i18n::text(self.lang, key)
    }

    /// The string `key` with one argument.
    pub fn t1(&self, key: &str, name: &'static str, value: impl std::fmt::Display) -> String {
        i18n::text_with(self.lang, key, &[(name, value.to_string())])
    }

    /// The string `key` with two arguments.
    pub fn t2(
        &self,
        key: &str,
        first: (&'static str, &dyn std::fmt::Display),
        second: (&'static str, &dyn std::fmt::Display),
    ) -> String {
        i18n::text_with(
            self.lang,
            key,
            &[
                (first.0, first.1.to_string()),
                (second.0, second.1.to_string()),
            ],
        )
    }

    /// A duration in words ("2 days 4 hours", "3 días"), to the minute.
    pub fn duration(&self, duration: &crate::domain::IsoDuration) -> String {
        let minutes = duration.as_delta().num_minutes();
        let parts = [
            ("duration-days", minutes / (24 * 60)),
            ("duration-hours", minutes / 60 % 24),
            ("duration-minutes", minutes % 60),
        ];
        let words: Vec<String> = parts
            .iter()
            .filter(|(_, n)| *n > 0)
            .map(|(key, n)| self.t1(key, "n", n))
            .collect();
        if words.is_empty() {
            self.t1("duration-minutes", "n", 0)
        } else {
            words.join(" ")
        }
    }

    /// A status as a word ("Awaiting response"): the key `status-<status>`.
    pub fn status_word(&self, status: &str) -> String {
        self.t(&format!("status-{status}"))
    }

    /// An event's type as words: the key `event-<type>`.
    pub fn event_word(&self, event_type: &str) -> String {
        self.t(&format!("event-{event_type}"))
    }

    /// A part of a compound field (days, hours, name, email, phone): `form-part-<part>`.
    pub fn part_word(&self, part: &str) -> String {
        self.t(&format!("form-part-{part}"))
    }

    /// A value as a word: the key `<prefix>-<value>` (`sensitivity-urgent`).
    pub fn word(&self, prefix: &str, value: &str) -> String {
        self.t(&format!("{prefix}-{value}"))
    }

    /// `lang` for `<html>`.
    pub fn lang_code(&self) -> &'static str {
        self.lang.as_str()
    }

    /// A moment in the reader's zone and conventions ("1 de diciembre de 2026, 09:30 -03").
    pub fn time(&self, at: &DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.zone);
        let pattern = self.t("format-datetime");
        format!(
            "{} {}",
            local.format_localized(&pattern, self.locale()),
            local.format("%Z")
        )
    }

    /// A moment in UTC, for the record: "2026-12-01 12:30 UTC".
    pub fn utc(&self, at: &DateTime<Utc>) -> String {
        at.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    /// The machine-readable form for `<time datetime="…">`.
    pub fn iso(&self, at: &DateTime<Utc>) -> String {
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }

    /// A state's name in the reader's language ("Brasil"), its code when unknown.
    pub fn state_name(&self, code: &str) -> String {
        StateNameForms::of_state(code, self.lang)
            .map_or_else(|| code.to_owned(), |forms| forms.name)
    }

    /// A whole number in the reader's conventions (1,234 / 1.234 / 1 234).
    pub fn number(&self, n: &i64) -> String {
        let digits = n.unsigned_abs().to_string();
        let separator = match self.lang {
            Language::En => ",",
            Language::Es | Language::Pt => ".",
            Language::Fr => "\u{202f}",
        };
        let mut grouped = String::new();
        for (i, digit) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push_str(separator);
            }
            grouped.push(digit);
        }
        if *n < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    }

    fn locale(&self) -> chrono::Locale {
        match self.lang {
            Language::En => chrono::Locale::en_US,
            Language::Es => chrono::Locale::es_ES,
            Language::Fr => chrono::Locale::fr_FR,
            Language::Pt => chrono::Locale::pt_BR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(lang: Language, zone: Tz) -> Page {
        Page {
            lang,
            reader: None,
            csrf: String::new(),
            here: "/".into(),
            zone,
        }
    }

    #[test]
    fn a_moment_reads_in_the_readers_language_and_zone() {
        let at: DateTime<Utc> = "2026-12-01T12:30:00Z".parse().unwrap();
        assert_eq!(
            page(Language::En, chrono_tz::UTC).time(&at),
            "1 December 2026, 12:30 UTC"
        );
        assert_eq!(
            page(Language::Es, chrono_tz::America::Santiago).time(&at),
            "1 de diciembre de 2026, 09:30 -03"
        );
        assert_eq!(
            page(Language::Pt, chrono_tz::America::Sao_Paulo).time(&at),
            "1 de dezembro de 2026, 09:30 -03"
        );
        assert_eq!(
            page(Language::Fr, chrono_tz::America::PortauPrince).time(&at),
            "1 décembre 2026 à 07:30 EST"
        );
    }

    #[test]
    fn a_duration_reads_in_words() {
        let d = |text: &str| crate::domain::IsoDuration::parse(text).unwrap();
        assert_eq!(
            page(Language::En, chrono_tz::UTC).duration(&d("P2DT4H")),
            "2 days 4 hours"
        );
        assert_eq!(
            page(Language::En, chrono_tz::UTC).duration(&d("P1DT1H")),
            "1 day 1 hour"
        );
        assert_eq!(
            page(Language::Es, chrono_tz::UTC).duration(&d("P3D")),
            "3 días"
        );
        assert_eq!(
            page(Language::Pt, chrono_tz::UTC).duration(&d("PT90M")),
            "1 hora 30 minutos"
        );
        assert_eq!(
            page(Language::Fr, chrono_tz::UTC).duration(&d("PT30S")),
            "0 minute"
        );
    }

    #[test]
    fn numbers_and_state_names_follow_the_reader() {
        assert_eq!(
            page(Language::En, chrono_tz::UTC).number(&1234567),
            "1,234,567"
        );
        assert_eq!(page(Language::Es, chrono_tz::UTC).number(&1234), "1.234");
        assert_eq!(
            page(Language::Fr, chrono_tz::UTC).number(&-1234),
            "-1\u{202f}234"
        );
        assert_eq!(page(Language::En, chrono_tz::UTC).number(&12), "12");
        assert_eq!(
            page(Language::Pt, chrono_tz::UTC).state_name("USA"),
            "Estados Unidos"
        );
        assert_eq!(page(Language::Pt, chrono_tz::UTC).state_name("ZZZ"), "ZZZ");
    }
}
