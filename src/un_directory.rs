//! The layout in which the Secretariat hands the UN Global POC Directory the OAS POCs that
//! consent to it (`GET /v1/directory/export`), and the comparison of such a file with
//! cbm2's directory (`POST /v1/directory/compare`). Pure: records or bytes in, entries,
//! problems or differences out.
//!
//! One entry a POC: `member_state` (ISO 3166-1 alpha-3), `name`, `role` (`diplomatic` for a
//! policy or foreign-ministry POC, `technical` for a technical one: the UN directory's two
//! kinds), `affiliation`, `email`, `phone` (may be empty) and `languages` (ISO 639-1 codes,
//! most preferred first). The CSV has a header row naming these columns, in any order;
//! `languages` is separated by spaces, and a cell a spreadsheet would take for a formula is
//! written with a `'` in front, as in the directory's own CSV
//! ([`crate::directory_file`]). The JSON is `{"generated_at": …, "pocs": [entry, …]}`
//! (`generated_at` is optional on reading).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::directory_file::{JsonFileError, escape_formula, unescape_formula};
use crate::domain::PocRole;
use crate::store::directory::PocRecord;
use crate::store::directory_import::{RowPosition, RowProblem};

/// The columns of the CSV layout, in the order the export writes them.
pub const COLUMNS: [&str; 7] = [
    "member_state",
    "name",
    "role",
    "affiliation",
    "email",
    "phone",
    "languages",
];

/// The columns a CSV file must have (`phone` and `languages` may be left out).
const REQUIRED: [&str; 5] = ["member_state", "name", "role", "affiliation", "email"];

/// The UN Global POC Directory's two kinds of contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnRole {
    Diplomatic,
    Technical,
}

impl UnRole {
    /// A policy POC (CBM #2) and a foreign-ministry POC (CBM #3) are diplomatic contacts.
    pub fn of(role: PocRole) -> Self {
        match role {
            PocRole::Policy | PocRole::Mfa => UnRole::Diplomatic,
            PocRole::Technical => UnRole::Technical,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            UnRole::Diplomatic => "diplomatic",
            UnRole::Technical => "technical",
        }
    }
}

/// One POC as the UN directory holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnEntry {
    pub member_state: String,
    pub name: String,
    pub role: UnRole,
    pub affiliation: String,
    pub email: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub languages: Vec<String>,
}

impl UnEntry {
    pub fn of(record: &PocRecord) -> Self {
        Self {
            member_state: record.member_state.to_string(),
            name: record.name.clone(),
            role: UnRole::of(record.role),
            affiliation: record.affiliation.clone(),
            email: record.email.clone(),
            phone: record.phone.clone(),
            languages: record.languages.0.clone(),
        }
    }

    /// What identifies a contact across the two directories: its state, its kind and its
    /// e-mail address (case aside).
    fn key(&self) -> (String, UnRole, String) {
        (
            self.member_state.trim().to_ascii_uppercase(),
            self.role,
            self.email.trim().to_lowercase(),
        )
    }
}

/// The export as JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_at: Option<DateTime<Utc>>,
    pub pocs: Vec<UnEntry>,
}

