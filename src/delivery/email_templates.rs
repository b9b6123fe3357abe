//! The notification e-mail, rendered from the notification's thin body for its reader: in
//! the reader's first OAS language (English otherwise), from the templates in
//! `protocol/templates/email/`. States are named in that language (with their article
//! where it needs one, `protocol/state_names.toml`), statuses and deadline kinds are words
//! of it, and the running deadline is shown in the reader's state's time zone beside the
//! UTC instant. An exercise says so in the subject and at the top of the body. The
//! paragraph 78 reference and the non-accusation note come in the reader's language
//! whatever language the stored invocation text is in. HTML is escaped by minijinja; no
//! content beyond the notification's metadata (and, for the responding state, the
//! invocation text) is ever in an e-mail.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use minijinja::{AutoEscape, Environment, context};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::delivery::link::sign_in_link;
use crate::domain::{Language, StateNameForms, TimeZone};
use crate::store::accounts::IssuedSignInLink;

/// The strings of one language.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Strings {
    cbm2: String,
    paragraph_78: String,
    non_accusation: String,
    confidential: String,
    open_link: String,
    invocation_heading: String,
    status: String,
    time_sensitivity: String,
    /// The label of a deadline of a kind `deadlines` lacks.
    deadline: String,
    signature: String,
    /// Before the subject of an exercise's e-mail.
    exercise_tag: String,
    /// The first line of an exercise's e-mail.
    exercise_banner: String,
    /// A local time: `{day}`, `{month}`, `{year}`, `{hour}`, `{minute}`.
    local_time: String,
    /// How the first day of a month is written ("1er", "1º").
    first_day: String,
    months: [String; 12],
    statuses: BTreeMap<String, String>,
    /// The label of the running deadline, by kind (`acknowledgement`, `response`).
    deadlines: BTreeMap<String, String>,
    time_sensitivities: BTreeMap<String, String>,
    subjects: BTreeMap<String, String>,
    summaries: BTreeMap<String, String>,
    /// The sign-in e-mail's.
    sign_in: SignInStrings,
}

/// The strings of the sign-in e-mail in one language.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct SignInStrings {
    subject: String,
    intro: String,
    validity: String,
    ignore: String,
    /// Whom a link signs in as, for a Secretariat staff account.
    secretariat: String,
    /// Whom a link signs in as, for a POC: `{role}` (a word of `roles`) and `{of_state}`.
    poc: String,
    /// Each POC role, as `poc` names it.
    roles: BTreeMap<String, String>,
}

/// The languages e-mails are written in (the OAS official languages), with their strings,
/// embedded at build time. A reader of none of them gets English.
const STRINGS: [(Language, &str); 4] = [
    (
        Language::En,
        include_str!("../../protocol/templates/email/strings.en.toml"),
    ),
    (
        Language::Es,
        include_str!("../../protocol/templates/email/strings.es.toml"),
    ),
    (
        Language::Fr,
        include_str!("../../protocol/templates/email/strings.fr.toml"),
    ),
    (
        Language::Pt,
        include_str!("../../protocol/templates/email/strings.pt.toml"),
    ),
];

static LANGUAGES: LazyLock<BTreeMap<&'static str, (Language, Strings)>> = LazyLock::new(|| {
    STRINGS
        .iter()
        .map(|(language, text)| {
            let code = language.as_str();
            let strings = toml::from_str(text).unwrap_or_else(|e| {
                panic!("protocol/templates/email/strings.{code}.toml is invalid: {e}")
            });
            (code, (*language, strings))
        })
        .collect()
});

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    environment
        .add_template(
            "email.txt",
            include_str!("../../protocol/templates/email/email.txt"),
        )
        .expect("email.txt is a valid template");
    environment
        .add_template(
            "email.html",
            include_str!("../../protocol/templates/email/email.html"),
        )
        .expect("email.html is a valid template");
    environment
        .add_template(
            "sign_in.txt",
            include_str!("../../protocol/templates/email/sign_in.txt"),
        )
        .expect("sign_in.txt is a valid template");
    environment
        .add_template(
            "sign_in.html",
            include_str!("../../protocol/templates/email/sign_in.html"),
        )
        .expect("sign_in.html is a valid template");
    environment
});

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub language: String,
    pub subject: String,
    /// A subject that names no state nor event, for an e-mail whose body is encrypted
    /// (headers travel in the clear).
    pub neutral_subject: String,
    pub text: String,
    pub html: String,
}

