//! The formal invocation statement (R3, N1), rendered from the templates in
//! `protocol/templates/`, one per OAS official language.

use std::sync::LazyLock;

use minijinja::{Environment, context};

use crate::domain::Language;

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
    pub requesting_state_name: &'a str,
    pub responding_poc_names: &'a [String],
    pub responding_state_name: &'a str,
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
    template
        .render(context! {
            requester_name => parties.requester_name,
            requester_affiliation => parties.requester_affiliation,
            requesting_state_name => parties.requesting_state_name,
            responding_poc_name => parties.responding_poc_names.join(" / "),
            responding_state_name => parties.responding_state_name,
        })
        .expect("the invocation templates render with every variable they use")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parties() -> InvocationParties<'static> {
        static NAMES: LazyLock<Vec<String>> = LazyLock::new(|| vec!["Ana Souza".into()]);
        InvocationParties {
            requester_name: "Eva Rojas",
            requester_affiliation: "Ministerio de Relaciones Exteriores",
            requesting_state_name: "Chile",
            responding_poc_names: &NAMES,
            responding_state_name: "Brazil",
        }
    }

    #[test]
    fn every_language_names_paragraph_78_the_parties_and_the_non_accusation_note() {
        let non_accusation = [
            (Language::En, "does not constitute an accusation"),
            (Language::Es, "no constituye una acusación"),
            (Language::Fr, "ne constitue pas une accusation"),
            (Language::Pt, "não constitui uma acusação"),
        ];
        for (language, note) in non_accusation {
            let text = render(language, &parties());
            for needle in [
                "AG/RES. 2925 (XLVIII-O/18)",
                "78",
                "Eva Rojas",
                "Ministerio de Relaciones Exteriores",
                "Chile",
                "Ana Souza",
                "Brazil",
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
