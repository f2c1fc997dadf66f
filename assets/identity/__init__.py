"""Identity resolution: one customer across CRM, web analytics, surveys and marketing."""
