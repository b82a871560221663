//! Benchmarks: each parser on generated input of a realistic shape, and a whole bundle through
//! `analyze` and `timeline`. Inputs are made by code (EVTX with `padtriage_testkit`), the
//! bundle in a temporary folder. Run with `cargo bench`; `benches/compare.sh` times the release
//! binary against `evtx_dump` on large real logs.

use chrono::{DateTime, Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use padtriage::bundle::Limits;
use padtriage::diagnose::rules::RuleSet;
use padtriage::model::EventFilter;
use padtriage::pipeline;
use padtriage::report::timeline::TimelineFormat;
use padtriage::sources::{self, ReadCtx};
use padtriage::timeline::{self, Pass, ReadOptions};
use padtriage_testkit::events::{self, Logon, Principal};
use padtriage_testkit::evtx_writer::EvtxWriter;
use std::hint::black_box;
use std::io::{BufReader, Write};
use std::path::Path;
use std::sync::Arc;

const COMPUTER: &str = "RPA-VM01.contoso.com";

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0).unwrap()
}

fn ctx(filter: &EventFilter, size: usize) -> ReadCtx<'_> {
    ReadCtx {
        file: Arc::from("bench"),
        size: size as u64,
        mtime: Some(t0()),
        filter,
        threads: 1,
        progress: None,
    }
}

/// A Security log: service logons with their 4672s and credential reads (the testkit's noise),
/// and a failed logon every 500 events.
fn security_evtx(n: usize) -> Vec<u8> {
    let mut specs = Vec::with_capacity(n);
    for (i, spec) in events::noise(1, t0(), COMPUTER).take(n).enumerate() {
        if i % 500 == 499 {
            let who = Principal::new("svc-rpa", "CONTOSO", "S-1-5-21-1-2-3-1107");
            let mut l = Logon::new(spec.time, COMPUTER, who, 10);
            l.status = 0xC000_006D;
            l.sub_status = 0xC000_006A;
            specs.push(events::security_4625(&l));
        }
        specs.push(spec);
    }
    EvtxWriter::build(&specs).expect("the testkit writes what it is given")
}

/// An Event Viewer "Save As XML" export of `n` Security events, half of them ones padtriage
/// keeps.
fn event_xml(n: usize) -> String {
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>\r\n");
    for i in 0..n {
        let id = if i % 2 == 0 { 4624 } else { 5379 };
        let t = t0() + Duration::seconds(i as i64);
        let created = format!(
            "{}.{:07}Z",
            t.format("%Y-%m-%dT%H:%M:%S"),
            t.timestamp_subsec_nanos() / 100
        );
        s.push_str(&format!(
            "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>\
<Provider Name='Microsoft-Windows-Security-Auditing' Guid='{{54849625-5478-4994-a5ba-3e3b0328c30d}}'/>\
<EventID>{id}</EventID><Version>2</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode>\
<Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID>\
<Correlation/><Execution ProcessID='788' ThreadID='{}'/><Channel>Security</Channel>\
<Computer>{COMPUTER}</Computer><Security/></System><EventData>\
<Data Name='SubjectUserSid'>S-1-5-18</Data><Data Name='SubjectUserName'>RPA-VM01$</Data>\
<Data Name='SubjectDomainName'>CONTOSO</Data><Data Name='SubjectLogonId'>0x3e7</Data>\
<Data Name='TargetUserSid'>S-1-5-18</Data><Data Name='TargetUserName'>SYSTEM</Data>\
<Data Name='TargetDomainName'>NT AUTHORITY</Data><Data Name='TargetLogonId'>0x3e7</Data>\
<Data Name='LogonType'>5</Data><Data Name='LogonProcessName'>Advapi  </Data>\
<Data Name='AuthenticationPackageName'>Negotiate</Data><Data Name='WorkstationName'>-</Data>\
<Data Name='ProcessName'>C:\\Windows\\System32\\services.exe</Data><Data Name='IpAddress'>-</Data>\
<Data Name='IpPort'>-</Data></EventData></Event>\r\n",
            created,
            1000 + i,
            900 + i % 400,
        ));
    }
    s.push_str("</Events>\r\n");
    s
}

/// A PAD service log: `n` lines, mostly routine, an error with a run error code every 200.
fn padlog(n: usize) -> String {
    let mut s = String::with_capacity(n * 300);
    for i in 0..n {
        let t = (t0() + Duration::milliseconds(250 * i as i64)).format("%Y-%m-%dT%H:%M:%S%.3fZ");
        if i % 200 == 199 {
            s.push_str(&format!(
                r#"{{"eventTimestamp":"{t}","traceLevel":"Error","component":"UIFlowService","operationName":"StartSession","message":"Session creation failed: WindowsIdentityIncorrect. The credentials provided with the request are invalid. Error code: -1073741715","correlationId":"7d0c2b1e-1111-4c3a-9d2e-5f6a7b8c9d0e","eventData":{{"agentVersion":"2.52.123.25","machineInfo":{{"isAADJoined":true,"isDomainJoined":false}}}}}}"#
            ));
        } else {
            s.push_str(&format!(
                r#"{{"eventTimestamp":"{t}","traceLevel":"Info","component":"UIFlowService","operationName":"Heartbeat","eventType":"Trace","message":"Agent heartbeat {i} sent to the cloud service","correlationId":"00000000-0000-0000-0000-{i:012}","eventData":{{"agentVersion":"2.52.123.25","executionInfo":{{"sessionId":2}}}}}}"#
            ));
        }
        s.push_str("\r\n");
    }
    s
}

