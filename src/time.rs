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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TimeBasis {
    /// The format stores UTC (EVTX FILETIME), or the text says UTC (`Z`, ` UTC`).
    Utc,
    /// The text carries an explicit offset (`+02:00`), converted to UTC.
    Offset,
    /// The text has no zone: read as UTC, an assumption.
    Assumed,
    /// The text has no zone; the zone was shown by the evidence (the same failure seen in a
    /// source that records UTC) and applied.
    Inferred,
    /// The text has no zone; read in the zone given with `--tz`.
    Given,
    /// Not a record time at all: a file's modification date, standing in as an estimate.
    FileDate,
}

impl TimeBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeBasis::Utc => "utc",
            TimeBasis::Offset => "offset",
            TimeBasis::Assumed => "assumed",
            TimeBasis::Inferred => "inferred",
            TimeBasis::Given => "given",
            TimeBasis::FileDate => "file_date",
        }
    }

    /// True when the instant is known (the text or format fixed the zone).
    pub fn is_exact(self) -> bool {
        !matches!(self, TimeBasis::Assumed | TimeBasis::FileDate)
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

/// [`DateTime::from_timestamp`] for times that come in runs of the same day, as a log's records
/// do: the day's date (the costly part) is worked out once per day, not once per time.
#[derive(Debug, Default)]
pub struct Days {
    last: Option<(i64, NaiveDate)>,
}

impl Days {
    /// The UTC time `secs` seconds and `nanos` nanoseconds after 1970, as `from_timestamp`
    /// gives it.
    pub fn time(&mut self, secs: i64, nanos: u32) -> Option<Time> {
        let days = secs.div_euclid(86_400);
        let of_day = u32::try_from(secs.rem_euclid(86_400)).ok()?;
        let date = match self.last {
            Some((d, date)) if d == days => date,
            _ => {
                // Day 1 of the common era is 719,163 days before 1970-01-01.
                let ce = i32::try_from(days.checked_add(719_163)?).ok()?;
                let date = NaiveDate::from_num_days_from_ce_opt(ce)?;
                self.last = Some((days, date));
                date
            }
        };
        let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(of_day, nanos)?;
        Some(NaiveDateTime::new(date, time).and_utc())
    }
}

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

/// A time zone for zone-less times: a fixed offset (`+02:00`) or an IANA zone
/// (`Europe/Berlin`, with its daylight-saving rules).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Fixed(chrono::FixedOffset),
    Named(chrono_tz::Tz),
}

impl Zone {
    /// `UTC`, `Z`, `+02:00`, `+0200`, `-5`, `UTC+2`, or an IANA name.
    pub fn parse(s: &str) -> Result<Zone, String> {
        let t = s.trim();
        let bad = || {
            format!(
                "'{t}' is not a time zone padtriage understands; use an offset like +02:00 or an \
                 IANA name like Europe/Berlin"
            )
        };
        if let Ok(tz) = t.parse::<chrono_tz::Tz>() {
            return Ok(Zone::Named(tz));
        }
        let rest = t
            .strip_prefix("UTC")
            .or_else(|| t.strip_prefix("GMT"))
            .unwrap_or(t);
        if rest.is_empty() || rest == "Z" {
            return Ok(Zone::Fixed(
                chrono::FixedOffset::east_opt(0).ok_or_else(bad)?,
            ));
        }
        let (sign, digits) = match rest.as_bytes().first() {
            Some(b'+') => (1, &rest[1..]),
            Some(b'-') => (-1, &rest[1..]),
            _ => return Err(bad()),
        };
        let (h, m) = match digits.split_once(':') {
            Some((h, m)) => (h, m),
            None if digits.len() == 4 => digits.split_at(2),
            None => (digits, "0"),
        };
        let h: i32 = h.parse().map_err(|_| bad())?;
        let m: i32 = m.parse().map_err(|_| bad())?;
        if !(0..=14).contains(&h) || !(0..60).contains(&m) {
            return Err(bad());
        }
        chrono::FixedOffset::east_opt(sign * (h * 3600 + m * 60))
            .map(Zone::Fixed)
            .ok_or_else(bad)
    }

