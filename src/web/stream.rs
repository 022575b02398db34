//! Streamed downloads: a producer on a blocking thread writes the file while it reads the
//! database, and the response sends it in chunks as they come. A bounded channel between
//! them keeps at most a few chunks in memory, whatever the file's size; when the client
//! goes away, the producer's next write fails and it stops.
//!
//! Every CSV file starts with a UTF-8 byte order mark: without it, Excel opens a CSV in
//! the system's legacy code page and shows "SÃ¸rensen" for "Sørensen".

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::HttpResponse;
use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{CacheControl, CacheDirective, ContentDisposition, DispositionParam, DispositionType};
use actix_web::web::Bytes;
use tokio::sync::mpsc;

use crate::db::{DbConnection, PooledConn};
use crate::error::AppError;

/// Chunks in flight between the producer and the response.
const CHUNKS_IN_FLIGHT: usize = 4;

/// The response body: chunks as the producer sends them. An error — or a producer that
/// stopped without saying it finished (a panic) — ends the response without its final
/// chunk, so the client sees the file as incomplete rather than as a shorter file.
pub struct ChannelBody {
    rx: mpsc::Receiver<Message>,
    finished: bool,
}

/// What the producer sends: a chunk, the end of the file, or a failure.
enum Message {
    Chunk(Bytes),
    Done,
    Failed(io::Error),
}

impl MessageBody for ChannelBody {
    type Error = io::Error;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, io::Error>>> {
        let this = self.get_mut();
        if this.finished {
            return Poll::Ready(None);
        }
        match this.rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(Message::Chunk(bytes))) => Poll::Ready(Some(Ok(bytes))),
            Poll::Ready(Some(Message::Done)) => {
                this.finished = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(Message::Failed(err))) => {
                this.finished = true;
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                this.finished = true;
                Poll::Ready(Some(Err(io::Error::other("the export stopped before its end"))))
            }
        }
    }
}

/// The UTF-8 byte order mark that starts every CSV download.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The producer's end: each write becomes a chunk (callers write through a buffer of
/// about a chunk's size), and a write waits while the channel is full. `prefix` goes in
/// front of the first chunk (the byte order mark), so it costs no chunk of its own.
struct ChunkWriter {
    tx: mpsc::Sender<Message>,
    prefix: &'static [u8],
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let chunk = if self.prefix.is_empty() {
            Bytes::copy_from_slice(buf)
        } else {
            let mut first = Vec::with_capacity(self.prefix.len() + buf.len());
            first.extend_from_slice(std::mem::take(&mut self.prefix));
            first.extend_from_slice(buf);
            Bytes::from(first)
        };
        self.tx
            .blocking_send(Message::Chunk(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client closed the download"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl ChunkWriter {
    /// Sends the prefix if nothing was written yet.
    fn flush_prefix(&mut self) -> io::Result<()> {
        if self.prefix.is_empty() {
            return Ok(());
        }
        let prefix = std::mem::take(&mut self.prefix);
        self.tx
            .blocking_send(Message::Chunk(Bytes::from_static(prefix)))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client closed the download"))
    }
}

/// A CSV download named `file_name`, produced by `produce` with `conn` (taken from the
/// pool before the answer starts, so a busy pool is an error page, not a broken file). The
/// file starts with [`UTF8_BOM`].
pub fn csv<F>(conn: PooledConn, file_name: &str, produce: F) -> HttpResponse
where
    F: FnOnce(&mut DbConnection, &mut dyn Write) -> Result<u64, AppError> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
    let name = file_name.to_owned();
    actix_web::rt::task::spawn_blocking(move || {
        let mut conn = conn;
        let mut out = ChunkWriter { tx: tx.clone(), prefix: UTF8_BOM };
        match produce(&mut conn, &mut out).and_then(|rows| {
            // A file without a row still gets its mark.
            out.flush_prefix().map_err(|e| AppError::internal(anyhow::Error::from(e)))?;
            Ok(rows)
        }) {
            Ok(rows) => {
                tracing::debug!(file = %name, rows, "export sent");
                let _ = tx.blocking_send(Message::Done);
            }
            Err(_) if tx.is_closed() => tracing::info!(file = %name, "export stopped: the client went away"),
            Err(err) => {
                tracing::error!(file = %name, error = %format!("{err:#}"), "export failed part way");
                let _ = tx.blocking_send(Message::Failed(io::Error::other("the export failed")));
            }
        }
    });
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(file_name.to_owned())],
        })
        .insert_header(CacheControl(vec![CacheDirective::NoStore]))
        .body(ChannelBody { rx, finished: false })
}

/// Takes a connection from the pool and runs `check` with it on the blocking pool (the
/// guard and validation of an export), handing back the connection for the producer.
pub async fn checked<T, F>(pool: &crate::db::Pool, check: F) -> Result<(PooledConn, T), AppError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        let found = check(&mut conn)?;
        Ok((conn, found))
    })
    .await?
}
