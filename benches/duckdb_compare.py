#!/usr/bin/env python3
"""The peer for `vigil simulate`: DuckDB evaluating the same Conditional Access policies'
conditions as SQL over the same normalized sign-in Parquet file.

Run by benches/simulate.rs (through benches/simulate.sh, which makes a venv with
`pip install duckdb`); this script installs nothing.

    duckdb_compare.py --signins signins.parquet --policies policies/ \
        --named-locations named-locations/ --directory directory.json \
        --threads 2 --runs 3 --json result.json [--sql-out query.sql]

The SQL is generated from the policy, named-location and directory files (Graph JSON, UTF-8 or
UTF-16), not written by hand. For every policy it counts the sign-ins whose conditions certainly
hold, with SQL's three-valued logic standing for vigil's (NULL = the log does not say):
primary authentication (the error-code groups of simulator/src/codes.rs), workload identities,
users (ids; groups and roles through a directory table joined on the user id, else the UPN;
guest and external user types), applications (ids and the Office365 / MicrosoftAdminPortals
suites of simulator/src/eval.rs; user actions), client app types, platforms (the operating
system's prefix), sign-in and user risk, device filters (the attributes a log carries),
authentication flows and locations (IP ranges through a table of the file's distinct addresses,
countries, the log's network names and trusted flag). Grant controls are not evaluated: a
count is "the policy applies".

Formulation: one pass over the Parquet file with a count_if per policy, joined with two small
tables built in the same timed script: directory users with one flag per group/role list the
policies name, and the distinct IP addresses with one flag per IP range set. That is how one
would write it for DuckDB; testing 60 ranges per row instead would be much slower.
"""

import argparse
import ipaddress
import json
import os
import re
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------------


def read_json(path):
    b = Path(path).read_bytes()
    if b[:2] in (b"\xff\xfe", b"\xfe\xff"):
        text = b.decode("utf-16")
    elif len(b) > 1 and b[1] == 0 and b[0] != 0:
        text = b.decode("utf-16-le")
    else:
        text = b.decode("utf-8-sig")
    return json.loads(text.lstrip("\ufeff"))


def objects(path):
    """Objects in a file or folder: one object, an array, or a Graph list {"value": [...]}."""
    p = Path(path)
    files = sorted(x for x in p.rglob("*.json")) if p.is_dir() else [p]
    out = []
    for f in files:
        v = read_json(f)
        if isinstance(v, dict) and isinstance(v.get("value"), list):
            out.extend(v["value"])
        elif isinstance(v, list):
            out.extend(v)
        else:
            out.append(v)
    return out


def engine_tables():
    """The error-code groups and application suites, read from vigil's own sources."""
    codes = (REPO / "simulator/src/codes.rs").read_text()
    groups = {}
    for code, outcome in re.findall(r"e\((\d+),\s*(\w+),", codes):
        groups.setdefault(outcome, []).append(int(code))
    ev = (REPO / "simulator/src/eval.rs").read_text()

    def ids(const):
        m = re.search(const + r"[^=]*=\s*(&\[.*?\]|\"[^\"]*\");", ev, re.S)
        if not m:
            sys.exit(f"cannot find {const} in simulator/src/eval.rs")
        return [x.lower() for x in re.findall(r'"([0-9a-fA-F-]{36})"', m.group(1))]

    return {
        "first_factor": groups.get("FirstFactorFailure", []),
        "reached": [0] + groups.get("CaInterrupt", []) + groups.get("CaBlock", []),
        "office365": ids("OFFICE365_APPS"),
        "admin_portals": ids("ADMIN_PORTAL_APPS"),
        "device_registration": ids("DEVICE_REGISTRATION_APP"),
        "security_info": ids("SECURITY_INFO_APPS"),
    }


# ---------------------------------------------------------------------------------------------
# SQL helpers
# ---------------------------------------------------------------------------------------------


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


def qlist(items):
    return "(" + ", ".join(q(x) for x in items) + ")"


def flags(v):
    """A Graph flags value: a list or a comma-joined string."""
    if v is None:
        return []
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return [x for x in v if x]


def is_(a, b):
    return str(a).lower() == str(b).lower()


def any_of(parts):
    parts = [p for p in parts if p != "FALSE"]
    if not parts:
        return "FALSE"
    if "TRUE" in parts:
        return "TRUE"
    return "(" + " OR ".join(parts) + ")"


