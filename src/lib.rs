//! attest: a self-hosted access review portal, the open counterpart of Entra ID Access
//! Reviews. See the README for what it does and how to run it.

pub mod api;
pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod domain;
pub mod error;
pub mod notify;
pub mod scheduler;
pub mod scim;
pub mod service;
pub mod sources;
pub mod startup;
pub mod store;
pub mod web;
