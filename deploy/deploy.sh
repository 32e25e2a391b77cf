#!/usr/bin/env bash
# Deploys the Agent Assist backend modules (UI connector and Cloud Pub/Sub interceptor) to
# Cloud Run: every step of the deployment tutorial, each one safe to run again.
set -euo pipefail

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$DEPLOY_DIR/.." && pwd)
# shellcheck source=lib/common.sh
source "$DEPLOY_DIR/lib/common.sh"
# shellcheck source=lib/config.sh
source "$DEPLOY_DIR/lib/config.sh"
# shellcheck source=lib/services.sh
source "$DEPLOY_DIR/lib/services.sh"
# shellcheck source=steps/check.sh
source "$DEPLOY_DIR/steps/check.sh"
# shellcheck source=steps/apis.sh
source "$DEPLOY_DIR/steps/apis.sh"
# shellcheck source=steps/admin.sh
source "$DEPLOY_DIR/steps/admin.sh"
# shellcheck source=steps/service_accounts.sh
source "$DEPLOY_DIR/steps/service_accounts.sh"
# shellcheck source=steps/secret.sh
source "$DEPLOY_DIR/steps/secret.sh"
# shellcheck source=steps/network.sh
source "$DEPLOY_DIR/steps/network.sh"
# shellcheck source=steps/redis.sh
source "$DEPLOY_DIR/steps/redis.sh"
# shellcheck source=steps/registry.sh
source "$DEPLOY_DIR/steps/registry.sh"
# shellcheck source=steps/connector.sh
source "$DEPLOY_DIR/steps/connector.sh"
# shellcheck source=steps/interceptor.sh
source "$DEPLOY_DIR/steps/interceptor.sh"
# shellcheck source=steps/pubsub.sh
source "$DEPLOY_DIR/steps/pubsub.sh"
# shellcheck source=steps/dashboard.sh
source "$DEPLOY_DIR/steps/dashboard.sh"
# shellcheck source=steps/next_steps.sh
source "$DEPLOY_DIR/steps/next_steps.sh"

STEPS=(check apis admin service-accounts secret network redis registry connector interceptor pubsub dashboard next-steps)

usage() {
  cat <<'EOT'
Usage: deploy/deploy.sh [STEP ...] [--dry-run]

Deploys the UI connector and the Cloud Pub/Sub interceptor to Cloud Run. Without STEP, runs
every step in the order below. Each step looks before it creates, so running it again changes
nothing ("exists, unchanged"); only the two `gcloud run deploy` calls always run (a new revision).
What exists with other settings is brought to the configuration (subscriptions, roles, services)
or, where a change would restart Redis or needs a new instance, reported with the command.

Steps:
  check             tools, configuration and access to the project
  apis              enable the Google Cloud APIs the deployment uses
  admin             grant the administrator roles to ADMIN_ACCOUNT (skipped when it is not set)
  service-accounts  the UI connector's and the interceptor's runtime service accounts and roles
  secret            generate the JWT key and store it in Secret Manager (never replaced)
  network           Direct VPC egress subnet check (or the VPC connector); Redis Cluster's policy
  redis             Memorystore for Redis (or Cluster), its AUTH string and CA in Secret Manager
  registry          the Artifact Registry repository for the images
  connector         build the UI connector image and deploy it to Cloud Run
  interceptor       build the interceptor image and deploy it to Cloud Run (internal ingress)
  pubsub            notification topics, push subscriptions, dead-letter topic and invoker account
  dashboard         the Cloud Monitoring dashboard of deploy/dashboard.json
  next-steps        print what is left to do by hand (conversation profile, desktop URL)

Options:
  --dry-run         print every command, run none (not even the reads)
  -h, --help        show this help

Configuration: environment variables, or deploy/.env (cp deploy/env.sample deploy/.env);
DEPLOY_ENV_FILE names another file. Environment variables win over the file.
See deploy/README.md for every variable and what each step does.
EOT
}

run_step() {
  banner "$1"
  "step_${1//-/_}"
}

main() {
  local arg step
  local -a chosen=()
  for arg in "$@"; do
    case $arg in
      --dry-run) DRY_RUN=true ;;
      -h | --help) usage; return 0 ;;
      -*) usage >&2; die "unknown option: $arg" ;;
      *)
        [[ " ${STEPS[*]} " == *" $arg "* ]] || { usage >&2; die "unknown step: $arg"; }
        chosen+=("$arg")
        ;;
    esac
  done
  ((${#chosen[@]})) || chosen=("${STEPS[@]}")

  load_config
  validate_config
  if is_dry_run; then
    info "Dry run: the commands are printed, none is run."
  fi
  for step in "${chosen[@]}"; do
    run_step "$step"
  done
}

main "$@"
