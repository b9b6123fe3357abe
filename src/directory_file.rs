//! The directory as a file: the CSV and JSON layouts that `POST /v1/pocs/import` and
//! `cbm2 poc import` read, and the CSV that `cbm2 poc export` writes (which `import` reads
//! back unchanged). Pure: bytes in, validated rows or every problem (by line and field) out.
//!
//! The CSV has a header row naming its columns, in any order: `member_state`, `role`,
//! `name`, `affiliation`, `email` (required), `phone`, `languages` (optional: an empty
//! cell is none). `languages` lists ISO 639-1 codes separated by spaces (`es en`). Cells
//! are trimmed. A text cell that a spreadsheet would read as a formula (one starting with
//! `=`, `+`, `-` or `@`) is written with a `'` in front, and a `'` in front of such a
//! character (or of another `'`) is dropped on reading, so an exported file opens safely in
//! a spreadsheet and still reads back as it was.
//!
//! The JSON is `{"pocs": [...]}`, each entry with the fields of `POST /v1/pocs`.

use std::io::Write;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::domain::poc::Languages;
use crate::domain::{Affiliation, EmailAddress, MemberStateCode, PersonName, PhoneNumber, PocRole};
use crate::store::directory::{NewPoc, PocRecord};
use crate::store::directory_import::{ImportRow, RowPosition, RowProblem, duplicate_rows};

/// The largest file an import reads: 1 MiB, several thousand POCs (the API's other bodies
/// stay limited to 64 KiB).
pub const IMPORT_LIMIT_BYTES: usize = 1024 * 1024;

/// The columns of the CSV layout, in the order `export` writes them.
pub const COLUMNS: [&str; 7] = [
    "member_state",
    "role",
    "name",
    "affiliation",
    "email",
    "phone",
    "languages",
];

/// The columns a CSV file must have.
const REQUIRED: [&str; 5] = ["member_state", "role", "name", "affiliation", "email"];

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 4] = ['=', '+', '-', '@'];

/// Why a JSON body could not be read.
#[derive(Debug)]
pub enum JsonFileError {
    /// Not JSON at all (a syntax error, a truncated body).
    Malformed(String),
    /// JSON whose content is wrong: every problem found.
    Invalid(Vec<RowProblem>),
}

