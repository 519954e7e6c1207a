//! Writing files whose names come from hub data (inbox and dead-letter payloads named after an
//! event's kind; document names, should the client ever save them). The hub is trusted to deliver,
//! not to name files: every such name is reduced to one safe base name, and every write is confined
//! to its folder and atomic (a temporary file renamed into place, so readers never see half a file).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

/// Longest file name written, in bytes (file systems allow 255; room is left for the temporary name).
const MAX_NAME_BYTES: usize = 120;

/// Reduces `raw` (a name from hub data) to a safe base name: the last path segment (so
/// `../../etc/passwd` becomes `passwd` and `C:\x\y.pdf` becomes `y.pdf`), control characters and NUL
/// replaced by `_`, leading dots removed (no `.`/`..`, no hidden files), at most
/// [`MAX_NAME_BYTES`] bytes (the extension kept when it is short). Returns `fallback` when nothing
/// usable is left (empty, `..`, only separators).
pub fn safe_file_name(raw: &str, fallback: &str) -> String {
    let last = raw
        .split(['/', '\\'])
        .rev()
        .find(|segment| !segment.trim().is_empty() && !matches!(segment.trim(), "." | ".."))
        .unwrap_or("");
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches([' ', '.']);
    if cleaned.is_empty() {
        return fallback.to_string();
    }
    truncate(cleaned)
}

/// Cuts a name to [`MAX_NAME_BYTES`] on a character boundary, keeping a short extension.
fn truncate(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= 16 => (stem, Some(ext)),
        _ => (name, None),
    };
    let room = MAX_NAME_BYTES - ext.map_or(0, |e| e.len() + 1);
    let mut end = room.min(stem.len());
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    match ext {
        Some(ext) => format!("{}.{ext}", &stem[..end]),
        None => stem[..end].to_string(),
    }
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The name is not one plain file name (a bug in the caller: names go through
    /// [`safe_file_name`] first).
    #[error("refusing to write `{0}`: not a plain file name")]
    Unsafe(String),
    /// The file system said no.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Whether `name` is exactly one ordinary path component (no separator, no `..`, not absolute,
/// no NUL, not hidden).
fn is_plain(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(components.next(), Some(Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\\', '\0'])
        && !name.starts_with('.')
}

/// Writes `bytes` to `dir/name` atomically, creating `dir`; refuses any `name` that could land
/// outside `dir`. Returns the file's path.
pub fn write_confined(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, WriteError> {
    if !is_plain(name) {
        return Err(WriteError::Unsafe(name.chars().take(60).collect()));
    }
    std::fs::create_dir_all(dir).map_err(|e| WriteError::Io(dir.to_path_buf(), e))?;
    let target = dir.join(name);
    // A temporary name of our own making in the same folder, so the rename is atomic.
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(WriteError::Io(tmp, e));
    }
    std::fs::rename(&tmp, &target).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        WriteError::Io(target.clone(), e)
    })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_become_one_safe_base_name() {
        let cases = [
            ("../../etc/passwd", "passwd"),
            ("/etc/passwd", "passwd"),
            ("..\\..\\windows\\system.ini", "system.ini"),
            ("C:\\Users\\x\\act.pdf", "act.pdf"),
            ("docs/../act.pdf", "act.pdf"),
            ("a\0b.pdf", "a_b.pdf"),
            ("line\nbreak.txt", "line_break.txt"),
            (".hidden", "hidden"),
            ("...", "fallback"),
            ("..", "fallback"),
            ("../..", "fallback"),
            ("/", "fallback"),
            ("", "fallback"),
            ("   ", "fallback"),
            ("trailing. . ", "trailing"),
            ("акт обстеження.pdf", "акт обстеження.pdf"),
            ("case.assigned", "case.assigned"),
        ];
        for (raw, want) in cases {
            let got = safe_file_name(raw, "fallback");
            assert_eq!(got, want, "{raw:?}");
            assert!(is_plain(&got), "{raw:?} -> {got:?}");
        }
    }

    #[test]
    fn long_names_are_cut_on_a_character_boundary_keeping_the_extension() {
        let long = format!("{}.pdf", "ї".repeat(200));
        let got = safe_file_name(&long, "x");
        assert!(got.len() <= MAX_NAME_BYTES, "{}", got.len());
        assert!(got.ends_with(".pdf"));
        let no_ext = "я".repeat(300);
        assert!(safe_file_name(&no_ext, "x").len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn writes_stay_inside_their_folder() {
        let root = std::env::temp_dir().join(format!("agency-files-{}", uuid::Uuid::new_v4()));
        let dir = root.join("inbox");
        for bad in [
            "../escape",
            "/tmp/escape",
            "a/b",
            ".",
            "..",
            "",
            "a\0b",
            ".hidden",
        ] {
            let err = write_confined(&dir, bad, b"x").unwrap_err();
            assert!(matches!(err, WriteError::Unsafe(_)), "{bad:?}: {err}");
        }
        assert!(!root.join("escape").exists());
        // Nothing was created for the refused names, not even the folder.
        assert!(!dir.exists());

        let name = safe_file_name("../../etc/passwd", "x");
        let path = write_confined(&dir, &name, b"{}").unwrap();
        assert_eq!(path, dir.join("passwd"));
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        // Rewriting replaces the file whole; no temporary file is left behind.
        write_confined(&dir, &name, b"{\"v\":2}").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{\"v\":2}");
        let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1);
        let _ = std::fs::remove_dir_all(root);
    }
}
