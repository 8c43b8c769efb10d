//! The generated tenant's fixed vocabulary: tenant, group, role and location ids, countries,
//! operating systems, applications, clients, authentication methods and error codes as
//! Entra writes them.

use super::rng::Rng;

pub const TENANT: &str = "5d3e2f1a-7b8c-4d9e-8f0a-1b2c3d4e5f60";
pub const INTERNALS: &str = "ceeac9b8-ddf5-48cb-afcb-e2ab8bfd1a57";
pub const SERVICE_ACCOUNTS: &str = "77c1ed37-10d0-4ef1-93dc-198e70abb166";
pub const BREAK_GLASS: &str = "2802b872-ccfb-4b29-a9a9-459808dfb11b";
pub const GLOBAL_ADMIN: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const SYNC_ROLE: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

/// Generated named locations (ids are fixed so the variants can name them).
pub const LOC_HQ: &str = "b1e7c0de-0001-4a00-8a00-00000000a001";
pub const LOC_BRANCH: &str = "b1e7c0de-0002-4a00-8a00-00000000a002";
pub const LOC_VPN: &str = "b1e7c0de-0003-4a00-8a00-00000000a003";
pub const LOC_BLOCKED: &str = "b1e7c0de-0004-4a00-8a00-00000000a004";
pub const LOC_EU: &str = "b1e7c0de-0005-4a00-8a00-00000000a005";
pub const LOC_WIDE: &str = "b1e7c0de-0006-4a00-8a00-00000000a006";

/// (country, weight for members' homes, cities, state)
pub const COUNTRIES: &[(&str, f64, &[&str], &str)] = &[
    (
        "NL",
        72.0,
        &["Amsterdam", "Utrecht", "Rotterdam", "Eindhoven"],
        "Noord-Holland",
    ),
    ("BE", 19.0, &["Brussels", "Antwerp", "Ghent"], "Brussels"),
    ("LU", 6.0, &["Luxembourg"], "Luxembourg"),
    ("DE", 1.0, &["Berlin", "Munich", "Cologne"], "Berlin"),
    ("FR", 0.6, &["Paris", "Lyon"], "Ile-de-France"),
    ("GB", 0.5, &["London", "Manchester"], "England"),
    ("US", 0.5, &["Seattle", "New York", "Chicago"], "Washington"),
    ("ES", 0.2, &["Madrid"], "Madrid"),
    ("IE", 0.1, &["Dublin"], "Leinster"),
    ("IN", 0.05, &["Bengaluru"], "Karnataka"),
    ("BR", 0.03, &["Sao Paulo"], "Sao Paulo"),
    ("RU", 0.01, &["Moscow"], "Moscow"),
    ("CN", 0.01, &["Shanghai"], "Shanghai"),
];

/// (city, latitude, longitude) of every city in [`COUNTRIES`], as Entra's geo-IP writes
/// `location.geoCoordinates`.
pub const CITY_COORDINATES: &[(&str, f64, f64)] = &[
    ("Amsterdam", 52.374, 4.8897),
    ("Utrecht", 52.0907, 5.1214),
    ("Rotterdam", 51.9225, 4.4792),
    ("Eindhoven", 51.4416, 5.4697),
    ("Brussels", 50.8503, 4.3517),
    ("Antwerp", 51.2194, 4.4025),
    ("Ghent", 51.0543, 3.7174),
    ("Luxembourg", 49.6116, 6.1319),
    ("Berlin", 52.52, 13.405),
    ("Munich", 48.1351, 11.582),
    ("Cologne", 50.9375, 6.9603),
    ("Paris", 48.8566, 2.3522),
    ("Lyon", 45.764, 4.8357),
    ("London", 51.5072, -0.1276),
    ("Manchester", 53.4808, -2.2426),
    ("Seattle", 47.6062, -122.3321),
    ("New York", 40.7128, -74.006),
    ("Chicago", 41.8781, -87.6298),
    ("Madrid", 40.4168, -3.7038),
    ("Dublin", 53.3498, -6.2603),
    ("Bengaluru", 12.9716, 77.5946),
    ("Sao Paulo", -23.5558, -46.6396),
    ("Moscow", 55.7558, 37.6173),
    ("Shanghai", 31.2304, 121.4737),
];

/// The coordinates of a city of [`COUNTRIES`].
pub fn city_coordinates(city: &str) -> Option<(f64, f64)> {
    CITY_COORDINATES
        .iter()
        .find(|c| c.0 == city)
        .map(|c| (c.1, c.2))
}

