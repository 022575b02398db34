//! The SCIM 2.0 edge (`/scim/v2`): the service provider that identity providers (Entra ID,
//! Okta, …) provision users and groups into.
//!
//! A handler authenticates the bearer token ([`ScimClient`]), reads the query string and a
//! bounded JSON body, makes one service call and answers `application/scim+json`: the
//! resource with its `ETag` (and `Location` on 201), or an RFC 7644 §3.12 error. This
//! scope sits outside the web pages' middleware: no session cookie, no CSRF form token
//! (the bearer token is the proof), no HTML error frame. Nothing here logs a request's
//! headers, so a token never reaches a log.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::web;
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError};
use futures_core::Stream;
use serde_json::Value;

use crate::domain::source::SourceKind;
use crate::error::AppError;
use crate::service::scim::{self as service, Client, Query, Resource, ScimFault};
use crate::service::sources::{self, Authenticated};
use crate::sources::scim::{ResourceType, Schema, ScimError, discovery};
use crate::web::State;

/// The largest request body accepted: a PATCH or PUT of a group with 100,000 member
/// values, each with its type and display name, fits.
pub const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;

/// The content type of every answer.
const SCIM_JSON: &str = "application/scim+json";

/// The routes below `/scim/v2`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/Users/.search").route(web::post().to(search_users)).default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/Groups/.search").route(web::post().to(search_groups)).default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/Users")
            .route(web::get().to(list_users))
            .route(web::post().to(create_user))
            .default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/Users/{id}")
            .route(web::get().to(get_user))
            .route(web::put().to(replace_user))
            .route(web::patch().to(patch_user))
            .route(web::delete().to(delete_user))
            .default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/Groups")
            .route(web::get().to(list_groups))
            .route(web::post().to(create_group))
            .default_service(web::to(not_allowed)),
    )
    .service(
        web::resource("/Groups/{id}")
            .route(web::get().to(get_group))
            .route(web::put().to(replace_group))
            .route(web::patch().to(patch_group))
            .route(web::delete().to(delete_group))
            .default_service(web::to(not_allowed)),
    )
    // A search across resource types at once (RFC 7644 §3.4.3 at the root) is optional;
    // 501 says so, as §3.12 asks for an operation not supported.
    .service(web::resource("/.search").default_service(web::to(search_everywhere)))
    // Discovery is read-only: other methods are 405, not 404.
    .service(read_only("/ServiceProviderConfig", web::get().to(service_provider_config)))
    .service(read_only("/ResourceTypes", web::get().to(resource_types)))
    .service(read_only("/ResourceTypes/{name}", web::get().to(resource_type)))
    .service(read_only("/Schemas", web::get().to(schemas)))
    .service(read_only("/Schemas/{id}", web::get().to(schema)))
    .default_service(web::to(no_such_endpoint));
}

// ---------------------------------------------------------------------------------------
// Authentication
// ---------------------------------------------------------------------------------------

/// The client of a SCIM source, as its bearer token identifies it. Requests without a
/// valid token are answered 401 (with `WWW-Authenticate: Bearer`) before any handler runs;
/// a token of a source that is not a SCIM connection, 403.
pub struct ScimClient(pub Authenticated);

/// A refusal before a handler runs, answered as a SCIM error.
#[derive(Debug)]
pub struct Refusal(ScimError);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl ResponseError for Refusal {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::BAD_REQUEST)
    }

    fn error_response(&self) -> HttpResponse {
        scim_error(&self.0)
    }
}

