//! The bundle: walking directories and (nested) zips, sniffing each file's kind by content,
//! read-only access, resource limits, and per-file problems. Knows nothing of what a file means.
