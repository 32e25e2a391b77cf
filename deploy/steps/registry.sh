# shellcheck shell=bash
# Step "registry": the Artifact Registry repository for the images, and the image builds.

step_registry() {
  if [[ ${REGISTRY_READY:-false} == true ]]; then
    return 0
  fi
  ensure "Artifact Registry repository $ARTIFACT_REPOSITORY" \
    artifacts repositories describe "$ARTIFACT_REPOSITORY" --location="$SERVICE_REGION" -- \
    artifacts repositories create "$ARTIFACT_REPOSITORY" --repository-format=docker \
    --location="$SERVICE_REGION" --description='Agent Assist backend images' --labels="$DEPLOY_LABEL"
  REGISTRY_READY=true
}

# Tutorial fix: `gcloud builds submit --tag gcr.io/...` from the service's folder. Container
# Registry is shut down, the services import aa_common/ so the build context is the repository
# root, and --tag only finds a Dockerfile at the root: deploy/cloudbuild.yaml names it instead.
build_image() { # DOCKERFILE IMAGE_NAME
  step_registry
  change builds submit "$REPO_ROOT" --config="$DEPLOY_DIR/cloudbuild.yaml" \
    --substitutions="_DOCKERFILE=$1,_IMAGE=$(image_ref "$2")"
}

# The value of --set-env-vars for NAME=VALUE arguments. A value with a comma (a list of CORS
# origins) needs gcloud's other delimiter syntax, "^;^A=x,y;B=z" (see `gcloud topic escaping`).
env_vars_arg() {
  local joined
  if [[ $* != *,* ]]; then
    joined=$(IFS=,; printf '%s' "$*")
    printf '%s' "$joined"
    return 0
  fi
  [[ $* != *\;* ]] || die "an environment value holds both ',' and ';', which --set-env-vars cannot carry"
  joined=$(IFS=';'; printf '%s' "$*")
  printf '^;^%s' "$joined"
}

# NAME=VALUE for each NAME that is set and not empty, one a line.
set_vars() {
  local name
  for name in "$@"; do
    if [[ -n ${!name:-} ]]; then
      printf '%s=%s\n' "$name" "${!name}"
    fi
  done
}

service_url() { # SERVICE_NAME PLACEHOLDER
  read_value "$2" run services describe "$1" --region="$SERVICE_REGION" --format='value(status.url)'
}
