//! Decoding one module's files: each top-level block is checked (its kind, its
//! labels) and handed to the decoder of its kind, one file per kind as in Terraform's
//! `configs`. Decoders see only the text of the files, evaluate nothing that may
//! reference anything, and report what is wrong with a block without stopping.

mod attrs;
mod check_block;
mod checks;
mod drift;
mod duplicates;
mod import;
mod json;
mod lifecycle;
mod locals;
mod merge;
mod module_call;
mod moved;
mod output;
mod provider;
mod removed;
mod resource;
mod settings;
mod variable;

use std::collections::HashMap;

use hcl_edit::structure::{Block, Body as HclBody, Structure};
use hcl_edit::Span as _;

pub(super) use attrs::NoReferences;
pub(super) use duplicates::check_duplicates;
pub use json::json_blocks;
pub(super) use merge::is_override_file;

use crate::config::model::*;
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, FileId, Sources, Span};
use crate::lang::refs::ResourceMode;

const TOP_LEVEL_BLOCKS: [&str; 14] = [
    "terraform",
    "plinth",
    "provider",
    "variable",
    "locals",
    "output",
    "resource",
    "data",
    "module",
    "moved",
    "import",
    "check",
    "removed",
    "drift",
];

/// Decodes blocks into a [`Module`], reporting into `diags`.
pub(super) struct Decoder<'a> {
    pub(super) sources: &'a Sources,
    pub(super) diags: &'a mut Diagnostics,
}

/// A top-level block whose kind and labels were checked, its body converted: what
/// override files are merged into before the blocks are decoded.
#[derive(Clone, Debug)]
pub(super) struct TopBlock {
    pub(super) kind: String,
    pub(super) labels: Vec<String>,
    pub(super) header: Span,
    pub(super) body: Body,
    /// Whether it came from an override file (merged into a primary block, or, for
    /// `terraform` blocks, kept beside them).
    pub(super) overriding: bool,
}

