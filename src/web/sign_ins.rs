//! `POST /api/sign-ins`: sign-in events pushed by a script or an identity provider's log
//! export, authenticated by a source's bearer token (never by a session, so the CSRF check
//! does not apply). The body is CSV (`text/csv`) or JSON lines (`application/x-ndjson`,
//! `application/jsonl`, `application/json`); the answer is JSON with the counts.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::State;
use crate::service::{import, sources};

/// The largest body accepted: about a million events of an Entra export.
pub const MAX_BODY_BYTES: usize = 256 * 1024 * 1024;

fn error(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
    }
    res.json(json!({ "error": { "code": code, "message": message } }))
}

/// The bearer token of a request, if it has one.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned()).filter(|t| !t.is_empty())
}

/// `POST /api/sign-ins`.
pub async fn post(state: State, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let Some(token) = bearer(&req) else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Send a source's token as Authorization: Bearer <token>.",
        );
    };
    let now = state.clock.now();
    let client = match state.db(move |conn| sources::authenticate(conn, &token, now)).await {
        Ok(Some(client)) => client,
        Ok(None) => return error(StatusCode::UNAUTHORIZED, "unauthorized", "The token is unknown or revoked."),
        Err(e) => {
            tracing::error!(error = %e, "authenticating a sign-in upload");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The events could not be read; try again.");
        }
    };
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let name = match essence.as_str() {
        "text/csv" => "events.csv",
        "application/x-ndjson" | "application/jsonl" | "application/json" | "application/jsonlines" => "events.jsonl",
        _ => {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupportedMediaType",
                "Send the events as text/csv or as JSON lines (application/x-ndjson).",
            );
        }
    };
    let body = match payload.to_bytes_limited(MAX_BODY_BYTES).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payloadTooLarge",
                &format!("Send at most {} MiB at once: split the events.", MAX_BODY_BYTES / (1024 * 1024)),
            );
        }
        Err(_) => return error(StatusCode::BAD_REQUEST, "badRequest", "The body could not be read."),
    };
    let source = client.source.name.clone();
    let result = state
        .db(move |conn| {
            let file = import::SignInFile { name: name.to_owned(), read: Box::new(std::io::Cursor::new(body)) };
            Ok(import::import_sign_ins(conn, vec![file]))
        })
        .await;
    match result {
        Ok(Ok(r)) => {
            tracing::info!(source = %source, imported = r.imported, "sign-in events received");
            HttpResponse::Ok().json(r)
        }
        Ok(Err(import::ImportError::Invalid { problems, total })) => {
            let details: Vec<String> = problems.iter().map(ToString::to_string).collect();
            HttpResponse::BadRequest().json(json!({ "error": {
                "code": "badRequest",
                "message": format!("Nothing was imported: {total} line(s) cannot be used."),
                "details": details,
            } }))
        }
        Ok(Err(e @ import::ImportError::Stale)) => error(StatusCode::CONFLICT, "conflict", &e.to_string()),
        Ok(Err(import::ImportError::App(e))) | Err(e) => {
            tracing::error!(error = %e, "importing sign-in events");
            error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "The events could not be imported; try again.")
        }
    }
}
