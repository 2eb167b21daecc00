//! The ways work enters a pool from user code: detached tasks, `install`, scopes, batches and
//! task groups.

pub(crate) mod batch;
pub(crate) mod broadcast;
pub(crate) mod group;
pub(crate) mod install;
pub(crate) mod join_set;
pub(crate) mod scope;
pub(crate) mod submit;
