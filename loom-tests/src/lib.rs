//! Nothing here: the models live in `tests/`, one file per protocol.
