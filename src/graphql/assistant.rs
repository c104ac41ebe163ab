//! The `Assistant` type: a configured model persona with instructions and tools.

use async_graphql::{Context, ID, InputObject, Json, MaybeUndefined, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{
    context::ContextExt,
    datasource::Datasource,
    file::FileAttachment,
    loaders::{
        AttachmentsByAssistant, DatasourceById, DatasourcesOfAssistant, FeedbackOf, SettingsByProject, item_list, load,
    },
    message::FeedbackSummary,
    mutation::{UserError, change, write},
    node::{global_id, input_id},
    tool::Tool,
};
use crate::{
    auth::grant::{Permission, Place},
    models::{assistant::AssistantRow, summary::FeedbackOwner},
    services::{
        assistants::{self, AssistantFields},
        audit::Action,
    },
};

/// A model with instructions, tools and files, that chats can be started with.
pub struct Assistant(pub AssistantRow);

/// A model with instructions, tools and files, that chats can be started with.
#[Object]
impl Assistant {
    /// Globally unique, opaque id of this object.
    pub async fn id(&self) -> ID {
        global_id("Assistant", self.0.id)
    }

    /// Display name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// What it is for.
    async fn description(&self) -> &str {
        &self.0.description
    }

    /// The system instructions it answers with.
    async fn instructions(&self) -> &str {
        &self.0.instructions
    }

    /// Provider of its model (`openai`, `anthropic`, `offline`, ...).
    async fn provider(&self) -> &str {
        &self.0.provider
    }

    /// Its model.
    async fn model(&self) -> &str {
        &self.0.model
    }

    /// Sampling temperature (0 to 2), when set.
    async fn temperature(&self) -> Option<f64> {
        self.0.temperature
    }

    /// The names of the tools it may call (a JSON list; entries other than names, such as
    /// provider-format definitions imported from another platform, are kept and ignored).
    async fn tools(&self) -> Json<&Value> {
        Json(&self.0.tools)
    }

    /// The tools its model will see in a chat of its project: those it names (a tool, a
    /// built-in group such as `github`, an MCP server) that the project's settings enable. For
    /// an assistant of no project: those it names that exist (each chat's project then enables
    /// some of them). MCP servers' tools are listed now.
    async fn enabled_tools(&self, ctx: &Context<'_>) -> Result<Vec<Tool>> {
        let settings = match self.0.project_id {
            Some(project) => load(ctx, SettingsByProject(project)).await?,
            None => None,
        };
        let named: Vec<&str> = crate::services::tools::names(&self.0.tools).collect();
        let in_project = self.0.project_id.is_some();
        Ok(super::tool::catalogue(ctx, self.0.organization_id, settings.as_ref())
            .await?
            .into_iter()
            .filter(|tool| (tool.enabled || !in_project) && tool.unavailable.is_none())
            .filter(|tool| named.iter().any(|n| *n == tool.name || *n == tool.group))
            .map(|tool| Tool { enabled: true, ..tool })
            .collect())
    }

    /// Whether new chats may use it.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }

    /// When it was created.
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Files given to it as knowledge (the first 20).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn attachments(&self, ctx: &Context<'_>) -> Result<Vec<FileAttachment>> {
        item_list(ctx, AttachmentsByAssistant(self.0.id), false, FileAttachment).await
    }

    /// Datasources whose documents ground its answers (those the caller may read).
    #[graphql(complexity = "crate::graphql::node::item_list_cost(child_complexity)")]
    async fn datasources(&self, ctx: &Context<'_>) -> Result<Vec<Datasource>> {
        let ids = load(ctx, DatasourcesOfAssistant(self.0.id)).await?.unwrap_or_default();
        let mut found = Vec::new();
        for id in ids {
            if let Some(row) = load(ctx, DatasourceById(id)).await? {
                found.push(Datasource(row));
            }
        }
        Ok(found)
    }

    /// Votes and ratings on its answers, in the chats the caller may read.
    async fn feedback_summary(&self, ctx: &Context<'_>) -> Result<FeedbackSummary> {
        let key = FeedbackOf {
            owner: FeedbackOwner::Assistant,
            parent: self.0.id,
        };
        Ok(FeedbackSummary(load(ctx, key).await?.unwrap_or_default()))
    }
}

/// Input of `createAssistant`.
#[derive(InputObject)]
pub struct CreateAssistantInput {
    /// The project it belongs to (needs `project.update` there).
    pub project_id: ID,
    /// Display name (1 to 200 characters).
    pub name: String,
    /// What it is for (at most 2,000 characters).
    pub description: Option<String>,
    /// Its instructions (system prompt; at most 100,000 characters).
    pub instructions: Option<String>,
    /// The provider that runs it, such as `openai` or `local`.
    pub provider: String,
    /// The model, such as `gpt-4o-mini` (1 to 200 characters).
    pub model: String,
    /// Sampling temperature, 0 to 2; the project default when omitted.
    pub temperature: Option<f64>,
    /// Names of the tools it may call (at most 64).
    pub tools: Option<Vec<String>>,
    /// Datasources of the project whose documents ground its answers (at most 20): each
    /// answer is given the best passages and cites them.
    pub datasource_ids: Option<Vec<ID>>,
}

/// Input of `updateAssistant`. Omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateAssistantInput {
    /// The assistant to change.
    pub id: ID,
    /// Display name (1 to 200 characters).
    pub name: Option<String>,
    /// What it is for (at most 2,000 characters).
    pub description: Option<String>,
    /// Its instructions (at most 100,000 characters).
    pub instructions: Option<String>,
    /// The provider that runs it.
    pub provider: Option<String>,
    /// The model (1 to 200 characters).
    pub model: Option<String>,
    /// Sampling temperature, 0 to 2; null goes back to the project default.
    pub temperature: MaybeUndefined<f64>,
    /// Names of the tools it may call (replaces the list).
    pub tools: Option<Vec<String>>,
    /// Datasources whose documents ground its answers (replaces the list; empty: none).
    pub datasource_ids: Option<Vec<ID>>,
}

