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
#[derive(Debug, Clone, PartialEq)]
struct Group {
    direct: bool,
    /// For direct objects: each identity with its field (links start from them).
    fields: Vec<(String, String)>,
    ids: Vec<String>,
    /// The object's values of the fields a write may have to repeat (the policy's held
    /// fields: a user's own username, email, name, roles).
    held: Vec<(String, Value)>,
}

/// A held field's value is kept only up to this size.
const MAX_HELD_BYTES: usize = 4096;

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

    /// Remember the objects of an answer that name the target in one of `identity_fields`, and
    /// those one declared link further (`links`: a direct object's `from` field equal to this
    /// object's `to` field, such as a worker's name and a user's username). A linked object
    /// belongs to the account of the object it was linked from.
    pub fn observe(
        &mut self,
        answer: &[u8],
        identity_fields: &[String],
        links: &[(String, String)],
        held_fields: &[String],
    ) {
        if self.target.is_empty() || self.groups.len() >= MAX_GROUPS {
            return;
        }
        let pivots = self.pivots(links);
        let mentions = |needle: &str| contains(answer, needle.as_bytes());
        if !mentions(&self.target) && !pivots.iter().any(|(_, v, _)| mentions(v)) {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(answer) else {
            return;
        };
        // Objects naming the target first, then those a link leads to from one of them.
        let target = self.target.clone();
        let mut direct = Vec::new();
        collect_objects(
            &v,
            identity_fields,
            held_fields,
            &|ids| ids.iter().any(|(_, x)| *x == target),
            &mut direct,
        );
        for (ids, held) in direct {
            let values = ids.iter().map(|(_, x)| x.clone()).collect();
            self.add(true, ids, values, held);
        }
        let pivots = self.pivots(links);
        if pivots.is_empty() {
            return;
        }
        let mut linked = Vec::new();
        let leads = |ids: &[(String, String)]| {
            pivots
                .iter()
                .any(|(to, value, _)| ids.iter().any(|(f, x)| f == to && x == value))
        };
        collect_objects(&v, identity_fields, held_fields, &leads, &mut linked);
        for (ids, held) in linked {
            for (to, value, account) in &pivots {
                if ids.iter().any(|(f, x)| f == to && x == value) {
                    let merged: Vec<String> = ids
                        .iter()
                        .map(|(_, x)| x.clone())
                        .chain(account.iter().cloned())
                        .collect();
                    self.add(false, Vec::new(), merged, held.clone());
                }
            }
        }
    }

    /// For each declared link out of a direct object: the field it leads to, the value that
    /// field must hold, and the direct object's identities.
    fn pivots(&self, links: &[(String, String)]) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        for g in self.groups.iter().filter(|g| g.direct) {
            for (from, to) in links {
                if let Some((_, v)) = g.fields.iter().find(|(f, _)| f == from) {
                    out.push((to.clone(), v.clone(), g.ids.clone()));
                }
            }
        }
        out
    }

    fn add(
        &mut self,
        direct: bool,
        fields: Vec<(String, String)>,
        ids: Vec<String>,
        held: Vec<(String, Value)>,
    ) {
        if self.groups.len() >= MAX_GROUPS {
            return;
        }
        let mut group: Vec<String> = Vec::new();
        for i in ids {
            if !group.contains(&i) && group.len() < MAX_IDENTITIES {
                group.push(i);
            }
        }
        if !self.groups.iter().any(|g| g.ids == group) {
            self.groups.push(Group {
                direct,
                fields,
                ids: group,
                held,
            });
        }
    }

    /// Whether a write to `value` stays on the action's account.
    pub fn admits(&self, value: &str) -> Result<(), TargetRefusal> {
        let linked =
            value == self.target || self.groups.iter().any(|g| g.ids.iter().any(|i| i == value));
        if !linked {
            return Err(TargetRefusal::NotTheTarget);
        }
        // Every write of the call, this one included, within one account: the target alone,
        // or one object's identities (each holds the target, or inherits it through its link).
        let writes: Vec<&str> = std::iter::once(value)
            .chain(self.written.iter().map(String::as_str))
            .collect();
        let only_target = writes.iter().all(|w| *w == self.target);
        let one_object = self
            .groups
            .iter()
            .any(|g| writes.iter().all(|w| g.ids.iter().any(|i| i == w)));
        if only_target || one_object {
            Ok(())
        } else {
            Err(TargetRefusal::SecondAccount)
        }
    }

    /// The value of `field` in an answer object of this call that names `identity` and is
    /// linked to the action's account: what the upstream holds for that account (its own
    /// email, name or roles), for a write that must repeat it.
    pub fn held(&self, identity: &str, field: &str) -> Option<&Value> {
        self.groups
            .iter()
            .filter(|g| g.ids.iter().any(|i| i == identity))
            .find_map(|g| g.held.iter().find(|(f, _)| f == field).map(|(_, v)| v))
    }

    /// Remember that the call wrote `value`.
    pub fn record(&mut self, value: &str) {
        if !self.written.iter().any(|w| w == value) {
            self.written.push(value.to_string());
        }
    }
}

