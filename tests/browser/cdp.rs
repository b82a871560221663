//! A small Chrome DevTools Protocol client for the browser test: starts headless Chromium with
//! a fresh profile and no way out to the network, connects to it over a websocket, opens a page
//! per test and records what the page did (console messages, exceptions, network requests).

use serde_json::{json, Value};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{Message, WebSocket};

type Result<T> = std::result::Result<T, String>;

/// Chromium to use: `$CHROMIUM`, else the first of the usual names on the `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ]
    .iter()
    .flat_map(|name| std::env::split_paths(&path).map(move |d| d.join(name)))
    .find(|p| p.is_file())
}

pub struct Browser {
    child: Child,
    ws: WebSocket<TcpStream>,
    next: u64,
    /// Events not yet looked at, in arrival order.
    events: Vec<Value>,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a page did while it loaded.
pub struct Visit {
    pub events: Vec<Value>,
    /// `Runtime.evaluate` of the probe, parsed.
    pub probe: Value,
    pub png: Vec<u8>,
}

impl Browser {
    pub fn launch(bin: &Path) -> Result<Browser> {
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let log = std::fs::File::create(profile.path().join("chromium.log"))
            .map_err(|e| e.to_string())?;
        let child = Command::new(bin)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--hide-scrollbars",
                "--window-size=1200,900",
                // No name resolves: a request that got past the page's policy would fail here
                // too, and be seen failing.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        // Chromium writes its port and browser endpoint into the profile once it listens.
        let port_file = profile.path().join("DevToolsActivePort");
        let deadline = Instant::now() + Duration::from_secs(60);
        let (port, path) = loop {
            if let Ok(text) = std::fs::read_to_string(&port_file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    break (port.trim().to_string(), path.trim().to_string());
                }
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(profile.path().join("chromium.log"))
                    .unwrap_or_default();
                return Err(format!("Chromium did not start within 60 s: {log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stream = TcpStream::connect(format!("127.0.0.1:{port}")).map_err(|e| e.to_string())?;
        let (ws, _) = tungstenite::client(format!("ws://127.0.0.1:{port}{path}"), stream)
            .map_err(|e| format!("DevTools handshake: {e}"))?;
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(200)))
            .map_err(|e| e.to_string())?;
        Ok(Browser {
            child,
            ws,
            next: 1,
            events: Vec::new(),
            _profile: profile,
        })
    }

    fn read(&mut self, deadline: Instant) -> Result<Value> {
        loop {
            if Instant::now() > deadline {
                return Err("no answer from Chromium within the time allowed".into());
            }
            match self.ws.read() {
                Ok(Message::Text(t)) => {
                    return serde_json::from_str(t.as_str()).map_err(|e| e.to_string())
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(format!("DevTools connection: {e}")),
            }
        }
    }

    /// Call a method (in a page's session) and wait for its result; events arriving meanwhile
    /// are kept.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Result<Value> {
        let id = self.next;
        self.next += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("{method}: {e}"))?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.read(deadline)?;
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}"));
                }
                return Ok(v["result"].clone());
            }
            self.events.push(v);
        }
    }

    /// Wait for an event of a session (it may have arrived already).
    fn wait(&mut self, session: &str, method: &str) -> Result<Value> {
        let is = |v: &Value| v["method"] == method && v["sessionId"] == session;
        if let Some(v) = self.events.iter().find(|v| is(v)) {
            return Ok(v.clone());
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.read(deadline)?;
            self.events.push(v.clone());
            if is(&v) {
                return Ok(v);
            }
        }
    }

    /// Open `url` in a new page, wait for it to load, evaluate `probe` (an expression giving a
    /// JSON string), take a full-page screenshot, and close it.
    pub fn visit(&mut self, url: &str, probe: &str) -> Result<Visit> {
        self.events.clear();
        let target = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }))?;
        let target_id = target["targetId"].clone();
        let attached = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        let session = attached["sessionId"]
            .as_str()
            .ok_or("no session")?
            .to_string();
        let s = Some(session.as_str());
        for domain in ["Runtime", "Log", "Network", "Page"] {
            self.call(s, &format!("{domain}.enable"), json!({}))?;
        }
        self.call(
            s,
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": false }),
        )?;
        let nav = self.call(s, "Page.navigate", json!({ "url": url }))?;
        if let Some(e) = nav.get("errorText") {
            return Err(format!("the page did not load: {e}"));
        }
        self.wait(&session, "Page.loadEventFired")?;
        let probe = self.call(
            s,
            "Runtime.evaluate",
            json!({ "expression": probe, "returnByValue": true }),
        )?;
        if let Some(e) = probe.get("exceptionDetails") {
            return Err(format!("the probe failed: {e}"));
        }
        let probe: Value = serde_json::from_str(probe["result"]["value"].as_str().unwrap_or("{}"))
            .map_err(|e| e.to_string())?;
        let metrics = self.call(s, "Page.getLayoutMetrics", json!({}))?;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap_or(900.0)
            .min(8000.0);
        let shot = self.call(
            s,
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": { "x": 0, "y": 0, "width": 1200, "height": height, "scale": 1 }
            }),
        )?;
        let png = data_encoding::BASE64
            .decode(shot["data"].as_str().unwrap_or_default().as_bytes())
            .map_err(|e| e.to_string())?;
        // Anything the page did after loading is in by now (the calls above took turns).
        let events = self
            .events
            .drain(..)
            .filter(|v| v["sessionId"] == session.as_str())
            .collect();
        self.call(None, "Target.closeTarget", json!({ "targetId": target_id }))?;
        Ok(Visit { events, probe, png })
    }
}

impl Visit {
    /// Console errors and warnings, uncaught exceptions, log entries at warning or above.
    pub fn complaints(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|v| {
                let p = &v["params"];
                match v["method"].as_str()? {
                    "Runtime.exceptionThrown" => Some(p["exceptionDetails"].to_string()),
                    "Runtime.consoleAPICalled"
                        if matches!(p["type"].as_str(), Some("error" | "warning" | "assert")) =>
                    {
                        Some(p["args"].to_string())
                    }
                    "Log.entryAdded"
                        if matches!(p["entry"]["level"].as_str(), Some("error" | "warning")) =>
                    {
                        Some(p["entry"]["text"].to_string())
                    }
                    _ => None,
                }
            })
            .collect()
    }

    /// Every request the page made other than loading itself from `page`, and every load that
    /// failed.
    pub fn requests_besides(&self, page: &str) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|v| {
                let p = &v["params"];
                match v["method"].as_str()? {
                    "Network.requestWillBeSent" if p["request"]["url"] != page => {
                        Some(p["request"]["url"].to_string())
                    }
                    "Network.loadingFailed" => Some(format!("failed: {p}")),
                    _ => None,
                }
            })
            .collect()
    }
}
