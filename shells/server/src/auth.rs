//! Tokens: HS256 JWTs carrying a subject, an expiry and capabilities.
//!
//! Claims: `{"sub":"alice","exp":<unix s>,"iat":<unix s>,"caps":{"subscribe":
//! ["table/*"],"publish":["table/chat"],"input":["table"]}}`, patterns as in
//! the hub's [`Capabilities`]: `*` matches any run of characters except `/`.

use std::fmt;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use onbeat_core::dispatch::hub::{Capabilities, Pattern};
use onbeat_core::proto::MemberId;
use serde::{Deserialize, Serialize};

/// What a token says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user: presence lists it, and a resume only resumes its own sessions.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issue time, Unix seconds.
    pub iat: u64,
    /// What the holder may do.
    #[serde(default)]
    pub caps: Caps,
}

/// The patterns a token grants.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caps {
    /// Topics the holder may subscribe to.
    #[serde(default)]
    pub subscribe: Vec<String>,
    /// Topics the holder may publish to.
    #[serde(default)]
    pub publish: Vec<String>,
    /// Rooms the holder may send inputs to.
    #[serde(default)]
    pub input: Vec<String>,
}

/// Why a token was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Past its `exp`.
    Expired,
    /// Not a JWT, not HS256, or signed with another key.
    Invalid(String),
    /// `sub` is empty or longer than a protocol member name allows.
    BadSubject,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AuthError::Expired => f.write_str("token expired"),
            AuthError::Invalid(why) => write!(f, "invalid token: {why}"),
            AuthError::BadSubject => f.write_str("token subject must be 1 to 64 bytes"),
        }
    }
}

impl std::error::Error for AuthError {}

/// Signs `claims` with `secret` (HS256).
pub fn mint(secret: &[u8], claims: &Claims) -> String {
    // HS256 signing takes any key length and the claims are plain data, so
    // encoding cannot fail.
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signing of plain claims cannot fail")
}

/// Checks the signature, the algorithm and the expiry (no leeway) of
/// `token`, returning its claims.
pub fn verify(secret: &[u8], token: &str, now_unix: u64) -> Result<Claims, AuthError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    // Expiry is checked below against the server's clock, which tests control.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["exp", "sub"]);
    let data =
        jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(secret), &validation)
            .map_err(|e| AuthError::Invalid(e.to_string()))?;
    if data.claims.exp <= now_unix {
        return Err(AuthError::Expired);
    }
    if data.claims.sub.is_empty() || MemberId::try_from(data.claims.sub.as_str()).is_err() {
        return Err(AuthError::BadSubject);
    }
    Ok(data.claims)
}

impl Claims {
    /// The hub's view of these claims (without expiry; the caller maps it
    /// onto its clock).
    pub fn capabilities(&self) -> Result<Capabilities, AuthError> {
        let user = MemberId::try_from(self.sub.as_str()).map_err(|_| AuthError::BadSubject)?;
        let mut caps = Capabilities::new(user);
        caps.subscribe = self
            .caps
            .subscribe
            .iter()
            .map(|p| Pattern::new(p))
            .collect();
        caps.publish = self.caps.publish.iter().map(|p| Pattern::new(p)).collect();
        caps.input = self.caps.input.iter().map(|p| Pattern::new(p)).collect();
        Ok(caps)
    }
}

/// Why an `--allow` grant was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantError(pub String);

impl fmt::Display for GrantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad grant {:?}: expected room:ROOM:PERMS (PERMS: * or sub,pub,input), \
             topic:PATTERN:PERMS (PERMS: * or sub,pub) or input:ROOM",
            self.0
        )
    }
}

impl std::error::Error for GrantError {}

impl Caps {
    /// Adds one `--allow` grant:
    ///
    /// - `room:ROOM:PERMS`: `sub` subscribe to `ROOM/*`, `pub` publish to
    ///   `ROOM/*`, `input` inputs to `ROOM`; `*` is all three.
    /// - `topic:PATTERN:PERMS`: `sub` and/or `pub` on topics matching
    ///   `PATTERN`; `*` is both.
    /// - `input:ROOM`: inputs to rooms matching `ROOM`.
    pub fn grant(&mut self, grant: &str) -> Result<(), GrantError> {
        let bad = || GrantError(grant.to_owned());
        let (kind, rest) = grant.split_once(':').ok_or_else(bad)?;
        match kind {
            "input" if !rest.is_empty() => {
                self.input.push(rest.to_owned());
                return Ok(());
            }
            "room" | "topic" => {}
            _ => return Err(bad()),
        }
        let (name, perms) = rest.rsplit_once(':').ok_or_else(bad)?;
        if name.is_empty() || perms.is_empty() {
            return Err(bad());
        }
        let all: &[&str] = if kind == "room" {
            &["sub", "pub", "input"]
        } else {
            &["sub", "pub"]
        };
        let perms: Vec<&str> = if perms == "*" {
            all.to_vec()
        } else {
            perms.split(',').collect()
        };
        let topics = if kind == "room" {
            format!("{name}/*")
        } else {
            name.to_owned()
        };
        for perm in perms {
            match perm {
                p if !all.contains(&p) => return Err(bad()),
                "sub" => self.subscribe.push(topics.clone()),
                "pub" => self.publish.push(topics.clone()),
                _ => self.input.push(name.to_owned()),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "alice".into(),
            exp,
            iat: 0,
            caps: Caps {
                subscribe: vec!["table/*".into()],
                publish: vec![],
                input: vec!["table".into()],
            },
        }
    }

    #[test]
    fn a_minted_token_verifies_and_keeps_its_claims() {
        let token = mint(b"k", &claims(100));
        assert_eq!(verify(b"k", &token, 99), Ok(claims(100)));
    }

    #[test]
    fn expired_forged_and_garbage_tokens_are_refused() {
        let token = mint(b"k", &claims(100));
        assert_eq!(verify(b"k", &token, 100), Err(AuthError::Expired));
        assert!(matches!(
            verify(b"other", &token, 1),
            Err(AuthError::Invalid(_))
        ));
        assert!(matches!(
            verify(b"k", "not.a.jwt", 1),
            Err(AuthError::Invalid(_))
        ));
        let mut long = claims(100);
        long.sub = "x".repeat(65);
        assert_eq!(
            verify(b"k", &mint(b"k", &long), 1),
            Err(AuthError::BadSubject)
        );
    }

    #[test]
    fn grants_expand_to_patterns() {
        let mut caps = Caps::default();
        caps.grant("room:table:*").unwrap();
        caps.grant("topic:news/*:sub").unwrap();
        caps.grant("input:lobby").unwrap();
        caps.grant("room:quiz:sub,input").unwrap();
        assert_eq!(caps.subscribe, ["table/*", "news/*", "quiz/*"]);
        assert_eq!(caps.publish, ["table/*"]);
        assert_eq!(caps.input, ["table", "lobby", "quiz"]);
        for bad in ["room:table", "topic:x:input", "nope:x", "room::*", "input:"] {
            assert!(Caps::default().grant(bad).is_err(), "{bad}");
        }
    }
}