    /// A zone-less time (held as if it were UTC) read in this zone. A local time that occurs
    /// twice (clocks set back) is its first occurrence unless `second_pass` (the file's times
    /// went back an hour before it); a time skipped by clocks set forward is read with the
    /// offset before the change.
    pub fn to_utc(self, naive_as_utc: Time, second_pass: bool) -> Time {
        use chrono::{LocalResult, TimeZone};
        let naive = naive_as_utc.naive_utc();
        match self {
            Zone::Fixed(o) => match o.from_local_datetime(&naive) {
                LocalResult::Single(t) => t.with_timezone(&chrono::Utc),
                _ => naive_as_utc,
            },
            Zone::Named(tz) => match tz.from_local_datetime(&naive) {
                LocalResult::Single(t) => t.with_timezone(&chrono::Utc),
                LocalResult::Ambiguous(a, b) => {
                    let (a, b) = (a.with_timezone(&chrono::Utc), b.with_timezone(&chrono::Utc));
                    if second_pass {
                        a.max(b)
                    } else {
                        a.min(b)
                    }
                }
                LocalResult::None => {
                    let hour = chrono::Duration::hours(1);
                    match tz.from_local_datetime(&(naive - hour)) {
                        LocalResult::Single(t) => t.with_timezone(&chrono::Utc) + hour,
                        _ => naive_as_utc,
                    }
                }
            },
        }
    }
}

impl std::fmt::Display for Zone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Zone::Fixed(o) => write!(f, "UTC{o}"),
            Zone::Named(tz) => write!(f, "{}", tz.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_give_what_from_timestamp_gives() {
        let mut days = Days::default();
        let secs = [
            0,
            -1,
            86_399,
            86_400,
            1_440_071_391,
            1_440_071_391,
            -62_167_219_200,
            253_402_300_799,
            i64::MAX,
            i64::MIN,
            8_210_298_412_799,
            8_210_298_412_800,
        ];
        for (i, s) in secs.iter().enumerate() {
            for nanos in [0, 26_500_000, 999_999_999, 1_500_000_000, 2_000_000_000] {
                assert_eq!(
                    days.time(*s, nanos),
                    DateTime::from_timestamp(*s, nanos),
                    "{s} s {nanos} ns (case {i})"
                );
            }
        }
    }

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

    #[test]
    fn zones_read_local_times_across_daylight_saving() {
        let z = Zone::parse("Europe/Berlin").unwrap();
        let naive = |s: &str| parse(s).unwrap().time;
        // Clocks set back on 2025-10-26 03:00 CEST -> 02:00 CET: 02:30 happens twice.
        let first = z.to_utc(naive("2025-10-26 02:30:00"), false);
        assert_eq!(first, naive("2025-10-26T00:30:00Z"));
        let second = z.to_utc(naive("2025-10-26 02:30:00"), true);
        assert_eq!(
            second,
            naive("2025-10-26T01:30:00Z"),
            "the second 02:30 is an hour later"
        );
        // Clocks set forward on 2025-03-30 02:00 CET -> 03:00 CEST: 02:30 does not exist.
        assert_eq!(
            z.to_utc(naive("2025-03-30 02:30:00"), false),
            naive("2025-03-30T01:30:00Z")
        );
        assert_eq!(
            z.to_utc(naive("2025-06-02 15:17:05"), false),
            naive("2025-06-02T13:17:05Z")
        );
        for (s, secs) in [
            ("+02:00", 7200),
            ("-0530", -19800),
            ("UTC+2", 7200),
            ("Z", 0),
            ("-5", -18000),
        ] {
            assert_eq!(
                Zone::parse(s).unwrap(),
                Zone::Fixed(chrono::FixedOffset::east_opt(secs).unwrap()),
                "{s}"
            );
        }
        assert!(Zone::parse("Mars/Olympus").is_err());
        assert!(Zone::parse("+25:00").is_err());
    }
}
