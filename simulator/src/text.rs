//! Reading input files: text decoding (UTF-8 with or without BOM, UTF-16LE/BE with BOM,
//! BOM-less UTF-16 recognised by its NUL bytes), JSON parsing with positions, and listing the
//! files of a folder in a stable order.
//!
//! Exports from PowerShell (`Out-File`, `ConvertTo-Json | Set-Content` on Windows PowerShell
//! 5.1) are UTF-16LE with a BOM and CRLF line ends; the Entra portal and Graph give UTF-8,
//! sometimes with a BOM. CRLF needs no handling for JSON.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::error::InputError;

/// Reads a whole text file and decodes it.
///
/// Accepted: UTF-8 (a leading BOM is dropped), UTF-16LE or UTF-16BE with a BOM, and UTF-16
/// without a BOM when the NUL bytes of mostly-ASCII text show the byte order. Anything else
/// (invalid UTF-8, a truncated or malformed UTF-16 file, UTF-32) is an
/// [`InputError::Encoding`] naming the file and the byte offset.
pub fn read_text(path: &Path) -> Result<String, InputError> {
    let bytes = fs::read(path).map_err(|e| InputError::io(path, e))?;
    decode_text(&bytes).map_err(|reason| InputError::Encoding {
        file: path.to_path_buf(),
        reason,
    })
}

/// Reads a text file (see [`read_text`]) and parses it as JSON. Syntax errors become
/// [`InputError::Json`] with the line and column of the decoded text. Duplicate object keys
/// are allowed; the last one wins.
pub fn read_json(path: &Path) -> Result<serde_json::Value, InputError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| InputError::json(path, &e))
}

/// The byte order of a UTF-16 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Utf16 {
    Le,
    Be,
}

/// Decodes bytes as described for [`read_text`]; the error is a human-readable reason.
pub fn decode_text(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return decode_utf8(rest, 3);
    }
    if bytes.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) || bytes.starts_with(&[0x00, 0x00, 0xFE, 0xFF])
    {
        return Err("UTF-32 text is not supported; save the file as UTF-8 or UTF-16".into());
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return decode_utf16(rest, Utf16::Le, 2);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return decode_utf16(rest, Utf16::Be, 2);
    }
    if let Some(order) = sniff_utf16(bytes) {
        return decode_utf16(bytes, order, 0);
    }
    decode_utf8(bytes, 0)
}

fn decode_utf8(bytes: &[u8], offset: usize) -> Result<String, String> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(format!(
            "not valid UTF-8 at byte offset {}; save the file as UTF-8 or UTF-16",
            e.valid_up_to() + offset
        )),
    }
}

/// Recognises BOM-less UTF-16 from the NUL bytes of mostly-ASCII text: in UTF-16LE the odd
/// bytes of ASCII characters are NUL, in UTF-16BE the even ones. Valid UTF-8 text has no NULs.
fn sniff_utf16(bytes: &[u8]) -> Option<Utf16> {
    let sample = &bytes[..bytes.len().min(4096)];
    let pairs = sample.len() / 2;
    if pairs == 0 {
        return None;
    }
    let mut nul_even = 0usize;
    let mut nul_odd = 0usize;
    for pair in sample.chunks_exact(2) {
        if pair[0] == 0 {
            nul_even += 1;
        }
        if pair[1] == 0 {
            nul_odd += 1;
        }
    }
    // Most characters of JSON/CSV are ASCII; require a clear majority on one side only.
    if nul_odd * 2 > pairs && nul_even * 8 < nul_odd {
        Some(Utf16::Le)
    } else if nul_even * 2 > pairs && nul_odd * 8 < nul_even {
        Some(Utf16::Be)
    } else {
        None
    }
}

