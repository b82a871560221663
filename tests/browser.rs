//! The HTML report in a real browser: every sample's page is loaded in headless Chromium,
//! driven over the DevTools protocol (`browser/cdp.rs`). The page must load with no console
//! error and no request but itself, and hold what a reader needs: the answer, the cause table,
//! the timeline picture with one lane per kind of evidence, the citations, each point linking
//! to its record. A bundle full of hostile strings (script tags, attribute breakers,
//! `javascript:` links, text-direction overrides) must render them as text, with none of it
//! running. A screenshot of each page is written into the test's temporary folder (and into
//! `$PADTRIAGE_SCREENSHOTS` when set).
//!
//! Chromium is found on the `PATH` (or `$CHROMIUM`); `apt-get install -y chromium` installs
//! it. Without it these tests are reported as ignored, saying why; under `CI=true` they run,
//! and fail.

#[path = "browser/cdp.rs"]
mod cdp;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One browser for every test, started by the first (tests take turns with it).
static BROWSER: Mutex<Option<Result<cdp::Browser, String>>> = Mutex::new(None);

fn with_browser<T>(f: impl FnOnce(&mut cdp::Browser) -> Result<T, String>) -> Result<T, Failed> {
    let mut slot = BROWSER.lock().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(match cdp::find() {
            Some(bin) => cdp::Browser::launch(&bin),
            None => Err(MISSING.to_string()),
        });
    }
    match slot.as_mut() {
        Some(Ok(b)) => f(b).map_err(Failed::from),
        Some(Err(e)) => Err(Failed::from(e.clone())),
        None => Err("no browser".into()),
    }
}

const MISSING: &str = "Chromium not found on the PATH (apt-get install -y chromium, or set \
                       CHROMIUM to its path)";

/// What the test reads from the loaded page.
const PROBE: &str = r##"(() => {
  const q = (s, root) => Array.from((root || document).querySelectorAll(s));
  const ids = new Set(q('[id]').map(e => e.id));
  return JSON.stringify({
    title: document.title,
    scripts: document.scripts.length,
    loaders: q('img,iframe,object,embed,link,video,audio,source,script,base,form').length,
    pwned: q('pwned').length,
    handlers: q('*').filter(e => Array.from(e.attributes).some(a => a.name.toLowerCase().startsWith('on'))).length,
    script_links: q('a').filter(a => !(a.getAttribute('href') || '#').startsWith('#')).length,
    broken_links: q('a[href^="#"]').map(a => a.getAttribute('href').slice(1)).filter(id => !ids.has(id)),
    answers: q('.verdict-card .answer').map(e => e.textContent),
    runs: q('section.run').map(s => ({
      causes: q('table.causes tbody tr', s).length,
      pictures: q('figure.timeline svg', s).length,
      picture_width: (s.querySelector('figure.timeline svg') || { getBoundingClientRect: () => ({ width: 0 }) }).getBoundingClientRect().width,
      lanes: q('svg g.lane', s).map(g => g.dataset.lane),
      lane_labels: q('svg .lane-label', s).map(t => t.textContent),
      ticks: q('svg .tick-label', s).length,
      failure: q('svg .failure-line', s).length,
      window: q('svg rect.window', s).length,
      points: q('svg a.cite-link', s).map(a => a.getAttribute('href').slice(1)),
      rows: q('table.records tr[id^="cite-"]', s).map(r => r.id),
      citations: q('.cause .cites a', s).map(a => a.getAttribute('href').slice(1)),
    })),
    text: document.body.innerText,
  });
})()"##;

fn padtriage(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_padtriage"))
        .args(args)
        .output()
        .expect("padtriage runs")
}

/// The HTML report of a bundle written into `dir`, and the JSON document it is a view of.
fn report(bundle: &Path, dir: &Path) -> Result<(PathBuf, Value), Failed> {
    let html = dir.join("report.html");
    let b = bundle.to_str().ok_or("bundle path")?;
    let o = padtriage(&[
        "analyze",
        b,
        "--format",
        "html",
        "-o",
        html.to_str().unwrap(),
    ]);
    if !matches!(o.status.code(), Some(0 | 3)) {
        return Err(format!("analyze: {}", String::from_utf8_lossy(&o.stderr)).into());
    }
    let o = padtriage(&["analyze", b, "--format", "json"]);
    let doc = serde_json::from_slice(&o.stdout).map_err(|e| e.to_string())?;
    Ok((html, doc))
}

