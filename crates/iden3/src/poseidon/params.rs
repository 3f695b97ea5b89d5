//! Loading of the optimised Poseidon constants from `constants.bin`.
//!
//! The file is embedded at compile time and decoded once, on first use, into Montgomery-form
//! field elements. Layout (written by `interop/iden3/gen-poseidon-constants.mjs`): magic
//! `PSDN`, version `1`, count `16` (u32 LE each); then per width `t = 2..=17`: `t`, `|C|`,
//! `|S|` (u32 LE), then `C`, `M` (t×t row-major), `P` (t×t row-major), `S`, every element as
//! 32 big-endian bytes.

use std::sync::OnceLock;

use ark_ff::{BigInt, PrimeField};

use super::MAX_INPUTS;
use crate::field::Inner;

/// Full rounds (all widths).
pub(super) const FULL_ROUNDS: usize = 8;
/// Partial rounds for `t = 2..=17`.
const PARTIAL_ROUNDS: [usize; 16] = [
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
];

static BLOB: &[u8] = include_bytes!("constants.bin");

/// The constants of one width.
pub(super) struct Params {
    /// State width (`inputs + 1`).
    pub(super) t: usize,
    /// Partial rounds.
    pub(super) partial_rounds: usize,
    /// Folded round constants: `t·(R_F/2 + 1)` for the first half, `R_P` partial, `t·(R_F/2 − 1)`.
    pub(super) c: Vec<Inner>,
    /// MDS matrix, transposed: `m_t[i·t + j] = M[j][i]`.
    pub(super) m_t: Vec<Inner>,
    /// Pre-sparse matrix, transposed like `m_t`.
    pub(super) p_t: Vec<Inner>,
    /// Sparse matrices, `2t − 1` elements per partial round (`ŵ` row then `v` column).
    pub(super) s: Vec<Inner>,
}

/// The parameters for width `t` (`2 ≤ t ≤ 17`; callers guarantee it).
pub(super) fn for_width(t: usize) -> &'static Params {
    static ALL: OnceLock<Vec<Params>> = OnceLock::new();
    let all = ALL.get_or_init(|| match parse(BLOB) {
        Ok(v) => v,
        // The blob is compiled in and covered by the known-answer tests; a failure here is a
        // build defect, not a runtime condition.
        Err(e) => panic!("embedded Poseidon constants are corrupt: {e}"),
    });
    &all[t - 2]
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.buf.len() < n {
            return Err("truncated");
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn u32(&mut self) -> Result<usize, &'static str> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn fe(&mut self) -> Result<Inner, &'static str> {
        let b = self.take(32)?;
        let mut limbs = [0u64; 4];
        for (i, limb) in limbs.iter_mut().enumerate() {
            // Big-endian bytes: limb 0 (least significant) is the last 8 bytes.
            let start = 32 - 8 * (i + 1);
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[start..start + 8]);
            *limb = u64::from_be_bytes(w);
        }
        Inner::from_bigint(BigInt::new(limbs)).ok_or("constant not in field")
    }

    fn fes(&mut self, n: usize) -> Result<Vec<Inner>, &'static str> {
        (0..n).map(|_| self.fe()).collect()
    }
}

fn transpose(m: &[Inner], t: usize) -> Vec<Inner> {
    let mut out = m.to_vec();
    for i in 0..t {
        for j in 0..t {
            out[i * t + j] = m[j * t + i];
        }
    }
    out
}

fn parse(blob: &[u8]) -> Result<Vec<Params>, &'static str> {
    let mut r = Reader { buf: blob };
    if r.take(4)? != b"PSDN" {
        return Err("bad magic");
    }
    if r.u32()? != 1 {
        return Err("unknown version");
    }
    let count = r.u32()?;
    if count != MAX_INPUTS {
        return Err("unexpected number of widths");
    }
    let mut out = Vec::with_capacity(count);
    for (idx, &partial_rounds) in PARTIAL_ROUNDS.iter().enumerate() {
        let t = r.u32()?;
        if t != idx + 2 {
            return Err("widths out of order");
        }
        let nc = r.u32()?;
        let ns = r.u32()?;
        if nc != t * FULL_ROUNDS + partial_rounds || ns != (2 * t - 1) * partial_rounds {
            return Err("constant counts do not match the round numbers");
        }
        let c = r.fes(nc)?;
        let m = r.fes(t * t)?;
        let p = r.fes(t * t)?;
        let s = r.fes(ns)?;
        out.push(Params {
            t,
            partial_rounds,
            c,
            m_t: transpose(&m, t),
            p_t: transpose(&p, t),
            s,
        });
    }
    if !r.buf.is_empty() {
        return Err("trailing bytes");
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn blob_parses() {
        let all = super::parse(super::BLOB);
        assert!(all.is_ok(), "{:?}", all.err());
    }
}
