//! SplitMix64: tiny, seedable, good enough to spread test and benchmark inputs. Shared by the
//! integration tests and `benches/primitives.rs` (which includes this file with `#[path]`).

/// The next output of the generator whose state is `state`, advancing it.
pub fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
