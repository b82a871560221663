//! padtriage: diagnose Power Automate desktop-flow credential failures from a diagnostic bundle.
//!
//! The pipeline, one module per stage:
//! `bundle` (files) → `sources` (parsers) → `timeline` (events) → `diagnose` (runs, rules,
//! verdicts) → `report` (text, JSON, Markdown). `codes` holds every code table; `model` the types
//! the stages share.

pub mod bundle;
pub mod cli;
pub mod codes;
pub mod diagnose;
mod fsio;
pub mod identity;
pub mod model;
pub mod report;
pub mod sources;
pub mod timeline;
