#!/usr/bin/env python3
"""Writes vigil's built-in sample tenant (Contoso) into this folder, deterministically.

    python3 samples/tenant/generate.py

The files are committed; `vigil demo` embeds them. Running the script again rewrites them
byte for byte (fixed seed). Every id is made up; IP addresses are from the documentation
ranges (RFC 5737) except the anonymizer range used for the attack sign-ins.

- directory.json           40 members, 2 guests, groups Finance / Sales / Break-glass, two
                           Global Administrators (the `--directory` format of CONTRACT-simulate.md)
- named-locations.json     Corporate HQ (trusted IP range), Blocked countries
- policies-current.json    the policies in force (the baseline of the demo)
- policies-candidate.json  the proposed set: the current ones plus four new policies, one of
                           them report-only, one disabled
- signins.json             300 sign-ins over three days (Graph v1.0 signIn list)
- signins/                 the same 300 sign-ins in every other export variant vigil reads
                           (`vigil ingest` normalizes each to the same values on the columns
                           that variant carries; tests/integration/ingest.rs checks it):
    signins.ndjson                                  NDJSON, one Graph signIn per line
    portal/InteractiveSignIns_2026-01-05_2026-01-07.csv
                                                    the Entra portal's CSV download
    portal/InteractiveSignIns_AuthDetails_2026-01-05_2026-01-07.csv
                                                    its authentication-details side file
    portal.json                                     the portal's JSON download (an array)
    SigninLogs.csv                                  Log Analytics SigninLogs, exported as CSV
    SigninLogs.json                                 the same rows exported as JSON
    diagnostic/PT1H.json                            diagnostic settings to a storage account,
                                                    one record per line
    diagnostic/records.json.gz                      an Event Hub `{"records":[...]}` body, gzip
- scores.csv               the AI engine's risk score for every sign-in, with its reasoning
- thresholds.toml          AI risk bands for `simulate --thresholds`
- audits.json              a Graph directoryAudit list: the partner onboarding agent enriching
                           the two guests' sign-ups (attribute updates) and assigning groups,
                           plus one change by the agent with no inference behind it
- ai-inferences.ndjson     the agent's inferences behind those changes, as `vigil ledger append
                           --kind inference` reads them (subject correlationId = the change's)
"""

import csv
import gzip
import io
import json
import random
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
rng = random.Random(20260105)
TENANT = "5d2a0e4f-7c1b-4e86-9a3d-2f6b8c0e1a47"


def gid(prefix, n):
    return f"{prefix}-0000-4000-8000-{n:012d}"


USERS = [gid("a0000000", n) for n in range(1, 43)]
GUESTS = USERS[40:]
FINANCE = USERS[0:6]
SALES = USERS[6:16]
BREAK_GLASS = [USERS[39]]
ADMINS = [USERS[37], USERS[38]]
GROUPS = {
    "Finance": gid("90000000", 1),
    "Sales": gid("90000000", 2),
    "Break-glass": gid("90000000", 3),
}
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
HQ = gid("10c00000", 1)
BLOCKED = gid("10c00000", 2)

APPS = [
    ("00000002-0000-0ff1-ce00-000000000000", "Office 365 Exchange Online", "00000002-0000-0ff1-ce00-000000000000"),
    ("00000003-0000-0ff1-ce00-000000000000", "Office 365 SharePoint Online", "00000003-0000-0ff1-ce00-000000000000"),
    ("1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams", "00000003-0000-0000-c000-000000000000"),
    ("c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal", "797f4846-ba00-4fd7-ba43-dac1f8f63013"),
    ("7d9c1f4e-2a6b-4c8d-9e0f-1a2b3c4d5e6f", "Contoso Expenses", "7d9c1f4e-2a6b-4c8d-9e0f-1a2b3c4d5e6f"),
]


def upn(u):
    n = USERS.index(u) + 1
    if u in GUESTS:
        return f"partner{n}_fabrikam.example#EXT#@contoso.example"
    return f"user{n}@contoso.example"


def directory():
    users = []
    for u in USERS:
        groups = [g for name, g in GROUPS.items()
                  if u in {"Finance": FINANCE, "Sales": SALES, "Break-glass": BREAK_GLASS}[name]]
        users.append({
            "id": u,
            "userPrincipalName": upn(u),
            "userType": "Guest" if u in GUESTS else "Member",
            "groups": groups,
            "roles": [GLOBAL_ADMIN] if u in ADMINS else [],
        })
    return {"users": users, "groups": [{"id": g, "displayName": n} for n, g in GROUPS.items()]}