impl FromRequest for ScimClient {
    type Error = Refusal;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Refusal>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<State>().cloned();
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim().to_owned())
            .filter(|token| !token.is_empty());
        Box::pin(async move {
            let Some(bearer) = bearer else {
                return Err(Refusal(ScimError::with_status(
                    401,
                    "Send the SCIM connection's secret token as 'Authorization: Bearer <token>'. An attest administrator creates it (attest scim-token create --source NAME).",
                )));
            };
            let Some(state) = state else {
                return Err(Refusal(ScimError::with_status(500, "attest is not set up to serve SCIM.")));
            };
            let now = state.clock.now();
            let found = state.db(move |conn| sources::authenticate(conn, &bearer, now)).await.map_err(|err| {
                tracing::error!(cause = %err, "authenticating a SCIM client failed");
                Refusal(ScimError::with_status(500, "attest could not check the token; try again later."))
            })?;
            match found {
                None => Err(Refusal(ScimError::with_status(
                    401,
                    "This token is not valid: it is unknown or was revoked. Ask an attest administrator for a new one.",
                ))),
                Some(client) if client.source.kind != SourceKind::Scim => Err(Refusal(ScimError::with_status(
                    403,
                    format!(
                        "This token belongs to the {} source \"{}\", not to a SCIM connection.",
                        client.source.kind.label(),
                        client.source.name
                    ),
                ))),
                Some(client) => Ok(ScimClient(client)),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------
// Answers
// ---------------------------------------------------------------------------------------

fn scim_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type(SCIM_JSON).body(body.to_string())
}

fn scim_error(err: &ScimError) -> HttpResponse {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::BAD_REQUEST);
    let mut res = HttpResponse::build(status);
    res.content_type(SCIM_JSON);
    if status == StatusCode::UNAUTHORIZED {
        res.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"attest SCIM\""));
    }
    res.body(err.to_json().to_string())
}

fn fault(fault: ScimFault) -> HttpResponse {
    match fault {
        ScimFault::Scim(err) => scim_error(&err),
        ScimFault::App(err) => app_error(err),
    }
}

/// An [`AppError`] as a SCIM error; internal ones are logged with an id and shown as that
/// id only.
fn app_error(err: AppError) -> HttpResponse {
    let scim = match err {
        AppError::NotFound(message) => ScimError::with_status(404, message),
        AppError::BadRequest(message) => ScimError::invalid_value(message),
        AppError::Conflict(message) => ScimError::with_status(409, message),
        AppError::Forbidden => ScimError::with_status(403, "This client may not do this."),
        AppError::SignInRequired(_) => ScimError::with_status(401, "Send the SCIM connection's bearer token."),
        AppError::TooManyRequests => ScimError::with_status(429, "Too many requests; wait a minute, then try again."),
        AppError::Internal(cause) => {
            let id = uuid::Uuid::new_v4().simple().to_string()[..12].to_owned();
            tracing::error!(request_id = %id, cause = %cause, "internal error in a SCIM request");
            ScimError::with_status(
                500,
                format!(
                    "attest could not carry out the request (error id {id}); nothing was changed. Try again later."
                ),
            )
        }
    };
    scim_error(&scim)
}

fn resource(status: StatusCode, resource: &Resource, location: bool) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.content_type(SCIM_JSON);
    res.insert_header((header::ETAG, crate::sources::scim::etag(&resource.version)));
    if location && let Some(url) = resource.body.pointer("/meta/location").and_then(Value::as_str) {
        res.insert_header((header::LOCATION, url.to_owned()));
    }
    res.body(resource.body.to_string())
}

fn read_only(path: &str, get: actix_web::Route) -> actix_web::Resource {
    web::resource(path).route(get).default_service(web::to(not_allowed))
}

async fn not_allowed(req: HttpRequest) -> HttpResponse {
    let err = ScimError::with_status(405, format!("{} is not supported on {}.", req.method(), req.path()));
    scim_error(&err)
}

async fn search_everywhere() -> HttpResponse {
    scim_error(&ScimError::with_status(
        501,
        "Searching several resource types at once is not supported: POST to /Users/.search or /Groups/.search.",
    ))
}

