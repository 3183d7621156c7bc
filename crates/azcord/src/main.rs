//! The azcord binary.

fn main() -> std::process::ExitCode {
    azcord::main()
}
