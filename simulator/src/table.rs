//! The normalized sign-in table in Parquet: one column per [`SignIn`] field, named and typed as
//! in `schemas/signin.schema.json`, written with polars and read with polars and the `parquet`
//! crate's page reader. This is the only module that knows polars; everything it hands out is
//! plain Rust data.
//!
//! # File layout
//!
//! | field kind | Parquet column |
//! |---|---|
//! | `id`, `correlationId`, `createdDateTime` (RFC 3339 UTC text, exactly as in the schema) | UTF-8 string |
//! | every other string field (`kind` in its camelCase spelling) | dictionary-encoded UTF-8 string (polars Categorical, one category set per column) |
//! | `networkNames`, `authenticationMethods`, `authenticationContexts` | list of dictionary-encoded UTF-8 strings |
//! | booleans | boolean |
//! | `errorCode` | int64 |
//! | `appliedPolicies` | dictionary-encoded UTF-8 string holding the JSON array of the schema (`[{"id":…,"displayName":…,"result":…,"enforcedGrantControls":[…],"enforcedSessionControls":[…]}]`) |
//!
//! Null means "the log does not say", as in the schema. Row groups hold [`ROW_GROUP`] rows,
//! pages are zstd-compressed (a table staged for one replay and then deleted may leave them
//! uncompressed: [`TableWriter::create_with`]). Every string column other than the three
//! unique ones is dictionary-encoded: sign-ins repeat users, apps, devices and policy
//! outcomes, so readers get small integer codes per row and each distinct value once.
//!
//! Reading hands out string columns as codes ([`Batch::codes`]) of one dictionary per column
//! shared by every file and batch of the process. String columns are read page by page with
//! the `parquet` crate ([`dict`]): each column chunk's dictionary page is looked up once and
//! its rows' indices become codes, and unique texts (`id`, `correlationId`,
//! `createdDateTime`) stay in their decompressed pages. Columns [`dict`] does not take (other
//! codecs or encodings, non-string types) and all other columns are read with polars; string
//! columns there are read as plain strings (the Arrow schema polars stores in the file, which
//! would make them polars categoricals converted row by row, is ignored) and each distinct
//! view is looked up once per batch.
//!
//! A table written by vigil never holds a sign-in id twice (the writer keeps the first, like
//! [`crate::signin::read_signins`]) and says so in the file's key-value metadata
//! (`vigil.signin.uniqueIds = true`), so a replay of one such file need not check ids again.
//! Files written by other tools are read too: any column may be missing (read as null) and
//! string columns may be plain strings.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::hash::BuildHasherDefault;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use polars::prelude as pl;
use polars::prelude::{
    CategoricalMapping, Categories, ChunkFullNull as _, ListBuilderTrait, SerReader,
};
use polars_parquet::write as pq;
use rayon::prelude::*;

mod dict;

use crate::columnar::Fx;
use crate::error::InputError;
use crate::model::{Degrees, LoggedPolicy, SignIn, SignInKind};
use crate::signin::SeenIds;

/// Rows per row group (and per write batch).
pub const ROW_GROUP: usize = 262_144;

/// File metadata key: `1` for the layout described above.
const META_SCHEMA: &str = "vigil.signin.schema";
/// File metadata key: `true` when no sign-in id occurs twice.
const META_UNIQUE: &str = "vigil.signin.uniqueIds";
/// File metadata key of the Arrow schema Arrow writers (polars among them) store.
const ARROW_SCHEMA: &str = "ARROW:schema";

/// How a column is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Plain UTF-8 (unique per row).
    Text,
    /// Dictionary-encoded UTF-8.
    Category,
    /// List of dictionary-encoded UTF-8.
    CategoryList,
    /// Boolean.
    Flag,
    /// 64-bit integer.
    Int,
    /// 64-bit float.
    Float,
}

macro_rules! columns {
    ($($variant:ident $name:literal $kind:ident,)*) => {
        /// One column of the table, in schema order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Col { $(
            #[doc = concat!("`", $name, "`.")]
            $variant,
        )* }

        impl Col {
            /// Every column, in schema order.
            pub const ALL: &'static [Col] = &[$(Col::$variant,)*];
            /// The column (and schema member) name.
            pub fn name(self) -> &'static str {
                match self { $(Col::$variant => $name,)* }
            }
            /// How the column is stored.
            pub fn kind(self) -> Kind {
                match self { $(Col::$variant => Kind::$kind,)* }
            }
        }
    };
}

columns! {
    Id "id" Text,
    CreatedDateTime "createdDateTime" Text,
    CorrelationId "correlationId" Text,
    SignInKind "kind" Category,
    UserId "userId" Category,
    UserPrincipalName "userPrincipalName" Category,
    UserType "userType" Category,
    HomeTenantId "homeTenantId" Category,
    ResourceTenantId "resourceTenantId" Category,
    AppOwnerTenantId "appOwnerTenantId" Category,
    CrossTenantAccessType "crossTenantAccessType" Category,
    ServicePrincipalId "servicePrincipalId" Category,
    ServicePrincipalName "servicePrincipalName" Category,
    AppId "appId" Category,
    AppDisplayName "appDisplayName" Category,
    ResourceId "resourceId" Category,
    ResourceDisplayName "resourceDisplayName" Category,
    IpAddress "ipAddress" Category,
    Country "country" Category,
    City "city" Category,
    State "state" Category,
    Latitude "latitude" Float,
    Longitude "longitude" Float,
    NetworkNames "networkNames" CategoryList,
    TrustedNetwork "trustedNetwork" Flag,
    ClientAppUsed "clientAppUsed" Category,
    OperatingSystem "operatingSystem" Category,
    Browser "browser" Category,
    DeviceId "deviceId" Category,
    DeviceDisplayName "deviceDisplayName" Category,
    DeviceCompliant "deviceCompliant" Flag,
    DeviceManaged "deviceManaged" Flag,
    DeviceTrustType "deviceTrustType" Category,
    AuthenticationProtocol "authenticationProtocol" Category,
    OriginalTransferMethod "originalTransferMethod" Category,
    SignInRiskLevel "signInRiskLevel" Category,
    RiskLevelAggregated "riskLevelAggregated" Category,
    RiskState "riskState" Category,
    RiskEventTypes "riskEventTypes" CategoryList,
    UserRiskLevel "userRiskLevel" Category,
    ServicePrincipalRiskLevel "servicePrincipalRiskLevel" Category,
    AuthenticationRequirement "authenticationRequirement" Category,
    MfaSatisfied "mfaSatisfied" Flag,
    AuthenticationMethods "authenticationMethods" CategoryList,
    ErrorCode "errorCode" Int,
    FailureReason "failureReason" Category,
    ConditionalAccessStatus "conditionalAccessStatus" Category,
    AppliedPolicies "appliedPolicies" Category,
    IsInteractive "isInteractive" Flag,
    ClientCredentialType "clientCredentialType" Category,
    PrimaryAuthFresh "primaryAuthFresh" Flag,
    AuthenticationContexts "authenticationContexts" CategoryList,
    UserAgent "userAgent" Category,
    SourceVariant "sourceVariant" Category,
}

