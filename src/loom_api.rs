//! Internals exposed to the loom models in `loom-tests/`; compiled only under
//! `--cfg corepool_loom`, hidden from the docs, not part of the public API.
//!
//! Invariant: these are thin wrappers; the models exercise the very code the pool runs.
