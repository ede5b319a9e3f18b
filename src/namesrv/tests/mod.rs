//! Tests of the nameserver core: the JSON dialect, the bodies, the route table, DLedger master
//! changes, and a seeded random run against a model.

mod bodies;
mod json;
