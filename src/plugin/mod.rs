//! Providers. Today only the one compiled into the engine ([`builtin`]); the plugin
//! host for Terraform-protocol providers arrives with issue 4 behind the same calls:
//! plan a resource instance's change, apply it.

pub mod builtin;
