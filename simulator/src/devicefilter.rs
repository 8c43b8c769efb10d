//! The Conditional Access filter rule language: `conditions.devices.deviceFilter.rule`, and the
//! same syntax over custom security attributes for `conditions.applications.applicationFilter`
//! and `conditions.clientApplications.servicePrincipalFilter`.
//!
//! # Sources
//!
//! - Filter for devices (attributes, the operators each attribute supports, the unregistered
//!   device note, the policy behaviour table, the 3,072-character limit, `-contains` on string
//!   collections):
//!   <https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices>
//! - The rule syntax that page defers to ("To learn more about the syntax, see rules for dynamic
//!   membership groups"): operator names, optional hyphen, precedence, `-in`/`-notIn` lists,
//!   quoting and escapes, `null`, case-insensitive string operations:
//!   <https://learn.microsoft.com/entra/identity/users/groups-dynamic-membership>
//! - `conditionalAccessFilter.rule` ("Rule syntax is similar to that used for membership rules for
//!   groups"): <https://learn.microsoft.com/graph/api/resources/conditionalaccessfilter>
//! - Filter for applications (custom security attributes, string type only, the `Contains`
//!   example on a multi-valued attribute):
//!   <https://learn.microsoft.com/entra/identity/conditional-access/concept-filter-for-applications>
//!
//! # Grammar
//!
//! ```text
//! rule       := or
//! or         := and ( "-or" and )*
//! and        := unary ( "-and" unary )*
//! unary      := "-not" unary | primary
//! primary    := "(" or ")" | comparison
//! comparison := attribute operator value
//! attribute  := "device." name | "CustomSecurityAttribute." Set_Attribute
//! value      := "..." | '...' | True | False | null | "[" string ( "," string )* "]"
//! ```
//!
//! Precedence, highest first, as the dynamic membership page's "Operator precedence" lists it:
//! comparison operators, then `-not`, then `-and`, then `-or`; so `a -or b -and c` is
//! `a -or (b -and c)` and `-not a -and b` is `(-not a) -and b`. `-and` and `-or` group left to
//! right.
//!
//! Lexical rules, from the same page:
//! - Operators and attribute names are case-insensitive (`-EQ`, `-startswith`, `device.deviceid`;
//!   the filter-for-devices table itself writes `device.deviceid`). The dynamic membership page
//!   calls property names case sensitive, but Conditional Access rules in the wild (and
//!   Microsoft's own example) differ in case, so this parser accepts any case.
//! - "Operators can be used with or without the hyphen (-) prefix": `device.model eq "x"` is
//!   accepted for the comparison operators. `-and`, `-or` and `-not` always take the hyphen.
//! - The page's examples write some operators with an en dash (`–eq`, `–and`); an en dash is
//!   accepted wherever a hyphen starts an operator.
//! - Strings are double-quoted; inside them a backtick escapes a double quote or a backtick
//!   (`` `" `` is `"`); a backtick before any other character is kept as written. Single-quoted
//!   strings (used in the page's `['value']` example) escape a single quote by doubling it.
//! - Booleans are `True`/`False` (any case, quotes optional: the devices table writes
//!   `device.isCompliant -eq "True"`). `null` (unquoted) compares with `-eq`/`-ne` only.
//! - Regex and string operations are not case sensitive: every comparison here folds case.
//! - A rule may be at most 3,072 characters long.
//!
//! Recognised but rejected: `-match`/`-notMatch` (documented for dynamic groups, listed for no
//! filter attribute), `-any`/`-all` and `-le`/`-ge` (dynamic groups only).
//!
//! # Values and evaluation
//!
//! [`Filter::evaluate`] asks a lookup for each attribute by its key ([`Attribute::key`]):
//! `None` means the log does not say (the comparison is [`Tri::Unknown`]); `Some(vec![])` means
//! the attribute is known to be null (not set); otherwise the values, one for single-valued
//! attributes, booleans as `"True"`/`"False"`. A positive operator (`-eq`, `-startsWith`,
//! `-endsWith`, `-contains`, `-in`) holds when some value satisfies it, so it is false on null; a
//! negative operator (`-ne`, `-notStartsWith`, ...) is the negation of its positive form, so it
//! is true on null. That is the documented behaviour for unregistered devices, see [`applies`].
//!
//! `-contains` on a string attribute is a substring test; on the string-collection attributes
//! `physicalIds` and `systemLabels` it "indicates whether a specified string matches one of the
//! whole strings in the collection" (the devices page). Custom security attributes may be single-
//! or multi-valued and the rule does not say which: a lookup answering one value gets the
//! substring test, more than one value gets the whole-string test.

use std::collections::BTreeSet;
use std::fmt;

use crate::model::{FilterMode, Tri};

/// Longest rule accepted, in characters ("The maximum length for the filter rule is 3072
/// characters", filter for devices page).
pub const MAX_RULE_CHARS: usize = 3072;

/// Deepest nesting of parentheses and `-not` accepted (not a documented limit: it keeps the
/// recursive-descent parser's stack bounded on hostile input).
pub const MAX_NESTING: usize = 64;

/// A device attribute from the filter for devices table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceAttribute {
    /// `device.deviceId`.
    DeviceId,
    /// `device.displayName`.
    DisplayName,
    /// `device.deviceOwnership` (`Personal`, `Company`).
    DeviceOwnership,
    /// `device.enrollmentProfileName`.
    EnrollmentProfileName,
    /// `device.extensionAttribute1` .. `device.extensionAttribute15` (the number, 1 to 15).
    ExtensionAttribute(u8),
    /// `device.isCompliant` (`True`, `False`).
    IsCompliant,
    /// `device.manufacturer`.
    Manufacturer,
    /// `device.mdmAppId`.
    MdmAppId,
    /// `device.model`.
    Model,
    /// `device.operatingSystem`.
    OperatingSystem,
    /// `device.operatingSystemVersion`.
    OperatingSystemVersion,
    /// `device.physicalIds` (string collection).
    PhysicalIds,
    /// `device.profileType`.
    ProfileType,
    /// `device.systemLabels` (string collection).
    SystemLabels,
    /// `device.trustType` (`AzureAD`, `ServerAD`, `Workplace`).
    TrustType,
}

/// The attributes other than extensionAttribute1-15, with their documented spelling.
const DEVICE_ATTRIBUTES: &[(&str, DeviceAttribute)] = &[
    ("deviceId", DeviceAttribute::DeviceId),
    ("displayName", DeviceAttribute::DisplayName),
    ("deviceOwnership", DeviceAttribute::DeviceOwnership),
    (
        "enrollmentProfileName",
        DeviceAttribute::EnrollmentProfileName,
    ),
    ("isCompliant", DeviceAttribute::IsCompliant),
    ("manufacturer", DeviceAttribute::Manufacturer),
    ("mdmAppId", DeviceAttribute::MdmAppId),
    ("model", DeviceAttribute::Model),
    ("operatingSystem", DeviceAttribute::OperatingSystem),
    (
        "operatingSystemVersion",
        DeviceAttribute::OperatingSystemVersion,
    ),
    ("physicalIds", DeviceAttribute::PhysicalIds),
    ("profileType", DeviceAttribute::ProfileType),
    ("systemLabels", DeviceAttribute::SystemLabels),
    ("trustType", DeviceAttribute::TrustType),
];

/// Dynamic-group device attribute names that filter for devices spells differently.
const DYNAMIC_GROUP_NAMES: &[(&str, &str)] = &[
    ("deviceostype", "operatingSystem"),
    ("deviceosversion", "operatingSystemVersion"),
    ("devicemanufacturer", "manufacturer"),
    ("devicemodel", "model"),
    ("devicetrusttype", "trustType"),
    ("devicephysicalids", "physicalIds"),
    ("devicemanagementappid", "mdmAppId"),
];

/// Every string operator.
const ALL_STRING_OPS: &[Operator] = &[
    Operator::Eq,
    Operator::Ne,
    Operator::StartsWith,
    Operator::NotStartsWith,
    Operator::EndsWith,
    Operator::NotEndsWith,
    Operator::Contains,
    Operator::NotContains,
    Operator::In,
    Operator::NotIn,
];
const EQ_NE_IN: &[Operator] = &[Operator::Eq, Operator::Ne, Operator::In, Operator::NotIn];
const EQ_NE: &[Operator] = &[Operator::Eq, Operator::Ne];
const CONTAINS_ONLY: &[Operator] = &[Operator::Contains, Operator::NotContains];

impl DeviceAttribute {
    /// The documented spelling, without the `device.` prefix (`operatingSystemVersion`).
    pub fn name(self) -> String {
        match self {
            DeviceAttribute::ExtensionAttribute(n) => format!("extensionAttribute{n}"),
            other => DEVICE_ATTRIBUTES
                .iter()
                .find(|(_, a)| *a == other)
                .map(|(n, _)| (*n).to_string())
                .unwrap_or_default(),
        }
    }

