//! The Terraform language's values and expressions: types, the value model (with
//! unknown and sensitive), conversion, evaluation and functions. Knows nothing of
//! stacks, graphs or providers: references are resolved through [`eval::Scope`].

pub mod convert;
pub mod eval;
pub mod functions;
pub mod number;
pub mod refs;
pub mod types;
pub mod value;

pub use eval::{Evaluator, Scope};
pub use number::Number;
pub use types::{Constraint, Type};
pub use value::Value;
