//! Sign-in error codes (`status.errorCode`, the number after `AADSTS`) and what they say about
//! Conditional Access, plus the logged baseline built from them.
//!
//! Every grouping below rests on the text of Microsoft's AADSTS reference
//! (<https://learn.microsoft.com/entra/identity-platform/reference-error-codes>); the few codes
//! taken from other Microsoft pages name that page. `SEMANTICS.md` ("Sign-in error codes")
//! has the same table with the quoted reasons, and says why some codes that look related
//! (50058, 50125, 50135, 530035, 70044, ...) are deliberately not in a Conditional Access group.

use crate::model::Tri;

/// What a sign-in error code says about Conditional Access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Code 0: the sign-in succeeded.
    Success,
    /// Primary (first-factor) authentication did not succeed, so Conditional Access was not
    /// evaluated: wrong or expired credential, unknown, locked or disabled account.
    FirstFactorFailure,
    /// Conditional Access (or the MFA requirement it shares codes with) stopped the sign-in to
    /// ask for something the user can provide: MFA, MFA registration, an external challenge,
    /// reauthentication, a password change, device authentication.
    CaInterrupt,
    /// Conditional Access refused the sign-in: block control or a control the client cannot
    /// satisfy (non-compliant device, unapproved app, ...).
    CaBlock,
    /// Any other code, known or not: it does not decide the Conditional Access outcome.
    Other,
}

/// One documented code: its group and a short description in the reference's words.
struct Entry {
    code: i64,
    outcome: Outcome,
    text: &'static str,
}

const fn e(code: i64, outcome: Outcome, text: &'static str) -> Entry {
    Entry {
        code,
        outcome,
        text,
    }
}

use Outcome::{CaBlock, CaInterrupt, FirstFactorFailure, Other};

