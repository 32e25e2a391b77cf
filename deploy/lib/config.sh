# shellcheck shell=bash
# Configuration: environment variables, then deploy/.env (or $DEPLOY_ENV_FILE), then the
# recommended defaults. deploy/env.sample documents every variable listed here.

# Every variable the scripts read, in the order the configuration summary shows them.
CONFIG_VARS=(
  GCP_PROJECT_ID SERVICE_REGION ADMIN_ACCOUNT
  CONNECTOR_SERVICE_ACCOUNT_ID INTERCEPTOR_SERVICE_ACCOUNT_ID
  CONNECTOR_SERVICE_ACCOUNT INTERCEPTOR_SERVICE_ACCOUNT
  JWT_SECRET_NAME
  VPC_EGRESS VPC_NETWORK VPC_SUBNET VPC_CONNECTOR_NAME REDIS_IP_RANGE
  REDIS_MODE REDIS_INSTANCE_ID REDIS_TIER REDIS_SIZE_GB
  REDIS_SHARD_COUNT REDIS_REPLICA_COUNT REDIS_NODE_TYPE REDIS_CONNECTION_POLICY
  REDIS_ENABLE_AUTH REDIS_TRANSIT_ENCRYPTION REDIS_AUTH_SECRET_NAME REDIS_CA_SECRET_NAME
  REDIS_WAIT_REPLICAS REDIS_HOST REDIS_PORT
  ARTIFACT_REPOSITORY IMAGE_TAG
  CONNECTOR_SERVICE_NAME CONNECTOR_IMAGE_NAME
  SOCKET_MAX_CONNECTIONS CONNECTOR_MIN_INSTANCES TRUSTED_PROXY_HOPS
  INTERCEPTOR_SERVICE_NAME INTERCEPTOR_IMAGE_NAME INTERCEPTOR_WORKERS INTERCEPTOR_CONCURRENCY INTERCEPTOR_SERVICE_URL
  LOGGING_FILE
  PUBSUB_INVOKER_SERVICE_ACCOUNT_ID PUSH_AUDIENCE
  SUGGESTION_TOPIC_ID NEW_MESSAGE_TOPIC_ID LIFECYCLE_TOPIC_ID RECOGNITION_TOPIC_ID
  SUBSCRIPTION_SUFFIX DEAD_LETTER_TOPIC_ID DEAD_LETTER_SUBSCRIPTION
  PUSH_ACK_DEADLINE_SECONDS PUSH_MIN_RETRY_DELAY PUSH_MAX_RETRY_DELAY PUSH_MAX_DELIVERY_ATTEMPTS
  METRICS_SIDECAR METRICS_SIDECAR_IMAGE DASHBOARD_ID
)

# Optional UI connector settings (see ui_connector/config.py), passed to the service only when set.
CONNECTOR_PASSTHROUGH_VARS=(
  AUTH_OPTION APP_AUTH_OPTION
  SALESFORCE_DOMAIN SALESFORCE_ORGANIZATION_ID GENESYS_CLOUD_ENVIRONMENT GENESYS_CLOUD_ORGANIZATION_ID
  TWILIO_FLEX_ENVIRONMENT TWILIO_ACCOUNT_SID TWILIO_API_BASE_URL
  OIDC_ISSUER OIDC_AUDIENCE OIDC_JWKS_URL
  CORS_ALLOWED_ORIGINS JWT_ISSUER JWT_AUDIENCE JWT_LIFETIME_MINUTES
  DIALOGFLOW_TIMEOUT_SECONDS DESKTOP_CONVERSATION_PROFILE CONVERSATION_NAME_LOOKUPS_PER_MINUTE
)
# Optional settings both services read, passed only when set.
SHARED_PASSTHROUGH_VARS=(LOG_LEVEL EVENT_RETENTION_SECONDS EVENT_STREAM_MAXLEN REDIS_WAIT_TIMEOUT_MS)

# Requests an instance takes beyond its desktops' connections (registration, the proxy, health checks); the
# same as the UI connector's own headroom between SOCKET_MAX_CONNECTIONS and its gevent worker's connections.
CONNECTOR_HTTP_HEADROOM=100

