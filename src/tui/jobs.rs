//! A job: one piece of service work the console runs off its event loop, with a label for the
//! status bar and a progress handle. Built by `actions.rs`, run by the App after confirmation.

use futures::future::BoxFuture;

use crate::service::{Principal, Progress, Result, Services};

pub struct JobContext {
    pub services: Services,
    pub principal: Principal,
    pub progress: Progress,
}

/// What a finished job has to show.
pub enum JobOutcome {
    /// A line in the status bar.
    Message(String),
    /// A popup with text (command output, key details).
    Text { title: String, body: String },
    /// A secret's value, revealed on request: shown in its own popup, wiped when it closes.
    Secret(Box<super::secrets::SecretView>),
}

type Run = Box<dyn FnOnce(JobContext) -> BoxFuture<'static, Result<JobOutcome>> + Send>;

pub struct Job {
    pub label: String,
    pub run: Run,
}

impl Job {
    pub fn new<F>(label: impl Into<String>, run: F) -> Job
    where
        F: FnOnce(JobContext) -> BoxFuture<'static, Result<JobOutcome>> + Send + 'static,
    {
        Job {
            label: label.into(),
            run: Box::new(run),
        }
    }
}

/// Quotes words for display the way a shell would need them.
pub fn command_text(words: &[String]) -> String {
    format!("lakectl {}", shell_words::join(words))
}

impl Job {
    /// A job that runs one CLI command through the same executor as `lakectl` itself. With
    /// `show_output` its JSON answer is shown; otherwise a line in the status bar says it is done.
    pub fn command(label: impl Into<String>, words: Vec<String>, show_output: bool) -> Job {
        let label = label.into();
        let title = label.clone();
        Job::new(label, move |ctx| {
            Box::pin(async move {
                let cmd = crate::cli::commands::Command::from_words(&words)?;
                let cli = crate::cli::Context::for_console(
                    &ctx.services,
                    &ctx.principal,
                    ctx.progress.clone(),
                );
                let reply = cli.run(cmd).await?;
                // What the shell would say on stderr and in its exit code, said here.
                let mut said: Vec<String> = reply
                    .warnings
                    .iter()
                    .map(|w| format!("warning: {w}"))
                    .collect();
                if reply.exit_code != 0 {
                    said.insert(0, format!("ended with exit code {}", reply.exit_code));
                }
                Ok(if show_output {
                    let json = crate::cli::output::json_pretty(&reply.value);
                    let body = if said.is_empty() {
                        json
                    } else {
                        format!("{}\n{json}", said.join("\n"))
                    };
                    JobOutcome::Text { title, body }
                } else if said.is_empty() {
                    JobOutcome::Message(format!("done: {}", command_text(&words)))
                } else {
                    JobOutcome::Message(format!("{}: {}", command_text(&words), said.join("; ")))
                })
            })
        })
    }
}
