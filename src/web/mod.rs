//! The HTML edge: routes, shared state, the page frame, and handlers per area.

pub mod admin;
pub mod errors;
pub mod format;
pub mod home;
pub mod static_files;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use crate::clock::SharedClock;
use crate::db::{DbConnection, Pool};
use crate::error::AppError;

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

/// Which part of the portal a page belongs to, for the navigation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// The landing page.
    Home,
    /// Directory pages.
    Directory,
    /// Anything else (error pages).
    None,
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
}

impl Chrome {
    /// The frame for pages rendered without application state (early errors).
    pub fn bare() -> Self {
        Self { directory_name: Arc::from(""), demo: false, section: Section::None }
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

    /// Whether the directory pages are the current navigation entry.
    pub fn at_directory(&self) -> bool {
        self.section == Section::Directory
    }
}

impl FromRequest for Chrome {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(match req.app_data::<State>() {
            Some(state) => Chrome {
                directory_name: Arc::from(state.directory_name.as_str()),
                demo: state.demo,
                section: Section::None,
            },
            None => Chrome::bare(),
        }))
    }
}

/// All routes of the web portal.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home::index))
        .route("/healthz", web::get().to(home::healthz))
        .route("/static/{file}", web::get().to(static_files::serve))
        .service(web::scope("/admin").configure(admin::routes));
}
