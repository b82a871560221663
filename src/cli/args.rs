//! Parsing of times and durations given on the command line.

use chrono::Duration;

pub use padtriage::time::parse_user as parse_time;

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
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::minutes(90));
        assert_eq!(parse_duration("90").unwrap(), Duration::seconds(90));
        assert!(parse_duration("5x").is_err());
        assert_eq!(
            parse_window("15m,2m").unwrap(),
            (Duration::minutes(15), Duration::minutes(2))
        );
    }
}
