# shellcheck shell=bash
# Step "connector": build the UI connector's image and deploy it to Cloud Run.

step_connector() {
  local url
  local -a env_vars passthrough secrets
  resolve_redis
  build_image ui_connector/Dockerfile "$CONNECTOR_IMAGE_NAME"
  mapfile -t passthrough < <(set_vars "${CONNECTOR_PASSTHROUGH_VARS[@]}" "${SHARED_PASSTHROUGH_VARS[@]}")
  mapfile -t env_vars < <(redis_env_vars)
  env_vars+=(
    "GCP_PROJECT_ID=$GCP_PROJECT_ID"
    "JWT_SECRET_KEY_PATH=$JWT_SECRET_MOUNT_PATH"
    "SOCKET_MAX_CONNECTIONS=$SOCKET_MAX_CONNECTIONS"
    # Cloud Run's front end appends one X-Forwarded-For hop: the desktop's address.
    "TRUSTED_PROXY_HOPS=$TRUSTED_PROXY_HOPS"
    "${passthrough[@]}"
  )
  mapfile -t secrets < <(redis_secrets)
  secrets=("$JWT_SECRET_MOUNT_PATH=${JWT_SECRET_NAME}:latest" "${secrets[@]}")
  # What a Socket.IO server needs from Cloud Run, beyond the tutorial's flags:
  #   --session-affinity     a long-polling client's requests keep reaching the instance holding its session;
  #   --no-cpu-throttling    CPU between requests, for heartbeats and the Redis subscriber of open sockets
  #                          (and for the metrics sidecar's scrapes);
  #   --min-instances        an instance ready when desktops connect, rather than a cold start;
  #   --concurrency          the desktops an instance admits plus room for their HTTP calls: exactly the
  #                          connections its gevent worker holds, so Cloud Run neither queues nor sends
  #                          what the worker cannot take.
  deploy_service "$CONNECTOR_SERVICE_NAME" "$CONNECTOR_IMAGE_NAME" env_vars secrets \
    --service-account="$CONNECTOR_SERVICE_ACCOUNT" \
    --allow-unauthenticated \
    --timeout=3600 \
    --session-affinity \
    --no-cpu-throttling \
    --min-instances="$CONNECTOR_MIN_INSTANCES" \
    --concurrency="$((SOCKET_MAX_CONNECTIONS + CONNECTOR_HTTP_HEADROOM))"
  url=$(service_url "$CONNECTOR_SERVICE_NAME" '<UI_CONNECTOR_URL>')
  info "  UI connector: $url"
}
