//! Tests of the Event Viewer XML reader.
use super::*;
use crate::model::EventFilter;
use crate::sources::EventData;

fn read(bytes: &[u8]) -> Parsed {
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("Security.xml"),
        size: bytes.len() as u64,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    read_event_xml(bytes, &ctx)
}

const NS: &str = "http://schemas.microsoft.com/win/2004/08/events/event";

fn event_4625(record: u64, time: &str) -> String {
    format!(
        r#"<Event xmlns="{NS}"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{{54849625-5478-4994-A5BA-3E3B0328C30D}}"/><EventID>4625</EventID><Version>0</Version><Level>0</Level><Task>12544</Task><Opcode>0</Opcode><Keywords>0x8010000000000000</Keywords><TimeCreated SystemTime="{time}"/><EventRecordID>{record}</EventRecordID><Correlation/><Execution ProcessID="576" ThreadID="108"/><Channel>Security</Channel><Computer>RPA-VM01.contoso.com</Computer><Security/></System><EventData><Data Name="SubjectUserSid">S-1-5-18</Data><Data Name="SubjectUserName">RPA-VM01$</Data><Data Name="SubjectDomainName">CONTOSO</Data><Data Name="TargetUserSid">S-1-0-0</Data><Data Name="TargetUserName">svc-rpa</Data><Data Name="TargetDomainName">CONTOSO</Data><Data Name="Status">0xc000006d</Data><Data Name="FailureReason">%%2313</Data><Data Name="SubStatus">0xc000006a</Data><Data Name="LogonType">10</Data><Data Name="LogonProcessName">User32 </Data><Data Name="AuthenticationPackageName">Negotiate</Data><Data Name="WorkstationName">RPA-VM01</Data><Data Name="ProcessName">C:\Windows\System32\svchost.exe</Data><Data Name="IpAddress">127.0.0.1</Data></EventData></Event>"#
    )
}

fn event_4624(record: u64) -> String {
    format!(
        r#"<Event xmlns="{NS}"><System><Provider Name="Microsoft-Windows-Security-Auditing"/><EventID>4624</EventID><TimeCreated SystemTime="2025-06-02T13:18:00.1234567Z"/><EventRecordID>{record}</EventRecordID><Channel>Security</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name="TargetUserName">svc-rpa</Data><Data Name="LogonType">2</Data></EventData></Event>"#
    )
}

#[test]
fn wevtutil_shape_concatenated_events() {
    let xml = format!(
        "{}\r\n{}\r\n",
        event_4625(1861987, "2025-06-02T13:17:05.3157890Z"),
        event_4624(1861988)
    );
    let p = read(xml.as_bytes());
    assert_eq!(p.report.records, 2);
    assert_eq!(p.report.errors, 0);
    assert_eq!(p.report.kept, 2);
    assert_eq!(p.report.channels, vec!["Security".to_string()]);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let ev = &p.events[0];
    assert_eq!(ev.source.loc, Loc::Record(1861987));
    assert_eq!(ev.time.to_rfc3339(), "2025-06-02T13:17:05.315789+00:00");
    let EventData::Security(s) = &ev.data else {
        panic!()
    };
    assert_eq!(s.status, Some(0xC000_006D));
    assert_eq!(s.sub_status, Some(0xC000_006A));
    assert_eq!(s.logon_type, Some(10));
    assert_eq!(s.logon_process.as_deref(), Some("User32"));
    assert_eq!(s.target.name.as_deref(), Some("svc-rpa"));
    assert_eq!(s.target.sid, None);
}

