"""Static catalogue of the synthetic world: latent groups, geography, name pools, campaigns.

Everything here is plain data; the generator in ``datagen.core`` samples from it.
"""

from __future__ import annotations

from dataclasses import dataclass

# ---------------------------------------------------------------------------------------------
# geography: ISO code -> (GA4 country name, currency, [(city, region)])
# ---------------------------------------------------------------------------------------------
COUNTRIES: dict[str, tuple[str, str, list[tuple[str, str]]]] = {
    "US": ("United States", "USD", [("New York", "New York"), ("San Francisco", "California"),
                                    ("Austin", "Texas"), ("Denver", "Colorado"), ("Columbus", "Ohio")]),
    "GB": ("United Kingdom", "GBP", [("London", "England"), ("Manchester", "England"), ("Edinburgh", "Scotland")]),
    "DE": ("Germany", "EUR", [("Berlin", "Berlin"), ("Munich", "Bavaria"), ("Hamburg", "Hamburg")]),
    "FR": ("France", "EUR", [("Paris", "Ile-de-France"), ("Lyon", "Auvergne-Rhone-Alpes")]),
    "NL": ("Netherlands", "EUR", [("Amsterdam", "North Holland"), ("Utrecht", "Utrecht")]),
    "ES": ("Spain", "EUR", [("Madrid", "Community of Madrid"), ("Valencia", "Valencian Community")]),
    "IT": ("Italy", "EUR", [("Milan", "Lombardy"), ("Naples", "Campania")]),
    "CA": ("Canada", "USD", [("Vancouver", "British Columbia"), ("Calgary", "Alberta")]),
    "CH": ("Switzerland", "EUR", [("Zurich", "Zurich"), ("Geneva", "Geneva")]),
    "NO": ("Norway", "EUR", [("Oslo", "Oslo"), ("Bergen", "Vestland")]),
    "SE": ("Sweden", "EUR", [("Stockholm", "Stockholm"), ("Gothenburg", "Vastra Gotaland")]),
}
COUNTRY_CODES = list(COUNTRIES)
UNKNOWN_COUNTRY_CODES = ["XX", "UK", "ZZ", "EU"]  # not ISO-3166 alpha-2 (UK is the classic mistake for GB)
INVALID_CURRENCIES = ["US$", "EURO", "USDD", "eur", "$"]
PLACEHOLDER_EMAILS = ["test@test.com", "null", "", "none@none.com"]

# ---------------------------------------------------------------------------------------------
# latent groups
# ---------------------------------------------------------------------------------------------
SURVEY_ITEMS = ["value_sustainability", "value_price", "value_prestige", "interest_novelty",
                "lifestyle_active", "lifestyle_digital"]
INTERESTS = ["outdoors", "technology", "fashion", "home", "wellness"]
DEVICES = ["desktop", "mobile", "tablet"]


@dataclass(frozen=True)
class Group:
    """One latent customer group and the parameters that make it distinct."""

    group_id: int
    name: str
    share: float
    age_mean: float
    age_sd: float
    p_female: float
    income_median: float
    countries: dict[str, float]
    likert_means: tuple[float, ...]  # in SURVEY_ITEMS order
    interest_probs: tuple[float, ...]  # in INTERESTS order
    nps_mean: float
    purchase_rate: float  # mean purchases per year while alive (gamma-distributed per person)
    dropout_p: float  # mean probability of becoming inactive after each purchase (beta per person)
    order_value_usd: float  # mean order value (per-person mean varies around it)
    web_activity: float  # relative web session intensity
    device_probs: tuple[float, float, float]  # desktop, mobile, tablet
    email_open: float
    email_click: float  # probability of a click given an open


