#!/usr/bin/env bash
# Removes what deploy.sh made: services, Pub/Sub, service accounts and their roles, Redis,
# the VPC connector, the JWT secret and the images. Asks for confirmation first.
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
connector, the Redis instance and its data, the JWT secret (every token it signed stops
working), and the two images (their repository too, once nothing else is in it).
Left alone: enabled APIs, the administrator's roles, the VPC network.

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
  info "Teardown of project $GCP_PROJECT_ID, region $SERVICE_REGION:"
  info "  Cloud Run services:  $CONNECTOR_SERVICE_NAME, $INTERCEPTOR_SERVICE_NAME"
  info "  Pub/Sub topics:      ${PUSH_TOPICS[*]} $DEAD_LETTER_TOPIC_ID (and their subscriptions)"
  info "  service accounts:    $PUBSUB_INVOKER_SERVICE_ACCOUNT, and those of the services if deploy made them"
  info "  Redis instance:      $REDIS_INSTANCE_ID (its data is lost)"
  info "  VPC connector:       $VPC_CONNECTOR_NAME"
  info "  secret:              $JWT_SECRET_NAME (tokens it signed stop working)"
  info "  images:              $CONNECTOR_IMAGE_NAME, $INTERCEPTOR_IMAGE_NAME in $ARTIFACT_REPOSITORY"
}

teardown_pubsub() {
  local topic subscription
  for topic in "${PUSH_TOPICS[@]}"; do
    subscription=$(subscription_for "$topic")
    remove "subscription $subscription" pubsub subscriptions describe "$subscription" -- \
      pubsub subscriptions delete "$subscription"
  done
  remove "subscription $DEAD_LETTER_SUBSCRIPTION" pubsub subscriptions describe "$DEAD_LETTER_SUBSCRIPTION" -- \
    pubsub subscriptions delete "$DEAD_LETTER_SUBSCRIPTION"
  for topic in "${PUSH_TOPICS[@]}" "$DEAD_LETTER_TOPIC_ID"; do
    remove "topic $topic" pubsub topics describe "$topic" -- pubsub topics delete "$topic"
  done
}

teardown_services() {
  local service
  for service in "$CONNECTOR_SERVICE_NAME" "$INTERCEPTOR_SERVICE_NAME"; do
    remove "Cloud Run service $service" run services describe "$service" --region="$SERVICE_REGION" -- \
      run services delete "$service" --region="$SERVICE_REGION"
  done
}

# The project roles go before the account: a binding would otherwise linger as "deleted:...".
# An account deploy.sh did not create (the default Compute Engine one) keeps its roles.
teardown_service_account() { # EMAIL ROLE...
  local email=$1
  shift
  if ! is_own_service_account "$email"; then
    info "  service account $email: not created by deploy.sh, left alone"
    return 0
  fi
  if exists iam service-accounts describe "$email"; then
    revoke_roles projects "$GCP_PROJECT_ID" "serviceAccount:$email" "$@"
  fi
  remove "service account $email" iam service-accounts describe "$email" -- iam service-accounts delete "$email"
}

teardown_network() {
  remove "Serverless VPC Access connector $VPC_CONNECTOR_NAME" \
    compute networks vpc-access connectors describe "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION" -- \
    compute networks vpc-access connectors delete "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION"
  remove "Redis instance $REDIS_INSTANCE_ID" \
    redis instances describe "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION" -- \
    redis instances delete "$REDIS_INSTANCE_ID" --region="$SERVICE_REGION"
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
  remove "Artifact Registry repository $ARTIFACT_REPOSITORY" \
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
  banner "services"
  teardown_services
  banner "service-accounts"
  remove "service account $PUBSUB_INVOKER_SERVICE_ACCOUNT" \
    iam service-accounts describe "$PUBSUB_INVOKER_SERVICE_ACCOUNT" -- \
    iam service-accounts delete "$PUBSUB_INVOKER_SERVICE_ACCOUNT"
  teardown_service_account "$CONNECTOR_SERVICE_ACCOUNT" "${CONNECTOR_ROLES[@]}"
  teardown_service_account "$INTERCEPTOR_SERVICE_ACCOUNT" "${INTERCEPTOR_ROLES[@]}"
  banner "redis"
  teardown_network
  banner "secret"
  remove "secret $JWT_SECRET_NAME" secrets describe "$JWT_SECRET_NAME" -- secrets delete "$JWT_SECRET_NAME"
  banner "images"
  teardown_images
  info ""
  info "Teardown finished. Enabled APIs, administrator roles and the VPC network were left as they were."
}

main "$@"
