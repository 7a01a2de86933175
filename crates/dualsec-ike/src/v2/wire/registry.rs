//! IANA "IKEv2 Parameters" registries used on the wire, as open newtypes (STYLE.md §4).
//!
//! Unknown values decode, re-encode and print as numbers. Transform ids (`EncrId`, `PrfId`,
//! `IntegId`, `DhId`, `EsnId`) live in [`dualsec_crypto::registry`] and are re-exported here.

use dualsec_crypto::open_enum;
pub use dualsec_crypto::registry::{DhId, EncrId, EsnId, IntegId, PrfId};

open_enum! {
    /// IKEv2 Payload Types (RFC 7296 §3.2, RFC 7383 §2.5).
    pub struct PayloadType(u8) {
        /// No Next Payload: ends a payload chain.
        NONE = 0,
        SA = 33,
        KE = 34,
        IDI = 35,
        IDR = 36,
        CERT = 37,
        CERTREQ = 38,
        AUTH = 39,
        /// Ni and Nr share one payload type.
        NONCE = 40,
        NOTIFY = 41,
        DELETE = 42,
        VENDOR_ID = 43,
        TSI = 44,
        TSR = 45,
        /// Encrypted and Authenticated (RFC 7296 §3.14).
        SK = 46,
        CP = 47,
        EAP = 48,
        GSPM = 49,
        /// Encrypted and Authenticated Fragment (RFC 7383 §2.5).
        SKF = 53,
        PS = 54,
    }
}

open_enum! {
    /// IKEv2 Exchange Types (RFC 7296 §3.1).
    pub struct ExchangeType(u8) {
        IKE_SA_INIT = 34,
        IKE_AUTH = 35,
        CREATE_CHILD_SA = 36,
        INFORMATIONAL = 37,
        IKE_SESSION_RESUME = 38,
        /// RFC 9242.
        IKE_INTERMEDIATE = 43,
        /// RFC 9370.
        IKE_FOLLOWUP_KE = 44,
    }
}

open_enum! {
    /// IKEv2 Notify Message Types (RFC 7296 §3.10.1, RFC 7383, RFC 4555, RFC 7427 …).
    ///
    /// Values below 16384 are errors, 16384 and above are status types.
    pub struct NotifyType(u16) {
        UNSUPPORTED_CRITICAL_PAYLOAD = 1,
        INVALID_IKE_SPI = 4,
        INVALID_MAJOR_VERSION = 5,
        INVALID_SYNTAX = 7,
        INVALID_MESSAGE_ID = 9,
        INVALID_SPI = 11,
        NO_PROPOSAL_CHOSEN = 14,
        INVALID_KE_PAYLOAD = 17,
        AUTHENTICATION_FAILED = 24,
        SINGLE_PAIR_REQUIRED = 34,
        NO_ADDITIONAL_SAS = 35,
        INTERNAL_ADDRESS_FAILURE = 36,
        FAILED_CP_REQUIRED = 37,
        TS_UNACCEPTABLE = 38,
        INVALID_SELECTORS = 39,
        UNACCEPTABLE_ADDRESSES = 40,
        UNEXPECTED_NAT_DETECTED = 41,
        TEMPORARY_FAILURE = 43,
        CHILD_SA_NOT_FOUND = 44,
        INITIAL_CONTACT = 16384,
        SET_WINDOW_SIZE = 16385,
        ADDITIONAL_TS_POSSIBLE = 16386,
        IPCOMP_SUPPORTED = 16387,
        NAT_DETECTION_SOURCE_IP = 16388,
        NAT_DETECTION_DESTINATION_IP = 16389,
        COOKIE = 16390,
        USE_TRANSPORT_MODE = 16391,
        HTTP_CERT_LOOKUP_SUPPORTED = 16392,
        REKEY_SA = 16393,
        ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
        NON_FIRST_FRAGMENTS_ALSO = 16395,
        MOBIKE_SUPPORTED = 16396,
        ADDITIONAL_IP4_ADDRESS = 16397,
        ADDITIONAL_IP6_ADDRESS = 16398,
        NO_ADDITIONAL_ADDRESSES = 16399,
        UPDATE_SA_ADDRESSES = 16400,
        COOKIE2 = 16401,
        NO_NATS_ALLOWED = 16402,
        AUTH_LIFETIME = 16403,
        MULTIPLE_AUTH_SUPPORTED = 16404,
        ANOTHER_AUTH_FOLLOWS = 16405,
        REDIRECT_SUPPORTED = 16406,
        REDIRECT = 16407,
        REDIRECTED_FROM = 16408,
        /// RFC 5998.
        EAP_ONLY_AUTHENTICATION = 16417,
        /// RFC 6023.
        CHILDLESS_IKEV2_SUPPORTED = 16418,
        /// RFC 6311.
        IKEV2_MESSAGE_ID_SYNC_SUPPORTED = 16420,
        /// RFC 7383 §2.3.
        IKEV2_FRAGMENTATION_SUPPORTED = 16430,
        /// RFC 7427 §4.
        SIGNATURE_HASH_ALGORITHMS = 16431,
    }
}

