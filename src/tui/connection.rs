//! Where the console is connected: on AWS, `:profile NAME` and `:region NAME` build new services
//! for another identity or region and the panes reload from them. The process environment is
//! never touched, so nothing else in the process changes identity.

use super::app::{App, Msg};
use crate::service::{Code, ServiceError};

/// `:profile NAME` or `:region NAME`: the console's own commands, which reconnect rather than
/// call a service.
pub(super) fn change(line: &str) -> Option<(Option<String>, Option<String>)> {
    let mut words = line.split_whitespace();
    let (verb, value) = (words.next()?, words.next()?.to_string());
    if words.next().is_some() {
        return None;
    }
    match verb {
        "profile" => Some((Some(value), None)),
        "region" => Some((None, Some(value))),
        _ => None,
    }
}

impl App {
    /// Connects again with another profile or region; the panes reload once it has.
    pub(super) fn reconnect(&mut self, profile: Option<String>, region: Option<String>) {
        let Some(connect) = self.services.connect.clone() else {
            return self.show_error(&ServiceError::new(
                Code::InvalidArgument,
                "profiles and regions are the AWS backend's: start lakectl with --backend aws",
            ));
        };
        self.message = Some("connecting…".into());
        self.spawn(async move { Msg::Connected(connect.switch(profile, region).await) });
    }
}