/// Who reads an e-mail: the languages it reads, most preferred first, and the time zone
/// of its state (`None`, as for a reader of no state: UTC).
#[derive(Debug, Clone, Default)]
pub struct Reader {
    pub languages: Vec<String>,
    pub time_zone: Option<TimeZone>,
    /// Every member state's time zone, to show a deadline in both states' local times
    /// (`None`: the reader's alone).
    pub state_zones: Option<crate::store::StateZones>,
}

/// The first of `preferences` that e-mails are written in, or English.
pub fn choose_language(preferences: &[String]) -> &'static str {
    preferences
        .iter()
        .find_map(|wanted| {
            LANGUAGES
                .keys()
                .find(|known| **known == wanted.as_str())
                .copied()
        })
        .unwrap_or("en")
}

/// The running deadline as the e-mail shows it.
#[derive(Debug, Serialize)]
struct Due {
    /// "Response expected by", in the reader's language.
    label: String,
    /// The time in the reader's time zone, written in the reader's language.
    local: String,
    /// The time zone's IANA name.
    zone: &'static str,
    /// The instant in UTC, RFC 3339 to the second.
    utc: String,
    /// The same instant in each of the two states' local times.
    states: Vec<StateTime>,
}

/// A deadline in one state's local time.
#[derive(Debug, Serialize)]
struct StateTime {
    /// The state's name, in the reader's language.
    name: String,
    local: String,
    zone: &'static str,
}

impl Strings {
    /// `at` in `zone`, written the way this language writes a date and a time.
    fn local_time(&self, at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
        let local = at.with_timezone(&zone);
        let day = match local.day() {
            1 => self.first_day.clone(),
            day => day.to_string(),
        };
        self.local_time
            .replace("{day}", &day)
            .replace("{month}", &self.months[local.month0() as usize])
            .replace("{year}", &local.year().to_string())
            .replace("{hour}", &format!("{:02}", local.hour()))
            .replace("{minute}", &format!("{:02}", local.minute()))
    }

    /// The word for `value` in `table`, or `value` itself if the table lacks it.
    fn word<'a>(table: &'a BTreeMap<String, String>, value: &'a str) -> &'a str {
        table.get(value).map_or(value, String::as_str)
    }
}

