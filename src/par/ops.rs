//! The consumers behind `par_for_each`, `par_reduce` and `par_fold`.
//!
//! Invariant: each piece folds its items in order into its own accumulator (started from
//! `identity`), and accumulators are combined left to right, so an associative `combine` gives
//! the sequential answer whatever the splits; nothing is shared between pieces but `&` closures.

use super::source::ParSource;
use super::splitter::{drive, Consumer, Joiner};

struct ForEach<'f, F>(&'f F);

impl<P, F> Consumer<P> for ForEach<'_, F>
where
    P: ParSource,
    F: Fn(P::Item) + Sync,
{
    type Acc = ();
    fn start(&self, _: usize) {}
    #[inline]
    fn fold(&self, (): (), piece: P, _: usize) {
        piece.into_seq().for_each(self.0);
    }
    fn merge(&self, (): (), (): ()) {}
}

/// Calls `f` on every item.
pub(crate) fn for_each<P, F>(joiner: Joiner<'_>, source: P, f: &F)
where
    P: ParSource,
    F: Fn(P::Item) + Sync,
{
    joiner.install(|| drive(joiner, source, &ForEach(f)));
}

struct Fold<'f, ID, FO, C> {
    identity: &'f ID,
    fold: &'f FO,
    combine: &'f C,
}

impl<P, A, ID, FO, C> Consumer<P> for Fold<'_, ID, FO, C>
where
    P: ParSource,
    A: Send,
    ID: Fn() -> A + Sync,
    FO: Fn(A, P::Item) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    type Acc = A;
    fn start(&self, _: usize) -> A {
        (self.identity)()
    }
    #[inline]
    fn fold(&self, acc: A, piece: P, _: usize) -> A {
        piece.into_seq().fold(acc, self.fold)
    }
    fn merge(&self, left: A, right: A) -> A {
        (self.combine)(left, right)
    }
}

/// Folds every item into per-piece accumulators, then combines them in order.
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
    let consumer = Fold {
        identity,
        fold,
        combine,
    };
    joiner.install(|| drive(joiner, source, &consumer))
}
