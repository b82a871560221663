//! `--redact` and its key, for every command that reads a bundle (the batch scan reuses them):
//! customer identifiers in the output become keyed pseudonyms (see `report::redact`).

use anyhow::{Context, Result};
use padtriage::report::redact::{Identifiers, Redactor};
use std::path::PathBuf;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct RedactArgs {
    /// Replace customer identifiers (user names, UPNs, domains, SIDs, machines, IP addresses,
    /// tenant and device ids, paths naming them) with stable pseudonyms, to share the output.
    #[arg(long)]
    pub redact: bool,
    /// The key of the pseudonyms: the same key gives the same pseudonyms in every run and
    /// bundle [default: a random key for this run]. Keep it secret: with it, a guessed name can
    /// be checked against a pseudonym.
    #[arg(long, value_name = "KEY", requires = "redact")]
    pub redact_key: Option<String>,
    /// Read the key from a file (its first line), so that it appears in no command line.
    #[arg(
        long,
        value_name = "FILE",
        requires = "redact",
        conflicts_with = "redact_key"
    )]
    pub redact_key_file: Option<PathBuf>,
}

impl RedactArgs {
    /// The key: given, read from its file, or random.
    pub fn key(&self) -> Result<Vec<u8>> {
        if let Some(k) = &self.redact_key {
            return Ok(k.as_bytes().to_vec());
        }
        if let Some(f) = &self.redact_key_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("could not read the redaction key ({})", f.display()))?;
            let line = text.lines().next().unwrap_or_default().trim_end();
            anyhow::ensure!(
                !line.is_empty(),
                "the redaction key file {} is empty",
                f.display()
            );
            return Ok(line.as_bytes().to_vec());
        }
        Ok(Redactor::random_key()?)
    }

    /// The redactor for these identifiers, when `--redact` is given.
    pub fn redactor(&self, ids: &Identifiers) -> Result<Option<Redactor>> {
        if !self.redact {
            return Ok(None);
        }
        Ok(Some(Redactor::new(&self.key()?, ids)?))
    }
}
