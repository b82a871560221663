//! Scope: which evidence speaks about a run. A run belongs to one machine and one account;
//! evidence counts for it only when it was recorded on that machine and, for logon attempts,
//! is the connection's own (from this machine, not a service logon). Account matching is the
//! rules' (`user` scope, [`Match::Same`](crate::identity::Match) only). Everything out of scope
//! may be shown as context, never counted.
//!
//! Machines come from the evidence: a Windows event's `Computer`, a PAD entry's machine name, a
//! run record's machine, a dump's device name. A file that names no machine belongs to the
//! machine its folder's files name (the nearest folder up that names exactly one), so a bundle
//! of several machines, one folder each, scopes itself.

use crate::identity::host_key;
use crate::model::FileReport;
use crate::sources::Event;
use std::collections::{BTreeMap, BTreeSet};

/// Which machine each file of the bundle was recorded on.
#[derive(Debug, Default, Clone)]
pub struct Machines {
    /// Host keys of every machine the bundle names, with a name as written.
    pub names: BTreeMap<String, String>,
    by_file: BTreeMap<String, String>,
    /// Folders named after a machine whose evidence they hold (a machine group's bundle: one
    /// folder per host), by host.
    host_folders: BTreeMap<String, String>,
}

/// The folder a display path sits in: `a/b/c.log` → `a/b`, `x.zip!/c.log` → `x.zip!`,
/// `c.log` → `` (the bundle root); `None` for the root itself.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind('/').map_or("", |i| &path[..i]))
}

fn inside(path: &str, dir: &str) -> bool {
    dir.is_empty() || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

impl Machines {
    pub fn of(files: &[FileReport]) -> Machines {
        let mut names = BTreeMap::new();
        let own: Vec<(&str, BTreeSet<String>)> = files
            .iter()
            .map(|f| {
                let hosts: BTreeSet<String> = f
                    .computers
                    .iter()
                    .filter_map(|c| {
                        let k = host_key(c)?;
                        names.entry(k.clone()).or_insert_with(|| c.clone());
                        Some(k)
                    })
                    .collect();
                (f.path.as_str(), hosts)
            })
            .collect();
        let mut host_folders = BTreeMap::new();
        for (path, hosts) in &own {
            let mut dir = parent(path);
            while let Some(d) = dir.filter(|d| !d.is_empty()) {
                let name = d.rsplit('/').next().unwrap_or(d);
                if let Some(k) = host_key(name).filter(|k| hosts.contains(k)) {
                    host_folders.insert(k, d.to_string());
                }
                dir = parent(d);
            }
        }
        let mut by_file = BTreeMap::new();
        for (path, hosts) in &own {
            let host = match hosts.len() {
                1 => hosts.iter().next().cloned(),
                0 => inherited(path, &own, &host_folders),
                _ => None,
            };
            if let Some(h) = host {
                by_file.insert(path.to_string(), h);
            }
        }
        Machines {
            names,
            by_file,
            host_folders,
        }
    }

    /// The bundle names more than one machine.
    pub fn several(&self) -> bool {
        self.names.len() > 1
    }

    /// The only machine the bundle names, if it names exactly one.
    pub fn only(&self) -> Option<&str> {
        (self.names.len() == 1)
            .then(|| self.names.keys().next().map(String::as_str))
            .flatten()
    }

    /// The only machine the bundle names, for evidence at `path` that names none: not when that
    /// machine's evidence sits in a folder named after it and `path` is outside that folder
    /// (the bundle is sorted by host, and `path` is not that host's).
    pub fn only_for(&self, path: &str) -> Option<&str> {
        let host = self.only()?;
        match self.host_folders.get(host) {
            Some(dir) if !inside(path, dir) => None,
            _ => Some(host),
        }
    }

    /// The machine a file was recorded on, when its records or folder say.
    pub fn file(&self, path: &str) -> Option<&str> {
        self.by_file.get(path).map(String::as_str)
    }

    /// The machine an event was recorded on: its own, else its file's.
    pub fn event(&self, ev: &Event) -> Option<String> {
        ev.host()
            .or_else(|| self.file(&ev.source.file).map(str::to_string))
    }

    /// A machine's name as the evidence writes it.
    pub fn display<'a>(&'a self, host: &'a str) -> &'a str {
        self.names.get(host).map_or(host, String::as_str)
    }
}

/// A machine for a file that names none: the nearest folder up whose own files name exactly
/// one, or that is named after a machine whose evidence it holds; none when a folder names
/// several.
fn inherited(
    path: &str,
    own: &[(&str, BTreeSet<String>)],
    host_folders: &BTreeMap<String, String>,
) -> Option<String> {
    let mut dir = parent(path)?;
    loop {
        if let Some((host, _)) = host_folders.iter().find(|(_, d)| *d == dir) {
            return Some(host.clone());
        }
        let found: BTreeSet<&String> = own
            .iter()
            .filter(|(p, _)| parent(p) == Some(dir))
            .flat_map(|(_, h)| h)
            .collect();
        match found.len() {
            1 => return found.into_iter().next().cloned(),
            0 => dir = parent(dir)?,
            _ => return None,
        }
    }
}

/// Whether a piece of evidence counts for the run, or why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    Counted,
    /// Shown as context, never counted, for this reason.
    Context(String),
}

