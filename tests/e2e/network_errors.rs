//! Network failures told in words, through the CLI: the host or address that failed, what
//! happened, and the next step, on one line; never a Rust error's debug text.

use connector_e2e::{free_port, text};
use std::net::TcpListener;
use std::process::Output;

const MAIN: &str = "AC0000000000000000000000000000a001";

/// `connector accounts` with valid-looking credentials and these extra arguments.
fn accounts(extra: &[&str]) -> Output {
    let args: Vec<&str> = std::iter::once("accounts")
        .chain(extra.iter().copied())
        .collect();
    connector_e2e::run_clean(
        &args,
        &[
            ("TWILIO_ACCOUNT_SID", MAIN),
            ("TWILIO_AUTH_TOKEN", "a-token-never-printed"),
        ],
    )
}

/// The one line a failure prints, checked for what a user should never see.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "it should fail");
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, got: {err}");
    let line = lines[0].to_string();
    for debug in [
        "ErrorCode",
        "os error",
        "Payload",
        "Some(",
        "a-token-never-printed",
    ] {
        assert!(!line.contains(debug), "{debug:?} in: {line}");
    }
    line
}

#[test]
fn a_refused_connection_names_the_address_and_what_to_do() {
    let port = free_port();
    let to = format!("127.0.0.1:{port}");
    let line = one_line_error(&accounts(&["--connect-to", &to]));
    assert!(
        line.contains(&format!("connection to {to} refused")),
        "{line}"
    );
    assert!(
        line.contains("--connect-to") || line.contains("connector sim"),
        "{line}"
    );
    // Said once, not once per layer.
    assert_eq!(line.matches("refused").count(), 1, "{line}");
}

#[test]
fn an_unresolvable_name_is_said_to_be_unresolvable() {
    // `.invalid` never resolves (RFC 6761).
    let line = one_line_error(&accounts(&["--connect-to", "nonexistent.invalid:443"]));
    assert!(
        line.contains("could not resolve nonexistent.invalid"),
        "{line}"
    );
    assert!(line.contains("DNS"), "{line}");
}

#[test]
fn an_upstream_that_never_answers_times_out_in_words() {
    // Accepts connections and holds them without a byte of answer.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let to = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let line = one_line_error(&accounts(&["--connect-to", &to, "--request-timeout", "1"]));
    assert!(
        line.contains(&format!("{to} timed out after 1 s")),
        "{line}"
    );
    assert!(line.contains("retry later"), "{line}");
}

#[test]
fn a_malformed_connect_to_or_timeout_is_refused_before_anything_is_tried() {
    let line = one_line_error(&accounts(&["--connect-to", "127.0.0.1"]));
    assert!(
        line.contains("--connect-to") && line.contains("HOST:PORT"),
        "{line}"
    );
    let line = one_line_error(&accounts(&[
        "--connect-to",
        "127.0.0.1:9",
        "--request-timeout",
        "soon",
    ]));
    assert!(line.contains("--request-timeout"), "{line}");
}
