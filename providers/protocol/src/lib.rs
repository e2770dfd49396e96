//! The Terraform plugin protocol as plinth speaks it, shared by the engine (which
//! drives providers over protocols 5 and 6) and the provider SDK (which serves 6):
//!
//! - [`tfplugin5`], [`tfplugin6`]: the gRPC messages, clients and servers, generated
//!   from our own `.proto` definitions into `src/generated/` by the `codegen/` tool
//!   (run it after changing a `.proto` file: the build compiles no protobuf);
//! - [`value`], [`types`], [`number`]: the one value model (Terraform's types, unknown,
//!   null, the sensitive mark), used by the engine's evaluator as well;
//! - [`msgpack`] and [`json`]: the value codecs of `DynamicValue` and of stored state;
//! - [`marks`]: sensitive marks by path, as state records them;
//! - [`schema`]: blocks, attributes and nesting modes, with conversions from both
//!   protocol versions.

pub mod json;
pub mod marks;
pub mod msgpack;
pub mod number;
pub mod schema;
pub mod types;
pub mod value;

#[allow(clippy::all, missing_docs)]
pub mod tfplugin5 {
    include!("generated/tfplugin5.rs");
}

#[allow(clippy::all, missing_docs)]
pub mod tfplugin6 {
    include!("generated/tfplugin6.rs");
}

/// go-plugin's controller service (`Shutdown`).
#[allow(clippy::all, missing_docs)]
pub mod goplugin {
    include!("generated/plugin.rs");
}

/// plinth's own services: capabilities (a provider's concurrency limit) and the
/// inventory (listing objects, for `plinth drift --unmanaged`).
#[allow(clippy::all, missing_docs)]
pub mod capabilities {
    include!("generated/plinth.rs");
}

/// The go-plugin handshake's shared facts: the cookie a plugin checks to know it was
/// started by Terraform-compatible core, and the core protocol version.
pub mod handshake {
    pub const MAGIC_COOKIE_KEY: &str = "TF_PLUGIN_MAGIC_COOKIE";
    pub const MAGIC_COOKIE_VALUE: &str =
        "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";
    pub const CORE_PROTOCOL_VERSION: u32 = 1;
}
