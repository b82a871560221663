//! The one progress bar of a reading command, on stderr: from 0 to the bundle's size, moved by
//! the bytes the readers count ([`ReadProgress`]) as they go (an EVTX chunk, 64 KiB of lines).
//! A drawing thread polls the count ten times a second, so readers only add to a counter.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use padtriage::sources::ReadProgress;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// A bar being drawn, or nothing (not asked for, stderr not a terminal, nothing to read).
pub struct Bar {
    count: Option<Arc<ReadProgress>>,
    drawer: Mutex<Option<Drawer>>,
}

struct Drawer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl Bar {
    /// Start drawing a bar up to `total` bytes, when `show`.
    pub fn start(show: bool, total: u64) -> Bar {
        let none = || Bar {
            count: None,
            drawer: Mutex::new(None),
        };
        if !show || total == 0 {
            return none();
        }
        let count = Arc::new(ReadProgress::default());
        let (stop, stopped) = mpsc::channel();
        let polled = Arc::clone(&count);
        // No thread to draw with (the system's limit) means no bar, not a failure.
        match std::thread::Builder::new()
            .name("progress".into())
            .spawn(move || draw(&polled, total, &stopped))
        {
            Ok(thread) => Bar {
                count: Some(count),
                drawer: Mutex::new(Some(Drawer { stop, thread })),
            },
            Err(_) => none(),
        }
    }

    /// The count readers add to, when a bar is drawn (otherwise readers count nothing).
    pub fn count(&self) -> Option<&ReadProgress> {
        self.count.as_deref()
    }

    /// Clear the bar and wait until it is gone from the terminal; again does nothing.
    pub fn finish(&self) {
        let drawer = self.drawer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(d) = drawer {
            drop(d.stop);
            let _ = d.thread.join();
        }
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.finish();
    }
}

fn draw(count: &ReadProgress, total: u64, stopped: &mpsc::Receiver<()>) {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} reading [{bar:30}] {binary_bytes}/{binary_total_bytes} ({elapsed}) {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    loop {
        bar.set_position(count.bytes().min(total));
        if let Some(file) = count.current() {
            bar.set_message(short_name(&file));
        }
        match stopped.recv_timeout(Duration::from_millis(100)) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    bar.finish_and_clear();
}

fn short_name(path: &str) -> String {
    path.rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(path)
        .to_string()
}
