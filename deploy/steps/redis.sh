# shellcheck shell=bash
# Step "redis": Memorystore for Redis (REDIS_MODE=instance, the default) or Memorystore for Redis
# Cluster (REDIS_MODE=cluster), with AUTH and in-transit encryption, and the secrets that carry
# the AUTH string and the server CA certificate to the services.
#
# An existing instance or cluster whose settings differ from the configuration is not changed
# (most changes restart or fail over Redis, and some need a new instance): each difference is
# reported with the command that would change it. The services are wired to what the instance
# actually is (its AUTH, TLS and replicas), so they keep working meanwhile.

step_redis() {
  if [[ $REDIS_MODE == cluster ]]; then
    ensure_redis_cluster
  else
    ensure_redis_instance
  fi
  resolve_redis
  store_redis_secrets
  info "  Redis endpoint: $REDIS_HOST:$REDIS_PORT (AUTH: $REDIS_ACTUAL_AUTH, TLS: $REDIS_ACTUAL_TLS, replicas: $REDIS_ACTUAL_REPLICAS)"
}

# --redis-version: the streams' exclusive ranges need Redis 6.2 or later; 7.2 is current.
# maxmemory-policy=noeviction: every key has a TTL, so Memorystore's default volatile-lru could
# evict a live conversation's stream; with noeviction a full Redis answers errors instead, the
# interceptor returns 503 and Pub/Sub keeps the events until there is room.
# --tier=standard (the default here): a replica in another zone with automatic failover; on the
# basic tier one restart or maintenance loses every stored event.
# --enable-auth and --transit-encryption-mode=server-authentication: customer transcripts are
# neither readable on the wire nor writable by whatever else reaches the network.
ensure_redis_instance() {
  local label="Redis instance $REDIS_INSTANCE_ID" json
  local -a create=(redis instances create "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION"
    --tier="$REDIS_TIER" --size="$REDIS_SIZE_GB" --network="$NETWORK_PATH" --redis-version=redis_7_2
    --redis-config=maxmemory-policy=noeviction --transit-encryption-mode="$REDIS_TRANSIT_ENCRYPTION"
    --labels="$DEPLOY_LABEL")
  if [[ $REDIS_ENABLE_AUTH == true ]]; then create+=(--enable-auth); fi
  if is_dry_run; then
    describe_json redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" || true
    change "${create[@]}"
    created "$label"
    return 0
  fi
  json=$(describe_json redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION")
  if [[ -z $json ]]; then
    change "${create[@]}"
    created "$label"
    return 0
  fi
  REDIS_JSON=$json
  compare_redis_instance "$label" "$json"
}

compare_redis_instance() { # LABEL JSON
  local label=$1 tier size auth tls version policy network differs=0
  local -a where=("$REDIS_INSTANCE_ID" --region="$SERVICE_REGION")
  local move="Memorystore cannot change this on an instance: set REDIS_INSTANCE_ID to a new name and run deploy/deploy.sh redis connector interceptor (stored events are not copied), then delete the old instance"
  { read -r tier; read -r size; read -r auth; read -r tls; read -r version; read -r policy; read -r network; } < <(
    json_get "$2" tier memorySizeGb authEnabled transitEncryptionMode redisVersion 'redisConfigs["maxmemory-policy"]' authorizedNetwork)
  local want_tier=BASIC want_tls=DISABLED want_auth=$REDIS_ENABLE_AUTH
  [[ $REDIS_TIER == standard ]] && want_tier=STANDARD_HA
  [[ $REDIS_TRANSIT_ENCRYPTION == server-authentication ]] && want_tls=SERVER_AUTHENTICATION
  [[ -n $auth ]] || auth=false
  if [[ $tier != "$want_tier" ]]; then
    report "$label" "tier is $tier, the configuration wants $want_tier (REDIS_TIER=$REDIS_TIER). $move" -- \
      redis instances delete "${where[@]}"
    differs=1
  fi
  if [[ ${tls:-DISABLED} != "$want_tls" ]]; then
    report "$label" "in-transit encryption is ${tls:-DISABLED}, the configuration wants $want_tls. $move" -- \
      redis instances delete "${where[@]}"
    differs=1
  fi
  if [[ $auth != "$want_auth" ]]; then
    if [[ $want_auth == true ]]; then
      report "$label" "AUTH is off, the configuration wants it on" -- redis instances update "${where[@]}" --enable-auth
    else
      report "$label" "AUTH is on, REDIS_ENABLE_AUTH=false: the services keep sending the AUTH string"
    fi
    differs=1
  fi
  if [[ $size != "$REDIS_SIZE_GB" ]]; then
    report "$label" "size is ${size} GB, REDIS_SIZE_GB=$REDIS_SIZE_GB" -- \
      redis instances update "${where[@]}" --size="$REDIS_SIZE_GB"
    differs=1
  fi
  if [[ $version != REDIS_7_2 ]]; then
    report "$label" "runs $version, the scripts create REDIS_7_2" -- \
      redis instances upgrade "${where[@]}" --redis-version=redis_7_2
    differs=1
  fi
  if [[ $policy != noeviction ]]; then
    report "$label" "maxmemory-policy is ${policy:-volatile-lru (the default)}: a full Redis would evict live conversations" -- \
      redis instances update "${where[@]}" --update-redis-config=maxmemory-policy=noeviction
    differs=1
  fi
  if [[ $network != "$NETWORK_PATH" ]]; then
    report "$label" "is on network ${network##*/}, VPC_NETWORK=$VPC_NETWORK: the services could not reach it. $move" -- \
      redis instances delete "${where[@]}"
    differs=1
  fi
  ((differs)) || unchanged "$label"
}

# Memorystore for Redis Cluster offers no AUTH string: its only authentication is IAM (the client
# sends an OAuth access token of an identity holding roles/redis.dbConnectionUser as the password);
# the services are told so with REDIS_AUTH=iam. Its CA certificates come from
# `gcloud redis clusters get-cluster-certificate-authority`.
ensure_redis_cluster() {
  local label="Redis cluster $REDIS_INSTANCE_ID" json auth_mode=disabled
  [[ $REDIS_ENABLE_AUTH == true ]] && auth_mode=iam-auth
  local -a create=(redis clusters create "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION"
    --network="$NETWORK_PATH" --shard-count="$REDIS_SHARD_COUNT" --replica-count="$REDIS_REPLICA_COUNT"
    --node-type="$REDIS_NODE_TYPE" --auth-mode="$auth_mode" --transit-encryption-mode="$REDIS_TRANSIT_ENCRYPTION"
    --redis-config=maxmemory-policy=noeviction --zone-distribution-mode=multi-zone)
  if is_dry_run; then
    describe_json redis clusters describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" || true
    change "${create[@]}"
    created "$label"
    return 0
  fi
  json=$(describe_json redis clusters describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION")
  if [[ -z $json ]]; then
    change "${create[@]}"
    created "$label"
    return 0
  fi
  REDIS_JSON=$json
  compare_redis_cluster "$label" "$json"
}

compare_redis_cluster() { # LABEL JSON
  local label=$1 shards replicas node_type auth tls policy network differs=0
  local -a where=("$REDIS_INSTANCE_ID" --region="$SERVICE_REGION")
  local move="Memorystore cannot change this on a cluster: set REDIS_INSTANCE_ID to a new name and run deploy/deploy.sh redis connector interceptor, then delete the old cluster"
  { read -r shards; read -r replicas; read -r node_type; read -r auth; read -r tls; read -r policy; read -r network; } < <(
    json_get "$2" shardCount replicaCount nodeType authorizationMode transitEncryptionMode \
      'redisConfigs["maxmemory-policy"]' 'pscConfigs[0].network')
  local want_auth=AUTH_MODE_DISABLED want_tls=TRANSIT_ENCRYPTION_MODE_DISABLED
  [[ $REDIS_ENABLE_AUTH == true ]] && want_auth=AUTH_MODE_IAM_AUTH
  [[ $REDIS_TRANSIT_ENCRYPTION == server-authentication ]] && want_tls=TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION
  if [[ $shards != "$REDIS_SHARD_COUNT" ]]; then
    report "$label" "has $shards shards, REDIS_SHARD_COUNT=$REDIS_SHARD_COUNT" -- \
      redis clusters update "${where[@]}" --shard-count="$REDIS_SHARD_COUNT"
    differs=1
  fi
  if [[ ${replicas:-0} != "$REDIS_REPLICA_COUNT" ]]; then
    report "$label" "has ${replicas:-0} replicas per shard, REDIS_REPLICA_COUNT=$REDIS_REPLICA_COUNT" -- \
      redis clusters update "${where[@]}" --replica-count="$REDIS_REPLICA_COUNT"
    differs=1
  fi
  # The API spells the node type REDIS_STANDARD_SMALL, gcloud redis-standard-small.
  node_type=${node_type,,}
  if [[ ${node_type//_/-} != "$REDIS_NODE_TYPE" ]]; then
    report "$label" "has node type $node_type, REDIS_NODE_TYPE=$REDIS_NODE_TYPE" -- \
      redis clusters update "${where[@]}" --node-type="$REDIS_NODE_TYPE"
    differs=1
  fi
  if [[ ${auth:-AUTH_MODE_DISABLED} != "$want_auth" ]]; then
    report "$label" "authorization mode is ${auth:-AUTH_MODE_DISABLED}, the configuration wants $want_auth. $move" -- \
      redis clusters delete "${where[@]}"
    differs=1
  fi
  if [[ ${tls:-TRANSIT_ENCRYPTION_MODE_DISABLED} != "$want_tls" ]]; then
    report "$label" "in-transit encryption is ${tls:-TRANSIT_ENCRYPTION_MODE_DISABLED}, the configuration wants $want_tls. $move" -- \
      redis clusters delete "${where[@]}"
    differs=1
  fi
  if [[ $policy != noeviction ]]; then
    report "$label" "maxmemory-policy is ${policy:-volatile-lru (the default)}: a full Redis would evict live conversations" -- \
      redis clusters update "${where[@]}" --update-redis-config=maxmemory-policy=noeviction
    differs=1
  fi
  if [[ -n $network && $network != *"$NETWORK_PATH" ]]; then
    report "$label" "is on network ${network##*/}, VPC_NETWORK=$VPC_NETWORK. $move" -- redis clusters delete "${where[@]}"
    differs=1
  fi
  ((differs)) || unchanged "$label"
}

# What the services are given: REDIS_HOST / REDIS_PORT (read back unless the operator set both)
# and what the instance actually is: REDIS_ACTUAL_AUTH (string, iam or none), REDIS_ACTUAL_TLS
# (true/false) and REDIS_ACTUAL_REPLICAS. A dry run reads nothing and assumes the configuration.
resolve_redis() {
  [[ ${REDIS_RESOLVED:-false} == true ]] && return 0
  local host port auth tls tier replicas
  if [[ -n $REDIS_HOST && -n $REDIS_PORT ]]; then
    # Another Redis, named by the operator: it is as the configuration says (its AUTH string and
    # CA, if any, in the secrets REDIS_AUTH_SECRET_NAME and REDIS_CA_SECRET_NAME).
    wanted_redis_shape
  elif is_dry_run; then
    describe_json redis "$(redis_kind)" describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" || true
    host='<REDIS_HOST>' port='<REDIS_PORT>'
    wanted_redis_shape
  else
    if [[ -z ${REDIS_JSON:-} ]]; then
      REDIS_JSON=$(describe_json redis "$(redis_kind)" describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION")
      [[ -n $REDIS_JSON ]] || die "Redis $REDIS_MODE $REDIS_INSTANCE_ID does not exist: run deploy/deploy.sh redis first"
    fi
    if [[ $REDIS_MODE == cluster ]]; then
      # The discovery endpoint: any client asks it for the cluster's layout.
      { read -r host; read -r port; read -r auth; read -r tls; read -r replicas; } < <(json_get "$REDIS_JSON" \
        'discoveryEndpoints[0].address' 'discoveryEndpoints[0].port' authorizationMode transitEncryptionMode replicaCount)
      [[ $auth == AUTH_MODE_IAM_AUTH ]] && auth=iam || auth=none
      [[ $tls == TRANSIT_ENCRYPTION_MODE_SERVER_AUTHENTICATION ]] && tls=true || tls=false
    else
      { read -r host; read -r port; read -r auth; read -r tls; read -r tier; read -r replicas; } < <(json_get "$REDIS_JSON" \
        host port authEnabled transitEncryptionMode tier replicaCount)
      [[ $auth == true ]] && auth=string || auth=none
      [[ $tls == SERVER_AUTHENTICATION ]] && tls=true || tls=false
      # The standard tier has one replica unless read replicas were added; basic has none.
      if [[ $tier != STANDARD_HA ]]; then replicas=0; elif [[ -z $replicas || $replicas == 0 ]]; then replicas=1; fi
    fi
    [[ -n $host && -n $port ]] || die "Redis $REDIS_MODE $REDIS_INSTANCE_ID has no address yet (still being created?)"
    REDIS_ACTUAL_AUTH=$auth REDIS_ACTUAL_TLS=$tls REDIS_ACTUAL_REPLICAS=${replicas:-0}
  fi
  [[ -n $REDIS_HOST ]] || REDIS_HOST=$host
  [[ -n $REDIS_PORT ]] || REDIS_PORT=$port
  REDIS_RESOLVED=true
}

redis_kind() { if [[ $REDIS_MODE == cluster ]]; then printf clusters; else printf instances; fi; }

wanted_redis_shape() {
  REDIS_ACTUAL_AUTH=none REDIS_ACTUAL_TLS=false REDIS_ACTUAL_REPLICAS=0
  if [[ $REDIS_ENABLE_AUTH == true ]]; then
    [[ $REDIS_MODE == cluster ]] && REDIS_ACTUAL_AUTH=iam || REDIS_ACTUAL_AUTH=string
  fi
  [[ $REDIS_TRANSIT_ENCRYPTION == server-authentication ]] && REDIS_ACTUAL_TLS=true
  if [[ $REDIS_MODE == cluster ]]; then
    REDIS_ACTUAL_REPLICAS=$REDIS_REPLICA_COUNT
  elif [[ $REDIS_TIER == standard ]]; then
    REDIS_ACTUAL_REPLICAS=1
  fi
}

# --- the secrets: the AUTH string and the server CA certificate -------------------------------

# The AUTH string goes from `gcloud redis instances get-auth-string` into
# `gcloud secrets ... --data-file=-` through a pipe: never an argument, never in the output. When
# the secret exists, the two are compared inside a pipe too (cmp), and only a changed string is
# added as a new version.
store_redis_secrets() {
  local -a accessors=("serviceAccount:$CONNECTOR_SERVICE_ACCOUNT" "serviceAccount:$INTERCEPTOR_SERVICE_ACCOUNT")
  local member
  if [[ $REDIS_ACTUAL_AUTH == string ]]; then
    store_piped_secret "$REDIS_AUTH_SECRET_NAME" "Redis AUTH string" \
      redis instances get-auth-string "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" --format='value(authString)'
    for member in "${accessors[@]}"; do
      grant_roles secrets "$REDIS_AUTH_SECRET_NAME" "$member" roles/secretmanager.secretAccessor
    done
  fi
  if [[ $REDIS_ACTUAL_TLS == true ]]; then
    if [[ $REDIS_MODE == cluster ]]; then
      store_piped_secret "$REDIS_CA_SECRET_NAME" "Redis server CA certificates" \
        redis clusters get-cluster-certificate-authority "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" --format=json \
        '|' python3 "$RESOURCE_PY" pem 'managedServerCa.caCerts[].certificates[]'
    else
      store_piped_secret "$REDIS_CA_SECRET_NAME" "Redis server CA certificates" \
        redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" --format=json \
        '|' python3 "$RESOURCE_PY" pem 'serverCaCerts[].cert'
    fi
    for member in "${accessors[@]}"; do
      grant_roles secrets "$REDIS_CA_SECRET_NAME" "$member" roles/secretmanager.secretAccessor
    done
  fi
}

# produce GCLOUD_ARGS... ['|' FILTER...]: the value, on stdout, with no line break at its end.
produce() {
  local -a read=() filter=()
  while (($#)) && [[ $1 != '|' ]]; do read+=("$1"); shift; done
  if (($#)); then shift; filter=("$@"); fi
  gcloud_argv "${read[@]}"
  if ((${#filter[@]})); then
    "${GCLOUD_ARGV[@]}" </dev/null | "${filter[@]}"
  else
    "${GCLOUD_ARGV[@]}" </dev/null | tr -d '\r\n'
  fi
}

shown_producer() {
  local -a read=() filter=()
  while (($#)) && [[ $1 != '|' ]]; do read+=("$1"); shift; done
  gcloud_argv "${read[@]}"
  if (($#)); then shift; filter=("$@"); printf '%s | %s' "$(render "${GCLOUD_ARGV[@]}")" "$(render "${filter[@]}")"
  else printf '%s | tr -d %s' "$(render "${GCLOUD_ARGV[@]}")" "'\\r\\n'"; fi
}

# store_piped_secret SECRET WHAT PRODUCER...: SECRET holds what PRODUCER prints; created, or given
# a new version when it differs (compared with cmp, never shown).
store_piped_secret() {
  local secret=$1 what=$2 shown status=0
  shift 2
  shown=$(shown_producer "$@")
  if is_dry_run; then
    describe_json secrets describe "$secret" || true
    gcloud_argv secrets create "$secret" --data-file=- --replication-policy=user-managed \
      --locations="$SERVICE_REGION" --labels="$DEPLOY_LABEL"
    show_dry_run "$shown | $(render "${GCLOUD_ARGV[@]}")"
    gcloud_argv secrets versions add "$secret" --data-file=-
    info "  [dry-run] (when the secret exists and differs:) $shown | $(render "${GCLOUD_ARGV[@]}")"
    created "secret $secret ($what)"
    return 0
  fi
  if [[ -z $(describe_json secrets describe "$secret") ]]; then
    gcloud_argv secrets create "$secret" --data-file=- --replication-policy=user-managed \
      --locations="$SERVICE_REGION" --labels="$DEPLOY_LABEL"
    info "  + $shown | $(render "${GCLOUD_ARGV[@]}")"
    produce "$@" | "${GCLOUD_ARGV[@]}" >&2 || die "could not store the $what in secret $secret"
    created "secret $secret ($what)"
    return 0
  fi
  gcloud_argv secrets versions access latest --secret="$secret"
  cmp -s <(produce "$@") <("${GCLOUD_ARGV[@]}" </dev/null 2>/dev/null) || status=$?
  if ((status == 0)); then
    unchanged "secret $secret ($what)"
    return 0
  fi
  gcloud_argv secrets versions add "$secret" --data-file=-
  info "  + $shown | $(render "${GCLOUD_ARGV[@]}")"
  produce "$@" | "${GCLOUD_ARGV[@]}" >&2 || die "could not store the $what in secret $secret"
  updated "secret $secret ($what)" "a new version: it differed from the instance's"
}
