//! What PAD logs on a machine: the service's and agent's start-up and routine lines, and the
//! lines of each run request up to its failure or its session.

use super::world::{Join, Machine, TENANT_ID};
use super::{file, ms, secs, OutFile};
use crate::writers::guid_str;
use crate::writers::pad_log::{entry, Lvl, PadHost, PadLog};
use chrono::{DateTime, Duration, Timelike, Utc};

/// The UIFlowService and agent logs of one machine, with the start-up lines both write.
pub(super) struct PadLogs {
    pub(super) service: PadLog,
    pub(super) agent: PadLog,
    /// Correlation id of background operations (heartbeats, registration checks).
    pub(super) background: String,
}

impl PadLogs {
    pub(super) fn new(m: &Machine, start: DateTime<Utc>, version: &'static str) -> Self {
        let host = PadHost {
            agent_client: guid_str(&format!("agent-client/{}", m.computer)),
            tenant_id: TENANT_ID,
            aad_joined: m.join != Join::Workgroup,
            domain_joined: m.join == Join::Hybrid,
            product: if m.join == Join::Workgroup {
                "Windows 11 Pro"
            } else {
                "Windows Server 2022 Datacenter"
            },
            seed: m.seed,
        };
        let mut service = PadLog::new("UIFlowService", "UIFlowService", &host, version);
        let agent_name = "Microsoft.Flow.RPA.Agent";
        let mut agent = PadLog::new(agent_name, agent_name, &host, version);
        let background = guid_str(&format!("background/{}", m.computer));
        let b = background.as_str();
        service.push(
            entry(
                start,
                Lvl::Info,
                "ServiceStart",
                "UIFlowService.Lifecycle.Started",
                b,
                format!("Power Automate service started (version {version})."),
            )
            .machine(),
        );
        service.push(entry(
            start + ms(412),
            Lvl::Info,
            "LoadConfiguration",
            "UIFlowService.Configuration.Loaded",
            b,
            "Configuration loaded: UseRdsAadAuthentication=0, SessionCreationTimeoutSeconds=120, AgentPingTimeoutSeconds=30.",
        ));
        service.push(entry(
            start + ms(1630),
            Lvl::Info,
            "CheckRegistration",
            "UIFlowService.Registration.Checked",
            b,
            format!(
                "Machine is registered; machine id {}.",
                guid_str(&format!("machine/{}", m.computer))
            ),
        ));
        service.push(entry(
            start + ms(2214),
            Lvl::Info,
            "ConnectRelay",
            "UIFlowService.Relay.Connected",
            b,
            "Listening for run requests on the Azure Relay endpoint.",
        ));
        agent.push(
            entry(
                start + secs(3),
                Lvl::Info,
                "AgentStart",
                "RpaAgent.Lifecycle.Started",
                b,
                format!("Agent started, version {version}, .NET Framework 4.8.1."),
            )
            .machine(),
        );
        PadLogs {
            service,
            agent,
            background,
        }
    }

    /// Heartbeats every `every` from `from` to `to`: the routine lines around everything else.
    pub(super) fn heartbeats(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, every: Duration) {
        let b = self.background.clone();
        let mut time = from;
        let mut n = 0u32;
        while time < to {
            let jitter = ms(i64::from(self.service.rng.below(900)));
            self.service.push(entry(
                time + jitter,
                Lvl::Verbose,
                "Heartbeat",
                "UIFlowService.Heartbeat.Sent",
                &b,
                "Heartbeat sent to the cloud service.",
            ));
            if n.is_multiple_of(4) {
                let cpu = 2 + self.agent.rng.below(25);
                self.agent.push(entry(
                    time + jitter + ms(1200),
                    Lvl::Verbose,
                    "PerfCounters",
                    "RpaAgent.Telemetry.PerfCounters",
                    &b,
                    format!("Performance counters collected (cpu {cpu}%)."),
                ));
            }
            n += 1;
            time += every;
        }
    }

    pub(super) fn files(self, dir: &str, mtime: DateTime<Utc>) -> Vec<OutFile> {
        vec![
            file(
                &format!("{dir}Microsoft.Flow.RPA.Agent.log"),
                self.agent.into_bytes(),
                mtime,
            ),
            file(
                &format!("{dir}UIFlowService.log"),
                self.service.into_bytes(),
                mtime,
            ),
        ]
    }
}