def locations():
    return {"value": [
        {"@odata.type": "#microsoft.graph.ipNamedLocation", "id": HQ, "displayName": "Corporate HQ",
         "isTrusted": True, "ipRanges": [
             {"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": "203.0.113.0/24"},
             {"@odata.type": "#microsoft.graph.iPv6CidrRange", "cidrAddress": "2001:db8:10::/48"}]},
        {"@odata.type": "#microsoft.graph.countryNamedLocation", "id": BLOCKED,
         "displayName": "Blocked countries", "countriesAndRegions": ["KP", "IR"],
         "includeUnknownCountriesAndRegions": False, "countryLookupMethod": "clientIpAddress"},
    ]}


def policy(n, name, state, conditions, grant):
    c = {"users": {"includeUsers": ["All"]},
         "applications": {"includeApplications": ["All"]},
         "clientAppTypes": ["all"]}
    c.update(conditions)
    return {"id": gid("ca000000", n), "displayName": name, "state": state,
            "conditions": c, "grantControls": grant, "sessionControls": None}


def mfa():
    return {"operator": "OR", "builtInControls": ["mfa"]}


def block():
    return {"operator": "OR", "builtInControls": ["block"]}


def current_policies():
    return [
        policy(1, "CA001 Require MFA for administrators", "enabled",
               {"users": {"includeRoles": [GLOBAL_ADMIN], "excludeGroups": [GROUPS["Break-glass"]]}}, mfa()),
        policy(2, "CA002 Block legacy authentication", "enabled",
               {"clientAppTypes": ["exchangeActiveSync", "other"],
                "users": {"includeUsers": ["All"], "excludeGroups": [GROUPS["Break-glass"]]}}, block()),
        policy(3, "CA003 Block sign-ins from blocked countries", "enabled",
               {"locations": {"includeLocations": [BLOCKED]}}, block()),
        policy(4, "CA004 Require MFA for guests", "enabled",
               {"users": {"includeUsers": ["GuestsOrExternalUsers"]}}, mfa()),
    ]


def candidate_policies():
    return current_policies() + [
        policy(5, "CA005 Require MFA outside trusted locations", "enabled",
               {"users": {"includeUsers": ["All"], "excludeGroups": [GROUPS["Break-glass"]]},
                "locations": {"includeLocations": ["All"], "excludeLocations": ["AllTrusted"]}}, mfa()),
        policy(6, "CA006 Require MFA for medium and high sign-in risk", "enabled",
               {"signInRiskLevels": ["medium", "high"]}, mfa()),
        policy(7, "CA007 Finance needs a compliant device on Windows and macOS",
               "enabledForReportingButNotEnforced",
               {"users": {"includeGroups": [GROUPS["Finance"]]},
                "platforms": {"includePlatforms": ["windows", "macOS"]}},
               {"operator": "OR", "builtInControls": ["compliantDevice"]}),
        policy(8, "CA008 Block unsupported device platforms", "disabled",
               {"platforms": {"includePlatforms": ["all"],
                              "excludePlatforms": ["windows", "macOS", "iOS", "android"]}}, block()),
    ]


OS = [("Windows10", 55), ("MacOs", 15), ("Ios", 15), ("Android", 10), ("Linux", 5)]


def pick(weighted):
    total = sum(w for _, w in weighted)
    x = rng.uniform(0, total)
    for v, w in weighted:
        x -= w
        if x <= 0:
            return v
    return weighted[-1][0]


