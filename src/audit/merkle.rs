//! The RFC 9162 (Certificate Transparency v2) Merkle tree over the audit log:
//! root hashes, inclusion proofs and consistency proofs, and the verification
//! algorithms a third party runs on them.
//!
//! Leaf hash `SHA-256(0x00 || entry)`, node hash `SHA-256(0x01 || l || r)`.
//! The tree keeps the hash of every complete power-of-two subtree in memory
//! (level `h` holds the subtrees of `2^h` leaves), so the hash of any range
//! the RFC's recursion asks for costs O(log n) and a new leaf costs amortised
//! O(1). About 64 bytes per record.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(entry);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// `SHA-256()` of nothing: the root of the empty tree.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("tree size {requested} is larger than the log ({size})")]
    SizeOutOfRange { requested: u64, size: u64 },
    #[error("first size {first} is larger than second size {second}")]
    SizesReversed { first: u64, second: u64 },
    #[error("proof has the wrong number of hashes")]
    WrongLength,
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

#[derive(Debug, Default, Clone)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

/// The largest power of two strictly smaller than `n` (n > 1).
fn split(n: u64) -> u64 {
    debug_assert!(n > 1);
    1 << (63 - (n - 1).leading_zeros())
}

impl Tree {
    pub fn new() -> Self {
        Self { levels: vec![Vec::new()] }
    }

    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    pub fn leaf(&self, index: u64) -> Option<Hash> {
        self.levels.first()?.get(index as usize).copied()
    }

    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut h = 0;
        // While the level just grown has an even length, its last two nodes
        // complete a subtree one level up.
        while self.levels[h].len().is_multiple_of(2) {
            let n = self.levels[h].len();
            let parent = node_hash(&self.levels[h][n - 2], &self.levels[h][n - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
    }

    /// MTH(D[lo:hi]); `lo` is always aligned to the size of the largest
    /// complete subtree in the range, as the RFC's recursion guarantees.
    fn range_hash(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n == 0 {
            return empty_root();
        }
        if n.is_power_of_two() && lo.is_multiple_of(n) {
            let h = n.trailing_zeros() as usize;
            return self.levels[h][(lo >> h) as usize];
        }
        let k = split(n);
        node_hash(&self.range_hash(lo, lo + k), &self.range_hash(lo + k, hi))
    }

    /// The root of the tree made of the first `size` leaves.
    pub fn root(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeOutOfRange { requested: size, size: self.size() });
        }
        Ok(self.range_hash(0, size))
    }

    /// PATH(m, D[0:size]) from RFC 9162 section 2.1.3.1.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeOutOfRange { requested: size, size: self.size() });
        }
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Ok(proof)
    }

    fn path(&self, m: u64, lo: u64, hi: u64, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, lo, lo + k, out);
            out.push(self.range_hash(lo + k, hi));
        } else {
            self.path(m - k, lo + k, hi, out);
            out.push(self.range_hash(lo, lo + k));
        }
    }

    /// PROOF(first, D[0:second]) from RFC 9162 section 2.1.4.1.
    pub fn consistency_proof(&self, first: u64, second: u64) -> Result<Vec<Hash>, ProofError> {
        if second > self.size() {
            return Err(ProofError::SizeOutOfRange { requested: second, size: self.size() });
        }
        if first > second {
            return Err(ProofError::SizesReversed { first, second });
        }
        let mut proof = Vec::new();
        if first > 0 && first < second {
            self.subproof(first, 0, second, true, &mut proof);
        }
        Ok(proof)
    }

    fn subproof(&self, m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<Hash>) {
        let n = hi - lo;
        if m == n {
            if !complete {
                out.push(self.range_hash(lo, hi));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, lo, lo + k, complete, out);
            out.push(self.range_hash(lo + k, hi));
        } else {
            self.subproof(m - k, lo + k, hi, false, out);
            out.push(self.range_hash(lo, lo + k));
        }
    }
}

