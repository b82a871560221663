//! The form `timeline` holds its events in while it sorts them. A Security event (most of a
//! large timeline) is kept as its fields, its texts numbered once for the whole timeline (a
//! log names the same machine, domains, accounts and processes all day), a few dozen bytes
//! against its 600-byte line, and rendered only when it is written, in the last merge; any
//! other event is rendered as it is read. So the sort holds a tenth of the bytes (hundreds of
//! thousands of logons fit its memory), and most lines are rendered straight into the output.
//!
//! Numbered texts make an entry's bytes its content: two logons of one account by one process
//! are the same bytes whatever their chunk. A renderer whose Security lines split around their
//! time and position ([`super::Render::splits_security`]) has each distinct middle rendered once
//! ([`Memo`]): a logon-heavy log of 360,000 lines has a few dozen.
//!
//! An entry is a tag byte, then the line ([`LINE`]) or the event's fields: its texts by number
//! ([`SECURITY`]), or the texts themselves ([`SECURITY_INLINE`]: in a run on disk, and for an
//! event met once the texts' share of memory is used). The time and position of an event are
//! its sort key's, and its file is its input's: they are not stored again.

use super::sorted::{Codec, Key};
use super::Head;
use crate::model::{Account, Loc, Text, TimeBasis};
use crate::sources::security::SecurityEvent;
use crate::sources::{Event, EventData, PooledSecurity};
use crate::time::Days;
use std::io;
use std::sync::{Arc, Mutex, OnceLock};

/// A rendered line follows.
pub const LINE: u8 = 0;
/// A Security event's fields follow, its texts by number.
const SECURITY: u8 = 1;
/// A Security event's fields follow, with its texts.
const SECURITY_INLINE: u8 = 2;

/// Flags: which numbers follow, and whether the computer is the machine.
const LOGON_TYPE: u8 = 1;
const STATUS: u8 = 2;
const SUB_STATUS: u8 = 4;
const COMPUTER_IS_MACHINE: u8 = 8;

/// The texts of a Security event, in the order they are stored: the machine, the computer (only
/// when it is not the machine), the subject's and target's name, domain and SID, then the other
/// texts in declaration order.
const TEXTS: usize = 15;

/// The texts the entries of a timeline refer to, each once (a log names the same machine,
/// accounts and processes all day): found again by a hash of their bytes, or, cheaper and most
/// often, as the text the previous event had in the same place. Numbers never change, so the
/// same content is the same entry bytes, whichever batch holds it.
#[derive(Default)]
struct Texts {
    list: Vec<Text>,
    hashes: Vec<u64>,
    /// Open addressing: 0 for a free slot, else the text's number + 1.
    slots: Vec<u32>,
    /// The number + 1 of the text of each place in the previous event (0: none).
    previous: [u32; TEXTS],
    /// Taken for the output: no more numbers are given (entries then carry their texts).
    closed: bool,
    /// Memory the texts take, and how much they may (they are held to the end).
    bytes: usize,
    limit: usize,
}

/// Memory a text takes besides its bytes: its place in the list, its hash and its slots.
const TEXT_COST: usize = std::mem::size_of::<Text>() + 8 + 8;

impl Texts {
    /// The number + 1 of `t` (added if new), or `None` past 2^31 texts or once closed.
    fn number(&mut self, place: usize, t: &str) -> Option<u32> {
        let last = self.previous[place];
        if last != 0
            && self
                .list
                .get(last as usize - 1)
                .is_some_and(|p| p.as_str() == t)
        {
            return Some(last);
        }
        let n = self.intern(t)?;
        self.previous[place] = n;
        Some(n)
    }

