//! Integration tests of claimd-iden3: known-answer vectors, properties and interop with the
//! @iden3 JavaScript packages.

mod interop;
mod properties;
mod splitmix;
mod vectors;