/// RFC 9162 section 2.1.3.2: checks that `leaf` is at `index` in the tree of
/// `size` leaves whose root is `root`.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut f_n, mut s_n) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r != root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// RFC 9162 section 2.1.4.2: checks that the tree of `first` leaves with
/// `first_root` is a prefix of the tree of `second` leaves with `second_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if first > second {
        return Err(ProofError::SizesReversed { first, second });
    }
    if first == second {
        return if proof.is_empty() && first_root == second_root {
            Ok(())
        } else if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if first == 0 {
        return if proof.is_empty() { Ok(()) } else { Err(ProofError::WrongLength) };
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let (mut f_n, mut s_n) = (first - 1, second - 1);
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut iter = path.into_iter();
    let start = iter.next().ok_or(ProofError::WrongLength)?;
    let (mut fr, mut sr) = (start, start);
    for c in iter {
        if s_n == 0 {
            return Err(ProofError::WrongLength);
        }
        if f_n & 1 == 1 || f_n == s_n {
            fr = node_hash(&c, &fr);
            sr = node_hash(&c, &sr);
            if f_n & 1 == 0 {
                while f_n & 1 == 0 && f_n != 0 {
                    f_n >>= 1;
                    s_n >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, &c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != first_root || &sr != second_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The RFC's definitions, written as directly as possible, to check the
    /// optimised tree against.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> (Tree, Vec<Hash>) {
        let mut t = Tree::new();
        let mut v = Vec::new();
        for i in 0..n {
            let l = leaf_hash(format!("entry {i}").as_bytes());
            t.push(l);
            v.push(l);
        }
        (t, v)
    }

    #[test]
    fn known_answers() {
        // The empty root is SHA-256 of the empty string.
        assert_eq!(hex::encode(empty_root()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        // One leaf: its root is its leaf hash, 0x00-prefixed.
        assert_eq!(hex::encode(leaf_hash(b"")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn roots_match_the_rfc_definition(n in 0u64..300) {
            let (t, v) = leaves(n);
            for size in [0, n / 3, n / 2, n] {
                prop_assert_eq!(t.root(size).unwrap(), mth(&v[..size as usize]));
            }
        }

        #[test]
        fn inclusion_proofs_verify_and_reject_tampering(n in 1u64..300, seed in any::<u64>()) {
            let (t, v) = leaves(n);
            let size = 1 + seed % n;
            let index = (seed / 7) % size;
            let root = t.root(size).unwrap();
            let proof = t.inclusion_proof(index, size).unwrap();
            prop_assert!(verify_inclusion(&v[index as usize], index, size, &proof, &root).is_ok());
            let other = leaf_hash(b"forged");
            prop_assert!(verify_inclusion(&other, index, size, &proof, &root).is_err());
            if size > 1 {
                let wrong_index = (index + 1) % size;
                prop_assert!(verify_inclusion(&v[index as usize], wrong_index, size, &proof, &root).is_err());
                let mut bad = proof.clone();
                bad[0][0] ^= 1;
                prop_assert!(verify_inclusion(&v[index as usize], index, size, &bad, &root).is_err());
            }
        }

        #[test]
        fn consistency_proofs_verify_and_reject_tampering(n in 1u64..300, seed in any::<u64>()) {
            let (t, _) = leaves(n);
            let second = 1 + seed % n;
            let first = (seed / 11) % (second + 1);
            let proof = t.consistency_proof(first, second).unwrap();
            let (r1, r2) = (t.root(first).unwrap(), t.root(second).unwrap());
            prop_assert!(verify_consistency(first, second, &r1, &r2, &proof).is_ok());
            if first > 0 && first < second {
                let forged = leaf_hash(b"forged");
                prop_assert!(verify_consistency(first, second, &forged, &r2, &proof).is_err());
                prop_assert!(verify_consistency(first, second, &r1, &forged, &proof).is_err());
                let mut bad = proof.clone();
                bad[0][31] ^= 0x80;
                prop_assert!(verify_consistency(first, second, &r1, &r2, &bad).is_err());
            }
        }
    }
}
