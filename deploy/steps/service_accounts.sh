# shellcheck shell=bash
# Step "service-accounts": a dedicated runtime identity for each Cloud Run service, with its roles.

CONNECTOR_ROLES=(
  roles/pubsub.editor
  roles/redis.editor
  roles/vpcaccess.user
  roles/compute.viewer
  roles/dialogflow.agentAssistClient
  # roles/secretmanager.secretAccessor is granted by the "secret" step on the JWT secret alone,
  # not on the project, where it would open every secret of the project to the UI connector.
)
INTERCEPTOR_ROLES=(
  roles/redis.editor
  roles/vpcaccess.user
  roles/compute.viewer
)

# Whether EMAIL is a service account this deployment creates (rather than, say, the default
# Compute Engine one, which the tutorial allows keeping).
is_own_service_account() {
  [[ $1 == "${1%@*}@${GCP_PROJECT_ID}.iam.gserviceaccount.com" ]]
}

ensure_service_account() { # EMAIL DISPLAY_NAME DESCRIPTION
  local email=$1
  if ! is_own_service_account "$email"; then
    exists iam service-accounts describe "$email" || is_dry_run ||
      die "service account $email does not exist (this script creates only ID@${GCP_PROJECT_ID}.iam.gserviceaccount.com)"
    info "  service account $email: exists, unchanged (not created by this script)"
    return 0
  fi
  ensure "service account $email" \
    iam service-accounts describe "$email" -- \
    iam service-accounts create "${email%@*}" --display-name="$2" --description="$3"
}

step_service_accounts() {
  ensure_service_account "$CONNECTOR_SERVICE_ACCOUNT" \
    'Agent Assist integration - UI connector' 'Agent Assist integration - UI connector service account'
  ensure_service_account "$INTERCEPTOR_SERVICE_ACCOUNT" \
    'Agent Assist integration - Pubsub interceptor' 'Agent Assist integration - Pubsub interceptor service account'
  # Tutorial fix: its --member='serviceAccount:$CONNECTOR_SERVICE_ACCOUNT_ID@$GCP_PROJECT_ID...'
  # is single-quoted, so the variables never expand and gcloud is handed a literal "$...".
  grant_roles projects "$GCP_PROJECT_ID" "serviceAccount:$CONNECTOR_SERVICE_ACCOUNT" "${CONNECTOR_ROLES[@]}"
  grant_roles projects "$GCP_PROJECT_ID" "serviceAccount:$INTERCEPTOR_SERVICE_ACCOUNT" "${INTERCEPTOR_ROLES[@]}"
}