fn kind_name(k: SignInKind) -> &'static str {
    match k {
        SignInKind::InteractiveUser => "interactiveUser",
        SignInKind::NonInteractiveUser => "nonInteractiveUser",
        SignInKind::ServicePrincipal => "servicePrincipal",
        SignInKind::ManagedIdentity => "managedIdentity",
    }
}

/// Parses the `kind` column's spelling.
pub fn parse_kind(s: &str) -> Option<SignInKind> {
    Some(match s {
        "interactiveUser" => SignInKind::InteractiveUser,
        "nonInteractiveUser" => SignInKind::NonInteractiveUser,
        "servicePrincipal" => SignInKind::ServicePrincipal,
        "managedIdentity" => SignInKind::ManagedIdentity,
        _ => return None,
    })
}

/// A string field of a sign-in (Text and Category columns other than `kind`/`appliedPolicies`).
fn text_field(s: &SignIn, c: Col) -> Option<&str> {
    let v = match c {
        Col::Id => return Some(&s.id),
        Col::CreatedDateTime => return Some(&s.created_date_time),
        Col::CorrelationId => &s.correlation_id,
        Col::UserId => &s.user_id,
        Col::UserPrincipalName => &s.user_principal_name,
        Col::UserType => &s.user_type,
        Col::HomeTenantId => &s.home_tenant_id,
        Col::ResourceTenantId => &s.resource_tenant_id,
        Col::AppOwnerTenantId => &s.app_owner_tenant_id,
        Col::ClientCredentialType => &s.client_credential_type,
        Col::CrossTenantAccessType => &s.cross_tenant_access_type,
        Col::ServicePrincipalId => &s.service_principal_id,
        Col::ServicePrincipalName => &s.service_principal_name,
        Col::AppId => &s.app_id,
        Col::AppDisplayName => &s.app_display_name,
        Col::ResourceId => &s.resource_id,
        Col::ResourceDisplayName => &s.resource_display_name,
        Col::IpAddress => &s.ip_address,
        Col::Country => &s.country,
        Col::City => &s.city,
        Col::State => &s.state,
        Col::ClientAppUsed => &s.client_app_used,
        Col::OperatingSystem => &s.operating_system,
        Col::Browser => &s.browser,
        Col::DeviceId => &s.device_id,
        Col::DeviceDisplayName => &s.device_display_name,
        Col::DeviceTrustType => &s.device_trust_type,
        Col::AuthenticationProtocol => &s.authentication_protocol,
        Col::OriginalTransferMethod => &s.original_transfer_method,
        Col::SignInRiskLevel => &s.sign_in_risk_level,
        Col::RiskLevelAggregated => &s.risk_level_aggregated,
        Col::RiskState => &s.risk_state,
        Col::UserRiskLevel => &s.user_risk_level,
        Col::ServicePrincipalRiskLevel => &s.service_principal_risk_level,
        Col::AuthenticationRequirement => &s.authentication_requirement,
        Col::FailureReason => &s.failure_reason,
        Col::ConditionalAccessStatus => &s.conditional_access_status,
        Col::UserAgent => &s.user_agent,
        Col::SourceVariant => &s.source_variant,
        Col::SignInKind => return s.kind.map(kind_name),
        _ => return None,
    };
    v.as_deref()
}

/// Sets a string field (Text and Category columns; `kind` is parsed).
pub fn set_text(s: &mut SignIn, c: Col, v: Option<String>) {
    let slot = match c {
        Col::Id => {
            s.id = v.unwrap_or_default();
            return;
        }
        Col::CreatedDateTime => {
            s.created_date_time = v.unwrap_or_default();
            return;
        }
        Col::SignInKind => {
            s.kind = v.as_deref().and_then(parse_kind);
            return;
        }
        Col::CorrelationId => &mut s.correlation_id,
        Col::UserId => &mut s.user_id,
        Col::UserPrincipalName => &mut s.user_principal_name,
        Col::UserType => &mut s.user_type,
        Col::HomeTenantId => &mut s.home_tenant_id,
        Col::ResourceTenantId => &mut s.resource_tenant_id,
        Col::AppOwnerTenantId => &mut s.app_owner_tenant_id,
        Col::ClientCredentialType => &mut s.client_credential_type,
        Col::CrossTenantAccessType => &mut s.cross_tenant_access_type,
        Col::ServicePrincipalId => &mut s.service_principal_id,
        Col::ServicePrincipalName => &mut s.service_principal_name,
        Col::AppId => &mut s.app_id,
        Col::AppDisplayName => &mut s.app_display_name,
        Col::ResourceId => &mut s.resource_id,
        Col::ResourceDisplayName => &mut s.resource_display_name,
        Col::IpAddress => &mut s.ip_address,
        Col::Country => &mut s.country,
        Col::City => &mut s.city,
        Col::State => &mut s.state,
        Col::ClientAppUsed => &mut s.client_app_used,
        Col::OperatingSystem => &mut s.operating_system,
        Col::Browser => &mut s.browser,
        Col::DeviceId => &mut s.device_id,
        Col::DeviceDisplayName => &mut s.device_display_name,
        Col::DeviceTrustType => &mut s.device_trust_type,
        Col::AuthenticationProtocol => &mut s.authentication_protocol,
        Col::OriginalTransferMethod => &mut s.original_transfer_method,
        Col::SignInRiskLevel => &mut s.sign_in_risk_level,
        Col::RiskLevelAggregated => &mut s.risk_level_aggregated,
        Col::RiskState => &mut s.risk_state,
        Col::UserRiskLevel => &mut s.user_risk_level,
        Col::ServicePrincipalRiskLevel => &mut s.service_principal_risk_level,
        Col::AuthenticationRequirement => &mut s.authentication_requirement,
        Col::FailureReason => &mut s.failure_reason,
        Col::ConditionalAccessStatus => &mut s.conditional_access_status,
        Col::UserAgent => &mut s.user_agent,
        Col::SourceVariant => &mut s.source_variant,
        _ => return,
    };
    *slot = v;
}

/// Sets a list field.
pub fn set_list(s: &mut SignIn, c: Col, v: Option<Vec<String>>) {
    match c {
        Col::NetworkNames => s.network_names = v,
        Col::AuthenticationMethods => s.authentication_methods = v,
        Col::AuthenticationContexts => s.authentication_contexts = v,
        Col::RiskEventTypes => s.risk_event_types = v,
        _ => {}
    }
}

fn list_field(s: &SignIn, c: Col) -> Option<&[String]> {
    match c {
        Col::NetworkNames => s.network_names.as_deref(),
        Col::AuthenticationMethods => s.authentication_methods.as_deref(),
        Col::AuthenticationContexts => s.authentication_contexts.as_deref(),
        Col::RiskEventTypes => s.risk_event_types.as_deref(),
        _ => None,
    }
}

fn flag_field(s: &SignIn, c: Col) -> Option<bool> {
    match c {
        Col::TrustedNetwork => s.trusted_network,
        Col::DeviceCompliant => s.device_compliant,
        Col::DeviceManaged => s.device_managed,
        Col::MfaSatisfied => s.mfa_satisfied,
        Col::IsInteractive => s.is_interactive,
        Col::PrimaryAuthFresh => s.primary_auth_fresh,
        _ => None,
    }
}

