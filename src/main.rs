//! The edge: parse the arguments, unlock the lake, then open the console or run headless.
//! Errors become AWS CLI exit codes here and nowhere else.

use std::io::{BufReader, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use lakectl::aws::Connection;
use lakectl::cli::commands::Command;
use lakectl::cli::output::{self, Format};
use lakectl::cli::{Context, script};
use lakectl::config::{self, Backend, Config, PassphraseSource};
use lakectl::local::{Lake, LakeDir};
use std::sync::Arc;

use lakectl::service::{Code, Principal, ServiceError};

/// A keyboard-driven console and a scriptable CLI for a secure, encrypted data lake.
///
/// With no command, lakectl opens the console. With a command (AWS CLI names: `kms create-key`,
/// `s3 cp`, ...) it runs it, prints the result (JSON shaped like the AWS CLI's) and exits with
/// the AWS CLI's codes: 0 success, 252 bad command line, 253 bad configuration, 254 the service
/// refused (access denied, not found, invalid state, integrity failure), 255 anything else.
///
/// The lake's passphrase comes from $LAKECTL_PASSPHRASE, --passphrase-file, or a prompt. The demo
/// lake's passphrase is `demo`.
///
/// With --backend aws the same commands run on AWS with the credentials the AWS CLI would use
/// (environment, profile, SSO, instance role), as that identity: --as cannot be someone else
/// there. What differs on AWS: `audit list` reads CloudTrail (at most 1,000 events), and `audit
/// verify` is CloudTrail's own (`aws cloudtrail validate-logs`); `glue get-job-run-log` points to
/// CloudWatch Logs;
/// `lakeformation explain` is worked out from what Lake Formation holds and leaves key use to
/// KMS; jobs and classification jobs run on Glue and Macie (no progress until they end) unless
/// a job is created --in-lakectl, and `--from-findings` is read when the job is created;
/// `iam create-principal` makes IAM users, while jobs, crawlers and registered locations name IAM
/// roles; `init` and `demo` are the local lake's. The README has the whole list.
///
/// Defaults set once go in $XDG_CONFIG_HOME/lakectl/config.toml (or $LAKECTL_CONFIG): `lake`,
/// `backend`, `profile`, `region`, `endpoint-url` and `output`, as `key = "value"` lines, and the
/// console's colours under `[theme]` (`accent`, `ok`, `warn`, `bad`, `dim`, `selected`: a name, an
/// index 0-255 or #RRGGBB). A flag or its environment variable overrides the file.
#[derive(Debug, Parser)]
#[command(name = "lakectl", version, disable_help_subcommand = true)]
struct Cli {
    /// The local lake [default: the config file's `lake`, else $XDG_DATA_HOME/lakectl/lake]
    #[arg(long, env = "LAKECTL_LAKE", global = true)]
    lake: Option<PathBuf>,
    /// Where the services run [default: the config file's `backend`, else local]
    #[arg(long, value_enum, env = "LAKECTL_BACKEND", global = true)]
    backend: Option<Backend>,
    /// AWS: the named profile [default: the AWS CLI's: $AWS_PROFILE, else `default`]
    #[arg(long, global = true)]
    profile: Option<String>,
    /// AWS: the region [default: $AWS_REGION, else the profile's]
    #[arg(long, global = true)]
    region: Option<String>,
    /// AWS: one endpoint for every service (moto, LocalStack); S3 is then addressed path-style
    #[arg(long, env = "AWS_ENDPOINT_URL", global = true)]
    endpoint_url: Option<String>,
    /// The acting principal
    #[arg(
        id = "acting_as",
        long = "as",
        value_name = "PRINCIPAL",
        env = "LAKECTL_PRINCIPAL",
        default_value = "admin",
        global = true
    )]
    acting_as: String,
    /// Output format [default: table on a terminal, json otherwise]
    #[arg(long, value_enum, global = true)]
    output: Option<Format>,
    /// A file holding the lake's passphrase (instead of $LAKECTL_PASSPHRASE or a prompt)
    #[arg(long, env = "LAKECTL_PASSPHRASE_FILE", global = true)]
    passphrase_file: Option<PathBuf>,
    /// Console: leave out every action that changes something
    #[arg(long)]
    readonly: bool,
    /// Console: open the demo lake, creating it on first use
    #[arg(long)]
    demo: bool,
    /// Demo: the masking scenario's source database, postgres://USER:PASSWORD@HOST:PORT/DATABASE
    /// (the demo makes its tables there; its credentials go into Secrets Manager for DMS).
    /// Without it, the demo makes an SQLite file
    #[arg(
        long,
        env = "LAKECTL_SOURCE_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    source_url: Option<String>,
    /// Run commands one a line from --script FILE or stdin; print one JSON object a line
    #[arg(long)]
    headless: bool,
    #[arg(long, requires = "headless")]
    script: Option<PathBuf>,
    /// Headless: go on after a failing line
    #[arg(long, requires = "headless")]
    keep_going: bool,
    #[command(subcommand)]
    command: Option<TopCommand>,
    /// `lakectl serve`'s flags, taken out of the command.
    #[arg(skip)]
    serve: Option<lakectl::server::ServeArgs>,
}

