# shellcheck shell=bash
# Step "check": the tools, the configuration, and access to the project.

step_check() {
  local tool
  for tool in gcloud python3; do
    command -v "$tool" >/dev/null || die "$tool is not installed (see deploy/README.md, Prerequisites)"
  done
  show_config
  project_number
  info "  project $GCP_PROJECT_ID (number $PROJECT_NUMBER): reachable"
}