fn decode_utf16(bytes: &[u8], order: Utf16, offset: usize) -> Result<String, String> {
    let name = match order {
        Utf16::Le => "UTF-16LE",
        Utf16::Be => "UTF-16BE",
    };
    if !bytes.len().is_multiple_of(2) {
        return Err(format!(
            "{name} text has an odd number of bytes ({}); the file looks truncated",
            bytes.len() + offset
        ));
    }
    let units = bytes.chunks_exact(2).map(|p| match order {
        Utf16::Le => u16::from_le_bytes([p[0], p[1]]),
        Utf16::Be => u16::from_be_bytes([p[0], p[1]]),
    });
    let mut out = String::with_capacity(bytes.len() / 2);
    let mut pos = 0usize;
    for c in char::decode_utf16(units) {
        match c {
            Ok(c) => {
                pos += c.len_utf16();
                out.push(c);
            }
            Err(e) => {
                return Err(format!(
                    "not valid {name}: unpaired surrogate {:#06x} at byte offset {}",
                    e.unpaired_surrogate(),
                    offset + pos * 2
                ));
            }
        }
    }
    // A BOM-less file that still starts with U+FEFF after sniffing: drop it like a BOM.
    if let Some(rest) = out.strip_prefix('\u{FEFF}') {
        return Ok(rest.to_string());
    }
    Ok(out)
}

/// The files to read for an input path: the path itself when it is a file (whatever its
/// extension), or every file below a folder whose name ends in one of `exts` (compared without
/// the dot and case-insensitively, e.g. `["json"]`; empty = every file), read recursively and
/// returned in bytewise path order. Names starting with `.` (hidden files and folders, macOS
/// `._*` resource forks) are skipped. A missing path is an [`InputError::Io`].
pub fn list_files(path: &Path, exts: &[&str]) -> Result<Vec<PathBuf>, InputError> {
    let meta = fs::metadata(path).map_err(|e| InputError::io(path, e))?;
    if !meta.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let exts: Vec<String> = exts
        .iter()
        .map(|e| format!(".{}", e.trim_start_matches('.').to_ascii_lowercase()))
        .collect();
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    walk(path, &exts, &mut out, &mut seen)?;
    out.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(out)
}

fn walk(
    dir: &Path,
    exts: &[String],
    out: &mut Vec<PathBuf>,
    seen: &mut BTreeSet<PathBuf>,
) -> Result<(), InputError> {
    // Guard against symlink cycles: visit each real folder once.
    let real = fs::canonicalize(dir).map_err(|e| InputError::io(dir, e))?;
    if !seen.insert(real) {
        return Ok(());
    }
    let entries = fs::read_dir(dir).map_err(|e| InputError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| InputError::io(dir, e))?;
        let name = entry.file_name();
        let name_bytes = name.as_encoded_bytes();
        if name_bytes.starts_with(b".") {
            continue;
        }
        let p = entry.path();
        let meta = fs::metadata(&p).map_err(|e| InputError::io(&p, e))?;
        if meta.is_dir() {
            walk(&p, exts, out, seen)?;
        } else if exts.is_empty() || {
            let lower = name.to_string_lossy().to_ascii_lowercase();
            exts.iter().any(|e| lower.ends_with(e.as_str()))
        } {
            out.push(p);
        }
    }
    Ok(())
}

/// True for JSON keys that are OData annotations or action/function members
/// (`@odata.context`, `state@odata.type`, `#microsoft.graph.restore`): never data.
pub(crate) fn is_annotation(key: &str) -> bool {
    key.contains('@') || key.starts_with('#')
}

