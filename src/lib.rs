//! padtriage: diagnose Power Automate desktop-flow credential failures from a diagnostic bundle.
//!
//! The pipeline, one module per stage, each depending only on the stages before it:
//! `bundle` (files) → `sources` (one seam per kind of evidence, listed in `sources::registry`)
//! → `timeline` (events in UTC order) → `diagnose` (runs, rules, verdicts) → `report` (text,
//! JSON, Markdown, HTML, and their redaction). `pipeline` runs the whole job on a bundle. Below them all: `model` (the
//! types every stage shares), `time` (parsing and provenance), `codes` (every code table) and
//! `identity` (account names across their forms).

#![forbid(unsafe_code)]

pub mod bundle;
pub mod codes;
pub mod diagnose;
mod fsio;
pub mod identity;
pub mod model;
pub mod pipeline;
pub mod report;
pub mod scan;
pub mod sources;
pub mod time;
pub mod timeline;
