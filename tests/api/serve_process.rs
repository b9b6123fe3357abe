//! `cbm2 serve` as a child process, for tests that need real processes (several
//! instances on one database, a restart, SIGKILL).

use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

const CBM2: &str = env!("CARGO_BIN_EXE_cbm2");

/// A `cbm2 serve` child process, its address, and its log (stderr) as read so far.
pub struct ServeProcess {
    child: Child,
    pub address: String,
    /// What it logged up to `listening on`, that line included.
    pub startup_log: Vec<String>,
    log: JoinHandle<Vec<String>>,
    /// Where its signing key is, on PostgreSQL; removed with it.
    _key_dir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `cbm2 --database-url URL serve --bind 127.0.0.1:0 ARGS…`, with no `CBM2_*`
    /// variable inherited but `CBM2_RATE_LIMITS=false` (tests make requests far faster
    /// than a person; `--rate-limits true` in ARGS turns them on), and waits for it to log
    /// `listening on ADDR`.
    pub async fn start(url: &str, args: &[&str]) -> ServeProcess {
        Self::start_with_env(url, args, &[], &[]).await
    }

    /// Like [`ServeProcess::start`], with the variables `set` set and those named in
    /// `unset` removed from its environment.
    pub async fn start_with_env(
        url: &str,
        args: &[&str],
        set: &[(&str, &str)],
        unset: &[&str],
    ) -> ServeProcess {
        Self::start_bound(url, "127.0.0.1:0", args, set, unset).await
    }

    /// Like [`ServeProcess::start_with_env`], listening on `bind` (`0.0.0.0:0`: a free
    /// port on every interface).
    pub async fn start_bound(
        url: &str,
        bind: &str,
        args: &[&str],
        set: &[(&str, &str)],
        unset: &[&str],
    ) -> ServeProcess {
        let mut command = Command::new(CBM2);
        command
            .args(["--database-url", url, "serve", "--bind", bind])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        for (name, _) in std::env::vars() {
            if name.starts_with("CBM2_") {
                command.env_remove(name);
            }
        }
        command.env("CBM2_RATE_LIMITS", "false");
        // PostgreSQL's default key file is in the working directory: never the checkout's.
        let key_dir = tempfile::tempdir().expect("temporary directory");
        if !url.starts_with("sqlite") {
            command.env("CBM2_SIGNING_KEY", key_dir.path().join("cbm2-signing.key"));
        }
        for name in unset {
            command.env_remove(name);
        }
        command.envs(set.iter().copied());
        let mut child = command.spawn().expect("cbm2 serve starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let mut seen = Vec::new();
        let address = tokio::time::timeout(Duration::from_secs(60), async {
            loop {
                let line = lines
                    .next_line()
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("serve exited before listening: {seen:#?}"));
                let address = line
                    .split("listening on ")
                    .nth(1)
                    .map(|rest| rest.trim().to_owned());
                seen.push(line);
                if let Some(address) = address {
                    return address;
                }
            }
        })
        .await
        .expect("serve logs `listening on` within a minute");
        let startup_log = seen.clone();
        // Keep draining stderr so that the server never blocks on a full pipe.
        let log = tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                seen.push(line);
            }
            seen
        });
        ServeProcess {
            child,
            address,
            startup_log,
            log,
            _key_dir: key_dir,
        }
    }

    pub async fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let sent = Command::new("kill")
            .args([signal, &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// SIGTERM, then the exit status and everything the server logged.
    pub async fn stop(mut self) -> (ExitStatus, Vec<String>) {
        self.signal("-TERM").await;
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("serve stops within 30 s of SIGTERM")
            .unwrap();
        (status, self.log.await.unwrap())
    }

    /// SIGKILL: no chance to finish anything. Returns what it logged.
    pub async fn kill(mut self) -> Vec<String> {
        self.signal("-KILL").await;
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait())
            .await
            .expect("serve dies at SIGKILL")
            .unwrap();
        assert!(!status.success(), "{status:?}");
        self.log.await.unwrap()
    }
}
