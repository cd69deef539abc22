//! The integration tests: one binary (each extra test binary would link the whole tree again).

mod access;
mod access_keys;
mod audit;
mod aws;
mod budgets;
mod cli;
mod common;
mod console;
mod contract;
mod dms;
mod dms_current;
mod edges;
mod events;
mod glue;
mod keys;
mod macie;
mod multipart;
mod pii_quality;
mod policies;
mod postgres;
mod query;
mod secrets;
mod security;
mod server;
mod storage;
mod workflows;
