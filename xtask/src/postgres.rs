//! A throwaway PostgreSQL 15 cluster for the bindings' tests of logs kept in
//! PostgreSQL: made in a temporary folder, run as the `postgres` user (the server
//! refuses root), stopped and removed when dropped. The CLI's own PostgreSQL tests
//! (cli/tests/postgres.rs) start one per test instead, because they crash theirs.

use std::path::PathBuf;
use std::process::Command;

use crate::tools;
use crate::util::{Result, run};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// A running cluster; its superuser is `postgres` with password `superpw`.
pub(crate) struct Cluster {
    dir: PathBuf,
    port: u16,
}

impl Cluster {
    /// Installs PostgreSQL 15 when missing, then makes and starts a cluster. Tests
    /// run it with fsync off (faster; only a power loss would lose a commit);
    /// benchmarks with `durable`, as a production server runs.
    pub(crate) fn start(name: &str, durable: bool) -> Result<Cluster> {
        tools::ensure_apt(&[(&format!("{BIN}/initdb"), "postgresql-15"), ("psql", "postgresql-client-15")])?;
        // Short: a Unix socket's path is limited to about 107 bytes.
        let dir = PathBuf::from(format!("/tmp/evpg-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock"))?;
        std::fs::write(dir.join("pwfile"), "superpw\n")?;
        run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let cluster = Cluster { dir, port };
        let data = cluster.dir.join("data");
        cluster.as_postgres(&[
            &format!("{BIN}/initdb"),
            "-N",
            "-A",
            "scram-sha-256",
            "-U",
            "postgres",
            &format!("--pwfile={}/pwfile", cluster.dir.display()),
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "-D",
            &data.to_string_lossy(),
        ])?;
        let mut options = format!("-p {port} -k {}/sock -c listen_addresses=127.0.0.1", cluster.dir.display());
        if !durable {
            options.push_str(" -c fsync=off -c full_page_writes=off");
        }
        let log = cluster.dir.join("server.log");
        cluster.as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            &data.to_string_lossy(),
            "-l",
            &log.to_string_lossy(),
            "-w",
            "-o",
            &options,
            "start",
        ])?;
        Ok(cluster)
    }

    fn as_postgres(&self, args: &[&str]) -> Result<()> {
        run(Command::new("runuser").args(["-u", "postgres", "--"]).args(args))
    }

    /// The server's URL up to the database name.
    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres:superpw@127.0.0.1:{}/", self.port)
    }

    /// What the bindings' tests take in EVIDENTIA_TEST_POSTGRES: the server's URL
    /// up to the database name, whose databases `receipts` and `batch` are made
    /// new and empty, one per log mode.
    pub(crate) fn server(&self) -> Result<String> {
        let server = self.url();
        for database in ["receipts", "batch"] {
            for sql in [format!("DROP DATABASE IF EXISTS {database}"), format!("CREATE DATABASE {database}")] {
                let admin = format!("{server}postgres");
                run(Command::new("psql").args(["-X", "-q", "-v", "ON_ERROR_STOP=1", &admin, "-c", &sql]))?;
            }
        }
        Ok(server)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{BIN}/pg_ctl"), "-D"])
            .arg(&data)
            .args(["-m", "fast", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
