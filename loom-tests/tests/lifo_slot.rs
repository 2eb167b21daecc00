//! Model: a worker's LIFO slot (`src/sched/lifo.rs`), through `corepool::loom_api::LifoSlot`,
//! and the rule that keeps a full slot watched (`Sleep::notify_slot_filled`).
//!
//! Invariants checked (lifo.rs):
//! - **Exactly once:** the owner fills, takes back and refills its slot while a peer steals
//!   from it; every job comes out exactly once, and the owner's refill never overwrites a job
//!   a peer is reading (loom reports a data race on the cell otherwise).
//! - **Never stuck behind a long task:** the owner fills its slot and then never takes it back
//!   (its task keeps running); a peer that searches and goes to sleep either saw the slot and
//!   sleeps with a wake-up set (a watcher, which the timer ends), or is woken by the filler. It
//!   then steals the job. A lost watch is a loom deadlock.
//! - **The watch is passed on:** a peer that was searching when the slot was filled (so the
//!   filler woke nobody) leaves to run other work instead of sleeping; it passes the watch on,
//!   and a peer asleep without a wake-up is woken to watch the slot.
#![cfg(corepool_loom)]

mod common;

use common::model;
use corepool::loom_api::{LifoSlot, Sleep, TestJobs};
use loom::thread;
use std::sync::Arc;

struct World {
    slot: LifoSlot,
    jobs: TestJobs,
}

#[test]
fn owner_and_thief_take_each_job_once() {
    model("lifo_slot::owner_and_thief_take_each_job_once", || {
        let world = Arc::new(World {
            slot: LifoSlot::new(),
            jobs: TestJobs::new(2),
        });
        world.slot.fill(world.jobs.job(0));
        let thief = {
            let world = Arc::clone(&world);
            thread::spawn(move || {
                let mut got = Vec::new();
                for _ in 0..2 {
                    if let Some(job) = world.slot.steal() {
                        got.push(world.jobs.id(job));
                    }
                }
                got
            })
        };
        let mut mine = Vec::new();
        if let Some(job) = world.slot.take_own() {
            mine.push(world.jobs.id(job));
        }
        // The owner's next task spawns: it refills the slot (waiting out a thief's read).
        world.slot.fill(world.jobs.job(1));
        let stolen = thief.join().unwrap();
        if let Some(job) = world.slot.take_own() {
            mine.push(world.jobs.id(job));
        }
        let mut all: Vec<usize> = mine.into_iter().chain(stolen).collect();
        all.sort_unstable();
        assert_eq!(all, vec![0, 1], "each job exactly once");
        assert!(!world.slot.is_full());
    });
}

/// Worker `index`, a peer (searching already, or starting to when `start`): steals the slot,
/// or sleeps (watching if it sees the slot full) and tries again when woken or when its timed
/// sleep ends; then stops searching.
fn watch_and_steal(
    slot: &Arc<LifoSlot>,
    sleep: &Arc<Sleep>,
    index: usize,
    start: bool,
) -> thread::JoinHandle<()> {
    let (slot, sleep) = (Arc::clone(slot), Arc::clone(sleep));
    thread::spawn(move || {
        if start {
            sleep.start_searching();
        }
        while slot.steal().is_none() {
            sleep.sleep_watching(index, || false, || slot.is_full());
        }
        sleep.stop_searching(|| false);
    })
}

/// The timer of worker `index`: its (next) timed sleep ends once.
fn timer(sleep: &Arc<Sleep>, index: usize) -> thread::JoinHandle<()> {
    let sleep = Arc::clone(sleep);
    thread::spawn(move || sleep.expire(index))
}

#[test]
fn a_full_slot_is_watched_until_a_peer_takes_it() {
    model(
        "lifo_slot::a_full_slot_is_watched_until_a_peer_takes_it",
        || {
            let slot = Arc::new(LifoSlot::new());
            let jobs = TestJobs::new(1);
            let sleep = Arc::new(Sleep::new(2));
            // Worker 1, the peer: searches, sleeps, steals (it returns only once it stole).
            let peer = watch_and_steal(&slot, &sleep, 1, true);
            let timer = timer(&sleep, 1);
            // Worker 0, the owner: its task spawns into the slot and keeps running until the job
            // ran elsewhere (it never takes the slot back).
            slot.fill(jobs.job(0));
            sleep.notify_slot_filled();
            peer.join().unwrap();
            timer.join().unwrap();
            assert!(!slot.is_full(), "the peer took the job");
        },
    );
}

#[test]
fn a_searcher_leaving_for_other_work_passes_the_watch_on() {
    model(
        "lifo_slot::a_searcher_leaving_for_other_work_passes_the_watch_on",
        || {
            let slot = Arc::new(LifoSlot::new());
            let jobs = TestJobs::new(1);
            let sleep = Arc::new(Sleep::new(3));
            // Both peers are searching when the owner's task starts.
            sleep.start_searching();
            sleep.start_searching();
            // Worker 1 finds other work (an outside spawn) and leaves to run it, for good.
            let leaver = {
                let (slot, sleep) = (Arc::clone(&slot), Arc::clone(&sleep));
                thread::spawn(move || {
                    sleep.stop_searching(|| false);
                    sleep.pass_watch(|| slot.is_full());
                })
            };
            // Worker 2 finds nothing, sleeps (watching if it sees the full slot), and steals
            // the slot once woken or once its timed sleep ends.
            let watcher = watch_and_steal(&slot, &sleep, 2, false);
            let timer = timer(&sleep, 2);
            // Worker 0: spawns into its slot and keeps running (blocked on the successor).
            slot.fill(jobs.job(0));
            sleep.notify_slot_filled();
            leaver.join().unwrap();
            watcher.join().unwrap();
            timer.join().unwrap();
        },
    );
}
