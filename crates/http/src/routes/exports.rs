//! The customer's export (P1): a single-use, 24-hour download link made by the customer
//! (`POST /v1/account/exports`) or by the DPO for them (`POST /v1/customers/{id}/exports`),
//! and the download itself (`GET /v1/account/exports/{token}`, the same customer signed in):
//! a ZIP streamed while it is produced, through a bounded channel, so the whole archive is
//! never held in memory.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, HeaderMap};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use custodian_core::access::Principal;
use custodian_core::error::{ApiError, ErrorCode};
use custodian_core::ids::{CustomerId, RequestId};
use custodian_core::rights::export::ExportError;
use custodian_core::rights::export_zip::{ChunkOut, ZipSink, export_file_name};
use custodian_core::vault::{ExportLink, RequestContext};
use custodian_policy::Lang;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::AppState;
use crate::auth::{Caller, CustomerCaller};
use crate::error::HttpError;
use crate::negotiate::request_lang;
use crate::request::CustomerPath;
use crate::routes::customers::request_id;

/// Chunks of the archive in flight between the export and the connection.
const CHANNEL_CHUNKS: usize = 8;

#[derive(Debug, Serialize)]
pub struct Issued {
    /// Where the customer downloads it, signed in. Single use.
    url: String,
    expires_at: Timestamp,
}

#[derive(Debug, Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct IssueQuery {
    /// The request the export answers, when the DPO makes it for one.
    request: Option<String>,
}

fn context(principal: Principal, headers: &HeaderMap) -> RequestContext {
    RequestContext {
        principal,
        purpose: String::new(),
        request_id: request_id(headers),
    }
}

fn issued(link: ExportLink) -> Response {
    let body = Issued {
        url: download_path(&link.token),
        expires_at: link.expires_at,
    };
    let mut response = (StatusCode::CREATED, Json(body)).into_response();
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `POST /v1/account/exports`: the customer asks for a download link to their own data.
pub async fn own_issue(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let ctx = context(customer.session.principal.clone(), &headers);
    let link = state
        .vault
        .issue_export_link(&ctx, &customer.session.customer, None)
        .await?;
    Ok(issued(link))
}

/// `POST /v1/customers/{id}/exports[?request=<id>]`: the DPO (`requests.manage`) makes a link
/// for the customer, who downloads it signed in.
pub async fn issue_for(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    CustomerPath(id): CustomerPath,
    Query(query): Query<IssueQuery>,
) -> Result<Response, HttpError> {
    let request = match query.request.as_deref() {
        None => None,
        Some(raw) => Some(RequestId::parse(raw).ok_or_else(|| {
            HttpError(
                ApiError::new(ErrorCode::RequestNotFound, "no request has this id")
                    .with_field("request"),
            )
        })?),
    };
    let ctx = context(caller.0, &headers);
    let link = state
        .vault
        .issue_export_link(&ctx, &id, request.as_ref())
        .await?;
    Ok(issued(link))
}

/// The connection's end of the archive.
struct ChannelOut(mpsc::Sender<Result<Bytes, std::io::Error>>);

#[async_trait::async_trait]
impl ChunkOut for ChannelOut {
    async fn send(&mut self, chunk: Vec<u8>) -> std::io::Result<()> {
        self.0
            .send(Ok(Bytes::from(chunk)))
            .await
            .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe))
    }
}

/// `GET /v1/account/exports/{token}[?lang=vi|en]`: the download, once, by the customer the
/// link was made for.
pub async fn download(
    State(state): State<AppState>,
    customer: CustomerCaller,
    headers: HeaderMap,
    Path(token): Path<String>,
    Query(query): Query<LangQuery>,
) -> Result<Response, HttpError> {
    let lang = request_lang(query.lang.as_deref(), &headers)?;
    let ctx = context(customer.session.principal.clone(), &headers);
    stream_export(&state, ctx, &token, lang).await
}

/// Redeems a download link for the context's customer and streams their export as a ZIP:
/// produced by a spawned task into a bounded channel, sent as it is made (the API's download
/// and the privacy centre's).
pub async fn stream_export(
    state: &AppState,
    ctx: RequestContext,
    token: &str,
    lang: Lang,
) -> Result<Response, HttpError> {
    let owner: CustomerId = state.vault.redeem_export_link(&ctx, token).await?;
    let file_name = export_file_name(state.clock.now());
    let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
    let vault = state.vault.clone();
    tokio::spawn(async move {
        let failed = tx.clone();
        let mut sink = ZipSink::new(ChannelOut(tx));
        match vault.export(&ctx, &owner, lang, &mut sink).await {
            Ok(_) => {}
            Err(ExportError::Sink(e)) => {
                tracing::info!(kind = ?e.kind(), "an export download stopped: the client left");
            }
            Err(ExportError::Vault(e)) => {
                tracing::error!(error = %e, "an export failed while streaming");
                // The client sees a broken body, never a complete-looking archive.
                let _ = failed
                    .send(Err(std::io::Error::other("the export failed")))
                    .await;
            }
        }
    });
    let body = Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/zip"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        h.insert(CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// Where the customer downloads the export a link was made for (signed in).
pub fn download_path(token: &custodian_crypto::ExportToken) -> String {
    format!("/v1/account/exports/{}", token.expose())
}
