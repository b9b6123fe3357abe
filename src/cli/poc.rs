//! `cbm2 poc add|list|import|export`: the directory from the command line, on the database
//! directly, through the same store functions as the API.

use std::fmt::Display;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::clock;
use crate::directory_file::{self, IMPORT_LIMIT_BYTES};
use crate::domain::poc::Languages;
use crate::domain::{
    Affiliation, EmailAddress, LanguageCode, MemberStateCode, PersonName, PhoneNumber, PocRole,
};
use crate::store::Store;
use crate::store::directory::{Actor, NewPoc, PocCursor, PocFilter, PocRecord};
use crate::store::directory_import::{ImportEntry, ImportError, ImportReport, RowProblem};

#[derive(Debug, Clone, Subcommand)]
pub enum PocCommand {
    /// Add a point of contact; prints its id, alone, on stdout (for `token create --poc`).
    Add(PocAddArgs),
    /// Print the directory as a table: state, role, name, e-mail, active, id.
    List(PocListArgs),
    /// Make the active POCs of the member states a CSV file names be the file's rows:
    /// prints what is added, changed and deactivated, and does it unless --dry-run. A file
    /// with any bad row changes nothing: every problem is printed, by line and field, and
    /// the exit code is 1. See README.md, "Directory in bulk", for the layout.
    Import(PocImportArgs),
    /// Write the active POCs as CSV on stdout, in the layout `import` reads.
    Export {
        /// Only the POCs of this member state.
        #[arg(long, value_parser = domain::<MemberStateCode>)]
        member_state: Option<MemberStateCode>,
    },
}

#[derive(Debug, Clone, Args)]
pub struct PocAddArgs {
    /// ISO 3166-1 alpha-3 code of an OAS Member State (CHL, BRA, USA, …).
    #[arg(long, value_parser = domain::<MemberStateCode>)]
    pub member_state: MemberStateCode,
    /// policy, mfa or technical.
    #[arg(long, value_parser = domain::<PocRole>)]
    pub role: PocRole,
    #[arg(long, value_parser = domain::<PersonName>)]
    pub name: PersonName,
    #[arg(long, value_parser = domain::<Affiliation>)]
    pub affiliation: Affiliation,
    #[arg(long, value_parser = domain::<EmailAddress>)]
    pub email: EmailAddress,
    #[arg(long, value_parser = domain::<PhoneNumber>)]
    pub phone: Option<PhoneNumber>,
    /// ISO 639-1 codes, most preferred first, separated by commas: es,en.
    #[arg(long, value_delimiter = ',', value_parser = domain::<LanguageCode>)]
    pub languages: Vec<LanguageCode>,
}

#[derive(Debug, Clone, Args)]
pub struct PocListArgs {
    /// Only the POCs of this member state.
    #[arg(long, value_parser = domain::<MemberStateCode>)]
    pub member_state: Option<MemberStateCode>,
    /// Only the POCs of this role.
    #[arg(long, value_parser = domain::<PocRole>)]
    pub role: Option<PocRole>,
}

