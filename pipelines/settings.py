"""Constants shared by the pipeline, the commands and the views."""

PIPELINE_NAME = "atlas_certs"
DATASET_NAME = "atlas_certs"
# Not "atlas_certs.duckdb": DuckDB names the catalog after the file, and a catalog named like
# the dataset makes every "atlas_certs.<table>" reference ambiguous (DuckDB 1.5 and 2.0).
DEFAULT_DATABASE = "atlas-certs.duckdb"

DEFAULT_BASE_URL = "https://cloud.mongodb.com"
API_PREFIX = "/api/atlas/v2"
# Every endpoint the pipeline reads exists only in this resource version.
API_VERSION_ACCEPT = "application/vnd.atlas.2023-01-01+json"
TOKEN_PATH = "/api/oauth/token"

MAX_ITEMS_PER_PAGE = 500
DEFAULT_WORKERS = 8
MAX_WORKERS = 50  # more threads than urllib3's 50 pooled connections per host would only queue
DEFAULT_LOCK_TIMEOUT = 120  # seconds a run waits while another process has the DuckDB file open
MAX_LOCK_TIMEOUT = 3600

# Table names in the dataset; the views in sql/ read only these.
CERTIFICATES_TABLE = "certificates"
PROJECTS_TABLE = "projects"
FETCHES_TABLE = "fetches"
RUNS_TABLE = "runs"

# Atlas database user field and value that mark users with Atlas-managed certificates.
MANAGED_X509_TYPE = "MANAGED"
