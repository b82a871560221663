//! Zip archives as .NET's `ZipArchive` writes them (PAD's "Export logs", `Compress-Archive`),
//! through the `zip` crate.

use chrono::{DateTime, Datelike, Timelike, Utc};
use std::io;

/// A zip of `entries` (name, bytes, modification time) in the given order: deflated, or stored
/// when deflating does not make the entry smaller; DOS times of the times as given (the zipping
/// machine runs on UTC); made by DOS with the archive attribute; no extra fields.
pub fn zip(entries: &[(String, Vec<u8>, DateTime<Utc>)]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, PreparedZipFile, System};
    let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
    for (name, data, time) in entries {
        let options = SimpleFileOptions::default()
            .last_modified_time(dos_time(*time))
            .system(System::Dos)
            .external_attributes(0x20);
        let prepare = |method| {
            PreparedZipFile::from_data(name, options.compression_method(method), data)
                .unwrap_or_else(|e| panic!("zip entry {name}: {e}"))
        };
        // Entries are compressed before they are added, so one that deflating made larger can
        // still go in stored.
        let deflated = prepare(CompressionMethod::Deflated);
        let entry = if deflated.compressed_size() < deflated.uncompressed_size() {
            deflated
        } else {
            prepare(CompressionMethod::Stored)
        };
        w.add_prepared_file(entry)
            .unwrap_or_else(|e| panic!("zip entry {name}: {e}"));
    }
    w.finish()
        .unwrap_or_else(|e| panic!("zip into memory: {e}"))
        .into_inner()
}

/// The DOS date and time of `t`; scenario times lie well inside the DOS range (1980-2107).
fn dos_time(t: DateTime<Utc>) -> zip::DateTime {
    let (year, month, day) = (t.year(), t.month(), t.day());
    let (hour, minute, second) = (t.hour(), t.minute(), t.second());
    u16::try_from(year)
        .ok()
        .and_then(|year| {
            zip::DateTime::from_date_and_time(
                year,
                month as u8,
                day as u8,
                hour as u8,
                minute as u8,
                second as u8,
            )
            .ok()
        })
        .unwrap_or_else(|| panic!("{t} has no DOS date and time"))
}
