//! A real PostgreSQL server for the DMS tests, started once per test process as moto is:
//! initdb into a temporary directory, `wal_level=logical`, listening on 127.0.0.1 at a free port,
//! run as the `postgres` user when the tests run as root. TCP connections authenticate by
//! SCRAM password (so a wrong password is really refused); the fixture itself administers the
//! server through its Unix socket. Debian's `postgresql` package is installed when the binaries
//! are missing. The server stops when the test process ends: a watchdog shell waits on its
//! stdin, which closes with the process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    pub port: u16,
    /// The Unix socket's directory (and the cluster's parent directory).
    pub socket_dir: PathBuf,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

/// A database of its own for one test, owned by a role that logs in with a password over TCP
/// and may create replication slots.
pub struct Database {
    pub name: String,
    pub user: String,
    pub password: String,
    pub port: u16,
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

fn bin(name: &str) -> PathBuf {
    let path = Path::new(BIN).join(name);
    if !path.exists() {
        static INSTALL: OnceLock<()> = OnceLock::new();
        INSTALL.get_or_init(|| {
            let ok = |c: &mut Command| c.status().is_ok_and(|s| s.success());
            assert!(
                ok(Command::new("apt-get").arg("update").arg("-q"))
                    && ok(Command::new("apt-get")
                        .args(["install", "-y", "-q", "postgresql"])
                        .env("DEBIAN_FRONTEND", "noninteractive")),
                "PostgreSQL is missing under {BIN} and apt-get could not install it"
            );
        });
    }
    path
}

/// A command run as the `postgres` user when we are root (initdb and postgres refuse root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(|| {
        let initdb = bin("initdb");
        let dir = tempfile::Builder::new()
            .prefix("lakectl-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if is_root() {
            assert!(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir)
                    .status()
                    .unwrap()
                    .success()
            );
        }
        let data = dir.join("data");
        let out = as_postgres(&initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--no-sync",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             wal_level = logical\nmax_replication_slots = 64\nmax_wal_senders = 64\n\
             fsync = off\nsynchronous_commit = on\nmax_connections = 200\n\
             password_encryption = 'scram-sha-256'\n",
            dir.display()
        );
        std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap()
            .write_all(conf.as_bytes())
            .unwrap();
        // The watchdog: runs the server, and stops it (fast shutdown) and removes the cluster
        // when its stdin closes, that is when the test process ends however it ends.
        let script = format!(
            "'{pg}' -D '{data}' >'{dir}/log' 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf '{dir}'",
            pg = bin("postgres").display(),
            data = data.display(),
            dir = dir.display()
        );
        let mut child = as_postgres(Path::new("/bin/sh"))
            .args(["-c", &script])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the PostgreSQL watchdog starts");
        let stdin = child.stdin.take().unwrap();
        let server = Postgres {
            port,
            socket_dir: dir.clone(),
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        };
        let started = Instant::now();
        while !server.try_psql("postgres", "postgres", "SELECT 1").0 {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    })
}

impl Postgres {
    fn try_psql(&self, db: &str, user: &str, sql: &str) -> (bool, String) {
        let out = Command::new("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg("-h")
            .arg(&self.socket_dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        (out.status.success(), text)
    }

    /// Runs SQL as `user` in `db` over the Unix socket; panics with PostgreSQL's words if it
    /// fails. Answers psql's unaligned output.
    pub fn psql(&self, db: &str, user: &str, sql: &str) -> String {
        let (ok, text) = self.try_psql(db, user, sql);
        assert!(ok, "psql failed: {text}");
        text
    }
}

/// A fresh database with its owner role (password-authenticated over TCP, REPLICATION).
pub fn database(prefix: &str) -> Database {
    static N: AtomicU32 = AtomicU32::new(0);
    let pg = postgres();
    let n = N.fetch_add(1, Ordering::Relaxed);
    let name = format!("{prefix}_{}_{n}", std::process::id());
    let user = format!("{name}_owner");
    let mut bytes = [0u8; 12];
    for b in bytes.iter_mut() {
        *b = fastrand_byte();
    }
    let password = format!("pw-{}", hex::encode(bytes));
    pg.psql(
        "postgres",
        "postgres",
        &format!("CREATE ROLE {user} LOGIN REPLICATION PASSWORD '{password}'"),
    );
    pg.psql(
        "postgres",
        "postgres",
        &format!("CREATE DATABASE {name} OWNER {user}"),
    );
    Database {
        name,
        user,
        password,
        port: pg.port,
    }
}

fn fastrand_byte() -> u8 {
    let mut b = [0u8; 1];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut b))
        .unwrap();
    b[0]
}

impl Database {
    /// SQL as the database's owner.
    pub fn sql(&self, sql: &str) -> String {
        postgres().psql(&self.name, &self.user, sql)
    }

    /// DMS's secret shape for this database.
    pub fn secret(&self) -> String {
        serde_json::json!({
            "username": self.user,
            "password": self.password,
            "host": "127.0.0.1",
            "port": self.port,
        })
        .to_string()
    }
}
