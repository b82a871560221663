//! The geometry of a run's timeline picture: one swim lane per kind of evidence present, a time
//! axis with ticks, the evidence window shaded, the failure marked, the window's other events as
//! ticks and every cited record as a point linking to its row. Numbers only: the template
//! (`templates/analysis.html`) draws them, escaping every text.

use crate::diagnose::RunDiagnosis;
use crate::model::Time;
use chrono::{Duration, TimeZone, Utc};

/// The lanes, top to bottom, by evidence family (the prefix of a kind: `security.4625`).
/// A family not listed (a source added later) gets a lane of its own, named after it.
pub const LANES: &[(&str, &str)] = &[
    ("run", "Run records"),
    ("pad", "PAD logs"),
    ("security", "Security logons"),
    ("session", "Windows sessions"),
    ("aad", "Entra ID (AAD)"),
    ("udr", "Device registration"),
    ("scm", "Services"),
    ("dsregcmd", "dsregcmd snapshot"),
];

/// The lane of a record's kind (`security.4625` -> `security`; a run given with `--at` is
/// `run`).
pub fn family(kind: &str) -> &str {
    kind.split('.').next().unwrap_or(kind)
}

pub fn lane_label(family: &str) -> String {
    LANES
        .iter()
        .find(|(f, _)| *f == family)
        .map_or_else(|| family.to_string(), |(_, l)| (*l).to_string())
}

/// A record to draw.
pub struct Mark<'a> {
    pub id: &'a str,
    pub family: &'a str,
    pub time: Option<Time>,
    /// CSS class: `failure`, `confirms`, `supports`, `rules_out`, `context`.
    pub role: &'a str,
    pub title: String,
}

pub struct Picture {
    pub width: u32,
    pub height: u32,
    pub plot_left: f32,
    pub plot_right: f32,
    pub lanes_top: f32,
    pub lanes_bottom: f32,
    pub window_x: f32,
    pub window_w: f32,
    pub failure_x: f32,
    pub failure_label: String,
    pub ticks: Vec<Tick>,
    pub lanes: Vec<Lane>,
    /// What the picture shows, for readers of the page who cannot see it.
    pub description: String,
}

pub struct Tick {
    pub x: f32,
    pub label: String,
}

pub struct Lane {
    pub family: String,
    pub label: String,
    pub count: String,
    pub y: f32,
    pub mid: f32,
    pub height: f32,
    /// The window's other events: in the run's scope, and out of it.
    pub events: Vec<f32>,
    pub context: Vec<f32>,
    pub points: Vec<Point>,
}

pub struct Point {
    pub id: String,
    pub x: f32,
    pub y: f32,
    pub role: String,
    pub title: String,
    /// For a record far outside the picture's span, drawn at its edge: how far (`+635 d`).
    pub beyond: Option<String>,
    pub label_x: f32,
}

const WIDTH: f32 = 980.0;
const LABEL_W: f32 = 170.0;
const RIGHT: f32 = 60.0;
const TOP: f32 = 40.0;
const LANE_H: f32 = 32.0;
const AXIS_H: f32 = 34.0;

/// Records this far outside the evidence window stretch the picture; further ones are drawn at
/// its edge with how far they are.
fn reach() -> Duration {
    Duration::hours(1)
}

fn round(x: f64) -> f32 {
    ((x * 10.0).round() / 10.0) as f32
}

/// Tick spacing: the first step giving at most 8 ticks over the span.
fn step_secs(span: i64) -> i64 {
    const STEPS: &[i64] = &[
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
    ];
    STEPS
        .iter()
        .copied()
        .find(|s| span / s <= 8)
        .unwrap_or(86400 * (span / 86400 / 8).max(1))
}

fn ago(d: Duration) -> String {
    let s = d.num_seconds();
    let (sign, a) = if s < 0 { ("-", -s) } else { ("+", s) };
    if a >= 86400 {
        format!("{sign}{} d", a / 86400)
    } else if a >= 3600 {
        format!("{sign}{} h", a / 3600)
    } else {
        format!("{sign}{} min", a / 60)
    }
}

