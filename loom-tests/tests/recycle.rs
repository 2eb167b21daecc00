//! Model: the shared stack of recycled task blocks (`src/task/recycle.rs`), through
//! `corepool::loom_api::RecycleStack`.
//!
//! Invariants checked (recycle.rs):
//! - **Nothing lost or duplicated:** two threads push lists (a worker handing a batch on) while a
//!   third takes the whole stack (a submitter whose cache ran dry), the same address possibly
//!   pushed again after it was taken (the ABA case); every block is taken exactly once.
//! - **Links ordered:** a taker follows the links a pusher wrote; loom reports a data race on
//!   the link cell if the push's release and the take's acquire do not order them.
#![cfg(corepool_loom)]

mod common;

use common::model;
use corepool::loom_api::{Block, RecycleStack};
use loom::thread;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Path assertion: iterations in which the concurrent take found pushed blocks.
static RACED_TAKES: AtomicUsize = AtomicUsize::new(0);

#[test]
fn pushed_lists_are_taken_whole_exactly_once() {
    model("recycle::pushed_lists_are_taken_whole_exactly_once", || {
        let stack = Arc::new(RecycleStack::new());
        let a = [Block::new(), Block::new()];
        let b = [Block::new()];
        let pushers: Vec<_> = [a.to_vec(), b.to_vec()]
            .into_iter()
            .map(|list| {
                let stack = Arc::clone(&stack);
                thread::spawn(move || stack.push(&list))
            })
            .collect();
        // The taker (a submitter whose cache ran dry): takes what is there, and pushes one
        // block it took back at once (that address on the stack again while a pusher may hold
        // the old top).
        let taker = {
            let stack = Arc::clone(&stack);
            thread::spawn(move || {
                let mut taken = stack.take_all();
                if !taken.is_empty() {
                    RACED_TAKES.fetch_add(1, Ordering::Relaxed);
                }
                if let Some(first) = taken.pop() {
                    stack.push(&[first]);
                }
                taken
            })
        };
        for p in pushers {
            p.join().unwrap();
        }
        let mut taken = taker.join().unwrap();
        taken.extend(stack.take_all());
        let mut all: Vec<Block> = taken.clone();
        all.sort_by_key(|b| format!("{b:?}"));
        let mut want: Vec<Block> = a.iter().chain(b.iter()).copied().collect();
        want.sort_by_key(|b| format!("{b:?}"));
        assert_eq!(all, want, "every block exactly once");
        for block in taken {
            RecycleStack::free(block);
        }
    });
    assert!(
        RACED_TAKES.load(Ordering::Relaxed) > 0,
        "the take never raced with a push"
    );
}
