//! Sans-IO ESP (RFC 4303) security associations with UDP encapsulation (RFC 3948).