/// Sets a boolean field.
pub fn set_flag(s: &mut SignIn, c: Col, v: Option<bool>) {
    match c {
        Col::TrustedNetwork => s.trusted_network = v,
        Col::DeviceCompliant => s.device_compliant = v,
        Col::DeviceManaged => s.device_managed = v,
        Col::MfaSatisfied => s.mfa_satisfied = v,
        Col::IsInteractive => s.is_interactive = v,
        Col::PrimaryAuthFresh => s.primary_auth_fresh = v,
        _ => {}
    }
}

fn float_field(s: &SignIn, c: Col) -> Option<f64> {
    match c {
        Col::Latitude => s.latitude.map(|d| d.0),
        Col::Longitude => s.longitude.map(|d| d.0),
        _ => None,
    }
}

/// Sets a float field (non-finite values are dropped: the schema has none).
pub fn set_float(s: &mut SignIn, c: Col, v: Option<f64>) {
    let v = v.filter(|x| x.is_finite()).map(Degrees);
    match c {
        Col::Latitude => s.latitude = v,
        Col::Longitude => s.longitude = v,
        _ => {}
    }
}

/// The JSON text of `appliedPolicies` (the schema's array), or None.
pub fn applied_json(s: &SignIn) -> Option<String> {
    s.applied_policies
        .as_ref()
        .map(|v| serde_json::to_string(v).unwrap_or_else(|_| "[]".into()))
}

/// Parses the JSON text of `appliedPolicies`.
pub fn parse_applied(text: &str) -> Result<Vec<LoggedPolicy>, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

/// The category set of one column (shared by every file of this process, so codes agree).
fn categories(c: Col) -> Arc<Categories> {
    Categories::new(
        format!("vigil.signin.{}", c.name()).into(),
        "vigil".into(),
        pl::CategoricalPhysical::U32,
    )
}