/// Renders the notification `body` (`{type, timestamp, data}`) for `reader`.
pub fn render(body: &str, reader: &Reader) -> Result<Rendered, String> {
    let body: Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    let event = body["type"].as_str().unwrap_or_default().to_owned();
    let data = &body["data"];
    let code = choose_language(&reader.languages);
    let (language, strings) = &LANGUAGES[code];
    let language = *language;
    let state = |field: &str| {
        let code = data[field].as_str().unwrap_or("?");
        StateNameForms::of_state(code, language)
            .unwrap_or_else(|| StateNameForms::bare(code, language))
    };
    let (requesting, responding) = (state("requesting_state"), state("responding_state"));
    let fill = |text: &str| {
        text.replace("{of_state}", &requesting.of)
            .replace("{state}", &requesting.text)
            .replace("{of_other}", &responding.of)
            .replace("{other}", &responding.text)
    };
    let exercise = data["exercise"].as_bool() == Some(true);
    let subject = fill(
        strings
            .subjects
            .get(&event)
            .map(String::as_str)
            .unwrap_or(&strings.cbm2),
    );
    let subject = if exercise {
        format!("{} {subject}", strings.exercise_tag)
    } else {
        subject
    };
    let summary = fill(
        strings
            .summaries
            .get(&event)
            .map(String::as_str)
            .unwrap_or(&strings.cbm2),
    );
    let zone = reader.time_zone.map_or(chrono_tz::UTC, TimeZone::tz);
    let due = data["due_at"]
        .as_str()
        .and_then(|at| DateTime::parse_from_rfc3339(at).ok())
        .map(|at| {
            let at = at.with_timezone(&Utc);
            Due {
                label: data["deadline"]
                    .as_str()
                    .and_then(|kind| strings.deadlines.get(kind))
                    .unwrap_or(&strings.deadline)
                    .clone(),
                local: strings.local_time(at, zone),
                zone: zone.name(),
                utc: at.to_rfc3339_opts(SecondsFormat::Secs, true),
                states: [
                    ("requesting_state", &requesting),
                    ("responding_state", &responding),
                ]
                .into_iter()
                .filter_map(|(field, names)| {
                    let zone = *reader.state_zones.as_ref()?.get(data[field].as_str()?)?;
                    Some(StateTime {
                        name: names.name.clone(),
                        local: strings.local_time(at, zone),
                        zone: zone.name(),
                    })
                })
                .collect(),
            }
        });
    let ctx = context! {
        language => code,
        subject => &subject,
        summary => summary,
        exercise => exercise,
        strings => minijinja::value::Value::from(minijinja::value::Serde(strings)),
        about_inquiry => data.get("inquiry_id").is_some_and(|v| !v.is_null()),
        status => data["status"].as_str().map(|s| Strings::word(&strings.statuses, s)),
        time_sensitivity => data["time_sensitivity"]
            .as_str()
            .map(|s| Strings::word(&strings.time_sensitivities, s)),
        due => due.map(|due| minijinja::value::Value::from(minijinja::value::Serde(due))),
        // The page a person opens (signing in first if needed); the API's URL for a
        // notification queued before the pages existed.
        link => data["page"].as_str().or_else(|| data["link"].as_str()),
        invocation_text => data["invocation_text"].as_str(),
    };
    let render = |name: &str| {
        ENVIRONMENT
            .get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| e.to_string())
    };
    Ok(Rendered {
        language: code.to_owned(),
        subject,
        neutral_subject: strings.cbm2.clone(),
        text: render("email.txt")?,
        html: render("email.html")?,
    })
}

/// One link of a sign-in e-mail, as the templates show it.
#[derive(Debug, Serialize)]
struct SignInEntry {
    /// Whom the link signs in as, in the reader's language.
    label: String,
    url: String,
}

