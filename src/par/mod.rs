//! Data-parallel operations (issue #8): `par_for_each`, `par_map`, `par_reduce`, `par_fold`,
//! `par_chunks(_mut)`, the `par_sort` family and the bounded adapter `par_bounded`, as methods
//! on [`Pool`] and as free functions that use the current worker's pool (the global pool
//! outside any worker).
//!
//! Invariant: every operation runs on its pool (through `install` or `scope`), returns only
//! after every piece of it has stopped, and either returns the complete result or re-raises
//! the first panic of a user closure; nothing else is observable. The splitting lives in
//! `splitter`, the `Vec` building in `collect`, the sorts in `sort`, the bounded adapter in
//! `bounded_iter`.

mod bounded_iter;
mod ops;
mod source;

pub use bounded_iter::ParBounded;
pub use source::{IntoParSource, ParSource};

use crate::iter::plumbing::joiner::Joiner;
use crate::iter::sources::sort;
use crate::Pool;
use source::{Chunks, ChunksMut};
use std::cmp::Ordering;

/// The item type of an input.
type Item<S> = <<S as IntoParSource>::Source as ParSource>::Item;

impl Pool {
    /// Calls `f` on every item of `input` in parallel: `&[T]`/`&Vec<T>` give `&T`, a `&mut`
    /// slice gives `&mut T` (the mutable variant), a `Range<usize>` gives the indices.
    ///
    /// Splitting is adaptive: the input is cut in two only when another worker is taking work,
    /// and otherwise runs in large sequential blocks. A panic in `f` stops the other pieces at
    /// their next block and is re-raised here once all have stopped.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let hits = AtomicUsize::new(0);
    /// pool.par_for_each(0..1000, |i| { if i % 7 == 0 { hits.fetch_add(1, Ordering::Relaxed); } });
    /// assert_eq!(hits.into_inner(), 143);
    ///
    /// let mut v = vec![1u32; 1000];
    /// pool.par_for_each(&mut v, |x| *x *= 3);
    /// assert!(v.iter().all(|&x| x == 3));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_for_each<S, F>(&self, input: S, f: F)
    where
        S: IntoParSource,
        F: Fn(Item<S>) + Sync,
    {
        ops::for_each(Joiner::Pool(self), input.into_par_source(), &f);
    }

    /// Maps every item of `input` with `f` in parallel into a new `Vec`, in input order. A
    /// `Range<usize>` input maps indices (the `par_map_range` of issue #8).
    ///
    /// Results are written straight into the `Vec`. If `f` panics, the results already made
    /// are dropped (each exactly once) and the panic is re-raised here.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let words = ["a", "bb", "ccc"];
    /// assert_eq!(pool.par_map(&words, |w| w.len()), [1, 2, 3]);
    /// assert_eq!(pool.par_map(0..4, |i| i * i), [0, 1, 4, 9]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_map<S, F, U>(&self, input: S, f: F) -> Vec<U>
    where
        S: IntoParSource,
        F: Fn(Item<S>) -> U + Sync,
        U: Send,
    {
        ops::map_collect(Joiner::Pool(self), input.into_par_source(), &f)
    }

    /// Maps every item to an `A` and combines them with an associative `combine`; `identity()`
    /// must be its neutral element (it may be called once per piece). Items are combined in
    /// input order, so `combine` need not be commutative.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let v: Vec<u64> = (1..=1000).collect();
    /// assert_eq!(pool.par_reduce(&v, || 0, |&x| x, |a, b| a + b), 500_500);
    /// let max = pool.par_reduce(&v, || 0, |&x| x % 97, u64::max);
    /// assert_eq!(max, 96);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_reduce<S, A, ID, M, C>(&self, input: S, identity: ID, map: M, combine: C) -> A
    where
        S: IntoParSource,
        A: Send,
        ID: Fn() -> A + Sync,
        M: Fn(Item<S>) -> A + Sync,
        C: Fn(A, A) -> A + Sync,
    {
        let fold = |acc, item| combine(acc, map(item));
        ops::fold(
            Joiner::Pool(self),
            input.into_par_source(),
            &identity,
            &fold,
            &combine,
        )
    }

    /// Folds items into per-piece accumulators (each started with `identity()`) and combines
    /// those in input order: the shape for histograms and other accumulators too big to make
    /// one per item.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 256) as u8).collect();
    /// let hist = pool.par_fold(
    ///     &bytes,
    ///     || vec![0u32; 256],
    ///     |mut h, &b| { h[b as usize] += 1; h },
    ///     |mut a, b| { a.iter_mut().zip(b).for_each(|(x, y)| *x += y); a },
    /// );
    /// assert_eq!(hist[0], 40);
    /// assert_eq!(hist.iter().sum::<u32>(), 10_000);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_fold<S, A, ID, FO, C>(&self, input: S, identity: ID, fold: FO, combine: C) -> A
    where
        S: IntoParSource,
        A: Send,
        ID: Fn() -> A + Sync,
        FO: Fn(A, Item<S>) -> A + Sync,
        C: Fn(A, A) -> A + Sync,
    {
        ops::fold(
            Joiner::Pool(self),
            input.into_par_source(),
            &identity,
            &fold,
            &combine,
        )
    }

