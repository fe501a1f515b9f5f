//! Request bounds: how large, deep and many the things a caller sends may
//! be (`[limits]`). Plain numbers, read by validation everywhere.

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest `text`, `input`, `system_prompt`, `arguments_json` accepted.
    pub max_text_bytes: usize,
    pub max_documents: usize,
    pub max_document_bytes: usize,
    pub max_total_document_bytes: usize,
    /// Largest encoded gRPC message; above the sum of the field limits so
    /// that oversized fields get a precise INVALID_ARGUMENT first.
    pub max_message_bytes: usize,
    /// Score calls running at once; more wait up to `queue_timeout_ms`, then
    /// get RESOURCE_EXHAUSTED.
    pub max_concurrent_requests: usize,
    pub queue_timeout_ms: u64,
    /// Deadline for one detector on one request; a late detector is skipped.
    pub detector_timeout_ms: u64,
    /// Deepest nesting of arrays and objects in `arguments_json` and an
    /// appended event's `attributes_json` (every reader of the log must be
    /// able to parse what was accepted).
    pub max_json_depth: usize,
    /// Largest `attributes_json` of an appended event.
    pub max_attributes_bytes: usize,
    /// Labels per request context, and the largest key and value.
    pub max_labels: usize,
    pub max_label_key_bytes: usize,
    pub max_label_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_text_bytes: 256 * 1024,
            max_documents: 64,
            max_document_bytes: 256 * 1024,
            max_total_document_bytes: 2 * 1024 * 1024,
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_requests: 64,
            queue_timeout_ms: 100,
            detector_timeout_ms: 2_000,
            max_json_depth: 64,
            max_attributes_bytes: 256 * 1024,
            max_labels: 64,
            max_label_key_bytes: 128,
            max_label_value_bytes: 1024,
        }
    }
}
