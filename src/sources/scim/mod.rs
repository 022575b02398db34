//! SCIM 2.0 (RFC 7643 / RFC 7644): the protocol core of attest's SCIM service provider,
//! which Microsoft Entra ID, Okta, OneLogin, JumpCloud and Google provision users and
//! groups into. Pure: types, parsers, checks and transformations; no I/O, no database,
//! no HTTP.
//!
//! # How the pieces are meant to be used
//!
//! The HTTP edge (`/scim/v2/…`) authenticates the bearer token, reads the body as JSON
//! (bounded in size; a body that is not JSON is [`ScimError::invalid_syntax`]) and the
//! query string, then calls one service function per request. Everything it answers with
//! comes from here: resources as JSON, [`ListResponse`], and [`ScimError::to_json`] with
//! [`ScimError::status`] for every failure (content type `application/scim+json`).
//!
//! - **GET /Users?filter=…&startIndex=…&count=…&attributes=…**: [`Filter::parse`] the
//!   filter, then [`Filter::check_filterable`] (the store indexes only the attributes
//!   clients filter on); [`Paging::parse`]; [`Projection::parse`]. The store translates
//!   the filter tree to SQL: paths are resolved ([`AttrPath::key`] gives
//!   `(schema, "emails", Some("value"))` in lower case), values are typed
//!   ([`CompValue`]); a [`Filter::ValuePath`] is an `EXISTS` on the child table whose
//!   conditions hold for one row; comparisons on attributes that are not `caseExact`
//!   compare [`fold_case`]d text (keep a folded column: SQLite's `lower()` folds ASCII
//!   only); a comparison with a missing value is false, also under `not`
//!   (`COALESCE(…, FALSE)`), as in [`Filter::matches`]. Results come in one stable order
//!   (sorting is not supported), `OFFSET` [`Paging::offset`] `LIMIT` `count`, with the
//!   total count.
//! - **GET /Users/{id}**, **/Groups/{id}**: render with [`ScimUser::to_json`] or
//!   [`ScimGroup::to_json`] and a [`Meta`] (created, lastModified, a version that changes
//!   with every write; its [`etag`] is also the `ETag` header), then
//!   [`Projection::apply`]. Ask [`Projection::returns`]`(Schema::Group, "members")` before
//!   loading members: Entra always sends `excludedAttributes=members`.
//! - **POST /Users**, **PUT /Users/{id}**: [`ScimUser::parse`]; the store checks that
//!   `userName` is unique case-insensitively (else [`ScimError::uniqueness`], 409) and that
//!   a manager id exists, then writes the whole user. PUT keeps id and created.
//! - **PATCH /Users/{id}**: [`PatchRequest::parse`], load the user, [`ScimUser::apply_patch`],
//!   write the result if it differs, in one transaction.
//! - **POST /Groups**, **PUT /Groups/{id}**: [`GroupRequest::parse`]; with `members`,
//!   [`MembersPlan::replacing`] them (a PUT without `members` keeps them).
//! - **PATCH /Groups/{id}**: [`PatchRequest::parse`] then [`plan_group_patch`]: the
//!   [`GroupPatchPlan`] changes the name and external id and carries the member ids to
//!   add and remove (or the whole new set) for two set statements in one transaction —
//!   the group's members are never loaded. The store resolves member ids without a `type`
//!   to a user or a group, refuses unknown ids and nesting cycles, and answers 204.
//! - **If-Match** on PUT, PATCH and DELETE: [`etag_matches`] with the current version,
//!   else 412 ([`ScimError::with_status`]).
//! - **/ServiceProviderConfig**, **/ResourceTypes**, **/Schemas**: [`discovery`], built
//!   from the one attribute table ([`schema`]) that every parser here resolves names
//!   against.
//!
//! Attributes attest does not keep (phone numbers, addresses, passwords, custom
//! extensions) are ignored on input and never returned, so a client's default attribute
//! mappings work unchanged; a filter on one is an error, since it could never match.

pub mod discovery;
pub mod error;
pub mod filter;
pub mod group;
pub mod list;
pub mod meta;
pub mod patch;
pub mod projection;
pub mod schema;
pub mod user;
mod value;

pub use error::{ScimError, ScimType};
pub use filter::{CompValue, CompareOp, Filter};
pub use group::{
    GroupMember, GroupPatchPlan, GroupRequest, MemberKind, MemberRef, MembersPlan, ScimGroup, plan_group_patch,
};
pub use list::{ListResponse, Paging};
pub use meta::{Meta, etag, etag_matches};
pub use patch::{PatchOp, PatchOperation, PatchPath, PatchRequest};
pub use projection::Projection;
pub use schema::{AttrPath, ResourceType, Schema, fold_case};
pub use user::{Email, PersonName, ScimUser};

/// The core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The Enterprise User extension.
pub const ENTERPRISE_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// PATCH request bodies.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// List responses.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// Error responses.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// `/ServiceProviderConfig`.
pub const SERVICE_PROVIDER_CONFIG_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
/// `/ResourceTypes` entries.
pub const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
/// `/Schemas` entries.
pub const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";
