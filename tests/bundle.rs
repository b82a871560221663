//! The bundle stage as a user meets it: folders, zips, nested zips and single files turned into
//! inputs, and every file that is not read reported with a reason a person can act on.

use padtriage::bundle::{Bundle, BundleError, Limits};
use padtriage::model::FileKind;
use padtriage::pipeline::open as open_bundle;
use padtriage::sources::detect::sniff;
use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

const DSREG: &str = "\r\n+----------------------------------------------------------------------+\r\n\
| Device State                                                         |\r\n\
+----------------------------------------------------------------------+\r\n\r\n\
             AzureAdJoined : YES\r\n          EnterpriseJoined : NO\r\n              DomainJoined : NO\r\n";
const PAD_LOG: &str = "{\"component\":\"UIFlowService\",\"traceLevel\":\"Error\",\"eventTimestamp\":\"2025-01-31T09:16:50.123Z\",\"message\":\"Logon failed\"}\n\
{\"component\":\"UIFlowService\",\"traceLevel\":\"Info\",\"eventTimestamp\":\"2025-01-31T09:16:51.000Z\",\"message\":\"retry\"}\n";
const PORTAL: &str = "{\n  \"error\": {\n    \"code\": \"WindowsIdentityIncorrect\",\n    \"message\": \"The credentials provided with the request are invalid.\"\n  }\n}\n";
const SESSIONS: &str = "flowsessionid,errorcode,errormessage,startedon,completedon\r\n\
6f1c,WindowsIdentityIncorrect,bad credentials,2025-01-31T09:16:40Z,2025-01-31T09:16:52Z\r\n";
const EVENT_XML: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Events>\r\n\
<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4625</EventID></System></Event>\r\n</Events>\r\n";

fn evtx() -> Vec<u8> {
    let mut b = b"ElfFile\0".to_vec();
    b.resize(4096, 0);
    b
}

fn utf16le(s: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Deflated)
}

fn zip_with(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(method);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn write(dir: &Path, rel: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(&p, data).unwrap();
    p
}

fn open_dir(dir: &Path) -> Bundle {
    open_bundle(&[dir.to_path_buf()], &Limits::default()).unwrap()
}

fn kinds(b: &Bundle) -> Vec<(String, FileKind)> {
    b.inputs.iter().map(|i| (i.path.clone(), i.kind)).collect()
}

fn why<'a>(b: &'a Bundle, path: &str) -> &'a str {
    b.skipped
        .iter()
        .find(|r| r.path == path)
        .and_then(|r| r.skipped.as_deref())
        .unwrap_or_else(|| panic!("{path} not skipped; skipped: {:#?}", b.skipped))
}

fn read(b: &Bundle, path: &str) -> Vec<u8> {
    let input = b.inputs.iter().find(|i| i.path == path).unwrap();
    let mut out = Vec::new();
    input.open().unwrap().read_to_end(&mut out).unwrap();
    out
}

