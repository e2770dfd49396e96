//! Values for the root module's input variables, gathered from every place Terraform
//! reads them, in its order of precedence (later wins): the environment
//! (`TF_VAR_name`, then `PLINTH_VAR_name`), `terraform.tfvars`, `terraform.tfvars.json`,
//! `*.auto.tfvars(.json)` in lexical order, then `--var-file` and `--var` in the order
//! given on the command line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::structure::Structure;
use hcl_edit::Span as _;

use super::decode::NoReferences;
use super::load::{parse_file, read_file};
use super::model::{Expr, Module, Variable};
use crate::diag::{did_you_mean, Diagnostic, Diagnostics, Sources, Span};
use crate::lang::{Evaluator, Value};

/// A command-line variable argument, kept in the order the user gave them.
#[derive(Clone, Debug)]
pub enum VarArg {
    /// `--var name=value`
    Var(String),
    /// `--var-file FILE`
    File(PathBuf),
}

#[derive(Clone, Debug)]
pub enum RawValue {
    /// An expression from a `.tfvars` file, or a command-line value parsed as HCL.
    Expr(Expr),
    /// A string from the command line or environment, for a variable whose type takes
    /// it literally.
    Literal(String),
    /// A value from a JSON variables file.
    Value(Value),
}

#[derive(Clone, Debug)]
pub struct InputValue {
    pub raw: RawValue,
    /// Where it came from, for messages: "the command line", "terraform.tfvars".
    pub origin: String,
}

impl InputValue {
    /// The value before type conversion. Constant expressions only: variable files
    /// cannot reference anything.
    pub fn value(&self, sources: &Sources) -> Result<Value, Diagnostic> {
        match &self.raw {
            RawValue::Literal(s) => Ok(Value::String(crate::lang::value::nfc(s.clone()))),
            RawValue::Value(v) => Ok(v.clone()),
            RawValue::Expr(e) => {
                Evaluator::new(e.file, &sources.get(e.file).text, &NoReferences).eval(&e.expr)
            }
        }
    }

    pub fn span(&self) -> Option<Span> {
        match &self.raw {
            RawValue::Expr(e) => e.span(),
            _ => None,
        }
    }
}

/// Whether values for this variable from the command line or environment are taken
/// as literal strings (Terraform does so unless a complex type is declared).
fn literal(var: &Variable) -> bool {
    !var.has_type || var.constraint.is_primitive()
}

pub fn collect_root_inputs(
    root: &Module,
    stack_dir: &Path,
    args: &[VarArg],
    env: &[(String, String)],
    sources: &mut Sources,
) -> (HashMap<String, InputValue>, Diagnostics) {
    let mut c = Collector {
        root,
        sources,
        values: HashMap::new(),
        diags: Diagnostics::default(),
    };
    for prefix in ["TF_VAR_", "PLINTH_VAR_"] {
        for (k, v) in env {
            if let Some(name) = k.strip_prefix(prefix) {
                if root.variable(name).is_some() {
                    c.string_value(name, v, format!("environment variable {k}"));
                }
            }
        }
    }
    let mut auto: Vec<PathBuf> = std::fs::read_dir(stack_dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json")
                })
                .collect()
        })
        .unwrap_or_default();
    auto.sort();
    for default in ["terraform.tfvars", "terraform.tfvars.json"] {
        let p = stack_dir.join(default);
        // Present in any form (a dangling symlink too) means it is read, or fails.
        if !absent(&p) {
            c.file(&p, default.to_string(), false);
        }
    }
    for p in auto {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        c.file(&p, name, false);
    }
    for arg in args {
        match arg {
            VarArg::File(p) => {
                if absent(p) {
                    c.diags
                        .push(
                            Diagnostic::error("Failed to read variables file").detail(format!(
                                "Given variables file {} does not exist.",
                                p.display()
                            )),
                        );
                    continue;
                }
                c.file(p, p.display().to_string(), true);
            }
            VarArg::Var(text) => {
                let Some((name, value)) = text.split_once('=') else {
                    c.diags.push(
                        Diagnostic::error("Invalid -var option")
                            .detail(format!("The given -var option {text:?} is not correctly specified. It must be a variable name and value separated by an equals sign, like -var=\"key=value\".")),
                    );
                    continue;
                };
                let name = name.trim();
                if root.variable(name).is_none() {
                    c.diags.push(
                        Diagnostic::error("Value for undeclared variable")
                            .detail(format!("A variable named {name:?} was assigned on the command line, but the root module does not declare a variable of that name."))
                            .help(did_you_mean(name, root.variables.iter().map(|v| v.name.as_str())).unwrap_or_else(|| {
                                "To use this value, add a \"variable\" block to the configuration.".into()
                            })),
                    );
                    continue;
                }
                c.string_value(name, value, "the command line".into());
            }
        }
    }
    (c.values, c.diags)
}