/// The machine a run belongs to, and how evidence is admitted for it.
#[derive(Debug, Clone)]
pub struct RunScope {
    /// The run's machine ([`host_key`]), when known.
    pub host: Option<String>,
    /// The bundle names more than one machine.
    pub several: bool,
}

impl RunScope {
    pub fn new(host: Option<String>, machines: &Machines) -> RunScope {
        RunScope {
            host,
            several: machines.several(),
        }
    }

    /// Whether evidence recorded on `host` (when known) is about this run's machine.
    pub fn machine(&self, host: Option<&str>, machines: &Machines) -> Admit {
        let unknown_run = || {
            Admit::Context(
                "the bundle names the machines its evidence comes from, but nothing says which \
                 one ran this flow (pass --machine)"
                    .into(),
            )
        };
        match (self.host.as_deref(), host) {
            (Some(run), Some(other)) if run != other => Admit::Context(format!(
                "recorded on another machine ({})",
                machines.display(other)
            )),
            (Some(_), None) if self.several => Admit::Context(
                "names no machine, in a bundle holding evidence of several machines".into(),
            ),
            (None, Some(_)) => unknown_run(),
            (None, None) if self.several => unknown_run(),
            _ => Admit::Counted,
        }
    }

    /// Whether an event counts for the run: recorded on its machine, and by its own content the
    /// connection's attempt (not a logon from another host, not a service logon).
    pub fn admit(&self, ev: &Event, machines: &Machines) -> Admit {
        let host = machines.event(ev);
        match self.machine(host.as_deref(), machines) {
            Admit::Counted => {}
            other => return other,
        }
        match ev.foreign(self.host.as_deref()) {
            Some(why) => Admit::Context(why),
            None => Admit::Counted,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileKind;

    fn file(path: &str, computers: &[&str]) -> FileReport {
        let mut f = FileReport::new(path, FileKind::Evtx, 1);
        for c in computers {
            f.add_computer(c);
        }
        f
    }

    #[test]
    fn files_without_a_machine_take_their_folders() {
        let m = Machines::of(&[
            file("HOST-A/Security.evtx", &["HOST-A.contoso.com"]),
            file("HOST-A/PAD/UIFlowService.log", &[]),
            file("HOST-B/logs/Security.evtx", &["host-b"]),
            file("HOST-B/dsregcmd.txt", &[]),
            file("notes/readme.txt", &[]),
            file("run.json", &[]),
        ]);
        assert!(m.several());
        assert_eq!(m.file("HOST-A/PAD/UIFlowService.log"), Some("host-a"));
        assert_eq!(m.file("HOST-B/dsregcmd.txt"), Some("host-b"));
        assert_eq!(m.file("run.json"), None, "the root names two machines");
        assert_eq!(m.file("notes/readme.txt"), None);
    }

    #[test]
    fn a_single_machine_bundle_scopes_everything_to_it() {
        let m = Machines::of(&[
            file("Security.evtx", &["RPA-VM01.contoso.com"]),
            file("bundle.zip!/PAD/x.log", &[]),
            file("other/logs.zip!/y.log", &[]),
        ]);
        assert_eq!(m.only(), Some("rpa-vm01"));
        assert_eq!(m.file("bundle.zip!/PAD/x.log"), Some("rpa-vm01"));
        assert_eq!(m.file("other/logs.zip!/y.log"), Some("rpa-vm01"));
        assert_eq!(m.only_for("other/logs.zip!/y.log"), Some("rpa-vm01"));
        let s = RunScope::new(m.only_for("bundle.zip!/PAD/x.log").map(str::to_string), &m);
        assert_eq!(s.machine(None, &m), Admit::Counted);
        assert_eq!(s.machine(Some("rpa-vm01"), &m), Admit::Counted);
    }

    #[test]
    fn a_folder_named_after_its_machine_is_that_machine_and_only_that() {
        let m = Machines::of(&[
            file("PAD/UIFlowService.log", &[]),
            file("OTHER-HOST/Security.evtx", &["OTHER-HOST.contoso.com"]),
            file("OTHER-HOST/notes/dsregcmd.txt", &[]),
        ]);
        assert_eq!(m.file("OTHER-HOST/notes/dsregcmd.txt"), Some("other-host"));
        // The bundle's only machine is not the run's when the run's file sits outside the folder
        // holding that machine's evidence.
        assert_eq!(m.only_for("PAD/UIFlowService.log"), None);
        assert_eq!(m.only_for("OTHER-HOST/x.log"), Some("other-host"));
    }

    #[test]
    fn another_machine_or_an_unknown_one_among_several_is_context() {
        let m = Machines::of(&[
            file("a/Security.evtx", &["HOST-A"]),
            file("b/Security.evtx", &["HOST-B"]),
        ]);
        let s = RunScope::new(Some("host-a".into()), &m);
        assert_eq!(s.machine(Some("host-a"), &m), Admit::Counted);
        assert!(matches!(s.machine(Some("host-b"), &m), Admit::Context(w) if w.contains("HOST-B")));
        assert!(matches!(s.machine(None, &m), Admit::Context(_)));
        let unknown = RunScope::new(None, &m);
        assert!(
            matches!(unknown.machine(Some("host-a"), &m), Admit::Context(w) if w.contains("--machine"))
        );
    }
}
