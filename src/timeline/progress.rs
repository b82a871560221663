//! The progress bar drawn on stderr while inputs are read (only when asked, and callers ask only
//! when stderr is a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting bytes read, or nothing.
pub(super) struct Progress(Option<ProgressBar>);

impl Progress {
    pub(super) fn new(show: bool, total: u64) -> Self {
        if !show {
            return Progress(None);
        }
        let b = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} reading [{bar:30}] {binary_bytes}/{binary_total_bytes} ({elapsed}) {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_length(total);
        Progress(Some(b))
    }

    /// `bytes` more were read, of the file at `path`.
    pub(super) fn read(&self, bytes: u64, path: &str) {
        if let Some(b) = &self.0 {
            b.inc(bytes);
            b.set_message(short_name(path));
        }
    }

    pub(super) fn finish(self) {
        if let Some(b) = self.0 {
            b.finish_and_clear();
        }
    }
}

fn short_name(path: &str) -> String {
    path.rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(path)
        .to_string()
}
