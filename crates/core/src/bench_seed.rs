//! What the adapters' `bench_seed` (cargo feature `bench-seed` of `claimd-store-sqlite` and
//! `claimd-store-postgres`, enabled only by claimd's benches) insert, and the rules that
//! assign the seeded rows. Each adapter writes the rows with its own SQL; the plan lives here
//! so that both seed the same rows, row for row, and a bench can check the catalog counts by
//! one rule whatever the backend.

use crate::store::StoreError;

/// What to insert. Row `k` (0-based) of the credentials belongs to user `k % users` and to
/// program `((k % users) + (k / users) * stride) % programs` of the programs in byte order of
/// their ids, where `stride` is [`stride`]: no user gets two credentials of one program.
#[derive(Debug, Clone)]
pub struct Seed {
    /// Makes this seed's ids, emails and hashes distinct from another seed's (8 hex digits).
    pub tag: u32,
    pub users: u64,
    pub credentials: u64,
    /// Credentials are created evenly over `[until_ms - span_ms, until_ms)` (Unix ms).
    pub until_ms: i64,
    pub span_ms: i64,
}

/// What the seed wrote and the counts checked after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    pub programs: u64,
    pub users: u64,
    pub consents: u64,
    pub credentials: u64,
    /// Live (`ONCHAIN`) among them.
    pub live: u64,
}

/// The step between the programs of one user's credentials: coprime with `programs`, so the
/// first `programs` credentials of a user fall in distinct programs.
pub fn stride(programs: u64) -> u64 {
    fn gcd(a: u64, b: u64) -> u64 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    let mut s = programs / 3 + 1;
    while gcd(s, programs) != 1 {
        s += 1;
    }
    s
}

/// Whether credential `k` of a seed is revoked (`REMOVE`) rather than live.
pub fn revoked(k: u64) -> bool {
    k % 50 == 49
}

impl Seed {
    /// Whether the registry can take this seed: some programs, none of an issuer without a
    /// confirmed transition (`unpublished`; the seeded credentials ride on it), some users, and
    /// no more credentials per user than programs (a user gets at most one of each program).
    pub fn check(&self, programs: u64, unpublished: u64) -> Result<(), StoreError> {
        if programs == 0 || unpublished > 0 || self.users == 0 {
            return Err(StoreError::Internal(format!(
                "bench seed: {programs} programs, {unpublished} of them of an issuer without a confirmed transition, {} users",
                self.users
            )));
        }
        if self.credentials.div_ceil(self.users) > programs {
            return Err(StoreError::Internal(
                "bench seed: more credentials per user than programs".into(),
            ));
        }
        Ok(())
    }

    /// When the first user and the first credential are created (Unix ms).
    pub fn start_ms(&self) -> i64 {
        self.until_ms - self.span_ms
    }

    /// The time between two consecutive credentials: evenly spread, never 0 ms apart for a
    /// million rows over days.
    pub fn credential_step_ms(&self) -> i64 {
        (self.span_ms / (self.credentials as i64).max(1)).max(1)
    }

    /// The time between two consecutive users, spread over the same span.
    pub fn user_step_ms(&self) -> i64 {
        (self.span_ms / (self.users as i64).max(1)).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seed(users: u64, credentials: u64) -> Seed {
        Seed {
            tag: 1,
            users,
            credentials,
            until_ms: 10_000,
            span_ms: 1_000,
        }
    }

    #[test]
    fn the_stride_is_coprime_with_the_program_count() {
        for programs in 1..200 {
            let s = stride(programs);
            let programs_of_a_user: std::collections::HashSet<u64> =
                (0..programs).map(|j| (j * s) % programs).collect();
            assert_eq!(
                programs_of_a_user.len() as u64,
                programs,
                "{programs} programs"
            );
        }
    }

    #[test]
    fn a_seed_the_registry_cannot_take_is_refused() {
        assert!(seed(10, 20).check(2, 0).is_ok());
        assert!(seed(10, 21).check(2, 0).is_err(), "3 credentials per user");
        assert!(seed(10, 20).check(0, 0).is_err());
        assert!(seed(10, 20).check(2, 1).is_err());
        assert!(seed(0, 0).check(2, 0).is_err());
    }

    #[test]
    fn rows_are_spread_over_the_span_never_at_one_instant() {
        let s = seed(10, 5_000);
        assert_eq!(s.start_ms(), 9_000);
        assert_eq!(s.user_step_ms(), 100);
        assert_eq!(s.credential_step_ms(), 1);
        assert_eq!(seed(10, 0).credential_step_ms(), 1_000);
    }
}
