//! New DICOM UIDs for derived objects, under the `2.25` root of ISO/IEC 9834-8 / ITU-T X.667:
//! `2.25.` followed by the decimal value of a random (version 4) UUID. No registered root is
//! needed and collisions are as unlikely as for any UUID; the result is at most 44 characters
//! (the limit is 64).

/// A fresh UID, e.g. `2.25.329800735698586629295641978511506172918`.
pub fn new_uid() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(uid_from_random(bytes))
}

/// The UID of a version-4 UUID made from 16 random bytes (version and variant bits set as
/// RFC 9562 says, so the value is a valid UUID).
fn uid_from_random(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    format!("2.25.{}", u128::from_be_bytes(bytes))
}

/// Whether `uid` is a well-formed UID: digits and dots, no empty or zero-led component, at
/// most 64 characters (PS3.5 §9.1).
pub fn is_valid_uid(uid: &str) -> bool {
    uid.len() <= 64
        && !uid.is_empty()
        && uid.split('.').all(|c| {
            !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
                && (c == "0" || !c.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn uids_are_valid_unique_and_carry_the_uuid_version() {
        let a = new_uid().unwrap();
        let b = new_uid().unwrap();
        assert_ne!(a, b);
        for uid in [&a, &b] {
            assert!(is_valid_uid(uid), "{uid}");
            let value: u128 = uid.strip_prefix("2.25.").unwrap().parse().unwrap();
            assert_eq!((value >> 76) & 0xf, 4, "version nibble of {uid}");
            assert_eq!((value >> 62) & 0x3, 2, "variant bits of {uid}");
        }
        assert_eq!(uid_from_random([0xff; 16]).len(), 44);
        assert!(
            uid_from_random([0; 16]).starts_with("2.25.")
                && is_valid_uid(&uid_from_random([0; 16]))
        );
        assert!(!is_valid_uid("0.0.0.0.01"));
        assert!(!is_valid_uid("1..2"));
    }
}
