//! Small helpers every layer shares and none owns: the wall clock in milliseconds and the
//! proleptic Gregorian calendar ([`clock`]), and a lock that outlives a panicking holder
//! ([`sync`]). It uses no other module, so any layer may use it.

pub mod clock;
pub mod sync;