impl NotifyType {
    /// Error types are 0..=16383 (RFC 7296 §3.10.1).
    pub fn is_error(self) -> bool {
        self.0 < 16384
    }
}

open_enum! {
    /// IKEv2 Identification Payload ID Types (RFC 7296 §3.5).
    pub struct IdType(u8) {
        ID_IPV4_ADDR = 1,
        ID_FQDN = 2,
        ID_RFC822_ADDR = 3,
        ID_IPV6_ADDR = 5,
        ID_DER_ASN1_DN = 9,
        ID_DER_ASN1_GN = 10,
        ID_KEY_ID = 11,
        ID_FC_NAME = 12,
        /// RFC 7619.
        ID_NULL = 13,
    }
}

open_enum! {
    /// IKEv2 Authentication Methods (RFC 7296 §3.8, RFC 4754, RFC 7427, RFC 7619).
    pub struct AuthMethod(u8) {
        RSA_DIGITAL_SIGNATURE = 1,
        SHARED_KEY_MIC = 2,
        DSS_DIGITAL_SIGNATURE = 3,
        ECDSA_SHA256_P256 = 9,
        ECDSA_SHA384_P384 = 10,
        ECDSA_SHA512_P521 = 11,
        GENERIC_SECURE_PASSWORD = 12,
        NULL_AUTH = 13,
        DIGITAL_SIGNATURE = 14,
    }
}

open_enum! {
    /// IKEv2 Traffic Selector Types (RFC 7296 §3.13.1).
    pub struct TsType(u8) {
        TS_IPV4_ADDR_RANGE = 7,
        TS_IPV6_ADDR_RANGE = 8,
        TS_FC_ADDR_RANGE = 9,
        /// RFC 9478.
        TS_SECLABEL = 10,
    }
}

open_enum! {
    /// IKEv2 Security Protocol Identifiers (RFC 7296 §3.3.1).
    pub struct ProtocolId(u8) {
        /// Used in notifies that are not about a particular SA.
        NONE = 0,
        IKE = 1,
        AH = 2,
        ESP = 3,
    }
}

open_enum! {
    /// IKEv2 Transform Types (RFC 7296 §3.3.2, RFC 9370).
    pub struct TransformType(u8) {
        ENCR = 1,
        PRF = 2,
        INTEG = 3,
        /// Diffie-Hellman group; "Key Exchange Method" since RFC 9370.
        DH = 4,
        ESN = 5,
    }
}

open_enum! {
    /// IKEv2 Transform Attribute Types (RFC 7296 §3.3.5). The AF bit is not part of the type.
    pub struct TransformAttrType(u16) {
        KEY_LENGTH = 14,
    }
}

open_enum! {
    /// IKEv2 Configuration Payload CFG Types (RFC 7296 §3.15).
    pub struct ConfigType(u8) {
        CFG_REQUEST = 1,
        CFG_REPLY = 2,
        CFG_SET = 3,
        CFG_ACK = 4,
    }
}

open_enum! {
    /// IKEv2 Configuration Payload Attribute Types (RFC 7296 §3.15.1). The R bit is not part of
    /// the type.
    pub struct ConfigAttrType(u16) {
        INTERNAL_IP4_ADDRESS = 1,
        INTERNAL_IP4_NETMASK = 2,
        INTERNAL_IP4_DNS = 3,
        INTERNAL_IP4_NBNS = 4,
        INTERNAL_IP4_DHCP = 6,
        APPLICATION_VERSION = 7,
        INTERNAL_IP6_ADDRESS = 8,
        INTERNAL_IP6_DNS = 10,
        INTERNAL_IP6_DHCP = 12,
        INTERNAL_IP4_SUBNET = 13,
        SUPPORTED_ATTRIBUTES = 14,
        INTERNAL_IP6_SUBNET = 15,
    }
}

open_enum! {
    /// IKEv2 Certificate Encodings (RFC 7296 §3.6).
    pub struct CertEncoding(u8) {
        PKCS7_X509 = 1,
        X509_SIGNATURE = 4,
        CRL = 7,
        RAW_RSA_KEY = 11,
        HASH_AND_URL_X509 = 12,
        HASH_AND_URL_BUNDLE = 13,
        /// RFC 7670.
        RAW_PUBLIC_KEY = 15,
    }
}
