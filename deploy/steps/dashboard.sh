# shellcheck shell=bash
# Step "dashboard": the Cloud Monitoring dashboard of deploy/dashboard.json (pushes, deliveries,
# connected desktops, lag), created, or updated when the file changed. Its charts query, in
# PromQL, the metrics the Managed Service for Prometheus sidecar collects from both services'
# /metrics, and Pub/Sub's own backlog metrics.

DASHBOARD_FILE="$DEPLOY_DIR/dashboard.json"

step_dashboard() {
  local label="dashboard $DASHBOARD_ID" existing="" config
  if [[ $METRICS_SIDECAR != true ]]; then
    info "  METRICS_SIDECAR=false: skipped (without the sidecar no service metrics reach Cloud Monitoring)"
    return 0
  fi
  temp_file aa-dashboard
  config=$TEMP_FILE
  if is_dry_run; then
    describe_json monitoring dashboards describe "$DASHBOARD_ID" || true
    python3 "$RESOURCE_PY" dashboard "$DASHBOARD_FILE" "$GCP_PROJECT_ID" "$DASHBOARD_ID" \
      "$DEPLOY_LABEL_KEY" "$DEPLOY_LABEL_VALUE" </dev/null >"$config"
    change monitoring dashboards create --config-from-file="$config"
    show_alternative "when it exists and differs from $(basename "$DASHBOARD_FILE")" \
      monitoring dashboards update "$DASHBOARD_ID" --config-from-file="$config"
    created "$label"
    return 0
  fi
  existing=$(describe_json monitoring dashboards describe "$DASHBOARD_ID")
  python3 "$RESOURCE_PY" dashboard "$DASHBOARD_FILE" "$GCP_PROJECT_ID" "$DASHBOARD_ID" \
    "$DEPLOY_LABEL_KEY" "$DEPLOY_LABEL_VALUE" <<<"$existing" >"$config"
  if [[ -z $existing ]]; then
    change monitoring dashboards create --config-from-file="$config"
    created "$label"
  elif [[ -s $config ]]; then
    # The config carries the etag just read: a dashboard edited meanwhile is not overwritten.
    change monitoring dashboards update "$DASHBOARD_ID" --config-from-file="$config"
    updated "$label" "it differed from $(basename "$DASHBOARD_FILE")"
  else
    unchanged "$label"
  fi
}

dashboard_url() {
  printf 'https://console.cloud.google.com/monitoring/dashboards/builder/%s?project=%s' "$DASHBOARD_ID" "$GCP_PROJECT_ID"
}
