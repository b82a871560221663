//! Maps one Windows event (from EVTX or an Event Viewer XML export) to a typed
//! [`EventData`](crate::model::EventData): the channel/event-id selection and field typing shared
//! by `evtx` and `event_xml`.