    /// The operators the filter for devices table lists for this attribute.
    pub fn supported_operators(self) -> &'static [Operator] {
        match self {
            DeviceAttribute::DeviceId | DeviceAttribute::MdmAppId => EQ_NE_IN,
            DeviceAttribute::DeviceOwnership
            | DeviceAttribute::IsCompliant
            | DeviceAttribute::ProfileType
            | DeviceAttribute::TrustType => EQ_NE,
            DeviceAttribute::PhysicalIds | DeviceAttribute::SystemLabels => CONTAINS_ONLY,
            DeviceAttribute::DisplayName
            | DeviceAttribute::EnrollmentProfileName
            | DeviceAttribute::ExtensionAttribute(_)
            | DeviceAttribute::Manufacturer
            | DeviceAttribute::Model
            | DeviceAttribute::OperatingSystem
            | DeviceAttribute::OperatingSystemVersion => ALL_STRING_OPS,
        }
    }

    /// Looks up a name written after `device.`, case-insensitively.
    fn from_name(name: &str) -> Option<DeviceAttribute> {
        let lower = name.to_ascii_lowercase();
        if let Some(n) = lower.strip_prefix("extensionattribute") {
            if n.starts_with('0') || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            return n
                .parse::<u8>()
                .ok()
                .filter(|v| (1..=15).contains(v))
                .map(DeviceAttribute::ExtensionAttribute);
        }
        DEVICE_ATTRIBUTES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&lower))
            .map(|(_, a)| *a)
    }
}

/// An attribute a rule reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    /// `device.<name>` (filter for devices).
    Device(DeviceAttribute),
    /// `CustomSecurityAttribute.<Set>_<Attribute>` (filters for applications and service
    /// principals): the part after the prefix, as written.
    CustomSecurity(String),
}

impl Attribute {
    /// The key [`Filter::evaluate`] passes to its lookup: lowercase, without the `device.` prefix
    /// for device attributes (`operatingsystemversion`, `extensionattribute3`), and
    /// `customsecurityattribute.<set>_<attribute>` for custom security attributes.
    pub fn key(&self) -> String {
        match self {
            Attribute::Device(d) => d.name().to_ascii_lowercase(),
            Attribute::CustomSecurity(n) => format!("customsecurityattribute.{}", n.to_lowercase()),
        }
    }

    /// The operators this attribute accepts. Custom security attributes: every string
    /// operator (the filter for applications page documents none; the portal builds `Contains`).
    pub fn supported_operators(&self) -> &'static [Operator] {
        match self {
            Attribute::Device(d) => d.supported_operators(),
            Attribute::CustomSecurity(_) => ALL_STRING_OPS,
        }
    }

    fn is_boolean(&self) -> bool {
        matches!(self, Attribute::Device(DeviceAttribute::IsCompliant))
    }
}

impl fmt::Display for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attribute::Device(d) => write!(f, "device.{}", d.name()),
            Attribute::CustomSecurity(n) => write!(f, "CustomSecurityAttribute.{n}"),
        }
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `-eq` (Equals).
    Eq,
    /// `-ne` (NotEquals).
    Ne,
    /// `-startsWith`.
    StartsWith,
    /// `-notStartsWith`.
    NotStartsWith,
    /// `-endsWith`.
    EndsWith,
    /// `-notEndsWith`.
    NotEndsWith,
    /// `-contains`: substring, or whole element of a string collection.
    Contains,
    /// `-notContains`.
    NotContains,
    /// `-in` a list.
    In,
    /// `-notIn` a list.
    NotIn,
}

impl Operator {
    const ALL: [Operator; 10] = [
        Operator::Eq,
        Operator::Ne,
        Operator::StartsWith,
        Operator::NotStartsWith,
        Operator::EndsWith,
        Operator::NotEndsWith,
        Operator::Contains,
        Operator::NotContains,
        Operator::In,
        Operator::NotIn,
    ];

    /// The documented spelling without the hyphen (`notStartsWith`).
    pub fn name(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Ne => "ne",
            Operator::StartsWith => "startsWith",
            Operator::NotStartsWith => "notStartsWith",
            Operator::EndsWith => "endsWith",
            Operator::NotEndsWith => "notEndsWith",
            Operator::Contains => "contains",
            Operator::NotContains => "notContains",
            Operator::In => "in",
            Operator::NotIn => "notIn",
        }
    }

    /// True for the negative operators (NotEquals, NotStartsWith, NotEndsWith, NotContains,
    /// NotIn), which the policy behaviour table treats apart.
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            Operator::Ne
                | Operator::NotStartsWith
                | Operator::NotEndsWith
                | Operator::NotContains
                | Operator::NotIn
        )
    }

    /// The positive operator a negative one negates (itself when positive).
    pub fn positive(self) -> Operator {
        match self {
            Operator::Ne => Operator::Eq,
            Operator::NotStartsWith => Operator::StartsWith,
            Operator::NotEndsWith => Operator::EndsWith,
            Operator::NotContains => Operator::Contains,
            Operator::NotIn => Operator::In,
            p => p,
        }
    }

    fn takes_list(self) -> bool {
        matches!(self, Operator::In | Operator::NotIn)
    }

    fn from_name(name: &str) -> Option<Operator> {
        Operator::ALL
            .into_iter()
            .find(|o| o.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.name())
    }
}

/// Operators the dynamic membership syntax has that no filter attribute supports.
const UNSUPPORTED_OPS: &[&str] = &["match", "notMatch", "any", "all", "le", "ge"];

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Value {
    /// A string literal.
    Str(String),
    /// `True` / `False` (`device.isCompliant` only).
    Bool(bool),
    /// `null`: the attribute is not set (`-eq` / `-ne` only).
    Null,
    /// A `["a", "b"]` list (`-in` / `-notIn` only), never empty.
    List(Vec<String>),
}

/// One `attribute operator value` expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Comparison {
    /// What is read.
    pub attribute: Attribute,
    /// How it is compared.
    pub operator: Operator,
    /// What it is compared with.
    pub value: Value,
}

/// A parsed rule expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Expr {
    /// A single comparison.
    Cmp(Comparison),
    /// `-not e`.
    Not(Box<Expr>),
    /// `a -and b`.
    And(Box<Expr>, Box<Expr>),
    /// `a -or b`.
    Or(Box<Expr>, Box<Expr>),
}

/// A parsed filter rule. `Display` prints it back in canonical syntax (documented attribute and
/// operator spelling, double quotes) that parses to the same tree.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Filter {
    expr: Expr,
}

/// Why a rule does not parse. Positions are character (not byte) offsets into the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// A string literal is never closed.
    #[error("at {pos}: unterminated string: the quote opened here is never closed")]
    UnterminatedString {
        /// The opening quote.
        pos: usize,
    },
    /// A character that starts no token.
    #[error("at {pos}: unexpected character {found:?}")]
    UnexpectedChar {
        /// Where.
        pos: usize,
        /// The character.
        found: char,
    },
    /// An operator the language does not have.
    #[error("at {pos}: unknown operator {name}{hint}")]
    UnknownOperator {
        /// Where.
        pos: usize,
        /// As written.
        name: String,
        /// Empty, or a suggestion starting with "; ".
        hint: String,
    },
    /// An attribute the filter does not have.
    #[error("at {pos}: unknown attribute {name}{hint}")]
    UnknownAttribute {
        /// Where.
        pos: usize,
        /// As written.
        name: String,
        /// Empty, or a suggestion starting with "; ".
        hint: String,
    },
    /// A known operator that the attribute does not support.
    #[error("at {pos}: {attribute} does not support {operator} (supported: {supported})")]
    UnsupportedOperator {
        /// The operator.
        pos: usize,
        /// The attribute, in canonical spelling.
        attribute: String,
        /// The operator, as `-name`.
        operator: String,
        /// The operators it does support.
        supported: String,
    },
    /// Something other than what the grammar allows here.
    #[error("at {pos}: expected {expected}, found {found}")]
    Expected {
        /// Where.
        pos: usize,
        /// What would have been accepted.
        expected: String,
        /// What is there.
        found: String,
    },
    /// A well-formed value the attribute or operator cannot take.
    #[error("at {pos}: {message}")]
    InvalidValue {
        /// The value.
        pos: usize,
        /// Why.
        message: String,
    },
    /// A `(` without its `)`.
    #[error("at {pos}: unbalanced parentheses: this '(' is never closed")]
    UnclosedParen {
        /// The `(`.
        pos: usize,
    },
    /// A `)` without its `(`.
    #[error("at {pos}: unbalanced parentheses: this ')' closes nothing")]
    UnmatchedParen {
        /// The `)`.
        pos: usize,
    },
    /// Device attributes and custom security attributes in one rule.
    #[error("at {pos}: a rule cannot mix device attributes and custom security attributes")]
    MixedAttributes {
        /// The first attribute of the other kind.
        pos: usize,
    },
    /// Longer than [`MAX_RULE_CHARS`].
    #[error("at {pos}: the rule is longer than the documented maximum of 3072 characters")]
    TooLong {
        /// [`MAX_RULE_CHARS`].
        pos: usize,
    },
    /// Parentheses and `-not` nested deeper than [`MAX_NESTING`].
    #[error("at {pos}: parentheses and -not nested more than {max} deep")]
    TooDeep {
        /// The `(` or `-not` past the limit.
        pos: usize,
        /// [`MAX_NESTING`].
        max: usize,
    },
}

