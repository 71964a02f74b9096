//! Reading usage for a page of accounts: one pipeline of Monthly reads, the Daily reads that
//! make each service's date exact, or, for an account whose usage the tenant's kept state
//! already knows, one Daily read of the days since (an incremental re-sync).

use super::account_resource::{AccountResource, to_account};
use super::kept_usage::{self, KeptUsage};
use super::usage::{Activity, UsageRecord};
use super::{API_HOST, url};
use crate::errors::ConnectorError;
use crate::model::{Account, Config, Result};
use crate::paging;
use crate::retry::Client;
use crate::state::State;
use crate::time::month_bounds;
use std::collections::{BTreeMap, HashMap};

/// Largest page the 2010 API serves: usage lists are read in pages this size and reduced page
/// by page.
const PAGE_SIZE: u32 = 1000;

/// Usage list URL for an account; the connecting account's own usage must exclude its
/// subaccounts (`IncludeSubaccounts` defaults to true).
pub(super) fn usage_url(
    cfg: &Config,
    sid: &str,
    granularity: &str,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> String {
    url(&usage_path(
        cfg,
        sid,
        &format!("Records/{granularity}.json"),
        range,
    ))
}

/// Path and query of a usage list (`resource` is e.g. `Records/Monthly.json`).
fn usage_path(
    cfg: &Config,
    sid: &str,
    resource: &str,
    range: Option<(chrono::NaiveDate, chrono::NaiveDate)>,
) -> String {
    let mut u = format!("/2010-04-01/Accounts/{sid}/Usage/{resource}?PageSize={PAGE_SIZE}");
    if sid.eq_ignore_ascii_case(cfg.account_id.trim()) {
        u.push_str("&IncludeSubaccounts=false");
    }
    if let Some((start, end)) = range {
        u.push_str(&format!("&StartDate={start}&EndDate={end}"));
    }
    u
}

/// Which usage list a page belongs to.
#[derive(Debug, Clone, Copy)]
enum UsageList {
    /// The Monthly records of account `i`.
    Monthly(usize),
    /// The Daily records of account `i` in the month starting on the date.
    Daily(usize, chrono::NaiveDate),
    /// The Daily records of account `i` since its kept read (a re-sync).
    Since(usize),
}

/// The next page of the account list, read alongside this page's usage (`accounts.rs`).
#[derive(Debug)]
pub enum Ahead {
    /// Not asked for, or not readable now: the next call reads it.
    Unread,
    /// It was the list's last page: its accounts are among this call's.
    Joined,
    /// Read, and more pages follow: its accounts and its own next link (absolute), for the
    /// next call.
    Read(Vec<AccountResource>, String),
}

/// What one pipeline reads: usage lists, the call's own page of the account list, and at most
/// one page of the list ahead.
enum Read {
    Usage(UsageList),
    /// The call's page of the account list: its accounts are this call's.
    Page,
    /// The page after it, read ahead.
    Accounts,
}

/// A page of either kind. An account page carries its next link itself: the walk must not
/// follow it (the next call does).
enum Listed {
    /// A usage page, reduced as it was read (its records borrowed from the answer).
    Usage(Activity),
    Accounts(Vec<AccountResource>, Option<String>),
}

/// Where a call's accounts come from.
pub enum Page {
    /// Already read (one account, or a page the call before read ahead), with the list's next
    /// page link.
    Read(Vec<AccountResource>, Option<String>),
    /// Read in the pipeline from this URL. The usage of the accounts `early` names (the SIDs
    /// the last sync's first call listed, at most two pages of them: the caller bounds it) is
    /// read alongside it, so a re-sync does not wait one round trip for the account page with
    /// every slot idle. The page's other accounts are read when it arrives; an early account
    /// that neither it nor a joined last page lists is dropped: its reads start nothing more
    /// and keep nothing, whatever they answered.
    Reading { url: String, early: Vec<String> },
}

/// What a call listed: its accounts with their activity, the list's next page link, and the
/// page read ahead.
pub struct Listing {
    pub accounts: Vec<Account>,
    pub next: Option<String>,
    pub ahead: Ahead,
}

/// Read usage for many accounts at once, one pipeline: each account's Monthly records, and as
/// soon as they are complete, one Daily query per distinct month that holds a service's latest
/// priced date (each month refined by its own Daily records). An account whose usage `state`
/// kept from an earlier sync reads only the Daily records since instead. Every page is reduced
/// to the latest priced date per service as it arrives, so memory does not grow with usage
/// history. What was read completely is kept in `state` for the next sync, each account as
/// soon as its last read is done.
///
/// The list's next page (at most `most` accounts) is read in the same pipeline; when it is the
/// list's last, its accounts join this call (their usage read with the rest), so a list that
/// ends just past a page costs no call of its own.
pub fn with_usage(
    client: &mut Client<'_>,
    mut state: Option<&mut dyn State>,
    cfg: &Config,
    page: Page,
    most: usize,
) -> Result<Listing> {
    let mut reads = Reads {
        cfg,
        today: client.now().date_naive(),
        sids: Vec::new(),
        slots: Vec::new(),
        activity: Vec::new(),
        warnings: Vec::new(),
        early: HashMap::new(),
        read_all: Vec::new(),
        listed: Vec::new(),
        months: BTreeMap::new(),
    };
    let mut next = None;
    let starts: Vec<(Read, String)> = match page {
        Page::Read(resources, link) => {
            let mut starts = reads.add(state.as_deref_mut(), resources)?;
            if let Some(link) = &link {
                // Read first: when it is the list's last page, its accounts' usage reads then
                // queue behind this page's Monthly reads, not behind every Daily read those
                // start (where they would be a tail of two round trips with the slots idle).
                starts.insert(0, (Read::Accounts, link.clone()));
            }
            next = link;
            starts
        }
        Page::Reading { url, early } => {
            let mut starts = vec![(Read::Page, url)];
            starts.extend(reads.add_early(state.as_deref_mut(), early));
            starts
        }
    };
    let mut outcome = Ahead::Unread;
    paging::walk_pages_reading(
        client,
        starts,
        |read| match read {
            Read::Usage(_) => Some(UsageRecord::FIELDS),
            Read::Page | Read::Accounts => Some(AccountResource::FIELDS),
        },
        // The page ahead goes before the queued reads (see `Page::Read` above).
        |read| matches!(read, Read::Accounts),
        |read, response| match read {
            Read::Usage(_) => {
                response.ok("usage")?;
                let page = paging::parse_page::<UsageRecord<'_>>(
                    API_HOST,
                    &response.body,
                    "usage_records",
                    "usage",
                )?;
                Ok((
                    Listed::Usage(Activity::from_records(&page.items)),
                    page.next_url,
                ))
            }
            Read::Page | Read::Accounts => {
                response.ok("account list")?;
                let page =
                    paging::parse_page(API_HOST, &response.body, "accounts", "account list")?;
                Ok((Listed::Accounts(page.items, page.next_url), None))
            }
        },
        "usage",
        |read, page, last| match (read, page) {
            (Read::Usage(list), page) => {
                let activity = page.map(|p| match p {
                    Listed::Usage(activity) => activity,
                    Listed::Accounts(..) => Activity::default(),
                });
                reads.on_usage(state.as_deref_mut(), *list, activity, last)
            }
            (Read::Page, Ok(Listed::Accounts(items, link))) => {
                let mut more = Vec::new();
                if let Some(link) = &link {
                    more.push((Read::Accounts, link.clone()));
                }
                let last = link.is_none();
                next = link;
                more.extend(reads.add(state.as_deref_mut(), items)?);
                // The pages are the truth: what neither this one nor a joined last page lists
                // is not this call's (with a page ahead, that is decided when it is).
                if last {
                    reads.drop_unlisted();
                }
                Ok(more)
            }
            (Read::Page, Ok(Listed::Usage(_))) => Err(ConnectorError::MalformedResponse(
                "account list: read as a usage page".into(),
            )),
            // The call's own page failing fails the call, as when it is read on its own.
            (Read::Page, Err(e)) => Err(e),
            (Read::Accounts, Ok(Listed::Accounts(items, link))) if items.len() <= most => {
                let more = match link {
                    None => {
                        outcome = Ahead::Joined;
                        reads.add(state.as_deref_mut(), items)
                    }
                    Some(link) => {
                        outcome = Ahead::Read(items, link);
                        Ok(Vec::new())
                    }
                };
                reads.drop_unlisted();
                more
            }
            // Unreadable now, or larger than a page: the next call reads it as its own and
            // reports what fails.
            (Read::Accounts, _) => {
                reads.drop_unlisted();
                Ok(Vec::new())
            }
        },
    )?;
    Ok(Listing {
        accounts: reads.finish(),
        next,
        ahead: outcome,
    })
}

