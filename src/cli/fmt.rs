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
    /// Write the formatted files (the default; --write=false only reports).
    #[arg(long, value_name = "BOOL", value_parser = super::tfcompat::go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    write: Option<bool>,
    /// List the files whose formatting differs (the default).
    #[arg(long, value_name = "BOOL", value_parser = super::tfcompat::go_bool, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    list: Option<bool>,
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
        // Skipped as Terraform skips them: hidden (`.plinth.lock.hcl`, `.terraform`),
        // editor backups (`main.tf~`) and Emacs autosaves (`#main.tf#`).
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let ignored = name.starts_with('.')
            || name.ends_with('~')
            || (name.starts_with('#') && name.ends_with('#'));
        if ignored {
            continue;
        }
        if p.is_dir() {
            if recursive {
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
    let write = args.write.unwrap_or(true) && !args.check;
    let list = args.list.unwrap_or(true);
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
        if !list && !write && !args.diff && !args.check {
            // As terraform fmt -write=false -list=false: every file's formatted text.
            print!("{formatted}");
        }
        if formatted == text {
            continue;
        }
        unformatted = true;
        if list {
            println!("{name}");
        }
        if args.diff {
            let diff = similar::TextDiff::from_lines(&text, &formatted);
            print!(
                "{}",
                diff.unified_diff()
                    .header(&format!("old/{name}"), &format!("new/{name}"))
            );
        }
        if write {
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
