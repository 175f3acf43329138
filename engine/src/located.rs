//! Errors that point into a file (`lab.toml:12:5: message`) and the one way lmlab reads a text
//! file a user hands it (scenarios, sessions): refused before reading when it is larger than its
//! kind allows, refused with the position of the first bad byte when it is not UTF-8.

use std::path::Path;

/// A message about a place in a file. `Display` gives the one line a user sees, quoting at most
/// 300 characters of the message (a parser's message can echo a whole 10 MB line of input).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {}", crate::limits::excerpt(.message, 300))]
pub struct Located {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    pub message: String,
}

impl Located {
    /// A message about the file as a whole (reported at its first character).
    pub fn at_start(file: &str, message: impl Into<String>) -> Located {
        Located {
            file: file.to_string(),
            line: 1,
            column: 1,
            message: message.into(),
        }
    }

    /// A message about the character at byte `offset` of `text`.
    pub fn at_offset(
        file: &str,
        text: &[u8],
        offset: usize,
        message: impl Into<String>,
    ) -> Located {
        let (line, column) = line_col(text, offset);
        Located {
            file: file.to_string(),
            line,
            column,
            message: message.into(),
        }
    }
}

/// Why a text file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Io(std::io::Error),
    #[error(transparent)]
    Invalid(Located),
}

/// Reads `path` as UTF-8 text of at most `max_bytes`; `kinds` names what such files are in the
/// size message ("scenarios", "sessions").
pub fn read_text(path: &Path, max_bytes: u64, kinds: &str) -> Result<String, ReadError> {
    let file = path.display().to_string();
    let mut bytes = read_bytes(path, max_bytes, kinds)?;
    // A byte-order mark (Notepad writes one) is not part of the text.
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        ReadError::Invalid(Located::at_offset(
            &file,
            e.as_bytes(),
            at,
            "the file is not valid UTF-8 text",
        ))
    })
}

/// The bytes of a file: regular files only (not devices or pipes), at most `max_bytes` (one more
/// is read, so a file that grows meanwhile is still refused).
pub fn read_bytes(path: &Path, max_bytes: u64, kinds: &str) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let file = path.display().to_string();
    let too_big = |len: u64| {
        ReadError::Invalid(Located::at_start(
            &file,
            format!("the file is {len} bytes or more; {kinds} are limited to {max_bytes} bytes"),
        ))
    };
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    // Devices and pipes (`/dev/zero`, a FIFO) never end or block: only regular files are read.
    if !meta.is_file() {
        return Err(ReadError::Invalid(Located::at_start(
            &file,
            if meta.is_dir() {
                "is a folder, not a file".to_string()
            } else {
                "is not a regular file (a device, pipe or socket)".to_string()
            },
        )));
    }
    if meta.len() > max_bytes {
        return Err(too_big(meta.len()));
    }
    // Read at most one byte more than allowed: a file that grows meanwhile is still refused.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_bytes + 1).read_to_end(&mut bytes))
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// (line, column), 1-based, of byte `offset` in `bytes`; columns count characters.
pub fn line_col(bytes: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(bytes.len());
    let before = &bytes[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    // Continuation bytes are skipped, so a column is a character.
    let column = before[line_start..]
        .iter()
        .filter(|&&b| (b & 0xC0) != 0x80)
        .count()
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_and_lines_start_at_one() {
        assert_eq!(line_col(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_col("é=1\nx".as_bytes(), 2), (1, 2));
        assert_eq!(line_col(b"", 10), (1, 1));
    }

    #[test]
    fn a_message_echoing_a_huge_input_is_cut_to_an_excerpt() {
        let l = Located::at_start(
            "lab.toml",
            format!("invalid value `{}`", "x".repeat(5_000_000)),
        );
        let shown = l.to_string();
        assert!(shown.len() < 400, "{} characters", shown.len());
        assert!(shown.starts_with("lab.toml:1:1: invalid value `xxx") && shown.ends_with('…'));
    }

    fn refusal(path: &Path, max: u64) -> String {
        match read_text(path, max, "scenarios") {
            Err(ReadError::Invalid(l)) => l.to_string(),
            Err(ReadError::Io(e)) => panic!("io: {e}"),
            Ok(_) => panic!("{} was read", path.display()),
        }
    }

    #[test]
    fn a_byte_order_mark_is_dropped_and_devices_folders_and_big_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("lmlab-read-text-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bom = dir.join("bom.toml");
        std::fs::write(&bom, b"\xEF\xBB\xBFformat_version = 1\n").unwrap();
        assert_eq!(
            read_text(&bom, 100, "scenarios").ok().as_deref(),
            Some("format_version = 1\n")
        );
        let msg = refusal(&bom, 10);
        assert!(msg.contains("limited to 10 bytes"), "{msg}");
        let msg = refusal(&dir, 100);
        assert!(msg.contains("is a folder"), "{msg}");
        #[cfg(unix)]
        {
            let msg = refusal(Path::new("/dev/zero"), 100);
            assert!(msg.contains("not a regular file"), "{msg}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
