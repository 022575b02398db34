//! The HTML edge: routes, shared state, the page frame, and handlers per area.
//!
//! A handler extracts its input, is guarded by an extractor type ([`guard`]), makes one
//! service call and renders a template. Every read a page needs goes through a function
//! in `service/` (the JSON edge calls the same ones); nothing here imports `store/`, and
//! the rows a page shows are named through `service::rows`.

pub mod admin;
pub mod api_access;
pub mod auth;
pub mod client;
pub mod csrf;
pub mod delegation;
pub mod errors;
pub mod format;
pub mod guard;
pub mod home;
pub mod pager;
pub mod panel;
pub mod sign_ins;
pub mod static_files;
pub mod stream;

use std::sync::Arc;

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};

use crate::auth::SignInLimiter;
use crate::auth::oidc::Oidc;
use crate::clock::SharedClock;
use crate::config::AuthSettings;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;
use guard::Identity;

/// What every handler can reach.
pub struct AppState {
    /// Database connections.
    pub pool: Pool,
    /// The time source.
    pub clock: SharedClock,
    /// The directory's display name, shown in the header.
    pub directory_name: String,
    /// Whether the portal runs as a demo.
    pub demo: bool,
    /// Sign-in and session settings.
    pub auth: AuthSettings,
    /// The identity provider, when configured.
    pub oidc: Option<Arc<Oidc>>,
    /// Rate limit of sign-in attempts.
    pub sign_in_limiter: SignInLimiter,
    /// The admin panel's directory totals and when they were counted.
    pub directory_counts: std::sync::Mutex<Option<(std::time::Instant, crate::service::directory::Totals)>>,
    /// Whether an SMTP server is configured (the outbox page says so when not).
    pub mail_configured: bool,
}

/// Shared state as handlers extract it.
pub type State = web::Data<AppState>;

impl AppState {
    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, F>(&self, work: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            work(&mut conn)
        })
        .await?
    }
}

/// Session entry holding the message to show on the next page.
const FLASH_KEY: &str = "flash";

/// Session entry holding a refusal to show on the next page.
const FLASH_ERROR_KEY: &str = "flash_error";

/// Leaves a message for the next page ("You have signed out").
pub fn flash(session: &Session, message: &str) {
    let _ = session.insert(FLASH_KEY, message);
}

/// Leaves a message for the next page saying why an action was refused.
pub fn flash_error(session: &Session, message: &str) {
    let _ = session.insert(FLASH_ERROR_KEY, message);
}

/// Which part of the portal a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The access panel ("My access reviews").
    Home,
    /// Directory pages.
    Directory,
    /// Access review administration.
    Reviews,
    /// The audit log.
    Audit,
    /// The mail outbox.
    Outbox,
    /// Anything else (error pages).
    None,
}

/// The signed-in person as the header shows them.
#[derive(Debug, Clone)]
pub struct ChromeUser {
    /// Display name.
    pub display_name: String,
    /// User principal name.
    pub upn: String,
    /// Sees the admin navigation.
    pub is_admin: bool,
    /// Manages reviews of what they own.
    pub is_owner_manager: bool,
}

/// The page frame's data: what the header and navigation show.
#[derive(Debug, Clone)]
pub struct Chrome {
    /// The directory's name.
    pub directory_name: Arc<str>,
    /// Whether to show the demo marker.
    pub demo: bool,
    /// The current section.
    pub section: Section,
    /// The signed-in person, if any.
    pub user: Option<ChromeUser>,
    /// The session's CSRF token, for the forms on the page.
    pub csrf: String,
    /// A message left by the previous action.
    pub flash: Option<String>,
    /// Why the previous action was refused.
    pub flash_error: Option<String>,
}

impl Chrome {
    /// The frame for pages rendered without application state (early errors).
    pub fn bare() -> Self {
        Self {
            directory_name: Arc::from(""),
            demo: false,
            section: Section::None,
            user: None,
            csrf: String::new(),
            flash: None,
            flash_error: None,
        }
    }

    /// Whether the signed-in person sees the admin navigation.
    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin)
    }

    /// Whether the signed-in person sees the access review administration.
    pub fn manages_reviews(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.is_admin || u.is_owner_manager)
    }

    /// The same frame, for a page in `section`.
    pub fn in_section(mut self, section: Section) -> Self {
        self.section = section;
        self
    }

    /// Whether the landing page is the current navigation entry.
    pub fn at_home(&self) -> bool {
        self.section == Section::Home
    }

    /// Whether the access review pages are the current navigation entry.
    pub fn at_reviews(&self) -> bool {
        self.section == Section::Reviews
    }

    /// Whether the audit log is the current navigation entry.
    pub fn at_audit(&self) -> bool {
        self.section == Section::Audit
    }

    /// Whether the outbox is the current navigation entry.
    pub fn at_outbox(&self) -> bool {
        self.section == Section::Outbox
    }

    /// Whether the directory pages are the current navigation entry.
    pub fn at_directory(&self) -> bool {
        self.section == Section::Directory
    }
}

impl FromRequest for Chrome {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(state) = req.app_data::<State>() else { return std::future::ready(Ok(Chrome::bare())) };
        let session = req.get_session();
        let user = req.extensions().get::<Identity>().map(|id| ChromeUser {
            display_name: id.user.display_name.clone(),
            upn: id.user.upn.clone(),
            is_admin: id.is_admin,
            is_owner_manager: id.is_owner_manager,
        });
        std::future::ready(Ok(Chrome {
            directory_name: Arc::from(state.directory_name.as_str()),
            demo: state.demo,
            section: Section::None,
            user,
            csrf: csrf::token(&session),
            flash: take(&session, FLASH_KEY),
            flash_error: take(&session, FLASH_ERROR_KEY),
        }))
    }
}

/// Removes and returns a one-time message. Only touches the session when there is one:
/// removing marks the session changed, and a changed session is encrypted and sent again.
fn take(session: &Session, key: &str) -> Option<String> {
    session.get::<String>(key).ok().flatten()?;
    session.remove_as::<String>(key).and_then(Result::ok)
}

/// All routes of the web portal.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .route("/healthz", web::get().to(home::healthz))
        .route("/reviews/{id}", web::get().to(panel::review))
        .route("/reviews/{id}", web::post().to(panel::decide))
        .route("/reviews/{id}/items/{item}", web::get().to(panel::item))
        .route("/reviews/{id}/for/{for}", web::get().to(panel::review))
        .route("/reviews/{id}/for/{for}", web::post().to(panel::decide))
        .route("/reviews/{id}/for/{for}/items/{item}", web::get().to(panel::item))
        .route("/delegation", web::get().to(delegation::page))
        .route("/delegation", web::post().to(delegation::create))
        .route("/delegation/{id}/end", web::post().to(delegation::end))
        .route("/static/{file}", web::get().to(static_files::serve))
        .route("/api/sign-ins", web::post().to(sign_ins::post))
        .route("/tokens", web::get().to(api_access::tokens))
        .route("/tokens", web::post().to(api_access::create_token))
        .route("/tokens/{id}/revoke", web::post().to(api_access::revoke_token))
        // Before the `/admin` scope, which would otherwise take these paths.
        .route("/admin/api-clients", web::get().to(api_access::clients))
        .route("/admin/api-clients", web::post().to(api_access::create_client))
        .route("/admin/api-clients/{id}/revoke", web::post().to(api_access::revoke_client))
        .service(web::scope("/auth").configure(auth::routes))
        .service(web::scope("/admin").configure(admin::routes));
}
