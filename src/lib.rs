//! lakectl: a console and a CLI for a secure, encrypted data lake. The binary is a thin edge
//! (`main.rs`); everything else is here so that tests drive exactly what users run.

pub mod aws;
pub mod cli;
pub mod config;
pub mod demo;
pub mod etl;
#[doc(hidden)]
pub mod fuzzing;
pub mod local;
pub mod mask;
pub mod pii;
pub mod server;
pub mod service;
pub mod terminal_text;
pub mod tui;