def all_of(parts):
    parts = [p for p in parts if p != "TRUE"]
    if not parts:
        return "TRUE"
    if "FALSE" in parts:
        return "FALSE"
    return "(" + " AND ".join(parts) + ")"


def inc_exc(inc, exc):
    return all_of([inc, f"(NOT {exc})" if exc not in ("FALSE", "TRUE") else ("FALSE" if exc == "TRUE" else "TRUE")])


# The per-row values below are small integers (cheaper to compare than text in 50 predicates).
PLATFORMS = {"android": 1, "ios": 2, "windows": 3, "windowsphone": 4, "macos": 5, "linux": 6}
CLIENTS = {"browser": 1, "mobileappsanddesktopclients": 2, "exchangeactivesync": 3, "other": 4}
RISKS = {"none": 0, "low": 1, "medium": 2, "high": 3}
FLOWS = {"none": 0, "devicecodeflow": 1, "authenticationtransfer": 2}
EXTERNAL = {
    "internalguest": 1,
    "b2bcollaborationguest": 2,
    "b2bcollaborationmember": 3,
    "b2bdirectconnectuser": 4,
    "otherexternaluser": 5,
    "serviceprovider": 6,
}


def risk_code(col):
    return (
        f"CASE lower({col}) WHEN 'none' THEN 0 WHEN 'low' THEN 1 WHEN 'medium' THEN 2 "
        "WHEN 'high' THEN 3 END"
    )


def ints(items):
    return "(" + ", ".join(str(x) for x in sorted(set(items))) + ")" if items else "(-1)"

# Per-row derived values (names used by the predicates below).
DERIVED = """
    CASE
        WHEN kind = 'managedIdentity' THEN 2
        WHEN kind = 'servicePrincipal' THEN 1
        WHEN kind IS NULL AND userId IS NULL AND userPrincipalName IS NULL
             AND servicePrincipalId IS NOT NULL THEN 1
        ELSE 0
    END AS wk,
    CASE
        WHEN errorCode IS NULL THEN NULL
        WHEN errorCode IN {first_factor} OR errorCode = 50058 THEN FALSE
        WHEN errorCode IN {reached} THEN TRUE
        ELSE NULL
    END AS pa,
    CASE
        WHEN clientAppUsed IS NULL OR trim(clientAppUsed) = '' OR lower(trim(clientAppUsed)) = 'unknown' THEN NULL
        WHEN lower(trim(clientAppUsed)) = 'browser' THEN 1
        WHEN lower(trim(clientAppUsed)) = 'mobile apps and desktop clients' THEN 2
        WHEN lower(trim(clientAppUsed)) = 'exchange activesync' THEN 3
        ELSE 4
    END AS cat,
    CASE
        WHEN os = '' THEN NULL
        WHEN starts_with(os, 'windowsphone') OR starts_with(os, 'windows phone') THEN 4
        WHEN starts_with(os, 'windows') THEN 3
        WHEN starts_with(os, 'ios') OR starts_with(os, 'ipados') OR starts_with(os, 'iphone') OR starts_with(os, 'ipad') THEN 2
        WHEN starts_with(os, 'android') THEN 1
        WHEN starts_with(os, 'mac') OR starts_with(os, 'os x') THEN 5
        WHEN starts_with(os, 'linux') OR starts_with(os, 'ubuntu') THEN 6
        ELSE NULL
    END AS pl,
    {risk_sir} AS sir,
    {risk_urk} AS urk,
    {risk_sprk} AS sprk,
    CASE
        WHEN originalTransferMethod IS NOT NULL AND originalTransferMethod <> '' THEN
            CASE lower(originalTransferMethod) WHEN 'none' THEN 0 WHEN 'devicecodeflow' THEN 1
                 WHEN 'authenticationtransfer' THEN 2 ELSE 9 END
        WHEN lower(authenticationProtocol) = 'devicecode' THEN 1
        WHEN authenticationProtocol IS NOT NULL THEN 0
    END AS flow,
    CASE
        WHEN lower(crossTenantAccessType) = 'b2bdirectconnect' THEN 4
        WHEN lower(crossTenantAccessType) = 'serviceprovider' THEN 6
        WHEN userType IS NULL THEN NULL
        WHEN lower(userType) = 'guest' AND (lower(crossTenantAccessType) = 'b2bcollaboration'
             OR coalesce(lower(homeTenantId) <> lower(resourceTenantId), FALSE)) THEN 2
        WHEN lower(userType) = 'guest' AND (lower(homeTenantId) = lower(resourceTenantId)
             OR lower(crossTenantAccessType) = 'none') THEN 1
        WHEN lower(userType) = 'guest' THEN NULL
        WHEN lower(userType) = 'member' AND (lower(crossTenantAccessType) = 'b2bcollaboration'
             OR coalesce(lower(homeTenantId) <> lower(resourceTenantId), FALSE)) THEN 3
        WHEN lower(userType) = 'member' THEN 0
        ELSE NULL
    END AS ext,
    list_transform(networkNames, lambda x: lower(x)) AS nets,
    lower(userId) AS uid_l,
    lower(resourceId) AS res_l,
    lower(appId) AS app_l,
    lower(servicePrincipalId) AS sp_l,
    lower(homeTenantId) AS home_l,
    upper(trim(country)) AS cty,
    nullif(lower(deviceId), '') AS dev_id,
    nullif(lower(deviceDisplayName), '') AS dev_name,
    nullif(lower(operatingSystem), '') AS dev_os,
    CASE WHEN deviceCompliant THEN 'true' WHEN NOT deviceCompliant THEN 'false' END AS dev_comp,
    CASE
        WHEN deviceTrustType IS NULL THEN NULL
        WHEN contains(lower(deviceTrustType), 'hybrid') THEN 'serverad'
        WHEN contains(lower(deviceTrustType), 'joined') THEN 'azuread'
        WHEN contains(lower(deviceTrustType), 'registered') THEN 'workplace'
        ELSE lower(deviceTrustType)
    END AS dev_trust
"""


