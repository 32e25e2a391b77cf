# shellcheck shell=bash
# Step "admin" (optional): the roles of the human administrator account ADMIN_ACCOUNT.

ADMIN_ROLES=(
  # The tutorial's list.
  roles/secretmanager.admin
  roles/run.admin
  roles/iam.serviceAccountUser
  roles/cloudbuild.builds.editor
  roles/artifactregistry.admin
  roles/pubsub.editor
  roles/redis.admin
  # Tutorial fix: its list leaves out what its own later steps need. Enabling APIs (and using
  # them from `gcloud builds`), creating the service accounts and granting them roles are not
  # covered by the roles above.
  roles/serviceusage.serviceUsageAdmin
  roles/iam.serviceAccountAdmin
  roles/resourcemanager.projectIamAdmin
  # Direct VPC egress attaches the services to VPC_SUBNET (compute.subnetworks.use), and the
  # network step reads the network and the subnet.
  roles/compute.networkUser
)

admin_roles() {
  printf '%s\n' "${ADMIN_ROLES[@]}"
  # The Serverless VPC Access connector (VPC_EGRESS=connector).
  if [[ $VPC_EGRESS == connector ]]; then printf '%s\n' roles/vpcaccess.admin; fi
  # The service connection policy Memorystore for Redis Cluster needs (REDIS_MODE=cluster).
  if [[ $REDIS_MODE == cluster ]]; then printf '%s\n' roles/compute.networkAdmin; fi
  # The Cloud Monitoring dashboard.
  if [[ $METRICS_SIDECAR == true ]]; then printf '%s\n' roles/monitoring.dashboardEditor; fi
}

step_admin() {
  if [[ -z $ADMIN_ACCOUNT ]]; then
    info "  ADMIN_ACCOUNT is not set: skipped (the account running these steps needs Owner, or the roles of deploy/README.md)"
    return 0
  fi
  local -a roles
  mapfile -t roles < <(admin_roles)
  grant_roles projects "$GCP_PROJECT_ID" "$(member_of "$ADMIN_ACCOUNT")" "${roles[@]}"
  # The tutorial switches gcloud's active account here. That changes the operator's gcloud
  # for everything else too, and needs a login this script cannot do, so it is left to them.
  info "  to run the other steps as $ADMIN_ACCOUNT: gcloud auth login $ADMIN_ACCOUNT && gcloud config set account $ADMIN_ACCOUNT"
}