/// A flow-session CSV export of `n` failed runs.
fn flow_sessions(n: usize) -> String {
    let mut s = String::from(
        "FlowSession,Name,Status Reason,ErrorCode,ErrorMessage,ErrorDetails,Started On,Completed On,\
Run mode,Session Username,Session User SID,Flow Machine,CorrelationId\n",
    );
    for i in 0..n {
        let t = t0() + Duration::minutes(7 * i as i64);
        let when = t.format("%-m/%-d/%Y %-I:%M %p");
        s.push_str(&format!(
            "a41c7d02-9b3e-4f15-8d6a-{i:012},Invoice intake,Failed,WindowsIdentityIncorrect,\
\"The credentials provided with the request are invalid.\nLogon failed: -1073741715\",\
\"{{\"\"errorCode\"\":\"\"WindowsIdentityIncorrect\"\",\"\"statusCode\"\":-1073741715}}\",\
{when},{when},Unattended,CONTOSO\\svc-rpa,S-1-5-21-1004336348-1177238915-682003330-1107,RPA-VM01,\
3b0c8f7e-5d2a-4f61-9c8e-{i:012}\n"
        ));
    }
    s
}

const DSREGCMD: &str = include_str!("../tests/fixtures/dsregcmd/hybrid_prt_error.txt");

fn parsers(c: &mut Criterion) {
    let all = EventFilter::all();
    let mut g = c.benchmark_group("parsers");
    g.sample_size(10);

    let evtx = security_evtx(40_000);
    g.throughput(Throughput::Bytes(evtx.len() as u64));
    g.bench_function(BenchmarkId::new("evtx", "40k security events"), |b| {
        b.iter(|| sources::evtx::read_evtx(black_box(&evtx[..]), &ctx(&all, evtx.len())))
    });
    // The same log with nothing kept: the cost of walking records (analyze away from a run).
    let none = EventFilter {
        ranges: Some(Vec::new()),
    };
    g.bench_function(
        BenchmarkId::new("evtx", "40k security events, none kept"),
        |b| b.iter(|| sources::evtx::read_evtx(black_box(&evtx[..]), &ctx(&none, evtx.len()))),
    );

    let xml = event_xml(10_000);
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function(BenchmarkId::new("event_xml", "10k events"), |b| {
        b.iter(|| {
            sources::event_xml::read_event_xml(black_box(xml.as_bytes()), &ctx(&all, xml.len()))
        })
    });

    g.throughput(Throughput::Bytes(DSREGCMD.len() as u64));
    g.bench_function(BenchmarkId::new("dsregcmd", "status dump"), |b| {
        b.iter(|| {
            sources::dsregcmd::read_dsregcmd(
                black_box(DSREGCMD.as_bytes()),
                &ctx(&all, DSREGCMD.len()),
            )
        })
    });

    let pad = padlog(100_000);
    g.throughput(Throughput::Bytes(pad.len() as u64));
    g.bench_function(BenchmarkId::new("padlog", "100k lines"), |b| {
        b.iter(|| {
            sources::padlog::read_padlog(
                BufReader::new(black_box(pad.as_bytes())),
                &ctx(&all, pad.len()),
            )
        })
    });

    let sessions = flow_sessions(5_000);
    g.throughput(Throughput::Bytes(sessions.len() as u64));
    g.bench_function(BenchmarkId::new("flow_sessions", "5k csv rows"), |b| {
        b.iter(|| {
            sources::run_records::read_flow_sessions(
                black_box(sessions.as_bytes()),
                &ctx(&all, sessions.len()),
            )
        })
    });
    g.finish();
}

/// A bundle folder: a Security log, a PAD log with failures, a dsregcmd dump and a
/// flow-session export.
fn write_bundle(dir: &Path) -> u64 {
    let files: [(&str, Vec<u8>); 4] = [
        ("Security.evtx", security_evtx(100_000)),
        ("PAD/UIFlowService.log", padlog(20_000).into_bytes()),
        ("dsregcmd.txt", DSREGCMD.as_bytes().to_vec()),
        ("flowsessions.csv", flow_sessions(20).into_bytes()),
    ];
    let mut total = 0;
    for (name, bytes) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in the bundle")).expect("temp dir");
        std::fs::write(&path, &bytes).expect("temp dir");
        total += bytes.len() as u64;
    }
    total
}

/// What `padtriage analyze` does (the library's whole job on a bundle).
fn analyze(root: &Path, rules: &RuleSet) -> usize {
    let b = pipeline::open(&[root.to_path_buf()], &Limits::default()).expect("bundle");
    pipeline::analyze(&b, rules, &pipeline::AnalyzeOptions::default())
        .analysis
        .runs
        .len()
}

/// What `padtriage timeline --format jsonl` does, into a sink.
fn timeline_jsonl(root: &Path) -> usize {
    let b = pipeline::open(&[root.to_path_buf()], &Limits::default()).expect("bundle");
    let opts = ReadOptions {
        threads: 0,
        progress: None,
    };
    let render = |ev: &padtriage::sources::Event, buf: &mut Vec<u8>| {
        padtriage::report::timeline::line(TimelineFormat::Jsonl, ev, buf)
    };
    let mut out = std::io::sink();
    let tl = timeline::write_sorted(
        &b,
        &EventFilter::all(),
        Pass::All,
        opts,
        &render,
        timeline::SORT_BUDGET,
        &mut out,
    )
    .expect("a sink takes everything");
    out.flush().expect("sink");
    tl.files.len()
}

fn whole_bundle(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = write_bundle(dir.path());
    let rules = RuleSet::load(None).expect("embedded rules");
    let mut g = c.benchmark_group("bundle");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("analyze", |b| b.iter(|| analyze(dir.path(), &rules)));
    g.bench_function("timeline jsonl", |b| b.iter(|| timeline_jsonl(dir.path())));
    g.finish();
}

criterion_group!(benches, parsers, whole_bundle);
criterion_main!(benches);
