//! The expert tools: list, register, update, heartbeat, deregister.

use consort_protocol::{Availability, ExpertProfile};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Call, ToolOutput, schema};
use crate::circuit_record::{self, CircuitRecord};
use crate::error::ToolError;

/// Arguments of `experts_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// Leave out offline experts (the spec's `getAvailableExperts`).
    #[serde(default)]
    available_only: bool,
}

/// One expert as `experts_list` shows it.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExpertEntry {
    /// The expert's id.
    id: String,
    /// Live availability: `offline` from the moment its heartbeat lapsed.
    #[schemars(schema_with = "schema::availability")]
    availability: Availability,
    /// Work slots in use.
    current_load: u32,
    /// Work slots it has, when limited.
    max_concurrent: Option<u32>,
    /// Whether its heartbeat is current.
    heartbeat_live: bool,
    /// Milliseconds since its last heartbeat (or registration); `null`
    /// once its heartbeat has lapsed.
    heartbeat_age_ms: Option<u64>,
    /// While calls to it fail fast because its circuit breaker is open
    /// (`McpExecutor` of any process on this backend): why and since when.
    #[serde(skip_serializing_if = "Option::is_none")]
    circuit: Option<CircuitRecord>,
    /// The whole profile, as registered (fields as in docs/inputs.md).
    #[schemars(schema_with = "schema::object")]
    profile: ExpertProfile,
}

/// Result of `experts_list`.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExpertList {
    /// The experts, sorted by id.
    experts: Vec<ExpertEntry>,
}

impl ToolOutput for ExpertList {}

pub(crate) async fn list(call: Call, args: ListArgs) -> Result<ExpertList, ToolError> {
    let experts = call.coordinator.experts().await?;
    let ids: Vec<_> = experts.iter().map(|e| e.id.clone()).collect();
    let ages = call
        .coordinator
        .registry()
        .heartbeat_ages(&ids)
        .await
        .map_err(consort_coordinator::CoordinatorError::from)?;
    let circuits = circuit_record::read_all(call.coordinator.backend().as_ref(), &ids).await;
    let experts = experts
        .into_iter()
        .zip(ages)
        .zip(circuits)
        .filter(|((profile, _), _)| {
            !args.available_only || profile.availability_status != Availability::Offline
        })
        .map(|((profile, age), circuit)| ExpertEntry {
            id: profile.id.to_string(),
            availability: profile.availability_status,
            current_load: profile.current_load,
            max_concurrent: profile.max_concurrent,
            heartbeat_live: age.is_some(),
            heartbeat_age_ms: age.map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX)),
            circuit,
            profile,
        })
        .collect();
    Ok(ExpertList { experts })
}

/// Arguments of `expert_register`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RegisterArgs {
    /// The expert's profile: `id`, `expertise_domains` and the optional
    /// fields of a registry entry (docs/inputs.md).
    #[schemars(schema_with = "schema::object")]
    profile: ExpertProfile,
}

/// The expert a tool changed, as it is now.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ExpertChanged {
    /// The expert's id.
    id: String,
    /// What happened: `registered`, `updated`, `heartbeat` or `deregistered`.
    change: &'static str,
    /// Its live availability afterwards (`null` once deregistered).
    #[schemars(schema_with = "schema::optional_availability")]
    availability: Option<Availability>,
}

impl ToolOutput for ExpertChanged {}

impl ExpertChanged {
    async fn after(call: &Call, id: &str, change: &'static str) -> Result<Self, ToolError> {
        let availability = call
            .coordinator
            .registry()
            .get(id)
            .await
            .map_err(consort_coordinator::CoordinatorError::from)?
            .map(|p| p.availability_status);
        Ok(Self {
            id: id.to_owned(),
            change,
            availability,
        })
    }
}

pub(crate) async fn register(call: Call, args: RegisterArgs) -> Result<ExpertChanged, ToolError> {
    call.coordinator.register_expert(&args.profile).await?;
    ExpertChanged::after(&call, &args.profile.id, "registered").await
}

/// Arguments of `expert_update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateArgs {
    /// The expert to change.
    id: String,
    /// Its new profile (its `id` must be this `id`); the profile is
    /// replaced whole.
    #[serde(default)]
    #[schemars(schema_with = "schema::optional_object")]
    profile: Option<ExpertProfile>,
    /// Its declared availability: `available`, `busy` or `offline`.
    #[serde(default)]
    #[schemars(schema_with = "schema::availability")]
    availability: Option<Availability>,
}

pub(crate) async fn update(call: Call, args: UpdateArgs) -> Result<ExpertChanged, ToolError> {
    if args.profile.is_none() && args.availability.is_none() {
        return Err(ToolError::InvalidArguments(
            "give `profile`, `availability` or both: there is nothing to update".to_owned(),
        ));
    }
    if let Some(profile) = &args.profile {
        if profile.id != args.id.as_str() {
            return Err(ToolError::InvalidArguments(format!(
                "profile.id: {:?} is not the expert being updated ({:?})",
                profile.id.as_str(),
                args.id
            )));
        }
        call.coordinator.update_expert(profile).await?;
    }
    if let Some(availability) = args.availability {
        call.coordinator
            .set_availability(&args.id, availability)
            .await?;
    }
    ExpertChanged::after(&call, &args.id, "updated").await
}

/// Arguments of the tools that name one expert.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpertArgs {
    /// The expert's id.
    id: String,
}

pub(crate) async fn heartbeat(call: Call, args: ExpertArgs) -> Result<ExpertChanged, ToolError> {
    call.coordinator.heartbeat(&args.id).await?;
    ExpertChanged::after(&call, &args.id, "heartbeat").await
}

pub(crate) async fn deregister(call: Call, args: ExpertArgs) -> Result<ExpertChanged, ToolError> {
    call.coordinator.deregister_expert(&args.id).await?;
    Ok(ExpertChanged {
        id: args.id,
        change: "deregistered",
        availability: None,
    })
}
