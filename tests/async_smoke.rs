//! scratch
use corepool::Pool;
use std::time::Duration;
#[test]
fn smoke_async() {
    let pool = Pool::builder()
        .threads(2)
        .queue_capacity(4)
        .io_threads(3)
        .io_keep_alive(Duration::from_millis(100))
        .build()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let p = pool.clone();
    let n = rt.block_on(async move {
        let mut sum = 0u64;
        for i in 0..10_000u64 {
            let h = p.spawn_async(move || i).await.ok().unwrap();
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(n, (0..10_000u64).sum());
    let hs: Vec<_> = (0..20)
        .map(|i| {
            pool.spawn_blocking(move || {
                std::thread::sleep(Duration::from_millis(5));
                i
            })
        })
        .collect();
    assert_eq!(hs.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 190);
    assert!(pool.io_threads_alive() <= 3);
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(pool.io_threads_alive(), 0);
    let v = pool.install(|| corepool::blocking(|| 5));
    assert_eq!(v, 5);
    let h = pool.spawn_future(async {
        tokio::task::yield_now().await;
        3
    });
    assert_eq!(futures::executor::block_on(h).unwrap(), 3);
    assert_eq!(pool.block_on(async { 9 }), 9);
    assert!(pool.shutdown_timeout(Duration::from_secs(5)));
}
