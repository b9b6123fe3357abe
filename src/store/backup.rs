//! Backups of a live database: a consistent copy of a SQLite file while the server writes,
//! and, for PostgreSQL, the `pg_dump` command that does the same job there.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{Pool, Store, StoreError};

/// Why a backup was not made.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: a backup never overwrites a file; choose a new name or remove it")]
    TargetExists(PathBuf),
    #[error("cannot write the backup to {path}: {source}")]
    Target { path: PathBuf, source: io::Error },
    #[error(
        "cbm2 backup copies SQLite databases; this one is PostgreSQL: use pg_dump (cbm2 backup prints the command)"
    )]
    NotSqlite,
    #[error("copying the database to {path} failed: {source}")]
    Copy { path: PathBuf, source: StoreError },
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `target`, a file that must not
    /// exist yet, while other connections (a running server) keep writing.
    ///
    /// `VACUUM INTO` reads the database in one read transaction, so the copy is a single
    /// snapshot with what the WAL holds included (copying the file would lose the commits
    /// still in the WAL), and it takes no write lock: the server is not held up. SQLite does
    /// not sync the copy to disk; this does, so a backup reported made survives a crash.
    pub async fn back_up_into(&self, target: &Path) -> Result<(), BackupError> {
        let Pool::Sqlite(pool) = &self.pool else {
            return Err(BackupError::NotSqlite);
        };
        let io_error = |source| BackupError::Target {
            path: target.to_owned(),
            source,
        };
        // Absolute, so that SQLite never reads the name as a `file:` URI; created here with
        // `create_new`, so that refusing an existing file is not a check that can race.
        let absolute = std::path::absolute(target).map_err(io_error)?;
        let name = absolute.to_str().ok_or_else(|| {
            io_error(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path is not valid UTF-8",
            ))
        })?;
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&absolute)
        {
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                return Err(BackupError::TargetExists(target.to_owned()));
            }
            Err(error) => return Err(io_error(error)),
        }
        // SQLite writes into an empty file as into a missing one.
        let copied = sqlx::query("VACUUM INTO $1").bind(name).execute(pool).await;
        if let Err(error) = copied {
            let _ = std::fs::remove_file(&absolute);
            return Err(BackupError::Copy {
                path: target.to_owned(),
                source: error.into(),
            });
        }
        sync_file_and_directory(&absolute).map_err(io_error)
    }

    /// Opens a backup made by [`Store::back_up_into`] read-only, to verify it without
    /// changing a byte of it (no migration, no journal mode set).
    pub async fn open_backup(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await?;
        Ok(Store::sqlite(pool.clone(), pool))
    }
}

/// Flushes the file, then its directory entry, to stable storage.
fn sync_file_and_directory(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()?;
    if let Some(directory) = path.parent() {
        File::open(directory)?.sync_all()?;
    }
    Ok(())
}

/// For a PostgreSQL URL, how to back that database up into `target` and restore it, as
/// one line naming the database, the `pg_dump` command and the `pg_restore` command;
/// `None` for any other URL. The password, if the URL has one, is left out of the
/// commands (they are printed, and may end up in a terminal's history or a ticket).
pub fn postgres_backup_advice(url: &str, target: &Path) -> Option<String> {
    if !super::is_postgres_url(url) {
        return None;
    }
    let shown = super::open::describe(url);
    let had_password = url::Url::parse(url).is_ok_and(|parsed| {
        parsed.password().is_some()
            || parsed
                .query_pairs()
                .any(|(key, _)| key.contains("password"))
    });
    let database = url::Url::parse(url)
        .ok()
        .map(|parsed| parsed.path().trim_start_matches('/').to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "(the user's default)".into());
    let dump = shell_quote(&target.display().to_string());
    let connection = shell_quote(&shown);
    let password = if had_password {
        " (the password is left out: give it in PGPASSWORD or ~/.pgpass)"
    } else {
        ""
    };
    Some(format!(
        "cbm2 backup copies SQLite files only; back up the PostgreSQL database {database} with \
         `pg_dump --format=custom --file={dump} --dbname={connection}`, and restore it, server \
         stopped, with `pg_restore --clean --if-exists --no-owner --dbname={connection} {dump}`, \
         then check it with `cbm2 audit verify --expect-head SEQ:HASH`{password}"
    ))
}

/// `text` as one word for a POSIX shell: bare when it is made of safe characters, otherwise
/// in single quotes.
fn shell_quote(text: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !text.is_empty() && text.chars().all(safe) {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_advice_names_the_database_and_blanks_the_password() {
        let advice = postgres_backup_advice(
            "postgres://cbm2:s3cret@db.example.org:5433/cbm2_prod?sslmode=require",
            Path::new("/backups/cbm2.dump"),
        )
        .expect("a PostgreSQL URL");

        assert!(!advice.contains("s3cret"), "{advice}");
        assert!(advice.contains("database cbm2_prod"), "{advice}");
        assert!(
            advice.contains(
                "pg_dump --format=custom --file=/backups/cbm2.dump \
                 --dbname='postgres://cbm2@db.example.org:5433/cbm2_prod?sslmode=require'"
            ),
            "{advice}"
        );
        assert!(advice.contains("pg_restore "), "{advice}");
        assert!(advice.contains("PGPASSWORD"), "{advice}");
    }

    #[test]
    fn no_advice_for_sqlite() {
        assert_eq!(
            postgres_backup_advice("sqlite://cbm2.db", Path::new("x.db")),
            None
        );
    }

    #[test]
    fn shell_quote_keeps_a_quote_inside_one_word() {
        assert_eq!(shell_quote("/a/b.dump"), "/a/b.dump");
        assert_eq!(shell_quote("it's here"), r"'it'\''s here'");
    }
}
