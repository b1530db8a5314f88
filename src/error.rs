//! The one error type of the crate and the registry of stable error codes.
//!
//! Every failure a caller can see carries a [`Code`]: a dotted, lower-case,
//! stable string written out explicitly below (never derived from variant
//! names, so renaming a variant cannot change the wire contract). The list in
//! `docs/errors.md` is checked against [`Code::ALL`] by a test.

use std::fmt;

/// A stable, machine-readable error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    // --- input / JSON -----------------------------------------------------
    JsonSyntax,
    JsonTooDeep,
    InputTooLarge,
    // --- AuthZEN requests -------------------------------------------------
    RequestInvalid,
    EvaluationsSemantic,
    SearchInvalid,
    SearchPageToken,
    SearchLimit,
    // --- graph / capture batches -------------------------------------------
    GraphBatchInvalid,
    GraphBatchTooLarge,
    GraphEmptyId,
    GraphInvalidType,
    GraphInvalidValue,
    GraphUnknownNode,
    SnapshotCorrupt,
    SnapshotVersion,
    SnapshotChecksum,
    // --- cypher -----------------------------------------------------------
    CypherSyntax,
    CypherUnterminatedString,
    CypherInvalidNumber,
    CypherMutatingClause,
    CypherReturnNotAllowed,
    CypherUseNotAllowed,
    CypherCallNotAllowed,
    CypherUnsupported,
    CypherUndefinedVariable,
    CypherInvalidRange,
    CypherInvalidRegex,
    CypherTooLong,
    CypherTooDeep,
    // --- policies ---------------------------------------------------------
    PolicyInvalid,
    PolicyVersionMissing,
    PolicyVersionUnsupported,
    PolicyNotAuthorization,
    PolicyMissingCondition,
    PolicyFilterInvalid,
    PolicyFilterTooDeep,
    PolicyParameterInvalid,
    PolicyDuplicateId,
    PolicyTooLarge,
    PolicyTooMany,
    // --- evaluation reasons (decision context, not exceptions) -------------
    NoApplicablePolicy,
    MissingInputParam,
    BudgetExhausted,
    TokenSubjectMismatch,
    TokenNotPermitted,
    // --- tokens -----------------------------------------------------------
    TokenMalformed,
    TokenTooLarge,
    TokenSignature,
    TokenExpired,
    TokenNotYetValid,
    TokenIssuer,
    TokenAudience,
    TokenAlgNotAllowed,
    TokenUnknownKid,
    TokenKeyMismatch,
    TokenMissingClaim,
    TokenNoVerifier,
    JwksInvalid,
    // --- limits -----------------------------------------------------------
    LimitPathLength,
    LimitInList,
    // --- configuration ----------------------------------------------------
    ConfigInvalid,
}