fn url(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failed> {
    if cond {
        Ok(())
    } else {
        Err(what().into())
    }
}

/// Load the page; it must make no request but itself and say nothing on the console.
fn load(html: &Path, dir: &Path, name: &str) -> Result<Value, Failed> {
    load_with(html, dir, name, PROBE)
}

/// [`load`], reading the page with `probe`.
fn load_with(html: &Path, dir: &Path, name: &str, probe: &str) -> Result<Value, Failed> {
    let page = url(html);
    let visit = with_browser(|b| b.visit(&page, probe))?;
    let complaints = visit.complaints();
    let requests = visit.requests_besides(&page);
    check(complaints.is_empty() && requests.is_empty(), || {
        format!("network: {requests:#?}\nconsole: {complaints:#?}")
    })?;
    check(visit.png.starts_with(b"\x89PNG"), || "no screenshot".into())?;
    std::fs::write(dir.join("screenshot.png"), &visit.png).map_err(|e| e.to_string())?;
    if let Some(out) = std::env::var_os("PADTRIAGE_SCREENSHOTS") {
        let _ = std::fs::create_dir_all(&out);
        let _ = std::fs::write(Path::new(&out).join(format!("{name}.png")), &visit.png);
    }
    Ok(visit.probe)
}

fn lane_families(run: &Value) -> Vec<String> {
    let mut out: Vec<String> = run["activity"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["family"].as_str().map(String::from))
        .collect();
    let mut cites = Vec::new();
    collect_cites(run, &mut cites);
    for c in &cites {
        let kind = c["kind"].as_str().unwrap_or_default();
        out.push(kind.split('.').next().unwrap_or(kind).to_string());
    }
    out.sort();
    out.dedup();
    out
}

fn collect_cites(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("file") && m.contains_key("kind") && m.contains_key("text") {
                out.push(v.clone());
            }
            m.values().for_each(|x| collect_cites(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_cites(x, out)),
        _ => {}
    }
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(String::from))
        .collect();
    out.sort();
    out.dedup();
    out
}

fn sample_page(sample: &Path) -> Result<(), Failed> {
    let name = sample.file_name().unwrap().to_string_lossy().into_owned();
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (html, doc) = report(sample, tmp.path())?;
    let p = load(&html, tmp.path(), &name)?;
    check(
        p["title"] == format!("padtriage: {}", doc["bundle"].as_str().unwrap_or("")),
        || format!("title {}", p["title"]),
    )?;
    check(
        p["scripts"] == 0 && p["loaders"] == 0 && p["handlers"] == 0,
        || format!("active content: {p}"),
    )?;
    check(p["script_links"] == 0, || "a link out of the page".into())?;
    check(
        p["broken_links"].as_array().is_some_and(|a| a.is_empty()),
        || format!("links to nothing: {}", p["broken_links"]),
    )?;
    let runs = doc["runs"].as_array().ok_or("runs")?;
    let answers: Vec<&str> = doc["answer"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["text"].as_str())
        .collect();
    check(p["answers"] == serde_json::json!(answers), || {
        format!("answers {} against {answers:?}", p["answers"])
    })?;
    let seen = p["runs"].as_array().ok_or("runs on the page")?;
    check(seen.len() == runs.len(), || {
        format!("{} runs shown", seen.len())
    })?;
    for (i, (run, s)) in runs.iter().zip(seen).enumerate() {
        let n = i + 1;
        check(
            s["causes"].as_u64() == run["causes"].as_array().map(|c| c.len() as u64),
            || format!("run {n}: cause table {}", s["causes"]),
        )?;
        check(
            s["pictures"] == 1 && s["failure"] == 1 && s["window"] == 1,
            || format!("run {n}: picture {s}"),
        )?;
        check(s["picture_width"].as_f64().unwrap_or(0.0) > 600.0, || {
            format!("run {n}: picture drawn {} px wide", s["picture_width"])
        })?;
        check(s["ticks"].as_u64().unwrap_or(0) >= 3, || {
            format!("run {n}: {} ticks", s["ticks"])
        })?;
        let lanes = sorted(&s["lanes"]);
        check(lanes == lane_families(run), || {
            format!(
                "run {n}: lanes {lanes:?}, evidence {:?}",
                lane_families(run)
            )
        })?;
        check(
            s["lane_labels"].as_array().map(|l| l.len()) == Some(lanes.len()),
            || format!("run {n}: lane labels {}", s["lane_labels"]),
        )?;
        let mut cites = Vec::new();
        collect_cites(run, &mut cites);
        let mut ids: Vec<String> = cites
            .iter()
            .map(|c| format!("cite-{}", c["id"].as_str().unwrap_or("?")))
            .collect();
        ids.sort();
        ids.dedup();
        check(sorted(&s["rows"]) == ids, || {
            format!("run {n}: record rows {} against {ids:?}", s["rows"])
        })?;
        check(sorted(&s["points"]) == ids, || {
            format!("run {n}: points {} against {ids:?}", s["points"])
        })?;
        for c in s["citations"].as_array().into_iter().flatten() {
            let c = c.as_str().unwrap_or_default().to_string();
            check(ids.contains(&c), || {
                format!("run {n}: citation {c} has no row")
            })?;
        }
    }
    Ok(())
}

