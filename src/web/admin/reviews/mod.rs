//! Access review administration, under `/admin/access-reviews`. Admins, and owners while
//! the tenant lets owners manage reviews of their resources ([`ReviewManager`]), work with:
//!
//! - series ([`definitions`]): `GET ""` the list; `GET|POST /new` the create form (its
//!   POST also runs the pickers' searches without JavaScript); `GET /directory` the
//!   pickers' search as JSON; `GET /{id}` a series' page; `GET|POST /{id}/edit`;
//!   `GET|POST /{id}/delete`;
//! - occurrences ([`instances`]): `GET /{id}/instances/{instance}` the results page;
//!   `GET|POST …/stop` and `…/reset` (a confirmation page, then the action);
//!   `POST …/remind`; `POST …/reassign` (admins); `GET|POST …/apply` (the preview, then applying the denials);
//!   `GET …/remediation` and `…/remediation.csv` ([`remediation`]): the removals push
//!   sources must make;
//! - the tenant ([`settings`], admins only): `GET|POST /onboard` turns access reviews on;
//!   `GET|POST /settings` the tenant's access review settings.
//!
//! [`ReviewManager`]: crate::web::guard::ReviewManager

mod definitions;
mod instances;
mod remediation;
mod settings;

use actix_web::web;

use definitions::{create, delete, delete_page, edit, edit_page, index, new_page, search, show};
pub use instances::{ReviewerLine, ReviewerTable};
use instances::{apply_denials, apply_page, reassign, remind, reset, reset_page, results, stop, stop_page, stop_stage};
pub use remediation::RemediationPanel;
use settings::{onboard, onboard_page, save_remediation, save_settings, settings_page};

/// Routes under `/admin/access-reviews`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("", web::get().to(index))
        .route("/onboard", web::get().to(onboard_page))
        .route("/onboard", web::post().to(onboard))
        .route("/settings", web::get().to(settings_page))
        .route("/settings", web::post().to(save_settings))
        .route("/settings/remediation", web::post().to(save_remediation))
        .route("/new", web::get().to(new_page))
        .route("/new", web::post().to(create))
        .route("/directory", web::get().to(search))
        .route("/{id}", web::get().to(show))
        .route("/{id}/edit", web::get().to(edit_page))
        .route("/{id}/edit", web::post().to(edit))
        .route("/{id}/delete", web::get().to(delete_page))
        .route("/{id}/delete", web::post().to(delete))
        .route("/{id}/instances/{instance}", web::get().to(results))
        .route("/{id}/instances/{instance}/stop", web::get().to(stop_page))
        .route("/{id}/instances/{instance}/stop", web::post().to(stop))
        .route("/{id}/instances/{instance}/stop-stage", web::post().to(stop_stage))
        .route("/{id}/instances/{instance}/reset", web::get().to(reset_page))
        .route("/{id}/instances/{instance}/reset", web::post().to(reset))
        .route("/{id}/instances/{instance}/remind", web::post().to(remind))
        .route("/{id}/instances/{instance}/reassign", web::post().to(reassign))
        .route("/{id}/instances/{instance}/apply", web::get().to(apply_page))
        .route("/{id}/instances/{instance}/apply", web::post().to(apply_denials))
        .route("/{id}/instances/{instance}/remediation", web::get().to(remediation::tasks_page))
        .route("/{id}/instances/{instance}/remediation.csv", web::get().to(remediation::tasks_csv));
}