impl Code {
    /// Every code, in registry order (used by the docs sync test).
    pub const ALL: &'static [Code] = &[
        Code::JsonSyntax,
        Code::JsonTooDeep,
        Code::InputTooLarge,
        Code::RequestInvalid,
        Code::EvaluationsSemantic,
        Code::SearchInvalid,
        Code::SearchPageToken,
        Code::SearchLimit,
        Code::GraphBatchInvalid,
        Code::GraphBatchTooLarge,
        Code::GraphEmptyId,
        Code::GraphInvalidType,
        Code::GraphInvalidValue,
        Code::GraphUnknownNode,
        Code::SnapshotCorrupt,
        Code::SnapshotVersion,
        Code::SnapshotChecksum,
        Code::CypherSyntax,
        Code::CypherUnterminatedString,
        Code::CypherInvalidNumber,
        Code::CypherMutatingClause,
        Code::CypherReturnNotAllowed,
        Code::CypherUseNotAllowed,
        Code::CypherCallNotAllowed,
        Code::CypherUnsupported,
        Code::CypherUndefinedVariable,
        Code::CypherInvalidRange,
        Code::CypherInvalidRegex,
        Code::CypherTooLong,
        Code::CypherTooDeep,
        Code::PolicyInvalid,
        Code::PolicyVersionMissing,
        Code::PolicyVersionUnsupported,
        Code::PolicyNotAuthorization,
        Code::PolicyMissingCondition,
        Code::PolicyFilterInvalid,
        Code::PolicyFilterTooDeep,
        Code::PolicyParameterInvalid,
        Code::PolicyDuplicateId,
        Code::PolicyTooLarge,
        Code::PolicyTooMany,
        Code::NoApplicablePolicy,
        Code::MissingInputParam,
        Code::BudgetExhausted,
        Code::TokenSubjectMismatch,
        Code::TokenNotPermitted,
        Code::TokenMalformed,
        Code::TokenTooLarge,
        Code::TokenSignature,
        Code::TokenExpired,
        Code::TokenNotYetValid,
        Code::TokenIssuer,
        Code::TokenAudience,
        Code::TokenAlgNotAllowed,
        Code::TokenUnknownKid,
        Code::TokenKeyMismatch,
        Code::TokenMissingClaim,
        Code::TokenNoVerifier,
        Code::JwksInvalid,
        Code::LimitPathLength,
        Code::LimitInList,
        Code::ConfigInvalid,
    ];

    /// The stable wire string of this code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::JsonSyntax => "json.syntax",
            Code::JsonTooDeep => "json.too_deep",
            Code::InputTooLarge => "input.too_large",
            Code::RequestInvalid => "request.invalid",
            Code::EvaluationsSemantic => "request.evaluations_semantic",
            Code::SearchInvalid => "search.invalid",
            Code::SearchPageToken => "search.page_token",
            Code::SearchLimit => "search.limit",
            Code::GraphBatchInvalid => "graph.batch_invalid",
            Code::GraphBatchTooLarge => "graph.batch_too_large",
            Code::GraphEmptyId => "graph.empty_id",
            Code::GraphInvalidType => "graph.invalid_type",
            Code::GraphInvalidValue => "graph.invalid_value",
            Code::GraphUnknownNode => "graph.unknown_node",
            Code::SnapshotCorrupt => "snapshot.corrupt",
            Code::SnapshotVersion => "snapshot.version",
            Code::SnapshotChecksum => "snapshot.checksum",
            Code::CypherSyntax => "cypher.syntax",
            Code::CypherUnterminatedString => "cypher.unterminated_string",
            Code::CypherInvalidNumber => "cypher.invalid_number",
            Code::CypherMutatingClause => "cypher.mutating_clause",
            Code::CypherReturnNotAllowed => "cypher.return_not_allowed",
            Code::CypherUseNotAllowed => "cypher.use_not_allowed",
            Code::CypherCallNotAllowed => "cypher.call_not_allowed",
            Code::CypherUnsupported => "cypher.unsupported",
            Code::CypherUndefinedVariable => "cypher.undefined_variable",
            Code::CypherInvalidRange => "cypher.invalid_range",
            Code::CypherInvalidRegex => "cypher.invalid_regex",
            Code::CypherTooLong => "cypher.too_long",
            Code::CypherTooDeep => "cypher.too_deep",
            Code::PolicyInvalid => "policy.invalid",
            Code::PolicyVersionMissing => "policy.version_missing",
            Code::PolicyVersionUnsupported => "policy.version_unsupported",
            Code::PolicyNotAuthorization => "policy.not_authorization",
            Code::PolicyMissingCondition => "policy.missing_condition",
            Code::PolicyFilterInvalid => "policy.filter_invalid",
            Code::PolicyFilterTooDeep => "policy.filter_too_deep",
            Code::PolicyParameterInvalid => "policy.parameter_invalid",
            Code::PolicyDuplicateId => "policy.duplicate_id",
            Code::PolicyTooLarge => "policy.too_large",
            Code::PolicyTooMany => "policy.too_many",
            Code::NoApplicablePolicy => "no_applicable_policy",
            Code::MissingInputParam => "missing_input_param",
            Code::BudgetExhausted => "budget_exhausted",
            Code::TokenSubjectMismatch => "token_subject_mismatch",
            Code::TokenNotPermitted => "token_not_permitted",
            Code::TokenMalformed => "token.malformed",
            Code::TokenTooLarge => "token.too_large",
            Code::TokenSignature => "token.signature",
            Code::TokenExpired => "token.expired",
            Code::TokenNotYetValid => "token.not_yet_valid",
            Code::TokenIssuer => "token.issuer",
            Code::TokenAudience => "token.audience",
            Code::TokenAlgNotAllowed => "token.alg_not_allowed",
            Code::TokenUnknownKid => "token.unknown_kid",
            Code::TokenKeyMismatch => "token.key_mismatch",
            Code::TokenMissingClaim => "token.missing_claim",
            Code::TokenNoVerifier => "token.no_verifier",
            Code::JwksInvalid => "jwks.invalid",
            Code::LimitPathLength => "limits.path_length",
            Code::LimitInList => "limits.in_list",
            Code::ConfigInvalid => "config.invalid",
        }
    }

    /// One line for the registry in `docs/errors.md`.
    pub fn summary(self) -> &'static str {
        match self {
            Code::JsonSyntax => "input is not valid JSON (truncated, garbage, lone surrogate, …)",
            Code::JsonTooDeep => "JSON nesting deeper than the limit",
            Code::InputTooLarge => "request, batch or document larger than the configured byte limit",
            Code::RequestInvalid => "AuthZEN request has the wrong shape (missing subject/action/resource, wrong types)",
            Code::EvaluationsSemantic => "unknown `options.evaluations_semantic` value",
            Code::SearchInvalid => "search request has the wrong shape (e.g. the input entity lacks `id`)",
            Code::SearchPageToken => "page token is malformed, from another query, or from an older snapshot",
            Code::SearchLimit => "page limit is negative or not an integer",
            Code::GraphBatchInvalid => "capture batch has the wrong shape; nothing was applied",
            Code::GraphBatchTooLarge => "capture batch has more items than the limit; nothing was applied",
            Code::GraphEmptyId => "an external_id or type is empty or too long; nothing was applied",
            Code::GraphInvalidType => "a node, relationship or property type name is invalid; nothing was applied",
            Code::GraphInvalidValue => "a property value has a type the graph cannot store; nothing was applied",
            Code::GraphUnknownNode => "a relationship names a node that does not exist; nothing was applied",
            Code::SnapshotCorrupt => "binary snapshot is truncated or structurally invalid",
            Code::SnapshotVersion => "binary snapshot has an unknown format version",
            Code::SnapshotChecksum => "binary snapshot checksum does not match its contents",
            Code::CypherSyntax => "Cypher text could not be parsed (line and column given)",
            Code::CypherUnterminatedString => "a Cypher string literal is not closed",
            Code::CypherInvalidNumber => "a Cypher number literal is out of range or malformed",
            Code::CypherMutatingClause => "CREATE, MERGE, SET, DELETE, DETACH or REMOVE in a policy",
            Code::CypherReturnNotAllowed => "RETURN in a policy condition",
            Code::CypherUseNotAllowed => "USE in a policy condition (graph selection is not supported locally)",
            Code::CypherCallNotAllowed => "CALL in a policy condition",
            Code::CypherUnsupported => "a Cypher construct outside the supported subset (named in the message)",
            Code::CypherUndefinedVariable => "an expression names a variable no pattern binds",
            Code::CypherInvalidRange => "a variable-length range is invalid (min > max, too large)",
            Code::CypherInvalidRegex => "a regular expression does not compile",
            Code::CypherTooLong => "Cypher text longer than the limit",
            Code::CypherTooDeep => "Cypher expression nesting deeper than the limit",
            Code::PolicyInvalid => "policy JSON has the wrong shape (path given)",
            Code::PolicyVersionMissing => "policy has no `meta.policy_version`",
            Code::PolicyVersionUnsupported => "policy version is not one this engine evaluates",
            Code::PolicyNotAuthorization => "a `1.0-ciq` policy: a data-access policy, not an authorization policy",
            Code::PolicyMissingCondition => "policy has no `condition.cypher`",
            Code::PolicyFilterInvalid => "policy filter tree is malformed (operands, operator, value; path given)",
            Code::PolicyFilterTooDeep => "policy filter nesting deeper than the limit",
            Code::PolicyParameterInvalid => "a `$` reference in a policy is malformed or reserved",
            Code::PolicyDuplicateId => "two policy records share an id",
            Code::PolicyTooLarge => "policy text larger than the limit",
            Code::PolicyTooMany => "more policies than the limit",
            Code::NoApplicablePolicy => "decision reason: no ACTIVE policy matches subject type, action and resource type",
            Code::MissingInputParam => "decision reason: a policy needs a `$param` that `context.input_params` lacks",
            Code::BudgetExhausted => "decision reason: the per-evaluation work budget ran out",
            Code::TokenSubjectMismatch => "decision reason: the verified token belongs to another subject",
            Code::TokenNotPermitted => "decision reason: a down-scoped token does not list this resource or scope",
            Code::TokenMalformed => "token is not a well-formed compact JWS",
            Code::TokenTooLarge => "token is longer than the configured maximum",
            Code::TokenSignature => "token signature does not verify",
            Code::TokenExpired => "token `exp` is in the past (beyond leeway)",
            Code::TokenNotYetValid => "token `nbf` is in the future (beyond leeway)",
            Code::TokenIssuer => "token `iss` is not the configured issuer",
            Code::TokenAudience => "token `aud` does not contain a configured audience",
            Code::TokenAlgNotAllowed => "token `alg` is `none` or not in the allowed list",
            Code::TokenUnknownKid => "no key in the JWKS matches the token's `kid`",
            Code::TokenKeyMismatch => "token `alg` does not fit the selected key's type",
            Code::TokenMissingClaim => "a required claim is missing from the token",
            Code::TokenNoVerifier => "a token was given but no JWKS or secret is configured",
            Code::JwksInvalid => "the JWKS document is not a valid key set",
            Code::LimitPathLength => "a variable-length range exceeds the configured maximum path length",
            Code::LimitInList => "an `IN` list is longer than the limit",
            Code::ConfigInvalid => "engine configuration is invalid",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the input an error was found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    /// JSON path such as `nodes[3].external_id` or `condition.filter.operands[1]`.
    pub path: Option<String>,
    /// 1-based line in Cypher text.
    pub line: Option<u32>,
    /// 1-based column (in characters) in Cypher text.
    pub column: Option<u32>,
}

