//! The timeline stage: reads a bundle's inputs in parallel through the right parser and puts
//! every kept event in UTC order, by time, then file, then position: in memory ([`read`], for
//! `analyze`, which keeps only the minutes around each run), or rendered line by line as the
//! events are read and sorted in bounded memory ([`write_sorted`], for `timeline`; see the
//! `sorted` module). It also gives each event a kind label and a one-line summary a person can
//! read.

use crate::bundle::{Bundle, Input};
use crate::codes;
use crate::identity::Identity;
use crate::model::{
    Event, EventData, EventFilter, FileKind, FileReport, Loc, Parsed, Problem, RunRecordKind, Time,
};
use crate::sources;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::fmt::Write as _;
use std::io::{self, BufReader, Write};

mod sorted;

/// Everything read from a bundle.
#[derive(Debug, Default)]
pub struct Timeline {
    /// Kept events, ordered by time, then file, then position.
    pub events: Vec<Event>,
    pub snapshots: Vec<crate::model::DsregSnapshot>,
    /// One report per input read, plus the bundle's skipped files.
    pub files: Vec<FileReport>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions {
    /// Worker threads (0 = all cores).
    pub threads: usize,
    /// Draw a progress bar on stderr (callers pass true only when stderr is a terminal).
    pub progress: bool,
}

/// Which inputs a pass reads. `analyze` reads the small text sources first to find the runs,
/// then the event logs with a time filter around them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    All,
    TextOnly,
    EventLogsOnly,
}

impl Pass {
    fn wants(self, kind: FileKind) -> bool {
        let event_log = matches!(kind, FileKind::Evtx | FileKind::EventXml);
        match self {
            Pass::All => true,
            Pass::TextOnly => !event_log,
            Pass::EventLogsOnly => event_log,
        }
    }
}

/// Read the inputs a pass selects, in parallel, and merge them in memory. For callers that keep
/// few events (`analyze` reads the event logs through a time filter); `timeline` output goes
/// through [`write_sorted`] instead.
pub fn read(bundle: &Bundle, filter: &EventFilter, pass: Pass, opts: ReadOptions) -> Timeline {
    let parsed = read_pass(bundle, pass, opts, |_, input| {
        let sink = sources::Collect::default();
        let mut p = read_input_to(input, filter, opts.threads, &sink);
        p.events = sink.into_events();
        p
    });
    let mut tl = assemble(bundle, pass, parsed);
    sort_events(&mut tl.events);
    tl
}

/// Renders one event as one output line, newline included, appended to the buffer.
pub type RenderLine<'a> = &'a (dyn Fn(&Event, &mut Vec<u8>) + Sync);

/// Memory for rendered lines before `write_sorted` sorts them on disk.
pub const SORT_BUDGET: usize = 16 << 20;

/// Read the inputs a pass selects and write every kept event to `out`, rendered by `render`,
/// in timeline order (time, then file, then position), in bounded memory whatever the bundle's
/// size: events are rendered by the thread that read them, as they are read, and their lines
/// sorted by [`sorted::LineSorter`] (on disk past `budget` bytes). The returned timeline has the
/// file reports and snapshots, and no events.
pub fn write_sorted(
    bundle: &Bundle,
    filter: &EventFilter,
    pass: Pass,
    opts: ReadOptions,
    render: RenderLine,
    budget: usize,
    out: &mut dyn Write,
) -> io::Result<Timeline> {
    // Files compare by display path, as `sort_events` orders them.
    let mut by_path: Vec<usize> = (0..bundle.inputs.len()).collect();
    by_path.sort_by(|a, b| bundle.inputs[*a].path.cmp(&bundle.inputs[*b].path));
    let mut rank = vec![0u32; bundle.inputs.len()];
    let mut r = 0u32;
    for (n, i) in by_path.iter().enumerate() {
        if n > 0 && bundle.inputs[by_path[n - 1]].path != bundle.inputs[*i].path {
            r += 1;
        }
        rank[*i] = r;
    }
    let sorter = sorted::LineSorter::new(budget);
    let parsed = read_pass(bundle, pass, opts, |i, input| {
        let sink = LineSink {
            input: u32::try_from(i).unwrap_or(u32::MAX),
            file: rank[i],
            render,
            sorter: &sorter,
        };
        read_input_to(input, filter, opts.threads, &sink)
    });
    sorter.finish(out)?;
    Ok(assemble(bundle, pass, parsed))
}