/// The lake's commands, and the few that only make sense from a shell (so the console's `:`
/// line, which parses `Command`, does not offer them).
#[derive(Debug, Subcommand)]
enum TopCommand {
    #[command(flatten)]
    Lake(Box<Command>),
    /// Print a completion script for a shell, e.g. `lakectl completion bash >
    /// ~/.local/share/bash-completion/completions/lakectl`
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print lakectl's man page (roff), e.g. `lakectl man | man -l -`
    Man,
    /// Serve the lake over the AWS wire protocols (S3, STS, IAM, ...) until SIGTERM or Ctrl-C:
    /// clients sign requests with access keys (`iam create-access-key`)
    Serve(lakectl::server::ServeArgs),
}

fn main() -> ExitCode {
    let mut cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return command_line_error(&e),
    };
    let command = match cli.command.take() {
        Some(TopCommand::Completion { shell }) => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "lakectl", &mut script);
            return print_generated(&script);
        }
        Some(TopCommand::Man) => {
            let mut page = Vec::new();
            return match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => print_generated(&page),
                Err(e) => {
                    eprintln!("cannot render the man page: {e}");
                    ExitCode::from(255)
                }
            };
        }
        Some(TopCommand::Lake(command)) => Some(*command),
        Some(TopCommand::Serve(args)) => {
            cli.serve = Some(args);
            None
        }
        None => None,
    };
    let config = match Config::load() {
        Ok(config) => config,
        Err(e) => {
            eprintln!(
                "{}",
                output::render_error(&e, cli.output.unwrap_or(Format::Json))
            );
            return ExitCode::from(e.code.exit_code() as u8);
        }
    };
    let _ = color_eyre::install();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(255);
        }
    };
    let format = output_format(&cli, &config);
    match runtime.block_on(run(cli, command, config)) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("{}", output::render_error(&err, format));
            ExitCode::from(err.code.exit_code() as u8)
        }
    }
}

/// A command line clap refused (or `--help`, `--version`, which go to stdout as text). The
/// error is JSON, as every other error, when the output asked for is: `--output json` on the
/// command line (read from the raw arguments, since they did not parse) or in the config file.
fn command_line_error(e: &clap::Error) -> ExitCode {
    if !e.use_stderr() {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "--output" => args.get(i + 1).map(String::as_str),
        _ => a.strip_prefix("--output="),
    });
    let json = match flag {
        Some(f) => f == "json",
        None => Config::load().is_ok_and(|c| c.output == Some(Format::Json)),
    };
    let text = e.render().to_string();
    if json {
        let err = ServiceError::new(Code::ParamValidation, text.trim());
        eprintln!("{}", output::render_error(&err, Format::Json));
    } else {
        // Plain text, made inert: the usage error quotes the argument, which may carry escapes.
        eprint!("{}", lakectl::terminal_text::inert_lines(&text));
    }
    ExitCode::from(252)
}

fn init_logging() {
    let Some(path) = config::log_file() else {
        return;
    };
    let Ok(file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    else {
        return;
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
}

/// Writes a completion script or the man page. They are made in memory first because the
/// generators panic on a write error; a reader that stops early (`| head`) is not an error.
fn print_generated(text: &[u8]) -> ExitCode {
    use std::io::Write;
    match std::io::stdout().lock().write_all(text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cannot write to standard output: {e}");
            ExitCode::from(255)
        }
    }
}

/// `--output`, else the config file's, else a table on a terminal and JSON otherwise.
fn output_format(cli: &Cli, config: &Config) -> Format {
    cli.output
        .or(config.output)
        .unwrap_or(if std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Json
        })
}

