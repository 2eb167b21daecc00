//! The bodies of `par_for_each`, `par_map`, `par_reduce` and `par_fold`: each is one chain of
//! the parallel iterators (`corepool::iter`) over the input, run on the joiner's pool.
//!
//! Invariant: each runs on its pool, returns only after every piece has stopped, and either
//! returns the complete result or re-raises the first panic of a user closure (the iterators'
//! guarantees).

use super::source::{ParSource, SourceIter};
use crate::iter::plumbing::joiner::Joiner;
use crate::iter::ParallelIterator;

/// Calls `f` on every item.
pub(crate) fn for_each<P, F>(joiner: Joiner<'_>, source: P, f: &F)
where
    P: ParSource,
    F: Fn(P::Item) + Sync,
{
    joiner.install(|| SourceIter(source).for_each(f));
}

/// Maps every item into a new `Vec`, in input order, written in place.
pub(crate) fn map_collect<P, F, U>(joiner: Joiner<'_>, source: P, f: &F) -> Vec<U>
where
    P: ParSource,
    F: Fn(P::Item) -> U + Sync,
    U: Send,
{
    joiner.install(|| SourceIter(source).map(f).collect())
}

/// Folds every item into per-run accumulators, then combines them in order.
pub(crate) fn fold<P, A, ID, FO, C>(
    joiner: Joiner<'_>,
    source: P,
    identity: &ID,
    fold: &FO,
    combine: &C,
) -> A
where
    P: ParSource,
    A: Send,
    ID: Fn() -> A + Sync,
    FO: Fn(A, P::Item) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    joiner.install(|| {
        crate::iter::consumers::drive_reduce(SourceIter(source), identity, fold, combine)
    })
}