/// Renders a file's batches of events into lines for the sorter.
struct LineSink<'a> {
    input: u32,
    file: u32,
    render: RenderLine<'a>,
    sorter: &'a sorted::LineSorter,
}

impl sources::EventSink for LineSink<'_> {
    fn take(&self, batch: u64, events: Vec<Event>) {
        let mut b = sorted::Batch {
            bytes: self.sorter.buffer(),
            lines: Vec::with_capacity(events.len()),
        };
        b.bytes.reserve(events.len() * 640);
        for (idx, ev) in events.iter().enumerate() {
            (self.render)(ev, &mut b.bytes);
            let (loc_kind, loc) = match ev.source.loc {
                Loc::Record(n) => (0, n),
                Loc::Line(n) => (1, n),
                Loc::Row(n) => (2, n),
            };
            let key = sorted::Key {
                secs: ev.time.timestamp(),
                nanos: ev.time.timestamp_subsec_nanos(),
                file: self.file,
                loc_kind,
                loc,
                input: self.input,
                batch,
                idx: u32::try_from(idx).unwrap_or(u32::MAX),
            };
            b.lines
                .push((key, u32::try_from(b.bytes.len()).unwrap_or(u32::MAX)));
        }
        drop(events);
        self.sorter.push(b);
    }
}

/// Run `each` on every input the pass selects, in parallel, with a progress bar when asked;
/// results in input order.
fn read_pass<T: Send>(
    bundle: &Bundle,
    pass: Pass,
    opts: ReadOptions,
    each: impl Fn(usize, &Input) -> T + Sync,
) -> Vec<T> {
    let inputs: Vec<(usize, &Input)> = bundle
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| pass.wants(i.kind))
        .collect();
    let total: u64 = inputs.iter().map(|(_, i)| i.size).sum();
    let bar = if opts.progress && !inputs.is_empty() {
        let b = ProgressBar::new(total);
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} reading [{bar:30}] {binary_bytes}/{binary_total_bytes} ({elapsed}) {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        b.set_length(total);
        Some(b)
    } else {
        None
    };
    // Inside the pool: a reader then runs on a worker, which parses chunks itself while it
    // waits for the others (a single large log otherwise has the calling thread read and sleep).
    let out: Vec<T> = rayon::scope(|_| {
        inputs
            .par_iter()
            .map(|(i, input)| {
                let p = each(*i, input);
                if let Some(b) = &bar {
                    b.inc(input.size);
                    b.set_message(short_name(&input.path));
                }
                p
            })
            .collect()
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    out
}

/// Put a pass's results together with the bundle's own reports.
fn assemble(bundle: &Bundle, pass: Pass, parsed: Vec<Parsed>) -> Timeline {
    let mut tl = Timeline::default();
    for p in parsed {
        tl.events.extend(p.events);
        tl.snapshots.extend(p.snapshot);
        tl.files.push(p.report);
    }
    if pass != Pass::EventLogsOnly {
        tl.files.extend(bundle.skipped.iter().cloned());
        // Bundle-level problems (limits, damaged zip directories) are listed where they happened.
        for p in &bundle.problems {
            let at = p.at.clone().unwrap_or_else(|| bundle.root.clone());
            let mut r = FileReport::new(at, FileKind::Zip, 0);
            r.problems.push(p.clone());
            tl.files.push(r);
        }
    }
    tl.files.sort_by(|a, b| a.path.cmp(&b.path));
    tl
}

fn short_name(path: &str) -> String {
    path.rsplit(['/', '\\', '!'])
        .next()
        .unwrap_or(path)
        .to_string()
}

/// Order by time, then source, so output is the same on every run whatever the thread count.
pub fn sort_events(events: &mut [Event]) {
    events.par_sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.source.cmp(&b.source)));
}

