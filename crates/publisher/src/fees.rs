//! Fee policy: the fees of a transition's first transaction and of its replacements. Pure, so
//! it is tested without a chain.

use claimd_chain::{FeeSuggestion, TxParams};

/// The first transaction: the chain's suggestion, capped by the ceiling (the tip never above
/// the fee cap).
pub(crate) fn first(
    nonce: u64,
    gas_limit: u64,
    suggested: FeeSuggestion,
    ceiling: u128,
) -> TxParams {
    let max_fee_per_gas = suggested.max_fee_per_gas.min(ceiling);
    TxParams {
        nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas: suggested.max_priority_fee_per_gas.min(max_fee_per_gas),
    }
}

/// What replacing a stuck transaction can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replacement {
    /// Sign again with these params (same nonce and gas limit).
    Bump(TxParams),
    /// The ceiling leaves no room for a raise pools would accept: keep waiting.
    AtCeiling,
}

/// The replacement of `previous`: both fees raised by at least `bump_permille`, and at least
/// the chain's current suggestion (the base fee may have risen further), within the ceiling.
pub(crate) fn replacement(
    previous: TxParams,
    suggested: FeeSuggestion,
    bump_permille: u32,
    ceiling: u128,
) -> Replacement {
    let least = previous.bumped_permille(bump_permille);
    let max_fee_per_gas = least
        .max_fee_per_gas
        .max(suggested.max_fee_per_gas)
        .min(ceiling);
    let max_priority_fee_per_gas = least
        .max_priority_fee_per_gas
        .max(suggested.max_priority_fee_per_gas)
        .min(max_fee_per_gas);
    if max_fee_per_gas < least.max_fee_per_gas
        || max_priority_fee_per_gas < least.max_priority_fee_per_gas
    {
        return Replacement::AtCeiling;
    }
    Replacement::Bump(TxParams {
        max_fee_per_gas,
        max_priority_fee_per_gas,
        ..previous
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    fn suggestion(base: u128, tip: u128) -> FeeSuggestion {
        FeeSuggestion::from_base_and_tip(base * GWEI, tip * GWEI)
    }

    #[test]
    fn the_first_transaction_takes_the_suggestion_within_the_ceiling() {
        let p = first(7, 300_000, suggestion(10, 1), 1000 * GWEI);
        assert_eq!(
            (
                p.nonce,
                p.gas_limit,
                p.max_fee_per_gas,
                p.max_priority_fee_per_gas
            ),
            (7, 300_000, 21 * GWEI, GWEI)
        );
        let capped = first(7, 300_000, suggestion(10, 30), 20 * GWEI);
        assert_eq!(capped.max_fee_per_gas, 20 * GWEI);
        assert_eq!(
            capped.max_priority_fee_per_gas,
            20 * GWEI,
            "tip within the cap"
        );
    }

    /// The transaction the replacement cases replace: nonce 3, 10 gwei base fee and 1 tip.
    fn stuck() -> TxParams {
        first(3, 300_000, suggestion(10, 1), 1000 * GWEI)
    }

    /// The replacement of `prev` with a 12.5% bump, in a case that leaves room for one under
    /// `ceiling`.
    fn bumped(prev: TxParams, suggested: FeeSuggestion, ceiling: u128) -> TxParams {
        match replacement(prev, suggested, 125, ceiling) {
            Replacement::Bump(r) => r,
            Replacement::AtCeiling => panic!("room to bump"),
        }
    }

    #[test]
    fn a_replacement_raises_both_fees_by_at_least_the_bump() {
        let prev = stuck();
        // The chain suggests less than before: the bump decides.
        let r = bumped(prev, suggestion(1, 1), 1000 * GWEI);
        assert_eq!(r.max_fee_per_gas, 21 * GWEI + 21 * GWEI / 8);
        assert_eq!(r.max_priority_fee_per_gas, GWEI + GWEI / 8);
        assert_eq!((r.nonce, r.gas_limit), (3, 300_000));
        // Both at least +10% (what geth requires).
        assert!(r.max_fee_per_gas * 10 >= prev.max_fee_per_gas * 11);
        assert!(r.max_priority_fee_per_gas * 10 >= prev.max_priority_fee_per_gas * 11);
    }

    #[test]
    fn a_replacement_follows_a_base_fee_that_rose_more_than_the_bump() {
        let r = bumped(stuck(), suggestion(100, 2), 1000 * GWEI);
        assert_eq!(r.max_fee_per_gas, 202 * GWEI);
        assert_eq!(r.max_priority_fee_per_gas, 2 * GWEI);
    }

    #[test]
    fn the_ceiling_caps_replacements_and_then_stops_them() {
        let r = bumped(stuck(), suggestion(100, 1), 50 * GWEI);
        assert_eq!(r.max_fee_per_gas, 50 * GWEI);
        // At the ceiling, no raise is possible any more.
        assert_eq!(
            replacement(r, suggestion(100, 1), 125, 50 * GWEI),
            Replacement::AtCeiling
        );
        // Nor when the ceiling leaves less than the bump.
        let near = TxParams {
            max_fee_per_gas: 48 * GWEI,
            ..r
        };
        assert_eq!(
            replacement(near, suggestion(1, 1), 125, 50 * GWEI),
            Replacement::AtCeiling
        );
    }
}