/// The table, sorted by code (checked by a test) so lookups can binary-search. One code per
/// line, so it reads as the table it is.
#[rustfmt::skip]
const TABLE: &[Entry] = &[
    e(50005, CaBlock, "DevicePolicyError: platform not supported through Conditional Access policy"),
    e(50012, FirstFactorFailure, "AuthenticationFailed: certificate or client assertion rejected"),
    e(50014, FirstFactorFailure, "GuestUserInPendingState: the user account doesn't exist in the directory"),
    e(50017, FirstFactorFailure, "CertificateValidationFailed: certificate validation failed"),
    e(50020, FirstFactorFailure, "UserUnauthorized: account from this identity provider doesn't exist in the tenant"),
    e(50034, FirstFactorFailure, "UserAccountNotFound: the account doesn't exist in the directory"),
    e(50053, FirstFactorFailure, "IdsLocked: account locked after repeated sign-in attempts, or IP with malicious activity blocked"),
    e(50055, FirstFactorFailure, "InvalidPasswordExpiredPassword: the password is expired"),
    e(50056, FirstFactorFailure, "Invalid or null password: no password in the directory for this user"),
    e(50057, FirstFactorFailure, "UserDisabled: the user account is disabled"),
    e(50058, Other, "UserInformationNotProvided: no usable single sign-on session (silent sign-in; the user isn't signed in)"),
    e(50059, FirstFactorFailure, "MissingTenantRealmAndNoUserInformationProvided: no tenant or user could be identified"),
    e(50064, FirstFactorFailure, "CredentialAuthenticationError: credential validation on username or password failed"),
    e(50072, CaInterrupt, "UserStrongAuthEnrollmentRequiredInterrupt: user needs to enroll for second factor authentication"),
    e(50074, CaInterrupt, "UserStrongAuthClientAuthNRequiredInterrupt: strong authentication required, MFA challenge not passed"),
    e(50076, CaInterrupt, "UserStrongAuthClientAuthNRequired: multifactor authentication required (Conditional Access, per-user MFA or new location)"),
    e(50078, CaInterrupt, "UserStrongAuthExpired: presented multifactor authentication has expired"),
    e(50079, CaInterrupt, "UserStrongAuthEnrollmentRequired: user must register security info for multifactor authentication"),
    e(50089, FirstFactorFailure, "Flow token expired: the app must request a new sign-in"),
    e(50097, CaInterrupt, "DeviceAuthenticationRequired: device authentication is required"),
    e(50125, Other, "PasswordResetRegistrationRequiredInterrupt: interrupted for password reset or password reset registration"),
    e(50126, FirstFactorFailure, "InvalidUserNameOrPassword: invalid username or password"),
    e(50127, Other, "BrokerAppNotInstalled: user needs to install a broker app"),
    e(50129, Other, "DeviceIsNotWorkplaceJoined: workplace join is required to register the device"),
    e(50131, CaBlock, "ConditionalAccessFailed: various Conditional Access errors (device state, suspicious activity, access or security policy)"),
    e(50132, FirstFactorFailure, "SsoArtifactInvalidOrExpired: session invalid after password expiration or change"),
    e(50133, FirstFactorFailure, "SsoArtifactRevoked: session invalid after password expiration or change"),
    e(50135, Other, "PasswordChangeCompromisedPassword: password change required due to account risk"),
    e(50137, Other, "Password needs to be changed due to security policy rule"),
    e(50140, Other, "KmsiInterrupt: \"Keep me signed in\" prompt"),
    e(50142, CaInterrupt, "Password change is required due to a Conditional Access policy"),
    e(50144, FirstFactorFailure, "InvalidPasswordExpiredOnPremPassword: Active Directory password has expired"),
    e(50155, Other, "DeviceAuthenticationFailed: device authentication failed for this user"),
    e(50158, CaInterrupt, "ExternalSecurityChallenge: redirected to satisfy an external challenge (terms of use, third-party MFA)"),
    e(50173, FirstFactorFailure, "FreshTokenNeeded: grant revoked, a fresh sign-in is needed"),
    e(50192, FirstFactorFailure, "RawCredentialExpectedNotFound: no credential was included in the sign-in request"),
    e(50199, Other, "CmsiInterrupt: user confirmation required for this app"),
    e(51004, FirstFactorFailure, "UserAccountNotInDirectory: the user account doesn't exist in the directory"),
    e(53000, CaBlock, "DeviceNotCompliant: Conditional Access requires a compliant device"),
    e(53001, CaBlock, "DeviceNotDomainJoined: Conditional Access requires a domain joined device"),
    e(53002, CaBlock, "ApplicationUsedIsNotAnApprovedApp: not an approved app for Conditional Access"),
    e(53003, CaBlock, "BlockedByConditionalAccess: access blocked by Conditional Access policies"),
    e(53004, CaBlock, "ProofUpBlockedDueToRisk: MFA registration blocked, user must complete registration first"),
    e(53009, CaBlock, "Application needs to enforce Intune protection policies"),
    e(53010, CaBlock, "ProofUpBlockedDueToSecurityInfoAcr: security info can only be registered from specific locations or devices"),
    e(53011, CaBlock, "User blocked due to risk on home tenant"),
    e(70002, FirstFactorFailure, "InvalidClient: client credentials (client_secret) not valid"),
    e(70008, FirstFactorFailure, "ExpiredOrRevokedGrant: refresh token expired due to inactivity"),
    e(70043, CaInterrupt, "BadTokenDueToSignInFrequency: refresh token invalid due to Conditional Access sign-in frequency"),
    e(80001, FirstFactorFailure, "OnPremiseStoreIsNotAvailable: authentication agent can't reach Active Directory"),
    e(80002, FirstFactorFailure, "OnPremisePasswordValidatorRequestTimedout: password validation timed out"),
    e(80005, FirstFactorFailure, "OnPremisePasswordValidatorUnpredictableWebException: authentication agent error"),
    e(80007, FirstFactorFailure, "OnPremisePasswordValidatorErrorOccurredOnPrem: agent unable to validate the password"),
    e(80010, FirstFactorFailure, "OnPremisePasswordValidationEncryptionException: agent unable to decrypt the password"),
    e(80012, FirstFactorFailure, "OnPremisePasswordValidationAccountLogonInvalidHours: sign-in outside the allowed hours"),
    e(80013, FirstFactorFailure, "OnPremisePasswordValidationTimeSkew: time skew between agent and AD"),
    e(80014, FirstFactorFailure, "OnPremisePasswordValidationAuthenticationAgentTimeout: validation exceeded the maximum time"),
    e(81004, FirstFactorFailure, "DesktopSsoIdentityInTicketIsNotAuthenticated: Kerberos authentication failed"),
    e(81005, FirstFactorFailure, "DesktopSsoAuthenticationPackageNotSupported: authentication package not supported"),
    e(81006, FirstFactorFailure, "DesktopSsoNoAuthorizationHeader: no authorization header was found"),
    e(81007, FirstFactorFailure, "DesktopSsoTenantIsNotOptIn: tenant isn't enabled for Seamless SSO"),
    e(81009, FirstFactorFailure, "DesktopSsoAuthorizationHeaderValueWithBadFormat: unable to validate the Kerberos ticket"),
    e(81010, FirstFactorFailure, "DesktopSsoAuthTokenInvalid: Kerberos ticket expired or invalid"),
    e(81011, FirstFactorFailure, "DesktopSsoLookupUserBySidFailed: no user for the Kerberos ticket"),
    e(81012, FirstFactorFailure, "DesktopSsoMismatchBetweenTokenUpnAndChosenUpn: user differs from the user signed in to the device"),
    e(130004, FirstFactorFailure, "NgcKeyNotFound: no NGC (Windows Hello) key configured"),
    e(130005, FirstFactorFailure, "NgcInvalidSignature: NGC key signature verification failed"),
    e(130006, FirstFactorFailure, "NgcTransportKeyNotFound: NGC transport key not configured on the device"),
    e(130007, FirstFactorFailure, "NgcDeviceIsDisabled: the device is disabled"),
    e(130008, FirstFactorFailure, "NgcDeviceIsNotFound: the device of the NGC key wasn't found"),
    e(530032, CaBlock, "BlockedByConditionalAccessOnSecurityPolicy: a tenant security policy blocks this request"),
    e(530034, CaBlock, "DelegatedAdminBlockedDueToSuspiciousActivity: delegated admin blocked due to home-tenant account risk"),
    e(530035, Other, "BlockedBySecurityDefaults: access blocked by security defaults"),
    e(530036, CaBlock, "Refresh token invalid due to Conditional Access authentication flow checks"),
    e(700027, FirstFactorFailure, "Client assertion failed signature validation"),
    e(700082, FirstFactorFailure, "ExpiredOrRevokedGrantInactiveToken: refresh token expired due to inactivity"),
    e(700084, FirstFactorFailure, "Single-page-app refresh token reached its fixed lifetime"),
    e(7000215, FirstFactorFailure, "Invalid client secret is provided"),
    e(7000222, FirstFactorFailure, "InvalidClientSecretExpiredKeysProvided: client secret keys are expired"),
];

