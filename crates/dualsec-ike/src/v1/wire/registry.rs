//! ISAKMP (RFC 2408) and IPsec DOI (RFC 2407) registries, as open newtypes (STYLE.md §4).

use dualsec_crypto::open_enum;

open_enum! {
    /// ISAKMP Next Payload Types (RFC 2408 §3.1, RFC 3947 §3.2 and §5.2).
    pub struct PayloadType(u8) {
        NONE = 0,
        SA = 1,
        /// Proposal: only inside SA.
        PROPOSAL = 2,
        /// Transform: only inside a proposal.
        TRANSFORM = 3,
        KE = 4,
        ID = 5,
        CERT = 6,
        CR = 7,
        HASH = 8,
        SIG = 9,
        NONCE = 10,
        N = 11,
        D = 12,
        VID = 13,
        /// Mode-config attributes (draft-dukes-ike-mode-cfg).
        ATTR = 14,
        NAT_D = 20,
        NAT_OA = 21,
        /// Pre-RFC NAT-T drafts (draft-ietf-ipsec-nat-t-ike-02/03).
        NAT_D_DRAFT = 130,
        NAT_OA_DRAFT = 131,
    }
}

open_enum! {
    /// ISAKMP Exchange Types (RFC 2408 §3.1, RFC 2409 §5).
    pub struct ExchangeType(u8) {
        BASE = 1,
        /// Main Mode.
        IDENTITY_PROTECTION = 2,
        AUTHENTICATION_ONLY = 3,
        AGGRESSIVE = 4,
        INFORMATIONAL = 5,
        /// Mode config (draft-dukes-ike-mode-cfg).
        TRANSACTION = 6,
        QUICK_MODE = 32,
        NEW_GROUP_MODE = 33,
    }
}

open_enum! {
    /// Domain of Interpretation (RFC 2408 §3.4, RFC 2407 §4.2).
    pub struct Doi(u32) {
        ISAKMP = 0,
        IPSEC = 1,
    }
}

open_enum! {
    /// IPsec DOI Security Protocol Identifiers (RFC 2407 §4.4.1).
    pub struct ProtocolId(u8) {
        ISAKMP = 1,
        IPSEC_AH = 2,
        IPSEC_ESP = 3,
        IPCOMP = 4,
    }
}

open_enum! {
    /// Transform identifiers of PROTO_ISAKMP (RFC 2407 §4.4.2). ESP transform ids equal
    /// [`dualsec_crypto::EncrId`] values (ESP_DES = 2, ESP_3DES = 3, ESP_AES = 12).
    pub struct IsakmpTransformId(u8) {
        KEY_IKE = 1,
    }
}

open_enum! {
    /// Phase 1 (Oakley) attribute classes (RFC 2409 Appendix A).
    pub struct Phase1AttrType(u16) {
        ENCRYPTION_ALGORITHM = 1,
        HASH_ALGORITHM = 2,
        AUTHENTICATION_METHOD = 3,
        GROUP_DESCRIPTION = 4,
        GROUP_TYPE = 5,
        GROUP_PRIME = 6,
        LIFE_TYPE = 11,
        LIFE_DURATION = 12,
        PRF = 13,
        KEY_LENGTH = 14,
        FIELD_SIZE = 15,
        GROUP_ORDER = 16,
    }
}

open_enum! {
    /// Phase 1 Authentication Method values (RFC 2409 Appendix A; XAUTH from
    /// draft-beaulieu-ike-xauth).
    pub struct Phase1AuthMethod(u16) {
        PRE_SHARED_KEY = 1,
        DSS_SIGNATURES = 2,
        RSA_SIGNATURES = 3,
        RSA_ENCRYPTION = 4,
        REVISED_RSA_ENCRYPTION = 5,
        XAUTH_INIT_PRE_SHARED = 65001,
    }
}

open_enum! {
    /// Life Type values, phase 1 and IPsec DOI (RFC 2409 Appendix A, RFC 2407 §4.5).
    pub struct LifeType(u16) {
        SECONDS = 1,
        KILOBYTES = 2,
    }
}

