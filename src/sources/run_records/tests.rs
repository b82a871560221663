//! Tests of the run-record readers.
use super::portal::{correlation_from_text, machine_from_text};
use super::sessions::normalise_key;

#[test]
fn normalises_column_names() {
    assert_eq!(normalise_key("Error Code").0, "errorcode");
    assert_eq!(normalise_key("Started On").0, "startedon");
    assert_eq!(normalise_key("Session Username").0, "sessionusername");
    assert_eq!(normalise_key("_machineid_value").0, "machineid");
    assert_eq!(
        normalise_key("_machineid_value@OData.Community.Display.V1.FormattedValue"),
        ("machineid".to_string(), true)
    );
    assert_eq!(normalise_key("Status Reason").0, "statuscode");
    assert_eq!(normalise_key("Flow Machine").0, "machinename");
}

#[test]
fn finds_machine_and_correlation_in_connection_message() {
    let m = "Details: Connection failed: [Machine 5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65]. \
             Correlation id: 0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6.";
    assert_eq!(
        machine_from_text(m).as_deref(),
        Some("5d7c2a10-8e41-4b6f-9a3e-2f1c0b9d7e65")
    );
    assert_eq!(
        correlation_from_text(m).as_deref(),
        Some("0f8e6d4c-2b1a-4c3d-8e9f-a1b2c3d4e5f6")
    );
}
