//! The directory in bulk: a file lists the active points of contact of the member states it
//! names, and the import adds, changes and deactivates POCs until the directory matches it.
//!
//! A POC of the file is matched with the active POC of the directory that has the same
//! **key**: member state, role and e-mail address (compared without regard to case). A row
//! whose key no active POC has is added; a matched POC whose other fields differ is
//! changed; an active POC of one of the file's member states whose key no row has is
//! deactivated. Member states the file does not name are left alone, so a file of one
//! state's POCs changes that state only. Deactivated POCs are never matched (a row like one
//! adds a new POC: a deactivated POC's tokens must not come back to life).
//!
//! Everything happens in one transaction, and each change appends its own directory event
//! (`poc_created`, `poc_updated`, `poc_deactivated`) as the API's single changes do. A dry
//! run computes the same report in the same transaction and rolls it back.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::types::Json;
use uuid::Uuid;

use super::directory::{
    Actor, NewPoc, POC_COLUMNS, POC_INSERT_COLUMNS, PocChanges, PocRecord, poc_created_payload,
    record_directory_event,
};
use super::{BeginWrite, Store, StoreError, dispatch};
use crate::domain::{MemberStateCode, PhoneNumber, PocRole};

/// Where a row of an imported file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RowPosition {
    /// The line of a CSV file on which the row starts (the header is line 1).
    Line(u64),
    /// The index of the row in a JSON body's `pocs` (from 0).
    Index(usize),
}

impl fmt::Display for RowPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowPosition::Line(line) => write!(f, "line {line}"),
            RowPosition::Index(index) => write!(f, "pocs[{index}]"),
        }
    }
}

/// One POC of an imported file, every field validated.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub position: RowPosition,
    pub poc: NewPoc,
}

/// What is wrong with an imported file: where (a row, or the whole file when `position`
/// is `None`), which field (`None`: the row as a whole), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowProblem {
    #[serde(flatten)]
    pub position: Option<RowPosition>,
    pub field: Option<String>,
    pub detail: String,
}

impl RowProblem {
    pub fn new(
        position: Option<RowPosition>,
        field: Option<&str>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            position,
            field: field.map(str::to_owned),
            detail: detail.into(),
        }
    }
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(position) = self.position {
            write!(f, "{position}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.detail)
    }
}

/// Why an import was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows that are wrong, every one of them, in file order.
    #[error("{}", describe_problems(.0))]
    InvalidRows(Vec<RowProblem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(error: sqlx::Error) -> Self {
        ImportError::Store(StoreError::Database(error))
    }
}

/// How many problems a file has, and the first few, in one line.
pub fn describe_problems(problems: &[RowProblem]) -> String {
    const SHOWN: usize = 5;
    let listed = problems
        .iter()
        .take(SHOWN)
        .map(RowProblem::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    let more = match problems.len().saturating_sub(SHOWN) {
        0 => String::new(),
        more => format!("; and {more} more"),
    };
    format!(
        "{} problem(s) in the file, nothing was written: {listed}{more}",
        problems.len()
    )
}

/// A field's value before and after a change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub from: Value,
    pub to: Value,
}

/// One POC the import adds, changes or deactivates.
#[derive(Debug, Clone, Serialize)]
pub struct ImportEntry {
    /// The row of the file (absent for a deactivation: no row names it).
    #[serde(flatten)]
    pub position: Option<RowPosition>,
    /// The POC's id; for an addition, `None` until it is applied.
    pub id: Option<Uuid>,
    pub member_state: MemberStateCode,
    pub role: PocRole,
    pub name: String,
    pub email: String,
    /// For a change: each changed field, from its value in the directory to the file's.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<&'static str, FieldChange>,
}

