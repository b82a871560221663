//! Writers of the files a bundle carries, in the forms the Windows tools and PAD leave them: EVTX
//! logs (through [`crate::evtx_writer`]), zips, PAD JSON-lines logs, `dsregcmd /status` dumps,
//! Event Viewer XML exports and the portal's run records; plus what they share (derived GUIDs,
//! .NET times, text encodings). They own formats; what goes into each file is the scenarios'.

pub(crate) mod dsregcmd;
pub(crate) mod event_xml;
pub(crate) mod evtx_log;
pub(crate) mod pad_log;
pub(crate) mod run_records;
pub(crate) mod zip_archive;

use crate::evtx_writer::Guid;
use chrono::{DateTime, Utc};

/// A random-looking, version-4-shaped GUID derived from `name` (same name, same GUID).
pub(crate) fn guid(name: &str) -> Guid {
    let g = Guid::derived(name).0;
    let g = (g & !(0xf_u128 << 76)) | (0x4_u128 << 76);
    let g = (g & !(0x3_u128 << 62)) | (0x2_u128 << 62);
    Guid(g)
}

pub(crate) fn guid_str(name: &str) -> String {
    guid(name).to_string()
}

/// .NET round-trip time (`o`): 7 fraction digits and `Z`.
pub(crate) fn dotnet_time(t: DateTime<Utc>) -> String {
    format!(
        "{}.{:07}Z",
        t.format("%Y-%m-%dT%H:%M:%S"),
        t.timestamp_subsec_nanos() / 100
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Enc {
    /// cmd.exe `>` or PowerShell 7: UTF-8 without a BOM.
    Utf8,
    /// PowerShell 5.1 `Out-File -Encoding utf8`.
    Utf8Bom,
    /// PowerShell 5.1 `>` (Out-File default "Unicode").
    Utf16Bom,
    /// A legacy code page editor save.
    Cp1252,
}

pub(crate) fn encode(text: &str, enc: Enc) -> Vec<u8> {
    match enc {
        Enc::Utf8 => text.as_bytes().to_vec(),
        Enc::Utf8Bom => {
            let mut v = vec![0xEF, 0xBB, 0xBF];
            v.extend_from_slice(text.as_bytes());
            v
        }
        Enc::Utf16Bom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
            v
        }
        Enc::Cp1252 => {
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
            assert!(!unmappable, "text not representable in Windows-1252");
            bytes.into_owned()
        }
    }
}