def signins():
    rows, scores = [], []
    for i in range(300):
        day = 5 + i // 100
        u = rng.choice(USERS[:39] + GUESTS)
        app_id, app_name, resource = rng.choice(APPS)
        kind = pick([("hq", 60), ("home", 30), ("travel", 5), ("attack", 5)])
        client = "Browser" if rng.random() < 0.7 else "Mobile Apps and Desktop clients"
        if rng.random() < 0.04:
            client = rng.choice(["Exchange ActiveSync", "IMAP4"])
        os_name = pick(OS)
        risk, state, error = "none", "none", 0
        if kind == "hq":
            ip, country, city = f"203.0.113.{rng.randint(10, 250)}", "DE", "Berlin"
        elif kind == "home":
            ip, country, city = f"198.51.100.{rng.randint(1, 254)}", rng.choice(["DE", "NL", "FR"]), "Home"
        elif kind == "travel":
            ip, country, city = f"192.0.2.{rng.randint(1, 254)}", rng.choice(["US", "JP", "BR"]), "Travel"
            risk = rng.choice(["low", "medium"])
            state = rng.choice(["atRisk", "confirmedSafe", "dismissed"])
        else:
            ip, country, city = f"185.220.101.{rng.randint(1, 254)}", rng.choice(["KP", "RU", "IR"]), "Unknown"
            risk = rng.choice(["medium", "high", "high"])
            state = rng.choice(["confirmedCompromised", "remediated", "atRisk"])
            if rng.random() < 0.5:
                error = 50126  # the password spray mostly fails at the first factor
        mfa_done = rng.random() < 0.35 and error == 0
        details = [{"authenticationMethod": "Password", "succeeded": error == 0,
                    "authenticationStepResultDetail": "Correct password" if error == 0 else "Invalid username or password"}]
        if mfa_done:
            details.append({"authenticationMethod": "Mobile app notification", "succeeded": True,
                            "authenticationStepRequirement": "Multifactor authentication"})
        sid = gid("51000000", i + 1)
        rows.append({
            "id": sid,
            "createdDateTime": f"2026-01-{day:02d}T{rng.randint(6, 21):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z",
            "userDisplayName": f"User {USERS.index(u) + 1}",
            "userPrincipalName": upn(u),
            "userId": u,
            "userType": "guest" if u in GUESTS else "member",
            "homeTenantId": TENANT if u not in GUESTS else "3f9e2b7c-8d1a-4c6e-b5f0-7a2d9e4c1b68",
            "resourceTenantId": TENANT,
            "crossTenantAccessType": "b2bCollaboration" if u in GUESTS else "none",
            "appId": app_id,
            "appDisplayName": app_name,
            "resourceId": resource,
            "ipAddress": ip,
            "clientAppUsed": client,
            "correlationId": gid("c0000000", i + 1),
            "conditionalAccessStatus": "notApplied",
            "isInteractive": True,
            "authenticationRequirement": "multiFactorAuthentication" if mfa_done else "singleFactorAuthentication",
            "riskLevelDuringSignIn": risk,
            "riskLevelAggregated": risk,
            "riskState": state,
            "status": {"errorCode": error, "failureReason": "Other." if error == 0 else "Invalid username or password or Invalid on-premise username or password."},
            "deviceDetail": {"deviceId": "", "displayName": "", "operatingSystem": os_name,
                             "browser": "Edge 131.0.0" if client == "Browser" else "",
                             "isCompliant": rng.random() < 0.5, "isManaged": rng.random() < 0.6,
                             "trustType": rng.choice(["", "Azure AD joined", "Azure AD registered"])},
            "location": {"city": city, "state": "", "countryOrRegion": country},
            "authenticationDetails": details,
            "appliedConditionalAccessPolicies": [],
        })
        base = {"none": 0.08, "low": 0.35, "medium": 0.6, "high": 0.85}[risk]
        if client in ("Exchange ActiveSync", "IMAP4"):
            base += 0.15
        score = min(0.99, max(0.01, rng.gauss(base, 0.08)))
        reason = {
            "none": "usual country, device and hours for this user",
            "low": "new country for this user, plausible travel",
            "medium": "new country and an unfamiliar device",
            "high": "anonymizing network, impossible travel from the last sign-in",
        }[risk]
        scores.append({"signInId": sid, "score": f"{score:.2f}", "riskLevel": risk,
                       "reasoning": reason, "model": "contoso-risk", "modelVersion": "2.3"})
    return {"value": rows}, scores


THRESHOLDS = """# AI risk bands for `vigil simulate --thresholds` (schemas/thresholds.schema.json)
displayName = "AI risk engine bands"
mode = "enforce"

[thresholds]
review = 0.5
mfa = 0.7
block = 0.92

# Break-glass accounts are never prompted or blocked by the AI.
[conditions.users]
includeUsers = ["All"]
excludeGroups = ["%s"]
""" % GROUPS["Break-glass"]


# ---- the same sign-ins in the other export variants ----

ARM_PATH = f"/tenants/{TENANT}/providers/Microsoft.aadiam"