/// Writes `entries` as CSV, with its header row.
pub fn write_csv<W: Write>(entries: &[UnEntry], out: W) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    for entry in entries {
        writer.write_record([
            entry.member_state.as_str(),
            &escape_formula(&entry.name),
            entry.role.as_str(),
            &escape_formula(&entry.affiliation),
            &escape_formula(&entry.email),
            &escape_formula(entry.phone.as_deref().unwrap_or_default()),
            &entry.languages.join(" "),
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// Reads a CSV file in this layout, or lists every problem in it (by line and column).
pub fn read_csv(bytes: &[u8]) -> Result<Vec<UnEntry>, Vec<RowProblem>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let mut records = reader.records();
    let header = match records.next() {
        Some(Ok(header)) => header,
        Some(Err(error)) => return Err(vec![RowProblem::new(None, None, error.to_string())]),
        None => {
            return Err(vec![RowProblem::new(
                None,
                None,
                "the file is empty: a header row is required",
            )]);
        }
    };
    let mut problems = Vec::new();
    let mut columns = BTreeMap::new();
    for (index, name) in header.iter().enumerate() {
        if !COLUMNS.contains(&name) {
            problems.push(RowProblem::new(
                Some(RowPosition::Line(1)),
                Some(name),
                format!("unknown column; the columns are {}", COLUMNS.join(", ")),
            ));
        } else if columns.insert(name.to_owned(), index).is_some() {
            problems.push(RowProblem::new(
                Some(RowPosition::Line(1)),
                Some(name),
                "the column appears twice",
            ));
        }
    }
    for required in REQUIRED {
        if !columns.contains_key(required) {
            problems.push(RowProblem::new(
                Some(RowPosition::Line(1)),
                Some(required),
                "this column is required",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut entries = Vec::new();
    let mut lines = Vec::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                let line = error.position().map(|p| RowPosition::Line(p.line()));
                problems.push(RowProblem::new(line, None, error.to_string()));
                continue;
            }
        };
        let line = RowPosition::Line(record.position().map_or(0, |p| p.line()));
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cell = |name: &str| {
            columns
                .get(name)
                .and_then(|&index| record.get(index))
                .map(unescape_formula)
                .unwrap_or_default()
        };
        let role = match cell("role") {
            "diplomatic" => Some(UnRole::Diplomatic),
            "technical" => Some(UnRole::Technical),
            other => {
                problems.push(RowProblem::new(
                    Some(line),
                    Some("role"),
                    format!("{other:?} is neither diplomatic nor technical"),
                ));
                None
            }
        };
        let phone = cell("phone");
        let entry = UnEntry {
            member_state: cell("member_state").to_owned(),
            name: cell("name").to_owned(),
            role: role.unwrap_or(UnRole::Diplomatic),
            affiliation: cell("affiliation").to_owned(),
            email: cell("email").to_owned(),
            phone: (!phone.is_empty()).then(|| phone.to_owned()),
            languages: cell("languages")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
        };
        let found = check(&entry, line);
        if role.is_some() && found.is_empty() {
            entries.push(entry);
            lines.push(line);
        }
        problems.extend(found);
    }
    duplicates(&entries, |index| lines[index], &mut problems);
    if problems.is_empty() {
        Ok(entries)
    } else {
        Err(problems)
    }
}

/// Reads a JSON file in this layout.
pub fn read_json(bytes: &[u8]) -> Result<Vec<UnEntry>, JsonFileError> {
    let file: UnFile = serde_json::from_slice(bytes).map_err(|error| {
        if error.is_data() {
            JsonFileError::Invalid(vec![RowProblem::new(None, None, error.to_string())])
        } else {
            JsonFileError::Malformed(format!("the body is not JSON: {error}"))
        }
    })?;
    let mut problems = Vec::new();
    for (index, entry) in file.pocs.iter().enumerate() {
        problems.extend(check(entry, RowPosition::Index(index)));
    }
    duplicates(&file.pocs, RowPosition::Index, &mut problems);
    if problems.is_empty() {
        Ok(file.pocs)
    } else {
        Err(JsonFileError::Invalid(problems))
    }
}

/// What an entry must have to be compared: a state code, a name and an e-mail address.
fn check(entry: &UnEntry, position: RowPosition) -> Vec<RowProblem> {
    let mut problems = Vec::new();
    let code = entry.member_state.trim();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        problems.push(RowProblem::new(
            Some(position),
            Some("member_state"),
            format!("{code:?} is not a three-letter country code (ISO 3166-1 alpha-3)"),
        ));
    }
    if entry.name.trim().is_empty() {
        problems.push(RowProblem::new(
            Some(position),
            Some("name"),
            "the name is empty",
        ));
    }
    let email = entry.email.trim();
    if !email.contains('@') || email.chars().any(char::is_whitespace) {
        problems.push(RowProblem::new(
            Some(position),
            Some("email"),
            format!("{email:?} is not an e-mail address"),
        ));
    }
    problems
}

/// Refuses a file that names one contact twice: which of the two to compare is unclear.
fn duplicates(
    entries: &[UnEntry],
    position: impl Fn(usize) -> RowPosition,
    problems: &mut Vec<RowProblem>,
) {
    let mut seen = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        if let Some(first) = seen.insert(entry.key(), index) {
            problems.push(RowProblem::new(
                Some(position(index)),
                Some("email"),
                format!(
                    "the same contact ({} {} {}) as {}",
                    entry.member_state,
                    entry.role.as_str(),
                    entry.email,
                    position(first)
                ),
            ));
        }
    }
}

/// A contact both directories hold, with different details.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Changed {
    pub member_state: String,
    pub role: UnRole,
    pub email: String,
    /// Each differing field: what cbm2 holds, and what the file holds.
    pub fields: BTreeMap<&'static str, FieldDifference>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDifference {
    pub cbm2: serde_json::Value,
    pub file: serde_json::Value,
}

/// How a file differs from cbm2's export.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Comparison {
    /// In cbm2's export, not in the file.
    pub missing: Vec<UnEntry>,
    /// In both, with different details.
    pub changed: Vec<Changed>,
    /// In the file, not in cbm2's export (not consenting, deactivated, or unknown).
    pub extra: Vec<UnEntry>,
}

