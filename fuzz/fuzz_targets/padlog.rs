//! PAD JSON-lines logs: the sniffer and the reader, with no filter (timeline) and with an empty
//! one (inventory counts only).
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{padlog, text, ReadCtx};
use std::sync::Arc;

fn ctx<'a>(data: &[u8], filter: &'a EventFilter) -> ReadCtx<'a> {
    ReadCtx {
        file: Arc::from("UIFlowService.log"),
        size: data.len() as u64,
        mtime: None,
        filter,
        threads: 1,
        progress: None,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = padlog::looks_like_padlog(&text::decode(data).text);
    let all = EventFilter::all();
    let parsed = padlog::read_padlog(data, &ctx(data, &all));
    let r = &parsed.report;
    // The reader's documented counting: every record read is kept or ignored.
    assert_eq!(r.records, r.kept + r.ignored, "records != kept + ignored");
    assert_eq!(r.kept, parsed.events.len() as u64);
    let none = EventFilter {
        ranges: Some(Vec::new()),
    };
    let counted = padlog::read_padlog(data, &ctx(data, &none));
    assert!(counted.events.is_empty(), "an empty filter kept events");
    assert_eq!(counted.report.records, r.records);
    assert_eq!(counted.report.errors, r.errors);
});
