//! A normalized [`AuditRecord`] read without copying it: the members the governance rules
//! and the coverage report read, borrowed from the stored payload's bytes.
//!
//! `vigil ledger coverage` reads every recorded directory change of a ledger; building an
//! owned record for each (a dozen or more strings apiece) was most of its parsing. A view
//! accepts exactly the payloads [`AuditRecord`] accepts (every member it does not read is
//! still checked to be text, or null where the record allows it), so reading a change
//! through a view or through the record gives the same verdicts.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, Visitor};

use super::{AppIdentity, AuditRecord, Initiator, ModifiedProperty, TargetResource, UserIdentity};

/// A member that is only checked to be text (what a `String` member of [`AuditRecord`]
/// requires), without copying it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Text;

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Text, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Text, E> {
                Ok(Text)
            }
        }
        d.deserialize_str(V)
    }
}

/// [`AuditRecord`], borrowed. Its defaults are the record's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecordView<'a> {
    /// The `source` member a directory change stored on a ledger carries beside the record
    /// (`None` for a record itself).
    #[serde(borrow)]
    pub source: Option<Cow<'a, str>>,
    #[serde(rename = "id")]
    _id: Text,
    /// As [`AuditRecord::activity_date_time`].
    #[serde(borrow)]
    pub activity_date_time: Cow<'a, str>,
    /// As [`AuditRecord::activity`].
    #[serde(borrow)]
    pub activity: Cow<'a, str>,
    /// As [`AuditRecord::category`].
    #[serde(borrow)]
    pub category: Option<Cow<'a, str>>,
    /// As [`AuditRecord::result`].
    #[serde(borrow)]
    pub result: Option<Cow<'a, str>>,
    #[serde(rename = "resultReason")]
    _result_reason: Option<Text>,
    #[serde(rename = "operationType")]
    _operation_type: Option<Text>,
    #[serde(rename = "loggedByService")]
    _logged_by_service: Option<Text>,
    /// As [`AuditRecord::correlation_id`].
    #[serde(borrow)]
    pub correlation_id: Option<Cow<'a, str>>,
    #[serde(rename = "tenantId")]
    _tenant_id: Option<Text>,
    /// As [`AuditRecord::initiated_by`].
    #[serde(borrow, default)]
    pub initiated_by: InitiatorView<'a>,
    /// As [`AuditRecord::target_resources`].
    #[serde(borrow, default)]
    pub target_resources: Vec<TargetResourceView<'a>>,
    #[serde(rename = "additionalDetails", default)]
    _additional_details: Vec<DetailView>,
    #[serde(rename = "sourceVariant", default)]
    _source_variant: Text,
}

/// [`Initiator`], borrowed.
#[derive(Debug, Default, Deserialize)]
pub struct InitiatorView<'a> {
    /// As [`Initiator::user`].
    #[serde(borrow)]
    pub user: Option<UserView<'a>>,
    /// As [`Initiator::app`].
    #[serde(borrow)]
    pub app: Option<AppView<'a>>,
}

/// [`UserIdentity`], borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserView<'a> {
    /// As [`UserIdentity::id`].
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    /// As [`UserIdentity::user_principal_name`].
    #[serde(borrow)]
    pub user_principal_name: Option<Cow<'a, str>>,
    #[serde(rename = "displayName")]
    _display_name: Option<Text>,
    #[serde(rename = "ipAddress")]
    _ip_address: Option<Text>,
}

/// [`AppIdentity`], borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppView<'a> {
    /// As [`AppIdentity::app_id`].
    #[serde(borrow)]
    pub app_id: Option<Cow<'a, str>>,
    /// As [`AppIdentity::display_name`].
    #[serde(borrow)]
    pub display_name: Option<Cow<'a, str>>,
    #[serde(rename = "servicePrincipalId")]
    _service_principal_id: Option<Text>,
    #[serde(rename = "servicePrincipalName")]
    _service_principal_name: Option<Text>,
}