/// Merge a second pass into a timeline.
pub fn merge(into: &mut Timeline, other: Timeline) {
    into.events.extend(other.events);
    into.snapshots.extend(other.snapshots);
    into.files.extend(other.files);
    sort_events(&mut into.events);
    into.files.sort_by(|a, b| a.path.cmp(&b.path));
}

/// Open one input and run its parser, keeping its events in memory. Never fails: an
/// unreadable file becomes a report with a problem.
pub fn read_input(input: &Input, filter: &EventFilter, threads: usize) -> Parsed {
    let sink = sources::Collect::default();
    let mut p = read_input_to(input, filter, threads, &sink);
    p.events = sink.into_events();
    p
}

/// Open one input and run its parser, handing its kept events to `sink` as they are read (the
/// returned `Parsed` has none). Never fails: an unreadable file becomes a report with a problem.
pub fn read_input_to(
    input: &Input,
    filter: &EventFilter,
    threads: usize,
    sink: &dyn sources::EventSink,
) -> Parsed {
    let ctx = input.read_ctx(filter, threads);
    // A log on disk is read by position, by the workers that parse it.
    let positional = cfg!(any(unix, windows));
    if let (FileKind::Evtx, Some(path), true) = (input.kind, input.disk_path(), positional) {
        if let Ok(file) = std::fs::File::open(path) {
            let mut parsed = Parsed::new(sources::evtx::read_evtx_file_to(&file, &ctx, sink));
            if !input.problems.is_empty() {
                let mut all = input.problems.clone();
                all.append(&mut parsed.report.problems);
                parsed.report.problems = all;
            }
            return parsed;
        }
    }
    let reader = match input.open() {
        Ok(r) => r,
        Err(e) => {
            let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
            report.problems.push(Problem::new(
                "io",
                None,
                format!("could not open the file: {e}"),
            ));
            report.skipped = Some(format!("could not open: {e}"));
            return Parsed::new(report);
        }
    };
    // A parser bug on one hostile file must not end the run: the file is reported, the rest of
    // the bundle is read.
    let read = std::panic::AssertUnwindSafe(|| match input.kind {
        FileKind::Evtx => Parsed::new(sources::evtx::read_evtx_to(reader, &ctx, sink)),
        FileKind::EventXml => {
            sources::event_xml::read_event_xml_to(BufReader::new(reader), &ctx, sink)
        }
        FileKind::Dsregcmd => sources::dsregcmd::read_dsregcmd(reader, &ctx),
        FileKind::PadLog => {
            sources::padlog::read_padlog_to(BufReader::with_capacity(64 << 10, reader), &ctx, sink)
        }
        FileKind::PortalError => sources::run_records::read_portal_error(reader, &ctx),
        FileKind::FlowSessions => sources::run_records::read_flow_sessions(reader, &ctx),
        FileKind::Zip | FileKind::Other | FileKind::Skipped => {
            let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
            report.skipped = Some("not an evidence file".into());
            Parsed::new(report)
        }
    });
    let mut parsed = std::panic::catch_unwind(read).unwrap_or_else(|_| {
        let mut report = FileReport::new(input.path.clone(), input.kind, input.size);
        report.problems.push(Problem::new(
            "internal",
            None,
            "padtriage hit an internal error on this file (a bug: please report it with the file); \
             the file was read only up to that point, and the rest of the bundle was read",
        ));
        report.errors = 1;
        Parsed::new(report)
    });
    // Small whole-file parsers: their events go to the sink in one batch.
    if !parsed.events.is_empty() {
        parsed.report.kept = parsed.events.len() as u64;
        sink.take(0, std::mem::take(&mut parsed.events));
    }
    // Problems the bundle stage noted (unsafe zip names, ...) belong to the file's report.
    if !input.problems.is_empty() {
        let mut all = input.problems.clone();
        all.append(&mut parsed.report.problems);
        parsed.report.problems = all;
    }
    parsed
}

/// A stable, short label for an event's kind: `security.4625`, `aad.1098`, `udr.304`,
/// `scm.7000`, `pad.error`, `run.portal_error`, `run.flow_session`.
pub fn kind_of(ev: &Event) -> String {
    let mut s = String::with_capacity(16);
    write_kind(ev, &mut s);
    s
}

