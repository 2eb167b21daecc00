//! Contract 8 (bad input): every invalid builder setting gives the right `BuildError` variant
//! with a clear message, never a panic, and starts no thread.

mod common;

use common::{count_threads_named, my_cores, unique_prefix};
use corepool::{
    BuildError, Builder, Pinning, Pool, MAX_QUEUE_CAPACITY, MAX_THREADS, MIN_STACK_SIZE,
};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Builds with a unique thread-name prefix; returns the error, checking no thread was started.
fn build_err(configure: impl FnOnce(Builder) -> Builder) -> BuildError {
    let prefix = unique_prefix("be");
    let p = prefix.clone();
    let builder = configure(Pool::builder().thread_name(move |i| format!("{p}{i}")));
    let result = catch_unwind(AssertUnwindSafe(|| builder.build()))
        .unwrap_or_else(|_| panic!("build() panicked instead of returning an error"));
    let err = result.expect_err("build() accepted an invalid configuration");
    assert_eq!(
        count_threads_named(&prefix),
        0,
        "a failed build left threads behind"
    );
    err
}

#[test]
fn zero_threads() {
    let err = build_err(|b| b.threads(0));
    assert!(matches!(err, BuildError::ZeroThreads), "{err:?}");
    assert_eq!(
        err.to_string(),
        "a pool needs at least one thread (threads(0) given)"
    );
}

#[test]
fn too_many_threads() {
    let err = build_err(|b| b.threads(MAX_THREADS + 1));
    assert!(
        matches!(err, BuildError::TooManyThreads { requested, max } if requested == MAX_THREADS + 1 && max == MAX_THREADS),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} threads requested; at most {MAX_THREADS} are allowed",
            MAX_THREADS + 1
        )
    );
    let err = build_err(|b| b.threads(usize::MAX));
    assert!(matches!(
        err,
        BuildError::TooManyThreads {
            requested: usize::MAX,
            ..
        }
    ));
}

#[test]
fn zero_queue_capacity() {
    let err = build_err(|b| b.threads(1).queue_capacity(0));
    assert!(matches!(err, BuildError::ZeroQueueCapacity), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the injection queue needs room for at least one task (queue_capacity(0) given)"
    );
}

#[test]
fn queue_capacity_too_large() {
    let err = build_err(|b| b.threads(1).queue_capacity(MAX_QUEUE_CAPACITY + 1));
    assert!(
        matches!(err, BuildError::QueueCapacityTooLarge { requested, max } if requested == MAX_QUEUE_CAPACITY + 1 && max == MAX_QUEUE_CAPACITY),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "queue capacity {} requested; at most {MAX_QUEUE_CAPACITY} is allowed",
            MAX_QUEUE_CAPACITY + 1
        )
    );
}

#[test]
fn zero_local_queue_limit() {
    let err = build_err(|b| b.threads(1).local_queue_limit(0));
    assert!(matches!(err, BuildError::ZeroLocalQueueLimit), "{err:?}");
    assert_eq!(
        err.to_string(),
        "a worker's deque needs room for at least one job (local_queue_limit(0) given)"
    );
}

#[test]
fn stack_too_small() {
    for bytes in [0, 1, MIN_STACK_SIZE - 1] {
        let err = build_err(|b| b.threads(1).stack_size(bytes));
        assert!(
            matches!(err, BuildError::StackTooSmall { requested, min } if requested == bytes && min == MIN_STACK_SIZE),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "stack size {bytes} bytes requested; at least {MIN_STACK_SIZE} bytes are needed"
            )
        );
    }
}

#[test]
fn empty_core_list() {
    let err = build_err(|b| b.threads(1).pinning(Pinning::Cores(vec![])));
    assert!(matches!(err, BuildError::NoCores), "{err:?}");
    assert_eq!(
        err.to_string(),
        "Pinning::Cores was given an empty list of cores"
    );
}