/// [`TargetResource`], borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetResourceView<'a> {
    /// As [`TargetResource::id`].
    #[serde(borrow)]
    pub id: Option<Cow<'a, str>>,
    /// As [`TargetResource::display_name`].
    #[serde(borrow)]
    pub display_name: Option<Cow<'a, str>>,
    /// As [`TargetResource::kind`].
    #[serde(rename = "type", borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(rename = "userPrincipalName")]
    _user_principal_name: Option<Text>,
    #[serde(rename = "groupType")]
    _group_type: Option<Text>,
    /// As [`TargetResource::modified_properties`].
    #[serde(borrow, default)]
    pub modified_properties: Vec<ModifiedPropertyView<'a>>,
}

/// [`ModifiedProperty`], borrowed.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedPropertyView<'a> {
    /// As [`ModifiedProperty::display_name`].
    #[serde(borrow, default)]
    pub display_name: Cow<'a, str>,
    /// As [`ModifiedProperty::old_value`].
    #[serde(borrow)]
    pub old_value: Option<Cow<'a, str>>,
    /// As [`ModifiedProperty::new_value`].
    #[serde(borrow)]
    pub new_value: Option<Cow<'a, str>>,
}

/// A [`super::Detail`], checked only.
#[derive(Debug, Deserialize)]
struct DetailView {
    #[serde(rename = "key")]
    _key: Text,
    #[serde(rename = "value")]
    _value: Text,
}

fn borrowed(s: &Option<String>) -> Option<Cow<'_, str>> {
    s.as_deref().map(Cow::Borrowed)
}

fn checked(s: &Option<String>) -> Option<Text> {
    s.as_ref().map(|_| Text)
}

impl AuditRecord {
    /// The record as a view (what the governance rules read).
    pub fn view(&self) -> AuditRecordView<'_> {
        AuditRecordView {
            source: None,
            _id: Text,
            activity_date_time: Cow::Borrowed(&self.activity_date_time),
            activity: Cow::Borrowed(&self.activity),
            category: borrowed(&self.category),
            result: borrowed(&self.result),
            _result_reason: checked(&self.result_reason),
            _operation_type: checked(&self.operation_type),
            _logged_by_service: checked(&self.logged_by_service),
            correlation_id: borrowed(&self.correlation_id),
            _tenant_id: checked(&self.tenant_id),
            initiated_by: self.initiated_by.view(),
            target_resources: self
                .target_resources
                .iter()
                .map(TargetResource::view)
                .collect(),
            _additional_details: vec![],
            _source_variant: Text,
        }
    }
}

impl Initiator {
    /// The initiator as a view.
    pub fn view(&self) -> InitiatorView<'_> {
        InitiatorView {
            user: self.user.as_ref().map(|u: &UserIdentity| UserView {
                id: borrowed(&u.id),
                user_principal_name: borrowed(&u.user_principal_name),
                _display_name: checked(&u.display_name),
                _ip_address: checked(&u.ip_address),
            }),
            app: self.app.as_ref().map(|a: &AppIdentity| AppView {
                app_id: borrowed(&a.app_id),
                display_name: borrowed(&a.display_name),
                _service_principal_id: checked(&a.service_principal_id),
                _service_principal_name: checked(&a.service_principal_name),
            }),
        }
    }
}

impl TargetResource {
    fn view(&self) -> TargetResourceView<'_> {
        TargetResourceView {
            id: borrowed(&self.id),
            display_name: borrowed(&self.display_name),
            kind: borrowed(&self.kind),
            _user_principal_name: checked(&self.user_principal_name),
            _group_type: checked(&self.group_type),
            modified_properties: self
                .modified_properties
                .iter()
                .map(|p: &ModifiedProperty| ModifiedPropertyView {
                    display_name: Cow::Borrowed(&p.display_name),
                    old_value: borrowed(&p.old_value),
                    new_value: borrowed(&p.new_value),
                })
                .collect(),
        }
    }
}
