//! The bounded adapter, for iterators that cannot be split (lines from a reader, records from a
//! socket): a single driver pulls items and hands each to a pool task, with at most `limit`
//! items in flight.
//!
//! Invariants:
//! - An item is *in flight* from the moment the source yields it until its result has been
//!   handed to the sink (for `for_each`: until the closure returned). The driver checks that
//!   fewer than `limit` are in flight *before* it pulls, and only the driver pulls, so at most
//!   `limit` items and results exist at any time: a fast source waits, it never floods memory.
//! - Only the driver touches the source and the sink. In ordered mode results reach the sink
//!   strictly in source order (a result waits in its slot for those before it; the slots are
//!   bounded by `limit` too).
//! - Every task records its outcome and bumps `events` under the lock, then wakes the driver;
//!   the driver registers its waker under the same lock after seeing no new event, so a
//!   wake-up is never lost. While it waits on a worker it keeps executing the pool's tasks.
//! - A panic in the closure stops the pulling; undelivered results are dropped; the panic is
//!   re-raised on the caller once every task has stopped (the scope waits for them).

use crate::iter::plumbing::joiner::Joiner;
use crate::sched::unwind::Payload;
use crate::sync::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Processes the items of an iterator that cannot be split on a pool, with at most `limit`
/// items in flight. Made by [`Pool::par_bounded`](crate::Pool::par_bounded) or
/// [`par_bounded`](crate::par_bounded).
///
/// The iterator is driven from one of the pool's workers (so it must be `Send`); that worker
/// also runs tasks while it waits for room. Each item becomes one task (about a lock, an
/// allocation and a wake-up of overhead), so items should be worth a few microseconds; group
/// smaller ones (say, 1000 lines at a time) into one item.
///
/// ```
/// use std::io::BufRead;
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let text = "3\n1\n4\n1\n5\n";
/// let mut squares = Vec::new();
/// pool.par_bounded(std::io::Cursor::new(text).lines(), 4)
///     .map_ordered(|line| line.unwrap().parse::<u32>().unwrap().pow(2), |sq| squares.push(sq));
/// assert_eq!(squares, [9, 1, 16, 1, 25]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "a ParBounded does nothing until one of its methods runs it"]
pub struct ParBounded<'p, I> {
    joiner: Joiner<'p>,
    iter: I,
    limit: usize,
}

impl<I: std::fmt::Debug> std::fmt::Debug for ParBounded<'_, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParBounded")
            .field("iter", &self.iter)
            .field("limit", &self.limit)
            .finish()
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// No results: an item leaves flight when its closure returns.
    Discard,
    /// Results to the sink in completion order.
    Unordered,
    /// Results to the sink in source order.
    Ordered,
}

impl<'p, I> ParBounded<'p, I>
where
    I: Iterator + Send,
    I::Item: Send,
{
    pub(crate) fn new(joiner: Joiner<'p>, iter: I, limit: usize) -> Self {
        assert!(
            limit > 0,
            "corepool: par_bounded needs a limit of at least 1"
        );
        ParBounded {
            joiner,
            iter,
            limit,
        }
    }

    /// Runs `f` on every item, in parallel, with at most `limit` items in flight; returns when
    /// all are done. A panic in `f` stops the pulling and is re-raised here once the running
    /// calls have finished.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let total = AtomicU64::new(0);
    /// pool.par_bounded(1..=100u64, 8).for_each(|x| { total.fetch_add(x, Ordering::Relaxed); });
    /// assert_eq!(total.into_inner(), 5050);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn for_each<F>(self, f: F)
    where
        F: Fn(I::Item) + Sync,
    {
        self.run(Mode::Discard, &f, |()| {});
    }

    /// Maps every item with `f` in parallel and hands the results to `sink`, **in source
    /// order**, on the driving worker. At most `limit` items are in flight, counting results
    /// that wait for an earlier one. A panic in `f` stops the pulling (the sink may have
    /// received a prefix) and is re-raised here once the running calls have finished.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut out = Vec::new();
    /// pool.par_bounded((0..1000u32).map(|i| i.to_string()), 16)
    ///     .map_ordered(|s| s.len(), |len| out.push(len));
    /// assert_eq!(out.len(), 1000);
    /// assert_eq!(out[999], 3);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_ordered<F, R, S>(self, f: F, sink: S)
    where
        F: Fn(I::Item) -> R + Sync,
        R: Send,
        S: FnMut(R) + Send,
    {
        self.run(Mode::Ordered, &f, sink);
    }

    /// Like [`map_ordered`](Self::map_ordered), but results reach `sink` as soon as they are
    /// ready, in any order.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut sum = 0u64;
    /// pool.par_bounded(0..100u64, 4).map_unordered(|x| x * 2, |y| sum += y);
    /// assert_eq!(sum, 9900);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_unordered<F, R, S>(self, f: F, sink: S)
    where
        F: Fn(I::Item) -> R + Sync,
        R: Send,
        S: FnMut(R) + Send,
    {
        self.run(Mode::Unordered, &f, sink);
    }

    fn run<F, R, S>(self, mode: Mode, f: &F, mut sink: S)
    where
        F: Fn(I::Item) -> R + Sync,
        R: Send,
        S: FnMut(R) + Send,
    {
        let ParBounded {
            joiner,
            iter,
            limit,
        } = self;
        let shared = Shared {
            state: Mutex::new(State {
                in_flight: 0,
                delivered: 0,
                slots: VecDeque::new(),
                events: 0,
                panic: None,
                waker: None,
            }),
        };
        let shared = &shared;
        let panic = joiner.scope(move |s| {
            let mut iter = iter;
            let mut exhausted = false;
            let mut seq: u64 = 0;
            let mut batch: Vec<R> = Vec::new();
            loop {
                let seen = {
                    let mut st = shared.state.lock();
                    if st.panic.is_some() {
                        break;
                    }
                    st.take_ready(mode, &mut batch);
                    if batch.is_empty() {
                        if exhausted && st.in_flight == 0 {
                            break;
                        }
                        if exhausted || st.in_flight >= limit {
                            Some(st.events)
                        } else {
                            None
                        }
                    } else {
                        None
                    }
                };
                if !batch.is_empty() {
                    let n = batch.len();
                    for result in batch.drain(..) {
                        sink(result);
                    }
                    shared.state.lock().in_flight -= n;
                    continue;
                }
                if let Some(seen) = seen {
                    joiner.block_on(Changed { shared, seen });
                    continue;
                }
                // Room for one more: pull it (without the lock: the source may be slow).
                let Some(item) = iter.next() else {
                    exhausted = true;
                    continue;
                };
                shared.state.lock().in_flight += 1;
                let my_seq = seq;
                seq += 1;
                s.spawn(move |_| {
                    let outcome = catch_unwind(AssertUnwindSafe(|| f(item)));
                    let waker = {
                        let mut st = shared.state.lock();
                        st.record(mode, my_seq, outcome);
                        st.events += 1;
                        st.waker.take()
                    };
                    if let Some(waker) = waker {
                        waker.wake();
                    }
                });
            }
            shared.state.lock().panic.take()
        });
        // The scope has waited for every task. Undelivered results drop with `shared`.
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
    }
}