/// The sign-in e-mail for `links` (one per account the address has), in the language of
/// the first link's reader: each link with whom it signs in as, that it works once within
/// 15 minutes, and to ignore the e-mail if it was not asked for.
pub fn render_sign_in(links: &[IssuedSignInLink], public_url: &str) -> Result<Rendered, String> {
    let language = links.first().map(|link| link.language).unwrap_or_default();
    let code = language.as_str();
    let (_, strings) = &LANGUAGES[code];
    let entries: Vec<SignInEntry> = links
        .iter()
        .map(|link| {
            let label = match (link.role, &link.member_state) {
                (Some(role), Some(state)) => {
                    let forms = StateNameForms::of_state(state.as_str(), language)
                        .unwrap_or_else(|| StateNameForms::bare(state.as_str(), language));
                    strings
                        .sign_in
                        .poc
                        .replace(
                            "{role}",
                            Strings::word(&strings.sign_in.roles, role.as_str()),
                        )
                        .replace("{of_state}", &forms.of)
                }
                _ => strings.sign_in.secretariat.clone(),
            };
            SignInEntry {
                label,
                url: sign_in_link(public_url, &link.secret),
            }
        })
        .collect();
    let subject = strings.sign_in.subject.clone();
    let ctx = context! {
        language => code,
        subject => &subject,
        strings => minijinja::value::Value::from(minijinja::value::Serde(&strings.sign_in)),
        signature => &strings.signature,
        links => minijinja::value::Value::from(minijinja::value::Serde(&entries)),
    };
    let render = |name: &str| {
        ENVIRONMENT
            .get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(|e| e.to_string())
    };
    Ok(Rendered {
        language: code.to_owned(),
        neutral_subject: subject.clone(),
        subject,
        text: render("sign_in.txt")?,
        html: render("sign_in.html")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(language: &str) -> &'static Strings {
        &LANGUAGES[language].1
    }

    /// What minijinja's HTML auto-escaping makes of `text`.
    fn escape_html(text: &str) -> String {
        minijinja::HtmlEscape(text).to_string()
    }

    fn reader(languages: &[&str], time_zone: Option<&str>) -> Reader {
        Reader {
            languages: languages.iter().map(|l| l.to_string()).collect(),
            time_zone: time_zone.map(|zone| TimeZone::parse(zone).unwrap()),
            state_zones: None,
        }
    }

    #[test]
    fn a_deadline_shows_in_both_states_local_times_when_their_zones_are_known() {
        let mut brazilian = reader(&["en"], Some("America/Sao_Paulo"));
        brazilian.state_zones = Some(std::sync::Arc::new(
            [
                ("CHL".to_owned(), chrono_tz::America::New_York),
                ("BRA".to_owned(), chrono_tz::America::Sao_Paulo),
            ]
            .into_iter()
            .collect(),
        ));
        let rendered = render(&request_info_body(false), &brazilian).unwrap();
        for line in [
            "Chile: 3 December 2026, 12:00 (America/New_York)",
            "Brazil: 3 December 2026, 14:00 (America/Sao_Paulo)",
        ] {
            assert!(rendered.text.contains(line), "{line}:\n{}", rendered.text);
            let escaped = escape_html(line);
            assert!(
                rendered.html.contains(&escaped),
                "{escaped}:\n{}",
                rendered.html
            );
        }
        let alone = render(
            &request_info_body(false),
            &reader(&["en"], Some("America/Sao_Paulo")),
        )
        .unwrap();
        assert!(!alone.text.contains("Chile: "), "{}", alone.text);
    }

    /// The event types protocol 1.1 notifies besides those `NOTIFIED` lists today.
    const PROTOCOL_1_1_EVENTS: [&str; 3] = ["message", "log_contact", "share"];

    #[test]
    fn every_language_has_a_subject_and_summary_for_every_notified_event() {
        for (language, (_, strings)) in LANGUAGES.iter() {
            for event in crate::protocol::notification::NOTIFIED
                .iter()
                .map(|(event, _)| *event)
                .chain(PROTOCOL_1_1_EVENTS)
                .chain(["ping"])
            {
                assert!(
                    strings.subjects.contains_key(event),
                    "{language}: no subject for {event}"
                );
                assert!(
                    strings.summaries.contains_key(event),
                    "{language}: no summary for {event}"
                );
            }
        }
    }

    #[test]
    fn every_status_time_sensitivity_and_deadline_kind_is_a_word_in_every_language() {
        let protocol = crate::protocol::definition::definition();
        for (language, (_, strings)) in LANGUAGES.iter() {
            for status in protocol.statuses.keys() {
                assert!(
                    strings.statuses.contains_key(status),
                    "{language}: {status}"
                );
            }
            for kind in ["critical", "urgent", "routine"] {
                assert!(
                    strings.time_sensitivities.contains_key(kind),
                    "{language}: {kind}"
                );
            }
            for kind in ["acknowledgement", "response"] {
                assert!(strings.deadlines.contains_key(kind), "{language}: {kind}");
            }
        }
    }

    #[test]
    fn subjects_and_summaries_use_only_the_state_placeholders() {
        let known = ["{state}", "{other}", "{of_state}", "{of_other}"];
        for (language, (_, strings)) in LANGUAGES.iter() {
            for text in strings.subjects.values().chain(strings.summaries.values()) {
                let mut rest = text.as_str();
                while let Some(start) = rest.find('{') {
                    let end = rest[start..].find('}').expect("a closed placeholder") + start;
                    let placeholder = &rest[start..=end];
                    assert!(
                        known.contains(&placeholder),
                        "{language}: {placeholder} in {text:?}"
                    );
                    rest = &rest[end + 1..];
                }
            }
        }
    }

    #[test]
    fn texts_to_the_states_never_say_overdue_or_unanswered() {
        let monitoring_terms = [
            "overdue",
            "without an answer",
            "vencid",
            "venció",
            "sin respuesta",
            "dépassé",
            "sans réponse",
            "expirou",
            "sem resposta",
        ];
        for (language, (_, strings)) in LANGUAGES.iter() {
            for text in strings.subjects.values().chain(strings.summaries.values()) {
                for term in monitoring_terms {
                    assert!(
                        !text.to_lowercase().contains(term),
                        "{language}: {term:?} in {text:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn an_inquiry_notice_names_paragraph_78_and_the_non_accusation_note_and_escapes_html() {
        let body = serde_json::json!({
            "type": "request_info",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {"inquiry_id": "01a2", "requesting_state": "CHL", "responding_state": "BRA",
                     "status": "awaiting_response", "link": "https://cbm2.example/v1/inquiries/01a2",
                     "invocation_text": "Dear <Ana>"}
        })
        .to_string();
        let rendered = render(&body, &reader(&["nl", "en"], None)).unwrap();
        assert_eq!(rendered.language, "en");
        assert_eq!(rendered.subject, "New CBM #2 inquiry from Chile");
        assert!(rendered.text.contains("AG/RES. 2925 (XLVIII-O/18)"));
        assert!(rendered.text.contains("does not constitute an accusation"));
        // HTML escapes the slashes: AG&#x2f;RES. 2925 (XLVIII-O&#x2f;18).
        assert!(rendered.html.contains("paragraph 78") && rendered.html.contains("2925 (XLVIII-O"));
        assert!(rendered.html.contains("does not constitute an accusation"));
        assert!(rendered.text.contains("Dear <Ana>"));
        assert!(rendered.html.contains("Dear &lt;Ana&gt;"));
    }

    /// A request_info from Chile to Brazil, due 3 December 2026 at 17:00 UTC; `exercise`
    /// as given; the invocation text in English.
    fn request_info_body(exercise: bool) -> String {
        serde_json::json!({
            "type": "request_info",
            "timestamp": "2026-11-25T10:00:00Z",
            "data": {"event": "request_info", "inquiry_id": "01a2", "requesting_state": "CHL",
                     "responding_state": "BRA", "status": "awaiting_response",
                     "time_sensitivity": "urgent", "due_at": "2026-12-03T17:00:00.250Z",
                     "deadline": "acknowledgement", "exercise": exercise,
                     "link": "https://cbm2.example/v1/inquiries/01a2",
                     "invocation_text": "Dear Ana Souza, I am invoking OAS CBM #2.", "language": "en"}
        })
        .to_string()
    }

    /// What a Brazilian POC (America/Sao_Paulo, UTC−3) reads of Chile's inquiry, in each
    /// OAS language: the subject, the summary, the status, the time sensitivity, the
    /// deadline in local time beside UTC, paragraph 78, the note, the signature.
    const EVERY_LANGUAGE: [(&str, [&str; 9]); 4] = [
        (
            "en",
            [
                "New CBM #2 inquiry from Chile",
                "The point of contact of Chile has sent your state an inquiry under CBM #2",
                "Status: awaiting a response",
                "Time sensitivity: urgent",
                "Acknowledgement requested by 3 December 2026, 14:00 (America/Sao_Paulo) — 2026-12-03T17:00:00Z",
                "paragraph 78",
                "does not constitute an accusation",
                "CICTE Secretariat (OAS)",
                "[EXERCISE]",
            ],
        ),
        (
            "es",
            [
                "Nueva consulta de Chile en el marco de la MFC N.º 2",
                "El punto de contacto de Chile ha enviado a su Estado una consulta",
                "Situación: en espera de respuesta",
                "Grado de urgencia: urgente",
                "Acuse de recibo solicitado para el 3 de diciembre de 2026, 14:00 (America/Sao_Paulo) — 2026-12-03T17:00:00Z",
                "párrafo 78",
                "no constituye una acusación",
                "Secretaría de la CICTE (OEA)",
                "[EJERCICIO]",
            ],
        ),
        (
            "fr",
            [
                "Nouvelle demande du Chili au titre de la MDC n° 2",
                "Le point de contact du Chili a adressé à votre État une demande",
                "Statut: en attente de réponse",
                "Degré d'urgence: urgent",
                "Accusé de réception demandé pour le 3 décembre 2026, 14 h 00 (America/Sao_Paulo) — 2026-12-03T17:00:00Z",
                "paragraphe 78",
                "ne constitue pas une accusation",
                "Secrétariat du CICTE (OEA)",
                "[EXERCICE]",
            ],
        ),
        (
            "pt",
            [
                "Nova consulta do Chile no âmbito da MFC n.º 2",
                "O ponto de contato do Chile enviou ao seu Estado uma consulta",
                "Situação: aguardando resposta",
                "Grau de urgência: urgente",
                "Confirmação de recebimento solicitada até 3 de dezembro de 2026, 14h00 (America/Sao_Paulo) — 2026-12-03T17:00:00Z",
                "parágrafo 78",
                "não constitui uma acusação",
                "Secretaria do CICTE (OEA)",
                "[EXERCÍCIO]",
            ],
        ),
    ];

    #[test]
    fn each_language_names_the_states_translates_the_status_and_shows_local_time_beside_utc() {
        for (
            language,
            [
                subject,
                summary,
                status,
                sensitivity,
                due,
                paragraph,
                note,
                signature,
                _,
            ],
        ) in EVERY_LANGUAGE
        {
            let rendered = render(
                &request_info_body(false),
                &reader(&[language, "en"], Some("America/Sao_Paulo")),
            )
            .unwrap();
            assert_eq!(rendered.language, language);
            assert_eq!(rendered.subject, subject);
            for needle in [
                summary,
                status,
                sensitivity,
                due,
                paragraph,
                note,
                signature,
            ] {
                assert!(
                    rendered.text.contains(needle),
                    "{language}: the text lacks {needle:?}:\n{}",
                    rendered.text
                );
                let escaped = escape_html(needle);
                assert!(
                    rendered.html.contains(&escaped),
                    "{language}: the HTML lacks {escaped:?}:\n{}",
                    rendered.html
                );
            }
            assert!(
                rendered.text.ends_with(&format!("-- \n{signature}")),
                "{language}"
            );
            // HTML escapes the slashes of the resolution's symbol.
            assert!(
                rendered
                    .html
                    .contains("AG&#x2f;RES. 2925 (XLVIII-O&#x2f;18)")
            );
            assert!(
                rendered
                    .html
                    .contains(&format!("<html lang=\"{language}\">"))
            );
            assert!(
                rendered
                    .text
                    .contains("Dear Ana Souza, I am invoking OAS CBM #2.")
            );
            for raw in ["CHL", "awaiting_response", "acknowledgement"] {
                assert!(
                    !rendered.text.contains(raw),
                    "{language}: {raw}:\n{}",
                    rendered.text
                );
            }
        }
    }

    #[test]
    fn an_exercise_says_so_in_the_subject_and_first_in_the_body_in_each_language() {
        for (language, [subject, .., tag]) in EVERY_LANGUAGE {
            let drill = render(&request_info_body(true), &reader(&[language], None)).unwrap();
            let real = render(&request_info_body(false), &reader(&[language], None)).unwrap();

            assert_eq!(drill.subject, format!("{tag} {subject}"));
            assert_eq!(real.subject, subject);
            let banner = &strings(language).exercise_banner;
            assert!(
                drill.text.starts_with(&format!("{banner}\n\n")),
                "{language}:\n{}",
                drill.text
            );
            let body = &drill.html[drill.html.find("<body").unwrap()..];
            let at = body
                .find(&escape_html(banner))
                .unwrap_or_else(|| panic!("{language}: no banner:\n{body}"));
            assert!(
                body[..at].matches("<p").count() == 1,
                "{language}: the banner is in the first paragraph:\n{body}"
            );
            assert!(!real.text.contains(banner.as_str()));
        }
    }

    #[test]
    fn states_take_their_article_where_the_readers_language_needs_one() {
        let notice = |event: &str, requesting: &str, responding: &str| {
            serde_json::json!({
                "type": event, "timestamp": "2026-11-25T10:00:00Z",
                "data": {"inquiry_id": "01a2", "requesting_state": requesting,
                         "responding_state": responding, "status": "acknowledged"}
            })
            .to_string()
        };
        for (language, event, requesting, responding, subject) in [
            (
                "en",
                "request_info",
                "USA",
                "CHL",
                "New CBM #2 inquiry from the United States",
            ),
            (
                "es",
                "request_info",
                "DOM",
                "CHL",
                "Nueva consulta de la República Dominicana en el marco de la MFC N.º 2",
            ),
            (
                "fr",
                "acknowledge",
                "CHL",
                "BRA",
                "Accusé de réception du Brésil pour votre demande au titre de la MDC n° 2",
            ),
            (
                "fr",
                "message",
                "CHL",
                "USA",
                "Nouveau message dans la demande entre le Chili et les États-Unis au titre de la MDC n° 2",
            ),
            (
                "pt",
                "respond",
                "CHL",
                "ARG",
                "Resposta da Argentina à sua consulta no âmbito da MFC n.º 2",
            ),
            (
                "pt",
                "log_contact",
                "BRA",
                "USA",
                "Contato registrado na consulta entre o Brasil e os Estados Unidos no âmbito da MFC n.º 2",
            ),
        ] {
            let rendered = render(
                &notice(event, requesting, responding),
                &reader(&[language], None),
            )
            .unwrap();
            assert_eq!(rendered.subject, subject, "{language} {event}");
        }
    }

    #[test]
    fn times_follow_the_readers_zone_and_its_daylight_saving_and_utc_without_one() {
        let due = |at: &str, deadline: &str| {
            serde_json::json!({
                "type": "acknowledge", "timestamp": "2026-01-01T00:00:00Z",
                "data": {"inquiry_id": "01a2", "requesting_state": "CHL",
                         "responding_state": "BRA", "status": "acknowledged",
                         "due_at": at, "deadline": deadline}
            })
            .to_string()
        };
        for (at, zone, language, expected) in [
            // Santiago keeps summer time in December (UTC−3), standard time in July (UTC−4).
            (
                "2026-12-03T17:00:00Z",
                Some("America/Santiago"),
                "es",
                "Respuesta prevista para el 3 de diciembre de 2026, 14:00 (America/Santiago) — 2026-12-03T17:00:00Z",
            ),
            (
                "2026-07-01T17:05:00Z",
                Some("America/Santiago"),
                "en",
                "Response expected by 1 July 2026, 13:05 (America/Santiago) — 2026-07-01T17:05:00Z",
            ),
            // The local date may be the day before the UTC one.
            (
                "2026-03-01T02:30:00Z",
                Some("America/New_York"),
                "fr",
                "Réponse attendue pour le 28 février 2026, 21 h 30 (America/New_York) — 2026-03-01T02:30:00Z",
            ),
            (
                "2026-03-01T02:30:00Z",
                None,
                "pt",
                "Resposta prevista até 1º de março de 2026, 02h30 (UTC) — 2026-03-01T02:30:00Z",
            ),
        ] {
            let rendered = render(&due(at, "response"), &reader(&[language], zone)).unwrap();
            assert!(
                rendered.text.contains(expected),
                "{language}: lacks {expected:?}:\n{}",
                rendered.text
            );
        }
    }

    #[test]
    fn a_message_notice_awaits_attention_and_never_carries_the_message() {
        let body = serde_json::json!({
            "type": "message", "timestamp": "2026-11-25T10:00:00Z",
            "data": {"event": "message", "inquiry_id": "01a2", "requesting_state": "CHL",
                     "responding_state": "BRA", "status": "acknowledged", "exercise": false,
                     "text": "The host 203.0.113.7 is ours"}
        })
        .to_string();
        let rendered = render(&body, &reader(&["en"], None)).unwrap();
        assert!(rendered.text.contains(
            "A new message on the inquiry between Chile and Brazil awaits your attention."
        ));
        assert!(!rendered.text.contains("203.0.113.7") && !rendered.html.contains("203.0.113.7"));
    }

    #[test]
    fn every_translation_has_exactly_the_english_keys() {
        let keys = |strings: &Strings| {
            let value = toml::Value::try_from(strings).unwrap();
            let table = value.as_table().unwrap();
            let mut keys: Vec<String> = table.keys().cloned().collect();
            for (name, nested) in table {
                if let Some(nested) = nested.as_table() {
                    keys.extend(nested.keys().map(|k| format!("{name}.{k}")));
                }
            }
            keys
        };
        let english = keys(strings("en"));
        assert!(english.contains(&"statuses.awaiting_response".to_owned()));
        assert_eq!(LANGUAGES.len(), 4);
        for (language, (_, strings)) in LANGUAGES.iter() {
            assert_eq!(keys(strings), english, "{language}");
        }
    }

    fn sign_in_link_for(
        language: Language,
        role: Option<crate::domain::PocRole>,
        state: Option<&str>,
    ) -> IssuedSignInLink {
        IssuedSignInLink {
            secret: "s3cret<&>".into(),
            account: crate::store::accounts::Account::Staff(uuid::Uuid::nil()),
            label: String::new(),
            role,
            member_state: state.map(|s| crate::domain::MemberStateCode::parse(s).unwrap()),
            language,
            expires_at: Utc::now(),
        }
    }

    #[test]
    fn every_language_names_every_poc_role_in_the_sign_in_email() {
        for (language, (_, strings)) in LANGUAGES.iter() {
            for role in ["policy", "mfa", "technical"] {
                assert!(
                    strings.sign_in.roles.contains_key(role),
                    "{language}: no word for {role}"
                );
            }
        }
    }

    #[test]
    fn the_sign_in_email_labels_each_link_in_the_readers_language_and_escapes_html() {
        use crate::domain::PocRole;
        let links = [
            sign_in_link_for(Language::Fr, Some(PocRole::Policy), Some("BRA")),
            sign_in_link_for(Language::Fr, None, None),
        ];
        let mail = render_sign_in(&links, "https://cbm2.example.org/").unwrap();
        assert_eq!(mail.language, "fr");
        assert_eq!(mail.subject, "cbm2 : votre lien de connexion");
        for part in [&mail.text, &mail.html] {
            assert!(
                part.contains("Point de contact de niveau politique du Brésil"),
                "{part}"
            );
            assert!(part.contains("Secrétariat du CICTE (OEA)"), "{part}");
            assert!(part.contains("15 minutes"), "{part}");
        }
        assert!(
            mail.text
                .contains("https://cbm2.example.org/sign-in/s3cret<&>")
        );
        assert!(
            mail.html
                .contains(&escape_html("https://cbm2.example.org/sign-in/s3cret<&>"))
        );
        assert!(!mail.html.contains("s3cret<&>"));
    }

    #[test]
    fn the_first_oas_language_a_reader_lists_is_chosen_else_english() {
        let choose = |wanted: &[&str]| {
            choose_language(&wanted.iter().map(|l| l.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(choose(&["pt", "en"]), "pt");
        assert_eq!(choose(&["nl", "fr"]), "fr");
        assert_eq!(choose(&["es", "en"]), "es");
        assert_eq!(choose(&["de"]), "en");
        assert_eq!(choose(&[]), "en");
    }
}