#[test]
fn folder_with_every_kind_and_junk() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "Security.evtx", &evtx());
    write(d.path(), "dsregcmd.txt", &utf16le(DSREG, true));
    write(d.path(), "PAD/UIFlowService.log", PAD_LOG.as_bytes());
    write(d.path(), "run/error.json", PORTAL.as_bytes());
    write(d.path(), "run/sessions.csv", SESSIONS.as_bytes());
    write(d.path(), "events.xml", EVENT_XML.as_bytes());
    write(
        d.path(),
        "notes.txt",
        b"Customer says it worked yesterday.\n",
    );
    write(
        d.path(),
        "screenshot.png",
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10",
    );
    write(d.path(), "settings.json", b"{\"theme\":\"dark\"}");
    write(d.path(), "PAD/empty.log", b"");

    let b = open_dir(d.path());
    assert_eq!(b.root, d.path().to_string_lossy());
    assert_eq!(
        kinds(&b),
        vec![
            ("PAD/UIFlowService.log".to_string(), FileKind::PadLog),
            ("Security.evtx".to_string(), FileKind::Evtx),
            ("dsregcmd.txt".to_string(), FileKind::Dsregcmd),
            ("events.xml".to_string(), FileKind::EventXml),
            ("run/error.json".to_string(), FileKind::PortalError),
            ("run/sessions.csv".to_string(), FileKind::FlowSessions),
        ]
    );
    let pad = &b.inputs[0];
    assert_eq!(pad.size, PAD_LOG.len() as u64);
    assert!(pad.mtime.is_some());
    assert_eq!(
        pad.disk_path(),
        Some(d.path().join("PAD/UIFlowService.log").as_path())
    );
    assert_eq!(read(&b, "PAD/UIFlowService.log"), PAD_LOG.as_bytes());

    let skipped: Vec<&str> = b.skipped.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        skipped,
        [
            "PAD/empty.log",
            "notes.txt",
            "screenshot.png",
            "settings.json"
        ]
    );
    // Junk is listed as "other" (not evidence, not a problem); an empty log is a skipped input.
    let kind = |p: &str| b.skipped.iter().find(|r| r.path == p).map(|r| r.kind);
    assert_eq!(kind("PAD/empty.log"), Some(FileKind::Skipped));
    for junk in ["notes.txt", "screenshot.png", "settings.json"] {
        assert_eq!(kind(junk), Some(FileKind::Other), "{junk}");
    }
    assert_eq!(why(&b, "PAD/empty.log"), "empty file (0 bytes)");
    assert!(why(&b, "notes.txt").starts_with(
        "not a recognised evidence kind: looks like text (first line: \"Customer says it worked yesterday.\")"
    ));
    assert!(why(&b, "screenshot.png").starts_with(
        "not a recognised evidence kind: looks like binary data (starts with 89 50 4E 47"
    ));
    assert!(why(&b, "settings.json").starts_with("not a recognised evidence kind: looks like JSON"));
    assert!(why(&b, "settings.json").contains("padtriage reads .evtx event logs"));
}

#[test]
fn zip_members_are_read_in_place_with_bang_paths() {
    let d = tempfile::tempdir().unwrap();
    let z = zip_of(&[
        ("PAD/agent.log", PAD_LOG.as_bytes()),
        ("Security.evtx", &evtx()),
        ("readme.md", b"# logs\n"),
        ("PAD/", b""),
    ]);
    write(d.path(), "logs.zip", &z);
    write(d.path(), "dsregcmd.txt", DSREG.as_bytes());

    let b = open_dir(d.path());
    assert_eq!(
        kinds(&b),
        vec![
            ("dsregcmd.txt".to_string(), FileKind::Dsregcmd),
            ("logs.zip!/PAD/agent.log".to_string(), FileKind::PadLog),
            ("logs.zip!/Security.evtx".to_string(), FileKind::Evtx),
        ]
    );
    assert_eq!(read(&b, "logs.zip!/PAD/agent.log"), PAD_LOG.as_bytes());
    let member = &b.inputs[1];
    assert_eq!(member.size, PAD_LOG.len() as u64);
    assert_eq!(member.disk_path(), None);
    assert!(member.mtime.is_some());
    assert_eq!(member.read_all().unwrap(), PAD_LOG.as_bytes());
    assert!(why(&b, "logs.zip!/readme.md").starts_with("not a recognised evidence kind"));
    // Nothing was extracted next to the zip.
    let mut names: Vec<_> = fs::read_dir(d.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["dsregcmd.txt", "logs.zip"]);
}

#[test]
fn zip_inside_zip_inside_zip_is_read_from_memory() {
    let d = tempfile::tempdir().unwrap();
    let pad_export = zip_of(&[("PAD/UIFlowService.log", PAD_LOG.as_bytes())]);
    // PAD's export zip stored (not deflated) inside the customer's zip, as Explorer often does.
    let customer = zip_with(
        &[
            ("PADLogs.zip", &pad_export),
            ("dsregcmd.txt", DSREG.as_bytes()),
        ],
        CompressionMethod::Stored,
    );
    let outer = zip_of(&[("customer.zip", &customer)]);
    let path = write(d.path(), "case-123.zip", &outer);

    // A zip given directly: paths start with its name.
    let b = open_bundle(std::slice::from_ref(&path), &Limits::default()).unwrap();
    assert_eq!(b.root, path.to_string_lossy());
    assert_eq!(
        kinds(&b),
        vec![
            (
                "case-123.zip!/customer.zip!/PADLogs.zip!/PAD/UIFlowService.log".to_string(),
                FileKind::PadLog
            ),
            (
                "case-123.zip!/customer.zip!/dsregcmd.txt".to_string(),
                FileKind::Dsregcmd
            ),
        ]
    );
    assert!(b.skipped.is_empty(), "{:#?}", b.skipped);
    assert_eq!(
        read(
            &b,
            "case-123.zip!/customer.zip!/PADLogs.zip!/PAD/UIFlowService.log"
        ),
        PAD_LOG.as_bytes()
    );
}