/// Holds every column's category set and its mapping: polars keeps both only while someone
/// does, and codes agree between batches (and files) only while the mapping lives.
struct KeepCategories(#[allow(dead_code)] Vec<(Arc<Categories>, Arc<CategoricalMapping>)>);

impl KeepCategories {
    fn new() -> KeepCategories {
        KeepCategories(
            Col::ALL
                .iter()
                .filter(|c| matches!(c.kind(), Kind::Category | Kind::CategoryList))
                .map(|c| {
                    let cats = categories(*c);
                    let mapping = cats.mapping();
                    (cats, mapping)
                })
                .collect(),
        )
    }
}

fn cat_dtype(c: Col) -> pl::DataType {
    pl::DataType::from_categories(categories(c))
}

fn col_dtype(c: Col) -> pl::DataType {
    match c.kind() {
        Kind::Text => pl::DataType::String,
        Kind::Category => cat_dtype(c),
        Kind::CategoryList => pl::DataType::List(Box::new(cat_dtype(c))),
        Kind::Flag => pl::DataType::Boolean,
        Kind::Int => pl::DataType::Int64,
        Kind::Float => pl::DataType::Float64,
    }
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

enum Builder {
    Text(pl::StringChunkedBuilder),
    Category {
        codes: Vec<u32>,
        valid: Vec<bool>,
        mapping: Arc<CategoricalMapping>,
    },
    List(pl::ListStringChunkedBuilder),
    Flag(Vec<Option<bool>>),
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
}

impl Builder {
    fn new(c: Col) -> Builder {
        let name = c.name().into();
        match c.kind() {
            Kind::Text => Builder::Text(pl::StringChunkedBuilder::new(name, ROW_GROUP)),
            Kind::Category => Builder::Category {
                codes: Vec::with_capacity(ROW_GROUP),
                valid: Vec::with_capacity(ROW_GROUP),
                mapping: categories(c).mapping(),
            },
            Kind::CategoryList => Builder::List(pl::ListStringChunkedBuilder::new(
                name, ROW_GROUP, ROW_GROUP,
            )),
            Kind::Flag => Builder::Flag(Vec::with_capacity(ROW_GROUP)),
            Kind::Int => Builder::Int(Vec::with_capacity(ROW_GROUP)),
            Kind::Float => Builder::Float(Vec::with_capacity(ROW_GROUP)),
        }
    }

    fn push(
        &mut self,
        c: Col,
        s: &SignIn,
        applied: &mut AppliedCodes,
        given: Option<Option<&str>>,
    ) -> pl::PolarsResult<()> {
        match self {
            Builder::Text(b) => b.append_option(text_field(s, c)),
            Builder::Category {
                codes,
                valid,
                mapping,
            } => {
                let v = if c == Col::AppliedPolicies {
                    match (given, &s.applied_policies) {
                        (Some(text), _) => text,
                        (None, Some(list)) => {
                            let code = applied.code(list, mapping)?;
                            codes.push(code);
                            valid.push(true);
                            return Ok(());
                        }
                        (None, None) => None,
                    }
                } else {
                    text_field(s, c)
                };
                match v {
                    Some(v) => {
                        codes.push(mapping.insert_cat(v)?);
                        valid.push(true);
                    }
                    None => {
                        codes.push(0);
                        valid.push(false);
                    }
                }
            }
            Builder::List(b) => match list_field(s, c) {
                Some(items) => b.append_values_iter(items.iter().map(String::as_str)),
                None => b.append_null(),
            },
            Builder::Flag(v) => v.push(flag_field(s, c)),
            Builder::Int(v) => v.push(if c == Col::ErrorCode {
                s.error_code
            } else {
                None
            }),
            Builder::Float(v) => v.push(float_field(s, c)),
        }
        Ok(())
    }

    fn finish(&mut self, c: Col) -> pl::PolarsResult<pl::Column> {
        let name: pl::PlSmallStr = c.name().into();
        let series = match self {
            Builder::Text(b) => {
                let done = std::mem::replace(b, pl::StringChunkedBuilder::new(name, ROW_GROUP));
                pl::IntoSeries::into_series(done.finish())
            }
            Builder::Category { codes, valid, .. } => {
                let ids: pl::UInt32Chunked = codes
                    .drain(..)
                    .zip(valid.drain(..))
                    .map(|(code, ok)| ok.then_some(code))
                    .collect();
                let ids = ids.with_name(name);
                pl::IntoSeries::into_series(pl::Categorical32Chunked::from_cats_and_dtype(
                    ids,
                    cat_dtype(c),
                ))
            }
            Builder::List(b) => {
                let list = b.finish();
                *b = pl::ListStringChunkedBuilder::new(name, ROW_GROUP, ROW_GROUP);
                pl::IntoSeries::into_series(list).cast(&col_dtype(c))?
            }
            Builder::Flag(v) => {
                let ca: pl::BooleanChunked = v.drain(..).collect();
                pl::IntoSeries::into_series(ca.with_name(name))
            }
            Builder::Int(v) => {
                let ca: pl::Int64Chunked = v.drain(..).collect();
                pl::IntoSeries::into_series(ca.with_name(name))
            }
            Builder::Float(v) => {
                let ca: pl::Float64Chunked = v.drain(..).collect();
                pl::IntoSeries::into_series(ca.with_name(name))
            }
        };
        Ok(series.into())
    }
}

/// Most entries [`AppliedCodes`] remembers; past that it starts over, so its memory stays
/// bounded whatever the input.
const APPLIED_CODES: usize = 4096;

/// A policy list and its code.
type ListCode = (Vec<LoggedPolicy>, u32);

/// The `appliedPolicies` code of each policy list met lately. Sign-ins repeat a few outcome
/// lists (the same policies for the same users and apps), and a list is about 2 KB of JSON, so
/// a list met before is looked up as it is rather than serialized and its text looked up in
/// the column's categories. A list and its JSON text determine each other, so the code is the
/// one the text gets.
///
/// Lists are found by a hash of their policies' ids and results only (what tells outcome lists
/// apart; hashing every name and control of a 14-policy list cost more than the lookup), and
/// compared whole.
#[derive(Default)]
struct AppliedCodes {
    codes: HashMap<u64, Vec<ListCode>, BuildHasherDefault<Fx>>,
    /// Lists in `codes`.
    len: usize,
    /// The JSON text of a list met for the first time.
    text: Vec<u8>,
}

impl AppliedCodes {
    fn fingerprint(list: &[LoggedPolicy]) -> u64 {
        use std::hash::Hasher;
        let mut h = Fx::default();
        h.write_usize(list.len());
        for p in list {
            h.write(p.id.as_bytes());
            h.write(p.result.as_bytes());
        }
        h.finish()
    }

    fn code(
        &mut self,
        list: &[LoggedPolicy],
        mapping: &CategoricalMapping,
    ) -> pl::PolarsResult<u32> {
        let fingerprint = Self::fingerprint(list);
        if let Some(found) = self.codes.get(&fingerprint)
            && let Some((_, code)) = found.iter().find(|(l, _)| l.as_slice() == list)
        {
            return Ok(*code);
        }
        // Serialized into bytes, checked as UTF-8 once: serde_json writes many small pieces,
        // and a check per piece costs more than the text.
        self.text.clear();
        serde_json::to_writer(&mut self.text, list)
            .map_err(|e| pl::PolarsError::ComputeError(e.to_string().into()))?;
        let text = std::str::from_utf8(&self.text)
            .map_err(|e| pl::PolarsError::ComputeError(e.to_string().into()))?;
        let code = mapping.insert_cat(text)?;
        if self.len == APPLIED_CODES {
            self.codes.clear();
            self.len = 0;
        }
        self.codes
            .entry(fingerprint)
            .or_default()
            .push((list.to_vec(), code));
        self.len += 1;
        Ok(code)
    }
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// What failed.
    pub reason: String,
}

/// Streams sign-ins into a normalized Parquet file, [`ROW_GROUP`] rows at a time.
pub struct TableWriter {
    path: PathBuf,
    writer: pl::BatchedWriter<File>,
    /// Each column's Parquet type, encodings and the write options, for [`encode_row_group`].
    types: Vec<pq::ParquetType>,
    encodings: Vec<Vec<pq::Encoding>>,
    options: pq::WriteOptions,
    builders: Vec<Builder>,
    rows: usize,
    seen: SeenIds,
    written: u64,
    duplicates: u64,
    applied: AppliedCodes,
    _categories: KeepCategories,
}

impl TableWriter {
    /// Creates (or truncates) the file.
    pub fn create(path: &Path) -> Result<TableWriter, WriteError> {
        TableWriter::create_with(path, true)
    }

    /// [`TableWriter::create`] with the pages zstd-compressed (`compressed`) or stored as they
    /// are: a table read once and then deleted (`vigil simulate` stages exports as one) is
    /// written and read faster uncompressed. Readers tell from the file which it is.
    pub fn create_with(path: &Path, compressed: bool) -> Result<TableWriter, WriteError> {
        let err = |reason: String| WriteError {
            path: path.to_path_buf(),
            reason,
        };
        let keep = KeepCategories::new();
        let file = File::create(path).map_err(|e| err(e.to_string()))?;
        let schema: pl::Schema = Col::ALL
            .iter()
            .map(|c| pl::Field::new(c.name().into(), col_dtype(*c)))
            .collect();
        let meta = pl::KeyValueMetadata::from_static(vec![
            (META_SCHEMA.to_string(), "1".to_string()),
            (META_UNIQUE.to_string(), "true".to_string()),
        ]);
        let compression = if compressed {
            pl::ParquetCompression::Zstd(None)
        } else {
            pl::ParquetCompression::Uncompressed
        };
        let mut writer = pl::ParquetWriter::new(file)
            .with_compression(compression)
            .with_row_group_size(Some(ROW_GROUP))
            .with_key_value_metadata(Some(meta))
            .batched(&schema)
            .map_err(|e| err(e.to_string()))?;
        // What the writer itself encodes row groups with (ParquetWriter's defaults).
        let types = writer.parquet_schema().fields().to_vec();
        let encodings = {
            let file_writer = writer
                .get_writer()
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            polars::io::parquet::write::get_encodings(file_writer.schema())
                .iter()
                .cloned()
                .collect()
        };
        let options = pq::WriteOptions {
            statistics: pl::StatisticsOptions::default(),
            version: pq::Version::V1,
            compression: compression.into(),
            data_page_size: None,
        };
        Ok(TableWriter {
            path: path.to_path_buf(),
            writer,
            types,
            encodings,
            options,
            builders: Col::ALL.iter().map(|c| Builder::new(*c)).collect(),
            rows: 0,
            seen: SeenIds::default(),
            written: 0,
            duplicates: 0,
            applied: AppliedCodes::default(),
            _categories: keep,
        })
    }

    fn err(&self, e: impl ToString) -> WriteError {
        WriteError {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }

    /// Adds one sign-in; a sign-in whose id was written before is dropped and counted.
    pub fn push(&mut self, s: &SignIn) -> Result<(), WriteError> {
        self.push_inner(s, None)
    }

    /// [`TableWriter::push`] for a caller that already holds the `appliedPolicies` JSON text
    /// (what [`applied_json`] gives; `s.applied_policies` is not read): generators of large
    /// tables share one text between many rows instead of building and serializing a list per row.
    pub fn push_with_applied(
        &mut self,
        s: &SignIn,
        applied: Option<&str>,
    ) -> Result<(), WriteError> {
        self.push_inner(s, Some(applied))
    }

    /// [`TableWriter::push`] for a sign-in whose id the caller knows was not pushed before
    /// (sign-ins from [`crate::signin::read_signins`], which keeps the first of each id the
    /// same way): the id is not looked up again.
    pub fn push_unique(&mut self, s: &SignIn) -> Result<(), WriteError> {
        self.push_row(s, None)
    }

    fn push_inner(&mut self, s: &SignIn, given: Option<Option<&str>>) -> Result<(), WriteError> {
        if !self.seen.insert(&s.id) {
            self.duplicates += 1;
            return Ok(());
        }
        self.push_row(s, given)
    }

    fn push_row(&mut self, s: &SignIn, given: Option<Option<&str>>) -> Result<(), WriteError> {
        for (b, c) in self.builders.iter_mut().zip(Col::ALL) {
            if let Err(e) = b.push(*c, s, &mut self.applied, given) {
                return Err(WriteError {
                    path: self.path.clone(),
                    reason: e.to_string(),
                });
            }
        }
        self.rows += 1;
        self.written += 1;
        if self.rows == ROW_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), WriteError> {
        if self.rows == 0 {
            return Ok(());
        }
        // Each column is finished, encoded and compressed on its own, on every core; the pages
        // are written in column order, as the writer would have written them itself.
        let cols = self
            .builders
            .par_iter_mut()
            .zip(Col::ALL)
            .map(|(b, c)| b.finish(*c))
            .collect::<pl::PolarsResult<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        let df = pl::DataFrame::new(self.rows, cols).map_err(|e| self.err(e))?;
        #[cfg(test)]
        if POLARS_ENCODES.with(std::cell::Cell::get) {
            return self
                .writer
                .write_batch(&df)
                .map(|()| self.rows = 0)
                .map_err(|e| self.err(e));
        }
        for batch in df.iter_chunks(pl::CompatLevel::newest(), false) {
            let rows = batch.len() as u64;
            let pages =
                encode_row_group(batch.columns(), &self.types, &self.encodings, self.options)
                    .map_err(|e| self.err(e))?;
            self.writer
                .write_row_group(rows, &pages)
                .map_err(|e| self.err(e))?;
        }
        self.rows = 0;
        Ok(())
    }

    /// Writes the last rows and the footer; returns (rows written, duplicates dropped).
    pub fn finish(mut self) -> Result<(u64, u64), WriteError> {
        self.flush()?;
        self.writer.finish().map_err(|e| self.err(e))?;
        Ok((self.written, self.duplicates))
    }
}

/// The compressed pages of a row group's columns (one list per Parquet leaf column, in
/// order), each column encoded and compressed on a core of its own: what polars' batched
/// writer does lazily, on the writing thread alone, as it writes.
fn encode_row_group(
    arrays: &[pl::ArrayRef],
    types: &[pq::ParquetType],
    encodings: &[Vec<pq::Encoding>],
    options: pq::WriteOptions,
) -> pl::PolarsResult<Vec<Vec<pq::CompressedPage>>> {
    let per_column = arrays
        .par_iter()
        .zip(types)
        .zip(encodings)
        .map(|((array, ty), encoding)| {
            pq::array_to_columns(array, ty.clone(), options, encoding)?
                .into_iter()
                .map(|leaf| {
                    leaf.map(|page| {
                        pq::compress(page?, Vec::new(), options.compression)
                            .map_err(pl::PolarsError::from)
                    })
                    .collect::<pl::PolarsResult<Vec<_>>>()
                })
                .collect::<pl::PolarsResult<Vec<_>>>()
        })
        .collect::<pl::PolarsResult<Vec<_>>>()?;
    Ok(per_column.into_iter().flatten().collect())
}

/// Writes `signins` as a normalized Parquet file; returns (rows written, duplicates dropped).
pub fn write_parquet(signins: &[SignIn], path: &Path) -> Result<(u64, u64), WriteError> {
    let mut w = TableWriter::create(path)?;
    for s in signins {
        w.push(s)?;
    }
    w.finish()
}

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// Whether a file starts with the Parquet magic `PAR1`.
pub fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == b"PAR1"
}

/// Runs a polars read, turning a panic inside polars (which some corrupt files cause: found by
/// the `signin_parquet` fuzz target) into an error naming the file.
fn guarded<T>(path: &Path, f: impl FnOnce() -> T) -> Result<T, InputError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| {
        InputError::format(
            path,
            "cannot read the Parquet file: its metadata or pages are corrupt",
        )
    })
}

