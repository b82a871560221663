//! Inputs the fuzz targets (fuzz/fuzz_targets/) found wrong, kept as regression tests: each
//! names the target and what it found. Inputs are inline and as small as the finding allows.

use padtriage::model::EventFilter;
use padtriage::sources::Parsed;
use padtriage::sources::{padlog, ReadCtx};
use std::sync::Arc;

fn ctx(filter: &EventFilter) -> ReadCtx<'_> {
    ReadCtx {
        file: Arc::from("UIFlowService.log"),
        size: 0,
        mtime: None,
        filter,
        threads: 1,
        progress: None,
    }
}

fn padlog_with(filter: &EventFilter, bytes: &[u8]) -> Parsed {
    padlog::read_padlog(bytes, &ctx(filter))
}

/// `padlog`, first run (seed `padlog/deep_json.log`): an Error entry whose `eventData` nests
/// past serde_json's 128 levels was a record to `inventory` (its fields skipped without
/// recursing) but a broken line to `timeline` (the full tree hit the recursion limit): the
/// counts differed between commands and the entry was lost from the timeline.
#[test]
fn padlog_entry_nested_past_the_recursion_limit() {
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let line = format!(
        "{{\"eventTimestamp\":\"2025-06-02T13:01:03.000Z\",\"traceLevel\":\"Error\",\
         \"message\":\"Run failed: WindowsIdentityIncorrect\",\"eventData\":{deep}}}\n"
    );
    let all = padlog_with(&EventFilter::all(), line.as_bytes());
    let none = padlog_with(
        &EventFilter {
            ranges: Some(Vec::new()),
        },
        line.as_bytes(),
    );
    for p in [&all, &none] {
        assert_eq!(
            (p.report.records, p.report.errors),
            (1, 0),
            "{:?}",
            p.report
        );
        assert_eq!(p.report.problems.len(), 1);
        assert_eq!(p.report.problems[0].kind, "limit");
        assert!(p.report.problems[0]
            .message
            .starts_with("JSON nested more than 128 levels deep"));
    }
    assert_eq!(
        all.events.len(),
        1,
        "the entry is kept from its top-level fields"
    );
    let padtriage::sources::EventData::PadLog(e) = &all.events[0].data else {
        panic!()
    };
    assert_eq!(e.error_codes, ["WindowsIdentityIncorrect"]);

    // 127 levels is still a tree serde builds: no problem at all.
    let ok = format!(
        "{{\"eventTimestamp\":\"2025-06-02T13:01:03.000Z\",\"traceLevel\":\"Error\",\
         \"message\":\"x\",\"eventData\":{}{}}}\n",
        "[".repeat(126),
        "]".repeat(126)
    );
    let p = padlog_with(&EventFilter::all(), ok.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.events.len(), 1);
}
