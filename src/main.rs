fn main() -> std::process::ExitCode {
    let total = plinth::timing::phase("total");
    let code = plinth::cli::run();
    drop(total);
    plinth::timing::report();
    code
}
