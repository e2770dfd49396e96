fn main() -> std::process::ExitCode {
    plinth::cli::run()
}