async fn no_such_endpoint() -> HttpResponse {
    scim_error(&ScimError::with_status(
        404,
        "No such SCIM endpoint: attest serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas.",
    ))
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

fn base_url(state: &State) -> String {
    format!("{}/scim/v2", state.auth.public_url.trim_end_matches('/'))
}

/// The list and read parameters of the query string (names compared ignoring case).
fn query_of(req: &HttpRequest) -> Query {
    let mut query = Query::default();
    for (key, value) in openidconnect::url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let slot = match key.to_ascii_lowercase().as_str() {
            "filter" => &mut query.filter,
            "startindex" => &mut query.start_index,
            "count" => &mut query.count,
            "attributes" => &mut query.attributes,
            "excludedattributes" => &mut query.excluded_attributes,
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    query
}

fn if_match(req: &HttpRequest) -> Option<String> {
    req.headers().get(header::IF_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Reads a JSON body of at most [`MAX_BODY_BYTES`]: 413 when larger, 415 when it says it
/// is not JSON, `invalidSyntax` when it does not parse.
async fn read_json(req: &HttpRequest, mut payload: web::Payload) -> Result<Value, ScimError> {
    let too_large = || {
        ScimError::with_status(
            413,
            format!(
                "The body is larger than {} MiB. Send fewer members in one request.",
                MAX_BODY_BYTES / (1024 * 1024)
            ),
        )
    };
    if let Some(kind) = req.headers().get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or_default().to_ascii_lowercase();
        if !kind.contains("json") {
            return Err(ScimError::with_status(415, "Send the body as application/scim+json (or application/json)."));
        }
    }
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    // A body over the limit is still read (up to twice the limit) and dropped, so the
    // client, still sending, hears the 413 instead of a connection reset.
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(0).min(MAX_BODY_BYTES));
    let mut seen = 0_usize;
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|_| ScimError::invalid_syntax("The body could not be read completely."))?;
        seen = seen.saturating_add(chunk.len());
        if seen > MAX_BODY_BYTES.saturating_mul(2) {
            break;
        }
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY_BYTES || declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    serde_json::from_slice(&body).map_err(|err| {
        ScimError::invalid_syntax(format!(
            "The body is not valid JSON (line {}, column {}): send a SCIM resource or PATCH message.",
            err.line(),
            err.column()
        ))
    })
}

/// Runs one service call with a pooled connection on the blocking pool.
async fn call<T, F>(state: &State, work: F) -> Result<T, ScimFault>
where
    F: FnOnce(&mut crate::db::DbConnection) -> Result<T, ScimFault> + Send + 'static,
    T: Send + 'static,
{
    match state.db(move |conn| Ok(work(conn))).await {
        Ok(result) => result,
        Err(err) => Err(ScimFault::App(err)),
    }
}

fn id_of(req: &HttpRequest) -> String {
    req.match_info().get("id").unwrap_or_default().to_owned()
}

// ---------------------------------------------------------------------------------------
// Users
// ---------------------------------------------------------------------------------------

async fn list_users(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (query, base) = (query_of(&req), base_url(&state));
    let auth = client.0;
    match call(&state, move |conn| service::list_users(conn, Client { auth: &auth, base_url: &base }, &query)).await {
        Ok(body) => scim_json(StatusCode::OK, &body),
        Err(err) => fault(err),
    }
}

async fn search_users(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let query = match read_json(&req, payload).await.and_then(|body| Query::from_search_request(&body)) {
        Ok(query) => query,
        Err(err) => return scim_error(&err),
    };
    let (base, auth) = (base_url(&state), client.0);
    match call(&state, move |conn| service::list_users(conn, Client { auth: &auth, base_url: &base }, &query)).await {
        Ok(body) => scim_json(StatusCode::OK, &body),
        Err(err) => fault(err),
    }
}

async fn get_user(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (query, base, id) = (query_of(&req), base_url(&state), id_of(&req));
    let auth = client.0;
    let result =
        call(&state, move |conn| service::get_user(conn, Client { auth: &auth, base_url: &base }, &id, &query));
    match result.await {
        Ok(found) => resource(StatusCode::OK, &found, false),
        Err(err) => fault(err),
    }
}

async fn create_user(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth) = (base_url(&state), state.clock.now(), client.0);
    let result =
        call(&state, move |conn| service::create_user(conn, Client { auth: &auth, base_url: &base }, &body, now));
    match result.await {
        Ok(created) => resource(StatusCode::CREATED, &created, true),
        Err(err) => fault(err),
    }
}

async fn replace_user(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::replace_user(conn, Client { auth: &auth, base_url: &base }, &id, &body, tag.as_deref(), now)
    });
    match result.await {
        Ok(user) => resource(StatusCode::OK, &user, false),
        Err(err) => fault(err),
    }
}

async fn patch_user(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::patch_user(conn, Client { auth: &auth, base_url: &base }, &id, &body, tag.as_deref(), now)
    });
    match result.await {
        Ok(user) => resource(StatusCode::OK, &user, false),
        Err(err) => fault(err),
    }
}

async fn delete_user(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::delete_user(conn, Client { auth: &auth, base_url: &base }, &id, tag.as_deref(), now)
    });
    match result.await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(err) => fault(err),
    }
}

