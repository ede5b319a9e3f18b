//! The plain ACL's permission bits (Java's `acl.common.Permission`, not the topic permission
//! bits of `crate::message::perm`): how `plain_acl.yml` spells them and what a grant allows.

/// A set of ACL permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AclPerm(u8);

impl AclPerm {
    /// Nothing: set alone or with others, it refuses everything.
    pub const DENY: AclPerm = AclPerm(1);
    /// Needed only: satisfied by PUB or SUB.
    pub const ANY: AclPerm = AclPerm(1 << 1);
    pub const PUB: AclPerm = AclPerm(1 << 2);
    pub const SUB: AclPerm = AclPerm(1 << 3);
    pub const PUB_SUB: AclPerm = AclPerm((1 << 2) | (1 << 3));

    /// `DENY`, `PUB`, `SUB`, `PUB|SUB` or `SUB|PUB` (surrounding spaces ignored); anything
    /// else is `None` (Java turns it into DENY silently; we refuse the file instead).
    pub fn parse(text: &str) -> Option<AclPerm> {
        match text.trim() {
            "DENY" => Some(AclPerm::DENY),
            "PUB" => Some(AclPerm::PUB),
            "SUB" => Some(AclPerm::SUB),
            "PUB|SUB" | "SUB|PUB" => Some(AclPerm::PUB_SUB),
            _ => None,
        }
    }

    /// Whether a grant of `self` allows what `needed` asks for (Java's `checkPermission`).
    pub fn allows(self, needed: AclPerm) -> bool {
        if self.0 & Self::DENY.0 != 0 {
            return false;
        }
        if needed.0 & Self::ANY.0 != 0 {
            return self.0 & (Self::PUB.0 | Self::SUB.0) != 0;
        }
        needed.0 & self.0 != 0
    }
}

impl std::fmt::Display for AclPerm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match *self {
            AclPerm::DENY => "DENY",
            AclPerm::ANY => "PUB or SUB",
            AclPerm::PUB => "PUB",
            AclPerm::SUB => "SUB",
            AclPerm::PUB_SUB => "PUB|SUB",
            AclPerm(bits) => return write!(f, "bits {bits:#x}"),
        };
        f.write_str(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_spellings_parse_and_others_do_not() {
        assert_eq!(AclPerm::parse(" PUB|SUB "), Some(AclPerm::PUB_SUB));
        assert_eq!(AclPerm::parse("SUB|PUB"), Some(AclPerm::PUB_SUB));
        assert_eq!(AclPerm::parse("DENY"), Some(AclPerm::DENY));
        assert_eq!(AclPerm::parse("pub"), None);
        assert_eq!(AclPerm::parse("PUB,SUB"), None);
    }

    #[test]
    fn grants_allow_what_they_name_and_deny_allows_nothing() {
        assert!(AclPerm::PUB.allows(AclPerm::PUB));
        assert!(!AclPerm::PUB.allows(AclPerm::SUB));
        assert!(AclPerm::PUB_SUB.allows(AclPerm::SUB));
        assert!(AclPerm::SUB.allows(AclPerm::ANY));
        assert!(!AclPerm::DENY.allows(AclPerm::ANY));
        assert!(!AclPerm::DENY.allows(AclPerm::PUB));
    }
}
