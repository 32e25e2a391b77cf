# shellcheck shell=bash
# Step "network": how the services reach Redis's private address. By default Direct VPC egress:
# each Cloud Run instance gets an address in VPC_SUBNET itself, with no connector VMs to pay for
# and no extra hop (Google's current recommendation). VPC_EGRESS=connector keeps the tutorial's
# Serverless VPC Access connector. With REDIS_MODE=cluster, also the service connection policy
# that lets Memorystore for Redis Cluster create its Private Service Connect endpoints.
#
# The VPC network and subnet are not created here: they are usually shared and owned by whoever
# runs the network. The "default" network of a new project has a "default" subnet in every region.

step_network() {
  check_network
  if [[ $VPC_EGRESS == direct ]]; then
    check_subnet "Direct VPC egress"
    report_unused_connector
  else
    # --network: the connector's network. The tutorial leaves it out, which only works on "default".
    ensure "Serverless VPC Access connector $VPC_CONNECTOR_NAME" \
      compute networks vpc-access connectors describe "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION" -- \
      compute networks vpc-access connectors create "$VPC_CONNECTOR_NAME" --network="$VPC_NETWORK" \
      --region="$SERVICE_REGION" --range="$REDIS_IP_RANGE"
  fi
  if [[ $REDIS_MODE == cluster ]]; then
    [[ $VPC_EGRESS == direct ]] || check_subnet "the cluster's Private Service Connect endpoints"
    ensure_connection_policy
  fi
}

check_network() {
  if exists compute networks describe "$VPC_NETWORK"; then
    info "  VPC network $VPC_NETWORK: exists"
  elif ! is_dry_run; then
    die "VPC network $VPC_NETWORK does not exist in $GCP_PROJECT_ID: set VPC_NETWORK, or create it, e.g." \
      "gcloud compute networks create $VPC_NETWORK --subnet-mode=custom --project=$GCP_PROJECT_ID"
  fi
}

# The subnet must be in VPC_NETWORK and SERVICE_REGION, and Direct VPC egress needs a /26 or larger.
check_subnet() { # PURPOSE
  local json network range prefix
  if is_dry_run; then
    describe_json compute networks subnets describe "$VPC_SUBNET" --region="$SERVICE_REGION" || true
    return 0
  fi
  json=$(describe_json compute networks subnets describe "$VPC_SUBNET" --region="$SERVICE_REGION")
  if [[ -z $json ]]; then
    die "subnet $VPC_SUBNET (for $1) does not exist in $SERVICE_REGION: set VPC_SUBNET, or create it, e.g." \
      "gcloud compute networks subnets create $VPC_SUBNET --network=$VPC_NETWORK --region=$SERVICE_REGION" \
      "--range=10.10.0.0/24 --project=$GCP_PROJECT_ID"
  fi
  { read -r network; read -r range; } < <(json_get "$json" network ipCidrRange)
  [[ ${network##*/} == "$VPC_NETWORK" ]] ||
    die "subnet $VPC_SUBNET belongs to network ${network##*/}, not VPC_NETWORK=$VPC_NETWORK"
  prefix=${range##*/}
  if [[ $VPC_EGRESS == direct ]] && ((prefix > 26)); then
    die "subnet $VPC_SUBNET is $range; Direct VPC egress needs a /26 or larger (Cloud Run takes addresses from it as it scales)"
  fi
  info "  subnet $VPC_SUBNET ($range in $VPC_NETWORK): exists, used for $1"
}

# A connector left from an earlier VPC_EGRESS=connector deployment costs money and serves nothing
# of ours once both services use Direct VPC egress. It may serve others: reported, not deleted.
report_unused_connector() {
  is_dry_run && return 0
  local json
  json=$(describe_json compute networks vpc-access connectors describe "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION")
  if [[ -n $json ]]; then
    report "Serverless VPC Access connector $VPC_CONNECTOR_NAME" \
      "still exists, but VPC_EGRESS=direct: once both services are redeployed nothing of this deployment uses it" -- \
      compute networks vpc-access connectors delete "$VPC_CONNECTOR_NAME" --region="$SERVICE_REGION"
  fi
}

# Memorystore for Redis Cluster creates its endpoints through Private Service Connect, which a
# service connection policy for the gcp-memorystore-redis service class must allow in the network
# and region. There is one per network, region and class: an existing one is used as it is.
REDIS_SERVICE_CLASS=gcp-memorystore-redis

ensure_connection_policy() {
  local json existing
  local label="service connection policy $REDIS_CONNECTION_POLICY"
  if ! is_dry_run; then
    json=$(describe_json network-connectivity service-connection-policies describe "$REDIS_CONNECTION_POLICY" \
      --region="$SERVICE_REGION")
    if [[ -n $json ]]; then
      unchanged "$label"
      return 0
    fi
    existing=$(query network-connectivity service-connection-policies list --region="$SERVICE_REGION" --format=json |
      python3 "$RESOURCE_PY" policy "$NETWORK_PATH" "$REDIS_SERVICE_CLASS") ||
      die "could not list the service connection policies of $SERVICE_REGION"
    if [[ -n $existing ]]; then
      info "  service connection policy $existing ($REDIS_SERVICE_CLASS in $VPC_NETWORK): exists, used as it is"
      return 0
    fi
  else
    describe_json network-connectivity service-connection-policies describe "$REDIS_CONNECTION_POLICY" \
      --region="$SERVICE_REGION" || true
  fi
  change network-connectivity service-connection-policies create "$REDIS_CONNECTION_POLICY" \
    --network="$NETWORK_PATH" --service-class="$REDIS_SERVICE_CLASS" --region="$SERVICE_REGION" \
    --subnets="projects/$GCP_PROJECT_ID/regions/$SERVICE_REGION/subnetworks/$VPC_SUBNET" \
    --description="Memorystore for Redis Cluster endpoints of the Agent Assist integration" \
    --labels="$DEPLOY_LABEL"
  created "$label"
}
