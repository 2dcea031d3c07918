//! `aqua:` sources: an aqua registry (a checkout, or a tagged GitHub release of one) whose
//! packages are packs ([`source`]), where the registry is read from ([`checkout`]) and the
//! checks its entries declare ([`verify`]), GitHub artifact attestations among them
//! ([`attest`]). The format itself is [`crate::aqua`].

pub mod attest;
pub mod checkout;
pub mod source;
pub mod verify;
