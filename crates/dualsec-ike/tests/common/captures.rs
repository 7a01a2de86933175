//! Test vectors shared by the codec tests: hex decoding and captured messages.

/// Decodes hex, ignoring white space (captures are wrapped over several lines).
pub fn h(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// An IKEv2 IKE_SA_INIT request captured in AOSP's IKE library test suite
/// (`platform/packages/modules/IPsec`, `IkeMessageTest.java`).
pub const SA_INIT_REQ: &str = "8f54bf6d8b48e6e10000000000000000212022080000000000000150
    220000300000002c010100040300000c0100000c800e00800300000803000002030000080400000200000008
    020000022800008800020000b4a2faf4bb54878ae21d638512ece55d9236fc5046ab6cef82220f421f3ce6361faf3656
    4ecb6d28798a94aad7b2b4b603ddeaaa5630adb9ece8ac37534036040610ebdd92f46bef84f0be7db860351843858f8a
    cf87056e272377f70c9f2d81e29c7b0ce4f291a3a72476bb0b278fd4b7b0a4c26bbeb08214c707137607958729000024
    c39b7f368f4681b89fa9b7be6465abd7c5f68b6ed5d3b4c72cb4240eb5c464122900001c00004004e54f73b7d83f6beb
    881eab2051d8663f421d10b02b00001c00004005d915368ca036004cb578ae3e3fb268509aeab1900000002069936922
    8741c6d4ca094c93e242c9de19e7b7c60000000500000500";
