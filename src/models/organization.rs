//! Organizations (tenants) and their members.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::{find_by_id, insert_returning, update_returning, user::UserRow};
use crate::db::{
    enums::{OrganizationPlan, OrganizationStatus},
    schema::{organization_members, organizations},
};

/// An organization: the tenant everything else belongs to.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub struct OrganizationRow {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: OrganizationPlan,
    pub status: OrganizationStatus,
    pub is_personal: bool,
    pub stripe_customer_id: Option<String>,
    pub metadata: Value,
    pub deleted_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new organization.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organizations)]
pub struct NewOrganization {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub plan: Option<OrganizationPlan>,
    pub is_personal: bool,
    pub metadata: Option<Value>,
}

/// A change to an organization.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = organizations)]
pub struct OrganizationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub plan: Option<OrganizationPlan>,
    pub status: Option<OrganizationStatus>,
    pub stripe_customer_id: Option<Option<String>>,
    pub metadata: Option<Value>,
    pub deleted_at: Option<Option<DateTime<Utc>>>,
}

find_by_id!(OrganizationRow, organizations);
insert_returning!(NewOrganization => OrganizationRow, organizations);
update_returning!(OrganizationPatch => OrganizationRow, organizations);

impl OrganizationRow {
    /// Finds a live organization by slug.
    pub async fn find_by_slug(conn: &mut AsyncPgConnection, slug: &str) -> QueryResult<Option<Self>> {
        organizations::table
            .filter(organizations::slug.eq(slug))
            .filter(organizations::deleted_at.is_null())
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }
}

/// A user's membership in an organization, with their organization-scope role.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Identifiable, Associations)]
#[diesel(table_name = organization_members, check_for_backend(diesel::pg::Pg))]
#[diesel(primary_key(organization_id, user_id))]
#[diesel(belongs_to(OrganizationRow, foreign_key = organization_id))]
#[diesel(belongs_to(UserRow, foreign_key = user_id))]
pub struct OrganizationMemberRow {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub invited_by: Option<Uuid>,
    pub joined_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A new organization membership.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = organization_members)]
pub struct NewOrganizationMember {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    pub role_id: Uuid,
    pub invited_by: Option<Uuid>,
}

/// A change to a membership (its role).
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = organization_members)]
pub struct OrganizationMemberPatch {
    pub role_id: Option<Uuid>,
}

insert_returning!(NewOrganizationMember => OrganizationMemberRow, organization_members);

impl OrganizationMemberRow {
    /// The memberships of many organizations (one query).
    pub async fn for_organizations(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> QueryResult<Vec<Self>> {
        organization_members::table
            .filter(organization_members::organization_id.eq_any(ids))
            .order((organization_members::joined_at, organization_members::user_id))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// The memberships of one user.
    pub async fn for_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<Self>> {
        organization_members::table
            .filter(organization_members::user_id.eq(user_id))
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
