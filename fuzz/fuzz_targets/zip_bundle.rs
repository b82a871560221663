//! The bundle stage on a hostile .zip: the input is written to a temporary file, opened as a
//! bundle with the default limits, and every input found (nested zips included) is read through
//! the timeline's `read_input`, as `padtriage timeline` would.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::bundle::Limits;
use padtriage::pipeline::open as open_bundle;
use padtriage::model::EventFilter;
use padtriage::timeline::read_input;
use std::path::PathBuf;
use std::sync::OnceLock;

fn zip_path() -> &'static PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("padtriage-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("bundle.zip")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = zip_path();
    std::fs::write(path, data).expect("write temp zip");
    let Ok(bundle) = open_bundle(std::slice::from_ref(path), &Limits::default()) else {
        return;
    };
    let filter = EventFilter::all();
    for input in &bundle.inputs {
        let parsed = read_input(input, &filter, 1);
        assert_eq!(parsed.report.path, input.path);
    }
    for skipped in &bundle.skipped {
        assert!(skipped.skipped.is_some(), "a skipped file without a reason");
    }
});