    /// The number + 1 of `t`, added if new.
    fn intern(&mut self, t: &str) -> Option<u32> {
        if self.hashes.len() < self.list.len() || self.slots.len() < 2 * (self.list.len() + 1) {
            self.grow();
        }
        let h = hash(t.as_bytes());
        let mask = self.slots.len() - 1;
        let mut i = h as usize & mask;
        let n = loop {
            match self.slots[i] {
                0 => {
                    // Past its memory, or once closed, a new text has no number (its events
                    // carry it, and are spilled with the others); numbers are stored in 31 bits.
                    if self.closed || self.bytes > self.limit {
                        return None;
                    }
                    let n = u32::try_from(self.list.len() + 1)
                        .ok()
                        .filter(|n| *n < 1 << 31)?;
                    self.bytes += TEXT_COST + t.len();
                    self.list.push(Text::from(t));
                    self.hashes.push(h);
                    self.slots[i] = n;
                    break n;
                }
                n if self.hashes[n as usize - 1] == h
                    && self.list[n as usize - 1].as_str() == t =>
                {
                    break n
                }
                _ => i = (i + 1) & mask,
            }
        };
        Some(n)
    }

    fn grow(&mut self) {
        // Texts given with the list are hashed when first needed.
        let have = self.hashes.len();
        self.hashes
            .extend(self.list[have..].iter().map(|t| hash(t.as_bytes())));
        let size = (4 * (self.list.len() + 1)).next_power_of_two().max(64);
        self.slots = vec![0; size];
        for (n, h) in self.hashes.iter().enumerate() {
            let mut i = *h as usize & (size - 1);
            while self.slots[i] != 0 {
                i = (i + 1) & (size - 1);
            }
            self.slots[i] = n as u32 + 1;
        }
    }
}

/// A multiplicative hash, eight bytes at a time: texts are short.
fn hash(b: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut h = b.len() as u64;
    let mut words = b.chunks_exact(8);
    for w in words.by_ref() {
        let x = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(5) ^ x).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K)
}

/// Append `ev` in compact form when it is a Security event of the file `file`, its texts
/// numbered in `texts`; `false` (and nothing appended) for any other event, which is then held
/// as its line.
fn encode(ev: &Event, file: &str, out: &mut Vec<u8>, texts: &mut Texts) -> bool {
    let EventData::Security(s) = &ev.data else {
        return false;
    };
    if *ev.source.file != *file {
        return false;
    }
    let start = out.len();
    let fits = security(ev.time_basis, ev.machine.as_ref(), s, out, |place, t| {
        texts.number(place, t)
    });
    if !fits {
        out.truncate(start);
        inline(ev.time_basis, ev.machine.as_ref(), s, out, |t| {
            Some(t.as_str())
        });
    }
    true
}

/// Append a Security event with its texts (`text` gives each), when they have no numbers.
fn inline<'t, T: PartialEq>(
    basis: TimeBasis,
    machine: Option<&'t T>,
    s: &'t SecurityEvent<T>,
    out: &mut Vec<u8>,
    text: impl Fn(&'t T) -> Option<&'t str>,
) {
    out.push(SECURITY_INLINE);
    let flags = head(basis, machine, s, out);
    each_text(machine, s, flags, |_, t| put_text(out, t.and_then(&text)));
}

/// Append a SECURITY entry, each text as the number + 1 `number` gives it (by its place);
/// `false` if a text has none.
fn security<T: PartialEq>(
    basis: TimeBasis,
    machine: Option<&T>,
    s: &SecurityEvent<T>,
    out: &mut Vec<u8>,
    mut number: impl FnMut(usize, &T) -> Option<u32>,
) -> bool {
    out.push(SECURITY);
    let flags = head(basis, machine, s, out);
    let mut ok = true;
    each_text(machine, s, flags, |place, t| {
        let n = match t {
            Some(t) => number(place, t).unwrap_or_else(|| {
                ok = false;
                0
            }),
            None => 0,
        };
        put_number(out, n);
    });
    ok
}

/// The head of `s`: time basis, event id, flags, numbers; returns the flags.
fn head<T: PartialEq>(
    basis: TimeBasis,
    machine: Option<&T>,
    s: &SecurityEvent<T>,
    out: &mut Vec<u8>,
) -> u8 {
    let same = s.computer.is_some() && s.computer.as_ref() == machine;
    let flags = [
        (s.logon_type.is_some(), LOGON_TYPE),
        (s.status.is_some(), STATUS),
        (s.sub_status.is_some(), SUB_STATUS),
        (same, COMPUTER_IS_MACHINE),
    ]
    .iter()
    .fold(0, |f, (on, bit)| if *on { f | bit } else { f });
    out.push(basis_code(basis));
    out.extend_from_slice(&s.event_id.to_le_bytes());
    out.push(flags);
    for n in [s.logon_type, s.status, s.sub_status].into_iter().flatten() {
        out.extend_from_slice(&n.to_le_bytes());
    }
    flags
}

