# shellcheck shell=bash
# Step "apis": enable the Google Cloud APIs the deployment uses, those not yet enabled.

step_apis() {
  local enabled="" api
  local -a missing=()
  enabled=$(query services list --enabled --format='value(config.name)') || is_dry_run ||
    die "could not list the enabled APIs of $GCP_PROJECT_ID"
  for api in "${REQUIRED_APIS[@]}"; do
    if grep -qxF "$api" <<<"$enabled"; then
      unchanged "API $api"
    else
      missing+=("$api")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  change services enable "${missing[@]}"
  info "  enabled: ${missing[*]}"
}
