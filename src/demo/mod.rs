//! The demo lake: the seed scenarios' scripts (`assets/scenarios/*.lake`) run against a new lake,
//! with their data files from `assets/demo/`. Both are compiled into the binary, so `lakectl
//! demo` and `lakectl --demo` work from any directory. The masking scenario's tables start in a
//! source database (`source.rs`) that the script replicates with DMS.

mod source;

pub use source::SourceDatabase;

use std::io::BufRead;

use crate::cli::{Context, parse_line, script};
use crate::service::{Code, Result, ServiceError};

pub struct Scenario {
    pub name: &'static str,
    pub script: &'static str,
}

pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "encrypted-data-lake",
        script: include_str!("../../assets/scenarios/encrypted-data-lake.lake"),
    },
    Scenario {
        name: "masking-and-fine-grained-access",
        script: include_str!("../../assets/scenarios/masking-and-fine-grained-access.lake"),
    },
];

/// The first scenario's upload; the masking scenario's files fill its source database.
const DATA_FILES: &[(&str, &str)] = &[("data.json", include_str!("../../assets/demo/data.json"))];

/// Runs every scenario; `$DATA` in a script names the directory holding the demo's data files,
/// `$SOURCE_ENDPOINT` the source database's engine and settings.
pub async fn load(ctx: &Context<'_>, source: &SourceDatabase) -> Result<Vec<String>> {
    let data = tempfile::tempdir()
        .map_err(|e| ServiceError::local_io("cannot create a temporary directory", &e))?;
    for (name, content) in DATA_FILES {
        std::fs::write(data.path().join(name), content)
            .map_err(|e| ServiceError::local_io("cannot write demo data", &e))?;
    }
    let source_endpoint = source.make(ctx, data.path()).await?;
    let dir = data.path().display().to_string();
    let mut done = Vec::new();
    for scenario in SCENARIOS {
        for (index, line) in scenario.script.as_bytes().lines().enumerate() {
            let line = line.map_err(|e| ServiceError::local_io("cannot read a scenario", &e))?;
            let text = line.trim();
            if text.is_empty() || text.starts_with('#') {
                continue;
            }
            let fail = |m: String| {
                ServiceError::new(
                    Code::Internal,
                    format!("scenario {} line {}: {m}", scenario.name, index + 1),
                )
            };
            let account = &ctx.services.backend.account;
            let expanded = script::expand_with(text, |name| match name {
                "DATA" => Some(dir.clone()),
                "ACCOUNT" => Some(account.clone()),
                "SOURCE_ENDPOINT" => Some(source_endpoint.clone()),
                // The local lake runs DMS tasks itself: no replication instance.
                "REPLICATION_INSTANCE_OPTION" => Some(String::new()),
                _ => None,
            })
            .map_err(fail)?;
            let cmd = parse_line(&expanded).map_err(fail)?;
            ctx.execute(cmd).await.map_err(|e| fail(e.to_string()))?;
        }
        done.push(scenario.name.to_string());
    }
    Ok(done)
}
