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
