//! Template definitions (the System envelopes and each event's `<EventData>`) and the
//! substitution arrays that fill them.

use super::{ty, EventSpec, Guid, Value, WriteError, EVENT_NS, NO_DEP};
use std::sync::Arc;

/// A template definition: a GUID and the element tree it describes.
pub(super) struct Template {
    pub(super) guid: Guid,
    pub(super) root: Elem,
}

impl Template {
    /// Windows' template id is the GUID's first 32 bits (Data1).
    pub(super) fn id(&self) -> u32 {
        (self.guid.0 >> 96) as u32
    }
}

/// Text, or a substitution slot, in a template.
pub(super) enum Content {
    Text(String),
    /// `optional` writes OptionalSubstitution (0x0E), otherwise NormalSubstitution (0x0D).
    Subst {
        index: u16,
        ty: u8,
        optional: bool,
    },
}

pub(super) struct Elem {
    pub(super) name: &'static str,
    pub(super) dep: u16,
    pub(super) attrs: Vec<(&'static str, Content)>,
    pub(super) children: Vec<Child>,
    /// Written as `<x></x>` (CloseStart + End) even without children, as Windows writes
    /// `<EventData>`; others without children are written as `<x/>`.
    pub(super) open_form: bool,
}

pub(super) enum Child {
    Elem(Elem),
    Content(Content),
}

pub(super) fn elem(name: &'static str, dep: u16) -> Elem {
    Elem {
        name,
        dep,
        attrs: Vec::new(),
        children: Vec::new(),
        open_form: false,
    }
}

pub(super) fn opt(index: u16, ty: u8) -> Content {
    Content::Subst {
        index,
        ty,
        optional: true,
    }
}

impl Elem {
    fn attr(mut self, name: &'static str, content: Content) -> Self {
        self.attrs.push((name, content));
        self
    }
    fn child(mut self, content: Content) -> Self {
        self.children.push(Child::Content(content));
        self
    }
    fn elem(mut self, e: Elem) -> Self {
        self.children.push(Child::Elem(e));
        self
    }
}

/// Substitution indexes of the System envelope (the same in both envelopes up to 12).
pub(super) mod slot {
    pub const LEVEL: u16 = 0;
    pub const OPCODE: u16 = 1;
    pub const TASK: u16 = 2;
    pub const EVENT_ID: u16 = 3;
    pub const QUALIFIERS: u16 = 4;
    pub const KEYWORDS: u16 = 5;
    pub const TIME: u16 = 6;
    pub const ACTIVITY: u16 = 7;
    pub const PID: u16 = 8;
    pub const TID: u16 = 9;
    pub const RECORD_ID: u16 = 10;
    pub const VERSION: u16 = 11;
    pub const USER: u16 = 12;
    pub const ETW_RELATED: u16 = 13;
    pub const ETW_PROVIDER: u16 = 14;
    pub const ETW_GUID: u16 = 15;
    pub const ETW_CHANNEL: u16 = 16;
    pub const ETW_DATA: u16 = 17;
    pub const ETW_COUNT: usize = 18;
    pub const CLASSIC_RELATED: u16 = 18;
    pub const CLASSIC_DATA: u16 = 19;
    pub const CLASSIC_COUNT: usize = 20;
}

/// The `<System>` children both envelopes share, from `<EventID>` to `<Execution>`, with the
/// DependencyIds Windows gives them (an element whose value is NULL is left out).
pub(super) fn system_common(system: Elem, related: u16) -> Elem {
    system
        .elem(
            elem("EventID", slot::EVENT_ID)
                .attr("Qualifiers", opt(slot::QUALIFIERS, ty::U16))
                .child(opt(slot::EVENT_ID, ty::U16)),
        )
        .elem(elem("Version", slot::VERSION).child(opt(slot::VERSION, ty::U8)))
        .elem(elem("Level", slot::LEVEL).child(opt(slot::LEVEL, ty::U8)))
        .elem(elem("Task", slot::TASK).child(opt(slot::TASK, ty::U16)))
        .elem(elem("Opcode", slot::OPCODE).child(opt(slot::OPCODE, ty::U8)))
        .elem(elem("Keywords", slot::KEYWORDS).child(opt(slot::KEYWORDS, ty::HEX64)))
        .elem(elem("TimeCreated", NO_DEP).attr("SystemTime", opt(slot::TIME, ty::FILETIME)))
        .elem(elem("EventRecordID", slot::RECORD_ID).child(opt(slot::RECORD_ID, ty::U64)))
        .elem(
            elem("Correlation", NO_DEP)
                .attr("ActivityID", opt(slot::ACTIVITY, ty::GUID))
                .attr("RelatedActivityID", opt(related, ty::GUID)),
        )
        .elem(
            elem("Execution", NO_DEP)
                .attr("ProcessID", opt(slot::PID, ty::U32))
                .attr("ThreadID", opt(slot::TID, ty::U32)),
        )
}

pub(super) fn event_root(data_slot: u16, system: Elem) -> Elem {
    elem("Event", data_slot)
        .attr("xmlns", Content::Text(EVENT_NS.into()))
        .elem(system)
        .child(opt(data_slot, ty::BINXML))
}

/// The envelope of manifest (ETW) events: everything but the computer name is substituted.
pub(super) fn etw_envelope(computer: &str) -> Elem {
    let provider = elem("Provider", NO_DEP)
        .attr("Name", opt(slot::ETW_PROVIDER, ty::STRING))
        .attr("Guid", opt(slot::ETW_GUID, ty::GUID));
    let system = system_common(elem("System", NO_DEP).elem(provider), slot::ETW_RELATED)
        .elem(elem("Channel", slot::ETW_CHANNEL).child(opt(slot::ETW_CHANNEL, ty::STRING)))
        .elem(elem("Computer", NO_DEP).child(Content::Text(computer.into())))
        .elem(elem("Security", NO_DEP).attr("UserID", opt(slot::USER, ty::SID)));
    event_root(slot::ETW_DATA, system)
}

/// The envelope of classic events: provider, GUID (as text), source and channel are literal.
pub(super) fn classic_envelope(
    provider: &str,
    guid: Option<&str>,
    source: &str,
    channel: &str,
    computer: &str,
) -> Elem {
    let mut p = elem("Provider", NO_DEP).attr("Name", Content::Text(provider.into()));
    if let Some(guid) = guid {
        p = p.attr("Guid", Content::Text(guid.into()));
    }
    p = p.attr("EventSourceName", Content::Text(source.into()));
    let system = system_common(elem("System", NO_DEP).elem(p), slot::CLASSIC_RELATED)
        .elem(elem("Channel", NO_DEP).child(Content::Text(channel.into())))
        .elem(elem("Computer", NO_DEP).child(Content::Text(computer.into())))
        .elem(elem("Security", NO_DEP).attr("UserID", opt(slot::USER, ty::SID)));
    event_root(slot::CLASSIC_DATA, system)
}

/// `<EventData>` with one `<Data Name="…">` per field (NormalSubstitution), and for classic
/// events with raw data a `<Binary>` element: its value sits after a UInt32 length slot that no
/// element uses, as in real classic records.
pub(super) fn event_data_element(fields: &[(String, Value)], binary: bool) -> Elem {
    let mut root = elem("EventData", NO_DEP);
    root.open_form = true;
    for (i, (name, value)) in fields.iter().enumerate() {
        let data = elem("Data", NO_DEP)
            .attr("Name", Content::Text(name.clone()))
            .child(Content::Subst {
                index: i as u16,
                ty: value.type_code(),
                optional: false,
            });
        root = root.elem(data);
    }
    if binary {
        root = root.elem(elem("Binary", NO_DEP).child(Content::Subst {
            index: fields.len() as u16 + 1,
            ty: ty::BINARY,
            optional: false,
        }));
    }
    root
}

pub(super) fn check_text(field: &str, text: &str) -> Result<(), WriteError> {
    let units = text.encode_utf16().count();
    if units > usize::from(u16::MAX) {
        return Err(WriteError::ValueTooLarge {
            field: field.to_string(),
            bytes: units * 2,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Substitution values

/// One entry of a substitution array.
pub(super) enum Sub {
    Plain {
        ty: u8,
        bytes: Vec<u8>,
    },
    /// A BinXML value holding a template instance (the EventData of an event).
    Nested {
        fragment_header: bool,
        template: Arc<Template>,
        values: Vec<Sub>,
    },
}

pub(super) fn plain(field: &str, value: &Value, nul_terminated: bool) -> Result<Sub, WriteError> {
    // Only a SID's text can fail to encode.
    let bytes = value
        .encode(nul_terminated)
        .ok_or_else(|| WriteError::InvalidSid {
            field: field.to_string(),
            value: match value {
                Value::Sid(s) => s.clone(),
                _ => String::new(),
            },
        })?;
    if bytes.len() > usize::from(u16::MAX) {
        return Err(WriteError::ValueTooLarge {
            field: field.to_string(),
            bytes: bytes.len(),
        });
    }
    Ok(Sub::Plain {
        ty: value.wire_type(),
        bytes,
    })
}

pub(super) fn opt_value<T>(
    field: &str,
    v: Option<T>,
    f: impl FnOnce(T) -> Value,
) -> Result<Sub, WriteError> {
    match v {
        Some(v) => plain(field, &f(v), false),
        None => plain(field, &Value::Null, false),
    }
}

/// The envelope's substitution array, in slot order, ending with the nested EventData.
pub(super) fn envelope_values(
    ev: &EventSpec,
    record_id: u64,
    classic: bool,
    event_data: &Arc<Template>,
) -> Result<Vec<Sub>, WriteError> {
    let mut data = Vec::with_capacity(ev.data.len() + 2);
    for (name, value) in &ev.data {
        // ETW strings carry their NUL; classic insertion strings don't.
        data.push(plain(name, value, !classic)?);
    }
    if let (true, Some(binary)) = (classic, &ev.binary) {
        let len = u32::try_from(binary.len()).unwrap_or(u32::MAX);
        data.push(plain("Binary", &Value::U32(len), false)?);
        data.push(plain("Binary", &Value::Binary(binary.clone()), false)?);
    }
    let nested = Sub::Nested {
        fragment_header: classic,
        template: Arc::clone(event_data),
        values: data,
    };

    // ETW writes an absent Qualifiers as a 2-byte NULL (bytes 01 00) and an absent ActivityID
    // as a 16-byte NULL (stale bytes; zeros here); classic events write empty NULLs.
    let (null_qualifiers, null_activity) = if classic {
        (Vec::new(), Vec::new())
    } else {
        (vec![1, 0], vec![0; 16])
    };
    let or_null = |sub: Sub, filler: Vec<u8>| match sub {
        Sub::Plain { ty: ty::NULL, .. } => Sub::Plain {
            ty: ty::NULL,
            bytes: filler,
        },
        other => other,
    };
    let mut v = vec![
        plain("Level", &Value::U8(ev.level), false)?,
        plain("Opcode", &Value::U8(ev.opcode), false)?,
        plain("Task", &Value::U16(ev.task), false)?,
        plain("EventID", &Value::U16(ev.event_id), false)?,
        or_null(
            opt_value("Qualifiers", ev.qualifiers, Value::U16)?,
            null_qualifiers,
        ),
        plain("Keywords", &Value::HexU64(ev.keywords), false)?,
        plain("TimeCreated", &Value::FileTime(ev.time), false)?,
        or_null(
            opt_value("ActivityID", ev.activity_id, Value::Guid)?,
            null_activity,
        ),
        plain("ProcessID", &Value::U32(ev.process_id), false)?,
        plain("ThreadID", &Value::U32(ev.thread_id), false)?,
        plain("EventRecordID", &Value::U64(record_id), false)?,
        plain("Version", &Value::U8(ev.version), false)?,
        opt_value("UserID", ev.user_sid.clone(), Value::Sid)?,
    ];
    if classic {
        // Slots 13..=17 are unused by the classic envelope; 18 is RelatedActivityID.
        for _ in 13..slot::CLASSIC_COUNT - 1 {
            v.push(plain("", &Value::Null, false)?);
        }
    } else {
        v.push(plain("RelatedActivityID", &Value::Null, false)?);
        v.push(plain(
            "Provider",
            &Value::Str(ev.provider_name.clone()),
            false,
        )?);
        v.push(opt_value("Provider Guid", ev.provider_guid, Value::Guid)?);
        v.push(plain("Channel", &Value::Str(ev.channel.clone()), false)?);
    }
    v.push(nested);
    debug_assert_eq!(
        v.len(),
        if classic {
            slot::CLASSIC_COUNT
        } else {
            slot::ETW_COUNT
        }
    );
    Ok(v)
}
