-- marts.customers: one row per resolved, non-anonymous customer with the sources they appear in.
-- Input: marts.customer_identity.

select
    customer_key,
    bool_or(source = 'crm_contacts')                        as in_crm,
    bool_or(source = 'crm_orders')                          as in_orders,
    bool_or(source = 'web_events')                          as in_web,
    bool_or(source = 'survey_responses')                    as in_surveys,
    bool_or(source = 'email_events')                        as in_email,
    bool_or(source = 'ab_assignments')                      as in_experiments,
    count(*) filter (where source = 'crm_contacts')         as crm_records,
    count(*) filter (where source = 'web_events')           as web_cookies
from marts.customer_identity
where not is_anonymous
group by customer_key
order by customer_key