fn save_as_xml_export() -> String {
    format!(
        concat!(
            "<?xml version=\"1.0\" encoding=\"utf-8\" standalone=\"yes\"?>\r\n<Events>\r\n",
            "{}\r\n",
            // An AAD 1098 with its RenderingInfo (whose Level/Channel must not be read).
            "<Event xmlns=\"{ns}\"><System><Provider Name=\"Microsoft-Windows-AAD\" Guid=\"{{4de9bc9c-b27a-43c9-8994-0915f1a5e24f}}\"/><EventID>1098</EventID><Level>2</Level>",
            "<TimeCreated SystemTime=\"2025-06-02T13:17:04.0000000Z\"/><EventRecordID>77</EventRecordID><Channel>Microsoft-Windows-AAD/Operational</Channel><Computer>RPA-VM01</Computer>",
            "<Security UserID=\"S-1-12-1-1-2-3-4\"/></System><EventData><Data Name=\"Error\">0xcaa2000c</Data><Data Name=\"ErrorMessage\">The request requires user interaction.</Data>",
            "<Data Name=\"AdditionalInformation\">Code: interaction_required&#13;\nDescription: AADSTS50076: Due to a configuration change &amp; more.&#13;\nCorrelation ID: 6e1c0a2b-3f4d-4c5e-8a9b-0c1d2e3f4a5b</Data></EventData>",
            "<RenderingInfo Culture=\"en-US\"><Message>Error: 0xCAA2000C</Message><Level>Warning</Level><Channel>Other</Channel></RenderingInfo></Event>\r\n",
            // User Device Registration 304 and a System 7000 about the PAD service.
            "<Event xmlns=\"{ns}\"><System><Provider Name=\"Microsoft-Windows-User Device Registration\"/><EventID>304</EventID><Level>2</Level><TimeCreated SystemTime=\"2025-06-02T10:00:00Z\"/><EventRecordID>5</EventRecordID>",
            "<Channel>Microsoft-Windows-User Device Registration/Admin</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name=\"ExitCode\">0x801c03f2</Data><Data Name=\"ServerErrorCode\">DirectoryError</Data>",
            "<Data Name=\"DebugOutput\">joinMode: Join\ndrsInstance: azure\nregistrationType: sync\ntenantType: Managed\nerrorPhase: join</Data></EventData></Event>\r\n",
            "<Event xmlns=\"{ns}\"><System><Provider Name=\"Service Control Manager\" EventSourceName=\"Service Control Manager\"/><EventID Qualifiers=\"49152\">7000</EventID><Level>2</Level><TimeCreated SystemTime=\"2025-06-02T09:00:00.000000000Z\"/>",
            "<EventRecordID>900</EventRecordID><Channel>System</Channel><Computer>RPA-VM01</Computer></System><EventData><Data Name=\"param1\">Power Automate service</Data><Data Name=\"param2\">%%1069</Data></EventData></Event>\r\n",
            // An ignored System event.
            "<Event xmlns=\"{ns}\"><System><Provider Name=\"Service Control Manager\"/><EventID>7036</EventID><TimeCreated SystemTime=\"2025-06-02T09:00:01Z\"/><EventRecordID>901</EventRecordID><Channel>System</Channel></System><EventData><Data Name=\"param1\">Spooler</Data></EventData></Event>\r\n",
            "</Events>\r\n"
        ),
        event_4625(10, "2025-06-02T13:17:05Z"),
        ns = NS
    )
}

#[test]
fn save_as_xml_shape_with_all_families() {
    let p = read(save_as_xml_export().as_bytes());
    assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
    assert_eq!(p.report.errors, 0);
    assert_eq!(p.report.kept, 4);
    assert_eq!(p.report.ignored, 1);
    assert_eq!(p.report.channels.len(), 4);
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    let aad = p
        .events
        .iter()
        .find_map(|e| match &e.data {
            EventData::Aad(a) => Some(a),
            _ => None,
        })
        .unwrap();
    assert_eq!(aad.error_code, Some(0xCAA2_000C));
    assert_eq!(aad.level, Some(2), "System/Level, not RenderingInfo/Level");
    assert_eq!(aad.oauth_error.as_deref(), Some("interaction_required"));
    assert_eq!(aad.aadsts, vec![50076]);
    assert_eq!(aad.user_sid.as_deref(), Some("S-1-12-1-1-2-3-4"));
    assert_eq!(
        aad.correlation_id.as_deref(),
        Some("6e1c0a2b-3f4d-4c5e-8a9b-0c1d2e3f4a5b")
    );
    assert!(aad.text.contains("configuration change & more."));
    let udr = p
        .events
        .iter()
        .find_map(|e| match &e.data {
            EventData::DeviceRegistration(d) => Some(d),
            _ => None,
        })
        .unwrap();
    assert_eq!(udr.exit_code, Some(0x801C_03F2));
    assert_eq!(udr.server_error.as_deref(), Some("DirectoryError"));
    assert_eq!(udr.error_phase.as_deref(), Some("join"));
    assert_eq!(udr.registration_type.as_deref(), Some("sync"));
    let svc = p
        .events
        .iter()
        .find_map(|e| match &e.data {
            EventData::Service(s) => Some((e, s)),
            _ => None,
        })
        .unwrap();
    assert_eq!(svc.1.error_code, Some(1069));
    assert_eq!(svc.0.source.loc, Loc::Record(900));
}