// ---------------------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------------------

async fn list_groups(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (query, base) = (query_of(&req), base_url(&state));
    let auth = client.0;
    match call(&state, move |conn| service::list_groups(conn, Client { auth: &auth, base_url: &base }, &query)).await {
        Ok(body) => scim_json(StatusCode::OK, &body),
        Err(err) => fault(err),
    }
}

async fn search_groups(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let query = match read_json(&req, payload).await.and_then(|body| Query::from_search_request(&body)) {
        Ok(query) => query,
        Err(err) => return scim_error(&err),
    };
    let (base, auth) = (base_url(&state), client.0);
    match call(&state, move |conn| service::list_groups(conn, Client { auth: &auth, base_url: &base }, &query)).await {
        Ok(body) => scim_json(StatusCode::OK, &body),
        Err(err) => fault(err),
    }
}

async fn get_group(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (query, base, id) = (query_of(&req), base_url(&state), id_of(&req));
    let auth = client.0;
    let result =
        call(&state, move |conn| service::get_group(conn, Client { auth: &auth, base_url: &base }, &id, &query));
    match result.await {
        Ok(found) => resource(StatusCode::OK, &found, false),
        Err(err) => fault(err),
    }
}

async fn create_group(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth) = (base_url(&state), state.clock.now(), client.0);
    let result =
        call(&state, move |conn| service::create_group(conn, Client { auth: &auth, base_url: &base }, &body, now));
    match result.await {
        Ok(created) => resource(StatusCode::CREATED, &created, true),
        Err(err) => fault(err),
    }
}

async fn replace_group(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::replace_group(conn, Client { auth: &auth, base_url: &base }, &id, &body, tag.as_deref(), now)
    });
    match result.await {
        Ok(group) => resource(StatusCode::OK, &group, false),
        Err(err) => fault(err),
    }
}

async fn patch_group(state: State, client: ScimClient, req: HttpRequest, payload: web::Payload) -> HttpResponse {
    let body = match read_json(&req, payload).await {
        Ok(body) => body,
        Err(err) => return scim_error(&err),
    };
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::patch_group(conn, Client { auth: &auth, base_url: &base }, &id, &body, tag.as_deref(), now)
    });
    match result.await {
        Ok(version) => {
            HttpResponse::NoContent().insert_header((header::ETAG, crate::sources::scim::etag(&version))).finish()
        }
        Err(err) => fault(err),
    }
}

async fn delete_group(state: State, client: ScimClient, req: HttpRequest) -> HttpResponse {
    let (base, now, auth, id, tag) = (base_url(&state), state.clock.now(), client.0, id_of(&req), if_match(&req));
    let result = call(&state, move |conn| {
        service::delete_group(conn, Client { auth: &auth, base_url: &base }, &id, tag.as_deref(), now)
    });
    match result.await {
        Ok(()) => HttpResponse::NoContent().finish(),
        Err(err) => fault(err),
    }
}

// ---------------------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------------------

async fn service_provider_config(state: State, _client: ScimClient) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::service_provider_config(&base_url(&state)))
}

async fn resource_types(state: State, _client: ScimClient) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::resource_types(&base_url(&state)))
}

async fn resource_type(state: State, _client: ScimClient, req: HttpRequest) -> HttpResponse {
    let name = req.match_info().get("name").unwrap_or_default();
    match ResourceType::ALL.into_iter().find(|r| r.name().eq_ignore_ascii_case(name)) {
        Some(found) => scim_json(StatusCode::OK, &discovery::resource_type(found, &base_url(&state))),
        None => scim_error(&ScimError::with_status(404, "attest serves the resource types User and Group.")),
    }
}

async fn schemas(state: State, _client: ScimClient) -> HttpResponse {
    scim_json(StatusCode::OK, &discovery::schemas(&base_url(&state)))
}

async fn schema(state: State, _client: ScimClient, req: HttpRequest) -> HttpResponse {
    let id = req.match_info().get("id").unwrap_or_default();
    match Schema::from_urn(id) {
        Some(found) => scim_json(StatusCode::OK, &discovery::schema(found, &base_url(&state))),
        None => scim_error(&ScimError::with_status(
            404,
            "attest serves the User, Enterprise User and Group schemas, named by their URN.",
        )),
    }
}