# Where Cloud Run mounts the JWT secret; the UI connector reads it from JWT_SECRET_KEY_PATH.
JWT_SECRET_MOUNT_PATH=/secret/jwt_secret_key
# Where Cloud Run mounts Redis's server CA certificate; both services read it from REDIS_TLS_CA_CERT.
# (Each mounted secret needs a directory of its own.)
REDIS_CA_MOUNT_PATH=/redis-ca/server-ca.pem
# Every secret key (environment variable or mounted file) the scripts manage on the services:
# one no longer wanted (Redis AUTH turned off, say) is removed from the service.
MANAGED_SECRET_KEYS=(REDIS_PASSWORD "$REDIS_CA_MOUNT_PATH" "$JWT_SECRET_MOUNT_PATH")

# The label deploy.sh gives every resource it creates that takes labels; teardown.sh deletes
# only resources that carry it (a topic that existed before deploy.sh stays).
DEPLOY_LABEL_KEY=created-by
DEPLOY_LABEL_VALUE=aa-integration-deploy
DEPLOY_LABEL="$DEPLOY_LABEL_KEY=$DEPLOY_LABEL_VALUE"
# Service accounts take no labels: the description of those deploy.sh creates ends with this.
DEPLOY_DESCRIPTION_MARK="(created by deploy/deploy.sh)"

# Cloud Run health checks of both services, on the port their container listens on.
CONTAINER_PORT=8080
# Startup: ready once Redis answers (and, for the UI connector, its Pub/Sub listener runs), for up
# to 3 minutes: Direct VPC egress can take a minute or more to connect a new instance, and a
# revision that cannot reach Redis (a wrong AUTH string or CA) never takes traffic.
STARTUP_PROBE="httpGet.path=/readyz,httpGet.port=$CONTAINER_PORT,initialDelaySeconds=0,timeoutSeconds=3,periodSeconds=5,failureThreshold=36"
# Liveness: the process answers, Redis or not: restarting an instance does not bring Redis back,
# and restarting a UI connector drops every desktop's socket.
LIVENESS_PROBE="httpGet.path=/healthz,httpGet.port=$CONTAINER_PORT,timeoutSeconds=5,periodSeconds=30,failureThreshold=3"

# Source deploy/.env without letting it override what the caller exported (and did not leave empty).
load_env_file() {
  local file=${DEPLOY_ENV_FILE:-$DEPLOY_DIR/.env} name
  [[ -f $file ]] || return 0
  local -A exported=()
  for name in "${CONFIG_VARS[@]}" "${CONNECTOR_PASSTHROUGH_VARS[@]}" "${SHARED_PASSTHROUGH_VARS[@]}"; do
    if [[ -n ${!name:-} ]]; then exported[$name]=${!name}; fi
  done
  set -a
  # shellcheck source=/dev/null
  source "$file"
  set +a
  for name in "${!exported[@]}"; do
    printf -v "$name" '%s' "${exported[$name]}"
  done
  CONFIG_SOURCE=$file
}