/// A short description of a JSON value's type, for error messages.
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// A value that counts as "configured": not null, not an empty string/array/object, and not an
/// object whose `isEnabled` is false or whose members are all unconfigured.
pub(crate) fn is_configured(v: &serde_json::Value) -> bool {
    use serde_json::Value;
    match v {
        Value::Null => false,
        Value::String(s) => !s.trim().is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => {
            if m.get("isEnabled") == Some(&Value::Bool(false)) {
                return false;
            }
            m.iter().any(|(k, v)| !is_annotation(k) && is_configured(v))
        }
        Value::Bool(_) | Value::Number(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    fn utf16be(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFE, 0xFF] } else { vec![] };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        v
    }

    const SAMPLE: &str =
        "{\r\n  \"displayName\": \"Zürich – 東京 🔐\",\r\n  \"state\": \"enabled\"\r\n}";

    #[test]
    fn utf8_plain_and_bom() {
        assert_eq!(decode_text(SAMPLE.as_bytes()).as_deref(), Ok(SAMPLE));
        let mut b = vec![0xEF, 0xBB, 0xBF];
        b.extend_from_slice(SAMPLE.as_bytes());
        assert_eq!(decode_text(&b).as_deref(), Ok(SAMPLE));
    }

    #[test]
    fn utf16le_with_and_without_bom() {
        assert_eq!(decode_text(&utf16le(SAMPLE, true)).as_deref(), Ok(SAMPLE));
        assert_eq!(decode_text(&utf16le(SAMPLE, false)).as_deref(), Ok(SAMPLE));
    }

    #[test]
    fn utf16be_with_and_without_bom() {
        assert_eq!(decode_text(&utf16be(SAMPLE, true)).as_deref(), Ok(SAMPLE));
        assert_eq!(decode_text(&utf16be(SAMPLE, false)).as_deref(), Ok(SAMPLE));
    }

    #[test]
    fn bad_encodings_are_reported() {
        let e = decode_text(b"{\"a\": \"\xff\"}").err().unwrap_or_default();
        assert!(e.contains("UTF-8 at byte offset 7"), "{e}");
        let mut odd = utf16le("{}", true);
        odd.push(0x20);
        let e = decode_text(&odd).err().unwrap_or_default();
        assert!(e.contains("odd number of bytes"), "{e}");
        let mut lone = vec![0xFF, 0xFE, b'{', 0];
        lone.extend_from_slice(&0xD800u16.to_le_bytes());
        lone.extend_from_slice(&[b'}', 0]);
        let e = decode_text(&lone).err().unwrap_or_default();
        assert!(
            e.contains("unpaired surrogate 0xd800 at byte offset 4"),
            "{e}"
        );
        let e = decode_text(&[0xFF, 0xFE, 0, 0, b'{', 0, 0, 0])
            .err()
            .unwrap_or_default();
        assert!(e.contains("UTF-32"), "{e}");
    }

    #[test]
    fn empty_and_tiny_inputs() {
        assert_eq!(decode_text(b"").as_deref(), Ok(""));
        assert_eq!(decode_text(b"[").as_deref(), Ok("["));
        assert_eq!(decode_text(&[0xFF, 0xFE]).as_deref(), Ok(""));
    }

    #[test]
    fn read_json_reports_position() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("bad.json");
        fs::write(&p, utf16le("{\r\n  \"a\": 1,\r\n  \"b\": ]\r\n}", true))?;
        match read_json(&p) {
            Err(InputError::Json { line, column, .. }) => {
                assert_eq!((line, column), (3, 8));
            }
            other => panic!("expected a JSON error, got {other:?}"),
        }
        let msg = read_json(&p)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("bad.json: line 3, column 8: invalid JSON: "),
            "{msg}"
        );
        assert!(!msg.contains(" at line "), "{msg}");
        Ok(())
    }

    #[test]
    fn list_files_is_recursive_sorted_and_filtered() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let root = dir.path();
        fs::create_dir_all(root.join("b/sub"))?;
        fs::create_dir_all(root.join(".git"))?;
        for f in [
            "b/sub/z.json",
            "b/a.JSON",
            "a.json",
            "B.json",
            "notes.txt",
            "._a.json",
            ".git/x.json",
        ] {
            fs::write(root.join(f), "{}")?;
        }
        let got: Vec<String> = list_files(root, &["json"])?
            .iter()
            .filter_map(|p| p.strip_prefix(root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        assert_eq!(got, ["B.json", "a.json", "b/a.JSON", "b/sub/z.json"]);
        // A file is returned as given, whatever its extension.
        let txt = root.join("notes.txt");
        assert_eq!(list_files(&txt, &["json"])?, vec![txt.clone()]);
        assert_eq!(list_files(root, &[])?.len(), 5);
        assert!(matches!(
            list_files(&root.join("missing"), &["json"]),
            Err(InputError::Io { .. })
        ));
        Ok(())
    }
}
