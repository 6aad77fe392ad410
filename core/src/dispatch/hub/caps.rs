//! What a session may do, as verified by the shell.
//!
//! The shell authenticates a connection (a token, a cookie) and hands the hub
//! the result as [`Capabilities`]: who the user is and which topics it may
//! subscribe or publish to and which rooms it may send inputs to. Patterns are
//! names in which `*` matches any run of characters other than `/`, so
//! `table-1/*` allows every topic of room `table-1` and `*` every room.

use alloc::string::String;
use alloc::vec::Vec;

use crate::proto::MemberId;
use crate::time::Instant;

/// A name pattern: `*` matches any run of characters except `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// A pattern from its text.
    pub fn new(text: &str) -> Self {
        Pattern(String::from(text))
    }

    /// Whether `name` matches. Linear in practice: one star is backtracked at
    /// a time and never across a `/`.
    pub fn matches(&self, name: &str) -> bool {
        let (p, n) = (self.0.as_bytes(), name.as_bytes());
        let (mut pi, mut ni) = (0, 0);
        // Where the last star was and where its match ends so far.
        let mut star: Option<(usize, usize)> = None;
        while ni < n.len() {
            if pi < p.len() && p[pi] == b'*' {
                star = Some((pi, ni));
                pi += 1;
            } else if pi < p.len() && p[pi] == n[ni] {
                pi += 1;
                ni += 1;
            } else if let Some((sp, sn)) = star {
                // A star cannot swallow a separator, and no earlier star can
                // either: they all sit before it.
                if n[sn] == b'/' {
                    return false;
                }
                star = Some((sp, sn + 1));
                pi = sp + 1;
                ni = sn + 1;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|&c| c == b'*')
    }
}

/// Who a connection is and what it may do, from a verified credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// The user: presence lists users, and `send_to_user` reaches all of a
    /// user's sessions. A resume token only resumes a session of the same user.
    pub user: MemberId,
    /// Topics the session may subscribe to.
    pub subscribe: Vec<Pattern>,
    /// Topics the session may publish to.
    pub publish: Vec<Pattern>,
    /// Rooms the session may send inputs to.
    pub input: Vec<Pattern>,
    /// When the credential stops being valid; the hub then closes the
    /// connection with `expired`.
    pub expires_at: Option<Instant>,
}

impl Capabilities {
    /// A user allowed nothing yet.
    pub fn new(user: MemberId) -> Self {
        Capabilities {
            user,
            subscribe: Vec::new(),
            publish: Vec::new(),
            input: Vec::new(),
            expires_at: None,
        }
    }

    /// Also allows subscribing to topics matching `pattern`.
    pub fn subscribe(mut self, pattern: &str) -> Self {
        self.subscribe.push(Pattern::new(pattern));
        self
    }

    /// Also allows publishing to topics matching `pattern`.
    pub fn publish(mut self, pattern: &str) -> Self {
        self.publish.push(Pattern::new(pattern));
        self
    }

    /// Also allows inputs to rooms matching `pattern`.
    pub fn input(mut self, pattern: &str) -> Self {
        self.input.push(Pattern::new(pattern));
        self
    }

    /// Ends the credential's validity at `at`.
    pub fn expires_at(mut self, at: Instant) -> Self {
        self.expires_at = Some(at);
        self
    }

    pub(crate) fn may_subscribe(&self, topic: &str) -> bool {
        self.subscribe.iter().any(|p| p.matches(topic))
    }

    pub(crate) fn may_publish(&self, topic: &str) -> bool {
        self.publish.iter().any(|p| p.matches(topic))
    }

    pub(crate) fn may_input(&self, room: &str) -> bool {
        self.input.iter().any(|p| p.matches(room))
    }
}

/// The room a topic belongs to: its name up to the first `/`, if it has one.
pub(crate) fn room_of(topic: &str) -> Option<&str> {
    topic.split_once('/').map(|(room, _)| room)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_match_within_one_segment() {
        let p = Pattern::new("table-*/chat");
        assert!(p.matches("table-1/chat"));
        assert!(p.matches("table-/chat"));
        assert!(!p.matches("table-1/x/chat"));
        assert!(!p.matches("table-1/chatter"));
        assert!(Pattern::new("*").matches("room"));
        assert!(!Pattern::new("*").matches("room/topic"));
        assert!(Pattern::new("a/*").matches("a/b"));
        assert!(!Pattern::new("a/*").matches("b/a"));
        assert!(Pattern::new("a*b*c").matches("axxbyyc"));
        assert!(!Pattern::new("a*b*c").matches("axxbyy"));
        assert!(Pattern::new("exact").matches("exact"));
        assert!(!Pattern::new("exact").matches("exactly"));
        assert!(Pattern::new("*/*").matches("r/t"));
    }

    #[test]
    fn a_topic_belongs_to_the_room_before_its_first_slash() {
        assert_eq!(room_of("table-1/chat"), Some("table-1"));
        assert_eq!(room_of("table-1/a/b"), Some("table-1"));
        assert_eq!(room_of("lobby"), None);
    }
}