def when(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ")


def locale_time(s, millis):
    """`1/5/2026 2:23:45 PM` (the portal) or `1/5/2026, 2:23:45.123 PM` (Log Analytics)."""
    t = when(s)
    hour = t.hour % 12 or 12
    ampm = "AM" if t.hour < 12 else "PM"
    if millis:
        return f"{t.month}/{t.day}/{t.year}, {hour}:{t.minute:02d}:{t.second:02d}.{t.microsecond // 1000:03d} {ampm}"
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {ampm}"


def compact(v):
    return json.dumps(v, separators=(",", ":"))


def diagnostic_record(r):
    return {
        "time": r["createdDateTime"], "resourceId": ARM_PATH, "operationName": "Sign-in activity",
        "operationVersion": "1.0", "category": "SignInLogs", "tenantId": TENANT,
        "resultType": str(r["status"]["errorCode"]), "resultSignature": "None",
        "resultDescription": r["status"]["failureReason"], "durationMs": 0,
        "callerIpAddress": r["ipAddress"], "correlationId": r["correlationId"],
        "identity": r["userDisplayName"], "Level": 4, "location": r["location"]["countryOrRegion"],
        "properties": r,
    }


def log_analytics_row(r, csv_export):
    """A SigninLogs row: PascalCase columns; the nested ones as JSON text (as exported)."""
    created = locale_time(r["createdDateTime"], True) if csv_export else r["createdDateTime"]
    suffix = " [UTC]" if csv_export else ""
    boolean = (lambda b: "TRUE" if b else "FALSE") if csv_export else (lambda b: b)
    return {
        "TenantId": TENANT, "SourceSystem": "Azure AD", "TimeGenerated" + suffix: created,
        "ResourceId": ARM_PATH, "OperationName": "Sign-in activity", "OperationVersion": "1.0",
        "Category": "SignInLogs", "ResultType": str(r["status"]["errorCode"]),
        "ResultSignature": "None", "ResultDescription": r["status"]["failureReason"],
        "DurationMs": "0", "CorrelationId": r["correlationId"], "Identity": r["userDisplayName"],
        "Level": "4", "Location": r["location"]["countryOrRegion"],
        "AppDisplayName": r["appDisplayName"], "AppId": r["appId"],
        "AuthenticationDetails": compact(r["authenticationDetails"]),
        "AuthenticationRequirement": r["authenticationRequirement"],
        "ClientAppUsed": r["clientAppUsed"],
        "ConditionalAccessPolicies": compact(r["appliedConditionalAccessPolicies"]),
        "ConditionalAccessStatus": r["conditionalAccessStatus"],
        "CreatedDateTime" + suffix: created, "CrossTenantAccessType": r["crossTenantAccessType"],
        "DeviceDetail": compact(r["deviceDetail"]), "HomeTenantId": r["homeTenantId"],
        "Id": r["id"], "IPAddress": r["ipAddress"], "IsInteractive": boolean(r["isInteractive"]),
        "LocationDetails": compact(r["location"]), "ResourceIdentity": r["resourceId"],
        "ResourceTenantId": r["resourceTenantId"],
        "RiskLevelAggregated": r["riskLevelAggregated"],
        "RiskLevelDuringSignIn": r["riskLevelDuringSignIn"], "RiskState": r["riskState"],
        "Status": compact(r["status"]), "UserDisplayName": r["userDisplayName"],
        "UserId": r["userId"], "UserPrincipalName": r["userPrincipalName"],
        "UserType": r["userType"].capitalize(), "Type": "SigninLogs",
    }


PORTAL_HEADER = [
    "Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID", "User", "Username",
    "User type", "Cross tenant access type", "Incoming token type", "Authentication Protocol",
    "Unique token identifier", "Original transfer method", "Client credential type",
    "Token Protection - Sign In Session", "Token Protection - Sign In Session StatusCode",
    "Application", "Application ID ", "App owner tenant ID", "Resource", "Resource ID ",
    "Resource tenant ID", "Resource owner tenant ID", "Home tenant ID", "Home tenant name",
    "IP address", "Location", "Status", "Sign-in error code", "Failure reason", "Client app",
    "Device ID", "Browser", "Operating System", "Compliant", "Managed", "Join Type",
    "Multifactor authentication result", "Multifactor authentication auth method",
    "Multifactor authentication auth detail", "Authentication requirement", "Sign-in identifier",
    "Session ID", "IP address (seen by resource)", "Through Global Secure Access",
    "Global Secure Access IP address", "Autonomous system  number", "Flagged for review",
    "Token issuer type", "Incoming token type", "Token issuer name", "Latency",
    "Conditional Access", "Managed Identity type", "Associated Resource Id", "Federated Token Id",
    "Federated Token Issuer",
]

AUTH_HEADER = ["Request ID", "Authentication Date", "Authentication method",
               "Authentication method detail", "Requirement", "Succeeded", "Result detail"]


def portal_row(r):
    """The portal's CSV download: display words, `City, State, CC`, no risk or policy columns."""
    loc = r["location"]
    place = ", ".join(p for p in (loc["city"], loc["state"], loc["countryOrRegion"]) if p)
    mfa = next((d for d in r["authenticationDetails"]
                if d.get("authenticationStepRequirement") == "Multifactor authentication"), None)
    dev = r["deviceDetail"]
    cells = {
        "Date (UTC)": locale_time(r["createdDateTime"], False), "Request ID": r["id"],
        "Correlation ID": r["correlationId"], "User ID": r["userId"],
        "User": r["userDisplayName"], "Username": r["userPrincipalName"],
        "User type": r["userType"].capitalize(),
        "Cross tenant access type": {"none": "None", "b2bCollaboration": "B2B collaboration"}[
            r["crossTenantAccessType"]],
        "Application": r["appDisplayName"], "Application ID ": r["appId"],
        "Resource ID ": r["resourceId"], "Resource tenant ID": r["resourceTenantId"],
        "Home tenant ID": r["homeTenantId"], "IP address": r["ipAddress"], "Location": place,
        "Status": "Success" if r["status"]["errorCode"] == 0 else "Failure",
        "Sign-in error code": str(r["status"]["errorCode"]),
        "Failure reason": r["status"]["failureReason"], "Client app": r["clientAppUsed"],
        "Device ID": dev["deviceId"], "Browser": dev["browser"],
        "Operating System": dev["operatingSystem"],
        "Compliant": str(dev["isCompliant"]), "Managed": str(dev["isManaged"]),
        "Join Type": dev["trustType"],
        "Multifactor authentication result": "MFA successfully completed" if mfa else "",
        "Multifactor authentication auth method": mfa["authenticationMethod"] if mfa else "",
        "Authentication requirement": {
            "singleFactorAuthentication": "Single-factor authentication",
            "multiFactorAuthentication": "Multifactor authentication",
        }[r["authenticationRequirement"]],
        "Conditional Access": {"notApplied": "Not Applied"}[r["conditionalAccessStatus"]],
    }
    return [cells.get(h, "") for h in PORTAL_HEADER]


def auth_rows(r):
    return [[r["id"], locale_time(r["createdDateTime"], False), d["authenticationMethod"], "",
             d.get("authenticationStepRequirement", ""), str(d["succeeded"]).lower(),
             d.get("authenticationStepResultDetail", "")] for d in r["authenticationDetails"]]


def write_csv(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(header)
        w.writerows(rows)


def write_variants(rows):
    out = HERE / "signins"
    (out / "diagnostic").mkdir(parents=True, exist_ok=True)
    lines = lambda items: "".join(compact(i) + "\n" for i in items)
    (out / "signins.ndjson").write_text(lines(rows), encoding="utf-8")
    (out / "portal.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (out / "diagnostic" / "PT1H.json").write_text(
        lines(diagnostic_record(r) for r in rows), encoding="utf-8")
    body = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=body, mtime=0) as gz:
        gz.write(compact({"records": [diagnostic_record(r) for r in rows]}).encode("utf-8"))
    (out / "diagnostic" / "records.json.gz").write_bytes(body.getvalue())
    la = [log_analytics_row(r, True) for r in rows]
    write_csv(out / "SigninLogs.csv", list(la[0].keys()), [list(r.values()) for r in la])
    (out / "SigninLogs.json").write_text(
        json.dumps([log_analytics_row(r, False) for r in rows], indent=1) + "\n",
        encoding="utf-8")
    span = "2026-01-05_2026-01-07"
    write_csv(out / "portal" / f"InteractiveSignIns_{span}.csv", PORTAL_HEADER,
              [portal_row(r) for r in rows])
    write_csv(out / "portal" / f"InteractiveSignIns_AuthDetails_{span}.csv", AUTH_HEADER,
              [a for r in rows for a in auth_rows(r)])


AGENT_APP = "c0000000-0000-4000-8000-0000000000a1"
AGENT_SP = "c0000000-0000-4000-8000-0000000000b1"
AGENT_NAME = "Partner onboarding agent"

# The agent's directory changes: (n, minute, activity, category, user index, target group
# or None, [(property, old, new)], recommendation, has an inference). Correlation ids
# c1000000-...-n tie each change to its inference.
CHANGES = [
    (1, 5, "Update user", "UserManagement", 40, None,
     [("companyName", None, "Fabrikam"), ("jobTitle", None, "Buyer")],
     "set companyName and jobTitle from the sign-up form", True),
    (2, 7, "Update user", "UserManagement", 41, None,
     [("extension_partnerTier", None, "Gold")],
     "set extension_partnerTier = Gold (contracted volume above 1M)", True),
    (3, 9, "Add member to group", "GroupManagement", 40, "Sales", [],
     "add to Sales: the partner sells Contoso products", True),
    (4, 12, "Add member to group", "GroupManagement", 41, "Finance", [],
     "add to Finance: the partner invoices Contoso", True),
    (5, 15, "Add member to group", "GroupManagement", 40, "Finance", [],
     "add to Finance: the partner submits expense claims", True),
    (6, 20, "Update user", "UserManagement", 41, None,
     [("extension_partnerTier", "Gold", "Platinum")],
     "raise extension_partnerTier to Platinum", True),
    (7, 25, "Update user", "UserManagement", 11, None,
     [("department", "Sales", "Partner Sales")],
     None, False),
]


def audits():
    records = []
    for n, minute, activity, category, ui, group, props, _, _ in CHANGES:
        u = USERS[ui]
        user_target = {
            "id": u, "displayName": None, "type": "User", "userPrincipalName": upn(u),
            "groupType": None,
            "modifiedProperties": [
                {"displayName": k, "oldValue": None if old is None else json.dumps([old]),
                 "newValue": json.dumps([new])} for k, old, new in props
            ] + ([{"displayName": "Included Updated Properties", "oldValue": None,
                   "newValue": json.dumps(", ".join(k for k, _, _ in props))}] if props else []),
        }
        targets = [user_target]
        if group:
            user_target["modifiedProperties"] = [
                {"displayName": "Group.ObjectID", "oldValue": None,
                 "newValue": json.dumps(GROUPS[group])},
                {"displayName": "Group.DisplayName", "oldValue": None,
                 "newValue": json.dumps(group)},
            ]
            targets = [{"id": GROUPS[group], "displayName": group, "type": "Group",
                        "userPrincipalName": None, "groupType": "securityGroup",
                        "modifiedProperties": []}, user_target]
        corr = gid("c1000000", n)
        records.append({
            "id": f"Directory_{corr}_ONB{n:02d}_{100000 + n}",
            "category": category,
            "correlationId": corr,
            "result": "success",
            "resultReason": "",
            "activityDisplayName": activity,
            "activityDateTime": f"2026-01-06T10:{minute:02d}:0{n}.1234567Z",
            "loggedByService": "Core Directory",
            "operationType": "Assign" if group else "Update",
            "initiatedBy": {"user": None, "app": {
                "appId": AGENT_APP, "displayName": AGENT_NAME,
                "servicePrincipalId": AGENT_SP, "servicePrincipalName": AGENT_NAME}},
            "targetResources": targets,
            "additionalDetails": [{"key": "User-Agent", "value": "contoso-onboarding-agent/1.4"}],
        })
    return {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
        "value": records,
    }


def inferences():
    lines = []
    for n, _, _, _, ui, _, _, recommendation, has_inference in CHANGES:
        if not has_inference:
            continue
        lines.append(json.dumps({
            "subject": {"correlationId": gid("c1000000", n), "userId": USERS[ui],
                        "tenantId": TENANT},
            "payload": {"model": "contoso-onboarding-agent", "modelVersion": "1.4",
                        "recommendedAction": recommendation,
                        "reasoning": "from the partner's sign-up form and contract record"},
        }, separators=(",", ":")))
    return "\n".join(lines) + "\n"


def write_json(name, value):
    (HERE / name).write_text(json.dumps(value, indent=1) + "\n", encoding="utf-8")


def main():
    write_json("directory.json", directory())
    write_json("named-locations.json", locations())
    write_json("policies-current.json", current_policies())
    write_json("policies-candidate.json", candidate_policies())
    s, scores = signins()
    (HERE / "signins.json").write_text(json.dumps(s, separators=(",", ":")) + "\n", encoding="utf-8")
    write_variants(s["value"])
    with open(HERE / "scores.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(scores[0].keys()), lineterminator="\n")
        w.writeheader()
        w.writerows(scores)
    (HERE / "thresholds.toml").write_text(THRESHOLDS, encoding="utf-8")
    write_json("audits.json", audits())
    (HERE / "ai-inferences.ndjson").write_text(inferences(), encoding="utf-8")


if __name__ == "__main__":
    main()
