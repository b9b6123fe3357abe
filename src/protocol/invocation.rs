//! The formal invocation statement (R3, N1), rendered from the templates in
//! `protocol/templates/`, one per OAS official language. States are named in the forms of
//! `protocol/state_names.toml` (with their article where the language needs one).

use std::sync::LazyLock;

use minijinja::value::{Serde, Value};
use minijinja::{Environment, context};

use crate::domain::{Language, MemberStateCode, StateNameForms};

/// The templates, embedded in the binary. Their paths are also listed in
/// `protocol/protocol.toml` (a test checks both agree).
const TEMPLATES: [(Language, &str, &str); 4] = [
    (
        Language::En,
        "templates/invocation.en.txt",
        include_str!("../../protocol/templates/invocation.en.txt"),
    ),
    (
        Language::Es,
        "templates/invocation.es.txt",
        include_str!("../../protocol/templates/invocation.es.txt"),
    ),
    (
        Language::Fr,
        "templates/invocation.fr.txt",
        include_str!("../../protocol/templates/invocation.fr.txt"),
    ),
    (
        Language::Pt,
        "templates/invocation.pt.txt",
        include_str!("../../protocol/templates/invocation.pt.txt"),
    ),
];

static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    // Plain text: nothing is HTML-escaped, and a variable the template names but the
    // context lacks is an error rather than an empty string.
    environment.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (_, path, source) in TEMPLATES {
        environment
            .add_template(path, source)
            .unwrap_or_else(|e| panic!("protocol/{path} is not a valid template: {e}"));
    }
    environment
});

/// The template paths by language, as embedded.
pub fn template_paths() -> impl Iterator<Item = (Language, &'static str)> {
    TEMPLATES
        .into_iter()
        .map(|(language, path, _)| (language, path))
}

/// Who writes to whom: the facts the statement names.
#[derive(Debug, Clone)]
pub struct InvocationParties<'a> {
    pub requester_name: &'a str,
    pub requester_affiliation: &'a str,
    pub requesting_state: &'a MemberStateCode,
    /// The name the inquiry recorded, for a state `protocol/state_names.toml` lacks.
    pub requesting_state_name: &'a str,
    pub responding_state: &'a MemberStateCode,
    /// As `requesting_state_name`.
    pub responding_state_name: &'a str,
    /// One POC is addressed by name; several, as the state's points of contact.
    pub responding_poc_names: &'a [String],
    /// An exercise's statement opens with a banner saying so.
    pub exercise: bool,
}

/// Renders the invocation statement in `language`.
pub fn render(language: Language, parties: &InvocationParties<'_>) -> String {
    let path = TEMPLATES
        .iter()
        .find(|(l, _, _)| *l == language)
        .map(|(_, path, _)| *path)
        .expect("a template for every language");
    let template = ENVIRONMENT
        .get_template(path)
        .expect("templates are loaded");
    let forms = |code: &MemberStateCode, recorded: &str| {
        Value::from(Serde(
            StateNameForms::of_state(code.as_str(), language)
                .unwrap_or_else(|| StateNameForms::bare(recorded, language)),
        ))
    };
    template
        .render(context! {
            exercise => parties.exercise,
            requester_name => parties.requester_name,
            requester_affiliation => parties.requester_affiliation,
            requesting_state => forms(parties.requesting_state, parties.requesting_state_name),
            responding_state => forms(parties.responding_state, parties.responding_state_name),
            responding_poc_names => Value::from(Serde(parties.responding_poc_names)),
        })
        .expect("the invocation templates render with every variable they use")
}

#[cfg(test)]
mod tests {
    use super::*;

    static CHL: LazyLock<MemberStateCode> =
        LazyLock::new(|| MemberStateCode::parse("CHL").unwrap());
    static BRA: LazyLock<MemberStateCode> =
        LazyLock::new(|| MemberStateCode::parse("BRA").unwrap());
    static USA: LazyLock<MemberStateCode> =
        LazyLock::new(|| MemberStateCode::parse("USA").unwrap());
    static DOM: LazyLock<MemberStateCode> =
        LazyLock::new(|| MemberStateCode::parse("DOM").unwrap());
    static ONE: LazyLock<Vec<String>> = LazyLock::new(|| vec!["Ana Souza".into()]);
    static TWO: LazyLock<Vec<String>> =
        LazyLock::new(|| vec!["Ana Souza".into(), "Rui Lima".into()]);

