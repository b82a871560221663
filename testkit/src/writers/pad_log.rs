//! PAD's JSON-lines logs: one JSON object per line with the keys in the order PAD's serialiser
//! writes them, CRLF line ends.

use super::{dotnet_time, guid_str};
use crate::events::Lcg;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One line of a PAD log; field order is key order, as PAD's serialiser writes them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Line<'a> {
    event_data_schema_version: &'static str,
    schema_version: &'static str,
    agent_client_id: &'a str,
    correlation_id: &'a str,
    tenant_id: &'static str,
    component: &'static str,
    event_type: &'a str,
    trace_level: &'static str,
    operation_name: &'a str,
    event_timestamp: String,
    duration_in_milliseconds: i64,
    message: String,
    activity_id: String,
    role_info: RoleInfo,
    event_data: EventData,
}

#[derive(Serialize)]
struct RoleInfo {
    geo: &'static str,
    region: &'static str,
    environment: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventData {
    agent_version: &'static str,
    execution_info: ExecutionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    machine_info: Option<MachineInfo>,
    /// The entry's own fields, after the common ones.
    #[serde(flatten)]
    extra: Fields,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExecutionInfo {
    session_id: i64,
    process_name: &'static str,
    thread_id: i64,
    context_id: String,
    #[serde(rename = "is64BitProcess")]
    is_64bit_process: bool,
    process_unique_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MachineInfo {
    screen_resolution: &'static str,
    processor_count: i64,
    net_version: &'static str,
    windows_product_name: &'static str,
    #[serde(rename = "physicalMemoryMB")]
    physical_memory_mb: i64,
    #[serde(rename = "isAADJoined")]
    is_aad_joined: bool,
    is_domain_joined: bool,
    is_machine_test: bool,
    #[serde(rename = "physicalFreeMemoryMB")]
    physical_free_memory_mb: i64,
    cpu_load: i64,
    memory_load: i64,
}

/// Extra `eventData` fields in the order they were added (a map would sort them).
#[derive(Default)]
struct Fields(Vec<(&'static str, serde_json::Value)>);

impl Serialize for Fields {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lvl {
    Verbose,
    Info,
    Warning,
    Error,
}

impl Lvl {
    fn as_str(self) -> &'static str {
        match self {
            Lvl::Verbose => "Verbose",
            Lvl::Info => "Info",
            Lvl::Warning => "Warning",
            Lvl::Error => "Error",
        }
    }
}

/// The machine as PAD's log lines describe it.
pub(crate) struct PadHost {
    pub(crate) agent_client: String,
    pub(crate) tenant_id: &'static str,
    pub(crate) aad_joined: bool,
    pub(crate) domain_joined: bool,
    /// `machineInfo.windowsProductName`.
    pub(crate) product: &'static str,
    /// Seed of the thread ids and machine figures the lines carry.
    pub(crate) seed: u64,
}

/// One PAD component's log file being written.
pub(crate) struct PadLog {
    component: &'static str,
    /// `eventData.agentVersion`.
    version: &'static str,
    process: &'static str,
    agent_client: String,
    tenant_id: &'static str,
    aad_joined: bool,
    domain_joined: bool,
    product: &'static str,
    /// Also drawn from by the caller for its routine lines (heartbeat jitter, counters).
    pub(crate) rng: Lcg,
    lines: Vec<String>,
}

/// One entry: when, how severe, what (operation, event type, message), the correlation id of
/// the operation it belongs to, and extra `eventData` fields.
pub(crate) struct Entry<'a> {
    time: DateTime<Utc>,
    level: Lvl,
    op: &'a str,
    event_type: &'a str,
    correlation: &'a str,
    message: String,
    data: Fields,
    machine_info: bool,
}

pub(crate) fn entry<'a>(
    time: DateTime<Utc>,
    level: Lvl,
    op: &'a str,
    event_type: &'a str,
    correlation: &'a str,
    message: impl Into<String>,
) -> Entry<'a> {
    Entry {
        time,
        level,
        op,
        event_type,
        correlation,
        message: message.into(),
        data: Fields::default(),
        machine_info: false,
    }
}

impl<'a> Entry<'a> {
    pub(crate) fn with(mut self, key: &'static str, value: impl Into<serde_json::Value>) -> Self {
        self.data.0.push((key, value.into()));
        self
    }

    /// Adds `eventData.machineInfo`, as PAD does on start-up and failure lines.
    pub(crate) fn machine(mut self) -> Self {
        self.machine_info = true;
        self
    }
}

impl PadLog {
    pub(crate) fn new(
        component: &'static str,
        process: &'static str,
        host: &PadHost,
        version: &'static str,
    ) -> Self {
        PadLog {
            component,
            version,
            process,
            agent_client: host.agent_client.clone(),
            tenant_id: host.tenant_id,
            aad_joined: host.aad_joined,
            domain_joined: host.domain_joined,
            product: host.product,
            rng: Lcg::new(host.seed ^ (component.len() as u64 * 7919)),
            lines: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, e: Entry<'_>) {
        let thread = 4 + self.rng.below(60) as i64;
        let execution_info = ExecutionInfo {
            session_id: 0,
            process_name: self.process,
            thread_id: thread,
            context_id: guid_str(&format!("ctx/{}", e.correlation)),
            is_64bit_process: true,
            process_unique_id: guid_str(&format!("proc/{}/{}", self.agent_client, self.process)),
        };
        // Fields in draw order: the generator's numbers depend on it.
        let machine_info = e.machine_info.then(|| MachineInfo {
            screen_resolution: "1920x1080",
            processor_count: 4,
            net_version: "4.8.1",
            windows_product_name: self.product,
            physical_memory_mb: 16384,
            is_aad_joined: self.aad_joined,
            is_domain_joined: self.domain_joined,
            is_machine_test: false,
            physical_free_memory_mb: 7000 + i64::from(self.rng.below(3000)),
            cpu_load: 3 + i64::from(self.rng.below(30)),
            memory_load: 38 + i64::from(self.rng.below(20)),
        });
        let line = Line {
            event_data_schema_version: "1.2",
            schema_version: "1.0",
            agent_client_id: &self.agent_client,
            correlation_id: e.correlation,
            tenant_id: self.tenant_id,
            component: self.component,
            event_type: e.event_type,
            trace_level: e.level.as_str(),
            operation_name: e.op,
            event_timestamp: dotnet_time(e.time),
            duration_in_milliseconds: -1,
            message: e.message,
            activity_id: guid_str(&format!(
                "activity/{}/{}/{}",
                e.correlation,
                e.op,
                e.time.timestamp_millis()
            )),
            role_info: RoleInfo {
                geo: "us",
                region: "westus2",
                environment: "prod",
            },
            event_data: EventData {
                agent_version: self.version,
                execution_info,
                machine_info,
                extra: e.data,
            },
        };
        let text = serde_json::to_string(&line)
            .unwrap_or_else(|err| panic!("PAD log line does not serialise: {err}"));
        self.lines.push(text);
    }

    /// The file: entries in time order (stable for equal times), CRLF line ends as .NET
    /// writes them on Windows.
    pub(crate) fn into_bytes(mut self) -> Vec<u8> {
        // Lines are pushed per story thread. The timestamp is the 10th key, at the same offset
        // on every line of one component, so its text order is the time order.
        self.lines.sort_by(|a, b| line_time(a).cmp(line_time(b)));
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push_str("\r\n");
        }
        out.into_bytes()
    }
}

fn line_time(line: &str) -> &str {
    line.split_once("\"eventTimestamp\":\"")
        .map_or("", |(_, rest)| rest.get(..28).unwrap_or(rest))
}
