-- Audience sizes: how many customers of each segment can be uploaded (a usable email and consent
-- for the export purpose; marts.audience_exclusions says why the others cannot), and how many of
-- those emails come from the CRM.
-- Reads: marts.audience, marts.customer_segments.
select
    segments.segmentation,
    segments.segment,
    count(*)                                                        as customers,
    count(audience.email_hash)                                         as uploadable,
    count(*) filter (where audience.email_source = 'crm_contact')   as crm_emails
from marts.customer_segments segments
left join marts.audience audience using (customer_key, segmentation)
group by all
order by segments.segmentation, customers desc