pub fn draw(r: &RunDiagnosis, marks: &[Mark]) -> Picture {
    let (wfrom, wto) = (r.window.from, r.window.to);
    // The span: the window, the failure, and the records within reach of the window.
    let mut lo = wfrom.min(r.time);
    let mut hi = wto.max(r.time);
    for t in marks.iter().filter_map(|m| m.time) {
        if t >= wfrom - reach() && t <= wto + reach() {
            lo = lo.min(t);
            hi = hi.max(t);
        }
    }
    let pad = ((hi - lo).num_milliseconds() / 30).max(1000);
    let lo = lo - Duration::milliseconds(pad);
    let hi = hi + Duration::milliseconds(pad);
    let span_ms = (hi - lo).num_milliseconds().max(1) as f64;
    let (left, right) = (LABEL_W, WIDTH - RIGHT);
    let x = |t: Time| -> f32 {
        let f = (t - lo).num_milliseconds() as f64 / span_ms;
        round(f64::from(left) + f.clamp(0.0, 1.0) * f64::from(right - left))
    };

    // Lanes: every family with an event in the window or a record cited, in the fixed order.
    let mut families: Vec<&str> = r
        .activity
        .iter()
        .map(|a| a.family.as_str())
        .chain(marks.iter().map(|m| m.family))
        .collect();
    families.sort_by_key(|f| {
        LANES
            .iter()
            .position(|(l, _)| l == f)
            .unwrap_or(LANES.len())
    });
    families.dedup();
    let mut lanes = Vec::new();
    for (i, fam) in families.iter().enumerate() {
        let y = TOP + i as f32 * LANE_H;
        let mid = y + LANE_H / 2.0;
        let act = r.activity.iter().find(|a| a.family == *fam);
        let xs = |ts: &[Time]| ts.iter().map(|t| x(*t)).collect::<Vec<f32>>();
        let mut points: Vec<Point> = Vec::new();
        for m in marks.iter().filter(|m| m.family == *fam) {
            let (px, beyond) = match m.time {
                Some(t) if t < lo => (left + 4.0, Some(ago(t - wfrom))),
                Some(t) if t > hi => (right - 4.0, Some(ago(t - wto))),
                Some(t) => (x(t), None),
                None => (right - 4.0, Some("time unknown".to_string())),
            };
            points.push(Point {
                id: m.id.to_string(),
                x: px,
                y: mid,
                role: m.role.to_string(),
                title: m.title.clone(),
                label_x: if px > right - 40.0 {
                    px - 8.0
                } else {
                    px + 8.0
                },
                beyond,
            });
        }
        // Points closer than their size are spread up and down the lane; of several at one
        // edge, one says how far they are.
        points.sort_by(|a, b| a.x.total_cmp(&b.x));
        let mut last: Option<(f32, Option<String>)> = None;
        let mut k = 0;
        for p in &mut points {
            let near = last.as_ref().is_some_and(|(l, _)| p.x - l < 10.0);
            if near {
                k += 1;
                let off = [0.0, -8.0, 8.0][k % 3];
                p.y = mid + off;
                if last.as_ref().is_some_and(|(_, b)| *b == p.beyond) {
                    p.beyond = None;
                    continue;
                }
            } else {
                k = 0;
            }
            last = Some((p.x, p.beyond.clone()));
        }
        let unit = |n: usize| match (*fam, n) {
            ("dsregcmd", 1) => "dump",
            ("dsregcmd", _) => "dumps",
            (_, 1) => "event",
            _ => "events",
        };
        let count = match act {
            Some(a) if a.context > 0 => format!(
                "{} {} (+{} out of scope)",
                a.counted,
                unit(a.counted),
                a.context
            ),
            Some(a) => format!("{} {}", a.counted, unit(a.counted)),
            None => String::new(),
        };
        lanes.push(Lane {
            family: fam.to_string(),
            label: lane_label(fam),
            count,
            y,
            mid,
            height: LANE_H,
            events: act.map(|a| xs(&a.times)).unwrap_or_default(),
            context: act.map(|a| xs(&a.context_times)).unwrap_or_default(),
            points,
        });
    }
    let lanes_bottom = TOP + lanes.len().max(1) as f32 * LANE_H;

    let span = (hi - lo).num_seconds().max(1);
    let step = step_secs(span);
    let fmt = if span > 86400 {
        "%m-%d %H:%M"
    } else if step < 60 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    let mut ticks = Vec::new();
    let mut t = (lo.timestamp() + step - 1).div_euclid(step) * step;
    while t <= hi.timestamp() {
        if let Some(at) = Utc.timestamp_opt(t, 0).single() {
            ticks.push(Tick {
                x: x(at),
                label: at.format(fmt).to_string(),
            });
        }
        t += step;
    }
    let wx = x(wfrom);
    let cited = marks.len();
    Picture {
        width: WIDTH as u32,
        height: (lanes_bottom + AXIS_H) as u32,
        plot_left: left,
        plot_right: right,
        lanes_top: TOP,
        lanes_bottom,
        window_x: wx,
        window_w: round(f64::from(x(wto) - wx)),
        failure_x: x(r.time),
        failure_label: format!("failure {}", r.time.format("%H:%M:%SZ")),
        ticks,
        description: format!(
            "Evidence from {} to {} (UTC) in {} lanes ({}); the failure at {}; {cited} records cited.",
            wfrom.format("%Y-%m-%d %H:%M:%S"),
            wto.format("%Y-%m-%d %H:%M:%S"),
            lanes.len(),
            lanes
                .iter()
                .map(|l| l.label.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            r.time.format("%H:%M:%S"),
        ),
        lanes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_few_and_round() {
        assert_eq!(step_secs(17 * 60), 120);
        assert_eq!(step_secs(60), 10);
        assert_eq!(step_secs(3 * 86400), 43200);
        assert_eq!(ago(Duration::days(635)), "+635 d");
        assert_eq!(ago(Duration::minutes(-90)), "-1 h");
        assert_eq!(family("security.4625"), "security");
        assert_eq!(family("run"), "run");
        assert_eq!(lane_label("newsource"), "newsource");
    }
}
