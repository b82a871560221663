//! The texts of a chunk's pooled Security events (see [`crate::sources::Pooled`]), each once,
//! found again by the raw substitution value they were read from: a chunk's records repeat
//! the same machine, domains, accounts and processes, so each value is decoded and cleaned once
//! per chunk rather than once per record.

use crate::model::Text;

pub(super) struct Pool<'c> {
    pub(super) texts: Vec<Text>,
    /// Raw values seen: hash, type, bytes (in the chunk), and the number of their text (`None`
    /// when it reads as nothing).
    seen: Vec<(u64, u8, &'c [u8], Option<u32>)>,
    /// Open addressing over `seen`: 0 for a free slot, else the index + 1.
    slots: Vec<u32>,
    /// Values that are not one substitution (a template's literal text, or several parts):
    /// their text, and its number. A chunk has a handful.
    other: Vec<(String, Option<u32>)>,
    /// The last value seen in each place (a field of the event), and its number: records in a
    /// row repeat most of them, and comparing to it is cheaper than a lookup.
    last: [(u8, &'c [u8], Option<u32>); PLACES],
}

/// Places [`Pool::intern`] remembers the last value of.
pub(super) const PLACES: usize = 24;

impl Default for Pool<'_> {
    /// Sized for a chunk's usual few dozen values, so it seldom grows.
    fn default() -> Self {
        Pool {
            texts: Vec::with_capacity(32),
            seen: Vec::with_capacity(64),
            slots: vec![0; 256],
            other: Vec::new(),
            last: [(0, &[], None); PLACES],
        }
    }
}

impl<'c> Pool<'c> {
    /// The number of the text of the value of type `ty` with bytes `b` in `place` (`clean`
    /// makes it, the first time the value is seen in the chunk), `None` when it reads as
    /// nothing.
    pub(super) fn intern(
        &mut self,
        place: usize,
        ty: u8,
        b: &'c [u8],
        clean: impl FnOnce() -> Option<Text>,
    ) -> Option<u32> {
        if let Some((t, bb, n)) = self.last.get(place) {
            if *t == ty && *bb == b && !b.is_empty() {
                return *n;
            }
        }
        let n = self.lookup(ty, b, clean);
        if let Some(last) = self.last.get_mut(place) {
            *last = (ty, b, n);
        }
        n
    }

    fn lookup(&mut self, ty: u8, b: &'c [u8], clean: impl FnOnce() -> Option<Text>) -> Option<u32> {
        if self.slots.len() < 2 * (self.seen.len() + 1) {
            self.grow();
        }
        let h = hash(ty, b);
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        loop {
            match self.slots[i] {
                0 => break,
                k => {
                    let (hh, t, bb, n) = self.seen[k as usize - 1];
                    if hh == h && t == ty && bb == b {
                        return n;
                    }
                }
            }
            i = (i + 1) & mask;
        }
        let n = self.add(clean());
        self.seen.push((h, ty, b, n));
        // The table holds fewer entries than slots, and a chunk far fewer than 2^32.
        self.slots[i] = u32::try_from(self.seen.len()).unwrap_or(u32::MAX);
        n
    }

    /// The number of the text of a value that is not one substitution, given as text (`clean`
    /// cleans it, the first time it is seen in the chunk).
    pub(super) fn intern_text(
        &mut self,
        raw: &str,
        clean: impl FnOnce() -> Option<Text>,
    ) -> Option<u32> {
        if let Some((_, n)) = self.other.iter().find(|(t, _)| t == raw) {
            return *n;
        }
        let n = self.add(clean());
        self.other.push((raw.to_string(), n));
        n
    }

    fn add(&mut self, t: Option<Text>) -> Option<u32> {
        let n = u32::try_from(self.texts.len()).ok()?;
        self.texts.push(t?);
        Some(n)
    }

    fn grow(&mut self) {
        let size = (4 * (self.seen.len() + 1)).next_power_of_two().max(64);
        self.slots = vec![0; size];
        for (k, (h, ..)) in self.seen.iter().enumerate() {
            let mut i = *h as usize & (size - 1);
            while self.slots[i] != 0 {
                i = (i + 1) & (size - 1);
            }
            self.slots[i] = u32::try_from(k + 1).unwrap_or(u32::MAX);
        }
    }
}

/// A multiplicative hash of a value, eight bytes at a time.
fn hash(ty: u8, b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = (b.len() as u64) << 8 | u64::from(ty);
    let mut words = b.chunks_exact(8);
    for w in words.by_ref() {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(5) ^ x).wrapping_mul(K);
    }
    let rest = words.remainder();
    let mut last = 0u64;
    for (i, x) in rest.iter().enumerate() {
        last |= u64::from(*x) << (8 * i);
    }
    (h.rotate_left(5) ^ last).wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_cleaned_once_and_numbered_by_its_text() {
        let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
        let words: Vec<Vec<u8>> = (0..300).map(|i| utf16(&format!("user {i}"))).collect();
        let mut pool = Pool::default();
        let mut cleaned = 0;
        let mut first = Vec::new();
        for w in &words {
            first.push(pool.intern(0, 1, w, || {
                cleaned += 1;
                Some(Text::from(String::from_utf16_lossy(
                    &w.chunks(2)
                        .map(|c| u16::from_le_bytes([c[0], c[1]]))
                        .collect::<Vec<_>>(),
                )))
            }));
        }
        for (w, n) in words.iter().zip(&first) {
            assert_eq!(pool.intern(1, 1, w, || panic!("cleaned twice")), *n);
            // Another type with the same bytes is another value.
            assert_ne!(pool.intern(1, 2, w, || Some(Text::from("other"))), *n);
        }
        assert_eq!(cleaned, 300);
        for (i, n) in first.iter().enumerate() {
            assert_eq!(pool.texts[n.unwrap() as usize], format!("user {i}"));
        }
        assert_eq!(pool.intern(2, 1, b"-\0", || None), None);
    }
}