apply_defaults() {
  : "${GCP_PROJECT_ID:=}"
  : "${SERVICE_REGION:=us-central1}"
  : "${ADMIN_ACCOUNT:=}"
  : "${CONNECTOR_SERVICE_ACCOUNT_ID:=aa-ui-connector}"
  : "${INTERCEPTOR_SERVICE_ACCOUNT_ID:=aa-pubsub-interceptor}"
  : "${CONNECTOR_SERVICE_ACCOUNT:=${CONNECTOR_SERVICE_ACCOUNT_ID}@${GCP_PROJECT_ID}.iam.gserviceaccount.com}"
  : "${INTERCEPTOR_SERVICE_ACCOUNT:=${INTERCEPTOR_SERVICE_ACCOUNT_ID}@${GCP_PROJECT_ID}.iam.gserviceaccount.com}"
  : "${JWT_SECRET_NAME:=aa-integration-jwt-secret}"
  : "${VPC_EGRESS:=direct}"
  : "${VPC_NETWORK:=default}"
  : "${VPC_SUBNET:=default}"
  : "${VPC_CONNECTOR_NAME:=aa-integration-vpc}"
  : "${REDIS_IP_RANGE:=10.8.0.0/28}"
  : "${REDIS_MODE:=instance}"
  : "${REDIS_INSTANCE_ID:=aa-integration-redis}"
  : "${REDIS_TIER:=standard}"
  : "${REDIS_SIZE_GB:=5}"
  : "${REDIS_SHARD_COUNT:=3}"
  : "${REDIS_REPLICA_COUNT:=1}"
  : "${REDIS_NODE_TYPE:=redis-standard-small}"
  : "${REDIS_CONNECTION_POLICY:=aa-integration-redis}"
  : "${REDIS_ENABLE_AUTH:=true}"
  : "${REDIS_TRANSIT_ENCRYPTION:=server-authentication}"
  : "${REDIS_AUTH_SECRET_NAME:=${REDIS_INSTANCE_ID}-auth}"
  : "${REDIS_CA_SECRET_NAME:=${REDIS_INSTANCE_ID}-server-ca}"
  : "${REDIS_WAIT_REPLICAS:=}"
  : "${REDIS_HOST:=}"
  : "${REDIS_PORT:=}"
  : "${ARTIFACT_REPOSITORY:=aa-integration}"
  : "${IMAGE_TAG:=$(date -u +%Y%m%d-%H%M%S)}"
  : "${CONNECTOR_SERVICE_NAME:=ui-connector}"
  : "${CONNECTOR_IMAGE_NAME:=${CONNECTOR_SERVICE_NAME}}"
  : "${SOCKET_MAX_CONNECTIONS:=900}"
  : "${TRUSTED_PROXY_HOPS:=1}"
  : "${CONNECTOR_MIN_INSTANCES:=1}"
  : "${INTERCEPTOR_SERVICE_NAME:=cloud-pubsub-interceptor}"
  : "${INTERCEPTOR_IMAGE_NAME:=${INTERCEPTOR_SERVICE_NAME}}"
  : "${INTERCEPTOR_WORKERS:=1}"
  : "${INTERCEPTOR_CONCURRENCY:=80}"
  : "${INTERCEPTOR_SERVICE_URL:=}"
  : "${LOGGING_FILE:=}"
  : "${PUBSUB_INVOKER_SERVICE_ACCOUNT_ID:=cloud-run-pubsub-invoker}"
  : "${PUSH_AUDIENCE:=${GCP_PROJECT_ID}/${SERVICE_REGION}/${INTERCEPTOR_SERVICE_NAME}/pubsub-push}"
  : "${SUGGESTION_TOPIC_ID:=aa-new-suggestion}"
  : "${NEW_MESSAGE_TOPIC_ID:=aa-new-message}"
  : "${LIFECYCLE_TOPIC_ID:=aa-conversation-lifecycle}"
  : "${RECOGNITION_TOPIC_ID:=aa-new-recognition-result}"
  : "${SUBSCRIPTION_SUFFIX:=-interceptor}"
  : "${DEAD_LETTER_TOPIC_ID:=aa-interceptor-dead-letter}"
  : "${DEAD_LETTER_SUBSCRIPTION:=${DEAD_LETTER_TOPIC_ID}-hold}"
  : "${PUSH_ACK_DEADLINE_SECONDS:=60}"
  : "${PUSH_MIN_RETRY_DELAY:=10s}"
  : "${PUSH_MAX_RETRY_DELAY:=600s}"
  : "${PUSH_MAX_DELIVERY_ATTEMPTS:=10}"
  : "${METRICS_SIDECAR:=true}"
  : "${METRICS_SIDECAR_IMAGE:=us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0}"
  : "${DASHBOARD_ID:=aa-integration}"
}

load_config() {
  CONFIG_SOURCE="environment"
  load_env_file
  apply_defaults
  PUBSUB_INVOKER_SERVICE_ACCOUNT="${PUBSUB_INVOKER_SERVICE_ACCOUNT_ID}@${GCP_PROJECT_ID}.iam.gserviceaccount.com"
  # One topic per kind of Dialogflow notification, pushed to the interceptor route of that kind.
  PUSH_TOPICS=("$SUGGESTION_TOPIC_ID" "$NEW_MESSAGE_TOPIC_ID" "$LIFECYCLE_TOPIC_ID" "$RECOGNITION_TOPIC_ID")
  PUSH_ROUTES=(human-agent-assistant-event new-message-event conversation-lifecycle-event
    new-recognition-result-notification-event)
  NETWORK_PATH="projects/$GCP_PROJECT_ID/global/networks/$VPC_NETWORK"
  # The APIs this configuration uses.
  REQUIRED_APIS=(
    run.googleapis.com cloudbuild.googleapis.com artifactregistry.googleapis.com
    secretmanager.googleapis.com redis.googleapis.com pubsub.googleapis.com
    dialogflow.googleapis.com compute.googleapis.com iam.googleapis.com
  )
  if [[ $VPC_EGRESS == connector ]]; then REQUIRED_APIS+=(vpcaccess.googleapis.com); fi
  # Memorystore for Redis Cluster connects through Private Service Connect automation.
  if [[ $REDIS_MODE == cluster ]]; then
    REQUIRED_APIS+=(networkconnectivity.googleapis.com serviceconsumermanagement.googleapis.com)
  fi
  # Managed Service for Prometheus (where the sidecar writes) and the dashboard.
  if [[ $METRICS_SIDECAR == true ]]; then REQUIRED_APIS+=(monitoring.googleapis.com); fi
}