fn entry(code: i64) -> Option<&'static Entry> {
    TABLE
        .binary_search_by_key(&code, |x| x.code)
        .ok()
        .map(|i| &TABLE[i])
}

/// Classifies a sign-in error code (`status.errorCode`, `ResultType`).
pub fn classify(code: i64) -> Outcome {
    if code == 0 {
        return Outcome::Success;
    }
    entry(code).map_or(Outcome::Other, |x| x.outcome)
}

/// A short description of a documented code, in the AADSTS reference's words.
pub fn describe(code: i64) -> Option<&'static str> {
    if code == 0 {
        return Some("Success");
    }
    entry(code).map(|x| x.text)
}

/// Whether primary authentication had completed when the sign-in ended, i.e. whether
/// Conditional Access was reached: `Yes` for success and for Conditional Access interrupts and
/// blocks, `No` for first-factor failures and for 50058 (no signed-in user), `Unknown` for
/// every other code.
pub fn primary_auth_completed(code: i64) -> Tri {
    match classify(code) {
        Outcome::Success | Outcome::CaInterrupt | Outcome::CaBlock => Tri::Yes,
        Outcome::FirstFactorFailure => Tri::No,
        Outcome::Other if code == 50058 => Tri::No,
        Outcome::Other => Tri::Unknown,
    }
}

/// Lowercases ASCII letters and digits and drops everything else, so `notApplied`,
/// `Not Applied` and `not_applied` compare equal; `None` if the result would not fit.
fn squash<'a>(s: &str, buf: &'a mut [u8; 48]) -> Option<&'a str> {
    let mut n = 0;
    for b in s.bytes().filter(u8::is_ascii_alphanumeric) {
        *buf.get_mut(n)? = b.to_ascii_lowercase();
        n += 1;
    }
    std::str::from_utf8(&buf[..n]).ok()
}