async fn run(mut cli: Cli, command: Option<Command>, config: Config) -> Result<u8, ServiceError> {
    let format = output_format(&cli, &config);
    let demo = cli.demo || matches!(command, Some(Command::Demo));
    if cli.source_url.is_some() && !demo {
        return Err(ServiceError::new(
            Code::ParamValidation,
            "--source-url is the demo's source database: give it with `lakectl demo` or `--demo`",
        ));
    }
    let demo_source = lakectl::demo::SourceDatabase::from_url(cli.source_url.take());
    let dir = LakeDir::new(match (cli.lake.clone().or(config.lake.clone()), demo) {
        (Some(dir), _) => dir,
        (None, true) => config::demo_lake(),
        (None, false) => config::default_lake(),
    });
    let source = PassphraseSource {
        file: cli.passphrase_file.as_deref(),
        demo,
    };
    let principal = Principal::new(cli.acting_as.clone());
    let print = |value: &serde_json::Value| {
        let text = output::render(value, format);
        if !text.is_empty() {
            println!("{text}");
        }
    };

    let open = || {
        // Say there is no lake before asking for its passphrase.
        if !dir.exists() {
            return Err(ServiceError::new(
                Code::LakeConfiguration,
                format!(
                    "{} is not a lake; create one with `lakectl init` or `lakectl demo`",
                    dir.root().display()
                ),
            ));
        }
        Lake::open(
            dir.clone(),
            &config::passphrase(&source, dir.root(), false)?,
        )
    };

    if let Some(args) = cli.serve.take() {
        if cli.backend.or(config.backend).unwrap_or(Backend::Local) != Backend::Local {
            return Err(ServiceError::new(
                Code::ParamValidation,
                "`serve` serves a local lake; --backend aws talks to one (or to AWS) instead",
            ));
        }
        let lake = open()?;
        lakectl::server::serve(lake, args, shutdown_signal()).await?;
        return Ok(0);
    }
    let services = match cli.backend.or(config.backend).unwrap_or(Backend::Local) {
        Backend::Aws => {
            if demo || matches!(command, Some(Command::Init)) {
                return Err(ServiceError::new(
                    Code::LakeConfiguration,
                    "`init` and `demo` make a local lake; to load the seeds into AWS, run assets/scenarios/*.lake with --backend aws --headless --script",
                ));
            }
            let connection = Connection {
                profile: cli.profile.clone().or(config.profile),
                region: cli.region.clone().or(config.region),
                endpoint_url: cli.endpoint_url.clone().or(config.endpoint_url),
            };
            lakectl::aws::connect(connection).await?.services()
        }
        Backend::Local => match &command {
            Some(Command::Init) => {
                let lake =
                    Lake::init(dir.clone(), &config::passphrase(&source, dir.root(), true)?)?;
                print(
                    &serde_json::json!({"Lake": dir.root(), "AccountId": lake.account_id(), "Principal": "admin"}),
                );
                return Ok(0);
            }
            Some(Command::Demo) => {
                let (_, scenarios) = create_demo(&dir, &source, &demo_source).await?;
                print(&serde_json::json!({"Lake": dir.root(), "Scenarios": scenarios}));
                return Ok(0);
            }
            None if cli.demo && !cli.headless && !dir.exists() => {
                create_demo(&dir, &source, &demo_source).await?.0.services()
            }
            _ => open()?.services(),
        },
    };

    lakectl::tui::theme::use_palette(config.theme.unwrap_or_default());
    let outcome = run_with(cli, command, &services, &principal, &print).await;
    // A job run this process executes (`--in-lakectl` on AWS) ends before the process does.
    services.workflows.runs_here_ended().await;
    services.jobs.runs_here_ended().await;
    outcome
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT): the server then drains.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn run_with(
    cli: Cli,
    command: Option<Command>,
    services: &lakectl::service::Services,
    principal: &Principal,
    print: &dyn Fn(&serde_json::Value),
) -> Result<u8, ServiceError> {
    match command {
        Some(cmd) => {
            let reply = Context::new(services, principal).run(cmd).await?;
            print(&reply.value);
            for warning in &reply.warnings {
                eprintln!("warning: {warning}");
            }
            Ok(reply.exit_code)
        }
        None if cli.headless => {
            let ctx = Context::for_headless(services, principal);
            let code = match &cli.script {
                Some(path) => {
                    let file = std::fs::File::open(path).map_err(|e| {
                        ServiceError::local_io(&format!("cannot read {}", path.display()), &e)
                    })?;
                    script::run(&ctx, &mut BufReader::new(file), cli.keep_going).await
                }
                None => script::run(&ctx, &mut std::io::stdin().lock(), cli.keep_going).await,
            };
            Ok(code as u8)
        }
        None => {
            let options = lakectl::tui::Options {
                readonly: cli.readonly,
            };
            lakectl::tui::run(services.clone(), principal.clone(), options)
                .await
                .map_err(|e| ServiceError::new(Code::LakeConfiguration, e.to_string()))?;
            Ok(0)
        }
    }
}

/// A new lake with both seed scenarios loaded.
async fn create_demo(
    dir: &LakeDir,
    source: &PassphraseSource<'_>,
    database: &lakectl::demo::SourceDatabase,
) -> Result<(Arc<Lake>, Vec<String>), ServiceError> {
    let lake = Lake::init(dir.clone(), &config::passphrase(source, dir.root(), true)?)?;
    let services = lake.services();
    let scenarios =
        lakectl::demo::load(&Context::new(&services, &Principal::new("admin")), database).await?;
    Ok((lake, scenarios))
}