/// Each text of the event with its place, in stored order.
fn each_text<'a, T>(
    machine: Option<&'a T>,
    s: &'a SecurityEvent<T>,
    flags: u8,
    mut f: impl FnMut(usize, Option<&'a T>),
) {
    // Every field, so a field added to the event cannot be left out here.
    let SecurityEvent {
        event_id: _,
        computer,
        subject,
        target,
        logon_type: _,
        status: _,
        sub_status: _,
        failure_reason,
        logon_process,
        auth_package,
        workstation,
        process_name,
        ip_address,
        target_server,
    } = s;
    let all = [
        machine,
        computer.as_ref(),
        subject.name.as_ref(),
        subject.domain.as_ref(),
        subject.sid.as_ref(),
        target.name.as_ref(),
        target.domain.as_ref(),
        target.sid.as_ref(),
        failure_reason.as_ref(),
        logon_process.as_ref(),
        auth_package.as_ref(),
        workstation.as_ref(),
        process_name.as_ref(),
        ip_address.as_ref(),
        target_server.as_ref(),
    ];
    let computer_is_machine = flags & COMPUTER_IS_MACHINE != 0;
    for (place, t) in all.into_iter().enumerate() {
        if !(place == 1 && computer_is_machine) {
            f(place, t);
        }
    }
}

/// Entries of `timeline`: lines, or Security events rendered by `render` when written
/// (`files`: each input's display path, by input number), with the texts they refer to.
pub struct Entries<'a> {
    files: &'a [Arc<str>],
    render: super::RenderLine<'a>,
    /// Numbered as readers hand over their events, from every thread.
    texts: Mutex<Texts>,
    /// The texts, taken out of the lock once all is read (at the first line written), so the
    /// workers of the last merge read them without waiting for each other.
    written: OnceLock<Vec<Text>>,
    /// The middles of split lines already rendered, one memo per worker of the last merge.
    memos: Vec<Mutex<Memo>>,
}

impl<'a> Entries<'a> {
    /// Entries whose texts take at most `texts_budget` bytes: past it, an event with a text
    /// not seen before carries its texts.
    pub fn new(files: &'a [Arc<str>], render: super::RenderLine<'a>, texts_budget: usize) -> Self {
        let workers = rayon::current_num_threads().max(1);
        Entries {
            files,
            render,
            texts: Mutex::new(Texts {
                limit: texts_budget,
                ..Texts::default()
            }),
            written: OnceLock::new(),
            memos: (0..=workers)
                .map(|_| {
                    Mutex::new(Memo {
                        limit: (MEMO_BYTES / (workers + 1)).max(256 << 10),
                        ..Memo::default()
                    })
                })
                .collect(),
        }
    }

    fn numbering(&self) -> std::sync::MutexGuard<'_, Texts> {
        self.texts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Append `ev` in compact form when it is a Security event of the file `file`; `false`
    /// (and nothing appended) for any other event, which is then held as its line.
    pub fn encode(&self, ev: &Event, file: &str, out: &mut Vec<u8>) -> bool {
        matches!(ev.data, EventData::Security(_)) && encode(ev, file, out, &mut self.numbering())
    }

    /// The numbers (+ 1) of a pooled batch's texts, by their number in the batch (`None`: the
    /// text has none, and its events carry their texts).
    pub fn number_all(&self, batch: &[Text]) -> Vec<Option<u32>> {
        let mut texts = self.numbering();
        batch.iter().map(|t| texts.intern(t)).collect()
    }