/// What an import does (or, in a dry run, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Whether the changes were written (false: a dry run).
    pub applied: bool,
    /// The member states the file names: the only ones the import touches.
    pub member_states: Vec<MemberStateCode>,
    /// New POCs, in file order.
    pub add: Vec<ImportEntry>,
    /// Matched POCs whose details differ from the file's, in file order.
    pub change: Vec<ImportEntry>,
    /// Active POCs of those states that the file does not list, by state, role and e-mail.
    pub deactivate: Vec<ImportEntry>,
    /// Matched POCs that already are as the file says.
    pub unchanged: usize,
}

/// The match key: member state, role, e-mail address in lower case.
type Key = (String, &'static str, String);

fn key(member_state: &str, role: PocRole, email: &str) -> Key {
    (member_state.to_owned(), role.as_str(), email.to_lowercase())
}

/// Rows that repeat the key of an earlier row.
pub fn duplicate_rows(rows: &[ImportRow]) -> Vec<RowProblem> {
    let mut first: HashMap<Key, RowPosition> = HashMap::new();
    let mut problems = Vec::new();
    for row in rows {
        let poc = &row.poc;
        let k = key(poc.member_state.as_str(), poc.role, poc.email.as_str());
        if let Some(earlier) = first.get(&k) {
            problems.push(RowProblem::new(
                Some(row.position),
                Some("email"),
                format!(
                    "{earlier} already has this member_state, role and e-mail address: one row per POC"
                ),
            ));
        } else {
            first.insert(k, row.position);
        }
    }
    problems
}

/// A matched POC to change: the row, the POC, what to set and what that changes.
struct Change<'a> {
    row: &'a ImportRow,
    record: &'a PocRecord,
    set: PocChanges,
    fields: BTreeMap<&'static str, FieldChange>,
}

/// What the import will do, decided from the rows and the directory as it is.
struct Plan<'a> {
    scope: BTreeSet<MemberStateCode>,
    adds: Vec<&'a ImportRow>,
    changes: Vec<Change<'a>>,
    deactivations: Vec<&'a PocRecord>,
    unchanged: usize,
}

/// Decides the import: pure, from the rows, the codes of the OAS Member States and the
/// active POCs of the directory. Every problem is found, or none.
fn plan<'a>(
    rows: &'a [ImportRow],
    member_states: &BTreeSet<String>,
    active: &'a [PocRecord],
) -> Result<Plan<'a>, Vec<RowProblem>> {
    let mut problems = duplicate_rows(rows);
    let scope: BTreeSet<MemberStateCode> =
        rows.iter().map(|r| r.poc.member_state.clone()).collect();
    let mut current: HashMap<Key, Vec<&PocRecord>> = HashMap::new();
    for record in active
        .iter()
        .filter(|r| r.active && scope.contains(&r.member_state))
    {
        current
            .entry(key(
                record.member_state.as_str(),
                record.role,
                &record.email,
            ))
            .or_default()
            .push(record);
    }
    let mut plan = Plan {
        scope: scope.clone(),
        adds: Vec::new(),
        changes: Vec::new(),
        deactivations: Vec::new(),
        unchanged: 0,
    };
    let mut listed: BTreeSet<Key> = BTreeSet::new();
    for row in rows {
        let poc = &row.poc;
        if !member_states.contains(poc.member_state.as_str()) {
            problems.push(RowProblem::new(
                Some(row.position),
                Some("member_state"),
                format!("{} is not an OAS Member State", poc.member_state),
            ));
            continue;
        }
        let k = key(poc.member_state.as_str(), poc.role, poc.email.as_str());
        if !listed.insert(k.clone()) {
            continue; // A duplicate row, already reported.
        }
        match current.get(&k).map(Vec::as_slice) {
            None | Some([]) => plan.adds.push(row),
            Some([record]) => {
                let (set, fields) = differences(record, poc);
                if fields.is_empty() {
                    plan.unchanged += 1;
                } else {
                    plan.changes.push(Change {
                        row,
                        record,
                        set,
                        fields,
                    });
                }
            }
            Some(several) => {
                let ids: Vec<String> = several.iter().map(|r| r.id.to_string()).collect();
                problems.push(RowProblem::new(
                    Some(row.position),
                    Some("email"),
                    format!(
                        "{} active POCs of {} with role {} have this e-mail address ({}): \
                         deactivate all but one first (POST /v1/pocs/{{id}}/deactivate)",
                        several.len(),
                        poc.member_state,
                        poc.role.as_str(),
                        ids.join(", ")
                    ),
                ));
            }
        }
    }
    if !problems.is_empty() {
        problems.sort_by_key(|p| p.position);
        return Err(problems);
    }
    let mut gone: Vec<&PocRecord> = current
        .iter()
        .filter(|(k, _)| !listed.contains(*k))
        .flat_map(|(_, records)| records.iter().copied())
        .collect();
    gone.sort_by(|a, b| {
        (a.member_state.as_str(), a.role.as_str(), &a.email, a.id).cmp(&(
            b.member_state.as_str(),
            b.role.as_str(),
            &b.email,
            b.id,
        ))
    });
    plan.deactivations = gone;
    Ok(plan)
}