    /// Calls `f` on every `chunk_size`-element chunk of `slice` (the last may be shorter), in
    /// parallel.
    ///
    /// # Panics
    /// If `chunk_size` is 0.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let v: Vec<u64> = (0..1000).collect();
    /// let total = AtomicU64::new(0);
    /// pool.par_chunks(&v, 64, |c| { total.fetch_add(c.iter().sum(), Ordering::Relaxed); });
    /// assert_eq!(total.into_inner(), 499_500);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_chunks<T, F>(&self, slice: &[T], chunk_size: usize, f: F)
    where
        T: Sync,
        F: Fn(&[T]) + Sync,
    {
        assert!(
            chunk_size > 0,
            "corepool: par_chunks needs a chunk size above 0"
        );
        let source = Chunks {
            slice,
            size: chunk_size,
        };
        ops::for_each(Joiner::Pool(self), source, &f);
    }

    /// Calls `f` on every `chunk_size`-element mutable chunk of `slice`, in parallel.
    ///
    /// # Panics
    /// If `chunk_size` is 0.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v = vec![0u32; 10];
    /// pool.par_chunks_mut(&mut v, 4, |c| { let n = c.len() as u32; c.fill(n); });
    /// assert_eq!(v, [4, 4, 4, 4, 4, 4, 4, 4, 2, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_chunks_mut<T, F>(&self, slice: &mut [T], chunk_size: usize, f: F)
    where
        T: Send,
        F: Fn(&mut [T]) + Sync,
    {
        assert!(
            chunk_size > 0,
            "corepool: par_chunks_mut needs a chunk size above 0"
        );
        let source = ChunksMut {
            slice,
            size: chunk_size,
        };
        ops::for_each(Joiner::Pool(self), source, &f);
    }

    /// Sorts `v` in parallel, **stably** (equal elements keep their order). Allocates a buffer
    /// of `v.len()` elements. If `Ord` panics, `v` is left a permutation of its elements and the
    /// panic is re-raised.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v: Vec<u32> = (0..100_000).rev().collect();
    /// pool.par_sort(&mut v);
    /// assert!(v.windows(2).all(|w| w[0] <= w[1]));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort<T: Ord + Send>(&self, v: &mut [T]) {
        sort::stable(Joiner::Pool(self), v, &T::cmp);
    }

    /// Sorts `v` stably in parallel with a comparator.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v = vec![(1, 'a'), (0, 'b'), (1, 'c'), (0, 'd')];
    /// pool.par_sort_by(&mut v, |a, b| a.0.cmp(&b.0));
    /// assert_eq!(v, [(0, 'b'), (0, 'd'), (1, 'a'), (1, 'c')]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort_by<T, F>(&self, v: &mut [T], compare: F)
    where
        T: Send,
        F: Fn(&T, &T) -> Ordering + Sync,
    {
        sort::stable(Joiner::Pool(self), v, &compare);
    }

    /// Sorts `v` stably in parallel by a key (computed on every comparison).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v = vec!["ccc", "a", "bb", "d"];
    /// pool.par_sort_by_key(&mut v, |s| s.len());
    /// assert_eq!(v, ["a", "d", "bb", "ccc"]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort_by_key<T, K, F>(&self, v: &mut [T], key: F)
    where
        T: Send,
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        sort::stable(Joiner::Pool(self), v, &|a: &T, b: &T| key(a).cmp(&key(b)));
    }

    /// Sorts `v` in parallel, in place, without keeping equal elements in order: median splits
    /// (`select_nth_unstable`) fork the halves, std's unstable sort finishes them.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v: Vec<i64> = (0..100_000).map(|i| (i * 7919) % 10_007).collect();
    /// pool.par_sort_unstable(&mut v);
    /// assert!(v.windows(2).all(|w| w[0] <= w[1]));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort_unstable<T: Ord + Send>(&self, v: &mut [T]) {
        sort::unstable(Joiner::Pool(self), v, &T::cmp);
    }

    /// [`par_sort_unstable`](Self::par_sort_unstable) with a comparator.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v = vec![3, 1, 2];
    /// pool.par_sort_unstable_by(&mut v, |a, b| b.cmp(a));
    /// assert_eq!(v, [3, 2, 1]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort_unstable_by<T, F>(&self, v: &mut [T], compare: F)
    where
        T: Send,
        F: Fn(&T, &T) -> Ordering + Sync,
    {
        sort::unstable(Joiner::Pool(self), v, &compare);
    }

    /// [`par_sort_unstable`](Self::par_sort_unstable) by a key.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut v = vec![-3i32, 1, -2];
    /// pool.par_sort_unstable_by_key(&mut v, |x| x.abs());
    /// assert_eq!(v, [1, -2, -3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_sort_unstable_by_key<T, K, F>(&self, v: &mut [T], key: F)
    where
        T: Send,
        K: Ord,
        F: Fn(&T) -> K + Sync,
    {
        sort::unstable(Joiner::Pool(self), v, &|a: &T, b: &T| key(a).cmp(&key(b)));
    }

    /// Processes an iterator that cannot be split (lines of a reader, records from a socket)
    /// on this pool with at most `limit` items in flight: see [`ParBounded`].
    ///
    /// # Panics
    /// If `limit` is 0.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().threads(2).build()?;
    /// let mut lens = Vec::new();
    /// pool.par_bounded(["a", "bb", "ccc"], 2).map_ordered(str::len, |n| lens.push(n));
    /// assert_eq!(lens, [1, 2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_bounded<I>(&self, iter: I, limit: usize) -> ParBounded<'_, I::IntoIter>
    where
        I: IntoIterator,
        I::IntoIter: Send,
        I::Item: Send,
    {
        ParBounded::new(Joiner::Pool(self), iter.into_iter(), limit)
    }
}