    /// Append a pooled Security event (its texts numbered in its batch's `texts`, whose own
    /// numbers are `numbers`) in compact form.
    pub fn encode_pooled(
        &self,
        s: &PooledSecurity,
        texts: &[Text],
        numbers: &[Option<u32>],
        out: &mut Vec<u8>,
    ) {
        let start = out.len();
        let numbered = security(TimeBasis::Utc, s.machine.as_ref(), &s.data, out, |_, n| {
            numbers.get(*n as usize).copied().flatten()
        });
        if !numbered {
            out.truncate(start);
            inline(TimeBasis::Utc, s.machine.as_ref(), &s.data, out, |n| {
                texts.get(*n as usize).map(Text::as_str)
            });
        }
    }

    /// The texts, for writing: from now on no more are numbered (a reader that still hands
    /// over events, which none does once writing starts, would have them carry their texts).
    fn written(&self) -> &[Text] {
        self.written.get_or_init(|| {
            let closed = Texts {
                closed: true,
                ..Texts::default()
            };
            std::mem::replace(&mut *self.numbering(), closed).list
        })
    }

    /// This thread's memo: a pool worker's own, else the last one (a thread outside the pool
    /// shares it, which the lock keeps correct).
    fn memo(&self) -> std::sync::MutexGuard<'_, Memo> {
        let last = self.memos.len() - 1;
        let i = rayon::current_thread_index().map_or(last, |i| i % last.max(1));
        self.memos[i].lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A Security entry's line as three parts, its middle rendered once and taken from the memo
    /// after: the entry's bytes (its texts by their numbers, or inline) are its content, the
    /// same whichever batch holds it, so a log's thousands of logons of one account by one
    /// process are rendered once.
    fn expand_split(&self, key: &Key, entry: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        let (&tag, fields) = entry.split_first().ok_or_else(damaged)?;
        let mut memo = self.memo();
        let memo = &mut *memo;
        if let Some(middle) = memo.get(entry) {
            let head = basis_of(fields)
                .and_then(|basis| head_of(key, basis, None, self.files, &mut memo.days))
                .ok_or_else(damaged)?;
            self.render.security_edge(&head, false, out);
            out.extend_from_slice(&memo.middles[middle]);
            self.render.security_edge(&head, true, out);
            return Ok(());
        }
        let texts = self.written();
        let days = &mut memo.days;
        let (head, data) = match tag {
            SECURITY => decode(key, fields, self.files, days, |r| match r.number()? {
                0 => Some(None),
                n => texts.get(n as usize - 1).map(|t| Some(t.as_str())),
            }),
            _ => decode(key, fields, self.files, days, |r| r.text()),
        }
        .ok_or_else(damaged)?;
        self.render.security_edge(&head, false, out);
        let start = out.len();
        self.render.security_middle(&head, &data, out);
        memo.put(entry, &out[start..]);
        self.render.security_edge(&head, true, out);
        Ok(())
    }
}

/// The time basis of a Security entry's fields (after its tag).
fn basis_of(fields: &[u8]) -> Option<TimeBasis> {
    fields.first().and_then(|b| basis(*b))
}

/// Middles of split Security lines by their memo key; cleared when it holds `limit` bytes.
#[derive(Default)]
struct Memo {
    index: std::collections::HashMap<Box<[u8]>, usize, std::hash::BuildHasherDefault<WordHasher>>,
    middles: Vec<Box<[u8]>>,
    bytes: usize,
    limit: usize,
    /// The date of the last time rendered: the lines of a merge come in runs of one day.
    days: Days,
}

/// What the memos of all workers hold together (but at least a quarter MiB each): a log has
/// a few dozen distinct middles, and a log of all different events gains nothing from them.
const MEMO_BYTES: usize = 12 << 20;

impl Memo {
    fn get(&self, key: &[u8]) -> Option<usize> {
        self.index.get(key).copied()
    }

    fn put(&mut self, key: &[u8], middle: &[u8]) {
        let bytes = 2 * key.len() + middle.len() + 64;
        self.bytes += bytes;
        if self.bytes > self.limit {
            self.index.clear();
            self.middles.clear();
            self.bytes = bytes;
        }
        self.index.insert(key.into(), self.middles.len());
        self.middles.push(middle.into());
    }
}

