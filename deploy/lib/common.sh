# shellcheck shell=bash
# Output and the gcloud runners that deploy.sh and teardown.sh share.
#
# Every gcloud call goes through one of: `change` (creates or modifies: printed, then run),
# `query` / `read_value` (read-only), `exists` (a describe that tells present from absent).
# In a dry run (DRY_RUN=true) they print the command and run nothing, not even the reads;
# `exists` then answers DRY_RUN_ASSUME_EXISTS (false for deploy: show every create).

if ((BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 4))); then
  echo "ERROR: bash 4.4 or newer is needed, this is $BASH_VERSION (macOS: brew install bash)" >&2
  exit 1
fi

DRY_RUN=false
DRY_RUN_ASSUME_EXISTS=false

# Files made with temp_file are removed when the script ends, however it ends.
TEMP_FILES=()
trap 'rm -f "${TEMP_FILES[@]}"' EXIT
temp_file() { # PREFIX: a new empty file's path (the caller must not run this in a subshell)
  local path
  path=$(mktemp "${TMPDIR:-/tmp}/$1.XXXXXX")
  TEMP_FILES+=("$path")
  TEMP_FILE=$path
}

# gcloud must never stop to ask a question in the middle of a script (and never reads our stdin).
export CLOUDSDK_CORE_DISABLE_PROMPTS=1

# Progress goes to stderr, so that functions can hand values back on stdout.
info() { printf '%s\n' "$*" >&2; }
banner() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }
is_dry_run() { [[ $DRY_RUN == true ]]; }

unchanged() { info "  $1: exists, unchanged"; }
created() {
  if is_dry_run; then info "  $1: would be created"; else info "  $1: created"; fi
}
updated() {
  if is_dry_run; then info "  $1: would be updated"; else info "  $1: updated ($2)"; fi
}