    fn parties() -> InvocationParties<'static> {
        InvocationParties {
            requester_name: "Eva Rojas",
            requester_affiliation: "Ministerio de Relaciones Exteriores",
            requesting_state: &CHL,
            requesting_state_name: "Chile",
            responding_state: &BRA,
            responding_state_name: "Brazil",
            responding_poc_names: &ONE,
            exercise: false,
        }
    }

    const NON_ACCUSATION: [(Language, &str); 4] = [
        (Language::En, "does not constitute an accusation"),
        (Language::Es, "no constituye una acusación"),
        (Language::Fr, "ne constitue pas une accusation"),
        (Language::Pt, "não constitui uma acusação"),
    ];

    #[test]
    fn every_language_names_paragraph_78_the_parties_and_the_non_accusation_note() {
        for (language, note) in NON_ACCUSATION {
            for poc_names in [&*ONE, &*TWO] {
                let text = render(
                    language,
                    &InvocationParties {
                        responding_poc_names: poc_names,
                        ..parties()
                    },
                );
                let brazil = StateNameForms::of_state("BRA", language).unwrap().name;
                for needle in [
                    "AG/RES. 2925 (XLVIII-O/18)",
                    "78",
                    "Eva Rojas",
                    "Ministerio de Relaciones Exteriores",
                    "Chil",
                    &brazil,
                    note,
                ] {
                    assert!(
                        text.contains(needle),
                        "{language:?} lacks {needle:?}:\n{text}"
                    );
                }
            }
        }
    }

    /// A language's expected wording: the opening to one POC, the opening to several, what
    /// the statement must say and what it must not.
    type Wording = (
        Language,
        &'static str,
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    );

    const WORDING: [Wording; 4] = [
        (
            Language::En,
            "Dear Ana Souza,",
            "Dear points of contact of Brazil,",
            &["as a point of contact of Chile, a participating Member State"],
            &[" / "],
        ),
        (
            Language::Es,
            "Estimado/a Ana Souza:",
            "Estimados puntos de contacto de Brasil:",
            &[
                "en calidad de punto de contacto de Chile",
                "en el incidente relacionado con las TIC",
                "los incidentes relacionados con las tecnologías de la información",
            ],
            &[" / ", "incidente de TIC", "incidentes de tecnologías"],
        ),
        (
            Language::Fr,
            "À l'attention de Ana Souza,",
            "À l'attention des points de contact du Brésil,",
            &[
                "Je suis Eva Rojas (Ministerio de Relaciones Exteriores), point de contact du Chili",
                "aucune présomption selon laquelle l'État membre participant contacté serait sciemment impliqué",
            ],
            &[" / ", "Je m'appelle", "présomption que", "soit sciemment"],
        ),
        (
            Language::Pt,
            "Prezado(a) Ana Souza,",
            "Prezados pontos de contato do Brasil,",
            &[
                "comunico que invoco",
                "ponto de contato do Chile",
                "Agradeço antecipadamente sua cooperação.",
            ],
            // Brazilian register: no gerund of "estar" + invoking, no European forms.
            &[
                " / ",
                "estou invocando",
                "contacto",
                "o seu ",
                "a sua ",
                "originar-se",
            ],
        ),
    ];

    #[test]
    fn one_poc_is_addressed_by_name_several_as_the_states_points_of_contact() {
        for (language, to_one, to_several, present, absent) in WORDING {
            let one = render(language, &parties());
            let several = render(
                language,
                &InvocationParties {
                    responding_poc_names: &TWO,
                    ..parties()
                },
            );
            assert!(one.starts_with(to_one), "{language:?}:\n{one}");
            assert!(several.starts_with(to_several), "{language:?}:\n{several}");
            assert!(!several.contains("Ana Souza"), "{language:?}:\n{several}");
            for text in [&one, &several] {
                for needle in present {
                    assert!(
                        text.contains(needle),
                        "{language:?} lacks {needle:?}:\n{text}"
                    );
                }
                for needle in absent {
                    assert!(
                        !text.contains(needle),
                        "{language:?} has {needle:?}:\n{text}"
                    );
                }
            }
        }
    }

    #[test]
    fn states_are_named_with_their_article_where_the_language_needs_one() {
        let to_usa = InvocationParties {
            requesting_state: &DOM,
            responding_state: &USA,
            responding_poc_names: &TWO,
            ..parties()
        };
        for (language, needles) in [
            (
                Language::En,
                &[
                    "Dear points of contact of the United States,",
                    "a point of contact of the Dominican Republic,",
                    "Member State, the United States, under",
                ][..],
            ),
            (
                Language::Es,
                &[
                    "Estimados puntos de contacto de los Estados Unidos:",
                    "punto de contacto de la República Dominicana,",
                ],
            ),
            (
                Language::Fr,
                &[
                    "À l'attention des points de contact des États-Unis,",
                    "point de contact de la République dominicaine,",
                ],
            ),
            (
                Language::Pt,
                &[
                    "Prezados pontos de contato dos Estados Unidos,",
                    "ponto de contato da República Dominicana,",
                ],
            ),
        ] {
            let text = render(language, &to_usa);
            for needle in needles {
                assert!(
                    text.contains(needle),
                    "{language:?} lacks {needle:?}:\n{text}"
                );
            }
        }
    }

    #[test]
    fn an_exercise_opens_with_a_banner_in_the_statements_language() {
        for (language, banner) in [
            (Language::En, "EXERCISE — "),
            (Language::Es, "EJERCICIO — "),
            (Language::Fr, "EXERCICE — "),
            (Language::Pt, "EXERCÍCIO — "),
        ] {
            let real = render(language, &parties());
            let drill = render(
                language,
                &InvocationParties {
                    exercise: true,
                    ..parties()
                },
            );
            assert!(drill.starts_with(banner), "{language:?}:\n{drill}");
            assert!(
                !real.contains(banner.trim_end_matches(" — ")),
                "{language:?}:\n{real}"
            );
            // The statement itself follows, whole.
            assert!(drill.ends_with(&real), "{language:?}:\n{drill}");
        }
    }

    #[test]
    fn a_state_the_name_file_lacks_reads_as_the_name_the_inquiry_recorded() {
        let unknown = MemberStateCode::parse("XYZ").unwrap();
        let text = render(
            Language::Fr,
            &InvocationParties {
                responding_state: &unknown,
                responding_state_name: "Xanadu",
                responding_poc_names: &TWO,
                ..parties()
            },
        );
        assert!(text.contains("points de contact de Xanadu,"), "{text}");
    }
}