# The sign-in columns the predicates and the per-row values read.
RAW_COLUMNS = [
    "kind", "errorCode", "userId", "userPrincipalName", "userType", "homeTenantId",
    "resourceTenantId", "crossTenantAccessType", "servicePrincipalId",
    "servicePrincipalRiskLevel", "appId", "resourceId", "ipAddress", "country", "networkNames",
    "trustedNetwork", "clientAppUsed", "operatingSystem", "deviceId", "deviceDisplayName",
    "deviceCompliant", "deviceTrustType", "authenticationProtocol", "originalTransferMethod",
    "signInRiskLevel", "userRiskLevel",
]


class Builder:
    def __init__(self, tables, locations, have_directory):
        self.t = tables
        self.locations = {loc["id"]: loc for loc in locations if "id" in loc}
        self.have_directory = have_directory
        self.user_lists = {}  # (kind, tuple ids) -> column name in the users table
        self.ip_sets = {}  # location id -> column name in the ip table
        self.app_lists = {}  # tuple of lowercase ids -> column name in the app table

    # -- users ------------------------------------------------------------------------------

    def member(self, kind, ids):
        ids = [x for x in ids if x]
        if not ids:
            return "FALSE"
        if not self.have_directory:
            return "NULL"
        key = (kind, tuple(sorted(ids)))
        if key not in self.user_lists:
            self.user_lists[key] = f"{kind}{len(self.user_lists)}"
        col = self.user_lists[key]
        return f"(CASE WHEN du_found THEN du_{col} END)"

    def guest(self, sel):
        """include/excludeGuestsOrExternalUsers; sel None = the legacy GuestsOrExternalUsers value."""
        types = flags((sel or {}).get("guestOrExternalUserTypes"))
        tenants = None
        ext = (sel or {}).get("externalTenants") or {}
        if ext and not is_(ext.get("membershipKind", "all"), "all"):
            tenants = [x.lower() for x in ext.get("members") or []]
        cond = "TRUE"
        if types:
            cond = f"ext IN {ints([EXTERNAL.get(t.lower(), 99) for t in types])}"
        if tenants is not None:
            cond = all_of([cond, f"(CASE WHEN home_l IS NULL THEN NULL ELSE home_l IN {qlist(tenants) if tenants else '(NULL)'} END)"])
        return f"(CASE WHEN ext IS NULL THEN NULL WHEN ext = 0 THEN FALSE ELSE {cond} END)"

    def user_listed(self, ids):
        parts = []
        for x in ids:
            if is_(x, "All"):
                return "TRUE"
            if is_(x, "None"):
                continue
            if is_(x, "GuestsOrExternalUsers"):
                parts.append(self.guest(None))
            else:
                parts.append(f"(CASE WHEN uid_l IS NULL THEN NULL ELSE uid_l = {q(x.lower())} END)")
        return any_of(parts)

    def users(self, u):
        inc = any_of(
            [
                self.user_listed(u.get("includeUsers") or []),
                self.member("g", u.get("includeGroups") or []),
                self.member("r", u.get("includeRoles") or []),
            ]
            + ([self.guest(u["includeGuestsOrExternalUsers"])] if u.get("includeGuestsOrExternalUsers") else [])
        )
        exc = any_of(
            [
                self.user_listed(u.get("excludeUsers") or []),
                self.member("g", u.get("excludeGroups") or []),
                self.member("r", u.get("excludeRoles") or []),
            ]
            + ([self.guest(u["excludeGuestsOrExternalUsers"])] if u.get("excludeGuestsOrExternalUsers") else [])
        )
        return inc_exc(inc, exc)

    # -- applications -----------------------------------------------------------------------

    def app_listed(self, ids):
        ids_l = []
        for x in ids:
            if is_(x, "All"):
                return "TRUE"
            if is_(x, "None"):
                continue
            if is_(x, "Office365"):
                ids_l += self.t["office365"]
            elif is_(x, "MicrosoftAdminPortals"):
                ids_l += self.t["admin_portals"]
            else:
                ids_l.append(x.lower())
        if not ids_l:
            return "FALSE"
        key = tuple(sorted(set(ids_l)))
        if key not in self.app_lists:
            self.app_lists[key] = f"a{len(self.app_lists)}"
        c = self.app_lists[key]
        return (
            "(CASE WHEN res_l IS NULL AND app_l IS NULL THEN NULL ELSE "
            f"coalesce(ra_{c}, FALSE) OR coalesce(aa_{c}, FALSE) END)"
        )

    def applications(self, a):
        actions = [x.lower() for x in a.get("includeUserActions") or []]
        if actions:
            hits = []
            if "urn:user:registerdevice" in actions:
                hits += self.t["device_registration"]
            if "urn:user:registersecurityinfo" in actions:
                hits += self.t["security_info"]
            return f"(CASE WHEN coalesce(res_l, app_l) IS NULL THEN NULL ELSE coalesce(res_l, app_l) IN {qlist(hits or ['-'])} END)"
        include = a.get("includeApplications") or []
        if a.get("includeAuthenticationContextClassReferences") and not include:
            return "FALSE"
        v = inc_exc(self.app_listed(include), self.app_listed(a.get("excludeApplications") or []))
        if a.get("applicationFilter"):
            v = all_of([v, "NULL"])
        return v

    # -- client apps, platforms, risk, flows, devices ---------------------------------------

    @staticmethod
    def client_types(types):
        types = [t for t in types if t]
        if not types or any(is_(t, "all") for t in types):
            return "TRUE"
        want = set()
        for t in types:
            if is_(t, "easSupported"):
                want.add(CLIENTS["exchangeactivesync"])
            if t.lower() in CLIENTS:
                want.add(CLIENTS[t.lower()])
        return f"(CASE WHEN cat IS NULL THEN NULL ELSE cat IN {ints(want)} END)"

    @staticmethod
    def platforms(p):
        inc = [x.lower() for x in p.get("includePlatforms") or []]
        exc = [x.lower() for x in p.get("excludePlatforms") or []]
        included = "TRUE" if "all" in inc else (f"pl IN {ints([PLATFORMS.get(x, 99) for x in inc])}" if inc else "FALSE")
        excluded = f"pl IN {ints([PLATFORMS.get(x, 99) for x in exc])}" if exc else "FALSE"
        return f"(CASE WHEN pl IS NULL THEN NULL WHEN {excluded} THEN FALSE ELSE {included} END)"

    @staticmethod
    def risk(levels, col):
        levels = [x.lower() for x in flags(levels)]
        if not levels:
            return "TRUE"
        return f"(CASE WHEN {col} IS NULL THEN NULL ELSE {col} IN {ints([RISKS.get(x, 99) for x in levels])} END)"

    @staticmethod
    def flows(f):
        methods = [x.lower() for x in flags((f or {}).get("transferMethods"))]
        if not methods:
            return "TRUE"
        return f"(CASE WHEN flow IS NULL THEN NULL ELSE flow IN {ints([FLOWS.get(x, 99) for x in methods])} END)"

    DEVICE_ATTRS = {
        "deviceid": "dev_id",
        "displayname": "dev_name",
        "operatingsystem": "dev_os",
        "iscompliant": "dev_comp",
        "trusttype": "dev_trust",
    }

    def device_rule(self, rule):
        """A device filter rule as SQL (the comparisons a log can decide; others are NULL)."""
        toks = re.findall(r'\(|\)|"(?:[^"`]|`.)*"|\[[^\]]*\]|[^\s()]+', rule)
        pos = [0]

        def peek():
            return toks[pos[0]].lower() if pos[0] < len(toks) else None

        def take():
            pos[0] += 1
            return toks[pos[0] - 1]

        def value(tok):
            if tok.startswith('"'):
                return tok[1:-1].replace("`", "").lower()
            if tok.startswith("["):
                return [x.lower() for x in re.findall(r'"((?:[^"`]|`.)*)"', tok)]
            return tok.lower()  # True / False

        def comparison():
            attr = take()
            op = take().lower().lstrip("-")
            val = value(take())
            key = attr.lower().split(".", 1)[-1]
            col = self.DEVICE_ATTRS.get(key)
            if col is None:
                return "NULL"
            neg = op.startswith("not") or op == "ne"
            base = op[3:] if op.startswith("not") else ("eq" if op == "ne" else op)
            if base == "eq":
                pos_sql = f"{col} = {q(val)}"
            elif base == "startswith":
                pos_sql = f"starts_with({col}, {q(val)})"
            elif base == "endswith":
                pos_sql = f"ends_with({col}, {q(val)})"
            elif base == "contains":
                pos_sql = f"contains({col}, {q(val)})"
            elif base == "in":
                pos_sql = f"{col} IN {qlist(val)}"
            else:
                return "NULL"
            return f"(NOT {pos_sql})" if neg else f"({pos_sql})"

        def unary():
            if peek() == "-not":
                take()
                return f"(NOT {unary()})"
            if peek() == "(":
                take()
                e = disj()
                take()  # )
                return e
            return comparison()

        def conj():
            e = unary()
            while peek() == "-and":
                take()
                e = f"({e} AND {unary()})"
            return e

        def disj():
            e = conj()
            while peek() == "-or":
                take()
                e = f"({e} OR {conj()})"
            return e

        try:
            return disj()
        except IndexError:
            return "NULL"

    def devices(self, d):
        f = (d or {}).get("deviceFilter")
        if not f or not f.get("rule"):
            return "TRUE"
        m = self.device_rule(f["rule"])
        return m if is_(f.get("mode", "include"), "include") else f"(NOT {m})"

    # -- locations --------------------------------------------------------------------------

    def location_is(self, loc):
        name = (loc.get("displayName") or "").lower()
        by_name = f"coalesce(list_contains(nets, {q(name)}), FALSE)"
        t = (loc.get("@odata.type") or "").lower()
        if "iprange" in json.dumps(loc).lower() or t.endswith("ipnamedlocation") or loc.get("ipRanges") is not None:
            if loc["id"] not in self.ip_sets:
                self.ip_sets[loc["id"]] = f"l{len(self.ip_sets)}"
            kind = f"ip_{self.ip_sets[loc['id']]}"
        elif loc.get("countriesAndRegions") is not None:
            countries = [c.upper() for c in loc.get("countriesAndRegions") or []]
            if not is_(loc.get("countryLookupMethod") or "clientIpAddress", "clientIpAddress"):
                kind = "NULL"
            else:
                unknown = "TRUE" if loc.get("includeUnknownCountriesAndRegions") else "NULL"
                inside = f"cty IN {qlist(countries)}" if countries else "FALSE"
                kind = f"(CASE WHEN cty IS NULL OR cty = '' THEN {unknown} ELSE {inside} END)"
        else:
            kind = "NULL"
        return f"(CASE WHEN {by_name} THEN TRUE ELSE {kind} END)"

    def location_listed(self, ids):
        parts = []
        for x in ids:
            if is_(x, "All"):
                return "TRUE"
            if is_(x, "AllTrusted"):
                trusted = [self.location_is(l) for l in self.locations.values() if l.get("isTrusted") is True]
                t = any_of(["coalesce(trustedNetwork, FALSE)"] + trusted)
                parts.append(f"(CASE WHEN {t} IS FALSE AND trustedNetwork IS NULL AND ip_v IS NULL THEN NULL ELSE {t} END)")
            elif x in self.locations:
                parts.append(self.location_is(self.locations[x]))
            else:
                parts.append("NULL")
        return any_of(parts)

    def locations_cond(self, loc):
        return inc_exc(
            self.location_listed(loc.get("includeLocations") or []),
            self.location_listed(loc.get("excludeLocations") or []),
        )

    # -- a policy ---------------------------------------------------------------------------

    KNOWN = {
        "users", "applications", "clientApplications", "clientAppTypes", "platforms", "locations",
        "signInRiskLevels", "userRiskLevels", "servicePrincipalRiskLevels", "insiderRiskLevels",
        "devices", "authenticationFlows",
    }

    def policy(self, p):
        if is_(p.get("state"), "disabled"):
            return "FALSE"
        c = p.get("conditions") or {}
        unknown = [
            k for k, v in c.items()
            if "@" not in k and k not in self.KNOWN and v not in (None, [], {}, "")
        ]
        ca = c.get("clientApplications") or {}
        unknown += [k for k in ca if "agent" in k.lower() and ca[k]]
        sp_inc = ca.get("includeServicePrincipals") or []
        sp_exc = ca.get("excludeServicePrincipals") or []

        def sp_listed(ids):
            if not ids:
                return "FALSE"
            if any(is_(x, "ServicePrincipalsInMyTenant") for x in ids):
                return "(CASE WHEN servicePrincipalId IS NULL THEN NULL ELSE TRUE END)"
            return f"(CASE WHEN sp_l IS NULL THEN NULL ELSE sp_l IN {qlist([x.lower() for x in ids])} END)"

        if c.get("clientApplications"):
            sp = all_of(
                [
                    inc_exc(sp_listed(sp_inc), sp_listed(sp_exc)),
                    "NULL" if ca.get("servicePrincipalFilter") else "TRUE",
                    self.risk(c.get("servicePrincipalRiskLevels"), "sprk"),
                ]
            )
        else:
            sp = "FALSE"
        if sp_inc and not c.get("users"):
            user = "FALSE"
        else:
            user = all_of(
                [
                    self.users(c["users"]) if c.get("users") else "TRUE",
                    self.client_types(c.get("clientAppTypes") or []),
                    self.platforms(c["platforms"]) if c.get("platforms") else "TRUE",
                    self.risk(c.get("signInRiskLevels"), "sir"),
                    self.risk(c.get("userRiskLevels"), "urk"),
                    "NULL" if flags(c.get("insiderRiskLevels")) else "TRUE",
                    self.devices(c.get("devices")),
                    self.flows(c.get("authenticationFlows")),
                ]
            )
        return all_of(
            [
                "pa",
                f"(CASE wk WHEN 2 THEN FALSE WHEN 1 THEN {sp} ELSE {user} END)",
                self.applications(c["applications"]) if c.get("applications") else "TRUE",
                self.locations_cond(c["locations"]) if c.get("locations") else "TRUE",
            ]
            + ["NULL"] * len(unknown)
        )

    # -- the tables the predicates join -----------------------------------------------------

    def users_table(self, directory_path):
        """Directory users with one flag per group or role list the policies name."""
        flags_g = [(c, ids) for (kind, ids), c in self.user_lists.items() if kind == "g"]
        flags_r = [(c, ids) for (kind, ids), c in self.user_lists.items() if kind == "r"]

        def agg(flags, col):
            return ", ".join(
                f"bool_or({col} IN ({', '.join(q(x) for x in ids)})) AS du_{c}" for c, ids in flags
            ) or "NULL AS none"

        picks = ", ".join(f"coalesce(du_{c}, FALSE) AS du_{c}" for c, _ in flags_g + flags_r)
        return f"""CREATE OR REPLACE TEMP TABLE dir_users AS
    WITH base AS (
        SELECT u.id AS id, lower(u.userPrincipalName) AS upn, u.groups AS groups, u.roles AS roles
        FROM (SELECT unnest(users) AS u FROM read_json({q(directory_path)},
              columns = {{users: 'STRUCT(id VARCHAR, userPrincipalName VARCHAR, userType VARCHAR,
                                         groups VARCHAR[], roles VARCHAR[])[]'}},
              maximum_object_size = 1073741824))),
    g AS (SELECT id, {agg(flags_g, 'x')} FROM (SELECT id, unnest(groups) AS x FROM base) GROUP BY id),
    r AS (SELECT id, {agg(flags_r, 'x')} FROM (SELECT id, unnest(roles) AS x FROM base) GROUP BY id)
    SELECT base.id, base.upn{', ' + picks if picks else ''}
    FROM base LEFT JOIN g ON g.id = base.id LEFT JOIN r ON r.id = base.id"""

    def app_table(self, signins):
        """The file's distinct application and resource ids, one flag per id list."""
        cols = "".join(
            f",\n        id IN ({', '.join(q(x) for x in ids)}) AS {c}" for ids, c in self.app_lists.items()
        )
        return f"""CREATE OR REPLACE TEMP TABLE app_flags AS
    SELECT id{cols}
    FROM (SELECT DISTINCT lower(x) AS id FROM (
        SELECT resourceId AS x FROM read_parquet({q(signins)})
        UNION SELECT appId FROM read_parquet({q(signins)})) WHERE x IS NOT NULL)"""

    def ip_table(self, signins):
        """The file's distinct addresses, parsed: IPv4 as a number, IPv6 as 32 hex digits."""
        return f"""CREATE OR REPLACE TEMP TABLE ips AS
    WITH d AS (SELECT DISTINCT ipAddress AS ip FROM read_parquet({q(signins)})),
    t AS (SELECT ip, lower(trim(ip)) AS s FROM d WHERE ip IS NOT NULL),
    v4 AS (
        SELECT ip, s,
            CASE WHEN regexp_full_match(s, '(::ffff:)?[0-9]{{1,3}}(\\.[0-9]{{1,3}}){{3}}') THEN
                string_split(regexp_replace(s, '^::ffff:', ''), '.') END AS o
        FROM t),
    v6 AS (
        SELECT ip, s, o,
            CASE WHEN o IS NOT NULL AND list_max(list_transform(o, lambda x: x::INTEGER)) <= 255 THEN
                (o[1]::UBIGINT << 24) + (o[2]::UBIGINT << 16) + (o[3]::UBIGINT << 8) + o[4]::UBIGINT
            END AS ip_v,
            CASE WHEN o IS NULL AND contains(s, ':') THEN
                CASE WHEN contains(s, '::') THEN
                    list_concat(
                        CASE WHEN split_part(s, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 1), ':') END,
                        list_transform(range(8 - len(CASE WHEN split_part(s, '::', 1) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 1), ':') END)
                                             - len(CASE WHEN split_part(s, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 2), ':') END)), lambda x: '0'),
                        CASE WHEN split_part(s, '::', 2) = '' THEN []::VARCHAR[] ELSE string_split(split_part(s, '::', 2), ':') END)
                ELSE string_split(s, ':') END
            END AS g
        FROM v4)
    SELECT ip, ip_v,
        CASE WHEN len(g) = 8 THEN array_to_string(list_transform(g, lambda x: lpad(x, 4, '0')), '') END AS ip_h
    FROM v6"""

    def ip_flags_table(self):
        """One flag per IP location: whether its ranges contain the address (NULL: unparsed)."""
        checks = []
        for lid, col in self.ip_sets.items():
            v4, v6 = [], []
            for r in self.locations[lid].get("ipRanges") or []:
                cidr = r.get("cidrAddress") if isinstance(r, dict) else r
                try:
                    net = ipaddress.ip_network(str(cidr).strip(), strict=False)
                except ValueError:
                    continue
                if net.version == 4:
                    v4.append(f"ip_v BETWEEN {int(net.network_address)} AND {int(net.broadcast_address)}")
                else:
                    full = net.network_address.exploded.replace(":", "")
                    nib = net.prefixlen // 4
                    cond = f"left(ip_h, {nib}) = {q(full[:nib])}" if nib else "TRUE"
                    rest = net.prefixlen % 4
                    if rest:
                        lo = int(full[nib], 16)
                        hi = lo + (1 << (4 - rest)) - 1
                        cond += f" AND instr('0123456789abcdef', substr(ip_h, {nib + 1}, 1)) - 1 BETWEEN {lo} AND {hi}"
                    v6.append(f"({cond})")
            c4 = " OR ".join(v4) or "FALSE"
            c6 = " OR ".join(v6) or "FALSE"
            checks.append(f"CASE WHEN ip_v IS NOT NULL THEN ({c4}) WHEN ip_h IS NOT NULL THEN ({c6}) END AS ip_{col}")
        return "CREATE OR REPLACE TEMP TABLE ip_flags AS SELECT ip, ip_v" + "".join(f",\n    {c}" for c in checks) + "\nFROM ips"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--signins", required=True)
    ap.add_argument("--policies", required=True)
    ap.add_argument("--named-locations")
    ap.add_argument("--directory")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", required=True)
    ap.add_argument("--sql-out")
    a = ap.parse_args()

    policies = objects(a.policies)
    locations = objects(a.named_locations) if a.named_locations else []
    b = Builder(engine_tables(), locations, a.directory is not None)
    preds = [(p.get("id"), b.policy(p)) for p in policies]
    t = b.t
    derived = DERIVED.format(
        first_factor=ints(t["first_factor"]),
        reached=ints(t["reached"]),
        risk_sir=risk_code("signInRiskLevel"),
        risk_urk=risk_code("userRiskLevel"),
        risk_sprk=risk_code("servicePrincipalRiskLevel"),
    )

    statements = []
    if a.directory:
        statements.append(b.users_table(a.directory))
    statements.append(b.app_table(a.signins))
    statements.append(b.ip_table(a.signins))
    statements.append(b.ip_flags_table())

    user_cols = [f"du_{c}" for c in b.user_lists.values()]
    ip_cols = [f"ip_{c}" for c in b.ip_sets.values()]
    join_users = ""
    user_select = ""
    if a.directory:
        # vigil finds the user by object id, else by UPN (lowercased); the UPN is only
        # lowercased for rows whose id the directory does not hold.
        join_users = (
            "LEFT JOIN dir_users ui ON ui.id = s.userId\n"
            "        LEFT JOIN dir_users un\n"
            "            ON un.upn = CASE WHEN ui.id IS NULL THEN lower(s.userPrincipalName) END"
        )
        user_select = ",\n            (ui.id IS NOT NULL OR un.id IS NOT NULL) AS du_found" + "".join(
            f",\n            CASE WHEN ui.id IS NOT NULL THEN ui.{c} ELSE un.{c} END AS {c}" for c in user_cols
        )
    counts = ",\n    ".join(f"count_if({p}) AS c{i}" for i, (_, p) in enumerate(preds))
    raw = ", ".join(f"s.{c}" for c in RAW_COLUMNS)
    app_select = "".join(
        f", ra.{c} AS ra_{c}, aa.{c} AS aa_{c}" for c in b.app_lists.values()
    )
    # The per-row values are computed once (MATERIALIZED): inlined, DuckDB would compute them
    # again in every policy's predicate.
    query = f"""WITH r AS MATERIALIZED (
    SELECT *, {derived}
    FROM (
        SELECT {raw}, lower(trim(s.operatingSystem)) AS os{user_select},
            f.ip_v{''.join(f', f.{c}' for c in ip_cols)}{app_select}
        FROM read_parquet({q(a.signins)}) s
        {join_users}
        LEFT JOIN ip_flags f ON f.ip = s.ipAddress
        LEFT JOIN app_flags ra ON ra.id = lower(s.resourceId)
        LEFT JOIN app_flags aa ON aa.id = lower(s.appId)
    )
)
SELECT count(*) AS n,
    {counts}
FROM r"""
    statements.append(query)
    sql = ";\n\n".join(statements) + ";\n"
    if a.sql_out:
        Path(a.sql_out).write_text(sql)

    con = duckdb.connect()
    con.execute(f"SET threads = {a.threads}")
    con.execute("SET preserve_insertion_order = false")
    seconds = []
    row = None
    for _ in range(max(1, a.runs)):
        start = time.perf_counter()
        for st in statements[:-1]:
            con.execute(st)
        row = con.execute(statements[-1]).fetchone()
        seconds.append(time.perf_counter() - start)
        print(f"duckdb run: {seconds[-1]:.2f} s", file=sys.stderr)
    result = {
        "version": duckdb.__version__,
        "threads": a.threads,
        "seconds": seconds,
        "rows": row[0],
        "counts": {pid: row[i + 1] for i, (pid, _) in enumerate(preds)},
        "sqlBytes": len(sql),
    }
    Path(a.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