/// Datasource ids of an input, decoded.
fn ids(ids: Option<&[ID]>) -> crate::error::AppResult<Option<Vec<uuid::Uuid>>> {
    ids.map(|ids| {
        ids.iter()
            .map(|id| input_id(id, "Datasource", "datasourceIds"))
            .collect()
    })
    .transpose()
}

/// Input of `deactivateAssistant` and `activateAssistant`.
#[derive(InputObject)]
pub struct AssistantStateInput {
    /// The assistant.
    pub id: ID,
}

/// The result of the assistant mutations.
#[derive(SimpleObject)]
pub struct AssistantPayload {
    /// The assistant as it is now, unless there were user errors.
    pub assistant: Option<Assistant>,
    /// What was wrong with the input.
    pub user_errors: Vec<UserError>,
}

/// Assistant mutations.
#[derive(Default)]
pub struct AssistantMutation;

impl AssistantMutation {
    /// Changes assistant `id` (fields and/or active state) with `project.update` in its project.
    async fn change(
        ctx: &Context<'_>,
        id: &ID,
        fields: AssistantFields,
        active: Option<bool>,
    ) -> Result<AssistantPayload> {
        let action = match active {
            Some(false) => Action::AssistantDeactivate,
            Some(true) => Action::AssistantActivate,
            None => Action::AssistantUpdate,
        };
        let (assistant, user_errors) = write(ctx, action, async |tx| {
            let assistant = tx
                .granted(input_id(id, "Assistant", "id")?, Permission::ProjectUpdate)
                .await?;
            assistants::update(tx, &assistant, fields, active).await
        })
        .await?;
        Ok(AssistantPayload {
            assistant: assistant.map(Assistant),
            user_errors,
        })
    }
}

#[Object]
impl AssistantMutation {
    /// Creates an assistant in a project.
    async fn create_assistant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: CreateAssistantInput,
    ) -> Result<AssistantPayload> {
        let (assistant, user_errors) = write(ctx, Action::AssistantCreate, async |tx| {
            let project_id = input_id(&input.project_id, "Project", "projectId")?;
            let grant = tx.grant(Place::Project(project_id), Permission::ProjectUpdate).await?;
            let fields = AssistantFields {
                name: Some(input.name),
                description: input.description,
                instructions: input.instructions,
                provider: Some(input.provider),
                model: Some(input.model),
                temperature: Some(input.temperature),
                tools: input.tools,
                datasource_ids: ids(input.datasource_ids.as_deref())?,
            };
            assistants::create(tx, &grant, fields).await
        })
        .await?;
        Ok(AssistantPayload {
            assistant: assistant.map(Assistant),
            user_errors,
        })
    }

    /// Changes an assistant's name, instructions, model or tools.
    async fn update_assistant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: UpdateAssistantInput,
    ) -> Result<AssistantPayload> {
        let fields = AssistantFields {
            name: input.name,
            description: input.description,
            instructions: input.instructions,
            provider: input.provider,
            model: input.model,
            temperature: change(input.temperature),
            tools: input.tools,
            datasource_ids: ids(input.datasource_ids.as_deref()).map_err(|e| ctx.error(e))?,
        };
        Self::change(ctx, &input.id, fields, None).await
    }

    /// Deactivates an assistant: new chats cannot pick it; existing chats keep it.
    async fn deactivate_assistant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AssistantStateInput,
    ) -> Result<AssistantPayload> {
        Self::change(ctx, &input.id, AssistantFields::default(), Some(false)).await
    }

    /// Activates a deactivated assistant again.
    async fn activate_assistant(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "What to do; see the input type.")] input: AssistantStateInput,
    ) -> Result<AssistantPayload> {
        Self::change(ctx, &input.id, AssistantFields::default(), Some(true)).await
    }
}