/// [`Pool::par_for_each`] on the current worker's pool (the global pool outside any worker).
///
/// ```
/// let mut v = vec![1, 2, 3];
/// corepool::par_for_each(&mut v, |x| *x *= 2);
/// assert_eq!(v, [2, 4, 6]);
/// ```
pub fn par_for_each<S, F>(input: S, f: F)
where
    S: IntoParSource,
    F: Fn(Item<S>) + Sync,
{
    ops::for_each(Joiner::Current, input.into_par_source(), &f);
}

/// [`Pool::par_map`] on the current worker's pool (the global pool outside any worker).
///
/// ```
/// assert_eq!(corepool::par_map(&[1, 2, 3], |x| x + 1), [2, 3, 4]);
/// assert_eq!(corepool::par_map(0..3, |i| i * 2), [0, 2, 4]);
/// ```
pub fn par_map<S, F, U>(input: S, f: F) -> Vec<U>
where
    S: IntoParSource,
    F: Fn(Item<S>) -> U + Sync,
    U: Send,
{
    ops::map_collect(Joiner::Current, input.into_par_source(), &f)
}

/// [`Pool::par_reduce`] on the current worker's pool (the global pool outside any worker).
///
/// ```
/// let sum = corepool::par_reduce(0..101, || 0, |i| i, |a, b| a + b);
/// assert_eq!(sum, 5050);
/// ```
pub fn par_reduce<S, A, ID, M, C>(input: S, identity: ID, map: M, combine: C) -> A
where
    S: IntoParSource,
    A: Send,
    ID: Fn() -> A + Sync,
    M: Fn(Item<S>) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    let fold = |acc, item| combine(acc, map(item));
    ops::fold(
        Joiner::Current,
        input.into_par_source(),
        &identity,
        &fold,
        &combine,
    )
}

/// [`Pool::par_fold`] on the current worker's pool (the global pool outside any worker).
///
/// ```
/// let evens = corepool::par_fold(0..100, || 0, |n, i| n + (i % 2 == 0) as u32, |a, b| a + b);
/// assert_eq!(evens, 50);
/// ```
pub fn par_fold<S, A, ID, FO, C>(input: S, identity: ID, fold: FO, combine: C) -> A
where
    S: IntoParSource,
    A: Send,
    ID: Fn() -> A + Sync,
    FO: Fn(A, Item<S>) -> A + Sync,
    C: Fn(A, A) -> A + Sync,
{
    ops::fold(
        Joiner::Current,
        input.into_par_source(),
        &identity,
        &fold,
        &combine,
    )
}

/// [`Pool::par_chunks`] on the current worker's pool (the global pool outside any worker).
///
/// # Panics
/// If `chunk_size` is 0.
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// let n = AtomicUsize::new(0);
/// corepool::par_chunks(&[0u8; 10], 3, |_| { n.fetch_add(1, Ordering::Relaxed); });
/// assert_eq!(n.into_inner(), 4);
/// ```
pub fn par_chunks<T, F>(slice: &[T], chunk_size: usize, f: F)
where
    T: Sync,
    F: Fn(&[T]) + Sync,
{
    assert!(
        chunk_size > 0,
        "corepool: par_chunks needs a chunk size above 0"
    );
    let source = Chunks {
        slice,
        size: chunk_size,
    };
    ops::for_each(Joiner::Current, source, &f);
}

