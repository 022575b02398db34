//! The rows services hand to the edges, as the store reads them. Edges name them from
//! here, so nothing above service/ reaches into store/.

pub use crate::store::apps::AppRow;
pub use crate::store::audit::{EventCursor, EventFilter, EventRow, NamedObject};
pub use crate::store::decisions::{ItemEvent, ItemFilter, ItemScope, ListedItem};
pub use crate::store::groups::GroupRow;
pub use crate::store::instances::{CurrentInstance, InstanceRow};
pub use crate::store::outbox::{Folder, MailCursor, MailRow};
pub use crate::store::outcomes::VoteRow;
pub use crate::store::reviews::DefinitionRow;
pub use crate::store::roles::{AssignmentRow, RoleRow};
pub use crate::store::stages::{DefinitionStageRow, InstanceStageRow, StageDecisionRow};
pub use crate::store::users::{UserRef, UserRow};
