//! Where things are and how the lake is unlocked: the lake directory (`--lake`, `$LAKECTL_LAKE`,
//! else the XDG data dir), the demo lake, the log file, and the passphrase, which is read from
//! `$LAKECTL_PASSPHRASE`, a file, or the terminal, and never from the command line (where `ps`
//! would show it). The defaults people set once (lake, backend, profile, region, endpoint,
//! output, the console's colours) live in `$XDG_CONFIG_HOME/lakectl/config.toml`, as k9s and gitui keep theirs; a flag
//! or its environment variable overrides the file.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::output::Format;
use crate::service::{Code, Result, ServiceError};

/// Where the services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded lake in --lake DIR
    Local,
    /// S3, KMS, Glue, Lake Formation, Athena and Macie, with the AWS CLI's credentials
    Aws,
}

/// `config.toml`: every key optional, unknown keys refused (a misspelt key would otherwise be
/// silently ignored).
#[derive(Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub lake: Option<PathBuf>,
    pub backend: Option<Backend>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub output: Option<Format>,
    /// The console's colours (`[theme]`: accent, ok, warn, bad, dim, selected).
    pub theme: Option<crate::tui::theme::Palette>,
}

/// `$LAKECTL_CONFIG`, else `$XDG_CONFIG_HOME/lakectl/config.toml`.
pub fn config_file() -> Option<PathBuf> {
    match std::env::var_os("LAKECTL_CONFIG") {
        Some(path) => Some(PathBuf::from(path)),
        None => dirs::config_dir().map(|d| d.join("lakectl").join("config.toml")),
    }
}

impl Config {
    /// The config file's settings; none when there is no file. A file that does not parse is an
    /// error that names it, never a silent fallback to defaults.
    pub fn load() -> Result<Config> {
        match config_file() {
            Some(path) => Config::read(&path),
            None => Ok(Config::default()),
        }
    }

    pub fn read(path: &Path) -> Result<Config> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(ServiceError::new(
                    Code::LakeConfiguration,
                    format!("cannot read the config file {}: {e}", path.display()),
                ));
            }
        };
        toml::from_str(&text).map_err(|e| {
            ServiceError::new(
                Code::LakeConfiguration,
                format!("the config file {} is not valid: {e}", path.display()),
            )
        })
    }
}

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

/// A passphrase is a line, not a file's worth: reading stops past this many bytes (so
/// `--passphrase-file /dev/zero` is an error, not a process that fills memory).
const PASSPHRASE_FILE_MAX: u64 = 4096;

fn read_passphrase_file(file: &Path) -> Result<String> {
    use std::io::Read;
    let unreadable = |e: &dyn std::fmt::Display| {
        ServiceError::new(
            Code::LakeConfiguration,
            format!("cannot read the passphrase file {}: {e}", file.display()),
        )
    };
    let mut text = String::new();
    std::fs::File::open(file)
        .and_then(|f| f.take(PASSPHRASE_FILE_MAX + 1).read_to_string(&mut text))
        .map_err(|e| unreadable(&e))?;
    if text.len() as u64 > PASSPHRASE_FILE_MAX {
        return Err(unreadable(&format_args!(
            "it is longer than {PASSPHRASE_FILE_MAX} bytes; it should hold the passphrase alone"
        )));
    }
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

/// `--passphrase-file` first (a flag given on this command line beats the environment, as every
/// other flag does), then `$LAKECTL_PASSPHRASE`, the demo's, and last a prompt on a terminal.
pub fn passphrase(src: &PassphraseSource, lake: &Path, creating: bool) -> Result<String> {
    if let Some(file) = src.file {
        return read_passphrase_file(file);
    }
    if let Ok(p) = std::env::var("LAKECTL_PASSPHRASE") {
        return Ok(p);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_reads_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "lake = \"/srv/lake\"\nbackend = \"aws\"\nprofile = \"p\"\nregion = \"eu-west-1\"\nendpoint-url = \"http://127.0.0.1:5000\"\noutput = \"table\"\n",
        )
        .unwrap();
        assert_eq!(
            Config::read(&path).unwrap(),
            Config {
                lake: Some("/srv/lake".into()),
                backend: Some(Backend::Aws),
                profile: Some("p".into()),
                region: Some("eu-west-1".into()),
                endpoint_url: Some("http://127.0.0.1:5000".into()),
                output: Some(Format::Table),
                theme: None,
            }
        );
        std::fs::write(&path, "regoin = \"eu-west-1\"\n").unwrap();
        let e = Config::read(&path).unwrap_err();
        assert_eq!(e.code, Code::LakeConfiguration);
        assert!(e.message.contains("regoin"), "{}", e.message);
        assert!(e.message.contains(&path.display().to_string()));
        assert_eq!(
            Config::read(&dir.path().join("absent.toml")).unwrap(),
            Config::default()
        );
    }
}
