#!/usr/bin/env bash
# Removes what deploy.sh made, and only that: services, Pub/Sub, service accounts and their roles,
# Redis, the VPC connector, the secrets, the dashboard and the images. Resources that take labels
# are deleted only when they carry deploy.sh's label (a topic that existed before stays).
# Asks for confirmation first.
set -euo pipefail

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/common.sh
source "$DEPLOY_DIR/lib/common.sh"
# shellcheck source=lib/config.sh
source "$DEPLOY_DIR/lib/config.sh"
# shellcheck source=steps/service_accounts.sh
source "$DEPLOY_DIR/steps/service_accounts.sh"

ASSUME_YES=false

usage() {
  cat <<'EOT'
Usage: deploy/teardown.sh [--yes] [--dry-run]

Deletes what deploy/deploy.sh created, for the same configuration (environment variables or
deploy/.env): both Cloud Run services, the Pub/Sub subscriptions and topics (the dead-letter
ones too), the invoker and runtime service accounts with their project roles, the VPC
connector (VPC_EGRESS=connector), the Redis instance or cluster and its data, the secrets (JWT
key: every token it signed stops working; Redis AUTH string and CA), the dashboard, and the two
images (their repository too, once nothing else is in it). Topics, subscriptions, services,
secrets, the Redis instance, the repository and the dashboard are deleted only when they carry
the created-by=aa-integration-deploy label deploy.sh gives them: what existed before stays.
Left alone: enabled APIs, the administrator's roles, the VPC network and subnet.

Options:
  --yes       do not ask for confirmation (needed when not run from a terminal)
  --dry-run   print every command, run none
  -h, --help  show this help
EOT
}

confirm() {
  if [[ $ASSUME_YES == true ]] || is_dry_run; then
    return 0
  fi
  [[ -t 0 ]] || die "not run from a terminal: pass --yes to confirm the teardown; nothing was deleted"
  local answer
  info "This deletes the resources above in project $GCP_PROJECT_ID, the JWT secret and the Redis data included."
  read -r -p "Type the project ID to go ahead: " answer
  [[ $answer == "$GCP_PROJECT_ID" ]] || die "not confirmed; nothing was deleted"
}

list_targets() {
  info "Teardown of project $GCP_PROJECT_ID, region $SERVICE_REGION (only what carries $DEPLOY_LABEL, or deploy.sh created):"
  info "  Cloud Run services:  $CONNECTOR_SERVICE_NAME, $INTERCEPTOR_SERVICE_NAME"
  info "  Pub/Sub topics:      ${PUSH_TOPICS[*]} $DEAD_LETTER_TOPIC_ID (and their subscriptions)"
  info "  service accounts:    $PUBSUB_INVOKER_SERVICE_ACCOUNT, and those of the services if deploy made them"
  info "  Redis $REDIS_MODE:      $REDIS_INSTANCE_ID (its data is lost)"
  if [[ $VPC_EGRESS == connector ]]; then info "  VPC connector:       $VPC_CONNECTOR_NAME"; fi
  if [[ $REDIS_MODE == cluster ]]; then info "  connection policy:   $REDIS_CONNECTION_POLICY"; fi
  info "  secrets:             $JWT_SECRET_NAME (tokens it signed stop working), $REDIS_AUTH_SECRET_NAME, $REDIS_CA_SECRET_NAME"
  info "  dashboard:           $DASHBOARD_ID"
  info "  images:              $CONNECTOR_IMAGE_NAME, $INTERCEPTOR_IMAGE_NAME in $ARTIFACT_REPOSITORY"
}

teardown_pubsub() {
  local topic subscription
  for topic in "${PUSH_TOPICS[@]}"; do
    subscription=$(subscription_for "$topic")
    remove_own "subscription $subscription" pubsub subscriptions describe "$subscription" -- \
      pubsub subscriptions delete "$subscription"
  done
  remove_own "subscription $DEAD_LETTER_SUBSCRIPTION" pubsub subscriptions describe "$DEAD_LETTER_SUBSCRIPTION" -- \
    pubsub subscriptions delete "$DEAD_LETTER_SUBSCRIPTION"
  for topic in "${PUSH_TOPICS[@]}" "$DEAD_LETTER_TOPIC_ID"; do
    remove_own "topic $topic" pubsub topics describe "$topic" -- pubsub topics delete "$topic"
  done
}

teardown_services() {
  local service
  for service in "$CONNECTOR_SERVICE_NAME" "$INTERCEPTOR_SERVICE_NAME"; do
    remove_own "Cloud Run service $service" run services describe "$service" --region="$SERVICE_REGION" -- \
      run services delete "$service" --region="$SERVICE_REGION"
  done
}

