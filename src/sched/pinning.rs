//! Core pinning.
//!
//! Invariants:
//! - The set of cores this process may run on is read once per process, at the first build
//!   (`core_affinity::get_core_ids` reads the *calling* thread's mask; a pool built later on a
//!   pinned worker would otherwise see that worker's single core), and cached. The default
//!   thread count (`num_cpus::get`, which reads the same mask and the cgroup quota) is read and
//!   cached at the same moment, for the same reason.
//! - `PerCore`: the pools of one process spread over the allowed cores instead of stacking on
//!   the first ones: each pool starts at the core after the last one the previous `PerCore`
//!   pool took (a process-wide cursor), and worker `i` takes the `i`-th core from there,
//!   round-robin. `Cores(ids)`: worker `i` is pinned to `ids[i % ids.len()]`.
//! - A thread that must not be pinned (`Pinning::None` workers, I/O threads) gets the whole
//!   cached set back, since a new thread inherits its creator's mask (Linux).

use crate::error::BuildError;

/// Where the pool's CPU workers run.
///
/// **When to choose [`Pinning::None`].** Pinning keeps a worker's caches warm and its deque
/// local, which pays when the pool owns its cores. It costs when it does not: a pinned worker
/// whose core is busy with another thread (another process, a CPU hog, a second runtime in
/// this process) cannot move to an idle core and waits for its turn, which can stall it for
/// many scheduler time slices. Choose `Pinning::None` when the pool shares the machine with
/// other busy processes or threads, when several processes each run a pool on one host (the
/// spread below is per process), or under an orchestrator that places threads itself (or
/// set `COREPOOL_NO_PIN`, see [`NO_PIN_ENV`]).
///
/// **Several pools in one process.** `PerCore` pools spread over the allowed cores: each pool
/// starts where the previous one ended, so two 4-worker pools on 8 cores take cores 0–3 and
/// 4–7 instead of both taking 0–3.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pinning {
    /// Each worker is pinned to its own core this process may run on: worker `i` to the `i`-th
    /// core after those the process's previous `PerCore` pools took, round-robin when there
    /// are more workers than cores. Silently pins nothing on platforms without affinity
    /// support.
    #[default]
    PerCore,
    /// Pin nothing; the OS scheduler places the workers.
    None,
    /// Worker `i` is pinned to `ids[i % ids.len()]`. Each id must be a core this process may run
    /// on (as `taskset`/cpusets allow), otherwise `build()` fails with
    /// [`BuildError::UnknownCore`]. [`NO_PIN_ENV`] overrides this too: an operator's switch
    /// wins over the code's choice, so a deployment can turn pinning off without a rebuild.
    Cores(Vec<usize>),
}

/// The environment variable that turns pinning off for a deployment, whatever the builder says
/// (`PerCore` and explicit `Cores` alike): set to anything but empty or `0`, every pool the
/// process builds afterwards pins nothing.
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
    let allowed: Vec<usize> = match &process_cpus().cores {
        Some(ids) => ids.clone(),
        None => {
            return match pinning {
                Pinning::Cores(_) => Err(BuildError::PinningUnsupported),
                _ => Ok(unpinned()),
            }
        }
    };
    let (cores, start) = match pinning {
        Pinning::Cores(ids) => {
            if let Some(&core) = ids.iter().find(|id| !allowed.contains(id)) {
                return Err(BuildError::UnknownCore { core, allowed });
            }
            (ids.clone(), 0)
        }
        _ => {
            let start = next_per_core_start(threads, allowed.len());
            (allowed, start)
        }
    };
    Ok((0..threads)
        .map(|i| Some(cores[(start + i) % cores.len()]))
        .collect())
}

/// Where the next `PerCore` pool of `threads` workers starts among `cores` allowed cores, and
/// moves the process-wide cursor past it (see the module invariants).
fn next_per_core_start(threads: usize, cores: usize) -> usize {
    // Only a placement hint: std's atomic, also under loom (which never pins anyway).
    static CURSOR: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let taken = threads.min(cores);
    let start = CURSOR.fetch_add(taken, std::sync::atomic::Ordering::Relaxed);
    start % cores
}

/// What this process may run on, read at the first call (the first build) and cached.
struct ProcessCpus {
    /// The allowed core ids (`None`: no affinity support).
    cores: Option<Vec<usize>>,
    /// `num_cpus::get()` then: the allowed cores, capped by a cgroup CPU quota.
    count: usize,
}

fn process_cpus() -> &'static ProcessCpus {
    static CPUS: std::sync::OnceLock<ProcessCpus> = std::sync::OnceLock::new();
    CPUS.get_or_init(|| ProcessCpus {
        cores: core_affinity::get_core_ids()
            .map(|ids| ids.into_iter().map(|c| c.id).collect::<Vec<_>>())
            .filter(|ids| !ids.is_empty()),
        count: num_cpus::get().max(1),
    })
}

/// The environment variable that sets the thread count of a pool built without
/// [`Builder::threads`](crate::Builder::threads) (rayon's `RAYON_NUM_THREADS`).
pub const THREADS_ENV: &str = "COREPOOL_THREADS";

/// The thread count of a pool built without `threads()`: [`THREADS_ENV`] if it holds a
/// positive number, else the process's CPU count as read at the first build, whatever the
/// calling thread's own mask is now (a pinned worker's is one core). The variable is read at
/// every build, so it is the value at the time of the build that counts.
pub(crate) fn default_threads() -> usize {
    let cpus = process_cpus().count;
    threads_from_env().unwrap_or(cpus)
}

/// [`THREADS_ENV`] as a positive number; unset, empty, zero or not a number is `None` (the
/// default applies, as rayon does for its variable).
fn threads_from_env() -> Option<usize> {
    let value = std::env::var(THREADS_ENV).ok()?;
    value.trim().parse().ok().filter(|&n: &usize| n > 0)
}

/// Lets the calling thread run on every core of the process (undoing an inherited pin).
pub(crate) fn unpin_current() {
    #[cfg(all(target_os = "linux", not(corepool_loom)))]
    {
        let Some(cores) = &process_cpus().cores else {
            return;
        };
        // SAFETY: `cpu_set_t` is plain data for which all-zeroes is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &core in cores {
            // SAFETY: CPU_SET bounds-checks `core` against the set's size.
            unsafe { libc::CPU_SET(core, &mut set) };
        }
        // SAFETY: pid 0 is the calling thread; `set` is a valid, initialized cpu_set_t of the
        // size passed. A refusal leaves the mask as it was, which is harmless.
        unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
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
