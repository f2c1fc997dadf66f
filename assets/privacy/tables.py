"""Privacy tables: the restricted pii schema, consent per customer and purpose, audience exclusions.
Each is one SQL model in sql/privacy/ (see docs/PRIVACY.md)."""

from assets.sql_model import sql_table_asset

customer_contacts = sql_table_asset(
    "pii.customer_contacts", "privacy/customer_contacts.sql",
    deps=[["marts", "customer_identity"], ["staging", "crm_contacts"], ["staging", "crm_orders"],
          ["staging", "survey_responses"], ["staging", "email_events"], ["staging", "ab_assignments"],
          ["ref", "blocked_identifiers"]],
    group="privacy",
)

customer_consent = sql_table_asset(
    "marts.customer_consent", "privacy/customer_consent.sql",
    deps=[["marts", "customer_identity"], ["staging", "identity_links"], ["staging", "crm_contacts"],
          ["staging", "email_events"], ["staging", "consents"]],
    group="privacy",
)

audience_exclusions = sql_table_asset(
    "marts.audience_exclusions", "privacy/audience_exclusions.sql",
    deps=[["marts", "customer_segments"], ["pii", "customer_contacts"], ["marts", "customer_consent"]],
    group="privacy",
)

privacy_assets = [customer_contacts, customer_consent, audience_exclusions]