/// Whether nothing at all is at `path`: not a file, not even a dangling symlink.
fn absent(path: &Path) -> bool {
    matches!(std::fs::symlink_metadata(path), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
}

struct Collector<'a> {
    root: &'a Module,
    sources: &'a mut Sources,
    values: HashMap<String, InputValue>,
    diags: Diagnostics,
}

impl Collector<'_> {
    fn string_value(&mut self, name: &str, text: &str, origin: String) {
        let Some(var) = self.root.variable(name) else {
            return;
        };
        let raw = if literal(var) {
            RawValue::Literal(text.to_string())
        } else {
            let display = format!("<value for var.{name}>");
            match super::load::parse_text(format!("v = {text}\n"), display, self.sources) {
                Ok((file, body)) => match body.into_iter().next() {
                    Some(Structure::Attribute(a)) => RawValue::Expr(Expr {
                        file,
                        expr: a.value,
                    }),
                    _ => return,
                },
                Err(d) => {
                    self.diags.push(d.help(format!("The value for var.{name} from {origin} must be a valid expression for its type {}.", var.constraint)));
                    return;
                }
            }
        };
        self.values
            .insert(name.to_string(), InputValue { raw, origin });
    }

    fn file(&mut self, path: &Path, display: String, explicit: bool) {
        if display.ends_with(".json") {
            let text = match read_file(path, &display) {
                Ok(t) => t,
                Err(d) => {
                    self.diags.push(d);
                    return;
                }
            };
            match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::Object(map)) => {
                    for (k, v) in map {
                        self.assign(
                            &k,
                            RawValue::Value(Value::from_json(&v)),
                            &display,
                            None,
                            explicit,
                        );
                    }
                }
                Ok(_) => self
                    .diags
                    .push(Diagnostic::error("Invalid variables file").detail(format!(
                        "{display}: the root of a JSON variables file must be an object."
                    ))),
                Err(e) => self.diags.push(
                    Diagnostic::error("Invalid variables file").detail(format!("{display}: {e}")),
                ),
            }
            return;
        }
        match parse_file(path, display.clone(), self.sources) {
            Ok((file, body)) => {
                for s in body.into_iter() {
                    match s {
                        Structure::Attribute(a) => {
                            let span = a.key.span().map(|r| Span::new(file, r));
                            let name = a.key.as_str().to_string();
                            self.assign(
                                &name,
                                RawValue::Expr(Expr {
                                    file,
                                    expr: a.value,
                                }),
                                &display,
                                span,
                                explicit,
                            );
                        }
                        Structure::Block(b) => {
                            let span = b.ident.span().map(|r| Span::new(file, r));
                            self.diags.push(
                                Diagnostic::error("Unexpected block in variables file")
                                    .detail("A variables file assigns values with name = value; blocks are not allowed.")
                                    .at_opt(span),
                            );
                        }
                    }
                }
            }
            Err(d) => self.diags.push(d),
        }
    }

    fn assign(
        &mut self,
        name: &str,
        raw: RawValue,
        origin: &str,
        span: Option<Span>,
        explicit: bool,
    ) {
        if self.root.variable(name).is_none() {
            let d = if explicit {
                Diagnostic::error("Value for undeclared variable")
            } else {
                Diagnostic::warning("Value for undeclared variable")
            };
            self.diags.push(
                d.detail(format!("The root module does not declare a variable named {name:?} but a value was found in file {origin:?}."))
                    .at_opt(span)
                    .help_opt(did_you_mean(name, self.root.variables.iter().map(|v| v.name.as_str()))),
            );
            return;
        }
        self.values.insert(
            name.to_string(),
            InputValue {
                raw,
                origin: origin.to_string(),
            },
        );
    }
}
