//! Who does something: a person (on the pages, or through the API with a personal access
//! token), an API client, a push source's client, an operator on the command line, or the
//! scheduler. One type for every use case, so that each records its actor the same way in
//! the audit trail and in the "by" columns (`created_by`, `applied_by`).

use chrono::NaiveDateTime;

use crate::service::sources::Authenticated;
use crate::store::audit::NewEvent;
use crate::store::users::UserRow;

/// How the audit trail names the command line.
const COMMAND_LINE: &str = "attest command line";
/// How the audit trail names the scheduler.
const SCHEDULER: &str = "attest scheduler";

/// Who does something, for the audit trail.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in person.
    Person(&'a UserRow),
    /// An application client of the Graph-compatible API: its id, and how the audit trail
    /// names it ("API client GRC export").
    ApiClient { id: &'a str, name: &'a str },
    /// A push source's client, authenticated by one of its tokens.
    Client(&'a Authenticated),
    /// An operator on the command line.
    CommandLine,
    /// The scheduler.
    Scheduler,
}

impl<'a> Actor<'a> {
    /// The id kept in "by" columns: a person's or an API client's (they cannot collide: both
    /// are random UUIDs); none for attest itself.
    pub fn id(&self) -> Option<&'a str> {
        match self {
            Self::Person(user) => Some(&user.id),
            Self::ApiClient { id, .. } => Some(id),
            Self::Client(_) | Self::CommandLine | Self::Scheduler => None,
        }
    }

    /// How pages and the audit trail name the actor.
    pub fn name(&self) -> &'a str {
        match self {
            Self::Person(user) => &user.display_name,
            Self::ApiClient { name, .. } => name,
            Self::Client(client) => &client.actor_name,
            Self::CommandLine => COMMAND_LINE,
            Self::Scheduler => SCHEDULER,
        }
    }

    /// The person, when a person acts.
    pub fn person(&self) -> Option<&'a UserRow> {
        match self {
            Self::Person(user) => Some(user),
            _ => None,
        }
    }

    /// The audit event of this actor.
    pub fn event(
        &self,
        at: NaiveDateTime,
        action: &'a str,
        target: (&'a str, &'a str),
        details: serde_json::Value,
    ) -> NewEvent<'a> {
        match self {
            Self::Person(user) => NewEvent::by_user(user, at, action, target, details),
            _ => NewEvent {
                actor_id: self.id(),
                actor_name: self.name(),
                ..NewEvent::by_system(at, action, target, details)
            },
        }
    }
}
