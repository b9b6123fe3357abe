//! The invariants ARCHITECTURE.md states as absences, checked by reading `src/`, the way
//! rust-analyzer's tidy tests do: a few greps, so a change that breaks one fails here.
//!
//! Comments and each file's `#[cfg(test)]` module are left out: a test may read a file, and
//! a comment may say what the code does not do.

use std::path::{Path, PathBuf};

/// A line of code (comments removed) with where it comes from.
struct Line {
    file: String,
    number: usize,
    code: String,
}

/// The Rust files under `src/` (recursively), as `src/...` paths with `/` separators.
fn rust_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("a readable directory") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    files.sort();
    assert!(files.len() > 20, "src/ should hold the crate's sources");
    files
}

/// The code lines of every file whose `src/...` path satisfies `keep`: comments stripped,
/// and nothing from a `#[cfg(test)]` line on (test modules come last in each file).
fn code_lines(keep: impl Fn(&str) -> bool) -> Vec<Line> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut lines = Vec::new();
    for path in rust_files() {
        let file = path
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if !keep(&file) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (index, line) in text.lines().enumerate() {
            if line.trim_start().starts_with("#[cfg(test)]") {
                break;
            }
            let code = match line.find("//") {
                // A `//` inside a string (a URL) is code; one after code or at the start is
                // a comment. Good enough for this source: URLs live in strings with `://`.
                Some(at) if !line[..at].ends_with(':') => &line[..at],
                _ => line,
            };
            if !code.trim().is_empty() {
                lines.push(Line {
                    file: file.clone(),
                    number: index + 1,
                    code: code.to_owned(),
                });
            }
        }
    }
    assert!(!lines.is_empty(), "no file matched");
    lines
}

/// Whether `code` holds `word` as a whole identifier path (`sqlx`, `std::fs`, `Utc::now`):
/// neither preceded nor followed by an identifier character.
fn has_word(code: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    code.match_indices(word).any(|(at, _)| {
        let before = code[..at].chars().next_back();
        let after = code[at + word.len()..].chars().next();
        !before.is_some_and(is_ident) && !after.is_some_and(is_ident)
    })
}

/// Fails listing every line for which `offends` holds, with `why`.
#[track_caller]
fn assert_absent(lines: &[Line], offends: impl Fn(&str) -> bool, why: &str) {
    let offending: Vec<String> = lines
        .iter()
        .filter(|line| offends(&line.code))
        .map(|line| format!("  {}:{}: {}", line.file, line.number, line.code.trim()))
        .collect();
    assert!(
        offending.is_empty(),
        "{why}, but:\n{}",
        offending.join("\n")
    );
}

/// What doing I/O or reading the clock looks like in this code base.
const IO_AND_CLOCK: &[&str] = &[
    "sqlx",
    "axum",
    "tokio",
    "reqwest",
    "lettre",
    "hyper",
    "std::fs",
    "std::net",
    "std::process",
    "std::env",
    "crate::clock",
    "crate::store",
    "crate::http",
    "crate::delivery",
    "crate::startup",
    "clock::now",
    "Utc::now",
    "Local::now",
    "SystemTime",
    "Instant::now",
];

fn does_io_or_reads_clock(code: &str) -> bool {
    IO_AND_CLOCK.iter().any(|word| has_word(code, word))
}

#[test]
fn the_protocol_does_no_io_and_reads_no_clock() {
    let lines = code_lines(|file| file.starts_with("src/protocol/"));
    assert_absent(
        &lines,
        does_io_or_reads_clock,
        "src/protocol is pure (ARCHITECTURE.md: no clock, no database, no socket, nothing of axum or sqlx)",
    );
}

#[test]
fn the_domain_does_no_io_and_reads_no_clock() {
    let lines = code_lines(|file| file.starts_with("src/domain/"));
    assert_absent(
        &lines,
        does_io_or_reads_clock,
        "src/domain does no I/O and knows nothing of axum or sqlx (ARCHITECTURE.md)",
    );
}

#[test]
fn only_the_store_writes_sql() {
    let lines = code_lines(|file| !file.starts_with("src/store/"));
    let runs_sql = |code: &str| {
        ["query", "query_as", "query_scalar", "query_with", "raw_sql"]
            .iter()
            .any(|f| has_word(code, &format!("sqlx::{f}")) || code.contains(&format!(" {f}(")))
            || ["QueryBuilder", "AssertSqlSafe", "Executor"]
                .iter()
                .any(|word| has_word(code, word))
            || ["\"SELECT ", "\"INSERT ", "\"UPDATE ", "\"DELETE "]
                .iter()
                .any(|sql| code.contains(sql))
    };
    assert_absent(
        &lines,
        runs_sql,
        "nothing outside src/store writes SQL (ARCHITECTURE.md)",
    );
}

/// The HTTP statuses this API answers, as numbers.
const HTTP_STATUSES: &[&str] = &[
    "200", "201", "204", "400", "401", "403", "404", "405", "408", "409", "412", "413", "415",
    "422", "429", "500", "503",
];

#[test]
fn only_the_http_edge_knows_http_status_codes() {
    // src/web is the edge too (the pages' answers); src/delivery is an HTTP *client* of the
    // webhook receivers: it reads their answers (2xx, 410 Gone), which are not this API's
    // statuses.
    let lines =
        code_lines(|file| {
            !file.starts_with("src/http/")
                && !file.starts_with("src/web/")
                && !file.starts_with("src/delivery/")
        });
    let knows_http_statuses = |code: &str| {
        let lower = code.to_lowercase();
        // The type, whichever crate it comes through.
        has_word(code, "StatusCode")
            // A value kept as an HTTP status: `status: u16`, a `response_status` column.
            || (lower.contains("status") && has_word(code, "u16"))
            || lower.contains("response_status")
            // An HTTP status written as a number where a result is made or tested.
            || HTTP_STATUSES.iter().any(|n| {
                ["Ok(", "Err(", "Some(", "== ", "!= ", "=> "]
                    .iter()
                    .any(|prefix| code.contains(&format!("{prefix}{n}")) && has_word(code, n))
            })
    };
    assert_absent(
        &lines,
        knows_http_statuses,
        "nothing outside src/http knows of HTTP status codes (ARCHITECTURE.md)",
    );
}
