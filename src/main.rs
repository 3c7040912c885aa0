//! The composition root: everything lives in the library.

fn main() -> std::process::ExitCode {
    gasclaw::cli::main()
}
