//! What hyper's HTTP/1.1 parser refuses it answers by itself, before any of the service's code
//! sees the request — a bare status line, `content-length: 0`, no body, no `Content-Type` —
//! and hyper has no hook to change that answer. So the connection's socket is wrapped: an
//! answer of that shape, as hyper writes it, is replaced on its way out by the documented JSON
//! error (`malformed_request`, `uri_too_long`, `headers_too_large`). The service's own answers
//! never have that shape (every error it sends has a JSON body), so nothing else is touched.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use custodian_core::error::{ApiError, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection's socket whose parser refusals leave as JSON.
#[derive(Debug)]
pub struct JsonParseErrors<IO> {
    inner: IO,
    /// The JSON answer taking the place of hyper's, and how much of it is written.
    replacement: Option<(Vec<u8>, usize)>,
}

impl<IO> JsonParseErrors<IO> {
    pub fn new(inner: IO) -> JsonParseErrors<IO> {
        JsonParseErrors {
            inner,
            replacement: None,
        }
    }
}

/// The JSON answer for a bare refusal hyper is writing, if `bytes` is one: a whole response
/// head with a 4xx or 5xx status, `content-length: 0` and no content type, and nothing after it.
fn replacement_for(bytes: &[u8]) -> Option<Vec<u8>> {
    let head = std::str::from_utf8(bytes).ok()?;
    let head = head.strip_suffix("\r\n\r\n")?;
    if head.contains("\r\n\r\n") {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))?
        .get(..3)?
        .parse()
        .ok()?;
    let headers: Vec<String> = lines.map(str::to_ascii_lowercase).collect();
    let empty = headers.iter().any(|h| h == "content-length: 0");
    let typed = headers.iter().any(|h| h.starts_with("content-type:"));
    let code = match status {
        400 | 505 => ErrorCode::MalformedRequest,
        414 => ErrorCode::UriTooLong,
        431 => ErrorCode::HeadersTooLarge,
        _ => return None,
    };
    if !empty || typed {
        return None;
    }
    let error = ApiError::new(code, refusal_message(code));
    let body = serde_json::json!({ "error": error }).to_string();
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             cache-control: no-store\r\nx-content-type-options: nosniff\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

fn refusal_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::UriTooLong => "the request target is longer than the HTTP parser accepts",
        ErrorCode::HeadersTooLarge => "the request has too many header lines or too large a head",
        _ => {
            "the request is not well-formed HTTP/1.1 (its request line, a header, its \
             Transfer-Encoding or Content-Length)"
        }
    }
}

impl<IO: AsyncWrite + Unpin> JsonParseErrors<IO> {
    /// Writes what is left of the replacement; ready once it is all written.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.replacement {
            let Some(rest) = bytes.get(*written..).filter(|rest| !rest.is_empty()) else {
                self.replacement = None;
                break;
            };
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => *written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for JsonParseErrors<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for JsonParseErrors<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.poll_replacement(cx) {
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(())) => {}
        }
        if let Some(replacement) = replacement_for(buf) {
            // Taken whole: hyper sees its answer written, the JSON goes out in its place.
            this.replacement = Some((replacement, 0));
            return match this.poll_replacement(cx) {
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) | Poll::Pending => Poll::Ready(Ok(buf.len())),
            };
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_replacement(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_replacement(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }

    /// One buffer per write, so that hyper's answer arrives whole in one `poll_write`.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    #[test]
    fn hypers_bare_refusals_become_json_and_nothing_else_changes() {
        let bare = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\ndate: Sat, 05 Dec 2026 01:00:00 GMT\r\n\r\n";
        let json = String::from_utf8(replacement_for(bare).unwrap()).unwrap();
        assert!(json.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        assert!(json.contains("content-type: application/json"));
        let body: serde_json::Value =
            serde_json::from_str(json.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "malformed_request");
        let (head, body) = json.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())));

        let long = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\n\r\n";
        assert!(
            String::from_utf8(replacement_for(long).unwrap())
                .unwrap()
                .contains("uri_too_long")
        );
        let big = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";
        assert!(
            String::from_utf8(replacement_for(big).unwrap())
                .unwrap()
                .contains("headers_too_large")
        );

        for own in [
            // The service's own answers: a body, a content type, a success, a body after.
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 304 Not Modified\r\netag: \"x\"\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
            b"{\"a\": 1}",
        ] {
            assert_eq!(replacement_for(own), None, "{}", String::from_utf8_lossy(own));
        }
    }
}