#[test]
fn utf16_with_bom_both_byte_orders() {
    let xml = save_as_xml_export();
    let mut le = vec![0xFF, 0xFE];
    let mut be = vec![0xFE, 0xFF];
    for u in xml.encode_utf16() {
        le.extend_from_slice(&u.to_le_bytes());
        be.extend_from_slice(&u.to_be_bytes());
    }
    for bytes in [le.clone(), be, le[2..].to_vec()] {
        let p = read(&bytes);
        assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
        assert_eq!(p.report.kept, 4);
        assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    }
    // UTF-8 with a BOM.
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(xml.as_bytes());
    assert_eq!(read(&bom).report.kept, 4);
}

#[test]
fn malformed_event_in_the_middle_is_counted_with_its_line() {
    let bad = event_4625(2, "2025-06-02T13:17:05Z").replace("</EventID>", "</EventIDX>");
    let xml = format!(
        "{}\n{}\n{}\n",
        event_4625(1, "2025-06-02T13:17:05Z"),
        bad,
        event_4624(3)
    );
    let p = read(xml.as_bytes());
    assert_eq!(p.report.records, 2);
    assert_eq!(p.report.errors, 1);
    assert_eq!(p.report.kept, 2);
    assert_eq!(p.report.problems.len(), 1);
    assert_eq!(p.report.problems[0].kind, "bad_record");
    assert_eq!(p.report.problems[0].at.as_deref(), Some("line 2"));

    // An event never closed before the next one, and one cut off by the end of the file.
    let xml = format!(
        "<Events>\n{}\n<Event xmlns=\"{NS}\"><System>\n{}\n<Event><System><EventID>1",
        event_4624(1),
        event_4624(2)
    );
    let p = read(xml.as_bytes());
    assert_eq!(p.report.records, 2);
    assert_eq!(p.report.errors, 2);
    let at: Vec<_> = p
        .report
        .problems
        .iter()
        .map(|p| (p.kind.as_str(), p.at.as_deref()))
        .collect();
    assert_eq!(
        at,
        vec![
            ("bad_record", Some("line 3")),
            ("truncated", Some("line 5"))
        ]
    );
}

#[test]
fn events_stream_in_small_reads() {
    // A reader that hands out 7 bytes at a time, so tags straddle reads.
    struct Slow<'a>(&'a [u8]);
    impl Read for Slow<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = buf.len().min(7).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }
    let xml = save_as_xml_export();
    let filter = EventFilter::all();
    let ctx = ReadCtx {
        file: Arc::from("x.xml"),
        size: 0,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let p = read_event_xml(io::BufReader::with_capacity(7, Slow(xml.as_bytes())), &ctx);
    assert_eq!(p.report.records, 5, "{:?}", p.report.problems);
    assert_eq!(p.report.kept, 4);
}

#[test]
fn time_filter_and_garbage() {
    let xml = save_as_xml_export();
    let t = |s: &str| crate::time::parse_utc(s).unwrap();
    let filter = EventFilter {
        ranges: Some(vec![(t("2025-06-02T13:00:00Z"), t("2025-06-02T14:00:00Z"))]),
    };
    let ctx = ReadCtx {
        file: Arc::from("x.xml"),
        size: 0,
        mtime: None,
        filter: &filter,
        threads: 1,
        progress: None,
    };
    let p = read_event_xml(xml.as_bytes(), &ctx);
    assert_eq!(p.report.records, 5);
    assert_eq!(p.report.kept, 2, "only the 13:17 events");
    assert_eq!(p.report.ignored, 3);

    let p = read(b"this is not xml at all\n");
    assert_eq!(p.report.records, 0);
    assert_eq!(p.report.problems[0].kind, "unrecognised");
    let p = read(b"");
    assert_eq!(p.report.records, 0);
    let p = read(&[0xFF, 0xFE, 0x00, 0xD8, b'<', 0]);
    assert_eq!(p.report.records, 0);
}

#[test]
fn xml_prolog_and_comments_are_skipped() {
    assert!(looks_like_event_xml(
        "<?xml version=\"1.0\"?>\r\n<!-- x -->\r\n<Events>\r\n<Event xmlns='x'>"
    ));
    assert!(looks_like_event_xml(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
    ));
    assert!(!looks_like_event_xml("<EventsFoo>"));
    assert!(!looks_like_event_xml("<Event>no namespace"));
    assert!(!looks_like_event_xml("<?xml version=\"1.0\""));
}

