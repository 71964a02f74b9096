//! Which account an action may write: the one it was asked for. The host knows the id the
//! action was called with; an upstream answer read during the call may link other identities
//! to it (a worker fetched by SID answers with its name, and the user of that name with its
//! own SID). Only identities the upstream itself put beside the target in one object count
//! (or, one step further, beside such an identity: worker → username → user), and every write
//! of one call must fall within one such object: one action never writes two accounts.

use serde_json::Value;

/// Objects remembered per call, and identities per object: bounded whatever the answers hold.
const MAX_GROUPS: usize = 64;
const MAX_IDENTITIES: usize = 16;

/// Why a write's target is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetRefusal {
    /// Neither the account acted on nor an identity linked to it.
    NotTheTarget,
    /// Linked to it, but not together with what this call already wrote: another account.
    SecondAccount,
}

/// The identities of one answer object linked to the target.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    direct: bool,
    ids: Vec<String>,
}

/// The action's target, the identities answers linked to it, and what the call wrote so far.
#[derive(Debug, Clone, Default)]
pub struct ActionTargets {
    target: String,
    /// Each: the identity values of one answer object that names the target (`direct`) or an
    /// identity of a direct object.
    groups: Vec<Group>,
    written: Vec<String>,
}

impl ActionTargets {
    /// Targets of an action on `target`.
    pub fn new(target: &str) -> Self {
        Self {
            target: target.to_string(),
            ..Self::default()
        }
    }

    /// The id the action was called with.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Remember the objects of an answer that name the target (or an identity of an object that
    /// does) in one of `identity_fields`.
    pub fn observe(&mut self, answer: &[u8], identity_fields: &[String]) {
        if self.target.is_empty() || self.groups.len() >= MAX_GROUPS {
            return;
        }
        let direct = self.direct_ids();
        let mentions = |needle: &str| contains(answer, needle.as_bytes());
        if !mentions(&self.target) && !direct.iter().any(|d| mentions(d)) {
            return;
        }
        if let Ok(v) = serde_json::from_slice::<Value>(answer) {
            // Objects naming the target first, then those naming one of their identities.
            self.walk(&v, identity_fields, true);
            self.walk(&v, identity_fields, false);
        }
    }

    /// Identities of objects that named the target itself.
    fn direct_ids(&self) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.direct)
            .flat_map(|g| g.ids.iter().cloned())
            .filter(|i| *i != self.target)
            .collect()
    }

    fn walk(&mut self, v: &Value, fields: &[String], direct: bool) {
        match v {
            Value::Object(map) => {
                let ids: Vec<String> = fields
                    .iter()
                    .filter_map(|f| map.get(f).and_then(Value::as_str))
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let linked = if direct {
                    ids.contains(&self.target)
                } else {
                    let via = self.direct_ids();
                    ids.iter().any(|i| via.contains(i))
                };
                if linked && self.groups.len() < MAX_GROUPS {
                    let mut group: Vec<String> = Vec::new();
                    for i in ids {
                        if !group.contains(&i) && group.len() < MAX_IDENTITIES {
                            group.push(i);
                        }
                    }
                    if !self.groups.iter().any(|g| g.ids == group) {
                        self.groups.push(Group { direct, ids: group });
                    }
                }
                map.values().for_each(|c| self.walk(c, fields, direct));
            }
            Value::Array(items) => items.iter().for_each(|c| self.walk(c, fields, direct)),
            _ => {}
        }
    }

    /// Whether a write to `value` stays on the action's account.
    pub fn admits(&self, value: &str) -> Result<(), TargetRefusal> {
        let linked =
            value == self.target || self.groups.iter().any(|g| g.ids.iter().any(|i| i == value));
        if !linked {
            return Err(TargetRefusal::NotTheTarget);
        }
        let all_in = |set: &[String]| {
            std::iter::once(value)
                .chain(self.written.iter().map(String::as_str))
                .all(|w| w == self.target || set.iter().any(|i| i == w))
        };
        if all_in(&[]) || self.groups.iter().any(|g| all_in(&g.ids)) {
            Ok(())
        } else {
            Err(TargetRefusal::SecondAccount)
        }
    }

    /// Remember that the call wrote `value`.
    pub fn record(&mut self, value: &str) {
        if !self.written.iter().any(|w| w == value) {
            self.written.push(value.to_string());
        }
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<String> {
        ["sid", "friendly_name", "username", "user_id", "worker_sid"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn the_target_itself_is_always_admitted_and_nothing_else_unlinked() {
        let t = ActionTargets::new("WK1");
        assert_eq!(t.admits("WK1"), Ok(()));
        assert_eq!(t.admits("WK2"), Err(TargetRefusal::NotTheTarget));
    }

    #[test]
    fn identities_the_upstream_puts_beside_the_target_are_linked() {
        let mut t = ActionTargets::new("alice");
        // A list where alice is one of many: only her object links.
        t.observe(
            br#"{"users":[{"user_id":"FU1","username":"alice","worker_sid":"WK1"},{"user_id":"FU2","username":"bob","worker_sid":"WK2"}]}"#,
            &fields(),
        );
        assert_eq!(t.admits("FU1"), Ok(()));
        assert_eq!(t.admits("WK1"), Ok(()));
        assert_eq!(t.admits("FU2"), Err(TargetRefusal::NotTheTarget));
        assert_eq!(t.admits("WK2"), Err(TargetRefusal::NotTheTarget));
        // A field that is not an identity (a workspace, an account) links nothing.
        let mut t = ActionTargets::new("WK1");
        t.observe(
            br#"{"sid":"WK1","workspace_sid":"WS1","account_sid":"AC1"}"#,
            &fields(),
        );
        assert_eq!(t.admits("WS1"), Err(TargetRefusal::NotTheTarget));
    }

    #[test]
    fn one_action_never_writes_two_accounts() {
        // Two users share an email the action was called with.
        let mut t = ActionTargets::new("a@x.example");
        t.observe(
            br#"[{"sid":"US1","username":"a@x.example"},{"sid":"US2","username":"a@x.example"}]"#,
            &fields(),
        );
        assert_eq!(t.admits("US1"), Ok(()));
        t.record("US1");
        assert_eq!(t.admits("US1"), Ok(()));
        assert_eq!(t.admits("US2"), Err(TargetRefusal::SecondAccount));
        // One account's two identities may both be written (a user, then its worker).
        let mut t = ActionTargets::new("alice");
        t.observe(
            br#"{"user_id":"FU1","username":"alice","worker_sid":"WK1"}"#,
            &fields(),
        );
        t.record("FU1");
        assert_eq!(t.admits("WK1"), Ok(()));
    }

    #[test]
    fn one_step_further_links_a_worker_to_the_user_of_its_name_and_no_further() {
        let mut t = ActionTargets::new("WK1");
        t.observe(br#"{"sid":"WK1","friendly_name":"bob"}"#, &fields());
        // The user of that name, whose answer does not carry the worker.
        t.observe(br#"{"user_id":"FU1","username":"bob"}"#, &fields());
        assert_eq!(t.admits("FU1"), Ok(()));
        // Two steps away: someone sharing an identity with FU1 only.
        t.observe(br#"{"user_id":"FU9","worker_sid":"FU1"}"#, &fields());
        assert_eq!(t.admits("FU9"), Err(TargetRefusal::NotTheTarget));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = ActionTargets::new("x");
        let many: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"sid":"S{i}","username":"x"}}"#))
            .collect();
        t.observe(format!("[{}]", many.join(",")).as_bytes(), &fields());
        assert!(t.groups.len() <= MAX_GROUPS);
    }
}