/// An identity field of an object and its value.
type Field = (String, String);

/// One object's identities, and its held fields' values.
type Seen = (Vec<Field>, Vec<(String, Value)>);

/// The identity fields and values of each object `keep` accepts, depth first, at most
/// `MAX_GROUPS` of them.
fn collect_objects(
    v: &Value,
    fields: &[String],
    held_fields: &[String],
    keep: &dyn Fn(&[Field]) -> bool,
    out: &mut Vec<Seen>,
) {
    if out.len() >= MAX_GROUPS {
        return;
    }
    match v {
        Value::Object(map) => {
            let ids: Vec<(String, String)> = fields
                .iter()
                .filter_map(|f| {
                    map.get(f)
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map(|s| (f.clone(), s.to_string()))
                })
                .collect();
            if !ids.is_empty() && keep(&ids) {
                let held = held_fields
                    .iter()
                    .filter_map(|f| map.get(f).map(|v| (f.clone(), v.clone())))
                    .filter(|(_, v)| v.to_string().len() <= MAX_HELD_BYTES)
                    .collect();
                out.push((ids, held));
            }
            map.values()
                .for_each(|c| collect_objects(c, fields, held_fields, keep, out));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|c| collect_objects(c, fields, held_fields, keep, out)),
        _ => {}
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

    fn links() -> Vec<(String, String)> {
        vec![("friendly_name".into(), "username".into())]
    }

    #[test]
    fn a_shared_name_links_no_other_account_nor_another_worker_of_that_name() {
        // Two subaccounts named alike: closing one may not close the other.
        let mut t = ActionTargets::new("AC2");
        t.observe(
            br#"{"accounts":[{"sid":"AC2","friendly_name":"Support"},{"sid":"AC3","friendly_name":"Support"}]}"#,
            &fields(),
            &links(),
            &[],
        );
        assert_eq!(t.admits("AC2"), Ok(()));
        t.record("AC2");
        assert_eq!(t.admits("AC3"), Err(TargetRefusal::NotTheTarget));
        // Two workers named alice in two workspaces: the name leads to users, not workers.
        let mut t = ActionTargets::new("WK1");
        t.observe(
            br#"[{"sid":"WK1","friendly_name":"alice"},{"sid":"WK7","friendly_name":"alice"}]"#,
            &fields(),
            &links(),
            &[],
        );
        assert_eq!(t.admits("WK7"), Err(TargetRefusal::NotTheTarget));
        // The user of that name is the worker's account, and both may be written together.
        t.observe(
            br#"{"user_id":"FU1","username":"alice"}"#,
            &fields(),
            &links(),
            &[],
        );
        t.record("FU1");
        assert_eq!(t.admits("WK1"), Ok(()));
        assert_eq!(t.admits("WK7"), Err(TargetRefusal::NotTheTarget));
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
            &links(),
            &[],
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
            &links(),
            &[],
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
            &links(),
            &[],
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
            &links(),
            &[],
        );
        t.record("FU1");
        assert_eq!(t.admits("WK1"), Ok(()));
    }

    #[test]
    fn one_step_further_links_a_worker_to_the_user_of_its_name_and_no_further() {
        let mut t = ActionTargets::new("WK1");
        t.observe(
            br#"{"sid":"WK1","friendly_name":"bob"}"#,
            &fields(),
            &links(),
            &[],
        );
        // The user of that name, whose answer does not carry the worker.
        t.observe(
            br#"{"user_id":"FU1","username":"bob"}"#,
            &fields(),
            &links(),
            &[],
        );
        assert_eq!(t.admits("FU1"), Ok(()));
        // Two steps away: someone sharing an identity with FU1 only.
        t.observe(
            br#"{"user_id":"FU9","worker_sid":"FU1"}"#,
            &fields(),
            &links(),
            &[],
        );
        assert_eq!(t.admits("FU9"), Err(TargetRefusal::NotTheTarget));
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = ActionTargets::new("x");
        let many: Vec<String> = (0..1000)
            .map(|i| format!(r#"{{"sid":"S{i}","username":"x"}}"#))
            .collect();
        t.observe(
            format!("[{}]", many.join(",")).as_bytes(),
            &fields(),
            &links(),
            &[],
        );
        assert!(t.groups.len() <= MAX_GROUPS);
    }
}
