//! Whole `.evtx` files through the streaming reader: file header, chunk walker, the crate's
//! fallback for chunks the walker does not vouch for, and the event mapper. Read twice, with one
//! thread and with two, which must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{evtx, ReadCtx};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let filter = EventFilter::all();
    let ctx = |threads| ReadCtx {
        file: Arc::from("Security.evtx"),
        size: data.len() as u64,
        mtime: None,
        filter: &filter,
        threads,
        progress: None,
    };
    let one = evtx::read_evtx(data, &ctx(1));
    assert_eq!(one.report.kept, one.events.len() as u64);
    let two = evtx::read_evtx(data, &ctx(2));
    assert_eq!(
        (one.report.records, one.report.errors, one.report.kept),
        (two.report.records, two.report.errors, two.report.kept),
        "thread count changed the counts"
    );
});