/// What PAD logs for one unattended run request, up to the failure or the session.
pub(super) struct RunStory<'a> {
    pub(super) time: DateTime<Utc>,
    pub(super) flow: &'a str,
    pub(super) correlation: String,
    /// The connection user, when the log names it (`None`: the log never does).
    pub(super) user: Option<&'a str>,
}

impl RunStory<'_> {
    pub(super) fn received(&self, logs: &mut PadLogs) {
        let c = self.correlation.as_str();
        logs.service.push(
            entry(
                self.time,
                Lvl::Info,
                "RunDesktopFlow",
                "UIFlowService.Run.Received",
                c,
                format!(
                    "Received a request to run desktop flow '{}' in unattended mode.",
                    self.flow
                ),
            )
            .with("runMode", "Unattended")
            .with("flowSessionId", guid_str(&format!("session/{c}"))),
        );
        let msg = match self.user {
            Some(u) => format!("Creating an unattended Windows session for user '{u}'."),
            None => "Creating an unattended Windows session.".to_string(),
        };
        let mut e = entry(
            self.time + ms(340),
            Lvl::Info,
            "CreateSession",
            "UIFlowService.Session.Creating",
            c,
            msg,
        );
        if let Some(u) = self.user {
            e = e.with("sessionUserName", u);
        }
        logs.service.push(e);
    }

    /// The failure lines: the logon failure with its NTSTATUS (decimal, PAD ≥ 2.24) and the
    /// run's error code, `at` after the request.
    pub(super) fn failed(&self, logs: &mut PadLogs, at: Duration, code: &str, status: Option<i32>) {
        let c = self.correlation.as_str();
        let when = self.time + at;
        if let Some(st) = status {
            let msg = match self.user {
                Some(u) => format!("Logon failed for user '{u}' with status {st}."),
                None => format!("Logon failed with status {st}."),
            };
            let mut e = entry(
                when,
                Lvl::Error,
                "ValidateCredentials",
                "UIFlowService.Session.LogonFailed",
                c,
                msg,
            )
            .with("statusCode", i64::from(st));
            if let Some(u) = self.user {
                e = e.with("connectionUsername", u);
            }
            logs.service.push(e.machine());
        }
        let detail = match status {
            Some(st) => format!(" Detail: {st}."),
            None => String::new(),
        };
        let mut e = entry(
            when + ms(25),
            Lvl::Error,
            "RunDesktopFlow",
            "UIFlowService.Run.Failed",
            c,
            format!(
                "Desktop flow '{}' failed: {code}. The credentials provided with the request are invalid.{detail}",
                self.flow
            ),
        )
        .with("errorCode", code);
        if let Some(st) = status {
            e = e.with("statusCode", i64::from(st));
        }
        if let Some(u) = self.user {
            e = e.with("sessionUserName", u);
        }
        logs.service.push(e.machine());
    }

    /// A run that got its session and completed: session, agent run lines, sign-out.
    pub(super) fn succeeded(&self, logs: &mut PadLogs, duration: Duration) {
        let c = self.correlation.as_str();
        let session_id = 2 + (self.time.hour() % 5) as i64;
        logs.service.push(
            entry(
                self.time + secs(6),
                Lvl::Info,
                "CreateSession",
                "UIFlowService.Session.Created",
                c,
                format!("Unattended session {session_id} created."),
            )
            .with("windowsSessionId", session_id),
        );
        logs.agent.push(entry(
            self.time + secs(14),
            Lvl::Info,
            "RunFlow",
            "RpaAgent.Run.Started",
            c,
            format!("Flow '{}' started.", self.flow),
        ));
        logs.agent.push(entry(
            self.time + duration - secs(3),
            Lvl::Info,
            "RunFlow",
            "RpaAgent.Run.Completed",
            c,
            format!("Flow '{}' completed successfully.", self.flow),
        ));
        logs.service.push(entry(
            self.time + duration,
            Lvl::Info,
            "CloseSession",
            "UIFlowService.Session.SignedOut",
            c,
            format!("Unattended session {session_id} signed out."),
        ));
    }
}
