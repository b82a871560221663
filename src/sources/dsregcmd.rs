//! (to be written)

// placeholder: replaced by the parser's own detector
/// True when the text looks like `dsregcmd /status` output: the `Device State` banner or an
/// `AzureAdJoined :` key line.
pub fn looks_like_dsregcmd(head: &str) -> bool {
    head.lines().take(400).any(|l| {
        let t = l.trim();
        t.starts_with("| Device State")
            || t.strip_prefix("AzureAdJoined")
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}
