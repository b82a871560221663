//! One EVTX chunk behind an intact file header: the input is the chunk's bytes (cut or
//! zero-padded to 64 KiB), so every mutation lands in the chunk header, string and template
//! tables, records and BinXML rather than in the file header.
#![no_main]

use libfuzzer_sys::fuzz_target;
use padtriage::model::EventFilter;
use padtriage::sources::{evtx, ReadCtx};
use padtriage_testkit::broken;
use std::sync::{Arc, OnceLock};

const FILE_HEADER: usize = 4096;
const CHUNK: usize = 65536;

/// A valid file header announcing one chunk, taken from a log the test writer made.
fn header() -> &'static [u8] {
    static H: OnceLock<Vec<u8>> = OnceLock::new();
    H.get_or_init(|| broken::sample_evtx(0)[..FILE_HEADER].to_vec())
}

fuzz_target!(|data: &[u8]| {
    let mut file = header().to_vec();
    file.extend_from_slice(&data[..data.len().min(CHUNK)]);
    // Short inputs are padded (a full chunk) unless they end in 0xFF: then they stay cut short,
    // to reach the reader's handling of a file that ends inside a chunk.
    if data.last() != Some(&0xFF) {
        file.resize(FILE_HEADER + CHUNK, 0);
    }
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("chunk.evtx"),
        size: file.len() as u64,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let parsed = evtx::read_evtx(file.as_slice(), &ctx);
    assert_eq!(parsed.report.kept, parsed.events.len() as u64);
});
