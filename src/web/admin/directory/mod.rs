//! Read-only directory pages: users, groups, applications and roles, with search and
//! keyset paging ([`lists`]), and the page of each ([`pages`]). No list renders unbounded
//! rows; every read is one call into `service::directory`.

pub mod import;
mod items;
pub mod ldap;
mod lists;
mod pages;
pub mod sources;

pub use lists::{apps, groups, roles, users};
pub use pages::{app, group, role, user};

use crate::domain::paging::{ListParams, ListRequest};
use crate::error::AppError;

/// How many related objects a detail page lists before saying "first N shown".
const DETAIL_LIMIT: usize = 100;

fn list_request(params: ListParams) -> Result<ListRequest, AppError> {
    params.validate().map_err(AppError::BadRequest)
}

fn not_found(what: &str) -> AppError {
    AppError::NotFound(format!(
        "There is no {what} with this id. It may have been deleted; go back to the list and search for it."
    ))
}