/// [`hash`] as a `Hasher`, for the memo's keys.
#[derive(Default)]
struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        self.0 = hash(bytes) ^ self.0.rotate_left(17);
    }
}

impl Codec for Entries<'_> {
    fn to_run(&self, entry: &[u8], out: &mut Vec<u8>) {
        match self.written.get() {
            Some(texts) => to_run(entry, texts, out),
            None => to_run(entry, &self.numbering().list, out),
        }
    }

    fn output_len(&self, entry: &[u8]) -> usize {
        match entry.first() {
            Some(&LINE) => entry.len() - 1,
            // A logon's JSON line is about 650 bytes.
            _ => 768,
        }
    }

    fn expand(&self, key: &Key, entry: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        // An event is rendered from its parts, its texts borrowed from the entry or the list.
        let event = match entry.split_first() {
            Some((&LINE, line)) => {
                out.extend_from_slice(line);
                return Ok(());
            }
            Some((&(SECURITY | SECURITY_INLINE), _)) if self.render.splits_security() => {
                return self.expand_split(key, entry, out);
            }
            Some((&SECURITY, fields)) => {
                let texts = self.written();
                decode(key, fields, self.files, &mut Days::default(), |r| {
                    match r.number()? {
                        0 => Some(None),
                        n => texts.get(n as usize - 1).map(|t| Some(t.as_str())),
                    }
                })
            }
            Some((&SECURITY_INLINE, fields)) => {
                decode(key, fields, self.files, &mut Days::default(), |r| r.text())
            }
            _ => None,
        };
        let (head, data) = event.ok_or_else(damaged)?;
        self.render.security(&head, &data, out);
        Ok(())
    }
}

/// `entry` as a run holds it: a Security event with its texts (from `texts`) in place of their
/// numbers.
fn to_run(entry: &[u8], texts: &[Text], out: &mut Vec<u8>) {
    let Some((&SECURITY, fields)) = entry.split_first() else {
        out.extend_from_slice(entry);
        return;
    };
    // The head as it is, then each text in place of its number.
    let Some((head, rest)) = Reader(fields)
        .head_len()
        .and_then(|n| fields.split_at_checked(n))
    else {
        out.extend_from_slice(entry);
        return;
    };
    out.push(SECURITY_INLINE);
    out.extend_from_slice(head);
    let mut r = Reader(rest);
    for _ in 0..text_count(head[5]) {
        let t = r.number().and_then(|n| match n {
            0 => Some(None),
            n => texts.get(n as usize - 1).map(|t| Some(t.as_str())),
        });
        put_text(out, t.flatten());
    }
}

fn damaged() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        "a timeline entry read back from a temporary sort run is damaged",
    )
}

/// Texts stored after the head.
fn text_count(flags: u8) -> usize {
    if flags & COMPUTER_IS_MACHINE != 0 {
        TEXTS - 1
    } else {
        TEXTS
    }
}

/// The parts of the Security event `b` holds (after its tag), its texts as `text` reads them.
fn decode<'a>(
    key: &Key,
    b: &'a [u8],
    files: &'a [Arc<str>],
    days: &mut Days,
    mut text: impl FnMut(&mut Reader<'a>) -> Option<Option<&'a str>>,
) -> Option<(Head<'a>, SecurityEvent<&'a str>)> {
    let mut r = Reader(b);
    let time_basis = basis(r.u8()?)?;
    let event_id = r.u32()?;
    let flags = r.u8()?;
    let mut number = |bit: u8| {
        if flags & bit == 0 {
            Some(None)
        } else {
            r.u32().map(Some)
        }
    };
    let (logon_type, status, sub_status) =
        (number(LOGON_TYPE)?, number(STATUS)?, number(SUB_STATUS)?);
    let machine = text(&mut r)?;
    let computer = if flags & COMPUTER_IS_MACHINE != 0 {
        machine
    } else {
        text(&mut r)?
    };
    let mut account = |r: &mut Reader<'a>| {
        Some(Account {
            name: text(r)?,
            domain: text(r)?,
            sid: text(r)?,
        })
    };
    let (subject, target) = (account(&mut r)?, account(&mut r)?);
    let data = SecurityEvent {
        event_id,
        computer,
        subject,
        target,
        logon_type,
        status,
        sub_status,
        failure_reason: text(&mut r)?,
        logon_process: text(&mut r)?,
        auth_package: text(&mut r)?,
        workstation: text(&mut r)?,
        process_name: text(&mut r)?,
        ip_address: text(&mut r)?,
        target_server: text(&mut r)?,
    };
    Some((head_of(key, time_basis, machine, files, days)?, data))
}