# Differences the scripts do not change themselves (a Redis instance's tier, say): each is shown
# where it is found, with the command that would change it, and again by the next-steps step.
DEPLOY_REPORTS=()
# report LABEL WHAT [-- GCLOUD_ARGS...]: LABEL's settings differ from the configuration in WHAT;
# GCLOUD_ARGS (without "gcloud" and --project) would change it.
report() {
  local label=$1 what=$2 line
  shift 2
  line="$label: $what"
  if (($#)) && [[ $1 == -- ]]; then
    shift
    gcloud_argv "$@"
    line+=$'\n'"      to change it: $(render "${GCLOUD_ARGV[@]}")"
  fi
  DEPLOY_REPORTS+=("$line")
  info "  $line"
}

# In a dry run, a command a real run makes only in some case (named by WHEN), shown after the
# one it would make otherwise: a dry run reads nothing, so it shows both.
show_alternative() { # WHEN GCLOUD_ARGS...
  local when=$1
  shift
  gcloud_argv "$@"
  if is_dry_run; then info "  [dry-run] ($when:) $(render "${GCLOUD_ARGV[@]}")"; fi
}

RESOURCE_PY="$DEPLOY_DIR/lib/resource.py"
# json_get JSON PATH...: the value at each PATH of a resource's JSON, one a line (see resource.py).
json_get() {
  local json=$1
  shift
  python3 "$RESOURCE_PY" get "$@" <<<"$json"
}

# The command as it could be pasted into a shell.
render() {
  local arg quoted=()
  for arg in "$@"; do
    if [[ $arg =~ ^[A-Za-z0-9_./:=@,+%^-]+$ ]]; then
      quoted+=("$arg")
    else
      quoted+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s' "${quoted[*]}"
}

# The project is always explicit, so the active `gcloud config` project is never touched by mistake.
gcloud_argv() { GCLOUD_ARGV=(gcloud "$@" "--project=${GCP_PROJECT_ID}"); }

show_dry_run() { info "  [dry-run] $*"; }

change() {
  gcloud_argv "$@"
  if is_dry_run; then show_dry_run "$(render "${GCLOUD_ARGV[@]}")"; return 0; fi
  info "  + $(render "${GCLOUD_ARGV[@]}")"
  "${GCLOUD_ARGV[@]}" >&2 </dev/null
}

query() {
  gcloud_argv "$@"
  if is_dry_run; then show_dry_run "$(render "${GCLOUD_ARGV[@]}")"; return 1; fi
  "${GCLOUD_ARGV[@]}" </dev/null
}

# read_value PLACEHOLDER ARGS...: one non-empty value from a read; a dry run gives PLACEHOLDER.
read_value() {
  local placeholder=$1 value
  shift
  gcloud_argv "$@"
  if is_dry_run; then show_dry_run "$(render "${GCLOUD_ARGV[@]}")"; printf '%s' "$placeholder"; return 0; fi
  value=$("${GCLOUD_ARGV[@]}" </dev/null) || die "could not read: $(render "${GCLOUD_ARGV[@]}")"
  [[ -n $value ]] || die "empty answer from: $(render "${GCLOUD_ARGV[@]}")"
  printf '%s' "$value"
}

# describe_json DESCRIBE_ARGS...: the resource as JSON on stdout, nothing when it is absent;
# any other failure stops the run. In a dry run: nothing, and a failure status.
describe_json() {
  local errors output status=0 error_file
  gcloud_argv "$@" --format=json
  if is_dry_run; then show_dry_run "$(render "${GCLOUD_ARGV[@]}")"; return 1; fi
  error_file=$(mktemp)
  output=$("${GCLOUD_ARGV[@]}" 2>"$error_file" </dev/null) || status=$?
  errors=$(<"$error_file")
  rm -f "$error_file"
  if ((status == 0)); then printf '%s' "$output"; return 0; fi
  if grep -qiE 'NOT_FOUND|not found|cannot find|does not exist' <<<"$errors"; then
    return 0
  fi
  die "could not check: $(render "${GCLOUD_ARGV[@]}")"$'\n'"$errors"
}

# exists DESCRIBE_ARGS...: whether the resource is there. Only a "not found" answer means absent;
# any other failure (permission denied, API disabled, no network) stops the run with gcloud's words.
exists() {
  local errors status=0
  gcloud_argv "$@" --format=none
  if is_dry_run; then show_dry_run "$(render "${GCLOUD_ARGV[@]}")"; [[ $DRY_RUN_ASSUME_EXISTS == true ]]; return; fi
  errors=$("${GCLOUD_ARGV[@]}" 2>&1 >/dev/null </dev/null) || status=$?
  ((status == 0)) && return 0
  if grep -qiE 'NOT_FOUND|not found|cannot find|does not exist' <<<"$errors"; then
    return 1
  fi
  die "could not check: $(render "${GCLOUD_ARGV[@]}")"$'\n'"$errors"
}

# split_at_dashes BEFORE AFTER ARGS...: the ARGS before the first -- into the array named BEFORE,
# the ones after it into AFTER; fails when there is no --.
split_at_dashes() {
  local -n before_=$1 after_=$2
  shift 2
  before_=()
  while (($#)) && [[ $1 != -- ]]; do
    before_+=("$1")
    shift
  done
  (($#)) || return 1
  shift
  after_=("$@")
}

# ensure LABEL DESCRIBE_ARGS... -- CREATE_ARGS...: create only what the describe does not find.
ensure() {
  local label=$1
  local -a describe create
  shift
  split_at_dashes describe create "$@" || die "ensure $label: no create command after --"
  if exists "${describe[@]}"; then
    unchanged "$label"
    return 0
  fi
  change "${create[@]}"
  created "$label"
}

# remove LABEL DESCRIBE_ARGS... -- DELETE_ARGS...: delete only what the describe finds.
remove() {
  local label=$1
  local -a describe delete
  shift
  split_at_dashes describe delete "$@" || die "remove $label: no delete command after --"
  if ! exists "${describe[@]}"; then
    info "  $label: absent, nothing to delete"
    return 0
  fi
  change "${delete[@]}" --quiet
  if is_dry_run; then info "  $label: would be deleted"; else info "  $label: deleted"; fi
}

# remove_own LABEL DESCRIBE_ARGS... -- DELETE_ARGS...: delete what the describe finds, but only when
# it carries deploy.sh's label: what was there before deploy.sh (a topic, say) is left alone.
remove_own() {
  local label=$1 json mark
  local -a describe delete
  shift
  split_at_dashes describe delete "$@" || die "remove_own $label: no delete command after --"
  if is_dry_run; then
    describe_json "${describe[@]}" || true
  else
    json=$(describe_json "${describe[@]}")
    if [[ -z $json ]]; then
      info "  $label: absent, nothing to delete"
      return 0
    fi
    # Most APIs keep labels at the top; Cloud Run (Knative) keeps them in metadata.
    mark=$(json_get "$json" "labels[\"$DEPLOY_LABEL_KEY\"]" "metadata.labels[\"$DEPLOY_LABEL_KEY\"]" | tr -d '\n')
    if [[ $mark != "$DEPLOY_LABEL_VALUE" ]]; then
      info "  $label: not created by deploy.sh (no $DEPLOY_LABEL label), left alone"
      return 0
    fi
  fi
  change "${delete[@]}" --quiet
  if is_dry_run; then
    info "  $label: would be deleted, if it carries the $DEPLOY_LABEL label"
  else
    info "  $label: deleted"
  fi
}

# --- IAM bindings: look at the policy first, so a re-run writes no policy at all ---

# The "ROLE<tab>MEMBER" pairs of a resource's IAM policy. GROUP is a gcloud command group such as
# "projects", "run services" or "pubsub topics"; FLAGS (e.g. --region=...) follow the resource.
policy_pairs() { # GROUP RESOURCE FLAGS...
  local -a group_words
  read -ra group_words <<<"$1"
  query "${group_words[@]}" get-iam-policy "$2" "${@:3}" \
    --flatten='bindings[].members' --format='value(bindings.role,bindings.members)'
}

has_binding() { # POLICY_PAIRS ROLE MEMBER
  if is_dry_run; then [[ $DRY_RUN_ASSUME_EXISTS == true ]]; return; fi
  grep -qxF "$2"$'\t'"$3" <<<"$1"
}

# update_roles add|remove GROUP RESOURCE MEMBER ROLE... [-- FLAGS...]: add the bindings MEMBER
# lacks, or remove those it has. FLAGS (e.g. --region=...) go to both the read and the write.
update_roles() {
  local action=$1 group=$2 resource=$3 member=$4 policy="" role label
  local -a roles=() flags=() write_flags=() group_words
  shift 4
  while (($#)) && [[ $1 != -- ]]; do roles+=("$1"); shift; done
  if (($#)); then flags=("${@:2}"); fi
  read -ra group_words <<<"$group"
  # Project policies often hold conditional bindings; gcloud then refuses, when it may not
  # prompt, to add or remove a binding unless told that this one has no condition.
  if [[ $group == projects ]]; then write_flags=(--condition=None); fi
  policy=$(policy_pairs "$group" "$resource" "${flags[@]}") || is_dry_run ||
    die "could not read the IAM policy of $resource"
  for role in "${roles[@]}"; do
    label="$role for $member on $resource"
    if [[ $action == add ]] && has_binding "$policy" "$role" "$member"; then
      unchanged "$label"
    elif [[ $action == remove ]] && ! has_binding "$policy" "$role" "$member"; then
      if is_dry_run; then
        show_alternative "if it is granted" "${group_words[@]}" "$action-iam-policy-binding" "$resource" \
          "--member=$member" "--role=$role" "${flags[@]}" "${write_flags[@]}" --format=none
        info "  $label: would be removed, if granted"
      else
        info "  $label: absent, nothing to remove"
      fi
    else
      change "${group_words[@]}" "$action-iam-policy-binding" "$resource" "--member=$member" "--role=$role" \
        "${flags[@]}" "${write_flags[@]}" --format=none
      if [[ $action == add ]]; then created "$label"; else info "  $label: removed"; fi
    fi
  done
}

grant_roles() { update_roles add "$@"; }
revoke_roles() { update_roles remove "$@"; }

# "user:x@example.com" for a person, "serviceAccount:..." for a service account; kept if already typed.
member_of() {
  case $1 in
    *:*) printf '%s' "$1" ;;
    *.gserviceaccount.com) printf 'serviceAccount:%s' "$1" ;;
    *) printf 'user:%s' "$1" ;;
  esac
}

project_number() {
  if [[ -z ${PROJECT_NUMBER:-} ]]; then
    PROJECT_NUMBER=$(read_value '<PROJECT_NUMBER>' projects describe "$GCP_PROJECT_ID" --format='value(projectNumber)')
  fi
}

pubsub_service_agent() {
  printf 'serviceAccount:service-%s@gcp-sa-pubsub.iam.gserviceaccount.com' "$PROJECT_NUMBER"
}
