//! A fake SMTP relay on loopback that speaks just enough SMTP for lettre and keeps what it
//! receives, so that tests need no mail server. Test support only (feature `fake-relay`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// How the relay behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Accepts every message.
    Accept,
    /// Answers `550` to every `RCPT TO`.
    RefuseRecipient,
    /// Accepts connections and never says a word.
    Silent,
}

/// One message received: the envelope and the data as sent (dot-stuffing undone).
#[derive(Debug, Clone, Default)]
pub struct Received {
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The value of the first header named `name` (unfolded, encoded words decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next()?;
        let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
        let prefix = format!("{}:", name.to_ascii_lowercase());
        let line = unfolded
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))?;
        let value = line.get(prefix.len()..)?.trim();
        Some(decode_words(value))
    }

    /// The body, with its transfer encoding (7bit, base64 or quoted-printable) undone.
    pub fn body(&self) -> Option<String> {
        let (_, body) = self.data.split_once("\r\n\r\n")?;
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        if encoding == "base64" {
            let joined: String = body.split_whitespace().collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(joined)
                .ok()?;
            return String::from_utf8(bytes).ok();
        }
        if encoding != "quoted-printable" {
            return Some(body.to_owned());
        }
        let joined = body.replace("=\r\n", "");
        let mut bytes = Vec::new();
        let mut rest = joined.as_bytes();
        while let Some((&b, tail)) = rest.split_first() {
            if b == b'='
                && let Some(hex) = tail.get(..2)
                && let Ok(byte) = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16)
            {
                bytes.push(byte);
                rest = tail.get(2..)?;
                continue;
            }
            bytes.push(b);
            rest = tail;
        }
        String::from_utf8(bytes).ok()
    }
}

/// Decodes RFC 2047 words (`=?utf-8?b?…?=`), joining adjacent ones as mail readers do.
fn decode_words(value: &str) -> String {
    let mut out = Vec::new();
    let mut previous_encoded = None;
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        let lower = word.to_ascii_lowercase();
        let decoded = lower
            .strip_prefix("=?utf-8?b?")
            .and_then(|w| w.strip_suffix("?="))
            .and_then(|_| word.get(10..word.len().saturating_sub(2)))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok());
        let encoded = decoded.is_some();
        // Space between two encoded words is folding, not text (RFC 2047, 6.2).
        if previous_encoded.is_some() && !(encoded && previous_encoded == Some(true)) {
            out.push(b' ');
        }
        match decoded {
            Some(bytes) => out.extend(bytes),
            None => out.extend(word.as_bytes()),
        }
        previous_encoded = Some(encoded);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A relay listening on `127.0.0.1` on a free port, until dropped.
#[derive(Debug)]
pub struct FakeRelay {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeRelay {
    pub async fn start(behaviour: Behaviour) -> std::io::Result<FakeRelay> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = converse(stream, behaviour, &kept).await;
                });
            }
        });
        Ok(FakeRelay {
            port,
            received,
            task,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `smtp://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Received>> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every message received so far.
    pub fn received(&self) -> Vec<Received> {
        self.lock().clone()
    }
}

impl Drop for FakeRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(
    stream: TcpStream,
    behaviour: Behaviour,
    kept: &Mutex<Vec<Received>>,
) -> std::io::Result<()> {
    if behaviour == Behaviour::Silent {
        // Holds the connection open without a greeting, as a hung relay does.
        let mut stream = stream;
        let mut sink = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut sink).await;
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 fake.relay ESMTP\r\n").await?;
    let mut current = Received::default();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250 fake.relay\r\n"
        } else if let Some(from) = upper.strip_prefix("MAIL FROM:") {
            current = Received::default();
            current.mail_from = command.get(10..10 + from.len()).unwrap_or("").to_owned();
            b"250 ok\r\n"
        } else if let Some(to) = upper.strip_prefix("RCPT TO:") {
            if behaviour == Behaviour::RefuseRecipient {
                b"550 5.1.1 <nobody@example.com>: recipient address rejected\r\n"
            } else {
                current
                    .rcpt_to
                    .push(command.get(8..8 + to.len()).unwrap_or("").to_owned());
                b"250 ok\r\n"
            }
        } else if upper == "DATA" {
            write.write_all(b"354 end with .\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            current.data = data;
            kept.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(std::mem::take(&mut current));
            b"250 queued\r\n"
        } else if upper == "RSET" || upper == "NOOP" {
            b"250 ok\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else {
            b"502 not implemented\r\n"
        };
        write.write_all(reply).await?;
    }
}
