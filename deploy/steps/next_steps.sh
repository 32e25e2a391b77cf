# shellcheck shell=bash
# Step "next-steps": what the operator still does by hand. Printed on stdout.

step_next_steps() {
  local url topics=projects/$GCP_PROJECT_ID/topics item
  url=$(service_url "$CONNECTOR_SERVICE_NAME" '<UI_CONNECTOR_URL>')
  cat <<EOT

Done. What remains is done by hand:

1. Conversation profile (Agent Assist console > Conversation profiles > your profile > Pub/Sub
   notifications, or the Dialogflow API): enable Pub/Sub notifications, set each topic below and
   choose JSON as the message format of every one.
     Suggestions              $topics/$SUGGESTION_TOPIC_ID
                              (humanAgentAssistantConfig.notificationConfig)
     New message events       $topics/$NEW_MESSAGE_TOPIC_ID
                              (newMessageEventNotificationConfig)
     Conversation lifecycle   $topics/$LIFECYCLE_TOPIC_ID
                              (notificationConfig)
     New recognition results  $topics/$RECOGNITION_TOPIC_ID
                              (newRecognitionResultNotificationConfig)

2. Agent desktops: point the UI modules at the UI connector:
     $url

3. Authentication: desktops obtain their JWT from $url/register, vouched for by AUTH_OPTION
   (now '${AUTH_OPTION:-}') or your check_auth() in ui_connector/auth.py.

4. Messages the interceptor refused $PUSH_MAX_DELIVERY_ATTEMPTS times wait in $DEAD_LETTER_SUBSCRIPTION:
     gcloud pubsub subscriptions pull $DEAD_LETTER_SUBSCRIPTION --project=$GCP_PROJECT_ID --limit=10
EOT
  if [[ $METRICS_SIDECAR == true ]]; then
    cat <<EOT

5. Pushes, deliveries, connected desktops and lag: the dashboard
     $(dashboard_url)
EOT
  fi
  if ((${#DEPLOY_REPORTS[@]})); then
    printf '\nSettings that differ from the configuration, which deploy.sh did not change:\n'
    for item in "${DEPLOY_REPORTS[@]}"; do printf '  - %s\n' "$item"; done
  fi
}