/// The threads that read batches: half the cores. The caller works on the previous batch
/// meanwhile, with parallel steps of its own on rayon's global pool; reading there queued
/// those steps behind whole column reads (the replay of 10M sign-ins waited 3.4 s in its
/// first step), and reading on as many threads as cores took the cores from the caller's
/// serial steps (0.3-0.6 s slower than one thread on two cores).
fn reading_pool() -> &'static rayon::ThreadPool {
    static POOL: OnceLock<rayon::ThreadPool> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .num_threads((rayon::current_num_threads() / 2).max(1))
            .thread_name(|i| format!("vigil-read-{i}"))
            .build()
            .unwrap_or_else(|_| {
                // Without threads of its own, reading takes the global pool's.
                rayon::ThreadPoolBuilder::new()
                    .num_threads(1)
                    .use_current_thread()
                    .build()
                    .expect("a one-thread pool")
            })
    })
}

/// An opened normalized sign-in Parquet file.
pub struct TableFile {
    path: PathBuf,
    /// The file's metadata without the Arrow schema polars stores in it, so that string
    /// columns are read as strings (dictionary pages become views into the dictionary: no
    /// per-row work) rather than converted to polars categoricals row by row.
    metadata: pl::FileMetadataRef,
    present: Vec<Col>,
    rows: usize,
    unique_ids: bool,
    /// The string columns read with their dictionaries kept (None: all through polars).
    dict: Option<dict::DictColumns>,
}

impl TableFile {
    /// Opens a file and checks that it is a sign-in table (it has `id` and `createdDateTime`).
    pub fn open(path: &Path) -> Result<TableFile, InputError> {
        let file = File::open(path).map_err(|e| InputError::io(path, e))?;
        let bad = |e: pl::PolarsError| {
            InputError::format(path, format!("cannot read the Parquet file: {e}"))
        };
        let mut reader = pl::ParquetReader::new(file);
        let (schema, metadata) = guarded(path, || {
            let schema = reader.schema()?;
            let metadata = reader.get_metadata()?.clone();
            Ok((schema, metadata))
        })
        .and_then(|r| r.map_err(bad))?;
        let present: Vec<Col> = Col::ALL
            .iter()
            .copied()
            .filter(|c| schema.contains(c.name()))
            .collect();
        for required in [Col::Id, Col::CreatedDateTime] {
            if !present.contains(&required) {
                return Err(InputError::format(
                    path,
                    format!(
                        "a Parquet file without a column {:?} is not a normalized sign-in table \
                         (schemas/signin.schema.json; write one with `vigil ingest`)",
                        required.name()
                    ),
                ));
            }
        }
        let kv = |key: &str| {
            metadata
                .key_value_metadata
                .iter()
                .flatten()
                .find(|kv| kv.key == key)
                .and_then(|kv| kv.value.clone())
        };
        let unique_ids = kv(META_SCHEMA).is_some() && kv(META_UNIQUE).as_deref() == Some("true");
        let mut plain = (*metadata).clone();
        if let Some(kvs) = plain.key_value_metadata.as_mut() {
            kvs.retain(|kv| kv.key != ARROW_SCHEMA);
        }
        let file = File::open(path).map_err(|e| InputError::io(path, e))?;
        let dict = dict::DictColumns::open(&file, &present);
        Ok(TableFile {
            path: path.to_path_buf(),
            rows: metadata.num_rows,
            metadata: Arc::new(plain),
            present,
            unique_ids,
            dict,
        })
    }

