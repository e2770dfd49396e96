use std::path::{Path, PathBuf};

use super::Output;
use crate::config::format::format_source;
use crate::config::load::parse_text;
use crate::diag::{render_text, Diagnostics, Sources};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only check; exit 3 if any file is not in canonical style (as terraform fmt -check).
    #[arg(long)]
    check: bool,
    /// Show the changes as a unified diff.
    #[arg(long)]
    diff: bool,
    /// Also format files in subdirectories.
    #[arg(long)]
    recursive: bool,
    /// Files or directories (default: the current directory).
    paths: Vec<PathBuf>,
}

fn is_stack_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".tf") || name.ends_with(".hcl") || name.ends_with(".tfvars")
}

fn collect(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        if p.is_dir() {
            if recursive && !hidden {
                collect(&p, recursive, out)?;
            }
        } else if is_stack_file(&p) {
            out.push(p);
        }
    }
    Ok(())
}

pub fn run(args: Args, out: &Output) -> u8 {
    let mut files = Vec::new();
    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    for p in &paths {
        let result = if p.is_dir() {
            collect(p, args.recursive, &mut files)
        } else if p.is_file() {
            files.push(p.clone());
            Ok(())
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such file or directory",
            ))
        };
        if let Err(e) = result {
            eprintln!("Error: cannot read {}: {e}", p.display());
            return 1;
        }
    }
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let mut unformatted = false;
    for file in files {
        let name = file
            .strip_prefix("./")
            .unwrap_or(&file)
            .display()
            .to_string();
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("Error: cannot read {name}: {e}");
                return 1;
            }
        };
        if let Err(d) = parse_text(text.clone(), name.clone(), &mut sources) {
            diags.push(d);
            continue;
        }
        let formatted = format_source(&text);
        if formatted == text {
            continue;
        }
        unformatted = true;
        println!("{name}");
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            print!(
                "{}",
                diff.unified_diff()
                    .header(&format!("old/{name}"), &format!("new/{name}"))
            );
        }
        if !args.check {
            if let Err(e) = std::fs::write(&file, formatted) {
                eprintln!("Error: cannot write {name}: {e}");
                return 1;
            }
        }
    }
    if diags.has_errors() {
        eprint!("{}", render_text(&sources, &diags, out.color));
        return 1;
    }
    if args.check && unformatted {
        3
    } else {
        0
    }
}
