//! Run records: the portal error JSON and flow-session exports (JSON, Web API, JSON lines, CSV),
//! sniffers and readers alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{run_records, text, ReadCtx};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let decoded = text::decode(data);
    let _ = run_records::looks_like_portal_error(&decoded.text);
    let _ = run_records::looks_like_flow_sessions(&decoded.text);
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("run.json"),
        size: data.len() as u64,
        mtime: chrono::DateTime::from_timestamp(1_750_000_000, 0),
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let portal = run_records::read_portal_error(data, &ctx);
    assert_eq!(portal.report.kept, portal.events.len() as u64);
    let sessions = run_records::read_flow_sessions(data, &ctx);
    assert_eq!(sessions.report.kept, sessions.events.len() as u64);
});