/// OS strings as logs spell them; (spelling, mobile).
pub const OS: &[&str] = &[
    "Windows 10",
    "Windows10",
    "Windows 11",
    "Windows",
    "MacOs",
    "macOS 14.6",
    "Mac OS X",
    "Ios",
    "iOS 17.5",
    "iPadOS 17",
    "Android",
    "Android 14",
    "Linux",
    "Ubuntu 22.04",
    "ChromeOS",
];
pub const OS_WINDOWS: &[usize] = &[0, 1, 2, 3];
pub const OS_MAC: &[usize] = &[4, 5, 6];
pub const OS_IOS: &[usize] = &[7, 8, 9];
pub const OS_ANDROID: &[usize] = &[10, 11];
pub const OS_LINUX: &[usize] = &[12, 13];

/// Which well-known application or resource an id is (policies can name only those).
pub fn app_class(id: &str) -> u32 {
    WELL_KNOWN
        .iter()
        .map(|w| w.0)
        .chain([
            "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
        ])
        .position(|w| w == id)
        .map_or(99, |p| p as u32)
}

/// Well-known applications (id, name, weight, resources).
pub const WELL_KNOWN: &[(&str, &str, f64, &[&str])] = &[
    (
        "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "Microsoft Teams",
        30.0,
        &[
            "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe",
            "00000003-0000-0000-c000-000000000000",
            "00000002-0000-0ff1-ce00-000000000000",
        ],
    ),
    (
        "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "Microsoft Office",
        24.0,
        &[
            "00000003-0000-0ff1-ce00-000000000000",
            "00000002-0000-0ff1-ce00-000000000000",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "00000002-0000-0ff1-ce00-000000000000",
        "Office 365 Exchange Online",
        18.0,
        &["00000002-0000-0ff1-ce00-000000000000"],
    ),
    (
        "00000003-0000-0ff1-ce00-000000000000",
        "Office 365 SharePoint Online",
        14.0,
        &["00000003-0000-0ff1-ce00-000000000000"],
    ),
    (
        "ab9b8c07-8f02-4f72-87fa-80105867a763",
        "OneDrive SyncEngine",
        10.0,
        &["00000003-0000-0ff1-ce00-000000000000"],
    ),
    (
        "4765445b-32c6-49b0-83e6-1d93765276ca",
        "OfficeHome",
        6.0,
        &[
            "4765445b-32c6-49b0-83e6-1d93765276ca",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "27922004-5251-4030-b22d-91ecd9a37ea4",
        "Outlook Mobile",
        4.0,
        &["00000002-0000-0ff1-ce00-000000000000"],
    ),
    (
        "5e3ce6c0-2b1f-4285-8d4b-75ee78787346",
        "Microsoft Teams Web Client",
        3.0,
        &["cc15fd57-2c6c-4117-a88c-83b1d56b4bbe"],
    ),
    (
        "00000003-0000-0000-c000-000000000000",
        "Microsoft Graph",
        3.0,
        &["00000003-0000-0000-c000-000000000000"],
    ),
    (
        "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        "Azure Portal",
        1.2,
        &[
            "797f4846-ba00-4fd7-ba43-dac1f8f63013",
            "c44b4083-3bb0-49c1-b47d-974e53cbdf3c",
        ],
    ),
    (
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
        "Microsoft Azure CLI",
        0.6,
        &["797f4846-ba00-4fd7-ba43-dac1f8f63013"],
    ),
    (
        "0000000a-0000-0000-c000-000000000000",
        "Microsoft Intune",
        0.8,
        &["0000000a-0000-0000-c000-000000000000"],
    ),
    (
        "d4ebce55-015a-49b5-a083-c84d1797ae8c",
        "Microsoft Intune Enrollment",
        0.2,
        &["d4ebce55-015a-49b5-a083-c84d1797ae8c"],
    ),
    (
        "29d9ed98-a469-4536-ade2-f981bc1d605e",
        "Microsoft Authentication Broker",
        1.5,
        &[
            "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9",
            "00000003-0000-0000-c000-000000000000",
        ],
    ),
    (
        "19db86c3-b2b9-44cc-b339-36da233a3be2",
        "My Signins",
        0.3,
        &["19db86c3-b2b9-44cc-b339-36da233a3be2"],
    ),
    (
        "2793995e-0a7d-40d7-bd35-6968ba142197",
        "My Apps",
        0.8,
        &["2793995e-0a7d-40d7-bd35-6968ba142197"],
    ),
    (
        "14d82eec-204b-4c2f-b7e8-296a70dab67e",
        "Microsoft Graph Command Line Tools",
        0.2,
        &["00000003-0000-0000-c000-000000000000"],
    ),
    (
        "497effe9-df71-4043-a8bb-14cf78c4b63b",
        "Exchange Admin Center",
        0.1,
        &["497effe9-df71-4043-a8bb-14cf78c4b63b"],
    ),
    (
        "00000006-0000-0ff1-ce00-000000000000",
        "Microsoft Office 365 Portal",
        0.4,
        &["00000006-0000-0ff1-ce00-000000000000"],
    ),
    (
        "f53895d3-095d-408f-8e93-8f94b391404e",
        "Contoso Payroll",
        0.3,
        &["f53895d3-095d-408f-8e93-8f94b391404e"],
    ),
];

pub fn resource_name(id: &str) -> String {
    match id {
        "cc15fd57-2c6c-4117-a88c-83b1d56b4bbe" => "Microsoft Teams Services".into(),
        "797f4846-ba00-4fd7-ba43-dac1f8f63013" => "Windows Azure Service Management API".into(),
        "01cb2876-7ebd-4aa4-9cc9-d28bd4d359a9" => "Device Registration Service".into(),
        _ => WELL_KNOWN
            .iter()
            .find(|w| w.0 == id)
            .map_or_else(|| format!("Resource {}", &id[..8]), |w| w.1.to_string()),
    }
}

pub const BROWSER: &str = "Browser";
pub const MOBILE: &str = "Mobile Apps and Desktop clients";
pub const LEGACY: &[&str] = &[
    "Exchange ActiveSync",
    "IMAP4",
    "Authenticated SMTP",
    "POP3",
    "Other clients",
    "Exchange Web Services",
];
pub const METHODS: &[&[&str]] = &[
    &["Password", "Mobile app notification"],
    &["Windows Hello for Business"],
    &["Password", "Text message"],
    &["FIDO2 security key"],
    &["Password"],
    &["Passwordless phone sign-in"],
    &["Password", "OATH verification code"],
    &["Previously satisfied"],
];
pub const FIRST_FACTOR_INTERACTIVE: &[(i64, f64, &str)] = &[
    (
        50126,
        70.0,
        "Error validating credentials due to invalid username or password.",
    ),
    (
        50053,
        10.0,
        "Account is locked because user tried to sign in too many times with an incorrect user ID or password.",
    ),
    (50055, 5.0, "The password is expired."),
    (50057, 5.0, "User account is disabled."),
    (
        50173,
        10.0,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    ),
];
pub const FIRST_FACTOR_REFRESH: &[(i64, f64, &str)] = &[
    (
        70008,
        50.0,
        "The provided authorization code or refresh token has expired due to inactivity.",
    ),
    (
        50173,
        30.0,
        "The provided grant has expired due to it being revoked, a fresh auth token is needed.",
    ),
    (
        700082,
        20.0,
        "The refresh token has expired due to inactivity.",
    ),
];
pub const OTHER_CODES: &[(i64, f64, &str)] = &[
    (
        50140,
        60.0,
        "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    ),
    (50058, 25.0, "User information is not provided."),
    (
        50199,
        15.0,
        "For security reasons, user confirmation is required for this request.",
    ),
];

pub fn pick_code(r: &mut Rng, table: &[(i64, f64, &'static str)]) -> (i64, &'static str) {
    let w: Vec<f64> = table.iter().map(|t| t.1).collect();
    let t = table[r.weighted(&w)];
    (t.0, t.2)
}

pub fn user_agent(os: &str, client: &str) -> &'static str {
    let l = os.to_ascii_lowercase();
    match (client == BROWSER, l.as_str()) {
        (true, o) if o.starts_with("win") => {
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
        }
        (true, o) if o.starts_with("mac") => {
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
        }
        (true, o) if o.starts_with("ios") || o.starts_with("ipad") => {
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
        }
        (true, _) => {
            "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36"
        }
        (false, o) if o.starts_with("win") => {
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)"
        }
        (false, o) if o.starts_with("ios") || o.starts_with("ipad") => "Outlook-iOS/2.0",
        (false, o) if o.starts_with("android") => "Outlook-Android/2.0",
        (false, _) => "MSAL.Desktop/4.61.3.0",
    }
}

pub fn browser_of(os: &str, client: &str) -> Option<&'static str> {
    if client != BROWSER {
        return None;
    }
    let l = os.to_ascii_lowercase();
    Some(if l.starts_with("win") {
        "Edge 131.0.0"
    } else if l.starts_with("mac") {
        "Safari 17.5"
    } else if l.starts_with("ios") || l.starts_with("ipad") {
        "Mobile Safari 17.5"
    } else {
        "Chrome Mobile 131.0.0"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_city_has_coordinates_inside_its_country() {
        for (country, _, cities, _) in COUNTRIES {
            let (clat, clon) = crate::score::country_point(country).unwrap();
            for city in *cities {
                let (lat, lon) = city_coordinates(city).unwrap_or_else(|| panic!("{city}"));
                // Near the country's reference point (the US spans 58 degrees of longitude).
                assert!(
                    (lat - clat).abs() < 25.0 && (lon - clon).abs() < 50.0,
                    "{city}"
                );
            }
        }
    }
}
