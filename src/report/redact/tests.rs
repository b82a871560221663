//! The redactor on the shapes identifiers take, what it must leave alone, and the line writer.

use super::*;
use std::io::Write;

fn redactor(known: &[(&str, Class)]) -> Redactor {
    let mut ids = Identifiers::default();
    for (t, c) in known {
        ids.add(*c, t);
    }
    Redactor::new(b"test", &ids).unwrap()
}

#[test]
fn accounts_in_every_form_get_one_pseudonym_per_part() {
    let r = redactor(&[
        ("RPA-VM01", Class::Host),
        ("jdoe", Class::User),
        ("contoso.com", Class::Dns),
    ]);
    let user = r.pseudonym(Class::User, "jdoe");
    let dns = r.pseudonym(Class::Dns, "contoso.com");
    let dom = r.pseudonym(Class::Domain, "CONTOSO");
    let host = r.pseudonym(Class::Host, "RPA-VM01");
    assert!(user.starts_with("user-") && user.len() == 13, "{user}");
    assert!(dom.starts_with("DOMAIN-") && dom[7..].chars().all(|c| !c.is_lowercase()));
    let cases = [
        ("jdoe@contoso.com", format!("{user}@{dns}")),
        ("CONTOSO\\jdoe", format!("{dom}\\{user}")),
        ("AzureAD\\jdoe", format!("AzureAD\\{user}")),
        (".\\jdoe", format!(".\\{user}")),
        ("RPA-VM01\\jdoe", format!("{host}\\{user}")),
        ("RPA-VM01$", format!("{host}$")),
        ("JDOE logged on", format!("{user} logged on")),
        (
            "for user 'jdoe@contoso.com' on RPA-VM01.contoso.com",
            format!("for user '{user}@{dns}' on {host}.{dns}"),
        ),
        (
            "C:\\Users\\jdoe\\AppData\\Local\\PAD-Logs-jdoe.zip",
            format!("C:\\Users\\{user}\\AppData\\Local\\PAD-Logs-{user}.zip"),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(r.redact(input), want, "{input}");
    }
    // A profile folder names its user even when the evidence does not.
    let kb = r.pseudonym(Class::User, "kbrown");
    assert_eq!(
        r.redact("C:\\Users\\kbrown\\Desktop\\flow.txt"),
        format!("C:\\Users\\{kb}\\Desktop\\flow.txt")
    );
}

#[test]
fn sids_addresses_and_ids() {
    let r = redactor(&[]);
    let sid = "S-1-5-21-2841395220-3407116652-1903562211-1001";
    let entra = "S-1-12-1-3797624424-1140360249-2236240027-851684288";
    let guid = "e1ee0ec8-eb8b-4568-9261-0f92bb4708ec";
    let text = format!("{sid} {entra} S-1-5-18 S-1-5-32-544 {{{guid}}} 10.20.1.15 127.0.0.1 fe80::1c2a:3ff:fe4b:9 ::1");
    let want = format!(
        "{} {} S-1-5-18 S-1-5-32-544 {{{}}} {} 127.0.0.1 {} ::1",
        r.pseudonym(Class::Sid, sid),
        r.pseudonym(Class::Sid, entra),
        r.pseudonym(Class::Guid, guid),
        r.pseudonym(Class::Ip, "10.20.1.15"),
        r.pseudonym(Class::Ip, "fe80::1c2a:3ff:fe4b:9"),
    );
    assert_eq!(r.redact(&text), want);
    assert_eq!(
        r.redact("00000000-0000-0000-0000-000000000000"),
        "00000000-0000-0000-0000-000000000000"
    );
}

#[test]
fn what_stays() {
    let r = redactor(&[("jdoe", Class::User), ("CONTOSO", Class::Domain)]);
    for keep in [
        "2025-03-11 14:05:12.418Z .. 2025-03-11T14:07:12Z",
        "Logon failed (4625) status 0xC000006D substatus 0xC000006A AADSTS50126 0xCAA20003",
        "NT AUTHORITY\\SYSTEM, NT AUTHORITY\\LOCAL SERVICE, NT SERVICE\\UIFlowService",
        "Window Manager\\DWM-1, Font Driver Host\\UMFD-0, WORKGROUP\\Administrator",
        "C:\\Program Files (x86)\\Power Automate Desktop\\UIFlowService.exe",
        "C:\\Windows\\System32\\winlogon.exe",
        "Logon failed (4625) admin type 3 Network, then test, backup, guest",
        "enter the user name as user@domain.com, or DOMAIN\\user, or MACHINE\\user",
        "credentials-mismatch (confirmed): Error::Fatal in 12:05:12",
        "%ProgramData%\\Microsoft\\Power Automate\\Logs",
    ] {
        assert_eq!(r.redact(keep), keep);
    }
}

#[test]
fn names_of_several_words() {
    let mut ids = Identifiers::default();
    ids.add(Class::Org, "Contoso Zürich AG");
    let r = Redactor::new(b"k", &ids).unwrap();
    let org = r.pseudonym(Class::Org, "contoso zürich ag");
    assert_eq!(
        r.redact("TenantName : CONTOSO ZÜRICH AG (tenant)"),
        format!("TenantName : {org} (tenant)")
    );
}

#[test]
fn the_key_decides_the_pseudonyms() {
    let ids = Identifiers::default();
    let a = Redactor::new(b"one", &ids).unwrap();
    let b = Redactor::new(b"one", &ids).unwrap();
    let c = Redactor::new(b"two", &ids).unwrap();
    assert_eq!(
        a.pseudonym(Class::User, "jdoe"),
        b.pseudonym(Class::User, "JDOE")
    );
    assert_ne!(
        a.pseudonym(Class::User, "jdoe"),
        c.pseudonym(Class::User, "jdoe")
    );
    assert_ne!(a.pseudonym(Class::User, "x"), a.pseudonym(Class::Host, "x"));
    assert_ne!(
        Redactor::random_key().unwrap(),
        Redactor::random_key().unwrap()
    );
}

fn through(syntax: LineSyntax, r: Redactor, input: &str) -> String {
    let mut out = Vec::new();
    let mut w = RedactLines::new(&mut out, syntax, move || Ok(r));
    // In pieces, as a buffered writer hands them over.
    for chunk in input.as_bytes().chunks(7) {
        w.write_all(chunk).unwrap();
    }
    w.finish().unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn json_lines_keep_their_keys_and_padtriage_fields() {
    // A hostile account named like a key, and a quote and backslash in a value.
    let r = redactor(&[("time", Class::User), ("jdoe", Class::User)]);
    let user = r.pseudonym(Class::User, "jdoe");
    let time = r.pseudonym(Class::User, "time");
    let line = "{\"time\":\"2025-03-11T14:05:12Z\",\"kind\":\"security.4625\",\"summary\":\"time \\\"x\\\" CONTOSO\\\\jdoe\",\"data\":{\"name\":\"jdoe\"}}\n";
    let got = through(LineSyntax::JsonLines, r, &format!("{line}{line}"));
    let v: serde_json::Value = serde_json::from_str(got.lines().next().unwrap()).unwrap();
    assert_eq!(v["time"], "2025-03-11T14:05:12Z");
    assert_eq!(v["kind"], "security.4625");
    assert_eq!(v["data"]["name"], user.as_str());
    assert!(v["summary"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{time} \"x\" DOMAIN-")));
    assert_eq!(got.lines().count(), 2);
}

#[test]
fn csv_records_keep_their_columns_across_lines() {
    let r = redactor(&[("jdoe", Class::User)]);
    let user = r.pseudonym(Class::User, "jdoe");
    let input = "2025-03-11T14:05:12Z,pad.error,a.log,line 3,\"jdoe, said \"\"hi\"\"\nover two lines\"\n2025-03-11T14:05:13Z,pad.info,b.log,line 4,nothing here\n";
    let got = through(LineSyntax::Csv { keep_columns: 2 }, r, input);
    let mut rows = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(got.as_bytes());
    let first = rows.records().next().unwrap().unwrap();
    assert_eq!(&first[4], format!("{user}, said \"hi\"\nover two lines"));
    assert!(got.ends_with("2025-03-11T14:05:13Z,pad.info,b.log,line 4,nothing here\n"));
}
