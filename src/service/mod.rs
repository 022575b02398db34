//! Use cases: each runs in one transaction and calls store/ for SQL and domain/ for rules.

pub mod actor;
pub mod api_access;
pub mod apply;
pub mod audit;
pub mod complete;
pub mod directory;
pub mod escalation;
pub mod exports;
pub mod graph;
pub mod health;
pub mod history;
pub mod import;
pub mod ldap;
pub mod notify;
pub mod onboarding;
pub mod panel;
pub mod remediation;
pub mod results;
pub mod reviews;
pub mod rows;
pub mod scim;
pub mod sessions;
pub mod sources;
pub mod stages;
pub mod start;
pub mod tick;
