//! Identifiers reports need: UUIDs from caller-supplied random bits, SPDX element ids.

/// A version-4 UUID string made of `bits` (version and variant bits forced).
pub(crate) fn uuid_v4(bits: u128) -> String {
    let b = (bits & !(0xf_u128 << 76) | (0x4_u128 << 76)) & !(0x3_u128 << 62) | (0x2_u128 << 62);
    let hex = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// An SPDX element id from free text: `SPDXRef-` then the text with every character outside
/// `[A-Za-z0-9.-]` replaced by `-`.
pub(crate) fn spdx_id(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("SPDXRef-{cleaned}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        let u = uuid_v4(u128::MAX);
        assert_eq!(u, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let u = uuid_v4(0);
        assert_eq!(u, "00000000-0000-4000-8000-000000000000");
        assert_eq!(spdx_id("Package-libc6@2.36"), "SPDXRef-Package-libc6-2.36");
    }
}
