//! Event Viewer XML exports (`wevtutil qe /f:xml`, "Save As XML") through the XML reader and
//! the shared event mapper.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{event_xml, ReadCtx};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("Security.xml"),
        size: data.len() as u64,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let parsed = event_xml::read_event_xml(data, &ctx);
    assert_eq!(parsed.report.kept, parsed.events.len() as u64);
});
