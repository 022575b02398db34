//! Admin pages: the directory, access review administration, the audit log, the outbox
//! and the CSV exports. Every handler is guarded by its extractor type from
//! [`crate::web::guard`]: [`Admin`](crate::web::guard::Admin) for the directory, the audit
//! log and the outbox, [`ReviewManager`](crate::web::guard::ReviewManager) for access
//! reviews (admins, and owners where the tenant allows it), whose tenant settings stay
//! with admins.

pub mod audit;
pub mod directory;
pub mod exports;
pub mod outbox;
pub mod reviews;

use actix_web::web;

use crate::domain::review::FieldError;

/// Field errors as a form template reads them (review forms, the history report, the audit
/// filters).
pub struct FormErrors(pub Vec<FieldError>);

impl FormErrors {
    /// The message for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }

    /// All errors, in form order, for the summary.
    pub fn all(&self) -> &[FieldError] {
        &self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Routes under `/admin`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/users", web::get().to(directory::users))
        .route("/users/{id}", web::get().to(directory::user))
        .route("/groups", web::get().to(directory::groups))
        .route("/groups/{id}", web::get().to(directory::group))
        .route("/applications", web::get().to(directory::apps))
        .route("/applications/{id}", web::get().to(directory::app))
        .route("/roles", web::get().to(directory::roles))
        .route("/roles/{id}", web::get().to(directory::role))
        .route("/directory/sources", web::get().to(directory::sources::list))
        .route("/directory/sources", web::post().to(directory::sources::create))
        .route("/directory/sources/ldap/new", web::get().to(directory::ldap::new_form))
        .route("/directory/sources/ldap/new", web::post().to(directory::ldap::create))
        .route("/directory/sources/{id}", web::get().to(directory::sources::show))
        .route("/directory/sources/{id}/edit", web::get().to(directory::ldap::edit_form))
        .route("/directory/sources/{id}/edit", web::post().to(directory::ldap::update))
        .route("/directory/sources/{id}/test", web::post().to(directory::ldap::test))
        .route("/directory/sources/{id}/sync", web::post().to(directory::ldap::preview))
        .route("/directory/sources/{id}/sync/confirm", web::post().to(directory::ldap::confirm))
        .route("/directory/sources/{id}/tokens", web::post().to(directory::sources::create_token))
        .route("/directory/sources/{id}/tokens/{token}/revoke", web::post().to(directory::sources::revoke))
        .service(
            web::resource("/directory/import")
                .route(web::get().to(directory::import::page))
                .route(web::post().to(directory::import::upload)),
        )
        .route("/directory/import/confirm", web::post().to(directory::import::confirm))
        .route("/directory/import/templates/{file}", web::get().to(directory::import::template))
        .route("/audit", web::get().to(audit::index))
        .route("/audit.csv", web::get().to(audit::csv))
        .route("/outbox", web::get().to(outbox::index))
        .route("/outbox/{id}", web::get().to(outbox::show))
        .route("/outbox/{id}/resend", web::post().to(outbox::resend))
        // Registered before the `/access-reviews` scope, whose `/{id}` would otherwise
        // take "history" for the id of a series.
        .route("/access-reviews/history", web::get().to(exports::history_page))
        .route("/access-reviews/history.csv", web::get().to(exports::history_csv))
        .route("/access-reviews/{id}/instances/{instance}/results.csv", web::get().to(exports::results_csv))
        .service(web::scope("/access-reviews").configure(reviews::routes));
}
