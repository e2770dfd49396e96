//! The Terraform language's values and expressions: types, the value model (with
//! unknown and sensitive), conversion, evaluation and functions. Knows nothing of
//! stacks, graphs or providers: references are resolved through [`eval::Scope`].

pub mod confine;
pub mod convert;
pub mod eval;
pub mod functions;
pub mod limits;
pub mod refs;

// The value model lives in the protocol crate, so the plugin codec and the provider
// SDK share it; it is re-exported here as part of the language.
pub use plinth_protocol::{number, types, value};

pub use eval::{Evaluator, Scope};
pub use number::Number;
pub use types::{Constraint, Type};
pub use value::Value;