#[test]
fn single_files_are_shown_relative_to_their_common_folder() {
    let d = tempfile::tempdir().unwrap();
    let a = write(d.path(), "machine/dsregcmd.txt", DSREG.as_bytes());
    let b_ = write(d.path(), "portal/error.json", PORTAL.as_bytes());
    let b = open_bundle(&[a.clone(), b_, a.clone()], &Limits::default()).unwrap();
    assert_eq!(b.root, d.path().to_string_lossy());
    assert_eq!(
        kinds(&b),
        vec![
            ("machine/dsregcmd.txt".to_string(), FileKind::Dsregcmd),
            ("portal/error.json".to_string(), FileKind::PortalError),
        ]
    );
    // One file alone is shown by its name.
    let one = open_bundle(&[a], &Limits::default()).unwrap();
    assert_eq!(
        kinds(&one),
        vec![("dsregcmd.txt".to_string(), FileKind::Dsregcmd)]
    );
}

#[test]
fn sniff_recognises_each_kind_by_content_not_name() {
    let k = |head: &[u8], name: &str| sniff(head, name).kind;
    assert_eq!(k(&evtx(), "whatever.bin"), FileKind::Evtx);
    assert_eq!(k(&zip_of(&[("a", b"x")]), "logs.dat"), FileKind::Zip);
    assert_eq!(k(DSREG.as_bytes(), "a.log"), FileKind::Dsregcmd);
    assert_eq!(k(&utf16le(DSREG, true), "a.txt"), FileKind::Dsregcmd);
    assert_eq!(k(&utf16le(DSREG, false), "a.txt"), FileKind::Dsregcmd);
    assert_eq!(k(PAD_LOG.as_bytes(), "x.txt"), FileKind::PadLog);
    assert_eq!(k(PORTAL.as_bytes(), "body.txt"), FileKind::PortalError);
    assert_eq!(k(SESSIONS.as_bytes(), "export.txt"), FileKind::FlowSessions);
    assert_eq!(k(EVENT_XML.as_bytes(), "x.evtx"), FileKind::EventXml);
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(EVENT_XML.as_bytes());
    assert_eq!(k(&bom, "x.xml"), FileKind::EventXml);
    assert_eq!(k(&utf16le(EVENT_XML, true), "x.xml"), FileKind::EventXml);
    let bare = "\n  <Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><System/></Event>";
    assert_eq!(k(bare.as_bytes(), "q.txt"), FileKind::EventXml);

    let s = sniff(b"<html><body>hi</body></html>", "events.xml");
    assert_eq!(s.kind, FileKind::Other);
    assert!(s.why.unwrap().contains("looks like XML"));
    // The name only explains what the content could not.
    let s = sniff(&[0x13, 0x37, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8], "Security.evtx");
    assert_eq!(
        s.why.as_deref(),
        Some("named .evtx but has no EVTX signature (`ElfFile`): damaged or not an event log")
    );
    assert_eq!(
        sniff(b"", "x.evtx").why.as_deref(),
        Some("empty file (0 bytes)")
    );
    assert_eq!(
        sniff(b" \r\n\t", "x.log").why.as_deref(),
        Some("contains only blank space")
    );
}

#[test]
fn event_copied_from_a_rendered_xml_view_is_read_not_listed_as_other() {
    // Event Viewer's Details > XML View or a browser's XML tree, copied as text into a file:
    // blank lines first, `- ` markers before tags with children, no XML declaration.
    let copy = fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/event_xml/browser_view_4625.txt"),
    )
    .unwrap();
    assert_eq!(
        sniff(&copy, "4625 from the ticket.txt").kind,
        FileKind::EventXml
    );
    assert_eq!(
        sniff(&utf16le(std::str::from_utf8(&copy).unwrap(), true), "e.txt").kind,
        FileKind::EventXml
    );
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "4625 from the ticket.txt", &copy);
    let b = open_dir(d.path());
    assert_eq!(
        kinds(&b),
        vec![("4625 from the ticket.txt".to_string(), FileKind::EventXml)]
    );
    let p = padtriage::timeline::read_input(&b.inputs[0], &padtriage::model::EventFilter::all(), 1);
    assert!(!p.report.is_partial(), "{:?}", p.report.problems);
    assert_eq!(p.events.len(), 1);
    assert_eq!(p.events[0].kind(), "security.4625");
}