subscription_for() { printf '%s%s' "$1" "$SUBSCRIPTION_SUFFIX"; }

image_ref() {
  # Tutorial fix: gcr.io (Container Registry) is shut down; images go to Artifact Registry.
  printf '%s-docker.pkg.dev/%s/%s/%s:%s' \
    "$SERVICE_REGION" "$GCP_PROJECT_ID" "$ARTIFACT_REPOSITORY" "$1" "$IMAGE_TAG"
}

# --- validation: every problem is reported at once, before anything is touched ---

CONFIG_PROBLEMS=()
problem() { CONFIG_PROBLEMS+=("$1"); }

expect_match() { # NAME REGEX WHAT
  local value=${!1}
  [[ $value =~ $2 ]] || problem "$1 must be $3, got '${value}'"
}

expect_int() { # NAME MIN MAX
  local value=${!1}
  if [[ ! $value =~ ^[0-9]{1,6}$ ]] || ((10#$value < $2 || 10#$value > $3)); then
    problem "$1 must be a whole number from $2 to $3, got '${value}'"
  fi
}

validate_config() {
  CONFIG_PROBLEMS=()
  validate_location
  validate_names
  validate_numbers
  validate_choices
  if [[ ${AUTH_OPTION:-} == Skip ]]; then
    problem "AUTH_OPTION=Skip gives a token to anyone who asks; it is for local development only"
  fi
  if ((${#CONFIG_PROBLEMS[@]})); then
    printf 'ERROR: configuration problem: %s\n' "${CONFIG_PROBLEMS[@]}" >&2
    exit 2
  fi
}

validate_location() {
  if [[ -z $GCP_PROJECT_ID ]]; then
    problem "GCP_PROJECT_ID must be set (the project that hosts the services), e.g. in deploy/.env"
  else
    expect_match GCP_PROJECT_ID '^[a-z][-a-z0-9]{4,28}[a-z0-9]$' "a Google Cloud project ID"
  fi
  expect_match SERVICE_REGION '^[a-z]+-[a-z]+[0-9]+$' "a region such as us-central1"
  expect_match REDIS_IP_RANGE '^[0-9]{1,3}(\.[0-9]{1,3}){3}/28$' "an unused /28 range such as 10.8.0.0/28"
}

validate_names() {
  local name
  for name in CONNECTOR_SERVICE_ACCOUNT_ID INTERCEPTOR_SERVICE_ACCOUNT_ID PUBSUB_INVOKER_SERVICE_ACCOUNT_ID; do
    expect_match "$name" '^[a-z][-a-z0-9]{4,28}[a-z0-9]$' "a service account ID (6-30 lowercase letters, digits, hyphens)"
  done
  for name in CONNECTOR_SERVICE_ACCOUNT INTERCEPTOR_SERVICE_ACCOUNT; do
    expect_match "$name" '^[^@[:space:]]+@[^@[:space:]]+\.gserviceaccount\.com$' "a service account email"
  done
  for name in CONNECTOR_SERVICE_NAME INTERCEPTOR_SERVICE_NAME VPC_CONNECTOR_NAME REDIS_INSTANCE_ID \
    ARTIFACT_REPOSITORY CONNECTOR_IMAGE_NAME INTERCEPTOR_IMAGE_NAME VPC_NETWORK VPC_SUBNET \
    REDIS_CONNECTION_POLICY DASHBOARD_ID; do
    expect_match "$name" '^[a-z][-a-z0-9]{0,61}[a-z0-9]$' "lowercase letters, digits and hyphens"
  done
  for name in JWT_SECRET_NAME REDIS_AUTH_SECRET_NAME REDIS_CA_SECRET_NAME; do
    expect_match "$name" '^[A-Za-z0-9_-]{1,255}$' "a Secret Manager secret ID (letters, digits, - and _)"
  done
  for name in SUGGESTION_TOPIC_ID NEW_MESSAGE_TOPIC_ID LIFECYCLE_TOPIC_ID RECOGNITION_TOPIC_ID \
    DEAD_LETTER_TOPIC_ID DEAD_LETTER_SUBSCRIPTION; do
    expect_match "$name" '^[A-Za-z][-A-Za-z0-9_.~+%]{2,200}$' "a Pub/Sub ID (letters, digits, - _ . ~ + %)"
  done
  expect_match SUBSCRIPTION_SUFFIX '^[-A-Za-z0-9_.~+%]+$' "a non-empty suffix such as -interceptor"
  if [[ $(printf '%s\n' "${PUSH_TOPICS[@]}" "$DEAD_LETTER_TOPIC_ID" | sort -u | wc -l) -ne 5 ]]; then
    problem "the four notification topics and DEAD_LETTER_TOPIC_ID must all differ"
  fi
  expect_match IMAGE_TAG '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$' "a Docker tag"
  # One value for the subscriptions' --push-auth-token-audience, the interceptor's PUSH_AUDIENCE
  # and its Cloud Run custom audience: a list separator in it would split it.
  expect_match PUSH_AUDIENCE '^[A-Za-z0-9][-A-Za-z0-9_.:/]{0,254}$' "a token audience without spaces or commas"
  expect_match METRICS_SIDECAR_IMAGE '^[a-z0-9.-]+(/[-a-z0-9._]+)+(:[A-Za-z0-9_.-]+|@sha256:[0-9a-f]{64})$' \
    "a container image with a tag or digest"
}

validate_numbers() {
  expect_int REDIS_SIZE_GB 1 300
  expect_int REDIS_SHARD_COUNT 1 250
  expect_int REDIS_REPLICA_COUNT 0 2
  if [[ -n $REDIS_WAIT_REPLICAS ]]; then expect_int REDIS_WAIT_REPLICAS 0 2; fi
  # Cloud Run allows at most 1000 concurrent requests per instance: the desktops' connections plus
  # CONNECTOR_HTTP_HEADROOM for their registration and proxied calls.
  expect_int SOCKET_MAX_CONNECTIONS 1 $((1000 - CONNECTOR_HTTP_HEADROOM))
  expect_int TRUSTED_PROXY_HOPS 0 5
  expect_int CONNECTOR_MIN_INSTANCES 0 1000
  expect_int INTERCEPTOR_WORKERS 1 8
  expect_int INTERCEPTOR_CONCURRENCY 1 1000
  expect_int PUSH_ACK_DEADLINE_SECONDS 10 600
  expect_int PUSH_MAX_DELIVERY_ATTEMPTS 5 100
  expect_match PUSH_MIN_RETRY_DELAY '^[0-9]+s$' "a duration in seconds such as 10s"
  expect_match PUSH_MAX_RETRY_DELAY '^[0-9]+s$' "a duration in seconds such as 600s"
}

validate_choices() {
  expect_match VPC_EGRESS '^(direct|connector)$' "direct (Direct VPC egress) or connector (Serverless VPC Access)"
  expect_match REDIS_MODE '^(instance|cluster)$' "instance (Memorystore for Redis) or cluster (Memorystore for Redis Cluster)"
  expect_match REDIS_TIER '^(basic|standard)$' "basic or standard"
  expect_match REDIS_NODE_TYPE '^(redis-shared-core-nano|redis-standard-small|redis-highmem-medium|redis-highmem-xlarge)$' \
    "a Redis Cluster node type (redis-standard-small, redis-highmem-medium, ...)"
  expect_match REDIS_ENABLE_AUTH '^(true|false)$' "true or false"
  expect_match REDIS_TRANSIT_ENCRYPTION '^(server-authentication|disabled)$' "server-authentication or disabled"
  expect_match METRICS_SIDECAR '^(true|false)$' "true or false"
}

show_config() {
  local name
  info "  configuration from: $CONFIG_SOURCE (environment variables win over the file)"
  for name in "${CONFIG_VARS[@]}"; do
    info "  $(printf '%-34s' "$name") ${!name:-(not set)}"
  done
}