/// An error with a stable [`Code`], a one-line message and an optional location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: Code,
    message: String,
    location: Location,
}

impl Error {
    /// A new error without location.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), location: Location::default() }
    }

    /// Attach (or replace) the JSON path.
    #[must_use]
    pub fn at_path(mut self, path: impl Into<String>) -> Self {
        self.location.path = Some(path.into());
        self
    }

    /// Prefix the JSON path with a parent segment (`policies[2]` + `.subject`).
    #[must_use]
    pub fn under(mut self, parent: &str) -> Self {
        self.location.path = Some(match self.location.path.take() {
            None => parent.to_string(),
            Some(p) if p.starts_with('[') => format!("{parent}{p}"),
            Some(p) => format!("{parent}.{p}"),
        });
        self
    }

    /// Attach a line/column position.
    #[must_use]
    pub fn at_position(mut self, line: u32, column: u32) -> Self {
        self.location.line = Some(line);
        self.location.column = Some(column);
        self
    }

    /// The stable code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// The human-readable one-line message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where it happened, if known.
    pub fn location(&self) -> &Location {
        &self.location
    }

    /// The wire form `{"code","message","path"?,"line"?,"column"?}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        m.insert("code".into(), self.code.as_str().into());
        m.insert("message".into(), self.message.clone().into());
        if let Some(p) = &self.location.path {
            m.insert("path".into(), p.clone().into());
        }
        if let Some(l) = self.location.line {
            m.insert("line".into(), l.into());
        }
        if let Some(c) = self.location.column {
            m.insert("column".into(), c.into());
        }
        serde_json::Value::Object(m)
    }

    /// `{"error": {...}}` as a compact string: the error answer of every `*_json` entry point.
    pub fn to_wire(&self) -> String {
        let mut m = serde_json::Map::new();
        m.insert("error".into(), self.to_json());
        serde_json::Value::Object(m).to_string()
    }

    /// Map a serde_json parse error to `json.syntax` / `json.too_deep` with its position.
    pub fn from_json(err: &serde_json::Error, what: &str) -> Self {
        let msg = err.to_string();
        if msg.contains("recursion limit") {
            Error::new(Code::JsonTooDeep, format!("{what} nests deeper than the JSON limit"))
        } else if err.is_data() {
            Error::new(Code::JsonSyntax, format!("{what} does not have the expected shape: {msg}"))
        } else {
            let line = u32::try_from(err.line()).unwrap_or(u32::MAX);
            let column = u32::try_from(err.column()).unwrap_or(u32::MAX);
            Error::new(Code::JsonSyntax, format!("{what} is not valid JSON: {}", strip_position(&msg)))
                .at_position(line, column)
        }
    }
}

fn strip_position(msg: &str) -> &str {
    msg.split(" at line ").next().unwrap_or(msg)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(p) = &self.location.path {
            write!(f, " (at {p})")?;
        }
        if let (Some(l), Some(c)) = (self.location.line, self.location.column) {
            write!(f, " (line {l}, column {c})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
