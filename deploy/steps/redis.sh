# shellcheck shell=bash
# Step "redis": Memorystore for Redis and the Serverless VPC Access connector Cloud Run reaches it by.

step_redis() {
  # --network: the connector's network. The tutorial leaves it out, which only works on "default".
  # --redis-version: the streams' exclusive ranges need Redis 6.2 or later; 7.2 is current.
  # maxmemory-policy=noeviction: every key has a TTL, so Memorystore's default volatile-lru could
  # evict a live conversation's stream; with noeviction a full Redis answers errors instead, the
  # interceptor returns 503 and Pub/Sub keeps the events until there is room.
  ensure "Redis instance $REDIS_INSTANCE_ID" \
    redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" -- \
    redis instances create "$REDIS_INSTANCE_ID" --size="$REDIS_SIZE_GB" --region="$SERVICE_REGION" \
    --tier="$REDIS_TIER" --network="$VPC_NETWORK" --redis-version=redis_7_2 \
    --redis-config=maxmemory-policy=noeviction
  ensure "Serverless VPC Access connector $VPC_CONNECTOR_NAME" \
    compute networks vpc-access connectors describe "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION" -- \
    compute networks vpc-access connectors create "$VPC_CONNECTOR_NAME" --network="$VPC_NETWORK" \
    --region="$SERVICE_REGION" --range="$REDIS_IP_RANGE"
  resolve_redis_endpoint
  info "  Redis endpoint: $REDIS_HOST:$REDIS_PORT"
}

# REDIS_HOST / REDIS_PORT: read back from the instance unless the operator set them.
resolve_redis_endpoint() {
  if [[ -z $REDIS_HOST ]]; then
    REDIS_HOST=$(read_value '<REDIS_HOST>' redis instances describe "$REDIS_INSTANCE_ID" \
      --region="$SERVICE_REGION" --format='value(host)')
  fi
  if [[ -z $REDIS_PORT ]]; then
    REDIS_PORT=$(read_value '<REDIS_PORT>' redis instances describe "$REDIS_INSTANCE_ID" \
      --region="$SERVICE_REGION" --format='value(port)')
  fi
}