#[test]
fn session_events_come_from_user_data() {
    let xml = format!(
        r#"<Events><Event xmlns="{NS}"><System><Provider Name="Microsoft-Windows-TerminalServices-LocalSessionManager" Guid="{{5D896912-022D-40AA-A3A8-4FA5515C76D7}}"/><EventID>21</EventID><Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x1000000000000000</Keywords><TimeCreated SystemTime="2025-06-02T13:16:58.2210000Z"/><EventRecordID>611</EventRecordID><Correlation ActivityID="{{F4204F6B-0DA0-4C4A-9E0C-0D6B0A290000}}"/><Execution ProcessID="1012" ThreadID="4420"/><Channel>Microsoft-Windows-TerminalServices-LocalSessionManager/Operational</Channel><Computer>RPA-VM01.contoso.com</Computer><Security UserID="S-1-5-18"/></System><UserData><EventXML xmlns="Event_NS"><User>CONTOSO\svc-rpa</User><SessionID>3</SessionID><Address>LOCAL</Address></EventXML></UserData></Event></Events>"#
    );
    let p = read(xml.as_bytes());
    assert_eq!(
        (p.report.records, p.report.kept),
        (1, 1),
        "{:?}",
        p.report.problems
    );
    let EventData::TerminalSession(s) = &p.events[0].data else {
        panic!("{:?}", p.events[0].data)
    };
    assert_eq!(s.user.as_deref(), Some("CONTOSO\\svc-rpa"));
    assert_eq!(
        (s.session_id, s.address.as_deref()),
        (Some(3), Some("LOCAL"))
    );
    assert_eq!(p.events[0].kind(), "session.21");
}

/// An event copied as text from a rendered XML view (Event Viewer's Details > XML View, a
/// browser's XML tree): leading blank lines, `- ` before tags with children, no declaration.
const BROWSER_VIEW_4625: &str =
    include_str!("../../../tests/fixtures/event_xml/browser_view_4625.txt");

#[test]
fn copy_of_a_rendered_xml_view_is_recognised_and_read() {
    assert!(looks_like_event_xml(BROWSER_VIEW_4625));
    let p = read(BROWSER_VIEW_4625.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!((p.report.records, p.report.kept), (1, 1));
    let ev = &p.events[0];
    assert_eq!(ev.source.loc, Loc::Record(1204270));
    assert_eq!(ev.time.to_rfc3339(), "2025-03-11T14:05:12.418293300+00:00");
    assert_eq!(ev.machine.as_deref(), Some("RPA-VM01"));
    let EventData::Security(s) = &ev.data else {
        panic!("{:?}", ev.data)
    };
    assert_eq!(s.event_id, 4625);
    assert_eq!(
        (s.status, s.sub_status),
        (Some(0xC000_006D), Some(0xC000_006A))
    );
    assert_eq!(s.logon_type, Some(2));
    assert_eq!(s.target.name.as_deref(), Some("jdoe@contoso.com"));

    // A browser's view of a "Save As XML" file: its note above the tree, the declaration, and
    // markers before `<Events>` and `</Event>` too.
    let body = BROWSER_VIEW_4625
        .trim_start()
        .replace("  </Event>", "- </Event>");
    let saved = format!(
        "This XML file does not appear to have any style information associated with it. The \
         document tree is shown below.\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-16\"?>\r\n\
         - <Events>\r\n{body}\r\n{body}  </Events>\r\n"
    );
    assert!(looks_like_event_xml(&saved));
    let p = read(saved.as_bytes());
    assert!(p.report.problems.is_empty(), "{:?}", p.report.problems);
    assert_eq!(p.report.kept, 2);
    assert!(looks_like_event_xml("+ <Events>\n"));
}

#[test]
fn a_part_collapsed_in_the_xml_view_is_not_guessed() {
    // `+ <EventData>`: the view hid its children and end tag, so they were not copied.
    let start = BROWSER_VIEW_4625.find("- <EventData>").unwrap();
    let end = BROWSER_VIEW_4625.find("  </EventData>").unwrap() + "  </EventData>\r\n".len();
    let collapsed = format!(
        "{}+ <EventData>\r\n{}",
        &BROWSER_VIEW_4625[..start],
        &BROWSER_VIEW_4625[end..]
    );
    let p = read(collapsed.as_bytes());
    assert_eq!((p.report.records, p.report.errors), (0, 1));
    assert_eq!(p.report.problems[0].kind, "bad_record");
    assert!(
        p.report.problems[0].message.contains("collapsed (`+`)"),
        "{}",
        p.report.problems[0].message
    );
    // Markers are taken only before a tag, and only as `- ` / `+ `.
    assert!(!looks_like_event_xml("- not a tag <Event xmlns='x'>"));
    assert!(!looks_like_event_xml("-<Event xmlns='x'>"));
    assert!(!looks_like_event_xml("- <html>"));
}
