"""HTTP pieces for the Atlas Administration API: auth, pagination, retries and errors."""