/// Reads a CSV file into rows, or lists every problem in it.
pub fn read_csv(bytes: &[u8]) -> Result<Vec<ImportRow>, Vec<RowProblem>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.byte_records();
    let header_line = Some(RowPosition::Line(1));
    let header = match records.next() {
        None => {
            return Err(vec![RowProblem::new(
                header_line,
                None,
                format!(
                    "the file is empty: its first line names the columns ({})",
                    COLUMNS.join(",")
                ),
            )]);
        }
        Some(Err(error)) => return Err(vec![csv_problem(&error)]),
        Some(Ok(header)) => header,
    };
    let mut columns: Vec<&'static str> = Vec::with_capacity(header.len());
    let mut problems = Vec::new();
    for cell in &header {
        let name = String::from_utf8_lossy(cell);
        let name = name.trim();
        match COLUMNS.iter().find(|c| **c == name) {
            Some(column) if columns.contains(column) => problems.push(RowProblem::new(
                header_line,
                Some(column),
                "is named twice in the header",
            )),
            Some(column) => columns.push(column),
            None => problems.push(RowProblem::new(
                header_line,
                Some(name),
                format!(
                    "is not a known column: the columns are {}",
                    COLUMNS.join(",")
                ),
            )),
        }
    }
    for required in REQUIRED {
        if !columns.contains(&required) {
            problems.push(RowProblem::new(
                header_line,
                Some(required),
                "is a required column, missing from the header",
            ));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut rows = Vec::new();
    for record in records {
        let record = match record {
            Ok(record) => record,
            Err(error) => {
                problems.push(csv_problem(&error));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let position = RowPosition::Line(line);
        if record.len() != columns.len() {
            problems.push(RowProblem::new(
                Some(position),
                None,
                format!(
                    "has {} cells where the header names {} columns",
                    record.len(),
                    columns.len()
                ),
            ));
            continue;
        }
        let mut cells: Map<String, Value> = Map::new();
        for (column, cell) in columns.iter().zip(&record) {
            let Ok(text) = std::str::from_utf8(cell) else {
                problems.push(RowProblem::new(
                    Some(position),
                    Some(column),
                    "is not UTF-8 text: save the file as UTF-8",
                ));
                continue;
            };
            let text = unescape_formula(text.trim());
            if text.is_empty() {
                continue;
            }
            let value = if *column == "languages" {
                Value::Array(
                    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
                        .filter(|code| !code.is_empty())
                        .map(|code| Value::String(code.to_owned()))
                        .collect(),
                )
            } else {
                Value::String(text.to_owned())
            };
            cells.insert((*column).to_owned(), value);
        }
        if let Some(poc) = read_row(position, cells, &mut problems) {
            rows.push(ImportRow { position, poc });
        }
    }
    finish(rows, problems)
}

/// A problem the CSV reader itself reports (in practice, none with a byte slice).
fn csv_problem(error: &csv::Error) -> RowProblem {
    let position = error.position().map(|p| RowPosition::Line(p.line()));
    RowProblem::new(position, None, format!("is not CSV: {error}"))
}

/// Reads a JSON body `{"pocs": [...]}` into rows, or lists every problem in it.
pub fn read_json(bytes: &[u8]) -> Result<Vec<ImportRow>, JsonFileError> {
    let body: Value = serde_json::from_slice(bytes)
        .map_err(|e| JsonFileError::Malformed(format!("the body is not valid JSON: {e}")))?;
    let whole = |field: &str, detail: &str| {
        JsonFileError::Invalid(vec![RowProblem::new(None, Some(field), detail)])
    };
    let Value::Object(mut body) = body else {
        return Err(whole(
            "pocs",
            "the body must be an object {\"pocs\": [...]}",
        ));
    };
    if let Some(unknown) = body.keys().find(|k| *k != "pocs") {
        return Err(whole(
            unknown,
            "is not a known field: the body is {\"pocs\": [...]}",
        ));
    }
    let entries = match body.remove("pocs") {
        None => return Err(whole("pocs", "is required")),
        Some(Value::Array(entries)) => entries,
        Some(_) => {
            return Err(whole(
                "pocs",
                "must be an array of objects with the fields of POST /v1/pocs",
            ));
        }
    };
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let position = RowPosition::Index(index);
        let Value::Object(fields) = entry else {
            problems.push(RowProblem::new(
                Some(position),
                None,
                "must be an object with the fields of POST /v1/pocs",
            ));
            continue;
        };
        if let Some(poc) = read_row(position, fields, &mut problems) {
            rows.push(ImportRow { position, poc });
        }
    }
    finish(rows, problems).map_err(JsonFileError::Invalid)
}

/// The rows, or every problem: those of the fields and the rows that repeat a key.
fn finish(
    rows: Vec<ImportRow>,
    mut problems: Vec<RowProblem>,
) -> Result<Vec<ImportRow>, Vec<RowProblem>> {
    problems.extend(duplicate_rows(&rows));
    if problems.is_empty() {
        Ok(rows)
    } else {
        problems.sort_by_key(|p| p.position);
        Err(problems)
    }
}

/// One row's fields, each read through its domain type; `None` (with the problems noted)
/// if any is wrong. Absent optional fields are none, and so is a `null` phone (as in
/// `POST /v1/pocs`, whose body a JSON entry is); unknown fields are wrong.
fn read_row(
    position: RowPosition,
    fields: Map<String, Value>,
    problems: &mut Vec<RowProblem>,
) -> Option<NewPoc> {
    let before = problems.len();
    let mut row = RowReader {
        position,
        fields,
        problems,
    };
    let member_state = row.required::<MemberStateCode>("member_state");
    let name = row.required::<PersonName>("name");
    let affiliation = row.required::<Affiliation>("affiliation");
    let role = row.required::<PocRole>("role");
    let email = row.required::<EmailAddress>("email");
    let phone = row.optional::<PhoneNumber>("phone");
    if row.fields.get("languages") == Some(&Value::Null) {
        row.fields.remove("languages");
        row.note(
            "languages",
            "must be a list of language codes (absent or [] for none), not null",
        );
    }
    let languages = row.optional::<Languages>("languages").unwrap_or_default();
    let unknown: Vec<String> = row.fields.keys().cloned().collect();
    for field in unknown {
        row.note(&field, "is not a known field");
    }
    if problems.len() > before {
        return None;
    }
    Some(NewPoc {
        member_state: member_state?,
        name: name?,
        affiliation: affiliation?,
        role: role?,
        email: email?,
        phone,
        languages,
    })
}

/// Takes the fields of one row, noting what is wrong with each.
struct RowReader<'p> {
    position: RowPosition,
    fields: Map<String, Value>,
    problems: &'p mut Vec<RowProblem>,
}

impl RowReader<'_> {
    fn note(&mut self, field: &str, detail: impl Into<String>) {
        self.problems
            .push(RowProblem::new(Some(self.position), Some(field), detail));
    }

    /// A field that must be present and valid.
    fn required<T: DeserializeOwned>(&mut self, field: &str) -> Option<T> {
        match self.fields.remove(field) {
            None => {
                self.note(field, "is required");
                None
            }
            Some(Value::Null) => {
                self.note(field, "must not be null");
                None
            }
            Some(value) => self.parse(field, value),
        }
    }

    /// A field that may be absent or `null` (then `None`), and must be valid otherwise.
    fn optional<T: DeserializeOwned>(&mut self, field: &str) -> Option<T> {
        match self.fields.remove(field) {
            None | Some(Value::Null) => None,
            Some(value) => self.parse(field, value),
        }
    }

    /// The value as its domain type, whose error message says what is expected.
    fn parse<T: DeserializeOwned>(&mut self, field: &str, value: Value) -> Option<T> {
        serde_json::from_value(value)
            .map_err(|error| self.note(field, error.to_string()))
            .ok()
    }
}

