-- marts.audience: one row per customer and segmentation that may be uploaded to a CRM or ad
-- platform: customer key, the salted hash of the contact email (join key for external tools; the
-- email itself stays in the restricted pii.customer_contacts) and the customer's segment on the run
-- date. The audience exports (assets/exports) write one file per segmentation and segment from this
-- table, taking the email from pii.customer_contacts; eligibility is decided in ONE place, the
-- `eligible` CTE: a usable email (pii.customer_contacts) AND consent in force for the export purpose
-- (marts.customer_consent, purpose = config privacy.audience_purpose, status granted on the run date).
-- Why the others are left out: marts.audience_exclusions.
-- Inputs: marts.customer_segments, pii.customer_contacts, marts.customer_consent. Parameter:
-- $audience_purpose.

with contacts as (
    select customer_key, email_hash, email_source from pii.customer_contacts where email is not null
),

consent as (
    select customer_key, decided_at from marts.customer_consent
    where purpose = $audience_purpose and status = 'granted'
),

eligible as (
    -- the one place to restrict who may be exported: a usable email and consent granted for the purpose
    -- (erased people are gone from every input, assets/privacy/erasure.py)
    select contacts.customer_key, contacts.email_hash, contacts.email_source, consent.decided_at as consent_at
    from contacts
    join consent using (customer_key)
)

select
    segments.customer_key,
    eligible.email_hash,
    eligible.email_source,
    eligible.consent_at,
    segments.segmentation,
    segments.segment,
    segments.run_date
from marts.customer_segments segments
join eligible using (customer_key)
order by segments.segmentation, segments.segment, segments.customer_key
