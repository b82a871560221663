//! Parsing of times and durations given on the command line.

use crate::model::Time;
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// Accepts RFC 3339 (`2025-06-02T13:17:05Z`, with offset), `2025-06-02 13:17[:05[.123]]` (UTC)
/// and a bare date (midnight UTC).
pub fn parse_time(s: &str) -> Result<Time, String> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s.trim_end_matches(['Z', 'z']), fmt) {
            return Ok(t.and_utc());
        }
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

/// Accepts `90s`, `15m`, `2h`, `1d`, combinations like `1h30m`, and bare seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration; use e.g. 90s, 15m, 2h, 1d or 1h30m");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<i64>() {
        return Ok(Duration::seconds(secs));
    }
    let mut total = 0i64;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().map_err(|_| bad())?;
        num.clear();
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86400,
            _ => return Err(bad()),
        };
        total = total
            .checked_add(n.checked_mul(unit).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(Duration::seconds(total))
}

/// A before/after window such as `15m,2m` (before, after) or a single `10m` for both sides.
pub fn parse_window(s: &str) -> Result<(Duration, Duration), String> {
    match s.split_once(',') {
        Some((b, a)) => Ok((parse_duration(b)?, parse_duration(a)?)),
        None => {
            let d = parse_duration(s)?;
            Ok((d, d))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_durations() {
        let t = parse_time("2025-06-02T13:17:05Z").unwrap();
        assert_eq!(parse_time("2025-06-02 13:17:05").unwrap(), t);
        assert_eq!(parse_time("2025-06-02T15:17:05+02:00").unwrap(), t);
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("90").unwrap(), Duration::seconds(90));
        assert!(parse_duration("5x").is_err());
        assert_eq!(
            parse_window("15m,2m").unwrap(),
            (Duration::minutes(15), Duration::minutes(2))
        );
    }
}
