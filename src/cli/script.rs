//! `--headless`: runs commands one a line from a file or stdin and prints one JSON object a line,
//! so a script's outcome can be read by another program line by line.

use std::io::BufRead;

use serde_json::json;

use super::{Context, output, parse_line};
use crate::service::{Code, ServiceError};

/// Replaces `$VAR` and `${VAR}` with the environment's value (`$ACCOUNT`, unless set, is the
/// backend's account); an unset variable is an error, so a typo cannot become an empty argument.
/// IAM policy variables (`${aws:username}`) are not environment variables and stay as written.
pub fn expand_vars(line: &str) -> Result<String, String> {
    expand_with(line, |name| std::env::var(name).ok())
}

/// `expand_vars` with the variables looked up by `lookup`.
pub fn expand_with(line: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '$' {
            out.push(c);
            continue;
        }
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&n) = chars.peek() {
            if n.is_ascii_alphanumeric() || n == '_' {
                name.push(n);
                chars.next();
            } else {
                break;
            }
        }
        // `${aws:username}` and the like are IAM policy variables, left for the policy.
        if braced && chars.peek() == Some(&':') {
            out.push_str("${");
            out.push_str(&name);
            for n in chars.by_ref() {
                out.push(n);
                if n == '}' {
                    break;
                }
            }
            continue;
        }
        if braced && chars.next() != Some('}') {
            return Err(format!("unterminated ${{{name}"));
        }
        if name.is_empty() {
            out.push('$');
            continue;
        }
        match lookup(&name) {
            Some(v) => out.push_str(&v),
            None => return Err(format!("${name} is not set in the environment")),
        }
    }
    Ok(out)
}

/// Runs the script; returns the exit code of the first failure (0 when every line succeeded).
pub async fn run(ctx: &Context<'_>, input: &mut dyn BufRead, keep_going: bool) -> i32 {
    let mut first_failure = 0;
    for (index, line) in input.lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                eprintln!(
                    "{}",
                    output::render_error(
                        &ServiceError::local_io("cannot read the script", &e),
                        output::Format::Json
                    )
                );
                return 255;
            }
        };
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let account = &ctx.services.backend.account;
        let lookup = |name: &str| {
            std::env::var(name)
                .ok()
                .or_else(|| (name == "ACCOUNT").then(|| account.clone()))
        };
        let outcome = match expand_with(text, lookup).and_then(|l| parse_line(&l)) {
            Err(usage) => Err((
                ServiceError::new(Code::ParamValidation, usage.trim().to_string()),
                252,
            )),
            Ok(cmd) => ctx.run(cmd).await.map_err(|e| {
                let code = e.code.exit_code();
                (e, code)
            }),
        };
        let record = match outcome {
            Ok(reply) if reply.exit_code == 0 && reply.warnings.is_empty() => {
                json!({"line": number, "command": text, "ok": true, "result": reply.value})
            }
            // It ran, and said something or ended in a state a script must see (a run that
            // FAILED, keys skipped): the answer, the warnings, and the exit code it calls for.
            Ok(reply) => {
                if first_failure == 0 {
                    first_failure = i32::from(reply.exit_code);
                }
                json!({"line": number, "command": text, "ok": reply.exit_code == 0,
                       "result": reply.value, "warnings": reply.warnings,
                       "exitCode": reply.exit_code})
            }
            Err((err, code)) => {
                if first_failure == 0 {
                    first_failure = code;
                }
                json!({"line": number, "command": text, "ok": false, "error": {"Code": err.code_name(), "Message": err.message}})
            }
        };
        println!("{}", output::json_line(&record));
        if first_failure != 0 && !keep_going {
            break;
        }
    }
    first_failure
}

#[cfg(test)]
mod tests {
    use super::expand_with;

    #[test]
    fn variables_expand_and_policy_variables_stay() {
        let lookup = |n: &str| (n == "ACCOUNT").then(|| "123".to_string());
        assert_eq!(
            expand_with("arn:$ACCOUNT:${ACCOUNT}/${aws:username}/*", lookup).unwrap(),
            "arn:123:123/${aws:username}/*"
        );
        assert!(expand_with("$MISSING", lookup).is_err());
        assert!(expand_with("${ACCOUNT", lookup).is_err());
    }
}
