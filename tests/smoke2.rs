use corepool::Pool;
use std::sync::{Arc, Barrier};
use std::time::Duration;
#[test]
fn backpressure_and_shutdown_now() {
    let pool = Pool::builder()
        .threads(1)
        .queue_capacity(1)
        .build()
        .unwrap();
    let b = Arc::new(Barrier::new(2));
    let b2 = b.clone();
    let h0 = pool.spawn(move || {
        b2.wait();
        1
    });
    // wait until the worker took it
    while pool.queued() > 0 {
        std::thread::yield_now();
    }
    let h1 = pool.spawn(|| 2); // fills queue
    let e = pool.try_spawn(|| 3).unwrap_err();
    assert!(e.is_full());
    assert_eq!(e.into_inner()(), 3);
    let e = pool
        .spawn_timeout(|| 4, Duration::from_millis(20))
        .unwrap_err();
    assert!(e.is_full());
    b.wait();
    assert_eq!(h0.join().unwrap(), 1);
    assert_eq!(h1.join().unwrap(), 2);
    let pool = Pool::builder()
        .threads(1)
        .queue_capacity(100)
        .build()
        .unwrap();
    let b = Arc::new(Barrier::new(2));
    let b2 = b.clone();
    let h0 = pool.spawn(move || {
        b2.wait();
        1
    });
    while pool.queued() > 0 {
        std::thread::yield_now();
    }
    let hs: Vec<_> = (0..10).map(|i| pool.spawn(move || i)).collect();
    let p2 = pool.clone();
    let t = std::thread::spawn(move || p2.shutdown_now());
    std::thread::sleep(Duration::from_millis(50));
    b.wait();
    assert_eq!(t.join().unwrap(), 10);
    assert_eq!(h0.join().unwrap(), 1);
    for h in hs {
        assert!(h.join().unwrap_err().is_cancelled());
    }
    assert!(pool.try_spawn(|| 1).unwrap_err().is_shutdown());
}
#[test]
fn million() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let c = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..1_000_000 {
        let c = c.clone();
        drop(pool.spawn(move || {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }));
    }
    pool.shutdown();
    assert_eq!(c.load(std::sync::atomic::Ordering::Relaxed), 1_000_000);
}
