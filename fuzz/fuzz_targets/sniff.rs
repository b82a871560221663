//! Recognising a file's kind from its first bytes, under names that sharpen the messages.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::bundle::SNIFF_LEN;
use padtriage::sources::detect::sniff;
use padtriage::model::FileKind;

fuzz_target!(|data: &[u8]| {
    let head = &data[..data.len().min(SNIFF_LEN)];
    for name in ["x.evtx", "x.zip", "x.log", "x.txt", "x.json"] {
        let s = sniff(head, name);
        // A file not read (skipped, or not evidence) always carries a reason for people.
        assert_eq!(
            matches!(s.kind, FileKind::Skipped | FileKind::Other),
            s.why.is_some()
        );
    }
});