open_enum! {
    /// IPsec DOI (phase 2) SA attribute types (RFC 2407 §4.5).
    pub struct IpsecAttrType(u16) {
        SA_LIFE_TYPE = 1,
        SA_LIFE_DURATION = 2,
        GROUP_DESCRIPTION = 3,
        ENCAPSULATION_MODE = 4,
        AUTHENTICATION_ALGORITHM = 5,
        KEY_LENGTH = 6,
        KEY_ROUNDS = 7,
        COMPRESS_DICTIONARY_SIZE = 8,
        COMPRESS_PRIVATE_ALGORITHM = 9,
        /// RFC 4304.
        EXTENDED_SEQUENCE_NUMBER = 11,
    }
}

open_enum! {
    /// Encapsulation Mode values (RFC 2407 §4.5, RFC 3947 §5.1).
    pub struct EncapsulationMode(u16) {
        TUNNEL = 1,
        TRANSPORT = 2,
        UDP_ENCAPSULATED_TUNNEL = 3,
        UDP_ENCAPSULATED_TRANSPORT = 4,
        /// draft-ietf-ipsec-nat-t-ike-00..03 values still sent by old peers.
        UDP_TUNNEL_DRAFT = 61443,
        UDP_TRANSPORT_DRAFT = 61444,
    }
}

open_enum! {
    /// IPsec DOI Identification Types (RFC 2407 §4.6.2.1).
    pub struct IdType(u8) {
        ID_IPV4_ADDR = 1,
        ID_FQDN = 2,
        ID_USER_FQDN = 3,
        ID_IPV4_ADDR_SUBNET = 4,
        ID_IPV6_ADDR = 5,
        ID_IPV6_ADDR_SUBNET = 6,
        ID_IPV4_ADDR_RANGE = 7,
        ID_IPV6_ADDR_RANGE = 8,
        ID_DER_ASN1_DN = 9,
        ID_DER_ASN1_GN = 10,
        ID_KEY_ID = 11,
    }
}

open_enum! {
    /// ISAKMP Notify Message Types (RFC 2408 §3.14.1, RFC 2407 §4.6.3, RFC 3706).
    pub struct NotifyType(u16) {
        INVALID_PAYLOAD_TYPE = 1,
        DOI_NOT_SUPPORTED = 2,
        SITUATION_NOT_SUPPORTED = 3,
        INVALID_COOKIE = 4,
        INVALID_MAJOR_VERSION = 5,
        INVALID_MINOR_VERSION = 6,
        INVALID_EXCHANGE_TYPE = 7,
        INVALID_FLAGS = 8,
        INVALID_MESSAGE_ID = 9,
        INVALID_PROTOCOL_ID = 10,
        INVALID_SPI = 11,
        INVALID_TRANSFORM_ID = 12,
        ATTRIBUTES_NOT_SUPPORTED = 13,
        NO_PROPOSAL_CHOSEN = 14,
        BAD_PROPOSAL_SYNTAX = 15,
        PAYLOAD_MALFORMED = 16,
        INVALID_KEY_INFORMATION = 17,
        INVALID_ID_INFORMATION = 18,
        INVALID_CERT_ENCODING = 19,
        INVALID_CERTIFICATE = 20,
        CERT_TYPE_UNSUPPORTED = 21,
        INVALID_CERT_AUTHORITY = 22,
        INVALID_HASH_INFORMATION = 23,
        AUTHENTICATION_FAILED = 24,
        INVALID_SIGNATURE = 25,
        ADDRESS_NOTIFICATION = 26,
        NOTIFY_SA_LIFETIME = 27,
        CERTIFICATE_UNAVAILABLE = 28,
        UNSUPPORTED_EXCHANGE_TYPE = 29,
        UNEQUAL_PAYLOAD_LENGTHS = 30,
        CONNECTED = 16384,
        RESPONDER_LIFETIME = 24576,
        REPLAY_STATUS = 24577,
        INITIAL_CONTACT = 24578,
        /// Dead Peer Detection (RFC 3706 §5.1).
        R_U_THERE = 36136,
        R_U_THERE_ACK = 36137,
    }
}