GROUPS: list[Group] = [
    Group(0, "young urban eco-minded mobile shoppers", 0.30, 27, 4.5, 0.58, 42_000,
          {"US": 0.35, "DE": 0.2, "NL": 0.2, "GB": 0.15, "SE": 0.1},
          (4.6, 2.8, 1.8, 4.4, 3.0, 4.7), (0.10, 0.35, 0.15, 0.05, 0.35), 8.0,
          4.0, 0.10, 45.0, 1.6, (0.15, 0.78, 0.07), 0.26, 0.20),
    Group(1, "affluent prestige seekers", 0.20, 49, 7.0, 0.50, 160_000,
          {"US": 0.4, "GB": 0.25, "FR": 0.15, "CH": 0.2},
          (2.4, 1.4, 4.7, 3.6, 2.4, 2.2), (0.05, 0.15, 0.55, 0.15, 0.10), 7.0,
          2.5, 0.06, 260.0, 0.8, (0.65, 0.25, 0.10), 0.42, 0.28),
    Group(2, "price-sensitive families", 0.30, 38, 5.5, 0.62, 55_000,
          {"US": 0.45, "DE": 0.2, "ES": 0.2, "IT": 0.15},
          (2.8, 4.8, 1.6, 2.2, 2.7, 3.2), (0.05, 0.10, 0.10, 0.65, 0.10), 6.5,
          6.0, 0.18, 60.0, 1.0, (0.52, 0.30, 0.18), 0.12, 0.10),
    Group(3, "active outdoor enthusiasts", 0.20, 35, 8.0, 0.40, 78_000,
          {"US": 0.35, "CA": 0.25, "NO": 0.15, "SE": 0.1, "DE": 0.15},
          (3.7, 3.0, 2.6, 3.1, 4.8, 2.7), (0.65, 0.10, 0.05, 0.05, 0.15), 8.5,
          3.5, 0.09, 115.0, 1.1, (0.30, 0.62, 0.08), 0.30, 0.32),
]

# ---------------------------------------------------------------------------------------------
# people
# ---------------------------------------------------------------------------------------------
FIRST_NAMES_F = ["Emma", "Olivia", "Ava", "Sophia", "Mia", "Lena", "Clara", "Julia", "Sara", "Nora",
                 "Alice", "Laura", "Anna", "Marie", "Elena", "Chloe", "Grace", "Hannah", "Zoe", "Lucia"]
FIRST_NAMES_M = ["Liam", "Noah", "Lucas", "Elias", "Leon", "Paul", "Jonas", "Hugo", "Marco", "Finn",
                 "Oscar", "David", "Samuel", "Jan", "Pablo", "Louis", "Erik", "Adam", "Henry", "Theo"]
LAST_NAMES = ["Smith", "Johnson", "Brown", "Miller", "Davis", "Garcia", "Wilson", "Taylor", "Moore",
              "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King", "Wright", "Scott",
              "Green", "Baker", "Adams", "Nelson", "Hill", "Campbell", "Mueller", "Schmidt", "Schneider",
              "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Rossi", "Russo", "Ferrari", "Lopez",
              "Martinez", "Sanchez", "Dubois", "Bernard", "Moreau", "Jansen", "de Vries", "Bakker",
              "Larsen", "Hansen", "Johansson", "Nilsson", "Berg"]
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "icloud.com", "proton.me", "gmx.de", "web.de"]
COMPANY_WORDS_1 = ["Blue", "North", "Green", "Silver", "Bright", "Urban", "Summit", "River", "Iron",
                   "Golden", "Pacific", "Alpine", "Cedar", "Maple", "Harbor", "Stone", "Sun", "Oak",
                   "Eagle", "Nova"]
COMPANY_WORDS_2 = ["Peak", "Wave", "Field", "Bridge", "Works", "Labs", "Point", "Gate", "Line", "Craft",
                   "Path", "Forge", "Leaf", "Light", "Port", "Ridge", "Vale", "Stream", "Rock", "Star"]
COMPANY_SUFFIXES = ["GmbH", "Ltd", "Inc", "LLC", "AG"]

