# shellcheck shell=bash
# Step "service-accounts": a dedicated runtime identity for each Cloud Run service, with only the
# project roles its service uses at run time.

# Least privilege: each role below is one the service exercises while it runs, for the reason
# given. Access to single secrets is granted on those secrets, by the steps that make them:
#   UI connector  roles/secretmanager.secretAccessor on the JWT secret     (step "secret")
#   both          roles/secretmanager.secretAccessor on the Redis AUTH and CA secrets (step "redis")
# Not granted, though the tutorial does:
#   roles/pubsub.editor   neither service calls the Pub/Sub API: Pub/Sub pushes to the interceptor,
#                         which Cloud Run IAM lets in (roles/run.invoker of the push identity);
#   roles/redis.editor    manages instances through the Memorystore API, which neither service
#                         calls: they speak the Redis protocol, with the AUTH string from Secret Manager;
#   roles/compute.viewer  reads Compute Engine resources, which neither service does;
#   roles/vpcaccess.user  Direct VPC egress needs no role of the runtime identity, and a
#                         Serverless VPC Access connector is used by Cloud Run's own service agent.
connector_roles() {
  # The Dialogflow proxy calls the Dialogflow API with the service's credentials.
  printf '%s\n' roles/dialogflow.agentAssistClient
  shared_runtime_roles
}

interceptor_roles() {
  shared_runtime_roles
}

shared_runtime_roles() {
  # The Managed Service for Prometheus sidecar writes the service's metrics as this identity.
  if [[ $METRICS_SIDECAR == true ]]; then printf '%s\n' roles/monitoring.metricWriter; fi
  # Memorystore for Redis Cluster with IAM authentication lets in identities holding this role.
  if [[ $REDIS_MODE == cluster && $REDIS_ENABLE_AUTH == true ]]; then printf '%s\n' roles/redis.dbConnectionUser; fi
}

# Every project role the scripts ever granted a runtime account, this version's and earlier
# ones': a re-run revokes those no longer wanted, teardown all of them.
MANAGED_RUNTIME_ROLES=(
  roles/dialogflow.agentAssistClient roles/monitoring.metricWriter roles/redis.dbConnectionUser
  # Granted by earlier versions of deploy.sh (the tutorial's list); no service uses them.
  roles/pubsub.editor roles/redis.editor roles/vpcaccess.user roles/compute.viewer
)

# Whether EMAIL is a service account in this project's namespace that this deployment may create
# (rather than, say, the default Compute Engine one, which the tutorial allows keeping).
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
    iam service-accounts create "${email%@*}" --display-name="$2" --description="$3 $DEPLOY_DESCRIPTION_MARK"
}

# converge_roles EMAIL WANTED_ROLE...: grant the wanted project roles; on an account of this
# deployment, revoke the other managed ones (left from an earlier configuration or version).
converge_roles() {
  local email=$1 role
  shift
  local -a wanted=("$@") unwanted=()
  grant_roles projects "$GCP_PROJECT_ID" "serviceAccount:$email" "${wanted[@]}"
  is_own_service_account "$email" || return 0
  for role in "${MANAGED_RUNTIME_ROLES[@]}"; do
    [[ " ${wanted[*]} " == *" $role "* ]] || unwanted+=("$role")
  done
  # A real run revokes only what the account holds; a dry run shows each revoke it might make.
  revoke_roles projects "$GCP_PROJECT_ID" "serviceAccount:$email" "${unwanted[@]}"
}

step_service_accounts() {
  local -a roles
  ensure_service_account "$CONNECTOR_SERVICE_ACCOUNT" \
    'Agent Assist integration - UI connector' 'Agent Assist integration - UI connector service account'
  ensure_service_account "$INTERCEPTOR_SERVICE_ACCOUNT" \
    'Agent Assist integration - Pubsub interceptor' 'Agent Assist integration - Pubsub interceptor service account'
  # Tutorial fix: its --member='serviceAccount:$CONNECTOR_SERVICE_ACCOUNT_ID@$GCP_PROJECT_ID...'
  # is single-quoted, so the variables never expand and gcloud is handed a literal "$...".
  mapfile -t roles < <(connector_roles)
  converge_roles "$CONNECTOR_SERVICE_ACCOUNT" "${roles[@]}"
  mapfile -t roles < <(interceptor_roles)
  converge_roles "$INTERCEPTOR_SERVICE_ACCOUNT" "${roles[@]}"
}