/// Compares `ours` (cbm2's export) with `theirs` (a file), contact by contact: a contact is
/// its state, its kind and its e-mail address; its name, affiliation, phone and languages
/// (as a set) are compared, spaces at either end and the case of language codes aside.
pub fn compare(ours: &[UnEntry], theirs: &[UnEntry]) -> Comparison {
    let theirs_by_key: BTreeMap<_, _> = theirs.iter().map(|e| (e.key(), e)).collect();
    let ours_keys: BTreeSet<_> = ours.iter().map(UnEntry::key).collect();
    let mut comparison = Comparison::default();
    for entry in ours {
        let Some(other) = theirs_by_key.get(&entry.key()) else {
            comparison.missing.push(entry.clone());
            continue;
        };
        let mut fields = BTreeMap::new();
        let mut differ = |field, a: &str, b: &str| {
            if a.trim() != b.trim() {
                fields.insert(
                    field,
                    FieldDifference {
                        cbm2: a.into(),
                        file: b.into(),
                    },
                );
            }
        };
        differ("name", &entry.name, &other.name);
        differ("affiliation", &entry.affiliation, &other.affiliation);
        differ(
            "phone",
            entry.phone.as_deref().unwrap_or_default(),
            other.phone.as_deref().unwrap_or_default(),
        );
        let set = |languages: &[String]| -> BTreeSet<String> {
            languages.iter().map(|l| l.trim().to_lowercase()).collect()
        };
        if set(&entry.languages) != set(&other.languages) {
            fields.insert(
                "languages",
                FieldDifference {
                    cbm2: entry.languages.clone().into(),
                    file: other.languages.clone().into(),
                },
            );
        }
        if !fields.is_empty() {
            comparison.changed.push(Changed {
                member_state: entry.member_state.clone(),
                role: entry.role,
                email: entry.email.clone(),
                fields,
            });
        }
    }
    comparison.extra = theirs
        .iter()
        .filter(|e| !ours_keys.contains(&e.key()))
        .cloned()
        .collect();
    comparison
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(state: &str, role: UnRole, email: &str, phone: Option<&str>) -> UnEntry {
        UnEntry {
            member_state: state.into(),
            name: "Eva Rojas".into(),
            role,
            affiliation: "Cancillería".into(),
            email: email.into(),
            phone: phone.map(Into::into),
            languages: vec!["es".into(), "en".into()],
        }
    }

    #[test]
    fn what_the_export_writes_reads_back_as_it_was() {
        let entries = vec![
            entry(
                "CHL",
                UnRole::Diplomatic,
                "eva@minrel.example.org",
                Some("+56 2 2827 4200"),
            ),
            entry("CHL", UnRole::Technical, "=cmd@csirt.example.org", None),
        ];
        let mut file = Vec::new();
        write_csv(&entries, &mut file).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        assert!(text.starts_with("member_state,name,role,affiliation,email,phone,languages\n"));
        assert!(text.contains(",'+56 2 2827 4200,"), "{text}");
        assert_eq!(read_csv(&file).unwrap(), entries);
        assert_eq!(
            compare(&entries, &read_csv(&file).unwrap()),
            Comparison::default()
        );
    }

    #[test]
    fn a_file_is_compared_contact_by_contact() {
        let ours = vec![
            entry("ARG", UnRole::Diplomatic, "ana@mrecic.example.org", None),
            entry(
                "CHL",
                UnRole::Diplomatic,
                "eva@minrel.example.org",
                Some("+56 1"),
            ),
        ];
        let mut moved = entry(
            "CHL",
            UnRole::Diplomatic,
            "EVA@minrel.example.org",
            Some("+56 2"),
        );
        moved.languages = vec!["EN".into(), "es".into()];
        let stranger = entry("MEX", UnRole::Technical, "cert@example.org", None);
        let theirs = vec![moved, stranger.clone()];

        let comparison = compare(&ours, &theirs);

        assert_eq!(comparison.missing, [ours[0].clone()]);
        assert_eq!(comparison.extra, [stranger]);
        let [changed] = comparison.changed.as_slice() else {
            panic!("{comparison:?}")
        };
        assert_eq!(
            changed.fields.keys().copied().collect::<Vec<_>>(),
            ["phone"]
        );
        assert_eq!(changed.fields["phone"].file, "+56 2");
    }

    #[test]
    fn bad_files_are_refused_naming_the_line_and_column() {
        let problems = |csv: &str| -> Vec<String> {
            read_csv(csv.as_bytes())
                .unwrap_err()
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(problems("").len(), 1);
        assert!(problems("member_state,name,role,affiliation\n")[0].contains("email"));
        let found = problems(
            "member_state,name,role,affiliation,email\n\
             CHL,Eva,policy,Cancillería,eva@example.org\n\
             CHILE,Eva,technical,Cancillería,not-an-address\n\
             ARG,Ana,technical,Mrecic,ana@example.org\n\
             ARG,Ana,technical,Mrecic,ANA@example.org\n",
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(
            found[0].contains("line 2") && found[0].contains("role"),
            "{found:?}"
        );
        assert!(found[1].contains("line 3") && found[1].contains("member_state"));
        assert!(found[2].contains("line 3") && found[2].contains("email"));
        assert!(found[3].contains("the same contact"));
        assert!(matches!(
            read_json(br#"{"pocs": [{"member_state": "CHL"}]}"#),
            Err(JsonFileError::Invalid(_))
        ));
        assert!(matches!(read_json(b"{"), Err(JsonFileError::Malformed(_))));
    }
}