impl FilterError {
    /// The character offset the error points at.
    pub fn position(&self) -> usize {
        match self {
            FilterError::UnterminatedString { pos }
            | FilterError::UnexpectedChar { pos, .. }
            | FilterError::UnknownOperator { pos, .. }
            | FilterError::UnknownAttribute { pos, .. }
            | FilterError::UnsupportedOperator { pos, .. }
            | FilterError::Expected { pos, .. }
            | FilterError::InvalidValue { pos, .. }
            | FilterError::UnclosedParen { pos }
            | FilterError::UnmatchedParen { pos }
            | FilterError::MixedAttributes { pos }
            | FilterError::TooLong { pos }
            | FilterError::TooDeep { pos, .. } => *pos,
        }
    }
}

impl Filter {
    /// Parses a rule; see the module documentation for the grammar and its sources.
    pub fn parse(rule: &str) -> Result<Filter, FilterError> {
        if rule.chars().count() > MAX_RULE_CHARS {
            return Err(FilterError::TooLong {
                pos: MAX_RULE_CHARS,
            });
        }
        let tokens = lex(rule)?;
        let mut p = Parser {
            tokens,
            at: 0,
            depth: 0,
            family: None,
        };
        let expr = p.parse_or("")?;
        let t = p.peek();
        match &t.tok {
            Tok::End => Ok(Filter { expr }),
            Tok::RParen => Err(FilterError::UnmatchedParen { pos: t.pos }),
            _ => Err(FilterError::Expected {
                pos: t.pos,
                expected: "-and, -or or the end of the rule".into(),
                found: t.tok.describe(),
            }),
        }
    }

    /// The expression tree.
    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// Attributes the rule reads (lowercase, without the `device.` prefix): the keys
    /// [`Filter::evaluate`] looks up, see [`Attribute::key`].
    pub fn attributes(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        collect_attributes(&self.expr, &mut out);
        out
    }

    /// Evaluates with three-valued logic: `lookup(attr)` returns None when the attribute's value
    /// is unknown (not in the log or snapshot), Some(values) otherwise (one value for
    /// single-valued attributes; booleans as "True"/"False"; an empty list for an attribute known
    /// to be null). An unknown attribute makes a comparison [`Tri::Unknown`]; Kleene logic
    /// combines (so `unknownAttr -eq "x" -or isCompliant -eq True` is Yes when compliant).
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<Vec<String>>) -> Tri {
        eval(&self.expr, lookup)
    }

    /// Evaluates for a device that is not registered in Microsoft Entra ID: "all device
    /// properties are considered as null values" (filter for devices page), so positive operators
    /// are false and negative operators true.
    pub fn evaluate_unregistered(&self) -> Tri {
        self.evaluate(&|_| Some(Vec::new()))
    }
}

/// Whether a policy with a filter applies to an object, given whether the rule matched it:
/// `include` mode applies iff the rule matches, `exclude` mode iff it does not. Unknown stays
/// unknown.
///
/// Unregistered devices. The filter for devices page
/// (<https://learn.microsoft.com/entra/identity/conditional-access/concept-condition-filters-for-devices>)
/// says: "For a device that is unregistered with Microsoft Entra ID, all device properties are
/// considered as null values ... The best way to target policies for unregistered devices is by
/// using the negative operator since the configured filter rule would apply. If you were to use a
/// positive operator, the filter rule would only apply when a device exists in the directory and
/// the configured rule matches the attribute on the device." Its "Policy behavior with filter for
/// devices" table: in include or exclude mode, for an unregistered device the filter applies
/// (matches) with negative operators (NotEquals, NotStartsWith, NotEndsWith, NotContains, NotIn)
/// and does not with positive ones (Equals, StartsWith, EndsWith, Contains, In). So for an
/// unregistered device evaluate with every attribute known and null ([`Filter::evaluate_unregistered`],
/// or a lookup answering `Some(vec![])`), never `None`, and pass the result here: e.g.
/// `exclude` + `device.extensionAttribute1 -eq "SAW"` applies the policy to an unregistered
/// device, `exclude` + `device.extensionAttribute1 -ne "SAW"` does not. The same table notes that
/// extensionAttribute1-15 carry a value at evaluation time only for devices that are Intune
/// managed, compliant or Microsoft Entra hybrid joined; a lookup should answer null for them
/// otherwise.
pub fn applies(mode: FilterMode, rule_result: Tri) -> Tri {
    match mode {
        FilterMode::Include => rule_result,
        FilterMode::Exclude => rule_result.not(),
    }
}

fn collect_attributes(e: &Expr, out: &mut BTreeSet<String>) {
    match e {
        Expr::Cmp(c) => {
            out.insert(c.attribute.key());
        }
        Expr::Not(x) => collect_attributes(x, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            collect_attributes(a, out);
            collect_attributes(b, out);
        }
    }
}

fn eval(e: &Expr, lookup: &dyn Fn(&str) -> Option<Vec<String>>) -> Tri {
    match e {
        Expr::Cmp(c) => c.evaluate(lookup),
        Expr::Not(x) => eval(x, lookup).not(),
        Expr::And(a, b) => eval(a, lookup).and(eval(b, lookup)),
        Expr::Or(a, b) => eval(a, lookup).or(eval(b, lookup)),
    }
}

impl Comparison {
    /// Evaluates this comparison; see [`Filter::evaluate`].
    pub fn evaluate(&self, lookup: &dyn Fn(&str) -> Option<Vec<String>>) -> Tri {
        let Some(values) = lookup(&self.attribute.key()) else {
            return Tri::Unknown;
        };
        let positive = self.positive_holds(&values);
        Tri::from_bool(positive != self.operator.is_negative())
    }

    /// Whether the positive form of the operator holds for these values.
    fn positive_holds(&self, values: &[String]) -> bool {
        let lower: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
        match &self.value {
            Value::Null => values.is_empty(),
            Value::Bool(b) => {
                let want = if *b { "true" } else { "false" };
                lower.iter().any(|v| v.trim() == want)
            }
            Value::List(items) => {
                let items: Vec<String> = items.iter().map(|s| s.to_lowercase()).collect();
                lower.iter().any(|v| items.contains(v))
            }
            Value::Str(s) => {
                let s = s.to_lowercase();
                match self.operator.positive() {
                    Operator::StartsWith => lower.iter().any(|v| v.starts_with(&s)),
                    Operator::EndsWith => lower.iter().any(|v| v.ends_with(&s)),
                    Operator::Contains => {
                        let whole = match &self.attribute {
                            Attribute::Device(d) => {
                                matches!(
                                    d,
                                    DeviceAttribute::PhysicalIds | DeviceAttribute::SystemLabels
                                )
                            }
                            Attribute::CustomSecurity(_) => lower.len() > 1,
                        };
                        if whole {
                            lower.contains(&s)
                        } else {
                            lower.iter().any(|v| v.contains(&s))
                        }
                    }
                    // Eq, and In with a scalar (the parser never builds that).
                    _ => lower.contains(&s),
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Printing

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        if c == '"' || c == '`' {
            f.write_str("`")?;
        }
        write!(f, "{c}")?;
    }
    f.write_str("\"")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => write_string(f, s),
            Value::Bool(true) => f.write_str("True"),
            Value::Bool(false) => f.write_str("False"),
            Value::Null => f.write_str("null"),
            Value::List(items) => {
                f.write_str("[")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write_string(f, s)?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.attribute, self.operator, self.value)
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr, parens: bool) -> fmt::Result {
    if parens {
        write!(f, "({e})")
    } else {
        write!(f, "{e}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Cmp(c) => write!(f, "{c}"),
            Expr::Not(x) => {
                f.write_str("-not ")?;
                write_operand(f, x, matches!(**x, Expr::And(..) | Expr::Or(..)))
            }
            Expr::And(a, b) => {
                write_operand(f, a, matches!(**a, Expr::Or(..)))?;
                f.write_str(" -and ")?;
                write_operand(f, b, matches!(**b, Expr::And(..) | Expr::Or(..)))
            }
            Expr::Or(a, b) => {
                write_operand(f, a, false)?;
                f.write_str(" -or ")?;
                write_operand(f, b, matches!(**b, Expr::Or(..)))
            }
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.expr)
    }
}

// ---------------------------------------------------------------------------------------------
// Lexing

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// A quoted string, unescaped.
    Str(String),
    /// `-name` (or `–name`): the name.
    Dash(String),
    /// A bare word: attribute, `True`, `null`, an operator without its hyphen.
    Word(String),
    /// A run of `=!<>`, as in `==`.
    Sym(String),
    End,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "'('".into(),
            Tok::RParen => "')'".into(),
            Tok::LBracket => "'['".into(),
            Tok::RBracket => "']'".into(),
            Tok::Comma => "','".into(),
            Tok::Str(s) => format!("the string {s:?}"),
            Tok::Dash(n) => format!("-{n}"),
            Tok::Word(w) => w.clone(),
            Tok::Sym(s) => s.clone(),
            Tok::End => "the end of the rule".into(),
        }
    }
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '.'
}

