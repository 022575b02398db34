//! Builds the application: database, optional demo data, the HTTP server. `main` and the
//! tests both start attest through [`Application`].

use std::any::Any;
use std::net::{SocketAddr, TcpListener};

use actix_web::body::MessageBody;
use actix_web::dev::{Extensions, Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, HeaderValue};
use actix_web::middleware::{Compress, DefaultHeaders, Next, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::auth::{self, SignInLimiter, oidc::Oidc};
use crate::clock::SharedClock;
use crate::config::{AuthSettings, DatabaseTarget, MailSettings};
use crate::db::{self, Pool};
use crate::demo::{self, DemoOptions};
use crate::store;
use crate::web::errors;
use crate::web::{AppState, routes};
use crate::web::{csrf, guard};

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The database.
    pub database: DatabaseTarget,
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Seed the demo directory if the database is empty.
    pub demo: bool,
    /// Users in the seeded demo directory.
    pub demo_users: u32,
    /// Pool size.
    pub pool_size: u32,
    /// HTTP worker threads (default: one per core).
    pub workers: Option<usize>,
    /// Sign-in and sessions.
    pub auth: AuthSettings,
    /// How often the scheduler ticks; `None` leaves it off (tests drive it themselves).
    pub scheduler_interval: Option<std::time::Duration>,
    /// Mail delivery: without an SMTP server, mails stay in the outbox.
    pub mail: MailSettings,
}

/// A built, bound, not yet running portal.
pub struct Application {
    port: u16,
    server: Server,
    pool: Pool,
}

impl Application {
    /// Connects and migrates the database, seeds the demo directory when asked and the
    /// directory is empty, and binds the listener.
    pub fn build(settings: &Settings, clock: SharedClock) -> anyhow::Result<Self> {
        let pool = db::connect_and_migrate(&settings.database, settings.pool_size)?;
        let mut conn = pool.get().context("cannot take a database connection")?;
        if settings.demo && store::users::count(&mut conn)? == 0 {
            let started = std::time::Instant::now();
            let options = DemoOptions { users: settings.demo_users as usize, ..DemoOptions::default() };
            let counts = demo::seed(&mut conn, &demo::generate(options, clock.now()))?;
            // The demo starts onboarded, with a few reviews in progress.
            demo::seed_reviews(&mut conn, clock.now())
                .map_err(|e| anyhow::anyhow!("seeding demo reviews failed: {e}"))?;
            tracing::info!(
                users = counts.users,
                groups = counts.groups,
                sign_ins = counts.sign_ins,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "seeded the demo directory"
            );
        }
        let directory_name =
            store::settings::get(&mut conn, store::settings::DIRECTORY_NAME)?.unwrap_or_else(|| "Directory".to_owned());
        let session_key = auth::session::load_key(&mut conn, settings.auth.session_key.as_deref())?;
        drop(conn);
        let listener = TcpListener::bind(settings.bind).map_err(|e| {
            anyhow::anyhow!("cannot listen on {}: {e} (is another program using this port? choose another with --bind or ATTEST_BIND)", settings.bind)
        })?;
        let port = listener.local_addr()?.port();
        let auth_settings = settings.auth.clone().listening_on(port);
        let oidc = match &settings.auth.oidc {
            Some(oidc) => Some(Oidc::new(oidc.clone(), clock.clone()).map_err(anyhow::Error::msg)?),
            None => {
                if !settings.demo {
                    tracing::warn!("no identity provider is configured (ATTEST_OIDC_ISSUER): nobody can sign in");
                }
                None
            }
        };

        if let Some(interval) = settings.scheduler_interval {
            crate::scheduler::spawn(pool.clone(), clock.clone(), interval);
        }
        match &settings.mail.smtp {
            Some(smtp) => {
                let sender = crate::notify::Sender::new(smtp, &auth_settings.public_url).map_err(anyhow::Error::msg)?;
                crate::notify::spawn(pool.clone(), clock.clone(), sender, settings.mail.interval);
            }
            None => tracing::info!("no SMTP server is configured (ATTEST_SMTP_HOST): mails wait in the outbox"),
        }
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            clock,
            directory_name,
            demo: settings.demo,
            auth: auth_settings.clone(),
            oidc,
            sign_in_limiter: SignInLimiter::new(settings.auth.sign_in_per_minute),
            directory_counts: std::sync::Mutex::new(None),
            mail_configured: settings.mail.smtp.is_some(),
        });
        let https = auth_settings.public_url.starts_with("https://");
        let api_limiter = web::Data::new(crate::api::ApiLimiter::new(auth_settings.api_per_minute));
        let mut server = HttpServer::new(move || {
            // The SCIM API is a scope of its own, outside the pages' middleware: its
            // clients authenticate each request with a bearer token, keep no session
            // cookie, send no CSRF form token and read JSON errors, not pages.
            let scim = web::scope("/scim/v2").configure(crate::scim::routes);
            // The Graph-compatible API and its token endpoint: bearer tokens, JSON errors,
            // the same reasons to stay outside the pages' middleware.
            let api =
                web::scope("").guard(actix_web::guard::fn_guard(|ctx| crate::api::is_api_path(ctx.head().uri.path())));
            let api = api.configure(crate::api::routes);
            // The pages, listed innermost first: the request id wraps everything, the
            // session is open before identify and CSRF look into it.
            let pages = web::scope("")
                .wrap(from_fn(csrf::verify))
                .wrap(from_fn(errors::frame))
                .wrap(from_fn(guard::identify))
                .wrap(auth::session::middleware(session_key.clone(), &auth_settings))
                .wrap(from_fn(errors::request_id))
                .configure(routes)
                .default_service(web::to(errors::not_found));
            App::new()
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(errors::query_error))
                .app_data(web::PathConfig::default().error_handler(errors::path_error))
                .app_data(web::FormConfig::default().error_handler(errors::form_error))
                // The largest body the CSRF check reads (and a handler may then read again).
                .app_data(web::PayloadConfig::new(errors::MAX_FORM_BYTES))
                .app_data(api_limiter.clone())
                .service(scim)
                .service(api)
                .service(pages)
                .wrap(Compress::default())
                // Outside the request id, so the page that replaces an internal error
                // carries them too.
                .wrap(from_fn(no_store))
                .wrap(security_headers(https))
        })
        .on_connect(no_delay)
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self { port, server: server.run(), pool })
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection pool (tests inspect the database through it).
    pub fn pool(&self) -> Pool {
        self.pool.clone()
    }

    /// Serves until the process is stopped.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Turns Nagle's algorithm off on each accepted connection. A compressed answer leaves in
