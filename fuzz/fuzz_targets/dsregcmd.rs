//! `dsregcmd /status` dumps: the sniffer on the decoded start and the full parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{dsregcmd, text, ReadCtx};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("dsregcmd.txt"),
        size: data.len() as u64,
        mtime: chrono::DateTime::from_timestamp(1_750_000_000, 0),
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let decoded = text::decode(data);
    let _ = dsregcmd::looks_like_dsregcmd(&decoded.text);
    let parsed = dsregcmd::read_dsregcmd(data, &ctx);
    // A file that yields no snapshot must say why.
    if parsed.snapshots.is_empty() {
        assert!(
            !parsed.report.problems.is_empty(),
            "no snapshot and no problem"
        );
    }
});
