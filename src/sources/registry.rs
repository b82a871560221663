//! The registry: every evidence source padtriage reads, one line each, at the bottom of this
//! file. Adding a source is a new module implementing [`Family`] (and [`Format`] when it has a
//! file format of its own) plus its line here; everything the other stages need (the
//! [`EventData`] variant, channel selection, kind labels, summaries, the rule vocabulary,
//! coverage and detection) is generated from these lists.

use super::windows_event::RawEvent;
use super::{EventSink, Family, Format, Parsed, ReadCtx};
use crate::identity::Identity;
use crate::model::{Fields, FileKind, UserScope};
use serde::Serialize;
use std::io::Read;

macro_rules! registry {
    (
        formats { $( $fkind:ident => $fty:ty ),* $(,)? }
        families { $( $(#[$doc:meta])* $variant:ident => $famty:ty ),* $(,)? }
    ) => {
        /// The typed payload of an event, one variant per evidence family.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "family", rename_all = "snake_case")]
        pub enum EventData {
            $( $(#[$doc])* $variant(<$famty as Family>::Payload), )*
        }

        /// An evidence family, without payload.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FamilyId {
            $( $variant, )*
        }

        impl FamilyId {
            /// Every family, in registry order.
            pub const ALL: &'static [FamilyId] = &[$( FamilyId::$variant, )*];

            /// Rule family and kind prefix (`security`).
            pub fn name(self) -> &'static str {
                match self { $( FamilyId::$variant => <$famty as Family>::NAME, )* }
            }

            /// Evidence source for coverage and collect (`security`, `system`).
            pub fn source(self) -> &'static str {
                match self { $( FamilyId::$variant => <$famty as Family>::SOURCE, )* }
            }

            /// The rule vocabulary of its facts.
            pub fn fields(self) -> &'static [&'static str] {
                match self { $( FamilyId::$variant => <$famty as Family>::FIELDS, )* }
            }

            pub fn user_scope(self) -> UserScope {
                match self { $( FamilyId::$variant => <$famty as Family>::USER_SCOPE, )* }
            }

            pub fn channel(self) -> Option<&'static str> {
                match self { $( FamilyId::$variant => <$famty as Family>::CHANNEL, )* }
            }

            pub fn needs_computer(self) -> bool {
                match self { $( FamilyId::$variant => <$famty as Family>::NEEDS_COMPUTER, )* }
            }

            pub fn needs_user_id(self) -> bool {
                match self { $( FamilyId::$variant => <$famty as Family>::NEEDS_USER_ID, )* }
            }

            /// Whether selection looks at the provider.
            pub(crate) fn by_provider(self) -> bool {
                match self { $( FamilyId::$variant => <$famty as Family>::BY_PROVIDER, )* }
            }

            /// Whether a record of its channel with this provider and event id is kept.
            pub(crate) fn select(self, provider: Option<&str>, event_id: u32) -> bool {
                match self {
                    $( FamilyId::$variant => <$famty as Family>::select(provider, event_id), )*
                }
            }

            /// The payload of a Windows event this family selected.
            pub fn from_raw(self, raw: &RawEvent<'_>) -> Option<EventData> {
                match self {
                    $( FamilyId::$variant =>
                        <$famty as Family>::from_raw(raw).map(EventData::$variant), )*
                }
            }
        }

        impl EventData {
            pub fn family(&self) -> FamilyId {
                match self { $( EventData::$variant(_) => FamilyId::$variant, )* }
            }

            /// The kind label (`security.4625`), appended to `out`.
            pub fn write_kind(&self, out: &mut String) {
                match self {
                    $( EventData::$variant(p) => {
                        out.push_str(<$famty as Family>::NAME);
                        out.push('.');
                        <$famty as Family>::kind(p, out);
                    } )*
                }
            }

            /// One line a person can read, appended to `out`.
            pub fn write_summary(&self, out: &mut String) {
                match self { $( EventData::$variant(p) => <$famty as Family>::summary(p, out), )* }
            }

            /// The account the event is about.
            pub fn user(&self) -> Option<Identity> {
                match self { $( EventData::$variant(p) => <$famty as Family>::user(p), )* }
            }

            /// Why the event is not the run's own attempt on `machine`, when it is not.
            pub fn foreign(&self, machine: Option<&str>) -> Option<String> {
                match self {
                    $( EventData::$variant(p) => <$famty as Family>::foreign(p, machine), )*
                }
            }

            /// The named values rules match on.
            pub fn facts(&self) -> Fields {
                let mut f = Fields::new(self.family().fields());
                match self { $( EventData::$variant(p) => <$famty as Family>::facts(p, &mut f), )* }
                f
            }
        }

        /// Every file format, in detection order.
        pub const FORMATS: &[FileKind] = &[$( <$fty as Format>::KIND, )*];

        /// The format a file's first bytes show (binary formats).
        pub fn detect_bytes(head: &[u8]) -> Option<FileKind> {
            $( if <$fty as Format>::detect_bytes(head) { return Some(<$fty as Format>::KIND); } )*
            None
        }

        /// The format a file's start, decoded as text, shows.
        pub fn detect_text(text: &str) -> Option<FileKind> {
            $( if <$fty as Format>::detect_text(text) { return Some(<$fty as Format>::KIND); } )*
            None
        }

        /// Read a file of a registered format from a stream; `None` for other kinds.
        pub fn read(
            kind: FileKind,
            r: Box<dyn Read + Send + '_>,
            ctx: &ReadCtx,
            sink: &dyn EventSink,
        ) -> Option<Parsed> {
            $( if kind == <$fty as Format>::KIND { return Some(<$fty as Format>::read(r, ctx, sink)); } )*
            None
        }

        /// Read a file on disk by position, when its format does that better than a stream.
        pub fn read_file(
            kind: FileKind,
            file: &std::fs::File,
            ctx: &ReadCtx,
            sink: &dyn EventSink,
        ) -> Option<Parsed> {
            $( if kind == <$fty as Format>::KIND { return <$fty as Format>::read_file(file, ctx, sink); } )*
            None
        }

        /// The evidence source a file of this format provides; `None` when its records'
        /// channels decide (or for non-evidence kinds).
        pub fn format_source(kind: FileKind) -> Option<&'static str> {
            $( if kind == <$fty as Format>::KIND { return <$fty as Format>::SOURCE; } )*
            None
        }

        /// Whether files of this format are logs (see [`Format::LOG`]).
        pub fn is_log(kind: FileKind) -> bool {
            $( if kind == <$fty as Format>::KIND { return <$fty as Format>::LOG; } )*
            false
        }

        /// Every evidence source name, in registry order, once each.
        pub fn sources() -> Vec<&'static str> {
            let mut out: Vec<&'static str> = Vec::new();
            for s in [$( <$famty as Family>::SOURCE, )*].into_iter()
                .chain([$( <$fty as Format>::SOURCE, )*].into_iter().flatten())
            {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            out
        }
    };
}

