# shellcheck shell=bash
# Step "interceptor": build the Cloud Pub/Sub interceptor's image and deploy it to Cloud Run.

step_interceptor() {
  local -a env_vars
  resolve_redis_endpoint
  build_image cloud_pubsub_interceptor/Dockerfile "$INTERCEPTOR_IMAGE_NAME"
  # Tutorial fix: its "# You can also add LOGGING_FILE here" line sits inside the backslash-continued
  # command, which ends the command there: --set-env-vars never reached gcloud. LOGGING_FILE is
  # passed here when set.
  mapfile -t env_vars < <(set_vars LOGGING_FILE "${SHARED_PASSTHROUGH_VARS[@]}")
  env_vars=(
    "REDISHOST=$REDIS_HOST" "REDISPORT=$REDIS_PORT" "GCP_PROJECT_ID=$GCP_PROJECT_ID"
    "GUNICORN_THREADS=$INTERCEPTOR_THREADS"
    "${env_vars[@]}"
  )
  # Tutorial fix: it passes $INTERCEPTOR_SERVICE_ACCOUNT_NAME, a variable it never sets, so the
  # service silently ran as the default Compute Engine account; the variable is
  # INTERCEPTOR_SERVICE_ACCOUNT. Only Pub/Sub push (internal ingress, IAM-checked) may call it.
  change run deploy "$INTERCEPTOR_SERVICE_NAME" \
    --image="$(image_ref "$INTERCEPTOR_IMAGE_NAME")" \
    --region="$SERVICE_REGION" \
    --service-account="$INTERCEPTOR_SERVICE_ACCOUNT" \
    --no-allow-unauthenticated \
    --ingress=internal \
    --vpc-connector="$VPC_CONNECTOR_NAME" \
    --concurrency="$INTERCEPTOR_THREADS" \
    --set-env-vars="$(env_vars_arg "${env_vars[@]}")"
  resolve_interceptor_url
  info "  interceptor: $INTERCEPTOR_SERVICE_URL (internal ingress)"
}

# INTERCEPTOR_SERVICE_URL: read back from the service unless the operator set it.
resolve_interceptor_url() {
  if [[ -z $INTERCEPTOR_SERVICE_URL ]]; then
    INTERCEPTOR_SERVICE_URL=$(service_url "$INTERCEPTOR_SERVICE_NAME" '<INTERCEPTOR_SERVICE_URL>')
  fi
}
