//! Strings as sources: [`ParallelString`]'s `par_chars`, `par_bytes`, `par_lines`,
//! `par_split_whitespace`.
//!
//! Invariant: a piece of text is split only at a point where the sequential iterator would end
//! one item and start the next (a char boundary; just after a `\n`; inside a run of whitespace),
//! so the pieces' items, in order, are exactly the whole text's.

use super::SliceIter;
use crate::iter::adapters::Copied;
use crate::iter::plumbing::{bridge_unindexed, Consumer, Folder, UnindexedProducer};
use crate::iter::{IntoParallelIterator, ParallelIterator};

/// How one kind of text iterator splits and iterates.
#[doc(hidden)]
pub trait TextKind<'a>: Copy + Send + Sync {
    type Item: Send;
    type Seq: Iterator<Item = Self::Item>;
    /// A split point near `mid` (a char boundary of `text`), if there is one.
    fn split_near(text: &str, mid: usize) -> Option<usize>;
    fn seq(text: &'a str) -> Self::Seq;
}

/// Text below this many bytes is not split (one piece is cheap to scan).
const MIN_SPLIT: usize = 256;

/// The pieces of a text iterator: `text` always starts and ends at item boundaries.
struct TextProducer<'a, K> {
    text: &'a str,
    kind: K,
}

impl<'a, K: TextKind<'a>> UnindexedProducer for TextProducer<'a, K> {
    type Item = K::Item;
    fn split(self) -> (Self, Option<Self>) {
        if self.text.len() < MIN_SPLIT {
            return (self, None);
        }
        let mut mid = self.text.len() / 2;
        while !self.text.is_char_boundary(mid) {
            mid += 1;
        }
        match K::split_near(self.text, mid) {
            Some(at) if at > 0 && at < self.text.len() => {
                let (a, b) = self.text.split_at(at);
                let kind = self.kind;
                (
                    TextProducer { text: a, kind },
                    Some(TextProducer { text: b, kind }),
                )
            }
            _ => (self, None),
        }
    }
    fn fold_with<F: Folder<K::Item>>(self, folder: F) -> F {
        folder.consume_iter(K::seq(self.text))
    }
}

/// A parallel iterator over the items of a text.
#[derive(Clone, Copy, Debug)]
pub struct TextIter<'a, K> {
    text: &'a str,
    kind: K,
}

impl<'a, K: TextKind<'a>> ParallelIterator for TextIter<'a, K> {
    type Item = K::Item;
    fn drive_unindexed<C: Consumer<K::Item>>(self, consumer: C) -> C::Result {
        let producer = TextProducer {
            text: self.text,
            kind: self.kind,
        };
        bridge_unindexed(producer, &consumer, 0)
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Chars;
impl<'a> TextKind<'a> for Chars {
    type Item = char;
    type Seq = std::str::Chars<'a>;
    fn split_near(_: &str, mid: usize) -> Option<usize> {
        Some(mid)
    }
    fn seq(text: &'a str) -> Self::Seq {
        text.chars()
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Lines;
impl<'a> TextKind<'a> for Lines {
    type Item = &'a str;
    type Seq = std::str::Lines<'a>;
    fn split_near(text: &str, mid: usize) -> Option<usize> {
        // Just after a line feed: the left piece ends its last line, the right starts one.
        let after = text.as_bytes()[mid..].iter().position(|&b| b == b'\n');
        let before = || text.as_bytes()[..mid].iter().rposition(|&b| b == b'\n');
        after
            .map(|i| mid + i + 1)
            .or_else(|| before().map(|i| i + 1))
    }
    fn seq(text: &'a str) -> Self::Seq {
        text.lines()
    }
}

#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Whitespace;
impl<'a> TextKind<'a> for Whitespace {
    type Item = &'a str;
    type Seq = std::str::SplitWhitespace<'a>;
    fn split_near(text: &str, mid: usize) -> Option<usize> {
        // At a whitespace char: neither side then holds part of the same word.
        let after = text[mid..].char_indices().find(|(_, c)| c.is_whitespace());
        let before = || {
            text[..mid]
                .char_indices()
                .rev()
                .find(|(_, c)| c.is_whitespace())
        };
        after
            .map(|(i, _)| mid + i)
            .or_else(|| before().map(|(i, _)| i))
    }
    fn seq(text: &'a str) -> Self::Seq {
        text.split_whitespace()
    }
}

/// `par_chars`' iterator.
pub type CharsIter<'a> = TextIter<'a, Chars>;
/// `par_lines`' iterator (lines as `str::lines` gives them: no `\n` or `\r\n`).
pub type LinesIter<'a> = TextIter<'a, Lines>;
/// `par_split_whitespace`'s iterator.
pub type SplitWhitespaceIter<'a> = TextIter<'a, Whitespace>;
/// `par_bytes`' iterator (indexed).
pub type BytesIter<'a> = Copied<SliceIter<'a, u8>>;

/// Parallel methods on strings (rayon's `ParallelString`).
///
/// ```
/// use corepool::prelude::*;
/// let text = "one two\nthree four five\nsix";
/// assert_eq!(text.par_lines().count(), 3);
/// assert_eq!(text.par_split_whitespace().count(), 6);
/// assert_eq!(text.par_chars().filter(|c| *c == 'e').count(), 4);
/// assert_eq!(text.par_bytes().filter(|&b| b == b'\n').count(), 2);
/// ```
pub trait ParallelString {
    /// The text itself.
    fn as_parallel_string(&self) -> &str;

    /// Its `char`s.
    fn par_chars(&self) -> CharsIter<'_> {
        TextIter {
            text: self.as_parallel_string(),
            kind: Chars,
        }
    }

    /// Its bytes.
    fn par_bytes(&self) -> BytesIter<'_> {
        self.as_parallel_string()
            .as_bytes()
            .into_par_iter()
            .copied()
    }

    /// Its lines, as `str::lines`.
    fn par_lines(&self) -> LinesIter<'_> {
        TextIter {
            text: self.as_parallel_string(),
            kind: Lines,
        }
    }

    /// Its words, as `str::split_whitespace`.
    fn par_split_whitespace(&self) -> SplitWhitespaceIter<'_> {
        TextIter {
            text: self.as_parallel_string(),
            kind: Whitespace,
        }
    }
}

impl ParallelString for str {
    fn as_parallel_string(&self) -> &str {
        self
    }
}