    /// The same file with every column read through polars (the path for string columns
    /// that [`dict`] does not take), for tests that compare the two.
    #[cfg(test)]
    fn through_polars(mut self) -> TableFile {
        self.dict = None;
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether vigil wrote the file, so that no id occurs twice in it.
    pub fn unique_ids(&self) -> bool {
        self.unique_ids
    }

    fn error(&self, e: impl std::fmt::Display) -> InputError {
        InputError::format(&self.path, format!("cannot read the Parquet file: {e}"))
    }

    /// Reads `cols` in batches of whole row groups (at least `batch_rows` rows each, except the
    /// last) and hands each batch to `f`, in file order. The next batch is read (and its string
    /// columns encoded) on another thread while `f` works on this one.
    pub fn batches<E: From<InputError>>(
        &self,
        cols: &[Col],
        batch_rows: usize,
        f: &mut dyn FnMut(&Batch) -> Result<(), E>,
    ) -> Result<(), E> {
        self.batches_with_presence(cols, &[], batch_rows, f)
    }

    /// [`TableFile::batches`], where the string columns in `presence` (among `cols`) may be
    /// read only for whether each row has a value: their codes are then 0 (the one entry of a
    /// dictionary holding the empty text) or [`NULL`]. For columns whose value nothing reads
    /// (a device id where only a registered device matters): their dictionaries are not read.
    pub fn batches_with_presence<E: From<InputError>>(
        &self,
        cols: &[Col],
        presence: &[Col],
        batch_rows: usize,
        f: &mut dyn FnMut(&Batch) -> Result<(), E>,
    ) -> Result<(), E> {
        let cols: Vec<Col> = cols
            .iter()
            .copied()
            .filter(|c| self.present.contains(c))
            .collect();
        // (first row, rows, row groups) of each batch.
        let mut ranges = Vec::new();
        let mut start = 0;
        let mut groups = self.metadata.row_groups.iter().enumerate().peekable();
        while let Some(&(first, _)) = groups.peek() {
            let mut len = 0;
            let mut end = first;
            while len < batch_rows.max(1) {
                match groups.next() {
                    Some((i, g)) => {
                        len += g.num_rows();
                        end = i + 1;
                    }
                    None => break,
                }
            }
            if len > 0 {
                ranges.push((start, len, first..end));
                start += len;
            }
        }
        std::thread::scope(|scope| {
            let (tx, rx) = std::sync::mpsc::sync_channel(1);
            let cols = &cols;
            scope.spawn(move || {
                for (start, len, groups) in ranges {
                    let loaded =
                        reading_pool().install(|| self.load(cols, presence, start, len, groups));
                    let failed = loaded.is_err();
                    if tx.send(loaded).is_err() || failed {
                        break;
                    }
                }
            });
            // Dropping the receiver (on an error) stops the reader after its current batch.
            for loaded in rx {
                f(&loaded?)?;
            }
            Ok(())
        })
    }

    /// Reads `len` rows from `start` (row groups `groups`), with string columns as codes.
    fn load(
        &self,
        cols: &[Col],
        presence: &[Col],
        start: usize,
        len: usize,
        groups: std::ops::Range<usize>,
    ) -> Result<Batch<'_>, InputError> {
        let kept = |c: &&Col| self.dict.as_ref().is_some_and(|d| d.has(**c));
        let (kept, rest): (Vec<&Col>, Vec<&Col>) = cols.iter().partition(kept);
        // polars reads the other columns while the dictionary columns are read on every core.
        let (df, kept) = rayon::join(
            || -> Result<pl::DataFrame, InputError> {
                if rest.is_empty() {
                    return Ok(pl::DataFrame::empty());
                }
                let file = File::open(&self.path).map_err(|e| InputError::io(&self.path, e))?;
                let mut reader = pl::ParquetReader::new(file)
                    .with_columns(Some(rest.iter().map(|c| c.name().to_string()).collect()))
                    .with_slice(Some((start, len)));
                reader.set_metadata(self.metadata.clone());
                guarded(&self.path, || reader.finish()).and_then(|r| r.map_err(|e| self.error(e)))
            },
            || -> Vec<(Col, Result<Encoded, String>)> {
                let Some(d) = &self.dict else {
                    return Vec::new();
                };
                kept.par_iter()
                    .map(|c| {
                        let only = presence.contains(*c);
                        (**c, d.read(&self.path, **c, groups.clone(), len, only))
                    })
                    .collect()
            },
        );
        let mut df = df?;
        let mut taken = Vec::new();
        for c in cols {
            if matches!(c.kind(), Kind::Category | Kind::CategoryList)
                && let Ok(col) = df.drop_in_place(c.name())
            {
                taken.push((*c, col.take_materialized_series()));
            }
        }
        let bad = |c: Col, e: String| {
            InputError::format(&self.path, format!("column {:?}: {e}", c.name()))
        };
        let mut encoded: Vec<(Col, Result<Encoded, String>)> = taken
            .par_iter()
            .map(|(c, s)| {
                let e = match c.kind() {
                    Kind::CategoryList => encode_list(*c, s, len).map(Encoded::List),
                    _ => encode(*c, s, len).map(Encoded::Codes),
                };
                (*c, e)
            })
            .collect();
        encoded.extend(kept);
        let mut codes = HashMap::new();
        let mut lists = HashMap::new();
        let mut texts = HashMap::new();
        for (c, e) in encoded {
            match e.map_err(|e| bad(c, e))? {
                Encoded::Codes(x) => {
                    codes.insert(c, x);
                }
                Encoded::List(x) => {
                    lists.insert(c, x);
                }
                Encoded::Texts(x) => {
                    texts.insert(c, Arc::new(x));
                }
            }
        }
        Ok(Batch {
            file: self,
            df,
            codes,
            lists,
            texts,
            offset: start,
            rows: len,
        })
    }

    /// Reads every row as a [`SignIn`], in file order.
    pub fn read_rows(&self, sink: &mut dyn FnMut(SignIn)) -> Result<(), InputError> {
        self.batches(Col::ALL, ROW_GROUP, &mut |b: &Batch| {
            let rows = b.rows()?;
            for s in rows {
                sink(s);
            }
            Ok::<(), InputError>(())
        })
    }
}

/// Reads every sign-in of a normalized Parquet file, in file order.
pub fn read_parquet(path: &Path) -> Result<Vec<SignIn>, InputError> {
    let file = TableFile::open(path)?;
    let mut out = Vec::with_capacity(file.rows());
    file.read_rows(&mut |s| out.push(s))?;
    Ok(out)
}

/// The distinct values of a string column seen so far: code → text. Codes come from one
/// dictionary per column shared by every file and batch this process reads, so they agree
/// between batches and files; a `Dict` is a snapshot of it (later snapshots extend earlier ones).
#[derive(Clone)]
pub struct Dict {
    column: Col,
    texts: Arc<Vec<Arc<str>>>,
    /// Codes say only whether a row has a value ([`TableFile::batches_with_presence`]).
    presence: bool,
}

impl Dict {
    /// The text of a code.
    pub fn get(&self, code: u32) -> &str {
        self.texts.get(code as usize).map_or("", |t| t)
    }
    /// One more than the largest code handed out so far.
    pub fn len(&self) -> usize {
        self.texts.len()
    }
    /// Whether no code has been handed out.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }
    /// Whether two dictionaries hand out the same codes (snapshots of one column's).
    pub fn same(&self, other: &Dict) -> bool {
        self.column == other.column && self.presence == other.presence
    }