struct Shared<R> {
    state: Mutex<State<R>>,
}

struct State<R> {
    in_flight: usize,
    /// Ordered mode: the sequence number of `slots[0]`.
    delivered: u64,
    /// Results waiting for the sink: by sequence number (ordered) or completion (unordered).
    slots: VecDeque<Option<R>>,
    /// Bumped by every finished task.
    events: u64,
    panic: Option<Payload>,
    waker: Option<Waker>,
}

impl<R> State<R> {
    fn record(&mut self, mode: Mode, seq: u64, outcome: Result<R, Payload>) {
        match outcome {
            Err(payload) => {
                self.in_flight -= 1; // its item is gone
                if self.panic.is_none() {
                    self.panic = Some(payload);
                }
            }
            Ok(_) if mode == Mode::Discard => self.in_flight -= 1,
            Ok(result) if mode == Mode::Unordered => self.slots.push_back(Some(result)),
            Ok(result) => {
                let at = usize::try_from(seq - self.delivered).expect("within the limit");
                if self.slots.len() <= at {
                    self.slots.resize_with(at + 1, || None);
                }
                self.slots[at] = Some(result);
            }
        }
    }

    /// Moves the results the sink may have now into `batch` (they stay counted in flight).
    fn take_ready(&mut self, mode: Mode, batch: &mut Vec<R>) {
        while let Some(Some(_)) = self.slots.front() {
            if let Some(Some(result)) = self.slots.pop_front() {
                batch.push(result);
            }
            if mode == Mode::Ordered {
                self.delivered += 1;
            }
        }
    }
}

/// Ready once a task has finished since the driver saw `events == seen`.
struct Changed<'a, R> {
    shared: &'a Shared<R>,
    seen: u64,
}

impl<R> Future for Changed<'_, R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.shared.state.lock();
        if st.events != self.seen {
            Poll::Ready(())
        } else {
            st.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}

/// A `ParBounded` is also a parallel iterator, so any chain can run over an unsplittable
/// source in order with bounded memory: items are pulled in windows, one window processed while
/// the next is pulled, and at most `limit` items are pulled and not yet consumed at any time.
///
/// ```
/// use corepool::prelude::*;
/// let pool = corepool::Pool::builder().threads(2).build()?;
/// let lines = (0..1000u32).map(|i| format!("{i}"));
/// let total: usize = pool.par_bounded(lines, 64).map(|s| s.len()).sum();
/// assert_eq!(total, (0..1000u32).map(|i| format!("{i}").len()).sum::<usize>());
/// let firsts: Vec<u32> = pool.par_bounded(0..100u32, 8).filter(|x| x % 7 == 0).collect();
/// assert_eq!(firsts, (0..100u32).filter(|x| x % 7 == 0).collect::<Vec<_>>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
impl<I> crate::iter::ParallelIterator for ParBounded<'_, I>
where
    I: Iterator + Send,
    I::Item: Send,
{
    type Item = I::Item;
    fn drive_unindexed<C: crate::iter::plumbing::Consumer<I::Item>>(
        self,
        consumer: C,
    ) -> C::Result {
        let ParBounded {
            joiner,
            iter,
            limit,
        } = self;
        joiner.install(move || crate::iter::sources::windows(iter, limit, &consumer))
    }
}