/// The head of the entry with sort key `key`.
fn head_of<'a>(
    key: &Key,
    time_basis: TimeBasis,
    machine: Option<&'a str>,
    files: &'a [Arc<str>],
    days: &mut Days,
) -> Option<Head<'a>> {
    let loc = match key.loc_kind {
        0 => Loc::Record(key.loc),
        1 => Loc::Line(key.loc),
        _ => Loc::Row(key.loc),
    };
    Some(Head {
        time: days.time(key.secs, key.nanos)?,
        time_basis,
        file: files.get(usize::try_from(key.input).ok()?)?,
        loc,
        machine,
    })
}

/// A text number: one byte below 128, else four (the high bit of the first set).
fn put_number(out: &mut Vec<u8>, n: u32) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        out.extend_from_slice(&(n | 0x8000_0000).to_be_bytes());
    }
}

/// A text's length and bytes: a length byte of 0 for none, 1 + length up to 253 bytes, else
/// 255 and the length in four bytes.
fn put_text(out: &mut Vec<u8>, t: Option<&str>) {
    let Some(t) = t else {
        out.push(0);
        return;
    };
    match u8::try_from(t.len() + 1) {
        Ok(n) if n < 255 => out.push(n),
        _ => {
            out.push(255);
            // Texts come from 64 KiB chunks or capped lines: far below 4 GiB.
            out.extend_from_slice(&u32::try_from(t.len()).unwrap_or(u32::MAX).to_le_bytes());
        }
    }
    out.extend_from_slice(t.as_bytes());
}

fn basis_code(b: TimeBasis) -> u8 {
    match b {
        TimeBasis::Utc => 0,
        TimeBasis::Offset => 1,
        TimeBasis::Assumed => 2,
        TimeBasis::Inferred => 3,
        TimeBasis::Given => 4,
        TimeBasis::FileDate => 5,
    }
}