/// Formats whose files are logs of Windows events (their evidence source comes from each
/// record's channel): big, and read around the runs only by `analyze`.
pub fn is_event_log(kind: FileKind) -> bool {
    FORMATS.contains(&kind) && format_source(kind).is_none()
}

/// The family of a Windows event channel (compared without case).
pub fn family_of_channel(channel: &str) -> Option<FamilyId> {
    FamilyId::ALL
        .iter()
        .copied()
        .find(|f| f.channel().is_some_and(|c| c.eq_ignore_ascii_case(channel)))
}

/// Whether padtriage reads any record of this channel.
pub fn channel_used(channel: &str) -> bool {
    family_of_channel(channel).is_some()
}

/// Whether selecting a record of this channel needs its provider.
pub fn channel_needs_provider(channel: &str) -> bool {
    family_of_channel(channel).is_some_and(FamilyId::by_provider)
}

/// Whether padtriage uses a Windows event with this channel, provider and id, and as what.
/// Cheap: readers call it before building any other string of the record.
pub fn select(channel: &str, provider: Option<&str>, event_id: u32) -> Option<FamilyId> {
    family_of_channel(channel).filter(|f| f.select(provider, event_id))
}

/// The typed payload of a Windows event padtriage uses, or `None` (the caller counts it as
/// ignored).
pub fn from_windows_event(raw: &RawEvent<'_>) -> Option<EventData> {
    let channel = raw.channel.as_deref()?;
    select(channel, raw.provider.as_deref(), raw.event_id)?.from_raw(raw)
}

/// The facts family of a rule kind (`security` for `security.4625`).
pub fn family_named(name: &str) -> Option<FamilyId> {
    FamilyId::ALL.iter().copied().find(|f| f.name() == name)
}

use super::{
    aad, device_registration, dsregcmd, event_xml, evtx, padlog, run_records, security, service,
    terminal_services,
};

registry! {
    formats {
        Evtx => evtx::Evtx,
        EventXml => event_xml::EventXml,
        Dsregcmd => dsregcmd::Dsregcmd,
        // Before the run records: a PAD log line may carry an error object or session columns.
        PadLog => padlog::PadLog,
        // Flow-session exports may carry error JSON inside a row, so they are tried first.
        FlowSessions => run_records::FlowSessions,
        PortalError => run_records::PortalError,
    }
    families {
        /// Security channel logon events: 4624, 4625, 4648, 4634, 4647, 4672, 4740, 4776.
        Security => security::Security,
        /// Microsoft-Windows-AAD/Operational.
        Aad => aad::Aad,
        /// Microsoft-Windows-User Device Registration/Admin.
        DeviceRegistration => device_registration::DeviceRegistration,
        /// System channel, Service Control Manager events about Power Automate services.
        Service => service::Scm,
        /// Microsoft-Windows-TerminalServices-LocalSessionManager/Operational: session logon,
        /// logoff, disconnect and reconnect.
        TerminalSession => terminal_services::TerminalServices,
        /// A Power Automate for desktop agent/service log entry worth keeping.
        PadLog => padlog::PadLog,
        /// A run record: the portal's error JSON or a flow-session export row.
        RunRecord => run_records::RunRecords,
        /// A `dsregcmd /status` dump, one per run of the command in a file.
        Dsregcmd => dsregcmd::Snapshots,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_kind_is_registered_once() {
        for k in FileKind::ALL {
            let n = FORMATS.iter().filter(|f| *f == k).count();
            let want = usize::from(k.is_format());
            assert_eq!(n, want, "{k:?}: registered {n} times, want {want}");
        }
    }

    #[test]
    fn names_channels_and_sources_are_unique_and_sane() {
        let mut names: Vec<&str> = FamilyId::ALL.iter().map(|f| f.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(
            names.len(),
            FamilyId::ALL.len(),
            "family names must be unique"
        );
        let channels: Vec<&str> = FamilyId::ALL.iter().filter_map(|f| f.channel()).collect();
        for c in &channels {
            assert_eq!(
                family_of_channel(&c.to_ascii_uppercase()).and_then(|f| f.channel()),
                Some(*c)
            );
        }
        for s in sources() {
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
        }
        for f in FamilyId::ALL {
            assert!(!f.fields().is_empty(), "{f:?} offers rules no field");
        }
    }
}
