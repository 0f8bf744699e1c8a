//! The CLI's only writers to the terminal.

use std::io::Write;

/// Writes `text` to standard output, ending it with a newline if it has none. A closed pipe
/// (`custodian policy render ... | head`) is not an error worth a panic: output just stops.
pub fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let newline = if text.ends_with('\n') { "" } else { "\n" };
    let _ = write!(stdout, "{text}{newline}").and_then(|()| stdout.flush());
}

pub fn error(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "{text}");
}