/// more than one small write, and with Nagle on the last one waits for the client to
/// acknowledge the first; clients that delay their acknowledgements (Python `requests`, many
/// keep-alive HTTP libraries) then wait ~40 ms for every page.
pub fn no_delay(connection: &dyn Any, _: &mut Extensions) {
    if let Some(stream) = connection.downcast_ref::<TcpStream>()
        && let Err(err) = stream.set_nodelay(true)
    {
        tracing::debug!(error = %err, "cannot set TCP_NODELAY on a connection");
    }
}

/// Browser features attest never uses, denied to its pages and anything they might embed.
const PERMISSIONS_POLICY: &str = "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), \
     hid=(), magnetometer=(), microphone=(), midi=(), payment=(), screen-wake-lock=(), serial=(), usb=(), \
     xr-spatial-tracking=()";

/// Headers that every response carries: no inline script, no framing, no sniffing, no
/// powerful browser features, and, when people reach attest over https, a year of
/// Strict-Transport-Security (never over plain http, where it would be ignored or, behind
/// a misconfigured proxy, lock people out).
fn security_headers(https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Permissions-Policy", PERMISSIONS_POLICY));
    if https { headers.add(("Strict-Transport-Security", "max-age=31536000")) } else { headers }
}

/// Marks every answer `Cache-Control: no-store` except static files and the health check:
/// pages, downloads and error pages carry names, access and decisions, which must not stay
/// behind in a shared cache or on a borrowed computer's disk.
async fn no_store(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let cacheable = req.path().starts_with("/static/") || req.path() == "/healthz";
    let mut res = next.call(req).await?;
    if !cacheable {
        res.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn accepted_connections_do_not_wait_for_acknowledgements() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(!accepted.nodelay().unwrap(), "Nagle is on by default");
        // The type actix hands to on_connect for a TCP listener.
        no_delay(&accepted, &mut Extensions::new());
        assert!(accepted.nodelay().unwrap());
        // Anything else (a Unix socket, TLS) is left alone.
        no_delay(&42_u8, &mut Extensions::new());
        drop(client);
    }
}
