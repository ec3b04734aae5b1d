//! The spec's expert-to-expert `message_format` and `response_format`.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Confidence, ExpertId, Priority};

/// Identifier of a message; a UUIDv7 when generated here, so ids sort by
/// creation time, but any non-empty string is accepted from the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageId(pub String);

impl MessageId {
    /// A fresh, time-ordered id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string())
    }
}

impl std::fmt::Display for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a message is for (`"request | response | notification | data_share"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Asks the recipient to do something.
    Request,
    /// Answers an earlier request.
    Response,
    /// Informs; no answer expected.
    Notification,
    /// Hands data over.
    DataShare,
}

/// The body of an [`ExpertMessage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessagePayload {
    /// The content.
    #[serde(default)]
    pub data: Value,
    /// Context the recipient needs.
    #[serde(default)]
    pub context: Value,
    /// Urgency.
    #[serde(default)]
    pub priority: Priority,
    /// Whether the sender waits for an answer.
    #[serde(default)]
    pub requires_response: bool,
    /// When an answer is due (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<Timestamp>,
}

/// A message from one expert to another (the spec's `message_format`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertMessage {
    /// This message's id; responses refer to it.
    pub message_id: MessageId,
    /// Who sends it.
    pub sender_expert: ExpertId,
    /// Who receives it.
    pub recipient_expert: ExpertId,
    /// What it is for.
    pub message_type: MessageType,
    /// The body.
    pub payload: MessagePayload,
    /// The collaboration session it belongs to.
    pub session_id: String,
    /// When it was sent (RFC 3339).
    pub timestamp: Timestamp,
}

/// How an expert answers (`"answer | clarification | delegation | escalation"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseType {
    /// The answer itself.
    Answer,
    /// A question back to the sender.
    Clarification,
    /// Passed on to other experts.
    Delegation,
    /// Needs a human.
    Escalation,
}

/// The body of an [`ExpertResponse`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponsePayload {
    /// The content.
    #[serde(default)]
    pub data: Value,
    /// How sure the expert is, in `0.0..=1.0`.
    pub confidence_level: Confidence,
    /// Experts that should be brought in.
    #[serde(default)]
    pub additional_experts_needed: Vec<ExpertId>,
    /// Whether more exchange is needed.
    #[serde(default)]
    pub follow_up_required: bool,
}

/// An answer to an [`ExpertMessage`] (the spec's `response_format`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpertResponse {
    /// This response's id.
    pub message_id: MessageId,
    /// Who answers.
    pub responding_expert: ExpertId,
    /// The message answered.
    pub original_message_id: MessageId,
    /// What kind of answer.
    pub response_type: ResponseType,
    /// The body.
    pub payload: ResponsePayload,
    /// When it was sent (RFC 3339); the spec's format leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}
