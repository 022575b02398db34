//! The stylesheet and scripts, compiled into the binary so the portal runs from any
//! directory and needs no CDN.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::error::AppError;

/// (name, content type, bytes) of every file under `static/`.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../static/app.css")),
    ("ldap-form.js", "text/javascript; charset=utf-8", include_bytes!("../../static/ldap-form.js")),
    ("panel.js", "text/javascript; charset=utf-8", include_bytes!("../../static/panel.js")),
    ("picker.js", "text/javascript; charset=utf-8", include_bytes!("../../static/picker.js")),
];

/// Serves one static file.
pub async fn serve(file: web::Path<String>) -> Result<HttpResponse, AppError> {
    let (_, content_type, bytes) = FILES
        .iter()
        .find(|(name, _, _)| *name == file.as_str())
        .ok_or_else(|| AppError::NotFound("There is no such file.".into()))?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, *content_type))
        // Small and rarely changed; an hour keeps pages quick without stale styles for long.
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(*bytes))
}
