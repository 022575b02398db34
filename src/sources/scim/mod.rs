//! SCIM 2.0 (RFC 7643 / RFC 7644): the protocol core of attest's SCIM service provider.
//! Pure: types, parsers, checks and transformations; no I/O, no database, no HTTP.

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
