//! Who may do what (default deny). Authorization is on the sender's numeric
//! id and the chat's id, never on usernames.

use serde::Deserialize;

use crate::config::TelegramConfig;

/// Roles in increasing power.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Any member of an allowed group: read-only commands.
    Member,
    /// `TELEGRAM_ALLOW_IDS`: everything but what is the owner's.
    Operator,
    /// `TELEGRAM_OWNER_ID`: everything.
    Owner,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Operator => "operator",
            Role::Owner => "owner",
        }
    }
}

/// What to do with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Allowed(Role),
    /// A private chat with someone unknown: one short refusal with their id.
    StrangerDm,
    /// A group that is not allowed (or anything else): no answer at all.
    Ignore,
}

/// The sender's standing in this chat.
pub fn access(tg: &TelegramConfig, user_id: u64, chat_id: i64, private: bool) -> Access {
    let personal = if user_id == tg.owner_id {
        Some(Role::Owner)
    } else if tg.allow_ids.contains(&user_id) {
        Some(Role::Operator)
    } else {
        None
    };
    if private {
        return match personal {
            Some(r) => Access::Allowed(r),
            None => Access::StrangerDm,
        };
    }
    if !tg.group_ids.contains(&chat_id) {
        return Access::Ignore;
    }
    Access::Allowed(personal.unwrap_or(Role::Member))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tg() -> TelegramConfig {
        TelegramConfig {
            bot_token: secrecy::SecretString::from("1:x"),
            owner_id: 1,
            allow_ids: vec![2],
            group_ids: vec![-100],
            api_url: "https://api.telegram.org/".parse().expect("test value"),
            rate_limit: true,
            member_rate: 5,
            operator_rate: 60,
        }
    }

    #[test]
    fn default_deny() {
        let t = tg();
        assert_eq!(access(&t, 1, 1, true), Access::Allowed(Role::Owner));
        assert_eq!(access(&t, 2, 2, true), Access::Allowed(Role::Operator));
        assert_eq!(access(&t, 3, 3, true), Access::StrangerDm);
        assert_eq!(access(&t, 3, -100, false), Access::Allowed(Role::Member));
        assert_eq!(access(&t, 2, -100, false), Access::Allowed(Role::Operator));
        assert_eq!(
            access(&t, 1, -200, false),
            Access::Ignore,
            "not an allowed group, even for the owner"
        );
        assert!(Role::Owner > Role::Operator && Role::Operator > Role::Member);
    }
}
