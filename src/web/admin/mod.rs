//! Admin pages. (Sign-in and the admin guard arrive with authentication; every handler
//! here already takes its data through extractors, so a guard extractor slots in.)

pub mod audit;
pub mod directory;
pub mod exports;
pub mod outbox;
pub mod reviews;

use actix_web::web;

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