fn lex(rule: &str) -> Result<Vec<Token>, FilterError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let pos = i;
        let single = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = single {
            out.push(Token { tok, pos });
            i += 1;
            continue;
        }
        if c.is_whitespace() {
            i += 1;
        } else if c == '"' {
            // Backtick escapes `"` and itself; before anything else it is kept.
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(FilterError::UnterminatedString { pos }),
                    Some('"') => break,
                    Some('`') => match chars.get(i + 1) {
                        None => return Err(FilterError::UnterminatedString { pos }),
                        Some(&n @ ('"' | '`')) => {
                            s.push(n);
                            i += 1;
                        }
                        Some(_) => s.push('`'),
                    },
                    Some(&other) => s.push(other),
                }
                i += 1;
            }
            i += 1;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
        } else if c == '\'' {
            // A doubled single quote is one single quote.
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(FilterError::UnterminatedString { pos }),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        s.push('\'');
                        i += 1;
                    }
                    Some('\'') => break,
                    Some(&other) => s.push(other),
                }
                i += 1;
            }
            i += 1;
            out.push(Token {
                tok: Tok::Str(s),
                pos,
            });
        } else if c == '-' || c == '\u{2013}' {
            let start = i + 1;
            let mut end = start;
            while chars.get(end).is_some_and(|ch| ch.is_ascii_alphabetic()) {
                end += 1;
            }
            if end == start {
                return Err(FilterError::Expected {
                    pos: start,
                    expected: format!("an operator name after '{c}'"),
                    found: chars
                        .get(start)
                        .map_or_else(|| Tok::End.describe(), |ch| format!("{ch:?}")),
                });
            }
            out.push(Token {
                tok: Tok::Dash(chars[start..end].iter().collect()),
                pos,
            });
            i = end;
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let mut end = i;
            while chars
                .get(end)
                .is_some_and(|ch| matches!(ch, '=' | '!' | '<' | '>'))
            {
                end += 1;
            }
            out.push(Token {
                tok: Tok::Sym(chars[i..end].iter().collect()),
                pos,
            });
            i = end;
        } else if is_word_char(c) {
            let mut end = i;
            while chars.get(end).is_some_and(|ch| is_word_char(*ch)) {
                end += 1;
            }
            out.push(Token {
                tok: Tok::Word(chars[i..end].iter().collect()),
                pos,
            });
            i = end;
        } else {
            return Err(FilterError::UnexpectedChar { pos, found: c });
        }
    }
    out.push(Token {
        tok: Tok::End,
        pos: chars.len(),
    });
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Device,
    CustomSecurity,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
    family: Option<Family>,
}

const DEVICE_PREFIX: &str = "device.";
const CSA_PREFIX: &str = "customsecurityattribute.";

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

impl Parser {
    fn peek(&self) -> Token {
        self.tokens
            .get(self.at)
            .or_else(|| self.tokens.last())
            .cloned()
            .unwrap_or(Token {
                tok: Tok::End,
                pos: 0,
            })
    }