/// What must be set on `record` for it to be as `poc` says, and each change as from → to.
fn differences(
    record: &PocRecord,
    poc: &NewPoc,
) -> (PocChanges, BTreeMap<&'static str, FieldChange>) {
    let mut set = PocChanges::default();
    let mut fields = BTreeMap::new();
    let mut differs = |field: &'static str, from: Value, to: Value| {
        let changed = from != to;
        if changed {
            fields.insert(field, FieldChange { from, to });
        }
        changed
    };
    if differs("name", json!(record.name), json!(poc.name)) {
        set.name = Some(poc.name.clone());
    }
    if differs(
        "affiliation",
        json!(record.affiliation),
        json!(poc.affiliation),
    ) {
        set.affiliation = Some(poc.affiliation.clone());
    }
    if differs("email", json!(record.email), json!(poc.email)) {
        set.email = Some(poc.email.clone());
    }
    if differs("phone", json!(record.phone), json!(poc.phone)) {
        set.phone = Some(poc.phone.clone());
    }
    if differs("languages", json!(record.languages.0), json!(poc.languages)) {
        set.languages = Some(poc.languages.clone());
    }
    (set, fields)
}

impl Plan<'_> {
    fn report(&self) -> ImportReport {
        let from_row = |row: &ImportRow, id: Option<Uuid>| ImportEntry {
            position: Some(row.position),
            id,
            member_state: row.poc.member_state.clone(),
            role: row.poc.role,
            name: row.poc.name.as_str().to_owned(),
            email: row.poc.email.as_str().to_owned(),
            changes: BTreeMap::new(),
        };
        ImportReport {
            applied: false,
            member_states: self.scope.iter().cloned().collect(),
            add: self.adds.iter().map(|row| from_row(row, None)).collect(),
            change: self
                .changes
                .iter()
                .map(|change| ImportEntry {
                    changes: change.fields.clone(),
                    ..from_row(change.row, Some(change.record.id))
                })
                .collect(),
            deactivate: self
                .deactivations
                .iter()
                .map(|record| ImportEntry {
                    position: None,
                    id: Some(record.id),
                    member_state: record.member_state.clone(),
                    role: record.role,
                    name: record.name.clone(),
                    email: record.email.clone(),
                    changes: BTreeMap::new(),
                })
                .collect(),
            unchanged: self.unchanged,
        }
    }
}

