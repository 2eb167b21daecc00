//! Core pinning.
//!
//! Invariant: the allowed core set is read exactly once per build, before any worker is pinned
//! (`core_affinity::get_core_ids` reads the *calling* thread's mask, so reading it after pinning
//! would see a single core). Worker `i` is pinned to `cores[i % cores.len()]`: round-robin when
//! there are more workers than cores.

use crate::error::BuildError;

/// Where the pool's CPU workers run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Pinning {
    /// Worker `i` is pinned to the `i`-th core this process may run on, round-robin when there
    /// are more workers than cores. Silently pins nothing on platforms without affinity support.
    #[default]
    PerCore,
    /// Pin nothing; the OS scheduler places the workers.
    None,
    /// Worker `i` is pinned to `ids[i % ids.len()]`. Each id must be a core this process may run
    /// on (as `taskset`/cpusets allow), otherwise `build()` fails with
    /// [`BuildError::UnknownCore`].
    Cores(Vec<usize>),
}

/// The environment variable that turns pinning off for a deployment, whatever the builder says.
pub const NO_PIN_ENV: &str = "COREPOOL_NO_PIN";

/// Resolves a [`Pinning`] into one optional core per worker.
pub(crate) fn plan(pinning: &Pinning, threads: usize) -> Result<Vec<Option<usize>>, BuildError> {
    let unpinned = || vec![None; threads];
    if let Pinning::Cores(ids) = pinning {
        if ids.is_empty() {
            return Err(BuildError::NoCores);
        }
    }
    if pinning == &Pinning::None || cfg!(corepool_loom) || pinning_disabled_by_env() {
        return Ok(unpinned());
    }
    let allowed: Vec<usize> = match core_affinity::get_core_ids() {
        Some(ids) if !ids.is_empty() => ids.into_iter().map(|c| c.id).collect(),
        _ => {
            return match pinning {
                Pinning::Cores(_) => Err(BuildError::PinningUnsupported),
                _ => Ok(unpinned()),
            }
        }
    };
    let cores = match pinning {
        Pinning::Cores(ids) => {
            if let Some(&core) = ids.iter().find(|id| !allowed.contains(id)) {
                return Err(BuildError::UnknownCore { core, allowed });
            }
            ids.clone()
        }
        _ => allowed,
    };
    Ok((0..threads).map(|i| Some(cores[i % cores.len()])).collect())
}

fn pinning_disabled_by_env() -> bool {
    match std::env::var_os(NO_PIN_ENV) {
        Some(v) => !(v.is_empty() || v == "0"),
        None => false,
    }
}

/// Pins the calling thread to `core`; returns whether the OS accepted.
pub(crate) fn pin_current(core: usize) -> bool {
    core_affinity::set_for_current(core_affinity::CoreId { id: core })
}