#[test]
fn unknown_core() {
    let allowed = my_cores();
    let err = build_err(|b| b.threads(1).pinning(Pinning::Cores(vec![9999])));
    match &err {
        BuildError::UnknownCore {
            core: 9999,
            allowed: reported,
        } => {
            let mut reported = reported.clone();
            reported.sort_unstable();
            assert_eq!(reported, allowed);
        }
        other => panic!("expected UnknownCore, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with("core 9999 is not one this process may run on (allowed cores: "),
        "{msg}"
    );
    for core in &allowed {
        assert!(
            msg.contains(&core.to_string()),
            "{msg} lists allowed core {core}"
        );
    }
}

/// The OS refusing a thread is reported, not panicked on: a 128 TiB stack cannot be mapped in
/// a 47-bit user address space.
#[test]
fn thread_spawn_failure() {
    let err = build_err(|b| b.threads(2).pinning(Pinning::None).stack_size(1 << 47));
    assert!(matches!(err, BuildError::ThreadSpawn(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the operating system refused to start a worker thread: "),
        "{err}"
    );
    let source = std::error::Error::source(&err).expect("ThreadSpawn has the io::Error as source");
    assert!(source.downcast_ref::<std::io::Error>().is_some());
}

#[test]
fn errors_are_std_errors_and_valid_edges_build() {
    let err: Box<dyn std::error::Error> = Box::new(build_err(|b| b.threads(0)));
    assert!(err.source().is_none());

    // The edges of every range are accepted, and the pool works.
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(1)
        .local_queue_limit(1)
        .stack_size(MIN_STACK_SIZE)
        .build()
        .unwrap();
    assert_eq!(pool.spawn(|| 1 + 1).join().unwrap(), 2);
    assert_eq!(pool.join(|| 1, || 2), (1, 2));
    let mut x = 0;
    pool.scope(|s| s.spawn(|_| x = 3));
    assert_eq!(x, 3);
    let pool = Pool::builder()
        .threads(1)
        .pinning(Pinning::None)
        .queue_capacity(MAX_QUEUE_CAPACITY)
        .build()
        .unwrap();
    assert_eq!(pool.queue_capacity(), MAX_QUEUE_CAPACITY);
}

/// The environment variable that makes [`later_thread_spawn_failure_joins_started_workers`] run
/// its child half (in a process of its own, whose address space it limits).
const SPAWN_LIMIT_CHILD: &str = "COREPOOL_TEST_SPAWN_LIMIT_CHILD";

/// Issue #16, defect 2: when a worker after the first fails to start, `build` must return the
/// error with every started worker joined, not wait for ever for the workers that never
/// started. Seen with `RLIMIT_AS` limited and large stacks; reproduced that way here, in a child
/// process (the limit is process-wide): the limit leaves room for two 1 GiB stacks, not three.
/// The parent only waits for the child (a watchdog for the hang it had) and checks its verdict.
#[cfg(target_os = "linux")]
#[test]
fn later_thread_spawn_failure_joins_started_workers() {
    if std::env::var_os(SPAWN_LIMIT_CHILD).is_some() {
        spawn_limit_child();
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "later_thread_spawn_failure_joins_started_workers",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SPAWN_LIMIT_CHILD, "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start the child test process");
    // A watchdog for the hang, not a timing assertion: the child needs well under a second.
    let deadline = std::time::Instant::now() + common::WATCHDOG;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "build() did not return within {:?} after a later worker failed to start",
                common::WATCHDOG
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let output = child.wait_with_output().expect("the child's output");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        status.success() && stdout.contains("spawn-limit child: ok"),
        "the child failed ({status}):\n{stdout}\n{stderr}"
    );
}

/// The child half: limits the address space, builds a pool whose third worker cannot start,
/// and checks the error and that nothing of the pool is left running.
#[cfg(target_os = "linux")]
fn spawn_limit_child() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const STACK: usize = 1 << 30;
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let vm_kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmSize in /proc/self/status");
    // Room for two worker stacks and their malloc arenas, not for a third stack.
    let limit = (vm_kib * 1024 + 2 * STACK + STACK / 2) as libc::rlim_t;
    let rlimit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: `setrlimit` only reads the struct, which lives across the call.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) };
    assert_eq!(rc, 0, "setrlimit(RLIMIT_AS)");
    let prefix = unique_prefix("sl");
    let p = prefix.clone();
    let started = Arc::new(AtomicUsize::new(0));
    let stopped = Arc::new(AtomicUsize::new(0));
    let (s, t) = (Arc::clone(&started), Arc::clone(&stopped));
    let result = Pool::builder()
        .threads(4)
        .pinning(Pinning::None)
        .stack_size(STACK)
        .thread_name(move |i| format!("{p}{i}"))
        .on_thread_start(move |_| {
            s.fetch_add(1, Ordering::SeqCst);
        })
        .on_thread_stop(move |_| {
            t.fetch_add(1, Ordering::SeqCst);
        })
        .build();
    let err = result.expect_err("the address-space limit leaves no room for four 1 GiB stacks");
    assert!(matches!(err, BuildError::ThreadSpawn(_)), "{err:?}");
    let started = started.load(Ordering::SeqCst);
    assert!(
        started >= 1,
        "no worker started before the failure, so this did not test a later one"
    );
    assert_eq!(
        stopped.load(Ordering::SeqCst),
        started,
        "every started worker ran its stop hook before build returned"
    );
    assert_eq!(
        count_threads_named(&prefix),
        0,
        "a failed build left threads behind"
    );
    println!("spawn-limit child: ok ({started} of 4 workers had started)");
}