#[derive(Debug, Clone, Args)]
pub struct PocImportArgs {
    /// The CSV file (at most 1 MiB), or - for stdin.
    pub file: PathBuf,
    /// Print what would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as the API's JSON (`POST /v1/pocs/import`) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A command-line value read through its domain type, whose error says what is expected.
fn domain<T: TryFrom<String, Error: Display>>(value: &str) -> Result<T, String> {
    T::try_from(value.to_owned()).map_err(|e| e.to_string())
}

pub(super) async fn run(store: &Store, command: PocCommand) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    let written = match command {
        PocCommand::Add(args) => add(store, args, &mut out).await?,
        PocCommand::List(args) => {
            let filter = PocFilter {
                member_state: args.member_state,
                role: args.role,
                active: None,
            };
            list(&all_pocs(store, &filter).await?, &mut out)
        }
        PocCommand::Import(args) => import(store, args, &mut out).await?,
        PocCommand::Export { member_state } => {
            let filter = PocFilter {
                member_state,
                role: None,
                active: Some(true),
            };
            let records = all_pocs(store, &filter).await?;
            directory_file::write_csv(&records, &mut out).map_err(|error| match error.into_kind() {
                csv::ErrorKind::Io(error) => error,
                other => io::Error::other(format!("{other:?}")),
            })
        }
    };
    match written {
        // A reader that stopped early (`| head`) is not an error.
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

async fn add(
    store: &Store,
    args: PocAddArgs,
    out: &mut impl Write,
) -> anyhow::Result<io::Result<()>> {
    let poc = NewPoc {
        member_state: args.member_state,
        name: args.name,
        affiliation: args.affiliation,
        role: args.role,
        email: args.email,
        phone: args.phone,
        languages: Languages::try_from(args.languages).context("--languages")?,
    };
    let record = store
        .create_poc(Actor::CommandLine, &poc, clock::now())
        .await?;
    eprintln!(
        "added {} POC {} of {} ({})",
        record.role.as_str(),
        record.name,
        record.member_state,
        record.email
    );
    Ok(writeln!(out, "{}", record.id))
}

/// Every POC the filter lets through, by member state, name and id.
async fn all_pocs(store: &Store, filter: &PocFilter) -> anyhow::Result<Vec<PocRecord>> {
    const PAGE: u32 = 200;
    let mut records: Vec<PocRecord> = Vec::new();
    let mut after: Option<PocCursor> = None;
    loop {
        let page = store.list_pocs(filter, after.as_ref(), PAGE).await?;
        let full = page.len() == PAGE as usize;
        records.extend(page);
        match records.last() {
            Some(last) if full => after = Some(last.cursor()),
            _ => return Ok(records),
        }
    }
}

fn list(records: &[PocRecord], out: &mut impl Write) -> io::Result<()> {
    let width = |f: fn(&PocRecord) -> usize, title: &str| {
        records
            .iter()
            .map(f)
            .chain([title.len()])
            .max()
            .unwrap_or(0)
    };
    let name = width(|r| r.name.chars().count(), "NAME");
    let email = width(|r| r.email.chars().count(), "E-MAIL");
    writeln!(
        out,
        "{:<5}  {:<9}  {:<name$}  {:<email$}  {:<6}  ID",
        "STATE", "ROLE", "NAME", "E-MAIL", "ACTIVE"
    )?;
    for r in records {
        writeln!(
            out,
            "{:<5}  {:<9}  {:<name$}  {:<email$}  {:<6}  {}",
            r.member_state.as_str(),
            r.role.as_str(),
            r.name,
            r.email,
            if r.active { "yes" } else { "no" },
            r.id
        )?;
    }
    Ok(())
}

async fn import(
    store: &Store,
    args: PocImportArgs,
    out: &mut impl Write,
) -> anyhow::Result<io::Result<()>> {
    let name = args.file.display().to_string();
    let bytes = read_bounded(&args.file).with_context(|| format!("cannot read {name}"))?;
    let refused = |problems: Vec<RowProblem>| {
        for problem in &problems {
            eprintln!("{name}: {problem}");
        }
        anyhow::anyhow!(
            "{} problem(s) in {name}; nothing was imported: correct the rows named above",
            problems.len()
        )
    };
    let rows = directory_file::read_csv(&bytes).map_err(refused)?;
    let report = match store
        .import_pocs(Actor::CommandLine, &rows, !args.dry_run, clock::now())
        .await
    {
        Ok(report) => report,
        Err(ImportError::InvalidRows(problems)) => return Err(refused(problems)),
        Err(ImportError::Store(error)) => return Err(error.into()),
    };
    if args.json {
        let json = serde_json::to_string_pretty(&report).expect("a report serializes");
        return Ok(writeln!(out, "{json}"));
    }
    Ok(print_report(&report, out))
}

/// The file's bytes, refused past the import limit (as the API refuses a larger body).
fn read_bounded(path: &Path) -> anyhow::Result<Vec<u8>> {
    let source: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin())
    } else {
        Box::new(std::fs::File::open(path)?)
    };
    let mut bytes = Vec::new();
    source
        .take(IMPORT_LIMIT_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > IMPORT_LIMIT_BYTES {
        anyhow::bail!(
            "the file is larger than {} KiB: split it by member state",
            IMPORT_LIMIT_BYTES / 1024
        );
    }
    Ok(bytes)
}

/// The report as lines: one per POC added, changed or deactivated, then the counts.
fn print_report(report: &ImportReport, out: &mut impl Write) -> io::Result<()> {
    let line = |out: &mut dyn Write, what: &str, entry: &ImportEntry| {
        let id = entry
            .id
            .map(|id| id.to_string())
            .unwrap_or_else(|| "(new)".into());
        let at = entry.position.map(|p| format!("  {p}")).unwrap_or_default();
        writeln!(
            out,
            "{what:<10}  {}  {:<9}  {}  <{}>  {id}{at}",
            entry.member_state.as_str(),
            entry.role.as_str(),
            entry.name,
            entry.email
        )?;
        for (field, change) in &entry.changes {
            writeln!(out, "{:12}{field}: {} -> {}", "", change.from, change.to)?;
        }
        Ok::<_, io::Error>(())
    };
    for entry in &report.add {
        line(out, "add", entry)?;
    }
    for entry in &report.change {
        line(out, "change", entry)?;
    }
    for entry in &report.deactivate {
        line(out, "deactivate", entry)?;
    }
    let states: Vec<&str> = report.member_states.iter().map(|c| c.as_str()).collect();
    let (add, change, deactivate) = (
        report.add.len(),
        report.change.len(),
        report.deactivate.len(),
    );
    let states = if states.is_empty() {
        "no member state".to_owned()
    } else {
        states.join(", ")
    };
    if report.applied {
        writeln!(
            out,
            "{states}: {add} added, {change} changed, {deactivate} deactivated, {} unchanged",
            report.unchanged
        )
    } else {
        writeln!(
            out,
            "{states}: {add} to add, {change} to change, {deactivate} to deactivate, {} unchanged (dry run: nothing written)",
            report.unchanged
        )
    }
}
