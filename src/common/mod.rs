//! Small helpers every layer shares and none owns: the wall clock in milliseconds and the
//! proleptic Gregorian calendar ([`clock`]), a lock that outlives a panicking holder
//! ([`sync`]), and the sleep-or-stop loop of periodic tasks ([`periodic`]). It uses no other
//! module, so any layer may use it.

pub mod clock;
pub mod periodic;
pub mod sync;
