//! Deterministic Security noise: a tiny generator and an endless stream of routine records.

use super::{
    security_4624, security_4672, security_5379, Logon, Principal, ADMIN_PRIVILEGES,
    SYSTEM_LOGON_ID,
};
use crate::evtx_writer::EventSpec;
use chrono::{DateTime, Duration, Utc};

/// A tiny 64-bit LCG (Knuth's MMIX constants): deterministic noise without a rand crate.
#[derive(Clone, Debug)]
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Self {
        Lcg(seed ^ 0x5851_f42d_4c95_7f2d)
    }

    pub fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 32) as u32
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.next_u32() % n
        }
    }
}

/// Endless, deterministic Security noise on `computer` from `start`, 1 to 30 s apart: service
/// logons by SYSTEM (4624 type 5) each followed by its 4672, and 5379 credential reads by a
/// local user. Same seed, same events.
pub fn noise(seed: u64, start: DateTime<Utc>, computer: &str) -> Noise {
    Noise {
        rng: Lcg::new(seed),
        time: start,
        computer: computer.into(),
        pending: None,
    }
}

/// The iterator [`noise`] returns.
#[derive(Clone, Debug)]
pub struct Noise {
    rng: Lcg,
    time: DateTime<Utc>,
    computer: String,
    /// The 4672 that follows a service logon.
    pending: Option<EventSpec>,
}

impl Iterator for Noise {
    type Item = EventSpec;

    fn next(&mut self) -> Option<EventSpec> {
        if let Some(next) = self.pending.take() {
            return Some(next);
        }
        let step_ms = 1000 + i64::from(self.rng.below(29_000));
        self.time += Duration::milliseconds(step_ms) + Duration::nanoseconds(100 * 37);
        let time = self.time;
        let pick = self.rng.below(10);
        let logon_id = 0x10_0000 + u64::from(self.rng.below(0xf_0000));
        Some(if pick < 6 {
            let mut l = Logon::new(time, &self.computer, Principal::system(), 5);
            l.target_logon_id = SYSTEM_LOGON_ID;
            l.elevated = true;
            l.thread_id = 900 + 4 * self.rng.below(200);
            self.pending = Some(security_4672(
                time,
                &self.computer,
                &Principal::system(),
                SYSTEM_LOGON_ID,
                ADMIN_PRIVILEGES,
            ));
            security_4624(&l)
        } else {
            let users = ["alex", "sam", "kim", "lee"];
            let user = users[self.rng.below(users.len() as u32) as usize];
            let rid = 1001 + self.rng.below(4);
            let sid = format!("S-1-5-21-3623811015-3361044348-30300820-{rid}");
            let short = self
                .computer
                .split('.')
                .next()
                .unwrap_or("PC")
                .to_uppercase();
            let who = Principal::new(user, &short, &sid);
            let target = format!("MicrosoftAccount:user={user}@example.com");
            let pid = 4000 + 4 * self.rng.below(2000);
            security_5379(time, &self.computer, &who, logon_id, &target, pid)
        })
    }
}
