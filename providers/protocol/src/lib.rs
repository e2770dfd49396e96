//! The Terraform plugin protocol as plinth speaks it, shared by the engine (which
//! drives providers over protocols 5 and 6) and the provider SDK (which serves 6):
//!
//! - [`tfplugin5`], [`tfplugin6`]: the gRPC messages, clients and servers, generated
//!   from our own `.proto` definitions;
//! - [`value`], [`types`], [`number`]: the one value model (Terraform's types, unknown,
//!   null, the sensitive mark), used by the engine's evaluator as well;
//! - [`msgpack`] and [`json`]: the value codecs of `DynamicValue` and of stored state;
//! - [`schema`]: blocks, attributes and nesting modes, with conversions from both
//!   protocol versions.

pub mod json;
pub mod msgpack;
pub mod number;
pub mod schema;
pub mod types;
pub mod value;

#[allow(clippy::all, missing_docs)]
pub mod tfplugin5 {
    tonic::include_proto!("tfplugin5");
}

#[allow(clippy::all, missing_docs)]
pub mod tfplugin6 {
    tonic::include_proto!("tfplugin6");
}