# Service accounts take no labels: one is deploy.sh's when its description says so (earlier
# versions described theirs "Agent Assist integration - ..."). The project roles go before the
# account: a binding would otherwise linger as "deleted:...". An account deploy.sh did not create
# (the default Compute Engine one, say) keeps its roles.
teardown_service_account() { # EMAIL ROLE...
  local email=$1 json description
  shift
  if ! is_own_service_account "$email"; then
    info "  service account $email: not created by deploy.sh, left alone"
    return 0
  fi
  if ! is_dry_run; then
    json=$(describe_json iam service-accounts describe "$email")
    if [[ -z $json ]]; then
      info "  service account $email: absent, nothing to delete"
      return 0
    fi
    description=$(json_get "$json" description)
    if [[ $description != *"$DEPLOY_DESCRIPTION_MARK"* && $description != "Agent Assist integration - "* ]]; then
      info "  service account $email: not created by deploy.sh (its description says nothing of it), left alone"
      return 0
    fi
  fi
  revoke_roles projects "$GCP_PROJECT_ID" "serviceAccount:$email" "$@"
  remove "service account $email" iam service-accounts describe "$email" -- iam service-accounts delete "$email"
}

teardown_redis() {
  if [[ $REDIS_MODE == cluster ]]; then
    # gcloud sets no labels on a cluster: it is deleted by name.
    remove "Redis cluster $REDIS_INSTANCE_ID" \
      redis clusters describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" -- \
      redis clusters delete "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION"
    remove_own "service connection policy $REDIS_CONNECTION_POLICY" \
      network-connectivity service-connection-policies describe "$REDIS_CONNECTION_POLICY" --region="$SERVICE_REGION" -- \
      network-connectivity service-connection-policies delete "$REDIS_CONNECTION_POLICY" --region="$SERVICE_REGION"
  else
    remove_own "Redis instance $REDIS_INSTANCE_ID" \
      redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" -- \
      redis instances delete "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION"
  fi
  if [[ $VPC_EGRESS == connector ]]; then
    # Connectors take no labels either; with Direct VPC egress deploy.sh makes none.
    remove "Serverless VPC Access connector $VPC_CONNECTOR_NAME" \
      compute networks vpc-access connectors describe "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION" -- \
      compute networks vpc-access connectors delete "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION"
  fi
}

teardown_secrets() {
  local secret
  for secret in "$JWT_SECRET_NAME" "$REDIS_AUTH_SECRET_NAME" "$REDIS_CA_SECRET_NAME"; do
    remove_own "secret $secret" secrets describe "$secret" -- secrets delete "$secret"
  done
}

# The repository may hold other images: it goes only once these two are gone and it is empty.
teardown_images() {
  local image left
  local -a where=(--repository="$ARTIFACT_REPOSITORY" --location="$SERVICE_REGION")
  if ! exists artifacts repositories describe "$ARTIFACT_REPOSITORY" --location="$SERVICE_REGION"; then
    info "  Artifact Registry repository $ARTIFACT_REPOSITORY: absent, nothing to delete"
    return 0
  fi
  for image in "$CONNECTOR_IMAGE_NAME" "$INTERCEPTOR_IMAGE_NAME"; do
    remove "image $image" artifacts packages describe "$image" "${where[@]}" -- \
      artifacts packages delete "$image" "${where[@]}"
  done
  left=$(query artifacts packages list "${where[@]}" --limit=1 --format='value(name)') || is_dry_run ||
    die "could not list the images left in $ARTIFACT_REPOSITORY"
  if [[ -n $left ]]; then
    info "  Artifact Registry repository $ARTIFACT_REPOSITORY: holds other images, left alone"
    return 0
  fi
  remove_own "Artifact Registry repository $ARTIFACT_REPOSITORY" \
    artifacts repositories describe "$ARTIFACT_REPOSITORY" --location="$SERVICE_REGION" -- \
    artifacts repositories delete "$ARTIFACT_REPOSITORY" --location="$SERVICE_REGION"
}

main() {
  local arg
  for arg in "$@"; do
    case $arg in
      --yes) ASSUME_YES=true ;;
      --dry-run) DRY_RUN=true ;;
      -h | --help) usage; return 0 ;;
      *) usage >&2; die "unknown argument: $arg" ;;
    esac
  done
  # In a dry run, show the deletes that a real run would make.
  DRY_RUN_ASSUME_EXISTS=true
  load_config
  validate_config
  list_targets
  confirm

  banner "pubsub"
  teardown_pubsub
  banner "dashboard"
  remove_own "dashboard $DASHBOARD_ID" monitoring dashboards describe "$DASHBOARD_ID" -- \
    monitoring dashboards delete "$DASHBOARD_ID"
  banner "services"
  teardown_services
  banner "service-accounts"
  teardown_service_account "$PUBSUB_INVOKER_SERVICE_ACCOUNT"
  teardown_service_account "$CONNECTOR_SERVICE_ACCOUNT" "${MANAGED_RUNTIME_ROLES[@]}"
  teardown_service_account "$INTERCEPTOR_SERVICE_ACCOUNT" "${MANAGED_RUNTIME_ROLES[@]}"
  banner "redis"
  teardown_redis
  banner "secrets"
  teardown_secrets
  banner "images"
  teardown_images
  info ""
  info "Teardown finished. Enabled APIs, administrator roles, the VPC network and subnet, and what"
  info "deploy.sh did not create were left as they were."
}

main "$@"
