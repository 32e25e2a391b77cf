# shellcheck shell=bash
# Step "pubsub": the notification topics, and a push subscription per topic to its interceptor
# route. Existing subscriptions are brought to the configured settings.

step_pubsub() {
  local agent i
  project_number
  agent=$(pubsub_service_agent)
  for i in "${!PUSH_TOPICS[@]}"; do
    ensure "topic ${PUSH_TOPICS[i]}" pubsub topics describe "${PUSH_TOPICS[i]}" -- \
      pubsub topics create "${PUSH_TOPICS[i]}" --labels="$DEPLOY_LABEL"
  done
  ensure_dead_letter_queue
  ensure_service_account "$PUBSUB_INVOKER_SERVICE_ACCOUNT" 'Cloud Run Pub/Sub Invoker' \
    'Agent Assist integration - identity of Pub/Sub pushes to the interceptor'
  # Tutorial fix: its run.invoker command has a space after the first backslash, so the shell
  # ends the command there and --member/--role never reach gcloud.
  grant_roles "run services" "$INTERCEPTOR_SERVICE_NAME" "serviceAccount:$PUBSUB_INVOKER_SERVICE_ACCOUNT" \
    roles/run.invoker -- --region="$SERVICE_REGION"
  # Pub/Sub signs the push tokens as the invoker account. Projects made after April 2021 allow
  # this implicitly; older ones need the grant, which is harmless on newer ones.
  grant_roles "iam service-accounts" "$PUBSUB_INVOKER_SERVICE_ACCOUNT" "$agent" roles/iam.serviceAccountTokenCreator
  resolve_interceptor_url
  for i in "${!PUSH_TOPICS[@]}"; do
    ensure_push_subscription "${PUSH_TOPICS[i]}" "${PUSH_ROUTES[i]}"
  done
  # Dead-lettering is done by Pub/Sub's own service agent: it must publish to the dead-letter
  # topic and acknowledge (subscribe) on the source subscriptions.
  grant_roles "pubsub topics" "$DEAD_LETTER_TOPIC_ID" "$agent" roles/pubsub.publisher
  for i in "${!PUSH_TOPICS[@]}"; do
    grant_roles "pubsub subscriptions" "$(subscription_for "${PUSH_TOPICS[i]}")" "$agent" roles/pubsub.subscriber
  done
}

# A message the interceptor refuses PUSH_MAX_DELIVERY_ATTEMPTS times is parked on the dead-letter
# topic instead of being retried forever. A topic without a subscription drops what it receives,
# so the parked messages wait in a pull subscription for an operator to look at.
ensure_dead_letter_queue() {
  ensure "dead-letter topic $DEAD_LETTER_TOPIC_ID" \
    pubsub topics describe "$DEAD_LETTER_TOPIC_ID" -- pubsub topics create "$DEAD_LETTER_TOPIC_ID" --labels="$DEPLOY_LABEL"
  ensure "subscription $DEAD_LETTER_SUBSCRIPTION" \
    pubsub subscriptions describe "$DEAD_LETTER_SUBSCRIPTION" -- \
    pubsub subscriptions create "$DEAD_LETTER_SUBSCRIPTION" --topic="$DEAD_LETTER_TOPIC_ID" \
    --message-retention-duration=7d --expiration-period=never --labels="$DEPLOY_LABEL"
}

# The push settings of every subscription; `create` and `update` take the same flags.
#   --push-auth-token-audience  one audience for all four, the interceptor's PUSH_AUDIENCE: the
#                               interceptor checks it (and the identity) as well as Cloud Run IAM;
#   --expiration-period=never   by default Pub/Sub deletes a subscription after 31 days without
#                               traffic, which a quiet contact centre can reach.
push_settings() { # ROUTE
  printf '%s\n' --push-endpoint="$INTERCEPTOR_SERVICE_URL/$1" \
    --push-auth-service-account="$PUBSUB_INVOKER_SERVICE_ACCOUNT" \
    --push-auth-token-audience="$PUSH_AUDIENCE" \
    --ack-deadline="$PUSH_ACK_DEADLINE_SECONDS" \
    --min-retry-delay="$PUSH_MIN_RETRY_DELAY" --max-retry-delay="$PUSH_MAX_RETRY_DELAY" \
    --dead-letter-topic="$DEAD_LETTER_TOPIC_ID" --max-delivery-attempts="$PUSH_MAX_DELIVERY_ATTEMPTS" \
    --expiration-period=never
}

