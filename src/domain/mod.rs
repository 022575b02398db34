//! Pure rules: no I/O, no database, no clock calls. Everything here is unit-testable.

pub mod api;
pub mod apply;
pub mod audit;
pub mod chart;
pub mod decision;
pub mod delegation;
pub mod directory;
pub mod escalation;
pub mod export;
pub mod history;
pub mod notify;
pub mod occurrence;
pub mod odata;
pub mod outcome;
pub mod paging;
pub mod population;
pub mod progress;
pub mod recommendation;
pub mod recurrence;
pub mod review;
pub mod source;
pub mod stage;
pub mod state;