    /// The dictionary of a column read for presence only: one entry, the empty text.
    fn presence(column: Col) -> Dict {
        static EMPTY: OnceLock<Arc<Vec<Arc<str>>>> = OnceLock::new();
        Dict {
            column,
            texts: EMPTY.get_or_init(|| Arc::new(vec![Arc::from("")])).clone(),
            presence: true,
        }
    }
}

/// One column's dictionary.
#[derive(Default)]
struct Strings {
    index: HashMap<Arc<str>, u32, BuildHasherDefault<Fx>>,
    texts: Arc<Vec<Arc<str>>>,
}

impl Strings {
    fn intern(&mut self, t: &str) -> u32 {
        if let Some(c) = self.index.get(t) {
            return *c;
        }
        let code = u32::try_from(self.texts.len()).unwrap_or(NULL);
        let t: Arc<str> = Arc::from(t);
        Arc::make_mut(&mut self.texts).push(t.clone());
        self.index.insert(t, code);
        code
    }
}

/// The dictionary of a column (one per column and process).
fn strings(c: Col) -> Arc<Mutex<Strings>> {
    static ALL: OnceLock<Mutex<HashMap<Col, Arc<Mutex<Strings>>>>> = OnceLock::new();
    let all = ALL.get_or_init(|| Mutex::new(HashMap::new()));
    let mut all = all.lock().unwrap_or_else(PoisonError::into_inner);
    all.entry(c).or_default().clone()
}

fn snapshot(c: Col, s: &Strings) -> Dict {
    Dict {
        column: c,
        texts: s.texts.clone(),
        presence: false,
    }
}

