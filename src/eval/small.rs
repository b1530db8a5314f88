//! A vector that keeps its first `N` items inline, so the per-decision bookkeeping of the
//! matcher (bindings, used relationships, token identities) costs no allocation.

#[derive(Clone, Debug)]
pub struct SmallVec<T: Copy + Default, const N: usize> {
    len: usize,
    inline: [T; N],
    /// Non-empty once the items no longer fit inline; then it holds all of them.
    heap: Vec<T>,
}

impl<T: Copy + Default, const N: usize> Default for SmallVec<T, N> {
    fn default() -> Self {
        SmallVec { len: 0, inline: [T::default(); N], heap: Vec::new() }
    }
}

impl<T: Copy + Default + PartialEq, const N: usize> SmallVec<T, N> {
    pub fn filled(value: T, len: usize) -> Self {
        let mut v = Self::default();
        for _ in 0..len {
            v.push(value);
        }
        v
    }

    pub fn as_slice(&self) -> &[T] {
        if self.heap.is_empty() {
            self.inline.get(..self.len).unwrap_or(&[])
        } else {
            &self.heap
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [T] {
        if self.heap.is_empty() {
            self.inline.get_mut(..self.len).unwrap_or(&mut [])
        } else {
            &mut self.heap
        }
    }

    pub fn push(&mut self, x: T) {
        if self.heap.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = x;
                self.len += 1;
                return;
            }
            self.heap.extend_from_slice(&self.inline);
        }
        self.heap.push(x);
        self.len += 1;
    }

    pub fn pop(&mut self) {
        if self.len == 0 {
            return;
        }
        self.len -= 1;
        if !self.heap.is_empty() {
            self.heap.pop();
            if self.len <= N {
                // Back inline so `as_slice` keeps one representation per length.
                for (dst, src) in self.inline.iter_mut().zip(self.heap.iter()) {
                    *dst = *src;
                }
                self.heap.clear();
            }
        }
    }

    pub fn contains(&self, x: &T) -> bool {
        self.as_slice().contains(x)
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        let kept: Vec<T> = self.as_slice().iter().copied().filter(|x| keep(x)).collect();
        *self = Self::default();
        for x in kept {
            self.push(x);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spills_and_returns_inline() {
        let mut v: SmallVec<u32, 2> = SmallVec::default();
        for i in 0..5 {
            v.push(i);
        }
        assert_eq!(v.as_slice(), &[0, 1, 2, 3, 4]);
        for _ in 0..3 {
            v.pop();
        }
        assert_eq!(v.as_slice(), &[0, 1]);
        v.push(9);
        assert_eq!(v.as_slice(), &[0, 1, 9]);
        v.retain(|x| *x != 1);
        assert_eq!(v.as_slice(), &[0, 9]);
    }
}