#[test]
fn zip_bomb_over_the_ratio_cap_is_not_read() {
    let d = tempfile::tempdir().unwrap();
    let zeros = vec![0u8; 8 << 20];
    write(
        d.path(),
        "bomb.zip",
        &zip_of(&[("big.log", &zeros), ("ok.log", PAD_LOG.as_bytes())]),
    );
    let limits = Limits {
        max_entry_ratio: 200,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &limits).unwrap();
    let w = why(&b, "bomb.zip!/big.log");
    assert!(w.starts_with("zip bomb guard: entry would expand"), "{w}");
    assert!(w.contains("to 8.0 MiB), over the 200x limit"), "{w}");
    // The rest of the zip is still read.
    assert_eq!(
        kinds(&b),
        vec![("bomb.zip!/ok.log".to_string(), FileKind::PadLog)]
    );

    // A generous ratio lets it through to the sniffer.
    let lenient = Limits {
        max_entry_ratio: 100_000,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &lenient).unwrap();
    assert!(why(&b, "bomb.zip!/big.log").contains("looks like binary data"));
}

#[test]
fn entry_expanding_past_its_declared_size_stops_with_an_error() {
    let d = tempfile::tempdir().unwrap();
    let big = PAD_LOG.repeat(20_000); // ~4.7 MB, compresses well below the ratio cap
    let mut z = zip_of(&[("PAD/agent.log", big.as_bytes())]);
    // Lie in both headers: declare 64 KiB uncompressed.
    let declared = 64u32 * 1024;
    z[22..26].copy_from_slice(&declared.to_le_bytes());
    let cd = z.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    z[cd + 24..cd + 28].copy_from_slice(&declared.to_le_bytes());
    write(d.path(), "liar.zip", &z);

    let b = open_dir(d.path());
    let input = &b.inputs[0];
    assert_eq!(input.path, "liar.zip!/PAD/agent.log");
    assert_eq!(input.size, 65536);
    let mut out = Vec::new();
    let err = input.open().unwrap().read_to_end(&mut out).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("zip bomb guard: entry expands past the 65536 bytes its header declares"),
        "{err}"
    );
    assert!(out.len() <= 65536 + 1);
}

#[test]
fn total_size_cap_skips_what_does_not_fit() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "a.log", PAD_LOG.as_bytes());
    write(d.path(), "b.log", PAD_LOG.as_bytes());
    let limits = Limits {
        max_total_uncompressed: PAD_LOG.len() as u64 + 10,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &limits).unwrap();
    assert_eq!(kinds(&b), vec![("a.log".to_string(), FileKind::PadLog)]);
    assert!(why(&b, "b.log").starts_with("size limit: reading this file"));
}