const TITLE_SCRIPT: &str = "<script>document.title='pwned'</script>";
const ATTR_BREAK: &str =
    "\"><img src=x onerror=\"document.body.appendChild(document.createElement('pwned'))\">";

/// A bundle whose account, file names and log text are made to break out of the page.
fn hostile_bundle(dir: &Path) -> PathBuf {
    let bundle = dir.join("bundle");
    let folder = bundle.join("<script>alert(1)<script>");
    std::fs::create_dir_all(&folder).unwrap();
    let line = |time: &str, event: &str, message: String, data: Value| {
        serde_json::json!({
            "eventTimestamp": time, "traceLevel": "Error", "component": "UIFlowService",
            "eventType": event, "operationName": "RunDesktopFlow", "message": message,
            "correlationId": "7d0c2b1e-1111-4c3a-9d2e-5f6a7b8c9d0e", "eventData": data,
        })
        .to_string()
    };
    let user = format!("{TITLE_SCRIPT}@contoso.com");
    let log = [
        line(
            "2025-06-02T13:17:04.100Z",
            "UIFlowService.Session.LogonFailed",
            format!(
                "Logon failed for user '{TITLE_SCRIPT}' with status -1073741715. See \
                 javascript:alert(1) and report\u{202E}fdp.exe"
            ),
            serde_json::json!({ "statusCode": -1073741715i64, "connectionUsername": user }),
        ),
        line(
            "2025-06-02T13:17:05.431Z",
            "UIFlowService.Run.Failed",
            format!(
                "Desktop flow '{ATTR_BREAK}' failed: WindowsIdentityIncorrect. The credentials \
                 provided with the request are invalid. Detail: -1073741715."
            ),
            serde_json::json!({
                "errorCode": "WindowsIdentityIncorrect",
                "statusCode": -1073741715i64,
                "sessionUserName": user,
            }),
        ),
    ]
    .join("\r\n");
    // A file name may hold anything but a slash.
    std::fs::write(
        folder.join(format!("{}.log", ATTR_BREAK.replace('/', ""))),
        log,
    )
    .unwrap();
    bundle
}

fn hostile_page() -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let bundle = hostile_bundle(tmp.path());
    let (html, doc) = report(&bundle, tmp.path())?;
    check(doc["runs"].as_array().is_some_and(|r| r.len() == 1), || {
        format!("the hostile bundle's run was not found: {doc}")
    })?;
    let p = load(&html, tmp.path(), "hostile")?;
    // None of it ran: the title is padtriage's, no element was added, nothing loads or links out.
    check(
        p["title"] == format!("padtriage: {}", bundle.display()),
        || format!("title {}", p["title"]),
    )?;
    check(
        p["pwned"] == 0 && p["scripts"] == 0 && p["loaders"] == 0,
        || format!("active content: {p}"),
    )?;
    check(p["handlers"] == 0 && p["script_links"] == 0, || {
        format!("handlers or links: {p}")
    })?;
    // All of it is there, as text.
    let text = p["text"].as_str().unwrap_or_default();
    for s in [
        TITLE_SCRIPT,
        "\"><img src=x onerror=",
        "javascript:alert(1)",
        "report[U+202E]fdp.exe",
        "<script>alert(1)<script>",
    ] {
        check(text.contains(s), || format!("{s:?} is not shown as text"))?;
    }
    check(!text.contains('\u{202E}'), || {
        "a direction override acts on the page".into()
    })?;
    Ok(())
}

