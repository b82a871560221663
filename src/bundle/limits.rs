//! Resource limits for reading a bundle, and the running budget the walk charges against them.
//! A bundle comes from a customer's machine: it may be huge, deeply nested, or hostile.

/// Caps on what one bundle may cost to read. Every cap, when hit, skips the file (or the rest of
/// the bundle) with a reason that names the limit; nothing aborts the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Total bytes padtriage will read: files on disk count their size, zip entries (and nested
    /// zips held in memory) their uncompressed size.
    pub max_total_uncompressed: u64,
    /// Largest compression ratio (uncompressed / compressed) a zip entry may have once it expands
    /// past [`RATIO_FLOOR`] bytes; beyond it the entry is taken for a zip bomb.
    pub max_entry_ratio: u64,
    /// How many zips deep padtriage opens: 1 = only zips given or found on disk.
    pub max_zip_depth: u32,
    /// Files (on disk and inside zips) looked at, read or skipped; the walk stops there.
    pub max_files: usize,
    /// Bytes of nested zips held in memory at once (all together). A zip inside a zip is loaded
    /// into memory so its entries can be opened at random; it is never extracted to disk.
    pub max_nested_zip_in_memory: u64,
}

/// Small entries may compress extremely well (a log of repeated lines, a block of zeros) without
/// being any danger; the ratio cap only applies to entries larger than this.
pub const RATIO_FLOOR: u64 = 1 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_uncompressed: 64 << 30,
            max_entry_ratio: 200,
            max_zip_depth: 4,
            max_files: 100_000,
            max_nested_zip_in_memory: 2 << 30,
        }
    }
}

impl Limits {
    /// True when `size` bytes made from `compressed` bytes exceed the ratio cap.
    pub(crate) fn ratio_exceeded(&self, size: u64, compressed: u64) -> bool {
        size > RATIO_FLOOR && size / compressed.max(1) >= self.max_entry_ratio.max(1)
    }
}

/// What the walk has spent so far.
#[derive(Debug, Default)]
pub(crate) struct Budget {
    pub total: u64,
    pub nested_in_memory: u64,
    pub files: usize,
}

/// Human-readable byte count for messages (`1.5 MiB`).
pub(crate) fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_applies_only_to_large_entries() {
        let l = Limits::default();
        assert!(!l.ratio_exceeded(1000 * 1000, 1));
        assert!(l.ratio_exceeded(200 << 20, 1 << 20));
        assert!(!l.ratio_exceeded(199 << 20, 1 << 20));
        assert!(l.ratio_exceeded(8 << 20, 0));
    }

    #[test]
    fn bytes_read_naturally() {
        assert_eq!(fmt_bytes(12), "12 bytes");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_bytes(64 << 30), "64.0 GiB");
    }
}
