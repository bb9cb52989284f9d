//! This device's instance id for SIP outbound (RFC 5626 `+sip.instance`): a random UUID made on
//! the first start and kept in the data directory (`instance-id` beside the history), so the
//! registrar recognises the same phone across restarts and address changes and replaces its
//! binding instead of adding one more. A directory that cannot be written to costs only that:
//! the id made for this run is used.

use std::path::Path;

const FILE_NAME: &str = "instance-id";

/// The id kept in `dir`, or a new one (saved there when possible).
pub fn load_or_create(dir: &Path) -> String {
    let path = dir.join(FILE_NAME);
    if let Ok(text) = std::fs::read_to_string(&path) {
        let id = text.trim();
        if is_uuid(id) {
            return id.to_ascii_lowercase();
        }
        tracing::warn!("{} holds no instance id: making a new one", path.display());
    }
    let id = new_uuid(rand::random());
    let saved = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&path, format!("{id}\n")));
    if let Err(e) = saved {
        tracing::warn!(
            "cannot keep this device's instance id in {}: {e}",
            path.display()
        );
    }
    id
}

/// A version 4 (random) UUID from 16 random bytes (RFC 9562 5.4).
fn new_uuid(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_random_uuid_has_its_version_and_variant() {
        let id = new_uuid([0xff; 16]);
        assert_eq!(id, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_uuid(&id));
        assert!(!is_uuid("not-a-uuid") && !is_uuid(&id.replace('-', "x")));
    }

    /// Made once, then the same id on every start; a damaged file is replaced.
    #[test]
    fn the_id_is_kept_across_starts() {
        let dir = std::env::temp_dir().join(format!("hf-instance-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load_or_create(&dir);
        assert!(is_uuid(&first), "{first}");
        assert_eq!(load_or_create(&dir), first);
        std::fs::write(dir.join(FILE_NAME), "garbage").unwrap();
        let replaced = load_or_create(&dir);
        assert!(is_uuid(&replaced) && replaced != first);
        assert_eq!(load_or_create(&dir), replaced);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
