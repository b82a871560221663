//! Times: the one parser for every text form the evidence writes, and where each UTC time came
//! from ([`TimeBasis`]). Sources parse with [`parse`]; the command line with [`parse_user`].
//!
//! Every time in padtriage is UTC. A text time either says so (`Z`, ` UTC`), carries an offset
//! (`+02:00`), or says nothing: then it is read as UTC and marked [`TimeBasis::Assumed`], so a
//! later stage can tell a known instant from a guess.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

/// UTC time; every timestamp in the model is normalised to UTC.
pub type Time = DateTime<Utc>;

/// Where a UTC time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeBasis {
    /// The format stores UTC (EVTX FILETIME), or the text says UTC (`Z`, ` UTC`).
    Utc,
    /// The text carries an explicit offset (`+02:00`), converted to UTC.
    Offset,
    /// The text has no zone: read as UTC (or in the zone given with `--tz`).
    Assumed,
    /// Not a record time at all: a file's modification date, standing in as an estimate.
    FileDate,
}

impl TimeBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeBasis::Utc => "utc",
            TimeBasis::Offset => "offset",
            TimeBasis::Assumed => "assumed",
            TimeBasis::FileDate => "file_date",
        }
    }

    /// True when the instant is known (the text or format fixed the zone).
    pub fn is_exact(self) -> bool {
        matches!(self, TimeBasis::Utc | TimeBasis::Offset)
    }
}

/// A parsed time and how its zone was known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub time: Time,
    pub basis: TimeBasis,
}

/// Naive layouts, tried in order after the zone-carrying ones: ISO with `T` or a space, with or
/// without seconds, and the US style of Dataverse and Excel exports (`6/2/2025 1:17 PM`).
const NAIVE: &[&str] = &[
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %H:%M:%S",
];

/// Parse a time as the evidence writes it: RFC 3339 / ISO 8601 (`2025-06-02T13:17:22Z`, 0 to 9
/// fraction digits, `T` or a space, `+02:00` or `+0200`), dsregcmd's `2025-06-02 07:58:41.000
/// UTC`, and the US style of exports (`6/2/2025 1:17 PM`). `None` for anything else.
pub fn parse(s: &str) -> Option<Stamp> {
    let s = s.trim();
    let first = s.as_bytes().first()?;
    if !first.is_ascii_digit() || s.len() < 8 {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(with_offset(t));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(with_offset(t));
        }
    }
    let (naive, basis) = match s.strip_suffix("UTC").or_else(|| s.strip_suffix(['Z', 'z'])) {
        Some(rest) => (rest.trim_end(), TimeBasis::Utc),
        None => (s, TimeBasis::Assumed),
    };
    let upper;
    let naive = if naive.contains('/') && naive.bytes().any(|b| b.is_ascii_lowercase()) {
        upper = naive.to_ascii_uppercase();
        upper.as_str()
    } else {
        naive
    };
    NAIVE.iter().find_map(|fmt| {
        NaiveDateTime::parse_from_str(naive, fmt)
            .ok()
            .map(|t| Stamp {
                time: t.and_utc(),
                basis,
            })
    })
}

/// [`parse`], the instant only.
pub fn parse_utc(s: &str) -> Option<Time> {
    parse(s).map(|s| s.time)
}

fn with_offset(t: DateTime<chrono::FixedOffset>) -> Stamp {
    let basis = if t.offset().local_minus_utc() == 0 {
        TimeBasis::Utc
    } else {
        TimeBasis::Offset
    };
    Stamp {
        time: t.with_timezone(&Utc),
        basis,
    }
}

/// A time given on the command line: anything [`parse`] reads (a time without a zone is UTC),
/// or a bare date (midnight UTC).
pub fn parse_user(s: &str) -> Result<Time, String> {
    let s = s.trim();
    if let Some(t) = parse(s) {
        return Ok(t.time);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "'{s}' is not a time padtriage understands; use UTC like 2025-06-02T13:17:05Z or '2025-06-02 13:17'"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> Stamp {
        parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn every_form_the_evidence_writes() {
        let base = Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 22).unwrap();
        for (s, basis) in [
            ("2025-06-02T13:17:22Z", TimeBasis::Utc),
            ("2025-06-02T15:17:22+02:00", TimeBasis::Offset),
            ("2025-06-02T15:17:22+0200", TimeBasis::Offset),
            ("2025-06-02 13:17:22+00:00", TimeBasis::Utc),
            ("2025-06-02 13:17:22", TimeBasis::Assumed),
            ("2025-06-02T13:17:22", TimeBasis::Assumed),
            ("2025-06-02 13:17:22.000 UTC", TimeBasis::Utc),
            ("2025-06-02 13:17:22 UTC", TimeBasis::Utc),
            ("6/2/2025 1:17:22 PM", TimeBasis::Assumed),
            ("06/02/2025 01:17:22 pm", TimeBasis::Assumed),
            ("6/2/2025 13:17:22", TimeBasis::Assumed),
        ] {
            assert_eq!(at(s), Stamp { time: base, basis }, "{s}");
        }
        let t = at("2025-06-02T13:17:22.1234567Z").time;
        assert_eq!(t.timestamp_subsec_nanos(), 123_456_700);
        let t = at("2025-06-02T13:17:22.1234567-05:00");
        assert_eq!(
            t.time,
            base + chrono::Duration::hours(5) + chrono::Duration::nanoseconds(123_456_700)
        );
        assert_eq!(
            at("6/2/2025 1:17 PM").time,
            base - chrono::Duration::seconds(22)
        );
        assert_eq!(
            at("2025-06-02 13:17").time,
            base - chrono::Duration::seconds(22)
        );
        for bad in [
            "yesterday",
            "2025-13-45T99:00:00Z",
            "NOT SET",
            "",
            "2/30/2025 1:17 PM",
            "12",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn command_line_times() {
        let t = parse_user("2025-06-02T13:17:05Z").unwrap();
        assert_eq!(parse_user("2025-06-02 13:17:05").unwrap(), t);
        assert_eq!(parse_user("2025-06-02T15:17:05+02:00").unwrap(), t);
        assert_eq!(
            parse_user("2025-06-02").unwrap(),
            Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap()
        );
        assert!(parse_user("yesterday").is_err());
    }
}