/// Writes `records` as the CSV layout `read_csv` reads, with its header row.
pub fn write_csv<'a, W: Write>(
    records: impl IntoIterator<Item = &'a PocRecord>,
    out: W,
) -> Result<(), csv::Error> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(COLUMNS)?;
    for record in records {
        let languages = record.languages.0.join(" ");
        writer.write_record([
            record.member_state.as_str(),
            record.role.as_str(),
            &escape_formula(&record.name),
            &escape_formula(&record.affiliation),
            &escape_formula(&record.email),
            &escape_formula(record.phone.as_deref().unwrap_or_default()),
            &languages,
        ])?;
    }
    writer.flush()?;
    Ok(())
}

/// A cell a spreadsheet will not take for a formula (see the module's documentation).
pub(crate) fn escape_formula(text: &str) -> String {
    if text.starts_with(FORMULA_STARTS) || text.starts_with('\'') {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

/// The cell `escape_formula` was given.
pub(crate) fn unescape_formula(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if rest.starts_with(FORMULA_STARTS) || rest.starts_with('\'') => rest,
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use sqlx::types::Json;
    use uuid::Uuid;

    use super::*;

    fn problems_of(csv: &str) -> Vec<String> {
        read_csv(csv.as_bytes())
            .expect_err("refused")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn reads_rows_in_any_column_order_with_optional_columns_left_out() {
        let csv = "email,role,member_state,name,affiliation\n\
                   eva@minrel.example.org,policy,CHL,Eva Rojas,Cancillería\n";

        let rows = read_csv(csv.as_bytes()).expect("read");

        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].position, RowPosition::Line(2));
        assert_eq!(rows[0].poc.email.as_str(), "eva@minrel.example.org");
        assert!(rows[0].poc.phone.is_none());
        assert!(rows[0].poc.languages.as_slice().is_empty());
    }

    #[test]
    fn names_the_line_and_field_of_every_bad_cell() {
        let csv = "member_state,role,name,affiliation,email,phone,languages\n\
                   CHL,policy,Eva Rojas,Cancillería,eva@minrel.example.org,,es en\n\
                   chl,boss,Eva Rojas,Cancillería,not-an-address,12,es\n\
                   BRA,policy,,Itamaraty,ana@itamaraty.example.org,,es es\n";

        let problems = problems_of(csv);

        let wanted = [
            "line 3: member_state:",
            "line 3: role:",
            "line 3: email:",
            "line 3: phone:",
            "line 4: name: is required",
            "line 4: languages:",
        ];
        assert_eq!(problems.len(), wanted.len(), "{problems:#?}");
        for (problem, want) in problems.iter().zip(wanted) {
            assert!(problem.starts_with(want), "{problem} is not {want}…");
        }
    }

    #[test]
    fn a_header_with_unknown_or_missing_columns_is_refused_at_line_1() {
        let problems = problems_of("member_state,role,name,email,fax\n");
        assert_eq!(
            problems,
            [
                "line 1: fax: is not a known column: the columns are member_state,role,name,affiliation,email,phone,languages",
                "line 1: affiliation: is a required column, missing from the header",
            ]
        );
        assert_eq!(problems_of("").len(), 1);
    }

    #[test]
    fn null_languages_are_refused_as_post_v1_pocs_refuses_them() {
        let body = br#"{"pocs": [{"member_state": "ARG", "role": "mfa", "name": "Ana",
            "affiliation": "MRECIC", "email": "ana@mrecic.example.org", "phone": null,
            "languages": null}]}"#;
        let Err(JsonFileError::Invalid(problems)) = read_json(body) else {
            panic!("null languages were accepted")
        };
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .to_string()
                .contains("languages: must be a list"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_row_that_repeats_a_key_names_the_first() {
        let csv = "member_state,role,name,affiliation,email\n\
                   CHL,policy,Eva Rojas,Cancillería,eva@minrel.example.org\n\
                   CHL,policy,Eva Rojas,Cancillería,EVA@minrel.example.org\n";
        assert_eq!(
            problems_of(csv),
            [
                "line 3: email: line 2 already has this member_state, role and e-mail address: one row per POC"
            ]
        );
    }

    #[test]
    fn json_rows_are_named_by_index_and_unknown_fields_refused() {
        let body = r#"{"pocs": [
            {"member_state": "CHL", "role": "policy", "name": "Eva Rojas",
             "affiliation": "Cancillería", "email": "eva@minrel.example.org"},
            {"member_state": "CHL", "role": "policy", "name": 5,
             "affiliation": "Cancillería", "email": "x@minrel.example.org", "fax": "1"},
            7
        ]}"#;

        let Err(JsonFileError::Invalid(problems)) = read_json(body.as_bytes()) else {
            panic!("accepted")
        };

        let found: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 3, "{found:#?}");
        assert!(
            found[0].starts_with("pocs[1]: name: invalid type"),
            "{found:?}"
        );
        assert_eq!(found[1], "pocs[1]: fax: is not a known field");
        assert!(
            found[2].starts_with("pocs[2]: must be an object"),
            "{found:?}"
        );
        assert!(matches!(
            read_json(b"{\"pocs\": ["),
            Err(JsonFileError::Malformed(_))
        ));
    }

    #[test]
    fn what_export_writes_import_reads_back_as_it_was() {
        let at = DateTime::UNIX_EPOCH;
        let record = PocRecord {
            id: Uuid::now_v7(),
            member_state: MemberStateCode::parse("CHL").unwrap(),
            name: "=HYPERLINK(\"x\"), \"Eva\" Rojas".into(),
            affiliation: "'Cancillería".into(),
            role: PocRole::Technical,
            email: "-eva@minrel.example.org".into(),
            phone: Some("+56 2 2827 4200".into()),
            languages: Json(vec!["es".into(), "en".into()]),
            active: true,
            last_confirmed_at: at,
            created_at: at,
            updated_at: at,
            deactivated_at: None,
            un_consent_at: None,
            un_consent_by: None,
            un_consent_how: None,
            openpgp_key: None,
        };
        let mut file = Vec::new();

        write_csv([&record], &mut file).unwrap();
        let text = String::from_utf8(file.clone()).unwrap();
        let rows = read_csv(&file).expect("read back");

        assert!(text.starts_with("member_state,role,name,affiliation,email,phone,languages\n"));
        assert!(text.contains("\"'=HYPERLINK"), "{text}");
        assert!(text.contains(",'+56 2 2827 4200,"), "{text}");
        let poc = &rows[0].poc;
        assert_eq!(poc.name.as_str(), record.name);
        assert_eq!(poc.affiliation.as_str(), record.affiliation);
        assert_eq!(poc.email.as_str(), record.email);
        assert_eq!(poc.phone.as_ref().unwrap().as_str(), "+56 2 2827 4200");
        assert_eq!(poc.role, PocRole::Technical);
        let languages: Vec<&str> = poc
            .languages
            .as_slice()
            .iter()
            .map(|l| l.as_str())
            .collect();
        assert_eq!(languages, ["es", "en"]);
    }
}