impl Store {
    /// Makes the active POCs of the member states `rows` name be those rows, in one
    /// transaction, one directory event per change; or, unless `apply`, reports what that
    /// would do and writes nothing. Refused with every problem found (unknown member
    /// states, repeated or ambiguous keys) and nothing written.
    pub async fn import_pocs(
        &self,
        actor: Actor<'_>,
        rows: &[ImportRow],
        apply: bool,
        now: DateTime<Utc>,
    ) -> Result<ImportReport, ImportError> {
        let _forget = self.owners_changing();
        let duplicates = duplicate_rows(rows);
        if !duplicates.is_empty() {
            return Err(ImportError::InvalidRows(duplicates));
        }
        let insert = format!(
            "INSERT INTO pocs ({POC_INSERT_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $10, NULL)"
        );
        dispatch!(self, pool => {
            let mut tx = self.writes(pool).begin_write().await?;
            let member_states: Vec<String> = sqlx::query_scalar("SELECT code FROM member_states")
                .fetch_all(&mut *tx)
                .await?;
            let member_states: BTreeSet<String> = member_states.into_iter().collect();
            // Every active POC, locked in id order (two imports lock in the same order):
            // none may change between the plan and its writes.
            let select = format!(
                "SELECT {POC_COLUMNS} FROM pocs WHERE active ORDER BY id{}",
                pool.lock_suffix()
            );
            let active: Vec<PocRecord> = sqlx::query_as(sqlx::AssertSqlSafe(select))
                .fetch_all(&mut *tx)
                .await?;
            let plan = plan(rows, &member_states, &active).map_err(ImportError::InvalidRows)?;
            let mut report = plan.report();
            if !apply {
                // Dropping the transaction rolls it back; it wrote nothing anyway.
                return Ok(report);
            }
            for (row, entry) in plan.adds.iter().zip(report.add.iter_mut()) {
                let poc = &row.poc;
                let id = Uuid::now_v7();
                sqlx::query(sqlx::AssertSqlSafe(insert.as_str()))
                    .bind(id)
                    .bind(poc.member_state.as_str())
                    .bind(poc.name.as_str())
                    .bind(poc.affiliation.as_str())
                    .bind(poc.role.as_str())
                    .bind(poc.email.as_str())
                    .bind(poc.phone.as_ref().map(PhoneNumber::as_str))
                    .bind(Json(&poc.languages))
                    .bind(true)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                let payload = poc_created_payload(poc);
                record_directory_event!(tx, actor, now, "poc_created", id.to_string(), payload);
                entry.id = Some(id);
            }
            for change in &plan.changes {
                let poc = &change.row.poc;
                sqlx::query(
                    "UPDATE pocs SET name = $2, affiliation = $3, email = $4, phone = $5,
                                     languages = $6, updated_at = $7
                      WHERE id = $1",
                )
                .bind(change.record.id)
                .bind(poc.name.as_str())
                .bind(poc.affiliation.as_str())
                .bind(poc.email.as_str())
                .bind(poc.phone.as_ref().map(PhoneNumber::as_str))
                .bind(Json(&poc.languages))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                record_directory_event!(tx, actor, now, "poc_updated",
                    change.record.id.to_string(), change.set.to_payload());
            }
            for record in &plan.deactivations {
                sqlx::query(
                    "UPDATE pocs SET active = $2, deactivated_at = $3, updated_at = $3
                      WHERE id = $1",
                )
                .bind(record.id)
                .bind(false)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                record_directory_event!(tx, actor, now, "poc_deactivated",
                    record.id.to_string(), json!({}));
            }
            tx.commit().await?;
            report.applied = true;
            Ok(report)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::poc::Languages;
    use crate::domain::{Affiliation, EmailAddress, LanguageCode, PersonName};

    fn row(line: u64, state: &str, role: PocRole, name: &str, email: &str) -> ImportRow {
        ImportRow {
            position: RowPosition::Line(line),
            poc: NewPoc {
                member_state: MemberStateCode::parse(state).unwrap(),
                name: PersonName::parse(name).unwrap(),
                affiliation: Affiliation::parse("Ministry").unwrap(),
                role,
                email: EmailAddress::parse(email).unwrap(),
                phone: None,
                languages: Languages::try_from(vec![LanguageCode::parse("es").unwrap()]).unwrap(),
            },
        }
    }

    fn record(state: &str, role: PocRole, name: &str, email: &str) -> PocRecord {
        let now = DateTime::UNIX_EPOCH;
        PocRecord {
            id: Uuid::now_v7(),
            member_state: MemberStateCode::parse(state).unwrap(),
            name: name.into(),
            affiliation: "Ministry".into(),
            role,
            email: email.into(),
            phone: None,
            languages: Json(vec!["es".into()]),
            active: true,
            last_confirmed_at: now,
            created_at: now,
            updated_at: now,
            deactivated_at: None,
            un_consent_at: None,
            un_consent_by: None,
            un_consent_how: None,
            openpgp_key: None,
        }
    }

    fn oas() -> BTreeSet<String> {
        ["CHL", "BRA", "MEX"].map(String::from).into()
    }

    #[test]
    fn adds_changes_deactivates_within_the_files_states_only() {
        let rows = [
            row(
                2,
                "CHL",
                PocRole::Policy,
                "Eva Rojas",
                "eva@minrel.example.org",
            ),
            row(
                3,
                "CHL",
                PocRole::Technical,
                "New Person",
                "new@csirt.example.org",
            ),
        ];
        let directory = [
            // Matched case-insensitively, renamed.
            record("CHL", PocRole::Policy, "Eva R.", "Eva@MinRel.example.org"),
            // Not in the file, of a state in the file.
            record(
                "CHL",
                PocRole::Mfa,
                "Gone Person",
                "gone@minrel.example.org",
            ),
            // Of a state the file does not name.
            record(
                "BRA",
                PocRole::Policy,
                "Ana Souza",
                "ana@itamaraty.example.org",
            ),
        ];

        let plan = plan(&rows, &oas(), &directory).expect("a plan");

        assert_eq!(plan.adds.len(), 1);
        assert_eq!(plan.adds[0].position, RowPosition::Line(3));
        assert_eq!(plan.changes.len(), 1);
        let fields: Vec<_> = plan.changes[0].fields.keys().copied().collect();
        assert_eq!(fields, ["email", "name"]);
        assert_eq!(plan.deactivations.len(), 1);
        assert_eq!(plan.deactivations[0].name, "Gone Person");
        assert_eq!(plan.unchanged, 0);
    }

    #[test]
    fn a_row_as_the_directory_has_it_is_unchanged() {
        let rows = [row(
            2,
            "CHL",
            PocRole::Policy,
            "Eva Rojas",
            "eva@minrel.example.org",
        )];
        let directory = [record(
            "CHL",
            PocRole::Policy,
            "Eva Rojas",
            "eva@minrel.example.org",
        )];

        let plan = plan(&rows, &oas(), &directory).expect("a plan");

        assert!(plan.adds.is_empty() && plan.changes.is_empty() && plan.deactivations.is_empty());
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn unknown_states_repeated_rows_and_ambiguous_keys_are_all_reported() {
        let rows = [
            row(2, "XYZ", PocRole::Policy, "Someone", "someone@example.org"),
            row(
                3,
                "CHL",
                PocRole::Policy,
                "Eva Rojas",
                "eva@minrel.example.org",
            ),
            row(
                4,
                "CHL",
                PocRole::Policy,
                "Eva Again",
                "EVA@minrel.example.org",
            ),
            row(
                5,
                "BRA",
                PocRole::Policy,
                "Ana Souza",
                "ana@itamaraty.example.org",
            ),
        ];
        let directory = [
            record(
                "BRA",
                PocRole::Policy,
                "Ana Souza",
                "ana@itamaraty.example.org",
            ),
            record(
                "BRA",
                PocRole::Policy,
                "Ana S.",
                "ana@itamaraty.example.org",
            ),
        ];

        let problems = plan(&rows, &oas(), &directory).err().expect("refused");

        let found: Vec<(String, &str)> = problems
            .iter()
            .map(|p| (p.position.unwrap().to_string(), p.field.as_deref().unwrap()))
            .collect();
        assert_eq!(
            found,
            [
                ("line 2".to_owned(), "member_state"),
                ("line 4".to_owned(), "email"),
                ("line 5".to_owned(), "email"),
            ]
        );
        assert!(problems[1].detail.contains("line 3"), "{}", problems[1]);
    }
}
