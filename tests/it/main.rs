//! attest's one integration-test binary. Every test starts a real server on a random port
//! with a fresh database; set ATTEST_TEST_POSTGRES_URL to run the same suite on PostgreSQL.

// Helpers outside #[test] functions fail loudly too.
#![expect(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "a test fails loudly")]

mod api;
mod api_history;
mod apply;
mod audit;
mod auth;
mod cli;
mod delegation;
mod demo;
mod directory;
mod errors;
mod escalation;
mod exports;
mod helpers;
mod import;
mod layers;
mod ldap;
mod ldap_server;
mod ldap_web;
mod notify;
mod oidc_provider;
mod outcomes;
mod panel;
mod reassign;
mod remediation;
mod results;
mod reviews;
mod scheduler;
mod schema;
mod scim;
mod sources;
mod stages;
mod web;
