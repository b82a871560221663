//! The HTML page and the fleet page: self-contained, every citation linked to one row, a lane
//! per kind of evidence, and evidence text inert whatever it holds. (`tests/browser.rs` loads
//! the pages in Chromium.)

use super::*;
use crate::diagnose::rules::RuleSet;
use std::path::PathBuf;

fn sample(name: &str) -> Analysis {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let b = crate::pipeline::open(&[path], &Default::default()).unwrap();
    let rules = RuleSet::load(None).unwrap();
    crate::pipeline::analyze(&b, &rules, &Default::default()).analysis
}

fn page(a: &Analysis) -> String {
    let mut out = Vec::new();
    analysis(a, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Every value of `attr="..."` in the page.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let pat = format!(" {attr}=\"");
    html.match_indices(&pat)
        .filter_map(|(i, _)| {
            let rest = &html[i + pat.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn the_page_needs_nothing_from_outside() {
    let html = page(&sample("12-multi-run-day"));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src \
         'unsafe-inline'; img-src data:;"
    ));
    for banned in [
        "<script", "<link", "<img", "<iframe", "@import", "url(", " src=",
    ] {
        assert!(!html.contains(banned), "{banned}");
    }
    // Links stay in the page.
    for href in attrs(&html, "href") {
        assert!(href.starts_with('#'), "{href}");
    }
    assert!(html.contains("@media print"));
}

#[test]
fn every_citation_and_point_links_to_one_row_of_its_run() {
    for name in [
        "01-credentials-mismatch",
        "12-multi-run-day",
        "02-account-state",
    ] {
        let a = sample(name);
        let html = page(&a);
        let ids = attrs(&html, "id");
        for run in &a.runs {
            for c in crate::report::analysis::cites(run) {
                let id = format!("cite-{}", c.id.as_deref().unwrap());
                assert_eq!(ids.iter().filter(|i| **i == id).count(), 1, "{name}: {id}");
            }
        }
        for href in attrs(&html, "href") {
            let target = &href[1..];
            assert!(ids.contains(&target), "{name}: {href} leads nowhere");
        }
        // One lane per kind of evidence in the window or cited; each point a link.
        for (i, run) in a.runs.iter().enumerate() {
            let section = html.split("<section class=\"run").nth(i + 1).unwrap();
            let mut families: Vec<String> = run.activity.iter().map(|x| x.family.clone()).collect();
            families.extend(
                crate::report::analysis::cites(run).map(|c| picture::family(&c.kind).to_string()),
            );
            families.sort();
            families.dedup();
            let mut lanes = attrs(section, "data-lane");
            lanes.sort();
            assert_eq!(lanes, families, "{name} run {}", i + 1);
            let points = section.matches("class=\"cite-link\"").count();
            let rows = section.matches("<tr id=\"cite-").count();
            assert_eq!(points, rows, "{name}: a point per record");
        }
        assert!(html.contains("class=\"failure-line\""));
        assert!(html.contains("class=\"window\""));
    }
}

#[test]
fn evidence_text_is_inert() {
    let mut a = sample("01-credentials-mismatch");
    let hostile = "<script>document.title='owned'</script>\"><img src=x onerror=alert(1)> \
                   javascript:alert(2) report\u{202E}fdp.exe \u{1b}[31m";
    a.bundle = hostile.to_string();
    a.answer[0].text = hostile.to_string();
    let r = &mut a.runs[0];
    r.user = Some(hostile.to_string());
    r.sources[0].text = hostile.to_string();
    r.sources[0].file = hostile.to_string();
    r.causes[0].evidence[0].describe = hostile.to_string();
    r.notes.push(hostile.to_string());
    let html = page(&a);
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("\u{202E}") && !html.contains('\u{1b}'));
    assert!(html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"));
    assert!(html.contains("report[U+202E]fdp.exe"));
    assert!(html.contains("[U+001B][31m"));
    for href in attrs(&html, "href") {
        assert!(href.starts_with('#'), "{href}");
    }
}

#[test]
fn the_fleet_page_lists_bundles_with_their_answers_and_links() {
    let one = sample("01-credentials-mismatch");
    let many = sample("12-multi-run-day");
    let none = sample("11-missing-evidence");
    let entry = |label: &str, status: &str, a: &Analysis, link: &str| FleetEntry {
        label: label.to_string(),
        status: status.to_string(),
        answers: FleetAnswer::of(a),
        link: Some(link.to_string()),
    };
    let entries = [
        entry(
            "cases/1042/RPA-VM01.zip",
            "ok",
            &one,
            "bundles/RPA-VM01 report.html",
        ),
        entry("cases/<b>1043</b>", "partial", &many, "javascript:alert(1)"),
        entry("cases/1044", "ok", &none, "//evil.example/x.html"),
    ];
    let summary = FleetSummary {
        counts: vec![("bundles".into(), 3), ("runs found".into(), 4)],
        notes: Vec::new(),
        primary: vec![("credentials-mismatch".into(), "confirmed".into(), 3)],
        verdicts: vec![("credentials-mismatch".into(), vec![3, 0, 1, 0])],
        people: vec![("cases/<i>1044</i>".into(), vec!["partial input".into()])],
    };
    let mut out = Vec::new();
    fleet(&summary, &entries, &mut out).unwrap();
    let html = String::from_utf8(out).unwrap();
    assert!(html.contains("Content-Security-Policy"));
    assert!(html.contains("3 bundles, 4 failed runs, 3 with a confirmed cause"));
    assert_eq!(attrs(&html, "href"), ["bundles/RPA-VM01%20report.html"]);
    assert!(html.contains("cases/&#60;b&#62;1043&#60;/b&#62;") || html.contains("cases/&lt;b&gt;"));
    assert!(
        !html.contains("<i>1044"),
        "a bundle that needs a person is shown as text"
    );
    assert!(html.contains("credentials-mismatch") && html.contains("runs found"));
    for a in one.answer.iter().chain(&many.answer).chain(&none.answer) {
        let shown = a.text.replace('\'', "&#39;").replace('>', "&#62;");
        assert!(
            html.contains(&shown) || html.contains(&a.text.replace('>', "&gt;")),
            "{}",
            a.text
        );
    }
    assert_eq!(relative_href("../x/y.html").as_deref(), Some("../x/y.html"));
    assert_eq!(relative_href("a#b?c").as_deref(), Some("a%23b%3Fc"));
    assert_eq!(relative_href("C:\\x.html"), None);
    assert_eq!(relative_href("/etc/passwd"), None);
}