# Tutorial fix: it names every subscription $SUBSCRIPTION_NAME, so all but the first create fail;
# each topic gets its own subscription here. One that exists is updated to the settings above
# when any differs (a changed retry policy, say, takes effect on the next run).
ensure_push_subscription() { # TOPIC ROUTE
  local topic=$1 route=$2 subscription json
  local -a settings
  subscription=$(subscription_for "$topic")
  local label="subscription $subscription -> /$route"
  mapfile -t settings < <(push_settings "$route")
  if is_dry_run; then
    describe_json pubsub subscriptions describe "$subscription" || true
    change pubsub subscriptions create "$subscription" --topic="$topic" "${settings[@]}" --labels="$DEPLOY_LABEL"
    show_alternative "when it exists with other settings" pubsub subscriptions update "$subscription" "${settings[@]}"
    created "$label"
    return 0
  fi
  json=$(describe_json pubsub subscriptions describe "$subscription")
  if [[ -z $json ]]; then
    change pubsub subscriptions create "$subscription" --topic="$topic" "${settings[@]}" --labels="$DEPLOY_LABEL"
    created "$label"
    return 0
  fi
  converge_push_subscription "$label" "$subscription" "$topic" "$route" "$json" "${settings[@]}"
}

converge_push_subscription() { # LABEL SUBSCRIPTION TOPIC ROUTE JSON SETTINGS...
  local label=$1 subscription=$2 topic=$3 route=$4 json=$5 i
  shift 5
  local -a settings=("$@") have extra=() differences=()
  local -a names=("push endpoint" "push identity" "token audience" "ack deadline" "minimum retry delay"
    "maximum retry delay" "dead-letter topic" "delivery attempts" "expiration")
  local -a want=("$INTERCEPTOR_SERVICE_URL/$route" "$PUBSUB_INVOKER_SERVICE_ACCOUNT" "$PUSH_AUDIENCE"
    "$PUSH_ACK_DEADLINE_SECONDS" "$PUSH_MIN_RETRY_DELAY" "$PUSH_MAX_RETRY_DELAY"
    "projects/$GCP_PROJECT_ID/topics/$DEAD_LETTER_TOPIC_ID" "$PUSH_MAX_DELIVERY_ATTEMPTS" "")
  mapfile -t have < <(json_get "$json" pushConfig.pushEndpoint pushConfig.oidcToken.serviceAccountEmail \
    pushConfig.oidcToken.audience ackDeadlineSeconds retryPolicy.minimumBackoff retryPolicy.maximumBackoff \
    deadLetterPolicy.deadLetterTopic deadLetterPolicy.maxDeliveryAttempts expirationPolicy.ttl \
    topic pushConfig.noWrapper)
  if [[ ${have[9]} != "projects/$GCP_PROJECT_ID/topics/$topic" ]]; then
    report "$label" "is attached to ${have[9]:-no topic}, not $topic; a subscription cannot change topics:" \
      "delete it and run deploy/deploy.sh pubsub again" -- pubsub subscriptions delete "$subscription"
    return 0
  fi
  for i in "${!want[@]}"; do
    if [[ ${have[i]} != "${want[i]}" ]]; then differences+=("${names[i]} ${have[i]:-(none)} -> ${want[i]:-(never)}"); fi
  done
  # Wrapped pushes (the default): unwrapped ones carry the attributes in headers gunicorn drops.
  if [[ -n ${have[10]} ]]; then
    extra=(--clear-push-no-wrapper-config)
    differences+=("unwrapped pushes -> wrapped")
  fi
  if ((${#differences[@]} == 0)); then
    unchanged "$label"
    return 0
  fi
  change pubsub subscriptions update "$subscription" "${settings[@]}" "${extra[@]}"
  local joined
  printf -v joined '%s; ' "${differences[@]}"
  updated "$label" "${joined%; }"
}
