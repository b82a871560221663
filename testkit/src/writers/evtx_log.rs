//! Whole `.evtx` logs from event specs: records in time order from a chosen first record id.

use crate::events::Noise;
use crate::evtx_writer::{EventSpec, EvtxWriter};
use chrono::{DateTime, Utc};

/// The events as an .evtx file whose first record id is `first_id` (a log that has been
/// running for a while), records in time order.
pub(crate) fn evtx(mut events: Vec<EventSpec>, first_id: u64) -> Vec<u8> {
    events.sort_by_key(|e| e.time);
    let mut w = EvtxWriter::with_first_record_id(first_id);
    for e in &events {
        if let Err(err) = w.push(e) {
            panic!("scenario event {} does not encode: {err}", e.event_id);
        }
    }
    w.finish()
}

/// Like [`evtx`], for logs too big to hold as specs: the (small) `needles` merged in time order
/// with endless `streams`, each cut at `until`, written as they come.
pub(crate) fn evtx_streamed(
    mut needles: Vec<EventSpec>,
    streams: Vec<Noise>,
    until: DateTime<Utc>,
    first_id: u64,
) -> Vec<u8> {
    needles.sort_by_key(|e| e.time);
    let mut sources: Vec<std::iter::Peekable<Box<dyn Iterator<Item = EventSpec>>>> = Vec::new();
    sources.push((Box::new(needles.into_iter()) as Box<dyn Iterator<Item = EventSpec>>).peekable());
    for s in streams {
        let cut: Box<dyn Iterator<Item = EventSpec>> =
            Box::new(s.take_while(move |e| e.time < until));
        sources.push(cut.peekable());
    }
    let mut w = EvtxWriter::with_first_record_id(first_id);
    loop {
        let mut best: Option<(usize, DateTime<Utc>)> = None;
        for (i, src) in sources.iter_mut().enumerate() {
            if let Some(e) = src.peek() {
                if best.is_none_or(|(_, t)| e.time < t) {
                    best = Some((i, e.time));
                }
            }
        }
        let Some((i, _)) = best else { break };
        let Some(e) = sources[i].next() else { break };
        if let Err(err) = w.push(&e) {
            panic!("scenario event {} does not encode: {err}", e.event_id);
        }
    }
    w.finish()
}
