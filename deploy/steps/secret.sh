# shellcheck shell=bash
# Step "secret": the JWT signing key in Secret Manager, generated once and never replaced.

SECRET_GENERATOR='import secrets, sys; sys.stdout.write(secrets.token_urlsafe(48))'

# GCLOUD_ARGS end in --data-file=-: the key goes from Python's `secrets` module straight into
# gcloud's stdin, so it is never on a command line, in shell history or in this script's output.
# (The tutorial's `printf "my_key" | ...` puts the key on the command line and in the history.)
store_generated_secret() {
  gcloud_argv "$@"
  local shown
  shown="python3 -c $(render "$SECRET_GENERATOR") | $(render "${GCLOUD_ARGV[@]}")"
  if is_dry_run; then
    show_dry_run "$shown"
    return 0
  fi
  info "  + $shown"
  python3 -c "$SECRET_GENERATOR" | "${GCLOUD_ARGV[@]}" >&2
}

secret_has_enabled_version() {
  local versions
  versions=$(query secrets versions list "$JWT_SECRET_NAME" --filter='state=ENABLED' --limit=1 --format='value(name)') ||
    die "could not list the versions of secret $JWT_SECRET_NAME"
  [[ -n $versions ]]
}

step_secret() {
  if ! exists secrets describe "$JWT_SECRET_NAME"; then
    store_generated_secret secrets create "$JWT_SECRET_NAME" --data-file=- \
      --replication-policy=user-managed --locations="$SERVICE_REGION" --labels="$DEPLOY_LABEL"
    created "secret $JWT_SECRET_NAME"
  elif secret_has_enabled_version; then
    unchanged "secret $JWT_SECRET_NAME"
  else
    # Left so by an interrupted create: the UI connector cannot start without a version.
    store_generated_secret secrets versions add "$JWT_SECRET_NAME" --data-file=-
    info "  secret $JWT_SECRET_NAME had no enabled version: a generated one was added"
  fi
  grant_roles "secrets" "$JWT_SECRET_NAME" "serviceAccount:$CONNECTOR_SERVICE_ACCOUNT" roles/secretmanager.secretAccessor
}