    fn bump(&mut self) -> Token {
        let t = self.peek();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn peek_dash(&self, name: &str) -> bool {
        matches!(&self.peek().tok, Tok::Dash(n) if n.eq_ignore_ascii_case(name))
    }

    fn enter(&mut self, pos: usize) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(FilterError::TooDeep {
                pos,
                max: MAX_NESTING,
            });
        }
        Ok(())
    }

    /// `after` names the token that demanded an operand ("" at the start), for messages.
    fn parse_or(&mut self, after: &str) -> Result<Expr, FilterError> {
        let mut lhs = self.parse_and(after)?;
        while self.peek_dash("or") {
            self.bump();
            let rhs = self.parse_and("-or")?;
            lhs = Expr::Or(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn parse_and(&mut self, after: &str) -> Result<Expr, FilterError> {
        let mut lhs = self.parse_unary(after)?;
        while self.peek_dash("and") {
            self.bump();
            let rhs = self.parse_unary("-and")?;
            lhs = Expr::And(Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn parse_unary(&mut self, after: &str) -> Result<Expr, FilterError> {
        if self.peek_dash("not") {
            let t = self.bump();
            self.enter(t.pos)?;
            let inner = self.parse_unary("-not")?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.parse_primary(after)
    }

    fn parse_primary(&mut self, after: &str) -> Result<Expr, FilterError> {
        let t = self.peek();
        match &t.tok {
            Tok::LParen => {
                self.bump();
                self.enter(t.pos)?;
                let inner = self.parse_or("'('")?;
                self.depth -= 1;
                let close = self.bump();
                match close.tok {
                    Tok::RParen => Ok(inner),
                    Tok::End => Err(FilterError::UnclosedParen { pos: t.pos }),
                    other => Err(FilterError::Expected {
                        pos: close.pos,
                        expected: "-and, -or or ')'".into(),
                        found: other.describe(),
                    }),
                }
            }
            Tok::Word(w) => {
                let w = w.clone();
                self.bump();
                self.parse_comparison(&w, t.pos)
            }
            other => {
                let expected = if after.is_empty() {
                    "an attribute such as device.model, '(' or -not".to_string()
                } else {
                    format!("an attribute such as device.model, '(' or -not after {after}")
                };
                Err(FilterError::Expected {
                    pos: t.pos,
                    expected,
                    found: other.describe(),
                })
            }
        }
    }

    fn parse_attribute(&mut self, word: &str, pos: usize) -> Result<Attribute, FilterError> {
        let unknown = |hint: String| FilterError::UnknownAttribute {
            pos,
            name: word.to_string(),
            hint,
        };
        let (attribute, family) = if let Some(rest) = strip_prefix_ci(word, DEVICE_PREFIX) {
            match DeviceAttribute::from_name(rest) {
                Some(d) => (Attribute::Device(d), Family::Device),
                None => {
                    let lower = rest.to_ascii_lowercase();
                    let hint = match DYNAMIC_GROUP_NAMES.iter().find(|(n, _)| *n == lower) {
                        Some((_, ca)) => {
                            format!(
                                "; that is a dynamic-group name, filter for devices calls it device.{ca}"
                            )
                        }
                        None => format!("; filter for devices reads {}", device_attribute_list()),
                    };
                    return Err(unknown(hint));
                }
            }
        } else if let Some(rest) = strip_prefix_ci(word, CSA_PREFIX) {
            let valid = !rest.is_empty() && rest.chars().all(|c| c.is_alphanumeric() || c == '_');
            if !valid {
                return Err(unknown(
                    "; custom security attributes are written CustomSecurityAttribute.<Set>_<Attribute>".into(),
                ));
            }
            (
                Attribute::CustomSecurity(rest.to_string()),
                Family::CustomSecurity,
            )
        } else if let Some(d) = DeviceAttribute::from_name(word) {
            return Err(unknown(format!("; did you mean device.{}?", d.name())));
        } else {
            return Err(unknown(
                "; attributes are device.<name> or CustomSecurityAttribute.<Set>_<Attribute>"
                    .into(),
            ));
        };
        match self.family {
            Some(f) if f != family => return Err(FilterError::MixedAttributes { pos }),
            _ => self.family = Some(family),
        }
        Ok(attribute)
    }

    fn parse_comparison(&mut self, word: &str, pos: usize) -> Result<Expr, FilterError> {
        let attribute = self.parse_attribute(word, pos)?;
        let supported = || {
            attribute
                .supported_operators()
                .iter()
                .map(|o| o.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let t = self.bump();
        let operator = match &t.tok {
            Tok::Dash(name) | Tok::Word(name) => {
                if let Some(op) = Operator::from_name(name) {
                    op
                } else if let Some(u) = UNSUPPORTED_OPS
                    .iter()
                    .find(|u| u.eq_ignore_ascii_case(name))
                {
                    return Err(FilterError::UnsupportedOperator {
                        pos: t.pos,
                        attribute: attribute.to_string(),
                        operator: format!("-{u}"),
                        supported: supported(),
                    });
                } else if matches!(t.tok, Tok::Dash(_))
                    && ["and", "or", "not"]
                        .iter()
                        .any(|l| l.eq_ignore_ascii_case(name))
                {
                    return Err(FilterError::Expected {
                        pos: t.pos,
                        expected: format!("a comparison operator such as -eq after {attribute}"),
                        found: t.tok.describe(),
                    });
                } else {
                    let shown = if matches!(t.tok, Tok::Dash(_)) {
                        format!("-{name}")
                    } else {
                        name.clone()
                    };
                    return Err(FilterError::UnknownOperator {
                        pos: t.pos,
                        name: shown,
                        hint: format!("; {attribute} supports {}", supported()),
                    });
                }
            }
            Tok::Sym(s) => {
                let hint = match s.as_str() {
                    "=" | "==" => "; use -eq".to_string(),
                    "!=" | "<>" => "; use -ne".to_string(),
                    _ => format!("; {attribute} supports {}", supported()),
                };
                return Err(FilterError::UnknownOperator {
                    pos: t.pos,
                    name: s.clone(),
                    hint,
                });
            }
            other => {
                return Err(FilterError::Expected {
                    pos: t.pos,
                    expected: format!("a comparison operator such as -eq after {attribute}"),
                    found: other.describe(),
                });
            }
        };
        if !attribute.supported_operators().contains(&operator) {
            return Err(FilterError::UnsupportedOperator {
                pos: t.pos,
                attribute: attribute.to_string(),
                operator: operator.to_string(),
                supported: supported(),
            });
        }
        let value = if operator.takes_list() {
            self.parse_list(operator)?
        } else {
            self.parse_scalar(&attribute, operator)?
        };
        Ok(Expr::Cmp(Comparison {
            attribute,
            operator,
            value,
        }))
    }

    fn parse_scalar(
        &mut self,
        attribute: &Attribute,
        operator: Operator,
    ) -> Result<Value, FilterError> {
        let t = self.bump();
        let boolean = attribute.is_boolean();
        let expected = if boolean {
            format!("True or False after {operator}")
        } else {
            format!("a quoted string after {operator}")
        };
        let as_bool = |s: &str| {
            if s.eq_ignore_ascii_case("true") {
                Some(true)
            } else if s.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        };
        match &t.tok {
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => {
                if matches!(operator, Operator::Eq | Operator::Ne) {
                    Ok(Value::Null)
                } else {
                    Err(FilterError::InvalidValue {
                        pos: t.pos,
                        message: format!(
                            "null can only be compared with -eq or -ne, not {operator}"
                        ),
                    })
                }
            }
            Tok::Word(w) if boolean => {
                as_bool(w)
                    .map(Value::Bool)
                    .ok_or_else(|| FilterError::Expected {
                        pos: t.pos,
                        expected,
                        found: t.tok.describe(),
                    })
            }
            Tok::Str(s) if boolean => {
                as_bool(s)
                    .map(Value::Bool)
                    .ok_or_else(|| FilterError::InvalidValue {
                        pos: t.pos,
                        message: format!("{attribute} is True or False, not {s:?}"),
                    })
            }
            Tok::Str(s) => Ok(Value::Str(s.clone())),
            Tok::LBracket => Err(FilterError::Expected {
                pos: t.pos,
                expected: format!("{expected} (a list is for -in and -notIn)"),
                found: t.tok.describe(),
            }),
            other => Err(FilterError::Expected {
                pos: t.pos,
                expected,
                found: other.describe(),
            }),
        }
    }

    fn parse_list(&mut self, operator: Operator) -> Result<Value, FilterError> {
        let open = self.bump();
        if open.tok != Tok::LBracket {
            return Err(FilterError::Expected {
                pos: open.pos,
                expected: format!("a list such as [\"a\", \"b\"] after {operator}"),
                found: open.tok.describe(),
            });
        }
        let mut items = Vec::new();
        loop {
            let t = self.bump();
            match t.tok {
                Tok::Str(s) => items.push(s),
                Tok::RBracket if items.is_empty() => {
                    return Err(FilterError::InvalidValue {
                        pos: open.pos,
                        message: format!("the list after {operator} is empty"),
                    });
                }
                other => {
                    return Err(FilterError::Expected {
                        pos: t.pos,
                        expected: format!("a quoted string in the list after {operator}"),
                        found: other.describe(),
                    });
                }
            }
            let sep = self.bump();
            match sep.tok {
                Tok::Comma => {}
                Tok::RBracket => return Ok(Value::List(items)),
                other => {
                    return Err(FilterError::Expected {
                        pos: sep.pos,
                        expected: "',' or ']'".into(),
                        found: other.describe(),
                    });
                }
            }
        }
    }
}

fn device_attribute_list() -> String {
    let mut names: Vec<String> = DEVICE_ATTRIBUTES
        .iter()
        .map(|(n, _)| (*n).to_string())
        .collect();
    names.push("extensionAttribute1..15".into());
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::*;

    type Device<'a> = &'a [(&'a str, &'a [&'a str])];

    /// A lookup over a fixed attribute table; attributes absent from it are unknown.
    fn eval_with(rule: &str, device: Device) -> Tri {
        let f = Filter::parse(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
        let map: HashMap<String, Vec<String>> = device
            .iter()
            .map(|(k, v)| {
                (
                    k.to_ascii_lowercase(),
                    v.iter().map(|s| s.to_string()).collect(),
                )
            })
            .collect();
        f.evaluate(&|a: &str| map.get(a).cloned())
    }

    fn err(rule: &str) -> FilterError {
        match Filter::parse(rule) {
            Ok(f) => panic!("{rule} parsed as {f}"),
            Err(e) => e,
        }
    }

    fn cmp(attr: DeviceAttribute, op: Operator, v: &str) -> Expr {
        Expr::Cmp(Comparison {
            attribute: Attribute::Device(attr),
            operator: op,
            value: Value::Str(v.into()),
        })
    }

    const WIN10: Device = &[
        ("operatingsystem", &["Windows"]),
        ("operatingsystemversion", &["10.0.19045.1234"]),
        ("trusttype", &["ServerAD"]),
        ("iscompliant", &["True"]),
        ("deviceownership", &["Company"]),
        ("displayname", &["ABC-laptop"]),
        ("model", &["Surface Laptop 5"]),
        ("manufacturer", &["Microsoft Corporation"]),
        ("deviceid", &["aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb"]),
        ("mdmappid", &["00001111-aaaa-2222-bbbb-3333cccc4444"]),
        ("enrollmentprofilename", &["AutoPilot Profile Kiosk"]),
        ("physicalids", &["[ZTDId]:value", "[OrderID]:42"]),
        ("systemlabels", &["M365Managed"]),
        ("profiletype", &["RegisteredDevice"]),
        ("extensionattribute1", &["SAW"]),
        ("extensionattribute2", &["TeamsPhoneDevice"]),
    ];
    const PRINTER: Device = &[
        ("operatingsystem", &["Android"]),
        ("trusttype", &["Workplace"]),
        ("iscompliant", &["False"]),
        ("deviceownership", &["Personal"]),
        ("profiletype", &["Printer"]),
        ("model", &["LaserJet"]),
        ("physicalids", &[]),
        ("systemlabels", &["MultiUser"]),
        ("extensionattribute1", &[]),
    ];

    /// Every example rule in the docs (and the brief), evaluated against two devices.
    /// (rule, on WIN10, on PRINTER)
    const DOC_EXAMPLES: &[(&str, Tri, Tri)] = &[
        // Filter for devices: the Graph API example.
        ("device.extensionAttribute1 -ne \"SAW\"", Tri::No, Tri::Yes),
        // Filter for devices: the supported attributes table, one example each.
        (
            "(device.deviceid -eq \"aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb\")",
            Tri::Yes,
            Tri::Unknown,
        ),
        (
            "(device.displayName -contains \"ABC\")",
            Tri::Yes,
            Tri::Unknown,
        ),
        (
            "(device.deviceOwnership -eq \"Company\")",
            Tri::Yes,
            Tri::No,
        ),
        (
            "(device.enrollmentProfileName -startsWith \"AutoPilot Profile\")",
            Tri::Yes,
            Tri::Unknown,
        ),
        ("(device.isCompliant -eq \"True\")", Tri::Yes, Tri::No),
        (
            "(device.manufacturer -startsWith \"Microsoft\")",
            Tri::Yes,
            Tri::Unknown,
        ),
        (
            "(device.mdmAppId -in [\"00001111-aaaa-2222-bbbb-3333cccc4444\"])",
            Tri::Yes,
            Tri::Unknown,
        ),
        ("(device.model -notContains \"Surface\")", Tri::No, Tri::Yes),
        (
            "(device.operatingSystem -eq \"Windows\")",
            Tri::Yes,
            Tri::No,
        ),
        (
            "(device.operatingSystemVersion -in [\"10.0.18363\", \"10.0.19041\", \"10.0.19042\", \"10.0.22000\"])",
            Tri::No,
            Tri::Unknown,
        ),
        (
            "(device.physicalIds -contains \"[ZTDId]:value\")",
            Tri::Yes,
            Tri::No,
        ),
        ("(device.profileType -eq \"Printer\")", Tri::No, Tri::Yes),
        (
            "(device.systemLabels -contains \"M365Managed\")",
            Tri::Yes,
            Tri::No,
        ),
        ("(device.trustType -eq \"ServerAD\")", Tri::Yes, Tri::No),
        (
            "(device.extensionAttribute1 -eq \"SAW\")",
            Tri::Yes,
            Tri::No,
        ),
        // Filter for devices: the common scenarios, written in rule syntax.
        ("device.extensionAttribute1 -eq \"SAW\"", Tri::Yes, Tri::No),
        (
            "device.operatingSystem -eq \"Windows\" -and device.operatingSystemVersion -startsWith \"10.0\"",
            Tri::Yes,
            Tri::No,
        ),
        (
            "device.extensionAttribute2 -ne \"TeamsPhoneDevice\"",
            Tri::No,
            Tri::Unknown,
        ),
        // The brief's examples.
        (
            "device.trustType -eq \"ServerAD\" -and device.isCompliant -eq True",
            Tri::Yes,
            Tri::No,
        ),
        ("device.model -startsWith \"Surface\"", Tri::Yes, Tri::No),
        (
            "device.displayName -in [\"A\",\"B\"]",
            Tri::No,
            Tri::Unknown,
        ),
        // Dynamic membership rules page, on device attributes: -and -not, en dashes,
        // operators without hyphen, null checks, -notIn.
        (
            "(device.operatingSystem -eq \"Windows\") -and -not (device.model -startsWith \"SDE\")",
            Tri::Yes,
            Tri::No,
        ),
        (
            "device.trustType –eq \"ServerAD\" –and device.deviceOwnership –eq \"Company\"",
            Tri::Yes,
            Tri::No,
        ),
        (
            "device.deviceOwnership –eq \"Company\" –and (device.trustType –eq \"AzureAD\" –or device.trustType –eq \"ServerAD\")",
            Tri::Yes,
            Tri::No,
        ),
        ("device.model eq \"LaserJet\"", Tri::No, Tri::Yes),
        ("device.extensionAttribute1 -ne null", Tri::Yes, Tri::No),
        ("device.extensionAttribute1 -eq null", Tri::No, Tri::Yes),
        (
            "device.operatingSystem -notIn [\"Windows\", \"macOS\"]",
            Tri::No,
            Tri::Yes,
        ),
        (
            "device.model -in ['LaserJet', 'Surface Laptop 5']",
            Tri::Yes,
            Tri::Yes,
        ),
        // Real policies, j0eyv CA baseline CA202 and CA206 (exclude mode).
        (
            "device.deviceOwnership -eq \"Company\" -or device.isCompliant -eq True",
            Tri::Yes,
            Tri::No,
        ),
    ];

    #[test]
    fn doc_examples_parse_and_evaluate() {
        for (rule, win, printer) in DOC_EXAMPLES {
            assert_eq!(eval_with(rule, WIN10), *win, "{rule} on WIN10");
            assert_eq!(eval_with(rule, PRINTER), *printer, "{rule} on PRINTER");
            // Canonical printing round-trips.
            let f = Filter::parse(rule).unwrap();
            assert_eq!(Filter::parse(&f.to_string()).unwrap(), f, "{rule} -> {f}");
        }
    }

    #[test]
    fn real_baseline_rules_parse() {
        // The only deviceFilter rules in the 36 policies under
        // shared/data/external/j0eyv-cabaseline/ConditionalAccess (CA202, CA206), as JSON-decoded.
        let rules = ["device.deviceOwnership -eq \"Company\" -or device.isCompliant -eq True"];
        for rule in rules {
            let f = Filter::parse(rule).unwrap();
            assert_eq!(
                f.attributes(),
                BTreeSet::from(["deviceownership".to_string(), "iscompliant".to_string()])
            );
            assert_eq!(f.to_string(), rule);
            // Exclude mode: personal non-compliant devices stay in scope; unregistered too.
            assert_eq!(
                applies(FilterMode::Exclude, eval_with(rule, PRINTER)),
                Tri::Yes
            );
            assert_eq!(
                applies(FilterMode::Exclude, eval_with(rule, WIN10)),
                Tri::No
            );
            assert_eq!(
                applies(FilterMode::Exclude, f.evaluate_unregistered()),
                Tri::Yes
            );
        }
    }

    #[test]
    fn application_filter_custom_security_attributes() {
        // Filter for applications page: attribute set ConditionalAccessTest, multi-valued
        // attribute policyRequirement, operator Contains, value requireMFA.
        let rule = "CustomSecurityAttribute.ConditionalAccessTest_policyRequirement -contains \"requireMFA\"";
        let f = Filter::parse(rule).unwrap();
        let key = "customsecurityattribute.conditionalaccesstest_policyrequirement";
        assert_eq!(f.attributes(), BTreeSet::from([key.to_string()]));
        let app = |vals: &'static [&'static str]| {
            f.evaluate(&move |a: &str| {
                (a == key).then(|| vals.iter().map(|s| s.to_string()).collect())
            })
        };
        assert_eq!(app(&["requireMFA", "blockGuestUsers"]), Tri::Yes);
        assert_eq!(
            app(&["legacyAuthAllowed", "requireCompliantDevice"]),
            Tri::No
        );
        // Multi-valued: whole values, not substrings.
        assert_eq!(app(&["requireMFAx", "other"]), Tri::No);
        // One value: substring (a single-valued free-form attribute).
        assert_eq!(app(&["please requireMFA"]), Tri::Yes);
        assert_eq!(app(&[]), Tri::No);
        assert_eq!(f.evaluate(&|_| None), Tri::Unknown);
        assert_eq!(f.to_string(), rule);
        // Case-insensitive prefix; -or across attributes of one set.
        let two = "customSecurityAttribute.TestSet2_TestAttribute2 -contains \"Value4\" -or \
                   CustomSecurityAttribute.TestSet2_TestAttribute3 -contains \"Value1\"";
        assert_eq!(Filter::parse(two).unwrap().attributes().len(), 2);
        assert!(Filter::parse("CustomSecurityAttribute.Apps_Tier -in [\"1\", \"2\"]").is_ok());
    }

    #[test]
    fn precedence_and_binds_tighter_than_or() {
        let f = Filter::parse(
            "device.model -eq \"a\" -or device.model -eq \"b\" -and device.trustType -eq \"c\"",
        )
        .unwrap();
        let a = cmp(DeviceAttribute::Model, Operator::Eq, "a");
        let b = cmp(DeviceAttribute::Model, Operator::Eq, "b");
        let c = cmp(DeviceAttribute::TrustType, Operator::Eq, "c");
        assert_eq!(
            f.expr(),
            &Expr::Or(
                Box::new(a.clone()),
                Box::new(Expr::And(Box::new(b.clone()), Box::new(c.clone())))
            )
        );
        // a true, b false, c false: a -or (b -and c) is true; (a -or b) -and c would be false.
        let rule =
            "device.model -eq \"A\" -or device.model -eq \"B\" -and device.trustType -eq \"C\"";
        assert_eq!(
            eval_with(rule, &[("model", &["A"]), ("trusttype", &["X"])]),
            Tri::Yes
        );
        let paren =
            "(device.model -eq \"A\" -or device.model -eq \"B\") -and device.trustType -eq \"C\"";
        assert_eq!(
            eval_with(paren, &[("model", &["A"]), ("trusttype", &["X"])]),
            Tri::No
        );
        // -not binds tighter than -and.
        let f =
            Filter::parse("-not device.model -eq \"a\" -and device.trustType -eq \"c\"").unwrap();
        assert_eq!(
            f.expr(),
            &Expr::And(
                Box::new(Expr::Not(Box::new(a.clone()))),
                Box::new(c.clone())
            )
        );
        // Left-assoc chains.
        let f = Filter::parse(
            "device.model -eq \"a\" -and device.model -eq \"b\" -and device.trustType -eq \"c\"",
        )
        .unwrap();
        assert_eq!(
            f.expr(),
            &Expr::And(
                Box::new(Expr::And(Box::new(a.clone()), Box::new(b.clone()))),
                Box::new(c.clone())
            )
        );
        // Parentheses override, and print back.
        let f = Filter::parse(
            "device.model -eq \"a\" -and (device.model -eq \"b\" -or device.trustType -eq \"c\")",
        )
        .unwrap();
        assert_eq!(
            f.expr(),
            &Expr::And(Box::new(a), Box::new(Expr::Or(Box::new(b), Box::new(c))))
        );
        assert_eq!(
            f.to_string(),
            "device.model -eq \"a\" -and (device.model -eq \"b\" -or device.trustType -eq \"c\")"
        );
    }

    #[test]
    fn not_and_nesting() {
        let d: Device = &[("model", &["X"])];
        assert_eq!(eval_with("-not device.model -eq \"x\"", d), Tri::No);
        assert_eq!(eval_with("-not -not device.model -eq \"x\"", d), Tri::Yes);
        assert_eq!(eval_with("-not (device.model -eq \"y\")", d), Tri::Yes);
        assert_eq!(eval_with("((((device.model -eq \"x\"))))", d), Tri::Yes);
        assert_eq!(
            eval_with(
                "-NOT (device.model -eq \"x\" -OR device.model -eq \"y\")",
                d
            ),
            Tri::No
        );
    }

    #[test]
    fn case_insensitivity() {
        let d: Device = &[
            ("model", &["Surface Laptop"]),
            ("iscompliant", &["true"]),
            ("trusttype", &["AzureAD"]),
        ];
        for rule in [
            "DEVICE.MODEL -STARTSWITH \"surface\"",
            "Device.Model -StartsWith \"SURFACE\"",
            "device.model -endswith \"LAPTOP\"",
            "device.model -CONTAINS \"ce la\"",
            "device.model -In [\"surface laptop\"]",
            "device.model -eq \"surface laptop\"",
            "device.ISCOMPLIANT -eq TRUE",
            "device.isCompliant -eq \"true\"",
            "device.trusttype -eq \"azuread\"",
            "device.model -eq \"x\" -OR device.model -Ne \"x\"",
        ] {
            assert_eq!(eval_with(rule, d), Tri::Yes, "{rule}");
        }
        assert_eq!(
            eval_with("device.model -notStartsWith \"SURFACE\"", d),
            Tri::No
        );
        assert_eq!(
            eval_with("device.model -notIn [\"SURFACE LAPTOP\"]", d),
            Tri::No
        );
    }

    #[test]
    fn kleene_unknowns() {
        let compliant: Device = &[("iscompliant", &["True"])];
        let noncompliant: Device = &[("iscompliant", &["False"])];
        let or = "device.extensionAttribute3 -eq \"x\" -or device.isCompliant -eq True";
        let and = "device.extensionAttribute3 -eq \"x\" -and device.isCompliant -eq True";
        assert_eq!(eval_with(or, compliant), Tri::Yes);
        assert_eq!(eval_with(or, noncompliant), Tri::Unknown);
        assert_eq!(eval_with(and, compliant), Tri::Unknown);
        assert_eq!(eval_with(and, noncompliant), Tri::No);
        assert_eq!(
            eval_with("-not device.extensionAttribute3 -eq \"x\"", compliant),
            Tri::Unknown
        );
        assert_eq!(
            eval_with("device.extensionAttribute3 -ne \"x\"", compliant),
            Tri::Unknown
        );
        let f = Filter::parse(and).unwrap();
        assert_eq!(
            f.attributes(),
            BTreeSet::from(["extensionattribute3".to_string(), "iscompliant".to_string()])
        );
        assert_eq!(applies(FilterMode::Include, Tri::Unknown), Tri::Unknown);
        assert_eq!(applies(FilterMode::Exclude, Tri::Unknown), Tri::Unknown);
    }

    #[test]
    fn unregistered_devices_follow_the_policy_behaviour_table() {
        // Positive operators: the filter does not apply to an unregistered device;
        // negative operators: it does.
        let positive = [
            "device.extensionAttribute1 -eq \"SAW\"",
            "device.model -startsWith \"S\"",
            "device.model -endsWith \"S\"",
            "device.model -contains \"S\"",
            "device.physicalIds -contains \"[ZTDId]:x\"",
            "device.deviceId -in [\"x\"]",
            "device.isCompliant -eq True",
        ];
        let negative = [
            "device.extensionAttribute1 -ne \"SAW\"",
            "device.model -notStartsWith \"S\"",
            "device.model -notEndsWith \"S\"",
            "device.model -notContains \"S\"",
            "device.systemLabels -notContains \"M365Managed\"",
            "device.deviceId -notIn [\"x\"]",
            "device.isCompliant -ne True",
        ];
        for rule in positive {
            let r = Filter::parse(rule).unwrap().evaluate_unregistered();
            assert_eq!(r, Tri::No, "{rule}");
            assert_eq!(applies(FilterMode::Include, r), Tri::No, "{rule}");
            assert_eq!(applies(FilterMode::Exclude, r), Tri::Yes, "{rule}");
        }
        for rule in negative {
            let r = Filter::parse(rule).unwrap().evaluate_unregistered();
            assert_eq!(r, Tri::Yes, "{rule}");
            assert_eq!(applies(FilterMode::Include, r), Tri::Yes, "{rule}");
            assert_eq!(applies(FilterMode::Exclude, r), Tri::No, "{rule}");
        }
        assert_eq!(
            Filter::parse("device.model -eq null")
                .unwrap()
                .evaluate_unregistered(),
            Tri::Yes
        );
    }

    #[test]
    fn collections_match_whole_strings() {
        let d: Device = &[
            ("physicalids", &["[ZTDId]:abc", "[OrderID]:42"]),
            ("model", &["[ZTDId]:abc"]),
        ];
        assert_eq!(
            eval_with("device.physicalIds -contains \"[ztdid]:ABC\"", d),
            Tri::Yes
        );
        assert_eq!(
            eval_with("device.physicalIds -contains \"[ZTDId]\"", d),
            Tri::No
        );
        assert_eq!(
            eval_with("device.physicalIds -notContains \"[ZTDId]\"", d),
            Tri::Yes
        );
        // A string attribute: substring.
        assert_eq!(eval_with("device.model -contains \"[ZTDId]\"", d), Tri::Yes);
    }

    #[test]
    fn string_escapes() {
        let f = Filter::parse("device.displayName -eq \"`\"Sales`\"\"").unwrap();
        assert_eq!(
            f.expr(),
            &Expr::Cmp(Comparison {
                attribute: Attribute::Device(DeviceAttribute::DisplayName),
                operator: Operator::Eq,
                value: Value::Str("\"Sales\"".into()),
            })
        );
        assert_eq!(f.to_string(), "device.displayName -eq \"`\"Sales`\"\"");
        let f = Filter::parse("device.displayName -eq 'O''Brien'").unwrap();
        assert_eq!(f.to_string(), "device.displayName -eq \"O'Brien\"");
        let f = Filter::parse("device.displayName -eq \"a``b`c\\d\"").unwrap();
        assert_eq!(
            f.expr(),
            &Expr::Cmp(Comparison {
                attribute: Attribute::Device(DeviceAttribute::DisplayName),
                operator: Operator::Eq,
                value: Value::Str("a`b`c\\d".into()),
            })
        );
        assert_eq!(Filter::parse(&f.to_string()).unwrap(), f);
        assert_eq!(
            eval_with("device.displayName -eq \"\"", &[("displayname", &[""])]),
            Tri::Yes
        );
    }

    #[test]
    fn extension_attribute_range() {
        for n in 1..=15 {
            let rule = format!("device.extensionAttribute{n} -eq \"x\"");
            let f = Filter::parse(&rule).unwrap();
            assert_eq!(
                f.attributes(),
                BTreeSet::from([format!("extensionattribute{n}")])
            );
            assert_eq!(f.to_string(), rule);
        }
        for bad in ["0", "16", "01", "", "1a", "300"] {
            let rule = format!("device.extensionAttribute{bad} -eq \"x\"");
            assert!(
                matches!(err(&rule), FilterError::UnknownAttribute { pos: 0, .. }),
                "{rule}"
            );
        }
    }

    #[test]
    fn operator_support_matches_the_table() {
        use DeviceAttribute as D;
        let all = [
            (D::DeviceId, "eq ne in notIn"),
            (
                D::DisplayName,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (D::DeviceOwnership, "eq ne"),
            (
                D::EnrollmentProfileName,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (D::IsCompliant, "eq ne"),
            (
                D::Manufacturer,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (D::MdmAppId, "eq ne in notIn"),
            (
                D::Model,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (
                D::OperatingSystem,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (
                D::OperatingSystemVersion,
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
            (D::PhysicalIds, "contains notContains"),
            (D::ProfileType, "eq ne"),
            (D::SystemLabels, "contains notContains"),
            (D::TrustType, "eq ne"),
            (
                D::ExtensionAttribute(7),
                "eq ne startsWith notStartsWith endsWith notEndsWith contains notContains in notIn",
            ),
        ];
        for (attr, ops) in all {
            let allowed: Vec<&str> = ops.split(' ').collect();
            for op in Operator::ALL {
                let value = if op.takes_list() {
                    "[\"True\"]"
                } else {
                    "\"True\""
                };
                let rule = format!("device.{} -{} {value}", attr.name(), op.name());
                let r = Filter::parse(&rule);
                if allowed.contains(&op.name()) {
                    assert!(r.is_ok(), "{rule}: {r:?}");
                } else {
                    assert!(
                        matches!(r, Err(FilterError::UnsupportedOperator { .. })),
                        "{rule}: {r:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn errors_with_positions() {
        let cases: &[(&str, FilterError)] = &[
            ("device.model -eq \"Surface", FilterError::UnterminatedString { pos: 17 }),
            ("device.model -eq 'Surface", FilterError::UnterminatedString { pos: 17 }),
            ("device.model -eq \"Surface`\"", FilterError::UnterminatedString { pos: 17 }),
            (
                "device.model -equals \"x\"",
                FilterError::UnknownOperator {
                    pos: 13,
                    name: "-equals".into(),
                    hint: format!("; device.model supports {}", ALL_STRING_OPS.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ")),
                },
            ),
            (
                "device.model == \"x\"",
                FilterError::UnknownOperator { pos: 13, name: "==".into(), hint: "; use -eq".into() },
            ),
            (
                "device.trustType -eq \"x\" -and device.color -eq \"red\"",
                FilterError::UnknownAttribute {
                    pos: 30,
                    name: "device.color".into(),
                    hint: format!("; filter for devices reads {}", device_attribute_list()),
                },
            ),
            (
                "device.deviceOSVersion -startsWith \"10.0.1\"",
                FilterError::UnknownAttribute {
                    pos: 0,
                    name: "device.deviceOSVersion".into(),
                    hint: "; that is a dynamic-group name, filter for devices calls it device.operatingSystemVersion"
                        .into(),
                },
            ),
            (
                "model -eq \"x\"",
                FilterError::UnknownAttribute { pos: 0, name: "model".into(), hint: "; did you mean device.model?".into() },
            ),
            (
                "device.model -eq \"x\" -and",
                FilterError::Expected {
                    pos: 25,
                    expected: "an attribute such as device.model, '(' or -not after -and".into(),
                    found: "the end of the rule".into(),
                },
            ),
            (
                "-or device.model -eq \"x\"",
                FilterError::Expected {
                    pos: 0,
                    expected: "an attribute such as device.model, '(' or -not".into(),
                    found: "-or".into(),
                },
            ),
            ("(device.model -eq \"x\"", FilterError::UnclosedParen { pos: 0 }),
            ("((device.model -eq \"x\")", FilterError::UnclosedParen { pos: 0 }),
            ("device.model -eq \"x\")", FilterError::UnmatchedParen { pos: 20 }),
            (
                "()",
                FilterError::Expected {
                    pos: 1,
                    expected: "an attribute such as device.model, '(' or -not after '('".into(),
                    found: "')'".into(),
                },
            ),
            (
                "device.model -eq True",
                FilterError::Expected {
                    pos: 17,
                    expected: "a quoted string after -eq".into(),
                    found: "True".into(),
                },
            ),
            (
                "device.isCompliant -eq \"yes\"",
                FilterError::InvalidValue { pos: 23, message: "device.isCompliant is True or False, not \"yes\"".into() },
            ),
            (
                "device.physicalIds -eq \"x\"",
                FilterError::UnsupportedOperator {
                    pos: 19,
                    attribute: "device.physicalIds".into(),
                    operator: "-eq".into(),
                    supported: "-contains, -notContains".into(),
                },
            ),
            (
                "device.trustType -match \"Azure.*\"",
                FilterError::UnsupportedOperator {
                    pos: 17,
                    attribute: "device.trustType".into(),
                    operator: "-match".into(),
                    supported: "-eq, -ne".into(),
                },
            ),
            (
                "device.model -in \"x\"",
                FilterError::Expected {
                    pos: 17,
                    expected: "a list such as [\"a\", \"b\"] after -in".into(),
                    found: "the string \"x\"".into(),
                },
            ),
            (
                "device.model -in []",
                FilterError::InvalidValue { pos: 17, message: "the list after -in is empty".into() },
            ),
            (
                "device.model -in [\"a\",]",
                FilterError::Expected {
                    pos: 22,
                    expected: "a quoted string in the list after -in".into(),
                    found: "']'".into(),
                },
            ),
            (
                "device.model -in [\"a\" \"b\"]",
                FilterError::Expected { pos: 22, expected: "',' or ']'".into(), found: "the string \"b\"".into() },
            ),
            (
                "device.model -startsWith null",
                FilterError::InvalidValue {
                    pos: 25,
                    message: "null can only be compared with -eq or -ne, not -startsWith".into(),
                },
            ),
            (
                "device.model -eq \"x\" -and CustomSecurityAttribute.A_b -eq \"y\"",
                FilterError::MixedAttributes { pos: 26 },
            ),
            (
                "device.model -eq \"x\" device.model -eq \"y\"",
                FilterError::Expected {
                    pos: 21,
                    expected: "-and, -or or the end of the rule".into(),
                    found: "device.model".into(),
                },
            ),
            ("device.model -eq \"x\" & 1", FilterError::UnexpectedChar { pos: 21, found: '&' }),
            (
                "",
                FilterError::Expected {
                    pos: 0,
                    expected: "an attribute such as device.model, '(' or -not".into(),
                    found: "the end of the rule".into(),
                },
            ),
            (
                "device.model - eq \"x\"",
                FilterError::Expected { pos: 14, expected: "an operator name after '-'".into(), found: "' '".into() },
            ),
            (
                "device.model -and \"x\"",
                FilterError::Expected {
                    pos: 13,
                    expected: "a comparison operator such as -eq after device.model".into(),
                    found: "-and".into(),
                },
            ),
        ];
        for (rule, want) in cases {
            let got = err(rule);
            assert_eq!(&got, want, "{rule}");
            assert_eq!(got.position(), want.position());
        }
        assert_eq!(
            err("device.model -eq True").to_string(),
            "at 17: expected a quoted string after -eq, found True"
        );
        assert_eq!(
            err("device.model -eq \"Surface").to_string(),
            "at 17: unterminated string: the quote opened here is never closed"
        );
        assert!(matches!(err("   "), FilterError::Expected { pos: 3, .. }));
        assert!(matches!(
            err("CustomSecurityAttribute.Set.Attr -eq \"x\""),
            FilterError::UnknownAttribute { pos: 0, .. }
        ));
        assert!(matches!(
            err("user.department -eq \"x\""),
            FilterError::UnknownAttribute { pos: 0, .. }
        ));
        assert!(matches!(
            err("device.physicalIds -any _ -startsWith \"x\""),
            FilterError::UnsupportedOperator { .. }
        ));
    }

    #[test]
    fn limits() {
        let long = format!("device.model -eq \"{}\"", "x".repeat(MAX_RULE_CHARS));
        assert_eq!(
            err(&long),
            FilterError::TooLong {
                pos: MAX_RULE_CHARS
            }
        );
        let deep = format!(
            "{}device.model -eq \"x\"{}",
            "(".repeat(MAX_NESTING + 1),
            ")".repeat(MAX_NESTING + 1)
        );
        assert_eq!(
            err(&deep),
            FilterError::TooDeep {
                pos: MAX_NESTING,
                max: MAX_NESTING
            }
        );
        let ok = format!(
            "{}device.model -eq \"x\"{}",
            "(".repeat(MAX_NESTING),
            ")".repeat(MAX_NESTING)
        );
        assert!(Filter::parse(&ok).is_ok());
        let nots = format!("{}device.model -eq \"x\"", "-not ".repeat(MAX_NESTING + 1));
        assert!(matches!(err(&nots), FilterError::TooDeep { .. }));
        // Positions count characters, not bytes.
        assert_eq!(
            err("device.model –eq \"é"),
            FilterError::UnterminatedString { pos: 17 }
        );
    }

    // -----------------------------------------------------------------------------------------
    // Property tests

    fn arb_string() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![4 => any::<char>(), 1 => Just('"'), 1 => Just('`'), 1 => Just('\''), 1 => Just(' ')],
            0..8,
        )
        .prop_map(|v| v.into_iter().collect())
    }

    fn arb_device_attribute() -> impl Strategy<Value = Attribute> {
        prop_oneof![
            prop::sample::select(
                DEVICE_ATTRIBUTES
                    .iter()
                    .map(|(_, a)| *a)
                    .collect::<Vec<_>>()
            ),
            (1u8..=15).prop_map(DeviceAttribute::ExtensionAttribute),
        ]
        .prop_map(Attribute::Device)
    }

    fn arb_csa_attribute() -> impl Strategy<Value = Attribute> {
        "[A-Za-z][A-Za-z0-9]{0,6}_[A-Za-z][A-Za-z0-9_]{0,6}".prop_map(Attribute::CustomSecurity)
    }

    fn arb_comparison(attr: impl Strategy<Value = Attribute>) -> impl Strategy<Value = Expr> {
        (
            attr,
            any::<prop::sample::Index>(),
            any::<bool>(),
            arb_string(),
            prop::collection::vec(arb_string(), 1..4),
        )
            .prop_map(|(attribute, i, flag, s, list)| {
                let ops = attribute.supported_operators();
                let operator = *i.get(ops);
                let value = if operator.takes_list() {
                    Value::List(list)
                } else if attribute.is_boolean() {
                    if flag {
                        Value::Bool(s.len() % 2 == 0)
                    } else {
                        Value::Null
                    }
                } else if flag && matches!(operator, Operator::Eq | Operator::Ne) && s.is_empty() {
                    Value::Null
                } else {
                    Value::Str(s)
                };
                Expr::Cmp(Comparison {
                    attribute,
                    operator,
                    value,
                })
            })
    }

    fn arb_tree(leaf: BoxedStrategy<Expr>) -> impl Strategy<Value = Expr> {
        leaf.prop_recursive(5, 24, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|e| Expr::Not(Box::new(e))),
                (inner.clone(), inner.clone())
                    .prop_map(|(a, b)| Expr::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Expr::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    fn arb_expr() -> impl Strategy<Value = Expr> {
        prop_oneof![
            arb_tree(arb_comparison(arb_device_attribute()).boxed()),
            arb_tree(arb_comparison(arb_csa_attribute()).boxed()),
        ]
    }

    const SOUP: &[&str] = &[
        "device.model",
        "device.isCompliant",
        "device.physicalIds",
        "CustomSecurityAttribute.A_b",
        "-eq",
        "-ne",
        "-in",
        "-notIn",
        "-contains",
        "-startsWith",
        "–eq",
        "eq",
        "-and",
        "-or",
        "-not",
        "-match",
        "(",
        ")",
        "[",
        "]",
        ",",
        "\"x\"",
        "'y'",
        "\"",
        "'",
        "`",
        "True",
        "null",
        "==",
        "-",
        "–",
        "é",
        "device.",
    ];

    proptest! {
        #[test]
        fn printed_ast_round_trips(expr in arb_expr()) {
            let f = Filter { expr };
            let printed = f.to_string();
            prop_assume!(printed.chars().count() <= MAX_RULE_CHARS);
            let back = Filter::parse(&printed);
            prop_assert_eq!(back.as_ref(), Ok(&f), "printed: {}", printed);
        }

        #[test]
        fn parse_never_panics(s in any::<String>()) {
            if let Ok(f) = Filter::parse(&s) {
                prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f.clone()));
                let _ = f.evaluate(&|_| None);
            }
        }

        #[test]
        fn parse_never_panics_on_token_soup(toks in prop::collection::vec(prop::sample::select(SOUP), 0..16)) {
            let s = toks.join(" ");
            if let Ok(f) = Filter::parse(&s) {
                prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f.clone()));
                let _ = f.evaluate_unregistered();
            }
            let _ = Filter::parse(&toks.concat());
        }
    }
}
