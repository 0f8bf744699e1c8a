//! A minimal WebDriver client: chromedriver on a loopback port, spoken to in HTTP/1.1 over a
//! plain `TcpStream`, one request per connection. Just what the banner's test needs.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key WebDriver's element id is under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub const TAB: &str = "\u{E004}";
pub const ENTER: &str = "\u{E007}";
pub const ESCAPE: &str = "\u{E00C}";
pub const SPACE: &str = " ";
pub const SHIFT: &str = "\u{E008}";

/// Where Debian puts them (`apt-get install chromium chromium-driver`).
pub fn find_browser() -> Option<(PathBuf, PathBuf)> {
    let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())?;
    let driver = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())?;
    Some((chromium, driver))
}

/// A running chromedriver, killed on drop.
pub struct Driver {
    port: u16,
    child: Child,
}

impl Driver {
    pub fn start(driver: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver { port, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(status) = driver.call("GET", "/status", None)
                && status["value"]["ready"] == true
            {
                return driver;
            }
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A new headless Chromium with a fresh profile in `profile`.
    pub fn session(&self, chromium: &Path, profile: &Path) -> Session<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1200,900",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": chromium, "args": args },
        }}});
        let created = self
            .call("POST", "/session", Some(capabilities))
            .unwrap_or_else(|e| panic!("a Chromium session: {e}"));
        let id = created["value"]["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Session { driver: self, id }
    }

    /// One WebDriver command: the `value` on success, the error otherwise.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream =
            TcpStream::connect(("127.0.0.1", self.port)).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .map_err(|e| e.to_string())?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json; \
             charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        let mut raw = Vec::new();
        let (head_end, length) = loop {
            let mut chunk = [0; 8192];
            let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Err("connection closed before the headers".into());
            }
            raw.extend_from_slice(&chunk[..n]);
            if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&raw[..at]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                break (at + 4, length);
            }
        };
        match length {
            Some(length) => {
                while raw.len() < head_end + length {
                    let mut chunk = [0; 8192];
                    let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
                    if n == 0 {
                        return Err("connection closed in the body".into());
                    }
                    raw.extend_from_slice(&chunk[..n]);
                }
            }
            None => {
                stream
                    .read_to_end(&mut raw)
                    .map_err(|e| format!("read: {e}"))?;
            }
        }
        let status_ok = raw.starts_with(b"HTTP/1.1 2") || raw.starts_with(b"HTTP/1.0 2");
        let body: Value = serde_json::from_slice(&raw[head_end..])
            .map_err(|e| format!("{method} {path}: not JSON: {e}"))?;
        if status_ok {
            Ok(body)
        } else {
            Err(format!("{method} {path}: {}", body["value"]))
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// One browser, closed on drop.
pub struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.id);
        match self.driver.call(method, &path, body) {
            Ok(value) => value["value"].clone(),
            Err(e) => panic!("WebDriver: {e}"),
        }
    }

    /// A Chrome DevTools Protocol command, through chromedriver.
    pub fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": cmd, "params": params })),
        )
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn refresh(&self) {
        self.cmd("POST", "/refresh", Some(json!({})));
    }

    /// Runs `script` (a function body; `arguments` are `args`) and returns its result.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    /// Waits until `script` returns true, at most `secs` seconds.
    pub fn wait_for(&self, what: &str, script: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while self.js(script, json!([])) != true {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The element matching the CSS `selector`.
    pub fn find(&self, selector: &str) -> String {
        let found = self.cmd(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": selector })),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_owned()
    }

    pub fn click(&self, selector: &str) {
        let element = self.find(selector);
        self.cmd(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Types `text` into the element matching `selector`, as a user would.
    pub fn type_into(&self, selector: &str, text: &str) {
        let element = self.find(selector);
        self.cmd(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    /// The page's visible text.
    pub fn text(&self) -> String {
        self.js("return document.body.innerText;", json!([]))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Presses and releases `key` on whatever has the focus.
    pub fn press(&self, key: &str) {
        let actions = json!({ "actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [{ "type": "keyDown", "value": key }, { "type": "keyUp", "value": key }],
        }]});
        self.cmd("POST", "/actions", Some(actions));
    }

    /// Shift+Tab on whatever has the focus.
    pub fn shift_tab(&self) {
        let actions = json!({ "actions": [{
            "type": "key",
            "id": "keyboard",
            "actions": [
                { "type": "keyDown", "value": SHIFT },
                { "type": "keyDown", "value": TAB },
                { "type": "keyUp", "value": TAB },
                { "type": "keyUp", "value": SHIFT },
            ],
        }]});
        self.cmd("POST", "/actions", Some(actions));
    }

    /// A phone's viewport, 360 × 740 CSS pixels (the page's `viewport` meta applies).
    pub fn phone(&self) {
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": true }),
        );
    }

    /// Back to the window's own size.
    pub fn desktop(&self) {
        self.cdp("Emulation.clearDeviceMetricsOverride", json!({}));
    }

    /// Asserts that the page does not scroll sideways.
    pub fn fits_the_width(&self, what: &str) {
        let sizes = self.js(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            json!([]),
        );
        let (scroll, inner) = (
            sizes[0].as_i64().unwrap_or(0),
            sizes[1].as_i64().unwrap_or(0),
        );
        assert!(
            scroll <= inner,
            "{what} scrolls sideways: {scroll} px wide in a {inner} px viewport"
        );
    }

    /// The id of the focused element.
    pub fn focused(&self) -> String {
        self.js(
            "return document.activeElement && document.activeElement.id || '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_owned()
    }

    /// Presses Tab until the element with `id` has the focus (at most 30 times).
    pub fn tab_to(&self, id: &str) {
        for _ in 0..30 {
            if self.focused() == id {
                return;
            }
            self.press(TAB);
        }
        panic!("Tab never reached #{id}");
    }

    /// A PNG of the viewport, written to `path`.
    pub fn screenshot(&self, path: &Path) {
        let png = self.cmd("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a base64 PNG");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the artefacts directory");
        }
        std::fs::write(path, bytes).expect("the screenshot is written");
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .call("DELETE", &format!("/session/{}", self.id), None);
    }
}
