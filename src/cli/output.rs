//! Where a command's output goes: standard output, or `-o FILE`, written atomically (a temporary
//! file in the same folder, renamed over FILE once complete, so a reader never sees half a
//! report and a failed run leaves no file). Its errors say they were the output's (a full disk
//! is otherwise just "No space left on device"), and the progress bar is cleared before the
//! first byte of output, so the two never mix on a terminal. FILE is never inside a bundle.

use super::progress::Bar;
use anyhow::{bail, Context, Result};
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// `-o FILE`, for every command that writes a report.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Write the output to FILE (atomically: complete or not at all) instead of standard
    /// output; never inside a bundle being read.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

impl OutputArgs {
    /// Whether the output goes to a terminal (colour, width): never for `-o FILE`.
    pub fn is_terminal(&self) -> bool {
        self.output.is_none() && io::stdout().is_terminal()
    }

    /// Refuse an output file inside one of the bundle paths (a folder holding it, or the very
    /// file read): padtriage only reads bundles.
    pub fn check_outside(&self, bundle: &[PathBuf]) -> Result<()> {
        let Some(file) = &self.output else {
            return Ok(());
        };
        let target = absolute(file);
        for b in bundle {
            let Ok(root) = b.canonicalize() else {
                // A bundle path that does not exist is reported when it is opened.
                continue;
            };
            let inside = if root.is_dir() {
                target.starts_with(&root)
            } else {
                target == root
            };
            if inside {
                bail!(
                    "the output {} is inside the bundle {}: padtriage never writes into a bundle; \
                     give -o a path outside it",
                    file.display(),
                    b.display()
                );
            }
        }
        Ok(())
    }
}

/// The file's path as it will be written: its folder resolved (links followed), its name kept.
fn absolute(file: &Path) -> PathBuf {
    let name = file.file_name().map(PathBuf::from).unwrap_or_default();
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match dir.canonicalize() {
        Ok(d) => d.join(name),
        Err(_) => std::env::current_dir().unwrap_or_default().join(file),
    }
}

enum Target {
    Stdout(io::StdoutLock<'static>),
    File {
        tmp: tempfile::NamedTempFile,
        path: PathBuf,
    },
}

pub struct Output<'b> {
    target: Target,
    /// Cleared at the first write.
    bar: Option<&'b Bar>,
}

impl<'b> Output<'b> {
    pub fn stdout(bar: Option<&'b Bar>) -> Self {
        Output {
            target: Target::Stdout(io::stdout().lock()),
            bar,
        }
    }

    /// Standard output, or a temporary file beside `-o FILE` that [`Output::finish`] renames.
    pub fn open(args: &OutputArgs, bar: Option<&'b Bar>) -> Result<Self> {
        let Some(path) = &args.output else {
            return Ok(Output::stdout(bar));
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".padtriage-").suffix(".tmp");
        // The permissions a plain create would give (the umask applies), not the temporary
        // file's owner-only ones.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder
            .tempfile_in(dir)
            .with_context(|| format!("could not write the output ({})", path.display()))?;
        Ok(Output {
            target: Target::File {
                tmp,
                path: path.clone(),
            },
            bar,
        })
    }

    /// Flush, and for a file, put it in place (a rename in the same folder).
    pub fn finish(mut self) -> Result<()> {
        self.flush()?;
        if let Target::File { tmp, path } = self.target {
            tmp.persist(&path)
                .map_err(|e| anyhow::Error::new(failed(e.error, &path.display().to_string())))?;
        }
        Ok(())
    }

    fn name(&self) -> String {
        match &self.target {
            Target::Stdout(_) => "standard output".to_string(),
            Target::File { path, .. } => path.display().to_string(),
        }
    }
}

impl Write for Output<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(bar) = self.bar.take() {
            bar.finish();
        }
        let r = match &mut self.target {
            Target::Stdout(out) => out.write(buf),
            Target::File { tmp, .. } => tmp.write(buf),
        };
        r.map_err(|e| failed(e, &self.name()))
    }

    fn flush(&mut self) -> io::Result<()> {
        let r = match &mut self.target {
            Target::Stdout(out) => out.flush(),
            Target::File { tmp, .. } => tmp.flush(),
        };
        r.map_err(|e| failed(e, &self.name()))
    }
}

/// The error, saying it was the output's; its kind is kept (a closed pipe ends the run quietly).
fn failed(e: io::Error, name: &str) -> io::Error {
    let hint = match e.kind() {
        io::ErrorKind::StorageFull => {
            "; free some space where the output goes, or redirect it to another disk"
        }
        _ => "",
    };
    io::Error::new(
        e.kind(),
        format!("could not write the output ({name}): {e}{hint}"),
    )
}