# ---------------------------------------------------------------------------------------------
# marketing: campaigns are placed relative to the history window [as_of - days, as_of]
# (start/end are fractions of the window)
# ---------------------------------------------------------------------------------------------
CAMPAIGNS = [
    # id, name, channel, start_frac, end_frac, objective, daily budget per 100k customers, currency
    ("CMP-001", "Spring Newsletter", "email", 0.15, 0.25, "retention", 60.0, "USD"),
    ("CMP-002", "Summer Sale Email", "email", 0.45, 0.53, "retention", 60.0, "USD"),
    ("CMP-003", "Holiday Email", "email", 0.62, 0.68, "retention", 60.0, "USD"),
    ("CMP-004", "Winback Email", "email", 0.82, 0.95, "reactivation", 60.0, "USD"),
    ("CMP-005", "Brand Search", "paid_search", 0.0, 1.0, "acquisition", 900.0, "USD"),
    ("CMP-006", "Generic Search", "paid_search", 0.2, 0.9, "acquisition", 1400.0, "USD"),
    ("CMP-007", "Social Prospecting", "paid_social", 0.1, 0.6, "acquisition", 1100.0, "USD"),
    ("CMP-008", "Social Retargeting", "paid_social", 0.5, 1.0, "retention", 700.0, "EUR"),
    ("CMP-009", "Display Awareness", "display", 0.3, 0.7, "acquisition", 800.0, "USD"),
    ("CMP-010", "Display Retargeting", "display", 0.6, 1.0, "reactivation", 500.0, "GBP"),
]
CHANNEL_MEDIUM = {"paid_search": ("google", "cpc"), "paid_social": ("facebook", "paid_social"),
                  "display": ("google", "display"), "email": ("newsletter", "email")}
CHANNEL_CPM = {"paid_search": 12.0, "paid_social": 7.0, "display": 2.5, "email": 0.5}
CHANNEL_CTR = {"paid_search": 0.045, "paid_social": 0.012, "display": 0.003, "email": 0.03}
EMAIL_SEND_EVERY_DAYS = 14

# A/B experiments on email campaigns: true lift (absolute, in conversion probability) per group
EXPERIMENTS = [
    # id, name, campaign id, conversion window days, lift by group id
    ("EXP-01", "Summer sale: discount banner vs none", "CMP-002", 14, {0: 0.0, 1: 0.0, 2: 0.06, 3: 0.0}),
    ("EXP-02", "Holiday subject line A/B", "CMP-003", 14, {0: 0.0, 1: 0.0, 2: 0.0, 3: 0.0}),
    ("EXP-03", "Spring newsletter: eco story vs product grid", "CMP-001", 21, {0: 0.05, 1: 0.0, 2: 0.0, 3: 0.02}),
]
UNKNOWN_EXPERIMENT_IDS = ["EXP-99", "EXP-404", "exp_test"]
UNKNOWN_CAMPAIGN_IDS = ["CMP-999", "CMP-000", "cmp_legacy_7"]

FX_BASE = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27}

SITE = "https://shop.example.com"
# Site map. Category pages and product pages live under one path segment per interest, in INTERESTS
# order, so the category of a page is the first path segment:
#   https://shop.example.com/outdoor/            category landing page
#   https://shop.example.com/outdoor/camping     category sub-page
#   https://shop.example.com/outdoor/p/0007      product page (view_item, add_to_cart)
# Generic pages ("/", "/sale", ...) have no category; "/account/login", "/checkout" and
# "/checkout/confirmation" are the login and checkout steps.
GENERIC_PAGES = ["/", "/sale", "/new", "/about", "/account", "/cart"]
CATEGORY_PATHS = ["outdoor", "tech", "fashion", "home", "wellness"]  # one per INTERESTS entry
CATEGORY_SUBPAGES = {
    "outdoor": ["", "hiking", "camping", "cycling", "running"],
    "tech": ["", "audio", "phones", "smart-home", "wearables"],
    "fashion": ["", "women", "men", "accessories", "designer"],
    "home": ["", "kitchen", "kids", "living", "garden"],
    "wellness": ["", "yoga", "nutrition", "skincare", "sleep"],
}
PRODUCTS_PER_CATEGORY = 12
# Each person's interest mix is Dirichlet around their group's interest_probs with this concentration
# (smaller = more individual variation).
INTEREST_CONCENTRATION = 20.0
