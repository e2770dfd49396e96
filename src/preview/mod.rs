//! Pull-request previews: what a bot posts about a plan. `markdown` renders one or
//! several plans as a comment that fits the platform's limit; `cost` prices them from a
//! catalog; `policy` evaluates Rego policies against the JSON plan. Each reads a
//! finished `Plan` (and what the others found) and decides nothing about it.

pub mod cost;
pub mod markdown;
pub mod policy;