/// [`Pool::par_chunks_mut`] on the current worker's pool (the global pool outside any worker).
///
/// # Panics
/// If `chunk_size` is 0.
///
/// ```
/// let mut v = [1, 2, 3, 4, 5];
/// corepool::par_chunks_mut(&mut v, 2, |c| c.reverse());
/// assert_eq!(v, [2, 1, 4, 3, 5]);
/// ```
pub fn par_chunks_mut<T, F>(slice: &mut [T], chunk_size: usize, f: F)
where
    T: Send,
    F: Fn(&mut [T]) + Sync,
{
    assert!(
        chunk_size > 0,
        "corepool: par_chunks_mut needs a chunk size above 0"
    );
    let source = ChunksMut {
        slice,
        size: chunk_size,
    };
    ops::for_each(Joiner::Current, source, &f);
}

/// [`Pool::par_sort`] (stable) on the current worker's pool (the global pool outside any
/// worker).
///
/// ```
/// let mut v = vec![3, 1, 2];
/// corepool::par_sort(&mut v);
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn par_sort<T: Ord + Send>(v: &mut [T]) {
    sort::stable(Joiner::Current, v, &T::cmp);
}

/// [`Pool::par_sort_by`] (stable) on the current worker's pool.
///
/// ```
/// let mut v = vec![(1, 'x'), (0, 'y'), (1, 'z')];
/// corepool::par_sort_by(&mut v, |a, b| a.0.cmp(&b.0));
/// assert_eq!(v, [(0, 'y'), (1, 'x'), (1, 'z')]);
/// ```
pub fn par_sort_by<T, F>(v: &mut [T], compare: F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    sort::stable(Joiner::Current, v, &compare);
}

/// [`Pool::par_sort_by_key`] (stable) on the current worker's pool.
///
/// ```
/// let mut v = vec!["bb", "a", "cc"];
/// corepool::par_sort_by_key(&mut v, |s| s.len());
/// assert_eq!(v, ["a", "bb", "cc"]);
/// ```
pub fn par_sort_by_key<T, K, F>(v: &mut [T], key: F)
where
    T: Send,
    K: Ord,
    F: Fn(&T) -> K + Sync,
{
    sort::stable(Joiner::Current, v, &|a: &T, b: &T| key(a).cmp(&key(b)));
}

/// [`Pool::par_sort_unstable`] on the current worker's pool.
///
/// ```
/// let mut v = vec![3, 1, 2];
/// corepool::par_sort_unstable(&mut v);
/// assert_eq!(v, [1, 2, 3]);
/// ```
pub fn par_sort_unstable<T: Ord + Send>(v: &mut [T]) {
    sort::unstable(Joiner::Current, v, &T::cmp);
}

/// [`Pool::par_sort_unstable_by`] on the current worker's pool.
///
/// ```
/// let mut v = vec![1, 3, 2];
/// corepool::par_sort_unstable_by(&mut v, |a, b| b.cmp(a));
/// assert_eq!(v, [3, 2, 1]);
/// ```
pub fn par_sort_unstable_by<T, F>(v: &mut [T], compare: F)
where
    T: Send,
    F: Fn(&T, &T) -> Ordering + Sync,
{
    sort::unstable(Joiner::Current, v, &compare);
}

/// [`Pool::par_sort_unstable_by_key`] on the current worker's pool.
///
/// ```
/// let mut v = vec![-2i32, 1, -3];
/// corepool::par_sort_unstable_by_key(&mut v, |x| x.abs());
/// assert_eq!(v, [1, -2, -3]);
/// ```
pub fn par_sort_unstable_by_key<T, K, F>(v: &mut [T], key: F)
where
    T: Send,
    K: Ord,
    F: Fn(&T) -> K + Sync,
{
    sort::unstable(Joiner::Current, v, &|a: &T, b: &T| key(a).cmp(&key(b)));
}

/// [`Pool::par_bounded`] on the current worker's pool (the global pool outside any worker).
///
/// # Panics
/// If `limit` is 0.
///
/// ```
/// let mut out = Vec::new();
/// corepool::par_bounded(0..5u32, 2).map_ordered(|x| x * 10, |y| out.push(y));
/// assert_eq!(out, [0, 10, 20, 30, 40]);
/// ```
pub fn par_bounded<I>(iter: I, limit: usize) -> ParBounded<'static, I::IntoIter>
where
    I: IntoIterator,
    I::IntoIter: Send,
    I::Item: Send,
{
    ParBounded::new(Joiner::Current, iter.into_iter(), limit)
}
