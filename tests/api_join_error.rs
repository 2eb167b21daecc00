//! `JoinError` as a downstream crate uses it: `Send + Sync` (so `?` reaches
//! `Box<dyn Error + Send + Sync>`), into `std::io::Error`, and the id of the task it is about.

use corepool::{JoinError, Pool};
use std::error::Error;

fn assert_send_sync_static<T: Send + Sync + 'static>() {}

#[test]
fn join_error_is_send_sync_and_boxes_into_a_send_sync_error() {
    assert_send_sync_static::<JoinError>();
    let pool = Pool::builder().threads(1).build().unwrap();
    let run = || -> Result<u32, Box<dyn Error + Send + Sync>> {
        Ok(pool.spawn(|| -> u32 { panic!("boxed") }).join()?)
    };
    let err = run().unwrap_err();
    assert_eq!(err.to_string(), "task panicked: boxed");
    // The payload comes back unchanged after the round trip.
    let join_err = err.downcast::<JoinError>().unwrap();
    let payload = join_err.into_panic();
    assert_eq!(*payload.downcast::<&str>().unwrap(), "boxed");
}

#[test]
fn join_error_converts_into_an_io_error_whose_source_it_is() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let read = || -> std::io::Result<usize> {
        let len = pool.spawn(|| -> usize { panic!("io") }).join()?;
        Ok(len)
    };
    let io = read().unwrap_err();
    assert_eq!(io.kind(), std::io::ErrorKind::Other);
    let inner = io.get_ref().unwrap().downcast_ref::<JoinError>().unwrap();
    assert!(inner.is_panic());
}

#[test]
fn a_join_error_carries_the_id_of_its_task() {
    let pool = Pool::builder().threads(1).build().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            pool.spawn(move || {
                if i % 2 == 1 {
                    panic!("odd")
                }
            })
        })
        .collect();
    let ids: Vec<_> = handles.iter().map(|h| h.id()).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are unique");
    for (h, id) in handles.into_iter().zip(ids) {
        match h.join() {
            Ok(()) => {}
            Err(e) => assert_eq!(e.id(), id),
        }
    }
    // Cancelled tasks carry their id too.
    pool.shutdown();
    let h = pool.spawn(|| ());
    let id = h.id();
    assert_eq!(h.join().unwrap_err().id(), id);
}

#[test]
fn task_ids_are_unique_across_threads() {
    let pool = Pool::builder().threads(2).build().unwrap();
    let ids: Vec<_> = std::thread::scope(|s| {
        let spawners: Vec<_> = (0..3)
            .map(|_| {
                s.spawn(|| {
                    (0..2000)
                        .map(|_| pool.spawn(|| ()).id())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        spawners
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect()
    });
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len());
}
