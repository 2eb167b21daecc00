//! `use corepool::prelude::*;` brings in the parallel-iterator traits under rayon's names, so
//! code written against `rayon::prelude` compiles against corepool with that one line changed.
//!
//! ```
//! use corepool::prelude::*;
//! let total: u64 = (1..=1000u64).into_par_iter().filter(|x| x % 3 == 0).sum();
//! assert_eq!(total, (1..=1000u64).filter(|x| x % 3 == 0).sum::<u64>());
//! ```

pub use crate::iter::{
    FromParallelIterator, IndexedParallelIterator, IntoParallelIterator, IntoParallelRefIterator,
    IntoParallelRefMutIterator, ParallelBridge, ParallelDrainFull, ParallelDrainRange,
    ParallelExtend, ParallelIterator, ParallelSlice, ParallelSliceMut, ParallelString,
};
