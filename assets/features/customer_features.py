"""marts.customer_features: the one wide feature table every segmentation reads."""

from assets.sql_model import sql_table_asset

customer_features = sql_table_asset(
    "marts.customer_features",
    "features/customer_features.sql",
    deps=[
        ["marts", "customers"], ["marts", "customer_identity"], ["marts", "customer_clv"], ["ref", "regions"],
        ["staging", "crm_contacts"], ["staging", "crm_orders"], ["staging", "web_session_days"],
        ["staging", "email_events"], ["staging", "survey_responses"],
    ],
    group="features",
)
