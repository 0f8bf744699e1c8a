//! The export as a ZIP: `README.txt`, `export.json` (schema `custodian.export/1`) and
//! `report.html`, written by a streaming (non-seeking) ZIP writer and deflated in pure Rust.
//! Bytes leave through a [`ChunkOut`] after every piece the vault hands over, so memory
//! holds one page of orders and its compressed output, never the whole archive.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use jiff::Timestamp;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::export::{ExportDocument, ExportOrder, ExportSink};
use super::export_html;

/// The file name of an export made at `at`: `custodian-export-<YYYY-MM-DD>.zip` (UTC).
pub fn export_file_name(at: Timestamp) -> String {
    let date = jiff::tz::Offset::UTC.to_datetime(at).date();
    format!("custodian-export-{date}.zip")
}

/// Where the archive's bytes go, a chunk at a time.
#[async_trait]
pub trait ChunkOut: Send {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()>;
}

/// A [`ChunkOut`] on a blocking writer (a file, a `Vec<u8>` in tests).
#[derive(Debug)]
pub struct WriteOut<W>(pub W);

#[async_trait]
impl<W: Write + Send> ChunkOut for WriteOut<W> {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.0.write_all(&chunk)
    }
}

/// The buffer the ZIP writer writes into, drained after every piece.
#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Shared {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const README_EN: &str = "This archive holds everything {controller} keeps about you, as of {at}.\n\n\
export.json  the data in a machine-readable form (JSON, schema custodian.export/1),\n\
             to read or to take to another service.\n\
report.html  the same data to read, in your language: each kind of data with why it is\n\
             kept, for how long and who receives it; your consents; who your data was\n\
             given to; your corrections, orders and requests.\n";

const README_VI: &str = "Tệp nén này chứa mọi dữ liệu {controller} lưu về bạn, tính đến {at}.\n\n\
export.json  dữ liệu ở dạng máy đọc được (JSON, lược đồ custodian.export/1),\n\
             để đọc hoặc chuyển sang dịch vụ khác.\n\
report.html  cùng dữ liệu đó để đọc, bằng ngôn ngữ của bạn: từng loại dữ liệu, lý do lưu,\n\
             thời hạn lưu và bên nhận; các lần đồng ý; những bên đã nhận dữ liệu;\n\
             các lần chỉnh sửa, đơn hàng và yêu cầu của bạn.\n";

/// The ZIP export sink.
pub struct ZipSink<O: ChunkOut> {
    zip: Option<ZipWriter<zip::write::StreamWriter<Shared>>>,
    buffer: Shared,
    out: O,
    first_order: bool,
    written: u64,
    /// Bytes of the files, before compression.
    content: u64,
    /// The report's language, from the document given to `begin`.
    lang: custodian_policy::Lang,
}

impl<O: ChunkOut> std::fmt::Debug for ZipSink<O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZipSink")
            .field("written", &self.written)
            .finish_non_exhaustive()
    }
}

fn zip_error(e: zip::result::ZipError) -> std::io::Error {
    std::io::Error::other(e)
}

impl<O: ChunkOut> ZipSink<O> {
    pub fn new(out: O) -> ZipSink<O> {
        let buffer = Shared::default();
        ZipSink {
            zip: Some(ZipWriter::new_stream(buffer.clone())),
            buffer,
            out,
            first_order: true,
            written: 0,
            content: 0,
            lang: custodian_policy::Lang::default(),
        }
    }

    /// Bytes of the archive sent so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Bytes of the files put in the archive so far, before compression.
    pub fn content(&self) -> u64 {
        self.content
    }

    /// The destination, once the archive is complete.
    pub fn into_out(self) -> O {
        self.out
    }

    fn zip(&mut self) -> std::io::Result<&mut ZipWriter<zip::write::StreamWriter<Shared>>> {
        self.zip
            .as_mut()
            .ok_or_else(|| std::io::Error::other("the archive is already finished"))
    }

    fn start(&mut self, name: &str, at: Timestamp) -> std::io::Result<()> {
        let zoned = jiff::tz::Offset::UTC.to_datetime(at);
        let mut options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(0o644);
        let parts = (
            u16::try_from(zoned.year()),
            u8::try_from(zoned.month()),
            u8::try_from(zoned.day()),
            u8::try_from(zoned.hour()),
            u8::try_from(zoned.minute()),
            u8::try_from(zoned.second()),
        );
        if let (Ok(y), Ok(mo), Ok(d), Ok(h), Ok(mi), Ok(s)) = parts
            && let Ok(time) = zip::DateTime::from_date_and_time(y, mo, d, h, mi, s)
        {
            options = options.last_modified_time(time);
        }
        self.zip()?.start_file(name, options).map_err(zip_error)
    }

    fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.content += bytes.len() as u64;
        self.zip()?.write_all(bytes)
    }

    /// Sends what the writer produced so far.
    async fn drain(&mut self) -> std::io::Result<()> {
        let chunk = self.buffer.take();
        if chunk.is_empty() {
            return Ok(());
        }
        self.written += chunk.len() as u64;
        self.out.send(chunk).await
    }
}

#[async_trait]
impl<O: ChunkOut> ExportSink for ZipSink<O> {
    fn passes(&self) -> u32 {
        2
    }

    async fn begin(&mut self, pass: u32, doc: &ExportDocument) -> std::io::Result<()> {
        self.lang = export_html::language(doc);
        if pass == 0 {
            let readme = match export_html::language(doc) {
                custodian_policy::Lang::Vi => README_VI,
                custodian_policy::Lang::En => README_EN,
            }
            .replace("{controller}", &doc.controller.name)
            .replace("{at}", &doc.generated_at.to_string());
            self.start("README.txt", doc.generated_at)?;
            self.write(readme.as_bytes())?;
            self.start("export.json", doc.generated_at)?;
            // The document, then its orders: the object is left open for them.
            let head = serde_json::to_string(doc).map_err(std::io::Error::other)?;
            let open = head.strip_suffix('}').unwrap_or(&head);
            self.write(open.as_bytes())?;
            self.write(b",\"orders\":[")?;
            self.first_order = true;
        } else {
            self.start("report.html", doc.generated_at)?;
            self.write(export_html::head(doc).as_bytes())?;
        }
        self.drain().await
    }

    async fn orders(&mut self, pass: u32, page: &[ExportOrder]) -> std::io::Result<()> {
        if pass == 0 {
            let mut json = Vec::with_capacity(page.len() * 512);
            for order in page {
                if !std::mem::take(&mut self.first_order) {
                    json.push(b',');
                }
                serde_json::to_writer(&mut json, order).map_err(std::io::Error::other)?;
            }
            self.write(&json)?;
        } else {
            let html = export_html::orders(self.lang, page);
            self.write(html.as_bytes())?;
        }
        self.drain().await
    }

    async fn end(&mut self, pass: u32, _doc: &ExportDocument) -> std::io::Result<()> {
        if pass == 0 {
            self.write(b"]}\n")?;
        } else {
            self.write(export_html::tail().as_bytes())?;
            if let Some(zip) = self.zip.take() {
                zip.finish().map_err(zip_error)?;
            }
        }
        self.drain().await
    }
}