impl Decoder<'_> {
    /// The top-level blocks of one file, each checked for its kind and labels; a
    /// block that fails those checks is reported and left out.
    pub(super) fn top_blocks(&mut self, file: FileId, body: HclBody) -> Vec<TopBlock> {
        let mut out = Vec::new();
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let span = attr.key.span().map(|r| Span::new(file, r));
                    self.diags.push(
                        Diagnostic::error("Unsupported argument")
                            .detail(format!(
                                "An argument named {:?} is not expected here.",
                                attr.key.as_str()
                            ))
                            .at_opt(span),
                    );
                }
                Structure::Block(block) => out.extend(self.top_block(file, block)),
            }
        }
        out
    }

    fn top_block(&mut self, file: FileId, block: Block) -> Option<TopBlock> {
        let kind = block.ident.as_str().to_string();
        let header = header_span(&block, file);
        let labels: Vec<String> = block
            .labels
            .iter()
            .map(|l| l.as_str().to_string())
            .collect();
        let label_spans: Vec<Span> = block
            .labels
            .iter()
            .map(|l| l.span().map(|r| Span::new(file, r)).unwrap_or(header))
            .collect();
        let body = self.raw_body(file, block.body);
        self.checked_top_block(kind, labels, label_spans, header, body)
    }

    /// Checks a top-level block's kind and labels (from either syntax).
    pub(super) fn checked_top_block(
        &mut self,
        kind: String,
        labels: Vec<String>,
        label_spans: Vec<Span>,
        header: Span,
        body: Body,
    ) -> Option<TopBlock> {
        let expected = match kind.as_str() {
            "terraform" | "plinth" | "locals" | "moved" | "import" | "removed" | "drift" => 0,
            "provider" | "variable" | "output" | "module" | "check" => 1,
            "resource" | "data" => 2,
            other => {
                self.diags.push(
                    Diagnostic::error("Unsupported block type")
                        .detail(format!("Blocks of type {other:?} are not expected here."))
                        .at(header)
                        .help_opt(did_you_mean(other, TOP_LEVEL_BLOCKS)),
                );
                return None;
            }
        };
        if labels.len() != expected {
            let names = match kind.as_str() {
                "resource" | "data" => "a type and a name",
                "provider" => "a provider name",
                "module" => "a module call name",
                "variable" | "output" | "check" => "a name",
                _ => "no labels",
            };
            self.diags.push(
                Diagnostic::error(if labels.len() < expected {
                    "Missing name for block"
                } else {
                    "Extraneous label for block"
                })
                .detail(format!(
                    "A {kind} block expects {names} ({expected} label{}), but has {}.",
                    if expected == 1 { "" } else { "s" },
                    labels.len()
                ))
                .at(header),
            );
            return None;
        }
        for (label, span) in labels.iter().zip(label_spans) {
            if expected > 0 && kind != "provider" && !valid_identifier(label) {
                self.diags.push(
                    Diagnostic::error("Invalid name")
                        .detail(format!("{label:?} is not a valid name: a name must start with a letter or underscore and may contain only letters, digits, underscores, and dashes."))
                        .at(span),
                );
                return None;
            }
        }
        Some(TopBlock {
            kind,
            labels,
            header,
            body,
            overriding: false,
        })
    }

    pub(super) fn decode_top_block(&mut self, module: &mut Module, block: TopBlock) {
        let TopBlock {
            kind,
            labels,
            header,
            body,
            overriding,
        } = block;
        match kind.as_str() {
            "terraform" | "plinth" => self.decode_settings(module, body, overriding),
            "provider" => self.decode_provider(module, labels[0].clone(), header, body),
            "variable" => self.decode_variable(module, labels[0].clone(), header, body),
            "locals" => self.decode_locals(module, body),
            "output" => self.decode_output(module, labels[0].clone(), header, body),
            "resource" | "data" => {
                let mode = if kind == "data" {
                    ResourceMode::Data
                } else {
                    ResourceMode::Managed
                };
                self.decode_resource(
                    module,
                    mode,
                    labels[0].clone(),
                    labels[1].clone(),
                    header,
                    body,
                )
            }
            "module" => self.decode_module_call(module, labels[0].clone(), header, body),
            "moved" => self.decode_moved(module, header, body),
            "import" => self.decode_import(module, header, body),
            "check" => self.decode_check_block(module, labels[0].clone(), header, body),
            "removed" => self.decode_removed(module, header, body),
            "drift" => self.decode_drift(module, header, body),
            _ => {}
        }
    }

    /// Converts a hcl-edit body into ours, reporting arguments set twice.
    pub(super) fn raw_body(&mut self, file: FileId, body: HclBody) -> Body {
        let mut out = Body::default();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for structure in body.into_iter() {
            match structure {
                Structure::Attribute(attr) => {
                    let name = attr.key.as_str().to_string();
                    let name_span = attr
                        .key
                        .span()
                        .map(|r| Span::new(file, r))
                        .unwrap_or(Span::new(file, 0..0));
                    if let Some(previous) = seen.get(&name) {
                        self.diags.push(
                            Diagnostic::error("Attribute redefined")
                                .detail(format!(
                                    "The argument {name:?} was already set at {}. Each argument may be set only once.",
                                    self.sources.location(*previous)
                                ))
                                .at(name_span),
                        );
                        continue;
                    }
                    seen.insert(name.clone(), name_span);
                    out.attrs.push(Attr {
                        name,
                        name_span,
                        expr: Expr {
                            file,
                            expr: attr.value,
                        },
                    });
                }
                Structure::Block(block) => {
                    let span = header_span(&block, file);
                    out.blocks.push(NestedBlock {
                        kind: block.ident.as_str().to_string(),
                        labels: block
                            .labels
                            .iter()
                            .map(|l| l.as_str().to_string())
                            .collect(),
                        span,
                        body: self.raw_body(file, block.body),
                    });
                }
            }
        }
        out
    }
}

fn header_span(block: &Block, file: FileId) -> Span {
    let start = block.ident.span().map(|r| r.start).unwrap_or(0);
    let end = block
        .labels
        .last()
        .and_then(|l| l.span())
        .or_else(|| block.ident.span())
        .map(|r| r.end)
        .unwrap_or(start);
    Span::new(file, start..end)
}

pub fn valid_identifier(s: &str) -> bool {
    hcl_primitives::ident::is_ident(s)
}