/// Codes of a string array's rows: equal views (a dictionary page's repeated entries, or equal
/// short strings) are looked up once.
fn intern_views(
    arr: &<pl::StringType as pl::PolarsDataType>::Array,
    dict: &mut Strings,
    seen: &mut HashMap<u128, u32, BuildHasherDefault<Fx>>,
    out: &mut Vec<u32>,
) {
    // Most columns hold few distinct values: a small direct-mapped cache in front of `seen`
    // answers nearly every row without probing a hash table. No view is all ones (its length
    // would be 4 GiB), so that marks an empty slot.
    const SLOTS: usize = 1 << 10;
    let mut cached = [(u128::MAX, 0u32); SLOTS];
    seen.clear();
    for (v, text) in arr.views().iter().zip(arr.iter()) {
        let Some(text) = text else {
            out.push(NULL);
            continue;
        };
        let key = v.as_u128();
        #[allow(clippy::cast_possible_truncation)]
        let slot = (((key as u64) ^ ((key >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54)
            as usize;
        if cached[slot].0 == key {
            out.push(cached[slot].1);
            continue;
        }
        let code = match seen.get(&key) {
            Some(c) => *c,
            None => {
                let c = dict.intern(text);
                seen.insert(key, c);
                c
            }
        };
        cached[slot] = (key, code);
        out.push(code);
    }
}

/// Code of a null value in [`Codes`].
pub const NULL: u32 = u32::MAX;

/// A dictionary-encoded column of one batch.
#[derive(Clone)]
pub struct Codes {
    /// One code per row ([`NULL`] for null).
    pub codes: Vec<u32>,
    /// The values.
    pub dict: Dict,
}

/// A list column of one batch: row i is `codes[offsets[i]..offsets[i + 1]]`, or null.
#[derive(Clone)]
pub struct ListCodes {
    /// Row starts into `codes` (one more than rows).
    pub offsets: Vec<usize>,
    /// Item codes.
    pub codes: Vec<u32>,
    /// Whether the row's list is present.
    pub valid: Vec<bool>,
    /// The values.
    pub dict: Dict,
}

impl ListCodes {
    /// Row i's items, or None.
    pub fn row(&self, i: usize) -> Option<&[u32]> {
        self.valid[i].then(|| &self.codes[self.offsets[i]..self.offsets[i + 1]])
    }
}

/// A plain text column of one batch.
#[derive(Clone)]
pub struct Texts(TextsOf);

#[derive(Clone)]
enum TextsOf {
    Polars(pl::StringChunked),
    Pages(Arc<dict::PageTexts>),
}

impl Texts {
    /// Row i's text.
    pub fn get(&self, i: usize) -> Option<&str> {
        match &self.0 {
            TextsOf::Polars(t) => t.get(i),
            TextsOf::Pages(t) => t.get(i),
        }
    }
}

/// Some rows of a table, column by column.
pub struct Batch<'a> {
    file: &'a TableFile,
    /// Text, boolean and integer columns.
    df: pl::DataFrame,
    /// String and list-of-string columns, encoded when read.
    codes: HashMap<Col, Codes>,
    lists: HashMap<Col, ListCodes>,
    /// Text columns read page by page.
    texts: HashMap<Col, Arc<dict::PageTexts>>,
    offset: usize,
    rows: usize,
}

enum Encoded {
    Codes(Codes),
    List(ListCodes),
    Texts(dict::PageTexts),
}

/// A string column as codes of its column's dictionary (other types are read as text).
fn encode(c: Col, s: &pl::Series, rows: usize) -> Result<Codes, String> {
    let dict = strings(c);
    let cast;
    let s = if matches!(s.dtype(), pl::DataType::String) {
        s
    } else {
        cast = s.cast(&pl::DataType::String).map_err(|e| e.to_string())?;
        &cast
    };
    let ca = s.str().map_err(|e| e.to_string())?;
    let mut codes = Vec::with_capacity(rows.min(ROW_GROUP));
    let mut seen = HashMap::default();
    let mut dict = dict.lock().unwrap_or_else(PoisonError::into_inner);
    for arr in ca.downcast_iter() {
        intern_views(arr, &mut dict, &mut seen, &mut codes);
    }
    Ok(Codes {
        codes,
        dict: snapshot(c, &dict),
    })
}

/// A list-of-strings column as lists of codes.
fn encode_list(c: Col, s: &pl::Series, rows: usize) -> Result<ListCodes, String> {
    let dict = strings(c);
    let want = pl::DataType::List(Box::new(pl::DataType::String));
    let cast;
    let s = if s.dtype() == &want {
        s
    } else {
        cast = s.cast(&want).map_err(|e| e.to_string())?;
        &cast
    };
    let list = s.list().map_err(|e| e.to_string())?;
    let inner = list.get_inner();
    let inner = inner.str().map_err(|e| e.to_string())?;
    let mut offsets = Vec::with_capacity(rows.min(ROW_GROUP) + 1);
    let mut codes = Vec::new();
    let mut valid = Vec::with_capacity(rows.min(ROW_GROUP));
    let mut seen = HashMap::default();
    let mut values = Vec::new();
    let mut dict = dict.lock().unwrap_or_else(PoisonError::into_inner);
    offsets.push(0);
    for (arr, strs) in list.downcast_iter().zip(inner.downcast_iter()) {
        values.clear();
        intern_views(strs, &mut dict, &mut seen, &mut values);
        let offs = arr.offsets();
        for i in 0..offs.len_proxy() {
            let ok = arr.validity().is_none_or(|v| v.get_bit(i));
            valid.push(ok);
            if ok {
                let (a, b) = offs.start_end(i);
                // A null item names nothing.
                codes.extend(values[a..b].iter().filter(|x| **x != NULL));
            }
            offsets.push(codes.len());
        }
    }
    Ok(ListCodes {
        offsets,
        codes,
        valid,
        dict: snapshot(c, &dict),
    })
}

impl Batch<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether the batch has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Index of the first row in the file.
    pub fn offset(&self) -> usize {
        self.offset
    }

    fn series(&self, c: Col) -> Option<&pl::Series> {
        self.df
            .column(c.name())
            .ok()
            .map(pl::Column::as_materialized_series)
    }

    /// A string column as codes of its column's dictionary (other types are read as text).
    pub fn codes(&self, c: Col) -> Result<Cow<'_, Codes>, InputError> {
        Ok(match self.codes.get(&c) {
            Some(x) => Cow::Borrowed(x),
            None => Cow::Owned(Codes {
                codes: vec![NULL; self.rows],
                dict: snapshot(
                    c,
                    &strings(c).lock().unwrap_or_else(PoisonError::into_inner),
                ),
            }),
        })
    }

    /// A list-of-strings column.
    pub fn list_codes(&self, c: Col) -> Result<Cow<'_, ListCodes>, InputError> {
        Ok(match self.lists.get(&c) {
            Some(x) => Cow::Borrowed(x),
            None => Cow::Owned(ListCodes {
                offsets: vec![0; self.rows + 1],
                codes: Vec::new(),
                valid: vec![false; self.rows],
                dict: snapshot(
                    c,
                    &strings(c).lock().unwrap_or_else(PoisonError::into_inner),
                ),
            }),
        })
    }

    /// A boolean column.
    pub fn flags(&self, c: Col) -> Result<Vec<Option<bool>>, InputError> {
        let Some(s) = self.series(c) else {
            return Ok(vec![None; self.rows]);
        };
        let s = s.cast(&pl::DataType::Boolean).map_err(|e| self.bad(c, e))?;
        Ok(s.bool().map_err(|e| self.bad(c, e))?.iter().collect())
    }

    /// An integer column.
    pub fn ints(&self, c: Col) -> Result<Vec<Option<i64>>, InputError> {
        let Some(s) = self.series(c) else {
            return Ok(vec![None; self.rows]);
        };
        let s = s.cast(&pl::DataType::Int64).map_err(|e| self.bad(c, e))?;
        Ok(s.i64().map_err(|e| self.bad(c, e))?.iter().collect())
    }

    /// A float column (null where absent).
    pub fn floats(&self, c: Col) -> Result<Vec<Option<f64>>, InputError> {
        let Some(s) = self.series(c) else {
            return Ok(vec![None; self.rows]);
        };
        let s = s.cast(&pl::DataType::Float64).map_err(|e| self.bad(c, e))?;
        Ok(s.f64().map_err(|e| self.bad(c, e))?.iter().collect())
    }

    /// A plain text column.
    pub fn texts(&self, c: Col) -> Result<Texts, InputError> {
        if let Some(t) = self.texts.get(&c) {
            return Ok(Texts(TextsOf::Pages(t.clone())));
        }
        let Some(s) = self.series(c) else {
            return Ok(Texts(TextsOf::Polars(pl::StringChunked::full_null(
                c.name().into(),
                self.rows,
            ))));
        };
        let s = s.cast(&pl::DataType::String).map_err(|e| self.bad(c, e))?;
        let ca = s.str().map_err(|e| self.bad(c, e))?.clone();
        Ok(Texts(TextsOf::Polars(ca)))
    }

    fn bad(&self, c: Col, e: impl std::fmt::Display) -> InputError {
        InputError::format(&self.file.path, format!("column {:?}: {e}", c.name()))
    }

    /// Every row as a [`SignIn`] (columns not read are left empty).
    pub fn rows(&self) -> Result<Vec<SignIn>, InputError> {
        let mut out = vec![SignIn::default(); self.rows];
        for &c in Col::ALL {
            if self.series(c).is_none()
                && !self.codes.contains_key(&c)
                && !self.lists.contains_key(&c)
                && !self.texts.contains_key(&c)
            {
                continue;
            }
            match c.kind() {
                Kind::Text => {
                    let t = self.texts(c)?;
                    for (i, s) in out.iter_mut().enumerate() {
                        set_text(s, c, t.get(i).map(str::to_string));
                    }
                }
                Kind::Category => {
                    let codes = self.codes(c)?;
                    let mut applied: HashMap<u32, Vec<LoggedPolicy>> = HashMap::new();
                    for (i, s) in out.iter_mut().enumerate() {
                        let code = codes.codes[i];
                        if code == NULL {
                            continue;
                        }
                        let text = codes.dict.get(code);
                        if c == Col::AppliedPolicies {
                            // The parse can fail, so the entry API (which needs the value first) does not fit.
                            #[allow(clippy::map_entry)]
                            if !applied.contains_key(&code) {
                                let list = parse_applied(text).map_err(|e| {
                                    self.bad(c, format!("row {}: {e}", self.offset + i + 1))
                                })?;
                                applied.insert(code, list);
                            }
                            s.applied_policies = applied.get(&code).cloned();
                        } else {
                            set_text(s, c, Some(text.to_string()));
                        }
                    }
                }
                Kind::CategoryList => {
                    let l = self.list_codes(c)?;
                    for (i, s) in out.iter_mut().enumerate() {
                        let v = l.row(i).map(|items| {
                            items.iter().map(|x| l.dict.get(*x).to_string()).collect()
                        });
                        set_list(s, c, v);
                    }
                }
                Kind::Flag => {
                    let f = self.flags(c)?;
                    for (s, v) in out.iter_mut().zip(f) {
                        set_flag(s, c, v);
                    }
                }
                Kind::Int => {
                    let v = self.ints(c)?;
                    for (s, v) in out.iter_mut().zip(v) {
                        s.error_code = v;
                    }
                }
                Kind::Float => {
                    let v = self.floats(c)?;
                    for (s, v) in out.iter_mut().zip(v) {
                        set_float(s, c, v);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
thread_local! {
    /// A test compares the row groups vigil encodes with those polars' writer encodes itself.
    static POLARS_ENCODES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Row groups encoded column by column on every core ([`encode_row_group`]) are the bytes
    /// polars' own writer gives for the same rows, compressed or not.
    #[test]
    fn row_groups_are_what_polars_writes() {
        let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("../samples/tenant/signins.json");
        let mut rows = Vec::new();
        crate::signin::read_signins(&[sample], &Default::default(), &mut |s| rows.push(s))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(rows.len() > 100);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for compressed in [true, false] {
            let [ours, polars] = [false, true].map(|by_polars| {
                POLARS_ENCODES.with(|p| p.set(by_polars));
                let path = dir.path().join(format!("{compressed}-{by_polars}.parquet"));
                let mut w = TableWriter::create_with(&path, compressed)
                    .unwrap_or_else(|e| panic!("{}", e.reason));
                for s in &rows {
                    w.push(s).unwrap_or_else(|e| panic!("{}", e.reason));
                }
                w.finish().unwrap_or_else(|e| panic!("{}", e.reason));
                POLARS_ENCODES.with(|p| p.set(false));
                std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"))
            });
            assert!(ours == polars, "compressed: {compressed}");
        }
    }
}
