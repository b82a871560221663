//! Parsing of the values given on the command line (clap value parsers): times, durations,
//! windows and the thread count. Each error is one line saying what is accepted.

use chrono::Duration;

pub use padtriage::model::Time;
pub use padtriage::time::parse_user as parse_time;

/// Evidence before and after a time.
pub type Window = (Duration, Duration);

/// Most worker threads `--threads` takes. The work is CPU-bound, so threads past the core count
/// only add overhead, and it grows fast: on the 2-core development machine, `analyze` of a sample
/// bundle took 0.45 s at 256 threads, 12 s at 1,000 and 66 s at 2,000 (before this cap; 10,000
/// ran for minutes, 100,000 hit the system's thread limit). A fixed cap rather than a multiple
/// of the cores keeps a command line that works on one machine valid on every other; 256 is
/// above the hardware threads of common servers.
pub const MAX_THREADS: usize = 256;

/// `--threads`: 1 to [`MAX_THREADS`].
pub fn parse_threads(s: &str) -> Result<usize, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of threads; give 1 to {MAX_THREADS}"))?;
    match usize::try_from(n) {
        Ok(0) => Err(format!(
            "0 threads cannot read anything; give 1 to {MAX_THREADS}, or leave --threads out to use every core"
        )),
        Ok(n) if n <= MAX_THREADS => Ok(n),
        _ => Err(format!(
            "{n} is more than the {MAX_THREADS} threads padtriage allows; more threads than cores only add overhead"
        )),
    }
}

/// Longest duration accepted: time arithmetic on the evidence's dates stays far from chrono's
/// limits (a window of millions of days would overflow them).
const MAX_DURATION_DAYS: i64 = 3650;

/// Accepts `90s`, `15m`, `2h`, `1d` and combinations like `1h30m`. Every number needs its unit
/// (a bare `15` would read as seconds where minutes were meant), except `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("'{s}' is not a duration; use e.g. 90s, 15m, 2h, 1d or 1h30m");
    let t = s.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if t == "0" {
        return Ok(Duration::zero());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "'{s}' has no unit; write {t}s for seconds or {t}m for minutes (units: s, m, h, d)"
        ));
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
    if total > MAX_DURATION_DAYS * 86400 {
        return Err(format!(
            "'{s}' is longer than {MAX_DURATION_DAYS}d (ten years), the longest padtriage takes"
        ));
    }
    Ok(Duration::seconds(total))
}

/// A before/after window such as `15m,2m` (before, after) or a single `10m` for both sides.
pub fn parse_window(s: &str) -> Result<Window, String> {
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
        assert_eq!(parse_duration("90s").unwrap(), Duration::seconds(90));
        assert_eq!(parse_duration("0").unwrap(), Duration::zero());
        assert!(parse_duration("90").unwrap_err().contains("no unit"));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("99999999999999999d").is_err());
        assert!(parse_duration("3651d").is_err());
        assert_eq!(parse_duration("3650d").unwrap(), Duration::days(3650));
        assert_eq!(
            parse_window("15m,2m").unwrap(),
            (Duration::minutes(15), Duration::minutes(2))
        );
    }

    #[test]
    fn threads_are_one_to_the_cap() {
        assert_eq!(parse_threads("1"), Ok(1));
        assert_eq!(parse_threads("256"), Ok(MAX_THREADS));
        for bad in ["0", "257", "100000", "-1", "two", "99999999999999999999999"] {
            assert!(parse_threads(bad).is_err(), "{bad}");
        }
    }
}