/// Where an account of the pipeline stands with the list's pages.
enum Slot {
    /// Read early: only the kept listing head names it so far. A usage error its read met
    /// waits here, to be judged by the account's status once a page gives it (a suspended
    /// account's 401 is a warning, an active one's fails the call).
    Early(Option<ConnectorError>),
    /// A page lists it, with this resource.
    Listed(AccountResource),
    /// Read early, and the call's pages turned out not to list it: what its reads answer is
    /// ignored.
    Dropped,
}

/// The pipeline's accounts and what their usage has shown so far. An account is a slot, by
/// index; its SID is known from the start, its resource once a page of the list names it.
struct Reads<'c> {
    cfg: &'c Config,
    today: chrono::NaiveDate,
    sids: Vec<String>,
    slots: Vec<Slot>,
    activity: Vec<Option<Activity>>,
    warnings: Vec<Vec<String>>,
    /// Accounts read early, by SID, that no page has named yet.
    early: HashMap<String, usize>,
    /// Accounts whose reads are all done.
    read_all: Vec<bool>,
    /// The accounts this call reports, in the list's order.
    listed: Vec<usize>,
    /// Daily records of a month being read, reduced as pages arrive.
    months: BTreeMap<(usize, chrono::NaiveDate), Activity>,
}

impl Reads<'_> {
    /// Take in the accounts a page lists: an account read early is bound to its resource (and
    /// an error its read met is judged now); any other starts its first read.
    fn add(
        &mut self,
        mut state: Option<&mut (dyn State + '_)>,
        resources: Vec<AccountResource>,
    ) -> Result<Vec<(Read, String)>> {
        let mut starts = Vec::with_capacity(resources.len());
        for r in resources {
            let i = match self.early.remove(&r.sid) {
                Some(i) => i,
                None => {
                    let (i, start) = self.open(state.as_deref_mut(), r.sid.clone());
                    starts.push(start);
                    i
                }
            };
            if let Slot::Early(Some(e)) = std::mem::replace(&mut self.slots[i], Slot::Dropped) {
                usage_unreadable(&r, e, &mut self.warnings[i])?;
            }
            self.slots[i] = Slot::Listed(r);
            self.listed.push(i);
            if self.read_all[i]
                && let Some(state) = state.as_deref_mut()
            {
                self.keep(state, i);
            }
        }
        Ok(starts)
    }

    /// Start reading the usage of accounts known only by SID (the last sync's first page).
    fn add_early(
        &mut self,
        mut state: Option<&mut (dyn State + '_)>,
        sids: Vec<String>,
    ) -> Vec<(Read, String)> {
        let mut starts = Vec::new();
        for sid in sids {
            if super::validate_sid(&sid).is_err() || self.early.contains_key(&sid) {
                continue;
            }
            let (i, start) = self.open(state.as_deref_mut(), sid.clone());
            self.early.insert(sid, i);
            starts.push(start);
        }
        starts
    }

    /// A slot for an account, and its first read: Monthly, or Daily since the kept read.
    fn open(
        &mut self,
        state: Option<&mut (dyn State + '_)>,
        sid: String,
    ) -> (usize, (Read, String)) {
        let i = self.sids.len();
        let kept = state.and_then(|s| {
            crate::state::get_json::<KeptUsage>(
                s,
                crate::state::Scope::Tenant,
                &kept_usage::key(&sid),
            )
        });
        let start = match kept.as_ref().and_then(|k| Some((k, k.window(self.today)?))) {
            Some((k, range)) => {
                self.activity.push(Some(k.activity()));
                (
                    Read::Usage(UsageList::Since(i)),
                    usage_url(self.cfg, &sid, "Daily", Some(range)),
                )
            }
            None => {
                self.activity.push(Some(Activity::default()));
                (
                    Read::Usage(UsageList::Monthly(i)),
                    usage_url(self.cfg, &sid, "Monthly", None),
                )
            }
        };
        self.warnings.push(Vec::new());
        self.read_all.push(false);
        self.slots.push(Slot::Early(None));
        self.sids.push(sid);
        (i, start)
    }

    /// The accounts read early that no page of this call lists are dropped: what their reads
    /// answer from now on is ignored (no Daily reads, nothing kept).
    fn drop_unlisted(&mut self) {
        for (_, i) in self.early.drain() {
            self.slots[i] = Slot::Dropped;
            self.activity[i] = None;
            self.months.retain(|(account, _), _| *account != i);
        }
    }

    /// Take one usage page in; keep the account once its last read is done.
    fn on_usage(
        &mut self,
        state: Option<&mut (dyn State + '_)>,
        list: UsageList,
        page: Result<Activity>,
        last: bool,
    ) -> Result<Vec<(Read, String)>> {
        let i = match list {
            UsageList::Monthly(i) | UsageList::Since(i) | UsageList::Daily(i, _) => i,
        };
        if matches!(self.slots[i], Slot::Dropped) {
            return Ok(Vec::new());
        }
        let more = self.take_usage(list, page, last)?;
        // An account whose reads are all done is kept now, while other answers are awaited,
        // not in one run after the last (the host commits it only if the call succeeds).
        // Every read an account still waits for is a month in `months` (a complete Monthly
        // list's Daily reads are entered there as they are asked for).
        // An account read early is kept once a page lists it (`add`): until then it may be
        // none of this call's, and an error its read met is not judged yet.
        if last
            && self
                .months
                .range((i, chrono::NaiveDate::MIN)..=(i, chrono::NaiveDate::MAX))
                .next()
                .is_none()
        {
            self.read_all[i] = true;
            if let Some(state) = state
                && matches!(self.slots[i], Slot::Listed(_))
            {
                self.keep(state, i);
            }
        }
        Ok(more)
    }

    /// Keep account `i`'s usage if it was read completely (no warning); otherwise forget it,
    /// so the next sync reads that account in full.
    fn keep(&self, state: &mut dyn State, i: usize) {
        use crate::state::Scope::Tenant;
        let key = kept_usage::key(&self.sids[i]);
        match self.activity[i]
            .as_ref()
            .filter(|_| self.warnings[i].is_empty())
        {
            Some(a) => {
                // A refused write only costs the next sync a full read of this account.
                let kept = KeptUsage::new(a, self.today);
                if crate::state::set_json(state, Tenant, &key, &kept).is_err() {
                    state.delete(Tenant, &key);
                }
            }
            None => state.delete(Tenant, &key),
        }
    }

    /// Reduce one usage page; the Daily reads a complete Monthly list asks for.
    fn take_usage(
        &mut self,
        list: UsageList,
        page: Result<Activity>,
        last: bool,
    ) -> Result<Vec<(Read, String)>> {
        let mut more = Vec::new();
        match list {
            UsageList::Monthly(i) | UsageList::Since(i) => {
                match page {
                    Ok(read) => {
                        if let Some(a) = self.activity[i].as_mut() {
                            a.merge(read);
                        }
                    }
                    Err(e) => {
                        self.activity[i] = None;
                        match &mut self.slots[i] {
                            Slot::Listed(r) => usage_unreadable(r, e, &mut self.warnings[i])?,
                            // Read early: judged when the page names the account.
                            Slot::Early(pending) => *pending = Some(e),
                            Slot::Dropped => {}
                        }
                    }
                }
                let sid = &self.sids[i];
                if let (true, UsageList::Monthly(_), Some(a)) =
                    (last, list, self.activity[i].as_ref())
                {
                    for m in a.months_to_refine() {
                        self.months.insert((i, m), Activity::default());
                        more.push((
                            Read::Usage(UsageList::Daily(i, m)),
                            usage_url(self.cfg, sid, "Daily", Some(month_bounds(m))),
                        ));
                    }
                }
            }
            UsageList::Daily(i, month) => {
                match page {
                    Ok(days) => {
                        if let Some(d) = self.months.get_mut(&(i, month)) {
                            d.merge(days);
                        }
                        if last {
                            let d = self.months.remove(&(i, month)).unwrap_or_default();
                            if let Some(a) = self.activity[i].as_mut() {
                                a.refine(month, &d);
                            }
                        }
                    }
                    // The month's total stands: the day is less exact, never lost.
                    Err(e) => {
                        self.months.remove(&(i, month));
                        self.warnings[i].push(format!(
                            "daily usage of {} for {} could not be read, so dates in that month are the month's end: {e}",
                            self.sids[i],
                            month.format("%Y-%m")
                        ));
                    }
                }
            }
        }
        Ok(more)
    }

    /// The accounts the call's pages listed, in their order, each with its activity and
    /// warnings.
    fn finish(mut self) -> Vec<Account> {
        let listed = std::mem::take(&mut self.listed);
        listed
            .into_iter()
            .filter_map(|i| match std::mem::replace(&mut self.slots[i], Slot::Dropped) {
                Slot::Listed(r) => Some((i, r)),
                _ => None,
            })
            .map(|(i, r)| {
                if self.activity[i].as_ref().is_some_and(|a| a.uncategorised > 0) {
                    self.warnings[i].push(format!(
                        "priced usage of {} has records with no category; they count for no service",
                        r.sid
                    ));
                }
                to_account(&r, self.activity[i].as_ref(), std::mem::take(&mut self.warnings[i]))
            })
            .collect()
    }
}

/// Usage that Twilio says is not there (a closed account's, or an API without the usage
/// resources) or not permitted is told on the account, whose last activity stays unknown; so
/// is a 401 on a suspended or closed subaccount (Twilio answers 20003 there). Anything else
/// (bad credentials on an active account, rate limits, transport, malformed answers) fails the
/// call, so a partial result is never presented as complete.
fn usage_unreadable(
    r: &AccountResource,
    e: ConnectorError,
    warnings: &mut Vec<String>,
) -> Result<()> {
    let inactive = matches!(r.status.as_str(), "suspended" | "closed");
    match e {
        ConnectorError::NotFound(_) | ConnectorError::Forbidden(_) => {
            warnings.push(format!(
                "usage records of {} ({}) are not readable, so its last activity and services are unknown: {e}",
                r.sid, r.status
            ));
            Ok(())
        }
        ConnectorError::Unauthorized(_) if inactive => {
            warnings.push(format!(
                "usage records of {} ({}) are refused to these credentials, so its last activity and services are unknown: {e}",
                r.sid, r.status
            ));
            Ok(())
        }
        ConnectorError::MalformedResponse(m) => Err(ConnectorError::MalformedResponse(format!(
            "usage records of {}: {m}",
            r.sid
        ))),
        e => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_account_usage_excludes_subaccounts() {
        let cfg = Config {
            account_id: "AC1".into(),
            ..Config::default()
        };
        assert!(usage_url(&cfg, "AC1", "Monthly", None).ends_with("IncludeSubaccounts=false"));
        assert!(!usage_url(&cfg, "AC2", "Monthly", None).contains("IncludeSubaccounts"));
    }
}