#[test]
fn traversal_names_are_read_under_safe_names() {
    let d = tempfile::tempdir().unwrap();
    let z = zip_of(&[
        ("../../evil.log", PAD_LOG.as_bytes()),
        ("/etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
        ("C:\\Windows\\dsreg.txt", DSREG.as_bytes()),
    ]);
    write(d.path(), "case/t.zip", &z);

    let b = open_dir(&d.path().join("case"));
    assert_eq!(
        kinds(&b),
        vec![
            ("t.zip!/Windows/dsreg.txt".to_string(), FileKind::Dsregcmd),
            ("t.zip!/evil.log".to_string(), FileKind::PadLog),
        ]
    );
    let evil = &b.inputs[1];
    assert_eq!(evil.problems.len(), 1);
    assert_eq!(evil.problems[0].kind, "unsafe_name");
    assert_eq!(
        evil.problems[0].message,
        "zip entry name \"../../evil.log\" points outside the archive; read as \"evil.log\" \
         (nothing is extracted to disk)"
    );
    assert_eq!(evil.report().problems, evil.problems);
    let passwd = b
        .skipped
        .iter()
        .find(|r| r.path == "t.zip!/etc/passwd")
        .unwrap();
    assert_eq!(passwd.problems[0].kind, "unsafe_name");
    assert!(!d.path().join("evil.log").exists());
    assert!(!d.path().join("case/evil.log").exists());
}

#[test]
fn zips_nested_past_the_depth_limit_are_not_opened() {
    let d = tempfile::tempdir().unwrap();
    let l3 = zip_of(&[("deep.log", PAD_LOG.as_bytes())]);
    let l2 = zip_of(&[("l3.zip", &l3)]);
    let l1 = zip_of(&[("l2.zip", &l2), ("top.log", PAD_LOG.as_bytes())]);
    write(d.path(), "l1.zip", &l1);
    let limits = Limits {
        max_zip_depth: 2,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &limits).unwrap();
    assert_eq!(
        kinds(&b),
        vec![("l1.zip!/top.log".to_string(), FileKind::PadLog)]
    );
    let r = b
        .skipped
        .iter()
        .find(|r| r.path == "l1.zip!/l2.zip!/l3.zip")
        .unwrap();
    assert_eq!(r.kind, FileKind::Zip);
    assert_eq!(
        r.skipped.as_deref(),
        Some("zip nested more than 2 levels deep; not opened (limit: max_zip_depth)")
    );
    // With the default depth, it is read.
    let b = open_dir(d.path());
    assert!(b
        .inputs
        .iter()
        .any(|i| i.path == "l1.zip!/l2.zip!/l3.zip!/deep.log"));
}

#[test]
fn nested_zip_memory_cap() {
    let d = tempfile::tempdir().unwrap();
    let inner = zip_of(&[("a.log", PAD_LOG.as_bytes())]);
    write(d.path(), "outer.zip", &zip_of(&[("inner.zip", &inner)]));
    let limits = Limits {
        max_nested_zip_in_memory: 10,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &limits).unwrap();
    assert!(b.inputs.is_empty());
    assert!(why(&b, "outer.zip!/inner.zip")
        .contains("does not fit in the memory allowed for nested zips"));
}

#[cfg(unix)]
#[test]
fn symlinks_are_not_followed_and_loops_end() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    let secret = write(outside.path(), "secret.log", PAD_LOG.as_bytes());
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "PAD/agent.log", PAD_LOG.as_bytes());
    symlink("..", d.path().join("PAD/up")).unwrap();
    symlink("self", d.path().join("self")).unwrap();
    symlink(&secret, d.path().join("stolen.log")).unwrap();
    symlink(outside.path(), d.path().join("elsewhere")).unwrap();
    symlink("PAD/agent.log", d.path().join("again.log")).unwrap();
    symlink("missing.log", d.path().join("dangling.log")).unwrap();

    let b = open_dir(d.path());
    assert_eq!(
        kinds(&b),
        vec![("PAD/agent.log".to_string(), FileKind::PadLog)]
    );
    assert!(why(&b, "PAD/up").starts_with("symbolic link loop: points back to the folder"));
    assert_eq!(
        why(&b, "self"),
        "symbolic link loop (the link leads back to itself); not followed"
    );
    assert!(why(&b, "stolen.log").ends_with("outside the bundle; not followed"));
    assert!(why(&b, "elsewhere").ends_with("outside the bundle; not followed"));
    assert_eq!(
        why(&b, "again.log"),
        "symbolic link to \"PAD/agent.log\" inside the bundle, which is read there; not followed"
    );
    assert!(why(&b, "dangling.log").starts_with("broken symbolic link"));
}

#[cfg(unix)]
#[test]
fn permission_denied_is_reported_with_the_path() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let locked = write(d.path(), "locked.log", PAD_LOG.as_bytes());
    write(d.path(), "open.log", PAD_LOG.as_bytes());
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::File::open(&locked).is_ok() {
        eprintln!("skipped: running as root, chmod 000 does not stop reading");
        return;
    }
    let b = open_dir(d.path());
    assert_eq!(kinds(&b), vec![("open.log".to_string(), FileKind::PadLog)]);
    let w = why(&b, "locked.log");
    assert!(w.starts_with("permission denied: cannot read "), "{w}");
    assert!(w.contains(&locked.to_string_lossy().into_owned()), "{w}");
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o644)).unwrap();
}

