//! Tests of the PAD log reader.
use super::lines::{next_line, LineRead};
use std::io;

#[test]
fn capped_line_reader_discards_long_lines() {
    let data = format!("short\n{}\nafter", "x".repeat(100));
    let mut r = io::BufReader::with_capacity(16, data.as_bytes());
    let mut buf = Vec::new();
    assert!(matches!(
        next_line(&mut r, &mut buf, 10).unwrap(),
        LineRead::Line { newline: true }
    ));
    assert_eq!(buf, b"short\n");
    assert!(matches!(
        next_line(&mut r, &mut buf, 10).unwrap(),
        LineRead::TooLong { len: 100 }
    ));
    assert!(buf.capacity() <= 32);
    assert!(matches!(
        next_line(&mut r, &mut buf, 10).unwrap(),
        LineRead::Line { newline: false }
    ));
    assert_eq!(buf, b"after");
    assert!(matches!(
        next_line(&mut r, &mut buf, 10).unwrap(),
        LineRead::Eof
    ));
}