/// [`kind_of`], appended to `out`.
pub fn write_kind(ev: &Event, out: &mut String) {
    // Writing to a String cannot fail.
    let (family, id) = match &ev.data {
        EventData::Security(s) => ("security.", s.event_id),
        EventData::Aad(a) => ("aad.", a.event_id),
        EventData::DeviceRegistration(d) => ("udr.", d.event_id),
        EventData::Service(s) => ("scm.", s.event_id),
        EventData::PadLog(p) => {
            out.push_str("pad.");
            out.push_str(p.level.map_or("entry", level_name));
            return;
        }
        EventData::RunRecord(r) => {
            out.push_str(match r.kind {
                RunRecordKind::PortalError => "run.portal_error",
                RunRecordKind::FlowSession => "run.flow_session",
            });
            return;
        }
    };
    out.push_str(family);
    out.push_str(itoa::Buffer::new().format(id));
}

fn level_name(l: crate::model::TraceLevel) -> &'static str {
    use crate::model::TraceLevel::*;
    match l {
        Verbose => "verbose",
        Info => "info",
        Warning => "warning",
        Error => "error",
        Critical => "critical",
    }
}

/// The account an event is about, when it names one.
pub fn event_user(ev: &Event) -> Option<Identity> {
    match &ev.data {
        EventData::Security(s) => Identity::from_account(&s.target),
        EventData::Aad(a) => a
            .upn
            .as_deref()
            .and_then(Identity::parse)
            .or_else(|| a.user_sid.as_deref().and_then(Identity::parse)),
        EventData::PadLog(p) => p.user.as_deref().and_then(Identity::parse),
        EventData::RunRecord(r) => {
            let mut id = r.user.as_deref().and_then(Identity::parse);
            if let (Some(i), Some(sid)) = (id.as_mut(), r.user_sid.as_deref()) {
                if i.sid.is_none() && crate::identity::is_sid(sid) {
                    i.sid = Some(sid.to_ascii_uppercase());
                }
            }
            id.or_else(|| r.user_sid.as_deref().and_then(Identity::parse))
        }
        EventData::DeviceRegistration(_) | EventData::Service(_) => None,
    }
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

fn write_account(a: &crate::model::Account, out: &mut String) {
    match (&a.domain, &a.name) {
        (Some(d), Some(n)) => {
            out.push_str(d);
            out.push('\\');
            out.push_str(n);
        }
        (None, Some(n)) => out.push_str(n),
        (_, None) => out.push_str(a.sid.as_deref().unwrap_or("-")),
    }
}

/// One line a person can read.
pub fn summary(ev: &Event) -> String {
    let mut s = String::with_capacity(128);
    write_summary(ev, &mut s);
    s
}

/// [`summary`], appended to `out`.
pub fn write_summary(ev: &Event, out: &mut String) {
    // Writing to a String cannot fail: the results of `write!` are ignored.
    match &ev.data {
        EventData::Security(s) => security_summary(s, out),
        EventData::Aad(a) => {
            let _ = write!(out, "AAD {}", a.event_id);
            if let Some(c) = a.error_code {
                let _ = write!(out, " error {}", codes::describe_hex(c));
            }
            if let Some(c) = a.status {
                let _ = write!(out, " status {}", codes::describe_hex(c));
            }
            if let Some(o) = &a.oauth_error {
                let _ = write!(out, " {o}");
            }
            for c in &a.aadsts {
                let _ = write!(out, " {}", codes::describe_aadsts(*c));
            }
            if let Some(u) = &a.upn {
                let _ = write!(out, " user {u}");
            }
            if a.error_code.is_none() && a.status.is_none() && a.aadsts.is_empty() {
                let _ = write!(out, ": {}", first_line(&a.text));
            }
        }
        EventData::DeviceRegistration(d) => {
            let _ = write!(out, "Device registration {}", d.event_id);
            if let Some(c) = d.exit_code {
                let _ = write!(out, " exit code {}", codes::describe_hex(c));
            }
            if let Some(p) = &d.error_phase {
                let _ = write!(out, " phase {p}");
            }
            if let Some(s) = &d.server_error {
                let _ = write!(out, " server error {s}");
            }
        }
        EventData::Service(s) => {
            let _ = write!(
                out,
                "Service Control Manager {} {}",
                s.event_id,
                opt(&s.service)
            );
            if let Some(c) = s.error_code {
                let _ = match codes::win32(c) {
                    Some(i) => write!(out, " error {c} ({}: {})", i.name, i.meaning),
                    None => write!(out, " error {c}"),
                };
            }
        }
        EventData::PadLog(p) => {
            let _ = write!(
                out,
                "PAD {} {}",
                p.level.map(level_name).unwrap_or("entry"),
                opt(&p.component)
            );
            if !p.error_codes.is_empty() {
                let _ = write!(out, " {}", p.error_codes.join(","));
            }
            for c in &p.ntstatus {
                let _ = write!(out, " {}", codes::describe_hex(*c));
            }
            if let Some(u) = &p.user {
                let _ = write!(out, " user {u}");
            }
            let _ = write!(out, ": {}", first_line(&p.message));
        }
        EventData::RunRecord(r) => {
            let what = match r.kind {
                RunRecordKind::PortalError => "Portal run error",
                RunRecordKind::FlowSession => "Flow session failed",
            };
            let _ = write!(out, "{what} {}", opt(&r.error_code));
            for c in &r.ntstatus {
                let _ = write!(out, " {}", codes::describe_hex(*c));
            }
            if let Some(u) = &r.user {
                let _ = write!(out, " user {u}");
            }
            if let Some(m) = &r.machine {
                let _ = write!(out, " machine {m}");
            }
            if let Some(m) = &r.error_message {
                let _ = write!(out, ": {}", first_line(m));
            }
        }
    }
}

fn security_summary(s: &crate::model::SecurityEvent, out: &mut String) {
    let what = match s.event_id {
        4624 => "Logon succeeded",
        4625 => "Logon failed",
        4648 => "Logon with explicit credentials",
        4634 => "Logoff",
        4647 => "User-initiated logoff",
        4672 => "Special privileges assigned",
        4740 => "Account locked out",
        4776 => "NTLM credential validation",
        _ => "Security event",
    };
    let mut digits = itoa::Buffer::new();
    out.push_str(what);
    out.push_str(" (");
    out.push_str(digits.format(s.event_id));
    out.push_str(") ");
    if s.event_id == 4672 {
        write_account(&s.subject, out);
    } else {
        write_account(&s.target, out);
    }
    if let Some(t) = s.logon_type {
        out.push_str(" type ");
        out.push_str(digits.format(t));
        out.push(' ');
        out.push_str(codes::logon_type_name(t));
    }
    if let Some(st) = s.status.filter(|v| *v != 0) {
        let _ = write!(out, " status {}", codes::describe_hex(st));
    }
    // For a missing logon right, the logon type tells which right.
    if s.status == Some(0xC000_015B) || s.sub_status == Some(0xC000_015B) {
        if let Some((allow, deny)) = s.logon_type.and_then(codes::logon_right_for_type) {
            out.push_str(&format!(" [needs '{allow}', and no '{deny}']"));
        }
    }
    if let Some(st) = s.sub_status.filter(|v| *v != 0) {
        let _ = write!(out, " substatus {}", codes::describe_hex(st));
    }
    if let Some(p) = &s.logon_process {
        out.push_str(" via ");
        out.push_str(p);
    }
    if let Some(p) = &s.process_name {
        out.push_str(" process ");
        out.push_str(p);
    }
    if let Some(ip) = s.ip_address.as_deref().filter(|ip| *ip != "-") {
        out.push_str(" from ");
        out.push_str(ip);
    }
    if let Some(t) = &s.target_server {
        out.push_str(" to ");
        out.push_str(t);
    }
}

fn first_line(s: &str) -> &str {
    let line = s.lines().next().unwrap_or("");
    match line.char_indices().nth(200) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

/// Events within `[from, to]`.
pub fn window(events: &[Event], from: Time, to: Time) -> &[Event] {
    let start = events.partition_point(|e| e.time < from);
    let end = events.partition_point(|e| e.time <= to);
    &events[start..end.max(start)]
}
