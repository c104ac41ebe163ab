//! The private local PostgreSQL cluster used when no `DATABASE_URL` is given.
//!
//! Layout under the data directory: `pgdata/` (the cluster), `run/` (its unix socket; no TCP
//! port is opened, so a busy 5432 does not matter) and `log/postgres.log`. The cluster is
//! created on first use, started if it is not running, and reused if it is (by another
//! chatgraph process or a test). `initdb` and `postgres` refuse to run as root, so when
//! chatgraph runs as root the cluster belongs to the `postgres` OS user. Only the cluster's
//! owner (and root) can reach the socket: its directory is private and local connections are
//! trusted.

use std::{
    fs,
    os::unix::{fs::PermissionsExt, process::CommandExt},
    path::{Path, PathBuf},
    process::{Command, Output},
};

use anyhow::{Context, bail};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use secrecy::SecretString;

/// Longest unix socket path the kernel accepts (sun_path is 108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;
/// The socket file name PostgreSQL uses for its default port.
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// A local cluster: where it lives and which binaries run it.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    root: PathBuf,
    pg_bin: PathBuf,
    owner: Option<nix::unistd::User>,
}

impl LocalCluster {
    /// Describes the cluster under `root`, using the server binaries in `pg_bin`. Nothing is
    /// created or started yet.
    pub fn new(root: &Path, pg_bin: &Path) -> anyhow::Result<Self> {
        fs::create_dir_all(root).with_context(|| format!("creating data directory {}", root.display()))?;
        let root = fs::canonicalize(root)?;
        for tool in ["initdb", "pg_ctl", "postgres"] {
            if !pg_bin.join(tool).is_file() {
                bail!(
                    "PostgreSQL server binaries not found in {} (run `make setup`, set CHATGRAPH_PG_BIN, \
                     or set DATABASE_URL to use an existing server)",
                    pg_bin.display()
                );
            }
        }
        let owner = if nix::unistd::geteuid().is_root() {
            let user = nix::unistd::User::from_name("postgres")?
                .context("running as root needs the `postgres` OS user to own the local cluster")?;
            Some(user)
        } else {
            None
        };
        let cluster = LocalCluster {
            root,
            pg_bin: pg_bin.to_owned(),
            owner,
        };
        let socket = cluster.socket_dir().join(SOCKET_FILE);
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the socket path {} is too long for a unix socket; choose a shorter CHATGRAPH_DATA_DIR",
                socket.display()
            );
        }
        Ok(cluster)
    }

    /// The directory holding the cluster's files.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("pgdata")
    }

    /// The directory holding the cluster's unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    fn log_file(&self) -> PathBuf {
        self.root.join("log").join("postgres.log")
    }

    /// The connection URL of `database` in this cluster (as the `postgres` superuser).
    pub fn url(&self, database: &str) -> SecretString {
        let host = utf8_percent_encode(&self.socket_dir().to_string_lossy(), NON_ALPHANUMERIC).to_string();
        SecretString::from(format!("postgres://postgres@{host}/{database}"))
    }

    /// Creates the cluster if needed and starts it if it is not running. Returns true when
    /// this call started it (so the caller should stop it when done). Safe to call from several
    /// processes at once: they serialise on a lock file.
    pub fn ensure_running(&self) -> anyhow::Result<bool> {
        let lock = fs::File::create(self.root.join("cluster.lock"))?;
        lock.lock()?;
        if !self.data_dir().join("PG_VERSION").exists() {
            self.init()?;
        }
        if self.is_running()? {
            return Ok(false);
        }
        for dir in [self.socket_dir(), self.root.join("log")] {
            self.private_dir(&dir)?;
        }
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700",
            self.socket_dir().display()
        );
        let data_dir = self.data_dir();
        let log_file = self.log_file();
        self.run_checked("pg_ctl", |cmd| {
            cmd.arg("start").arg("-w").arg("-t").arg("60").arg("-D").arg(&data_dir);
            cmd.arg("-l").arg(&log_file).arg("-o").arg(&options);
        })
        .with_context(|| format!("starting PostgreSQL (its log: {})", self.log_file().display()))?;
        tracing::info!(cluster.dir = %self.root.display(), "local PostgreSQL cluster started");
        Ok(true)
    }

    /// Whether the cluster's server is running.
    pub fn is_running(&self) -> anyhow::Result<bool> {
        if !self.data_dir().join("PG_VERSION").exists() {
            return Ok(false);
        }
        let data_dir = self.data_dir();
        let output = self.run("pg_ctl", |cmd| {
            cmd.arg("status").arg("-D").arg(&data_dir);
        })?;
        // pg_ctl status: 0 running, 3 not running, 4 no accessible data directory.
        Ok(output.status.success())
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back, data is safe).
    pub fn stop(&self) -> anyhow::Result<()> {
        if !self.is_running()? {
            return Ok(());
        }
        let data_dir = self.data_dir();
        self.run_checked("pg_ctl", |cmd| {
            cmd.arg("stop").arg("-w").arg("-m").arg("fast").arg("-D").arg(&data_dir);
        })?;
        tracing::info!(cluster.dir = %self.root.display(), "local PostgreSQL cluster stopped");
        Ok(())
    }

    fn init(&self) -> anyhow::Result<()> {
        let data_dir = self.data_dir();
        self.private_dir(&data_dir)?;
        self.run_checked("initdb", |cmd| {
            cmd.arg("-D")
                .arg(&data_dir)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale"]);
        })
        .context("creating the local PostgreSQL cluster")?;
        tracing::info!(cluster.dir = %self.root.display(), "local PostgreSQL cluster created");
        Ok(())
    }

    /// Creates `dir` readable only by the cluster's owner.
    fn private_dir(&self, dir: &Path) -> anyhow::Result<()> {
        fs::create_dir_all(dir)?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        if let Some(owner) = &self.owner {
            nix::unistd::chown(dir, Some(owner.uid), Some(owner.gid))
                .with_context(|| format!("giving {} to the postgres user", dir.display()))?;
        }
        Ok(())
    }

    fn run(&self, tool: &str, args: impl FnOnce(&mut Command)) -> anyhow::Result<Output> {
        let mut cmd = Command::new(self.pg_bin.join(tool));
        args(&mut cmd);
        // A process group of its own: a Ctrl-C meant for chatgraph must not reach pg_ctl or the
        // server; chatgraph stops the cluster itself, cleanly.
        cmd.current_dir(&self.root).env_remove("PGDATA").process_group(0);
        if let Some(owner) = &self.owner {
            cmd.uid(owner.uid.as_raw())
                .gid(owner.gid.as_raw())
                .env("HOME", &owner.dir);
        }
        cmd.output().with_context(|| format!("running {tool}"))
    }

    fn run_checked(&self, tool: &str, args: impl FnOnce(&mut Command)) -> anyhow::Result<()> {
        let output = self.run(tool, args)?;
        if !output.status.success() {
            bail!(
                "{tool} failed ({}): {}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout).trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(())
    }
}

/// Creates `database` if it does not exist yet; returns true when it was created.
pub async fn create_database_if_missing(server_url: &SecretString, database: &str) -> anyhow::Result<bool> {
    use diesel::{OptionalExtension, sql_types::Text};
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    use secrecy::ExposeSecret;

    let mut conn = AsyncPgConnection::establish(server_url.expose_secret()).await?;
    let exists: Option<i32> = diesel::sql_query("SELECT 1 AS one FROM pg_database WHERE datname = $1")
        .bind::<Text, _>(database)
        .get_result::<One>(&mut conn)
        .await
        .optional()?
        .map(|one| one.one);
    if exists.is_some() {
        return Ok(false);
    }
    diesel::sql_query(format!("CREATE DATABASE {}", quote_ident(database)))
        .execute(&mut conn)
        .await?;
    Ok(true)
}

#[derive(diesel::deserialize::QueryableByName)]
struct One {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    one: i32,
}

/// Quotes an SQL identifier (database names cannot be bound as parameters).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