/// The overall status S the log itself records, in the contract's vocabulary
/// (`notApplied`, `success`, `interrupted`, `failure`, `indeterminate`).
///
/// A Conditional Access interrupt or block code decides, whatever `conditionalAccessStatus`
/// says; a first-factor failure is `notApplied`. Otherwise (code 0, another code, or no code)
/// `conditionalAccessStatus` `success` and `notApplied` are taken as written; `failure` is
/// `indeterminate` because it covers both a block and an unsatisfied prompt (and contradicts
/// code 0); anything else, or nothing, is `indeterminate`.
pub fn logged_status(
    error_code: Option<i64>,
    conditional_access_status: Option<&str>,
) -> &'static str {
    match error_code.map(classify) {
        Some(Outcome::CaBlock) => return "failure",
        Some(Outcome::CaInterrupt) => return "interrupted",
        Some(Outcome::FirstFactorFailure) => return "notApplied",
        Some(Outcome::Success | Outcome::Other) | None => {}
    }
    let mut buf = [0u8; 48];
    match conditional_access_status.and_then(|s| squash(s, &mut buf)) {
        Some("success") => "success",
        Some("notapplied") => "notApplied",
        _ => "indeterminate",
    }
}

/// Maps a logged per-policy `result` (Graph `appliedConditionalAccessPolicyResult`, or the
/// portal's display words) to the contract's R vocabulary; `unknown`, `unknownFutureValue` and
/// anything unrecognised become `indeterminate`.
pub fn logged_policy_result(result: &str) -> &'static str {
    let mut buf = [0u8; 48];
    match squash(result, &mut buf) {
        Some("success") => "success",
        Some("failure") => "failure",
        Some("notapplied") => "notApplied",
        Some("notenabled" | "disabled") => "notEnabled",
        Some("reportonlysuccess") => "reportOnlySuccess",
        Some("reportonlyfailure") => "reportOnlyFailure",
        Some("reportonlyinterrupted" | "reportonlyuseractionrequired") => "reportOnlyInterrupted",
        Some("reportonlynotapplied") => "reportOnlyNotApplied",
        _ => "indeterminate",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written out independently of `TABLE`, from the reference text, so a misfiled entry fails.
    const FIRST_FACTOR: &[i64] = &[
        50012, 50014, 50017, 50020, 50034, 50053, 50055, 50056, 50057, 50059, 50064, 50089, 50126,
        50132, 50133, 50144, 50173, 50192, 51004, 70002, 70008, 80001, 80002, 80005, 80007, 80010,
        80012, 80013, 80014, 81004, 81005, 81006, 81007, 81009, 81010, 81011, 81012, 130004,
        130005, 130006, 130007, 130008, 700027, 700082, 700084, 7000215, 7000222,
    ];
    const INTERRUPTS: &[i64] = &[
        50072, 50074, 50076, 50078, 50079, 50097, 50142, 50158, 70043,
    ];
    const BLOCKS: &[i64] = &[
        50005, 50131, 53000, 53001, 53002, 53003, 53004, 53009, 53010, 53011, 530032, 530034,
        530036,
    ];
    /// Documented codes deliberately left out of the Conditional Access groups.
    const OTHER_DOCUMENTED: &[i64] = &[
        50058, 50125, 50127, 50129, 50135, 50137, 50140, 50155, 50199, 530035,
    ];
    /// Codes absent from the reference, or unrelated to Conditional Access.
    const UNLISTED: &[i64] = &[-1, 1, 16000, 50105, 65001, 70044, 90072, 999_999_999];

    #[test]
    fn table_is_sorted_and_unique() {
        assert!(TABLE.windows(2).all(|w| w[0].code < w[1].code));
    }

    #[test]
    fn every_documented_code_is_in_exactly_its_group() {
        let groups: [(&[i64], Outcome); 4] = [
            (FIRST_FACTOR, Outcome::FirstFactorFailure),
            (INTERRUPTS, Outcome::CaInterrupt),
            (BLOCKS, Outcome::CaBlock),
            (OTHER_DOCUMENTED, Outcome::Other),
        ];
        let mut listed = 0;
        for (codes, outcome) in groups {
            for &code in codes {
                assert_eq!(classify(code), outcome, "AADSTS{code}");
                assert!(
                    describe(code).is_some_and(|d| !d.is_empty()),
                    "AADSTS{code} has no description"
                );
                listed += 1;
            }
        }
        assert_eq!(
            listed,
            TABLE.len(),
            "a table entry is missing from the test lists"
        );
    }

    #[test]
    fn unlisted_codes_are_other_and_undescribed() {
        for &code in UNLISTED {
            assert_eq!(classify(code), Outcome::Other, "{code}");
            assert_eq!(describe(code), None, "{code}");
        }
        assert_eq!(classify(0), Outcome::Success);
        assert_eq!(describe(0), Some("Success"));
    }

    #[test]
    fn contract_examples_are_grouped_as_the_contract_says() {
        for code in [50074, 50076, 50079, 50158] {
            assert_eq!(logged_status(Some(code), None), "interrupted", "{code}");
        }
        for code in [53000, 53001, 53002, 53003, 53004, 530034] {
            assert_eq!(logged_status(Some(code), None), "failure", "{code}");
        }
        for code in [50126, 50053, 50057, 50055, 50034] {
            assert_eq!(logged_status(Some(code), None), "notApplied", "{code}");
        }
    }

    #[test]
    fn primary_authentication() {
        assert_eq!(primary_auth_completed(0), Tri::Yes);
        assert_eq!(primary_auth_completed(50076), Tri::Yes);
        assert_eq!(primary_auth_completed(53003), Tri::Yes);
        assert_eq!(primary_auth_completed(50126), Tri::No);
        assert_eq!(primary_auth_completed(50058), Tri::No);
        assert_eq!(primary_auth_completed(50140), Tri::Unknown);
        assert_eq!(primary_auth_completed(12345), Tri::Unknown);
    }

    #[test]
    fn logged_status_cases() {
        let cases: &[(Option<i64>, Option<&str>, &str)] = &[
            // Code 0: the status as written; failure contradicts a successful sign-in.
            (Some(0), Some("success"), "success"),
            (Some(0), Some("notApplied"), "notApplied"),
            (Some(0), Some("failure"), "indeterminate"),
            (Some(0), Some("unknownFutureValue"), "indeterminate"),
            (Some(0), None, "indeterminate"),
            (Some(0), Some(""), "indeterminate"),
            // Portal CSV and Log Analytics spellings.
            (Some(0), Some("Not Applied"), "notApplied"),
            (Some(0), Some("Success"), "success"),
            (Some(0), Some("notapplied"), "notApplied"),
            // Interrupt and block codes decide over any status.
            (Some(50076), Some("failure"), "interrupted"),
            (Some(50074), Some("success"), "interrupted"),
            (Some(50079), Some("notApplied"), "interrupted"),
            (Some(50158), None, "interrupted"),
            (Some(53003), Some("success"), "failure"),
            (Some(53000), Some("notApplied"), "failure"),
            (Some(530034), None, "failure"),
            // First-factor failures: Conditional Access was never evaluated.
            (Some(50126), Some("failure"), "notApplied"),
            (Some(50126), None, "notApplied"),
            (Some(50053), Some("success"), "notApplied"),
            // Other codes fall back to the status as written.
            (Some(50058), Some("notApplied"), "notApplied"),
            (Some(50140), Some("success"), "success"),
            (Some(65001), Some("failure"), "indeterminate"),
            (Some(70044), None, "indeterminate"),
            // No code at all.
            (None, Some("success"), "success"),
            (None, Some("notApplied"), "notApplied"),
            (None, Some("failure"), "indeterminate"),
            (None, None, "indeterminate"),
            (
                None,
                Some("a status far too long to be any documented conditional access status"),
                "indeterminate",
            ),
        ];
        for &(code, status, want) in cases {
            assert_eq!(
                logged_status(code, status),
                want,
                "code {code:?}, status {status:?}"
            );
        }
    }

    #[test]
    fn logged_policy_results() {
        let cases: &[(&str, &str)] = &[
            ("success", "success"),
            ("failure", "failure"),
            ("notApplied", "notApplied"),
            ("notEnabled", "notEnabled"),
            ("Disabled", "notEnabled"),
            ("reportOnlySuccess", "reportOnlySuccess"),
            ("reportOnlyFailure", "reportOnlyFailure"),
            ("reportOnlyInterrupted", "reportOnlyInterrupted"),
            ("reportOnlyNotApplied", "reportOnlyNotApplied"),
            ("Report-only: User action required", "reportOnlyInterrupted"),
            ("Report-only: Not applied", "reportOnlyNotApplied"),
            ("Not Applied", "notApplied"),
            ("unknown", "indeterminate"),
            ("unknownFutureValue", "indeterminate"),
            ("", "indeterminate"),
            ("granted", "indeterminate"),
        ];
        for &(logged, want) in cases {
            assert_eq!(logged_policy_result(logged), want, "{logged:?}");
        }
    }
}
