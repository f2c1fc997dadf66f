-- quality.silo_coverage: how well the sources join up into customers. Grain: one row per
-- (measure, item). Measures:
--   source_combination  resolved customers by the set of sources they appear in (item e.g. 'crm+orders+web'),
--                       share of all resolved (non-anonymous) customers
--   match_rate          per source: share of its records that resolved to a known customer (one with a
--                       CRM contact)
--   orphan_customers    per source: customers seen in that source but with no CRM contact (silos), share
--                       of the customers seen in that source
--   attribute_conflict  crm_country_vs_web_geo: customers whose CRM country is not among the countries of
--                       their web events; order_email_vs_crm_email: orders carrying a contact id whose
--                       checkout email differs from that contact's email
-- Columns: measure, item, numerator, denominator, rate (numerator / denominator).
-- Inputs: marts.customer_identity, marts.customers, staging.crm_contacts, staging.crm_orders, staging.web_session_days.

with identity as (
    select * from marts.customer_identity where not is_anonymous
),

customers as (
    select * from marts.customers
),

crm_customers as (
    select distinct customer_key from identity where source = 'crm_contacts'
),

combinations as (
    select
        concat_ws('+',
            case when in_crm then 'crm' end, case when in_orders then 'orders' end, case when in_web then 'web' end,
            case when in_surveys then 'surveys' end, case when in_email then 'email' end,
            case when in_experiments then 'experiments' end)                        as item,
        count(*)                                                                    as numerator
    from customers
    group by all
),

match_rates as (
    select
        identity.source                                                             as item,
        count(*) filter (where crm_customers.customer_key is not null)             as numerator,
        count(*)                                                                    as denominator
    from identity
    left join crm_customers using (customer_key)
    group by all
),

orphan_customers as (
    select
        identity.source                                                             as item,
        count(distinct identity.customer_key) filter (where crm_customers.customer_key is null) as numerator,
        count(distinct identity.customer_key)                                      as denominator
    from identity
    left join crm_customers using (customer_key)
    where identity.source != 'crm_contacts'
    group by all
),

crm_countries as (
    select identity.customer_key, contacts.country_code
    from staging.crm_contacts contacts
    join identity on identity.source = 'crm_contacts' and identity.record_key = contacts.contact_id::varchar
    where contacts.country_code is not null
),

-- the countries each cookie was seen in (deduplicated before the join to customers)
cookie_countries as (
    select distinct user_pseudo_id, geo_country_code
    from staging.web_session_days
    where geo_country_code is not null
),

web_countries as (
    select identity.customer_key, list(distinct cookie_countries.geo_country_code) as countries
    from cookie_countries
    join identity on identity.source = 'web_events' and identity.record_key = cookie_countries.user_pseudo_id
    group by all
),

country_conflicts as (
    select
        'crm_country_vs_web_geo'                                                    as item,
        count(distinct crm_countries.customer_key) filter (
            where not list_contains(web_countries.countries, crm_countries.country_code)) as numerator,
        count(distinct crm_countries.customer_key)                                  as denominator
    from crm_countries
    join web_countries using (customer_key)
),

email_conflicts as (
    select
        'order_email_vs_crm_email'                                                  as item,
        count(*) filter (where orders.email != contacts.email)                     as numerator,
        count(*)                                                                    as denominator
    from staging.crm_orders orders
    join staging.crm_contacts contacts using (contact_id)
    where orders.email is not null and contacts.email is not null
),

measures as (
    select 'source_combination' as measure, item, numerator, (select count(*) from customers) as denominator
    from combinations
    union all
    select 'match_rate', item, numerator, denominator from match_rates
    union all
    select 'orphan_customers', item, numerator, denominator from orphan_customers
    union all
    select 'attribute_conflict', item, numerator, denominator from country_conflicts
    union all
    select 'attribute_conflict', item, numerator, denominator from email_conflicts
)

select
    measure,
    item,
    numerator,
    denominator,
    round(numerator / nullif(denominator, 0), 6)::double                          as rate
from measures
order by measure, item
