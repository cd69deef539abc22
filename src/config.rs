//! Where things are and how the lake is unlocked: the lake directory (`--lake`, `$LAKECTL_LAKE`,
//! else the XDG data dir), the demo lake, the log file, and the passphrase, which is read from
//! `$LAKECTL_PASSPHRASE`, a file, or the terminal, and never from the command line (where `ps`
//! would show it).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crate::service::{Code, Result, ServiceError};

/// The passphrase of the demo lake. The demo holds only generated data; this is said in the
/// README, and `LAKECTL_PASSPHRASE` overrides it.
pub const DEMO_PASSPHRASE: &str = "demo";

pub fn data_dir() -> PathBuf {
    dirs::data_dir()
        .unwrap_or_else(|| PathBuf::from("."))
        .join("lakectl")
}

pub fn default_lake() -> PathBuf {
    data_dir().join("lake")
}

pub fn demo_lake() -> PathBuf {
    data_dir().join("demo")
}

/// Logs go to a file, never to the terminal the console draws on.
pub fn log_file() -> Option<PathBuf> {
    let dir = dirs::state_dir()
        .or_else(dirs::data_local_dir)?
        .join("lakectl");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir.join("lakectl.log"))
}

pub struct PassphraseSource<'a> {
    pub file: Option<&'a Path>,
    pub demo: bool,
}

pub fn passphrase(src: &PassphraseSource, lake: &Path, creating: bool) -> Result<String> {
    if let Ok(p) = std::env::var("LAKECTL_PASSPHRASE") {
        return Ok(p);
    }
    if let Some(file) = src.file {
        let text = std::fs::read_to_string(file).map_err(|e| {
            ServiceError::new(
                Code::LakeConfiguration,
                format!("cannot read the passphrase file {}: {e}", file.display()),
            )
        })?;
        return Ok(text.trim_end_matches(['\n', '\r']).to_string());
    }
    if src.demo {
        return Ok(DEMO_PASSPHRASE.to_string());
    }
    if std::io::stdin().is_terminal() || std::io::stderr().is_terminal() {
        let prompt = |p: &str| {
            rpassword::prompt_password(p).map_err(|e| {
                ServiceError::new(
                    Code::LakeConfiguration,
                    format!("cannot read the passphrase: {e}"),
                )
            })
        };
        let first = prompt(&format!("Passphrase for the lake at {}: ", lake.display()))?;
        if creating && prompt("Repeat it: ")? != first {
            return Err(ServiceError::new(
                Code::LakeConfiguration,
                "the two passphrases differ",
            ));
        }
        return Ok(first);
    }
    Err(ServiceError::new(
        Code::LakeConfiguration,
        "the lake needs its passphrase: set LAKECTL_PASSPHRASE or pass --passphrase-file FILE",
    ))
}