/// What the test reads from the fleet page.
const FLEET_PROBE: &str = r##"(() => {
  const q = s => Array.from(document.querySelectorAll(s));
  return JSON.stringify({
    title: document.title,
    scripts: document.scripts.length,
    loaders: q('img,iframe,object,embed,link,video,audio,source,script,base,form').length,
    counts: q('table.counts tr').length,
    causes: q('table.primary tbody tr').length,
    rows: q('table.fleet tbody tr').map(r => ({
      label: r.cells[0].textContent,
      href: r.querySelector('a') ? r.querySelector('a').href : null,
      answers: r.querySelectorAll('.answer').length,
    })),
  });
})()"##;

/// `scan samples --format html`: the fleet page loads on its own, shows the summary and a row
/// per bundle, and every row's link opens that bundle's page, which loads on its own too.
fn fleet_page(samples: &[PathBuf]) -> Result<(), Failed> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let html = tmp.path().join("scan.html");
    let dir = samples
        .first()
        .and_then(|s| s.parent())
        .ok_or("no sample")?;
    let o = padtriage(&[
        "scan",
        dir.to_str().ok_or("samples path")?,
        "--format",
        "html",
        "-o",
        html.to_str().ok_or("temporary path")?,
    ]);
    if !matches!(o.status.code(), Some(0 | 3)) {
        return Err(format!("scan: {}", String::from_utf8_lossy(&o.stderr)).into());
    }
    let p = load_with(&html, tmp.path(), "fleet", FLEET_PROBE)?;
    check(p["title"] == "padtriage: batch scan", || {
        format!("title {}", p["title"])
    })?;
    check(p["scripts"] == 0 && p["loaders"] == 0, || {
        format!("active content: {p}")
    })?;
    check(
        p["counts"].as_u64().unwrap_or(0) >= 6 && p["causes"].as_u64().unwrap_or(0) >= 1,
        || format!("no summary: {p}"),
    )?;
    let rows = p["rows"].as_array().ok_or("rows")?;
    check(rows.len() == samples.len(), || {
        format!("{} rows for {} samples", rows.len(), samples.len())
    })?;
    for row in rows {
        let label = row["label"].as_str().unwrap_or_default();
        let href = row["href"]
            .as_str()
            .ok_or_else(|| format!("{label}: no link to its page"))?;
        let visit = with_browser(|b| b.visit(href, PROBE))?;
        let complaints = visit.complaints();
        let requests = visit.requests_besides(href);
        check(complaints.is_empty() && requests.is_empty(), || {
            format!("{href}: network: {requests:#?}\nconsole: {complaints:#?}")
        })?;
        check(
            visit.probe["title"] == format!("padtriage: {label}"),
            || format!("{href} is not {label}'s page: {}", visit.probe["title"]),
        )?;
        check(
            visit.probe["answers"].as_array().map(|a| a.len() as u64) == row["answers"].as_u64(),
            || format!("{label}: the answers differ from its page's"),
        )?;
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let ci = std::env::var("CI").as_deref() == Ok("true");
    let found = cdp::find();
    // Outside CI a missing browser is reported, and its tests ignored, never passed.
    let ignore = found.is_none() && !ci;
    if ignore {
        eprintln!("browser tests ignored: {MISSING}");
    }
    let samples_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut samples: Vec<PathBuf> = std::fs::read_dir(&samples_dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    samples.retain(|p| p.join("expected.json").is_file());
    samples.sort();
    let all = samples.clone();
    let mut trials: Vec<Trial> = samples
        .into_iter()
        .map(|s| {
            let name = format!(
                "html_report_in_chromium::{}",
                s.file_name().unwrap().to_string_lossy()
            );
            Trial::test(name, move || sample_page(&s)).with_ignored_flag(ignore)
        })
        .collect();
    trials.push(
        Trial::test(
            "html_report_in_chromium::hostile_strings_stay_text",
            hostile_page,
        )
        .with_ignored_flag(ignore),
    );
    trials.push(
        Trial::test("html_report_in_chromium::fleet_page_of_a_scan", move || {
            fleet_page(&all)
        })
        .with_ignored_flag(ignore),
    );
    let conclusion = libtest_mimic::run(&args, trials);
    // Chromium is stopped before the process exits.
    drop(BROWSER.lock().unwrap_or_else(|p| p.into_inner()).take());
    conclusion.exit();
}
