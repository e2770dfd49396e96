//! Stack files to typed, spanned configuration. Loading never evaluates a reference
//! and never calls a provider; expressions are kept for `graph` and `lang` to evaluate.

mod decode;
mod duplicate_keys;
pub mod format;
pub mod load;
pub mod model;
pub mod typeexpr;
pub mod vars;

pub use decode::json_blocks;
pub use load::{load_stack, load_stack_with};
pub use model::*;
