# shellcheck shell=bash
# What both Cloud Run services get: the network path to Redis, Redis's address, AUTH and CA, the
# health checks, the metrics sidecar, and the clean-up of what an earlier configuration left.

# Name of the container serving requests, when the service does not exist yet.
APP_CONTAINER=app
# The Managed Service for Prometheus sidecar's container. Its default configuration scrapes
# http://localhost:8080/metrics every 30 s and writes to Managed Service for Prometheus.
METRICS_CONTAINER=collector

# The environment variables both services read about Redis (NAME=VALUE lines).
redis_env_vars() {
  local wait=$REDIS_WAIT_REPLICAS
  printf '%s\n' "REDISHOST=$REDIS_HOST" "REDISPORT=$REDIS_PORT"
  if [[ $REDIS_ACTUAL_TLS == true ]]; then
    printf '%s\n' REDIS_TLS=true "REDIS_TLS_CA_CERT=$REDIS_CA_MOUNT_PATH"
  fi
  if [[ $REDIS_MODE == cluster ]]; then printf '%s\n' REDIS_CLUSTER=true; fi
  # Memorystore for Redis Cluster authenticates with IAM: the password is an access token.
  if [[ $REDIS_ACTUAL_AUTH == iam ]]; then printf '%s\n' REDIS_AUTH=iam; fi
  # Nothing lost on a failover: a push is acknowledged once a replica has it too (Redis WAIT).
  if [[ -z $wait ]] && ((REDIS_ACTUAL_REPLICAS > 0)); then wait=1; fi
  if [[ -n $wait ]]; then printf '%s\n' "REDIS_WAIT_REPLICAS=$wait"; fi
}

# The secrets both services get about Redis (KEY=SECRET:VERSION lines, for --update-secrets).
redis_secrets() {
  if [[ $REDIS_ACTUAL_AUTH == string ]]; then printf '%s\n' "REDIS_PASSWORD=${REDIS_AUTH_SECRET_NAME}:latest"; fi
  if [[ $REDIS_ACTUAL_TLS == true ]]; then printf '%s\n' "$REDIS_CA_MOUNT_PATH=${REDIS_CA_SECRET_NAME}:latest"; fi
}

network_flags() {
  if [[ $VPC_EGRESS == direct ]]; then
    # Direct VPC egress: the instances take addresses in VPC_SUBNET; only private ranges (Redis)
    # go through the VPC, Google APIs and identity providers the usual way.
    printf '%s\n' --network="$VPC_NETWORK" --subnet="$VPC_SUBNET" --vpc-egress=private-ranges-only
  else
    printf '%s\n' --vpc-connector="$VPC_CONNECTOR_NAME" --vpc-egress=private-ranges-only
  fi
}

# deploy_service SERVICE IMAGE_NAME ENV_ARRAY SECRETS_ARRAY [SERVICE_FLAGS...]: gcloud run deploy,
# with the settings both services share; ENV_ARRAY and SECRETS_ARRAY name arrays of NAME=VALUE.
deploy_service() {
  local service=$1 image=$2 app=$APP_CONTAINER
  local -n env_=$3 secrets_=$4
  shift 4
  local -a flags=("$@") network app_flags metrics_flags=() drift=() remove_secrets=() wanted_keys=()
  local key
  mapfile -t network < <(network_flags)
  for key in "${secrets_[@]}"; do wanted_keys+=("${key%%=*}"); done
  if is_dry_run; then
    info "  [dry-run] (an existing service also gets what turns it into this configuration:" \
      "--clear-vpc-connector or --clear-network, --remove-secrets for Redis secrets no longer used," \
      "--remove-containers=$METRICS_CONTAINER when METRICS_SIDECAR=false)"
  else
    read_service_drift "$service"
    app=${SERVICE_APP_CONTAINER:-$APP_CONTAINER}
  fi
  app_flags=(--container="$app" --image="$(image_ref "$image")" --port="$CONTAINER_PORT"
    --startup-probe="$STARTUP_PROBE" --liveness-probe="$LIVENESS_PROBE"
    --set-env-vars="$(env_vars_arg "${env_[@]}")")
  if ((${#secrets_[@]})); then app_flags+=(--update-secrets="$(IFS=,; printf '%s' "${secrets_[*]}")"); fi
  for key in "${SERVICE_SECRET_KEYS[@]}"; do
    if [[ " ${MANAGED_SECRET_KEYS[*]} " == *" $key "* && " ${wanted_keys[*]} " != *" $key "* ]]; then
      remove_secrets+=("$key")
    fi
  done
  if ((${#remove_secrets[@]})); then
    app_flags+=(--remove-secrets="$(IFS=,; printf '%s' "${remove_secrets[*]}")")
    info "  Cloud Run service $service: differs: holds ${remove_secrets[*]}, which this configuration does not use; this deploy removes them"
  fi
  if [[ $METRICS_SIDECAR == true ]]; then
    metrics_flags=(--container="$METRICS_CONTAINER" --image="$METRICS_SIDECAR_IMAGE" --depends-on="$app")
  elif [[ ",$SERVICE_CONTAINERS," == *",$METRICS_CONTAINER,"* ]]; then
    drift+=(--remove-containers="$METRICS_CONTAINER")
    info "  Cloud Run service $service: differs: runs the metrics sidecar, METRICS_SIDECAR=false; this deploy removes it"
  fi
  if [[ $VPC_EGRESS == direct && -n $SERVICE_VPC_CONNECTOR ]]; then
    drift+=(--clear-vpc-connector)
    info "  Cloud Run service $service: differs: uses the VPC connector ${SERVICE_VPC_CONNECTOR##*/}; this deploy moves it to Direct VPC egress"
  elif [[ $VPC_EGRESS == connector && -n $SERVICE_NETWORK_INTERFACES ]]; then
    drift+=(--clear-network)
    info "  Cloud Run service $service: differs: uses Direct VPC egress; this deploy moves it to the VPC connector $VPC_CONNECTOR_NAME"
  fi
  change run deploy "$service" --region="$SERVICE_REGION" "${network[@]}" "${drift[@]}" \
    --labels="$DEPLOY_LABEL" "${flags[@]}" "${app_flags[@]}" "${metrics_flags[@]}"
}

# What an existing service holds (nothing when it does not exist): SERVICE_APP_CONTAINER (the
# name of its serving container, which the deploy keeps), SERVICE_CONTAINERS, SERVICE_VPC_CONNECTOR,
# SERVICE_NETWORK_INTERFACES and SERVICE_SECRET_KEYS (the secrets it mounts or exposes).
SERVICE_APP_CONTAINER="" SERVICE_CONTAINERS="" SERVICE_VPC_CONNECTOR="" SERVICE_NETWORK_INTERFACES=""
SERVICE_SECRET_KEYS=()
read_service_drift() { # SERVICE
  local json keys=""
  SERVICE_APP_CONTAINER="" SERVICE_CONTAINERS="" SERVICE_VPC_CONNECTOR="" SERVICE_NETWORK_INTERFACES=""
  SERVICE_SECRET_KEYS=()
  json=$(describe_json run services describe "$1" --region="$SERVICE_REGION")
  [[ -n $json ]] || return 0
  { read -r SERVICE_APP_CONTAINER; read -r SERVICE_CONTAINERS; read -r SERVICE_VPC_CONNECTOR
    read -r SERVICE_NETWORK_INTERFACES; read -r keys; } < <(
    python3 "$RESOURCE_PY" service ingress_container containers vpc_connector network_interfaces secret_keys <<<"$json")
  IFS=, read -ra SERVICE_SECRET_KEYS <<<"$keys"
}