#[test]
fn corrupt_zips_are_reported_and_the_rest_is_read() {
    let d = tempfile::tempdir().unwrap();
    let mut broken = b"PK\x03\x04".to_vec();
    broken.extend(std::iter::repeat_n(0xA5u8, 500));
    write(d.path(), "broken.zip", &broken);
    // A stored entry whose bytes were damaged after zipping: the checksum catches it.
    let mut z = zip_with(
        &[("dsreg.txt", DSREG.as_bytes())],
        CompressionMethod::Stored,
    );
    let at = z.windows(13).position(|w| w == b"AzureAdJoined").unwrap();
    z[at] = b'X';
    write(d.path(), "flipped.zip", &z);
    write(d.path(), "dsregcmd.txt", DSREG.as_bytes());

    let b = open_dir(d.path());
    assert_eq!(
        kinds(&b),
        vec![("dsregcmd.txt".to_string(), FileKind::Dsregcmd)]
    );
    let r = b.skipped.iter().find(|r| r.path == "broken.zip").unwrap();
    assert_eq!(r.kind, FileKind::Zip);
    let w = r.skipped.as_deref().unwrap();
    assert!(w.starts_with("corrupt or unreadable zip ("), "{w}");
    assert!(
        w.ends_with("the rest of the bundle was; re-create or re-download the zip"),
        "{w}"
    );
    let w = why(&b, "flipped.zip!/dsreg.txt");
    assert!(
        w.starts_with("damaged zip entry (zip entry checksum mismatch"),
        "{w}"
    );
}

#[test]
fn one_zip_entry_read_from_two_threads() {
    let d = tempfile::tempdir().unwrap();
    let big = PAD_LOG.repeat(3000);
    let inner = zip_of(&[("PAD/nested.log", big.as_bytes())]);
    write(
        d.path(),
        "logs.zip",
        &zip_of(&[("PAD/agent.log", big.as_bytes()), ("inner.zip", &inner)]),
    );
    let b = open_dir(d.path());
    assert_eq!(b.inputs.len(), 2);
    for input in &b.inputs {
        let results: Vec<Vec<u8>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut r = input.open().unwrap();
                        let mut out = Vec::new();
                        // Small reads interleave the two threads' progress.
                        let mut buf = [0u8; 997];
                        loop {
                            let n = r.read(&mut buf).unwrap();
                            if n == 0 {
                                break;
                            }
                            out.extend_from_slice(&buf[..n]);
                        }
                        out
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(results[0], big.as_bytes(), "{}", input.path);
        assert_eq!(results[1], big.as_bytes(), "{}", input.path);
    }
}

#[test]
fn file_limit_stops_the_walk_with_a_problem() {
    let d = tempfile::tempdir().unwrap();
    for n in 0..5 {
        write(d.path(), &format!("f{n}.log"), PAD_LOG.as_bytes());
    }
    let limits = Limits {
        max_files: 3,
        ..Limits::default()
    };
    let b = open_bundle(&[d.path().to_path_buf()], &limits).unwrap();
    assert_eq!(b.inputs.len(), 3);
    assert_eq!(b.problems.len(), 1);
    assert_eq!(b.problems[0].kind, "limit");
    assert_eq!(b.problems[0].at.as_deref(), Some("f3.log"));
    assert!(b.problems[0]
        .message
        .starts_with("file limit reached: the bundle has more than 3 files"));
}

#[test]
fn nothing_readable_is_an_error_for_people() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("no-such-bundle.zip");
    let err = open_bundle(std::slice::from_ref(&missing), &Limits::default()).unwrap_err();
    assert!(matches!(err, BundleError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not found; check the path (a bundle is a folder, a .zip, or evidence files)",
            missing.display()
        )
    );
    assert!(matches!(
        open_bundle(&[], &Limits::default()),
        Err(BundleError::NoPaths)
    ));

    // One good path is enough; the missing one is reported.
    let good = write(d.path(), "dsregcmd.txt", DSREG.as_bytes());
    let b = open_bundle(&[good, missing], &Limits::default()).unwrap();
    assert_eq!(b.inputs.len(), 1);
    assert!(why(&b, "no-such-bundle.zip").contains("not found"));
}

#[test]
fn inputs_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync + Clone>() {}
    shareable::<padtriage::bundle::Input>();
}

#[test]
fn order_is_by_path_whatever_the_creation_order() {
    let d = tempfile::tempdir().unwrap();
    for name in ["zeta.log", "alpha.log", "mid/b.log", "mid/a.log"] {
        write(d.path(), name, PAD_LOG.as_bytes());
    }
    let paths: Vec<String> = open_dir(d.path())
        .inputs
        .into_iter()
        .map(|i| i.path)
        .collect();
    assert_eq!(paths, ["alpha.log", "mid/a.log", "mid/b.log", "zeta.log"]);
}