fn basis(code: u8) -> Option<TimeBasis> {
    Some(match code {
        0 => TimeBasis::Utc,
        1 => TimeBasis::Offset,
        2 => TimeBasis::Assumed,
        3 => TimeBasis::Inferred,
        4 => TimeBasis::Given,
        5 => TimeBasis::FileDate,
        _ => return None,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// The length of the head (time basis, event id, flags, numbers) at the start.
    fn head_len(&self) -> Option<usize> {
        let flags = *self.0.get(5)?;
        let numbers = [LOGON_TYPE, STATUS, SUB_STATUS]
            .iter()
            .filter(|bit| flags & **bit != 0)
            .count();
        Some(6 + 4 * numbers)
    }

    fn number(&mut self) -> Option<u32> {
        let first = self.u8()?;
        if first < 0x80 {
            return Some(u32::from(first));
        }
        let rest = self.take(3)?;
        Some(u32::from_be_bytes([
            first & 0x7f,
            rest[0],
            rest[1],
            rest[2],
        ]))
    }

    /// `Some(None)` for no text, `None` when the bytes end early or are not UTF-8.
    fn text(&mut self) -> Option<Option<&'a str>> {
        let len = match self.u8()? {
            0 => return Some(None),
            255 => usize::try_from(self.u32()?).ok()?,
            n => usize::from(n - 1),
        };
        std::str::from_utf8(self.take(len)?).ok().map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::SourceRef;
    use chrono::TimeZone;

    fn event(i: u32) -> Event {
        let text = |s: &str| Some(Text::from(format!("{s}{i}")));
        let long = "x".repeat(300 * (i as usize % 2));
        Event {
            time: chrono::Utc.with_ymd_and_hms(2025, 6, 2, 13, 17, 5).unwrap()
                + chrono::Duration::nanoseconds(i64::from(i) * 26_500_123),
            time_basis: [TimeBasis::Utc, TimeBasis::Offset, TimeBasis::FileDate][i as usize % 3],
            source: SourceRef {
                file: Arc::from("logs.zip!/Security.evtx"),
                loc: [Loc::Record(7), Loc::Line(8), Loc::Row(u64::MAX)][i as usize % 3],
            },
            machine: (i % 4 != 3).then(|| Text::from("RPA-VM01.contoso.com")),
            data: EventData::Security(SecurityEvent {
                event_id: 4624 + i,
                computer: match i % 3 {
                    0 => Some(Text::from("RPA-VM01.contoso.com")),
                    1 => text("PC\"1\\x\u{1}\t\u{e9}"),
                    _ => None,
                },
                subject: Account {
                    name: text("SYSTEM"),
                    domain: None,
                    sid: text("S-1-5-21-3623811015-3361044348-30300820-"),
                },
                target: Account {
                    name: text(&format!("C:\\Users\\\u{1F600}{long}")),
                    domain: text("CONTOSO\n"),
                    sid: i.is_multiple_of(2).then(|| Text::from("")),
                },
                logon_type: i.is_multiple_of(2).then_some(i),
                status: i.is_multiple_of(3).then_some(0xC000_006D),
                sub_status: i.is_multiple_of(5).then_some(0),
                failure_reason: text("%%2313"),
                logon_process: None,
                auth_package: text("Negotiate"),
                workstation: text(""),
                process_name: None,
                ip_address: text("::1"),
                target_server: text("srv</script>"),
            }),
        }
    }

    #[test]
    fn security_events_come_back_as_they_were() {
        use crate::report::timeline::{Lines, TimelineFormat};
        let files: Vec<Arc<str>> = vec![Arc::from("other"), Arc::from("logs.zip!/Security.evtx")];
        let serde = |ev: &Event, out: &mut Vec<u8>| {
            serde_json::to_writer(&mut *out, ev).unwrap();
            out.push(b'\n');
        };
        let formats = [
            TimelineFormat::Jsonl,
            TimelineFormat::Text,
            TimelineFormat::Csv,
            TimelineFormat::Timesketch,
        ];
        let renders: Vec<Box<dyn super::super::Render>> = std::iter::once(Box::new(serde) as _)
            .chain(formats.map(|f| Box::new(Lines(f)) as _))
            .collect();
        for render in &renders {
            // With room for the texts, and with none (every event then carries its texts).
            for texts_budget in [1 << 20, 0] {
                let entries = Entries::new(&files, render.as_ref(), texts_budget);
                // Events repeat (i % 13), as a log's do: split lines take their middles from
                // the memo the second time.
                let mut batch = Vec::new();
                let mut held = Vec::new();
                for i in 0..40 {
                    let ev = event(i % 13);
                    let (loc_kind, loc) = match ev.source.loc {
                        Loc::Record(n) => (0, n),
                        Loc::Line(n) => (1, n),
                        Loc::Row(n) => (2, n),
                    };
                    let key = Key {
                        secs: ev.time.timestamp(),
                        nanos: ev.time.timestamp_subsec_nanos(),
                        file: 3,
                        loc_kind,
                        loc,
                        input: 1,
                        batch: 9,
                        idx: i,
                    };
                    let start = batch.len();
                    assert!(entries.encode(&ev, "logs.zip!/Security.evtx", &mut batch));
                    batch.push(0); // what follows an entry must not matter
                    let entry = batch[start..batch.len() - 1].to_vec();
                    let mut run = Vec::new();
                    entries.to_run(&entry, &mut run);
                    held.push((ev, key, entry, run));
                }
                if texts_budget > 0 {
                    assert!(
                        entries.numbering().list.len() < 13 * TEXTS,
                        "texts are held once"
                    );
                    // Another file's event is held as a line.
                    assert!(!entries.encode(&event(0), "Security.evtx", &mut Vec::new()));
                }
                for (ev, key, entry, run) in &held {
                    let mut want = Vec::new();
                    render.line(ev, &mut want);
                    // Held in memory, and written to a run then read back.
                    for e in [entry, run] {
                        let mut got = Vec::new();
                        entries.expand(key, e, &mut got).unwrap();
                        assert_eq!(
                            String::from_utf8(got).unwrap(),
                            String::from_utf8(want.clone()).unwrap()
                        );
                    }
                    // Damage is an error, never a panic.
                    for cut in 0..run.len() {
                        let _ = entries.expand(key, &run[..cut], &mut Vec::new());
                        let _ =
                            entries.expand(key, &entry[..cut.min(entry.len())], &mut Vec::new());
                    }
                }
                // Once writing started, an event with new texts carries them.
                let mut late = Vec::new();
                let mut ev = event(3);
                ev.machine = Some(Text::from("A-MACHINE-NAMED-LATE"));
                assert!(entries.encode(&ev, "logs.zip!/Security.evtx", &mut late));
                assert_eq!(late[0], SECURITY_INLINE);
                let (mut got, mut want) = (Vec::new(), Vec::new());
                entries.expand(&held[3].1, &late, &mut got).unwrap();
                render.line(&ev, &mut want);
                assert_eq!(got, want);
            }
        }
    }

    #[test]
    fn the_same_event_in_two_batches_is_the_same_entry() {
        let files: Vec<Arc<str>> = vec![Arc::from("Security.evtx")];
        let render = |_: &Event, _: &mut Vec<u8>| {};
        let entries = Entries::new(&files, &render, 1 << 20);
        let text = |s: &str| Text::from(s);
        let event = |machine: u32, name: u32| PooledSecurity {
            time: chrono::DateTime::from_timestamp(1_440_071_391, 0).unwrap(),
            record: 7,
            machine: Some(machine),
            data: SecurityEvent {
                event_id: 4624,
                computer: Some(machine),
                subject: Account {
                    name: Some(name),
                    domain: None,
                    sid: None,
                },
                logon_type: Some(5),
                ..SecurityEvent::default()
            },
        };
        // Two chunks met the same texts in another order.
        let one = [text("WIN-L0ZZQ76PMUF"), text("NETWORK SERVICE")];
        let two = [
            text("NETWORK SERVICE"),
            text("other"),
            text("WIN-L0ZZQ76PMUF"),
        ];
        let (mut a, mut b) = (Vec::new(), Vec::new());
        entries.encode_pooled(&event(0, 1), &one, &entries.number_all(&one), &mut a);
        entries.encode_pooled(&event(2, 0), &two, &entries.number_all(&two), &mut b);
        assert_eq!(a, b);
        // A batch whose texts have no numbers: its events carry them, read back the same.
        let mut c = Vec::new();
        entries.encode_pooled(&event(0, 1), &one, &[None, None], &mut c);
        assert_eq!(c[0], SECURITY_INLINE);
        let mut run = Vec::new();
        entries.to_run(&a, &mut run);
        assert_eq!(run, c);
    }

    #[test]
    fn texts_are_numbered_once_whatever_their_place() {
        let mut texts = Texts {
            limit: usize::MAX,
            ..Texts::default()
        };
        let words: Vec<String> = (0..500).map(|i| format!("text number {i}")).collect();
        let mut numbers = Vec::new();
        for (i, w) in words.iter().chain(&words).enumerate() {
            numbers.push(texts.number(i % TEXTS, w).unwrap());
        }
        assert_eq!(texts.list.len(), 500);
        assert_eq!(numbers[..500], numbers[500..]);
        for (n, w) in numbers.iter().zip(&words) {
            assert_eq!(texts.list[*n as usize - 1], w.as_str());
        }
        // Past its memory, a known text keeps its number and a new one gets none.
        texts.limit = 0;
        assert_eq!(texts.number(0, &words[7]), Some(numbers[7]));
        assert_eq!(texts.number(0, "a new text"), None);
    }
}
