# shellcheck shell=bash
# Step "interceptor": build the Cloud Pub/Sub interceptor's image and deploy it to Cloud Run.

step_interceptor() {
  local cpu=--cpu-throttling
  local -a env_vars passthrough secrets
  resolve_redis
  build_image cloud_pubsub_interceptor/Dockerfile "$INTERCEPTOR_IMAGE_NAME"
  # Tutorial fix: its "# You can also add LOGGING_FILE here" line sits inside the backslash-continued
  # command, which ends the command there: --set-env-vars never reached gcloud. LOGGING_FILE is
  # passed here when set.
  mapfile -t passthrough < <(set_vars LOGGING_FILE "${SHARED_PASSTHROUGH_VARS[@]}")
  mapfile -t env_vars < <(redis_env_vars)
  # Push auth in depth: besides Cloud Run's IAM check, the interceptor verifies each push's OIDC
  # token itself: the audience every subscription sends, issued to the push identity.
  env_vars+=(
    "GCP_PROJECT_ID=$GCP_PROJECT_ID"
    "INTERCEPTOR_WORKERS=$INTERCEPTOR_WORKERS"
    "PUSH_AUDIENCE=$PUSH_AUDIENCE"
    "PUSH_SERVICE_ACCOUNT=$PUBSUB_INVOKER_SERVICE_ACCOUNT"
    "${passthrough[@]}"
  )
  mapfile -t secrets < <(redis_secrets)
  # The metrics sidecar scrapes between requests too: Google recommends CPU always allocated for it.
  if [[ $METRICS_SIDECAR == true ]]; then cpu=--no-cpu-throttling; fi
  # Tutorial fix: it passes $INTERCEPTOR_SERVICE_ACCOUNT_NAME, a variable it never sets, so the
  # service silently ran as the default Compute Engine account; the variable is
  # INTERCEPTOR_SERVICE_ACCOUNT. Only Pub/Sub push (internal ingress, IAM-checked) may call it.
  # --set-custom-audiences: Cloud Run IAM accepts tokens for PUSH_AUDIENCE as well as for its URL,
  # which the first deployment does not know yet.
  deploy_service "$INTERCEPTOR_SERVICE_NAME" "$INTERCEPTOR_IMAGE_NAME" env_vars secrets \
    --service-account="$INTERCEPTOR_SERVICE_ACCOUNT" \
    --no-allow-unauthenticated \
    --ingress=internal \
    --set-custom-audiences="$PUSH_AUDIENCE" \
    "$cpu" \
    --concurrency="$INTERCEPTOR_CONCURRENCY"
  resolve_interceptor_url
  info "  interceptor: $INTERCEPTOR_SERVICE_URL (internal ingress)"
}

# INTERCEPTOR_SERVICE_URL: read back from the service unless the operator set it.
resolve_interceptor_url() {
  if [[ -z $INTERCEPTOR_SERVICE_URL ]]; then
    INTERCEPTOR_SERVICE_URL=$(service_url "$INTERCEPTOR_SERVICE_NAME" '<INTERCEPTOR_SERVICE_URL>')
  fi
}
